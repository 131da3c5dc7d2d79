"""Video sources through OpenCV: a file, an RTSP or HTTP stream, or a local camera by index.

Each source is a tagged union member (``type: file | rtsp | http | device``) with its own config class in
:mod:`detector.config.sources`. A :class:`CaptureThread` reads frames, thins them to the configured
analysis rate and puts them in the bounded :class:`~detector.frame_queue.FrameQueue`. A lost feed is
reopened with exponential backoff and reported as an explicit state (:attr:`FeedState.LOST`), never as
an empty scene. Frames stay in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from detector.config.sources import AnySource, FileSource, HttpSource, RtspSource
from detector.frame_queue import FrameQueue

logger = logging.getLogger(__name__)


class FeedState(StrEnum):
    """Health of the camera feed."""

    CLOSED = "closed"
    CONNECTING = "connecting"
    OK = "ok"
    LOST = "lost"
    ENDED = "ended"


class AnalysisRate:
    """Which frames of a stream are analysed at a given analysis rate.

    A frame is taken when its media time has reached the next due time; the next due time then moves one
    interval on (or to this frame, after a gap). The capture thread thins every source with this rule, and
    clip replays for evaluation use the same one, so both analyse the same frames of a file.
    """

    def __init__(self, analysis_fps: float) -> None:
        if analysis_fps <= 0:
            raise ValueError(f"analysis_fps must be positive, got {analysis_fps}")
        self._interval = 1.0 / analysis_fps
        self._next_media_s = 0.0

    def take(self, media_s: float) -> bool:
        """Whether the frame at ``media_s`` (seconds into the stream) is analysed; call once per frame in order."""
        if media_s + 1e-9 < self._next_media_s:
            return False
        self._next_media_s = max(self._next_media_s + self._interval, media_s)
        return True

    def restart(self) -> None:
        """Start again at media time 0 (a file that loops)."""
        self._next_media_s = 0.0


@dataclass(frozen=True)
class CapturedFrame:
    """One frame in memory. ``media_s`` is the position in the stream (file time, or seconds since open)."""

    image: npt.NDArray[np.uint8]
    index: int
    media_s: float
    captured_at: float


def open_capture(settings: AnySource) -> cv2.VideoCapture:
    """Open an OpenCV capture for a source config (it may come back not opened)."""
    if isinstance(settings, FileSource):
        return cv2.VideoCapture(str(settings.path))
    if isinstance(settings, RtspSource | HttpSource):
        timeout_ms = int(settings.timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        return cv2.VideoCapture(settings.url, cv2.CAP_FFMPEG, params)
    capture = cv2.VideoCapture(settings.index)
    if settings.width is not None:
        capture.set(cv2.CAP_PROP_FRAME_WIDTH, settings.width)
    if settings.height is not None:
        capture.set(cv2.CAP_PROP_FRAME_HEIGHT, settings.height)
    return capture


class CaptureThread:
    """Reads one source into a frame queue until stopped. Start with :meth:`start`, end with :meth:`stop`."""

    def __init__(self, settings: AnySource, frames: FrameQueue[CapturedFrame]) -> None:
        self.settings = settings
        self._frames = frames
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = FeedState.CLOSED
        self._frames_read = 0
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> FeedState:
        """Current feed state."""
        with self._lock:
            return self._state

    @property
    def frames_read(self) -> int:
        """Frames decoded from the source since start (before thinning to the analysis rate)."""
        with self._lock:
            return self._frames_read

    def _set_state(self, state: FeedState) -> None:
        with self._lock:
            if state is not self._state:
                log = logger.error if state is FeedState.LOST else logger.info
                log("camera feed %s: %s -> %s", self.settings.type, self._state.value, state.value)
            self._state = state

    def start(self) -> None:
        """Open the source in a background thread."""
        self._stop.clear()
        self._set_state(FeedState.CONNECTING)
        self._thread = threading.Thread(target=self._run, name="nitrosignal-capture", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop reading and release the source: no frame is read after this returns."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._set_state(FeedState.CLOSED)

    def _run(self) -> None:
        backoff = self.settings.reconnect_initial_s
        while not self._stop.is_set():
            capture = open_capture(self.settings)
            try:
                if capture.isOpened():
                    read_before = self.frames_read
                    if self._read_all(capture) or self._stop.is_set():
                        return
                    if self.frames_read > read_before:
                        # The feed worked for a while: start the backoff afresh for this outage.
                        backoff = self.settings.reconnect_initial_s
                    logger.error("camera feed broke off (%s); reopening in %.1fs", self.settings.type, backoff)
                else:
                    logger.error("cannot open camera source (%s); retrying in %.1fs", self.settings.type, backoff)
            finally:
                capture.release()
            if self._stop.is_set():
                return
            self._set_state(FeedState.LOST)
            self._stop.wait(backoff)
            backoff = min(backoff * 2.0, self.settings.reconnect_max_s)

    def _read_all(self, capture: cv2.VideoCapture) -> bool:
        """Read until the feed fails or ends; True when a file ended for good."""
        settings = self.settings
        is_file = isinstance(settings, FileSource)
        file_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) if is_file else 0.0
        realtime = not is_file or (isinstance(settings, FileSource) and settings.realtime)
        blocking = isinstance(settings, FileSource) and not settings.realtime
        rate = AnalysisRate(settings.analysis_fps)
        opened_at = time.monotonic()
        position = 0
        while not self._stop.is_set():
            # grab() decodes; the BGR conversion in retrieve() is paid only for frames that will be analysed.
            if not capture.grab():
                if isinstance(settings, FileSource) and position > 0:
                    if settings.loop:
                        capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                        opened_at, position = time.monotonic(), 0
                        rate.restart()
                        continue
                    self._set_state(FeedState.ENDED)
                    return True
                return False
            self._set_state(FeedState.OK)
            with self._lock:
                self._frames_read += 1
            media_s = position / file_fps if file_fps > 0 else time.monotonic() - opened_at
            position += 1
            if realtime and is_file:
                # Pace a file like a camera would deliver it.
                delay = opened_at + media_s - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
            if not rate.take(media_s):
                continue
            ok, image = capture.retrieve()
            if not ok or image is None:
                return False
            pixels = cast("npt.NDArray[np.uint8]", image)
            frame = CapturedFrame(image=pixels, index=position - 1, media_s=media_s, captured_at=time.monotonic())
            while not self._frames.put(frame, block=blocking, timeout_s=0.2):
                if self._stop.is_set():
                    return False
        return False
