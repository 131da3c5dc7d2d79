"""The device runtime: schedule → privacy mask → motion gate → analysis → confirmation → outbox → link.

:class:`DetectorRuntime` ties the stages together in one analysis loop, with capture and the platform
link on their own threads. Outside the schedule, while gated, or after a failed model load, the source is
closed and no frame is read; the heartbeat says which of these it is. Frames exist only in memory, the
only file written is the outbox, and the only socket is the outgoing CURVE connection to the platform.
Before any key or frame is loaded the process makes itself non-dumpable with a core limit of 0
(:mod:`detector.hardening`), so not even a crash writes a frame to disk.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from detector.config import CameraConfig, FileSource
from detector.frame_queue import FrameQueue
from detector.hardening import harden_process
from detector.heartbeat import (
    DeviceSnapshot,
    HeartbeatFigures,
    HeartbeatIdentity,
    IntervalMeter,
    StateReport,
    build_heartbeat,
    decide_state,
)
from detector.link import AlertTrace, Link, TraceHook
from detector.link_socket import LinkSettings
from detector.masking import MaskApplier
from detector.metrics import DetectorMetrics, MetricsServer
from detector.motion import MotionGate
from detector.outbox import Outbox, OutboxError, OutboxFullError
from detector.schedule import Schedule
from detector.sources import CapturedFrame, CaptureThread, FeedState
from nitrosignal.keys import load_public, load_secret
from nitrosignal.wire import Alert, people_bucket

if TYPE_CHECKING:
    from detector.analysis import FrameAnalyzer
    from detector.confirm import IncidentConfirmer, IncidentEvent
    from detector.model import LoadedModel

logger = logging.getLogger(__name__)

PRUNE_EVERY_S = 3600.0
"""How often the outbox's retention runs while the detector is up (it also runs at start)."""


@dataclass(frozen=True)
class RunOptions:
    """How long to run and how to finish."""

    max_seconds: float | None = None
    exit_at_end: bool = False
    drain_timeout_s: float = 20.0
    stop_drain_s: float = 2.0


@dataclass(frozen=True)
class RunSummary:
    """What a run did, for the CLI and tests."""

    frames_read: int
    frames_processed: int
    frames_posed: int
    dropped_frames: int
    alerts_queued: int
    alerts_acked: int
    alerts_refused: int
    outbox_depth: int
    last_state: str
    last_reason: str | None


@dataclass(frozen=True)
class _Vision:
    """The loaded model, analyzer and confirmer; absent when loading failed (an explicit error state)."""

    model: LoadedModel
    analyzer: FrameAnalyzer
    confirmer: IncidentConfirmer


class DetectorRuntime:
    """Runs one camera until stopped.

    Args:
        config: the validated camera configuration.
        on_trace: called with each step of each alert (detected, queued, sent, acked, refused), from the
            analysis and link threads; it must be quick and thread-safe.
        options: run length and finishing behaviour.
    """

    def __init__(
        self, config: CameraConfig, *, on_trace: TraceHook | None = None, options: RunOptions | None = None
    ) -> None:
        self.config = config
        self.options = options or RunOptions()
        self.metrics = DetectorMetrics()
        self._on_trace = on_trace
        self._frames: FrameQueue[CapturedFrame] = FrameQueue(config.source.queue_size)
        self._masks = MaskApplier(config.privacy_masks)
        self._motion = MotionGate(config.motion)
        self._schedule = Schedule(config.schedule)
        self._config_hash = ""  # keyed with the device's secret, so computed once the key is loaded
        self._metrics_server: MetricsServer | None = None
        self._capture: CaptureThread | None = None
        self._vision: _Vision | None = None
        self._error_reason: str | None = None
        self._outbox_full_at: int | None = None
        self._people_seen = False
        self._media_epoch = 0.0
        self._last_frame_s = float("-inf")
        self._processed = self._posed = self._queued = self._frames_read_closed = 0
        self._last_report: StateReport | None = None
        self._started = time.monotonic()
        self._final_depth = 0
        self._rates = IntervalMeter(self._started, config.heartbeat_interval_s)

    # -- lifecycle ------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> RunSummary:
        """Run until ``stop`` is set, ``max_seconds`` pass, or (with ``exit_at_end``) a file source ends.

        Raises:
            HardeningError: if the process cannot be made non-dumpable with a core limit of 0.
            KeyFileError: if a key file is missing, malformed or the secret is readable by others.
        """
        config = self.config
        # First, before the secret key or any frame is in memory: no core dump may ever hold them.
        harden_process()
        keys = load_secret(config.secret_key_file)
        self._config_hash = config.config_hash(keys.secret)
        server_key = load_public(config.platform.public_key_file)
        self._metrics_server = self.metrics.serve(config.metrics)
        outbox = Outbox.open(config.outbox.path, max_bytes=int(config.outbox.max_size_mb * 1024 * 1024))
        if outbox.quarantined is not None:
            logger.error("outbox was corrupt and has been quarantined at %s", outbox.quarantined)
        self._prune(outbox)
        link = Link(LinkSettings.for_camera(config.camera_id, config.platform, keys, server_key), outbox, self._trace)
        link.start()
        self._started = time.monotonic()
        self._rates = IntervalMeter(self._started, config.heartbeat_interval_s)
        try:
            self._vision = self._load_vision()
            self._loop(stop, outbox, link)
        finally:
            self._shutdown(outbox, link, stop)
        status = link.status()
        return RunSummary(
            frames_read=self._frames_read(),
            frames_processed=self._processed,
            frames_posed=self._posed,
            dropped_frames=self._frames.stats().dropped,
            alerts_queued=self._queued,
            alerts_acked=status.alerts_acked,
            alerts_refused=status.alerts_refused,
            outbox_depth=self._final_depth,
            last_state=self._last_report.state.value if self._last_report else "none",
            last_reason=self._last_report.reason if self._last_report else None,
        )

    def _load_vision(self) -> _Vision | None:
        try:
            from detector.analysis import FrameAnalyzer
            from detector.confirm import IncidentConfirmer
            from detector.model import default_model_path, load_model, shipped_signing_key_path

            model = load_model(
                self.config.model_path or default_model_path(),
                trusted_keys=self.config.model_signing_keys or (shipped_signing_key_path(),),
                threads=self.config.analysis.evidence.classifier_threads,
            )
        except Exception:
            # Loud and explicit: the heartbeat says error/model_load_failed until someone fixes it.
            logger.exception("MODEL LOAD FAILED: the detector will not look until this is fixed")
            self._error_reason = "model_load_failed"
            return None
        try:
            analyzer = FrameAnalyzer(self.config.analysis, model)
            confirmer = IncidentConfirmer(
                self.config.analysis.confirm, self.config.zones, model_threshold=model.card.threshold
            )
        except Exception:
            logger.exception("POSE MODEL FAILED TO START: the detector will not look until this is fixed")
            self._error_reason = "pose_model_failed"
            return None
        return _Vision(model, analyzer, confirmer)

    def _loop(self, stop: threading.Event, outbox: Outbox, link: Link) -> None:
        # Counted from here, after the (slow) model load, so that a short run still looks for its full time.
        loop_started = time.monotonic()
        deadline = None if self.options.max_seconds is None else loop_started + self.options.max_seconds
        next_heartbeat = 0.0
        next_prune = loop_started + PRUNE_EVERY_S
        while not stop.is_set():
            now_mono = time.monotonic()
            if deadline is not None and now_mono >= deadline:
                logger.info("max_seconds reached; stopping")
                return
            if now_mono >= next_prune:
                self._prune(outbox)
                next_prune = now_mono + PRUNE_EVERY_S
            report = decide_state(self._snapshot(outbox, link))
            if now_mono >= next_heartbeat or report != self._last_report:
                self._send_heartbeat(report, outbox, link)
                next_heartbeat = now_mono + self.config.heartbeat_interval_s
            looking = report.state.value in ("active", "degraded")
            if not looking or self._vision is None:
                self._close_source(outbox, link)
                stop.wait(0.2)
                continue
            capture = self._open_source()
            frame = self._frames.get(timeout_s=0.2)
            if frame is None:
                if capture.state is FeedState.ENDED and self.options.exit_at_end:
                    logger.info("end of file; finishing")
                    self._close_source(outbox, link)
                    self._drain(outbox, self.options.drain_timeout_s, stop)
                    return
                continue
            self._process(frame, self._vision, outbox, link)

    def _shutdown(self, outbox: Outbox, link: Link, stop: threading.Event) -> None:
        try:
            self._close_source(outbox, link)
            self._drain(outbox, self.options.stop_drain_s, threading.Event())
        finally:
            link.stop()
            if self._metrics_server is not None:
                self._metrics_server.close()
            self._final_depth = outbox.depth()
            outbox.close()
            if self._vision is not None:
                self._vision.analyzer.close()

    def _prune(self, outbox: Outbox) -> None:
        """Delete what the outbox holds beyond its retention; a failure is logged and tried again later."""
        try:
            outbox.prune(self.config.outbox.retention_days * 86400.0)
        except OutboxError:
            logger.exception("OUTBOX RETENTION FAILED: old records stay until the next attempt")

    def _drain(self, outbox: Outbox, timeout_s: float, stop: threading.Event) -> None:
        deadline = time.monotonic() + timeout_s
        while outbox.depth() > 0 and time.monotonic() < deadline and not stop.is_set():
            time.sleep(0.05)
        if outbox.depth() > 0:
            logger.warning("%d alert(s) still unacked; they stay in the outbox for the next start", outbox.depth())

    # -- source -------------------------------------------------------------------------------------------

    def _open_source(self) -> CaptureThread:
        if self._capture is None:
            self._motion = MotionGate(self.config.motion)
            self._media_epoch = time.time()
            self._capture = CaptureThread(self.config.source, self._frames)
            self._capture.start()
        return self._capture

    def _close_source(self, outbox: Outbox, link: Link) -> None:
        """Stop reading frames at all, and end any open incident."""
        if self._capture is None:
            return
        self._capture.stop()
        self._frames_read_closed += self._capture.frames_read
        self._capture = None
        self._frames.clear()
        if self._vision is not None:
            closed_at = self._next_frame_time(None)
            for event in self._vision.confirmer.close_all(closed_at):
                self._emit(event, closed_at, outbox, link)

    def _frames_read(self) -> int:
        return self._frames_read_closed + (self._capture.frames_read if self._capture is not None else 0)

    def _next_frame_time(self, frame: CapturedFrame | None) -> datetime:
        # A file read faster than real time runs on its own clock (media time), so that durations in the
        # confirmer mean seconds of video; the clock never goes backwards, even when a file loops.
        if frame is not None and isinstance(self.config.source, FileSource):
            candidate = self._media_epoch + frame.media_s
            if candidate <= self._last_frame_s:
                # The file looped: continue its clock one analysis interval after the last frame.
                self._media_epoch = self._last_frame_s + 1.0 / self.config.source.analysis_fps - frame.media_s
                candidate = self._media_epoch + frame.media_s
        else:
            candidate = time.time()
        if candidate <= self._last_frame_s:
            candidate = self._last_frame_s + 0.001
        self._last_frame_s = candidate
        return datetime.fromtimestamp(candidate, UTC)

    # -- per frame ----------------------------------------------------------------------------------------

    def _process(self, frame: CapturedFrame, vision: _Vision, outbox: Outbox, link: Link) -> None:
        from detector.analysis import FrameAnalysis

        started = time.perf_counter()
        self._masks.apply(frame.image)  # in place: no unmasked copy survives this line
        masked = time.perf_counter()
        frame_time = self._next_frame_time(frame)
        decision = self._motion.update(frame.image, frame_time.timestamp(), people_seen=self._people_seen)
        gated = time.perf_counter()
        self.metrics.stage_seconds.labels(stage="mask").observe(masked - started)
        self.metrics.stage_seconds.labels(stage="motion").observe(gated - masked)
        self._processed += 1
        self.metrics.frames_processed.inc()
        if decision.run_pose:
            try:
                analysis = vision.analyzer.analyze(frame.image, int(frame_time.timestamp() * 1000))
            except Exception:
                # Never "no detections" when the analysis is broken: stop looking and say so in the heartbeat.
                logger.exception("ANALYSIS FAILED: the detector stops looking until it is restarted")
                self._error_reason = "analysis_failed"
                return
            self._posed += 1
            self.metrics.frames_posed.inc()
            for stage, ms in analysis.stage_ms.items():
                self.metrics.stage_seconds.labels(stage=stage).observe(ms / 1000.0)
            self._people_seen = bool(analysis.people)
        elif vision.confirmer.incident_open:
            # A still, empty scene while an incident is open: tell the confirmer nobody is there, so it ends.
            analysis = FrameAnalysis(people=())
        else:
            return
        for event in vision.confirmer.update(analysis, frame_time):
            self._emit(event, frame_time, outbox, link)

    def _emit(self, event: IncidentEvent, frame_time: datetime, outbox: Outbox, link: Link) -> None:
        vision = self._vision
        if vision is None:
            return
        incident = str(event.incident_id)
        self._trace(AlertTrace("detected", None, incident, event.phase.value))
        # Media time can run ahead of the wall clock (a file read faster than real time): shift to wall time.
        shift = datetime.now(UTC) - frame_time
        # Whole seconds, like occurred_at: finer times would only help to line an alert up with other records.
        occurred = (event.occurred_at + shift).replace(microsecond=0)
        expires = (event.expires_at + shift).replace(microsecond=0)
        model_ref = vision.model.card.ref()

        def build(seq: int) -> Alert:
            return Alert(
                message_id=uuid.uuid4(),
                camera_id=self.config.camera_id,
                seq=seq,
                sent_at=datetime.now(UTC).replace(microsecond=0),
                incident_id=event.incident_id,
                phase=event.phase,
                occurred_at=occurred,
                zone=event.zone,
                confidence=event.confidence,
                people_involved=people_bucket(event.people_involved),
                model=model_ref,
                expires_at=max(expires, occurred + timedelta(seconds=1)),
            )

        try:
            pending = outbox.add_alert(build)
        except OutboxFullError as exc:
            self._outbox_full_at = outbox.depth()
            self.metrics.alerts_rejected_full.inc()
            logger.error("ALERT LOST, OUTBOX FULL (incident %s, %s): %s", incident, event.phase.value, exc)
            return
        except OutboxError:
            logger.exception("ALERT LOST, OUTBOX FAILED (incident %s, %s)", incident, event.phase.value)
            return
        self._outbox_full_at = None
        self._queued += 1
        self.metrics.alerts_queued.inc()
        self._trace(AlertTrace("queued", pending.seq, incident, pending.phase))
        link.wake()

    # -- heartbeats -----------------------------------------------------------------------------------------

    def _snapshot(self, outbox: Outbox, link: Link) -> DeviceSnapshot:
        status = link.status()
        depth = outbox.depth()
        if self._outbox_full_at is not None and depth < self._outbox_full_at:
            self._outbox_full_at = None  # acks made room again
        capture = self._capture
        healthy = {FeedState.OK, FeedState.CONNECTING, FeedState.CLOSED}
        if self.options.exit_at_end:
            healthy.add(FeedState.ENDED)  # the end of a file we were asked to finish on is not a fault
        feed_ok = capture is None or capture.state in healthy
        return DeviceSnapshot(
            error_reason=self._error_reason,
            gated=outbox.gated,
            in_schedule=self._schedule.is_active(datetime.now(UTC)),
            feed_ok=feed_ok,
            outbox_full=self._outbox_full_at is not None,
            platform_reachable=status.consecutive_failures == 0,
        )

    def _send_heartbeat(self, report: StateReport, outbox: Outbox, link: Link) -> None:
        if report != self._last_report:
            logger.log(
                logging.INFO if report.state.value == "active" else logging.WARNING,
                "device state: %s%s",
                report.state.value,
                f" ({report.reason})" if report.reason else "",
            )
        self._last_report = report
        self.metrics.set_state(report.state.value)
        now = time.monotonic()
        read, processed = self._frames_read(), self._processed
        fps_in, fps_processed, dropped = self._rates.figures(now, read, processed, self._frames.stats().dropped)
        figures = HeartbeatFigures(fps_in, fps_processed, dropped, outbox.depth(), int(now - self._started))
        self.metrics.record_heartbeat(figures, read, link.status())
        try:
            seq = outbox.next_seq()
        except OutboxError:
            logger.exception("cannot allocate a heartbeat seq; heartbeat skipped")
            return
        vision = self._vision
        identity = HeartbeatIdentity(
            camera_id=self.config.camera_id,
            config_hash=self._config_hash,
            model_version=vision.model.card.version if vision is not None else None,
        )
        link.offer_heartbeat(build_heartbeat(identity, seq, report, figures))

    def _trace(self, trace: AlertTrace) -> None:
        logger.info(
            "alert %s: seq=%s incident=%s phase=%s %s",
            trace.step,
            trace.seq,
            trace.incident_id,
            trace.phase,
            trace.detail,
        )
        if self._on_trace is not None:
            try:
                self._on_trace(trace)
            except Exception:
                logger.exception("trace hook failed")
