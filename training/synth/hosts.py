"""Follow the people of a clean clip with the detector's own pose, and choose who can carry an event.

Every frame of the untouched clip is analysed by ``detector.pose.estimator.PoseEstimator`` (each frame on its
own, every tile scanned, a fresh estimator per clip, so the poses depend on the clip alone), and cached on
disk by the clip's bytes and the pose settings. The people are linked from frame to frame by the
detector's own tracker (``detector.tracking.ShortTracker``). A person can host an event where they are
found confidently, face the camera with the face and mouth visible, and are large enough, for a run of at
least ``min_host_s`` with gaps no longer than ``max_gap_s``. Their landmarks over that run are filled across
the gaps and smoothed over time, so a balloon placed from them moves smoothly with the person and never
depends on what the detector later sees in the edited clip. The smoothed landmarks stay in memory.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from detector.media import FALLBACK_CLIP_FPS, ImageReadError
from detector.pose import estimator as lm
from detector.pose.estimator import ImageBGR, PersonPose, PoseEstimator
from detector.settings import PoseSettings
from detector.tracking import Observation, ShortTracker
from training.synth.placement import is_good_target, person_from_pose

log = logging.getLogger(__name__)

# Bumped when the cached content changes.
CLIP_POSE_VERSION = "1"
Landmarks = NDArray[np.float64]


@dataclass(frozen=True)
class ClipPoses:
    """Every frame's people of one clean clip: landmarks (people, 33, 3) per frame, in frame pixels."""

    fps: float
    size: tuple[int, int]
    frames: tuple[Landmarks, ...]

    @property
    def duration_s(self) -> float:
        """The clip's length in seconds."""
        return len(self.frames) / self.fps


@dataclass(frozen=True)
class Host:
    """A person who can carry an event: a run of source frames and their smoothed landmarks.

    Attributes:
        first: index of the run's first source frame.
        landmarks: (frames, 33, 3) smoothed landmarks, one per source frame of the run.
        height_px: median height of the person's landmark box over the run.
        scale_px: median body scale over the run.
    """

    first: int
    landmarks: Landmarks
    height_px: float
    scale_px: float

    @property
    def last(self) -> int:
        """Index of the run's last source frame."""
        return self.first + len(self.landmarks) - 1

    def pose(self, frame_index: int) -> PersonPose:
        """The host's smoothed pose on a source frame of the run."""
        return PersonPose(self.landmarks[frame_index - self.first])


def clip_fps(capture: cv2.VideoCapture) -> float:
    """The frame rate a clip states, or the detector's fallback when it states none."""
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return fps if 1.0 <= fps <= 1000.0 else FALLBACK_CLIP_FPS


def iter_frames(path: Path) -> Iterator[ImageBGR]:
    """Every frame of a video file or animated GIF, in order.

    Raises:
        ImageReadError: if the file cannot be opened or no frame decodes.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise ImageReadError(f"{path.name}: cannot be opened as a video clip")
        count = 0
        while True:
            ok, frame = capture.read()
            if not ok or frame is None:
                break
            count += 1
            yield np.ascontiguousarray(frame, dtype=np.uint8)
        if count == 0:
            raise ImageReadError(f"{path.name}: no frame could be decoded")
    finally:
        capture.release()


def read_frames(path: Path, first: int, last: int) -> list[ImageBGR]:
    """Frames ``first..last`` (inclusive) of a clip, decoded in order from its start."""
    frames = []
    for index, frame in enumerate(iter_frames(path)):
        if index > last:
            break
        if index >= first:
            frames.append(frame)
    if len(frames) != last - first + 1:
        raise ImageReadError(f"{path.name}: frames {first}-{last} could not all be decoded")
    return frames


def _cache_file(cache_dir: Path, path: Path, settings: PoseSettings) -> Path:
    import mediapipe

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    key = f"{settings.model_dump_json()}|{mediapipe.__version__}|{CLIP_POSE_VERSION}"
    folder = cache_dir / f"clip-poses-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return folder / f"{digest}.npz"


def clip_poses(path: Path, settings: PoseSettings, cache_dir: Path | None) -> ClipPoses:
    """Pose on every frame of a clean clip (cached under ``cache_dir`` by the clip's bytes and the settings).

    Raises:
        ImageReadError: if the clip cannot be decoded.
    """
    cached = _cache_file(cache_dir, path, settings) if cache_dir is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached) as stored:
            counts = stored["counts"].tolist()
            stacked = stored["landmarks"]
            meta = json.loads(str(stored["meta"]))
        bounds = np.cumsum([0, *counts])
        frames = tuple(stacked[bounds[i] : bounds[i + 1]] for i in range(len(counts)))
        return ClipPoses(fps=float(meta["fps"]), size=(int(meta["width"]), int(meta["height"])), frames=frames)
    capture = cv2.VideoCapture(str(path))
    fps = clip_fps(capture) if capture.isOpened() else FALLBACK_CLIP_FPS
    capture.release()
    found: list[Landmarks] = []
    size = (0, 0)
    with PoseEstimator(settings) as estimator:
        for frame in iter_frames(path):
            size = (frame.shape[1], frame.shape[0])
            poses = estimator.estimate(frame)
            found.append(np.stack([p.landmarks for p in poses]) if poses else np.zeros((0, 33, 3)))
    result = ClipPoses(fps=fps, size=size, frames=tuple(found))
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(cached.stem + ".tmp.npz")
        np.savez_compressed(
            tmp,
            counts=np.asarray([len(f) for f in found], dtype=np.int64),
            landmarks=np.concatenate(found) if found else np.zeros((0, 33, 3)),
            meta=json.dumps({"fps": fps, "width": size[0], "height": size[1]}),
        )
        tmp.replace(cached)
    return result


def faces_camera(pose: PersonPose) -> bool:
    """Whether a person faces the camera (front or profile), not turned away.

    Seen from the front, a person's left shoulder and left eye are on the image's right. Seen from behind,
    pose still places a face, but mirrored: the left shoulder lies clearly left of the right one. A balloon
    at the mouth of someone turned away would be pasted on the back of their head.
    """
    from detector.evidence.geometry import body_scale_px

    scale = max(body_scale_px(pose), 1e-6)
    shoulders = float(pose.point(lm.LEFT_SHOULDER)[0] - pose.point(lm.RIGHT_SHOULDER)[0]) / scale
    eyes = float(pose.point(lm.LEFT_EYE)[0] - pose.point(lm.RIGHT_EYE)[0]) / scale
    return shoulders > -0.2 and eyes > -0.05


@dataclass(frozen=True)
class HostSearch:
    """The hosts of one clip and, when there are none, why."""

    hosts: tuple[Host, ...]
    reason: str | None


def _runs(usable: NDArray[np.bool_], max_gap: int) -> list[tuple[int, int]]:
    """Runs (first, last) of usable frames, bridging gaps of at most ``max_gap`` frames."""
    runs: list[tuple[int, int]] = []
    indices = np.flatnonzero(usable)
    for index in indices.tolist():
        if runs and index - runs[-1][1] - 1 <= max_gap:
            runs[-1] = (runs[-1][0], index)
        else:
            runs.append((index, index))
    return runs


def smooth_landmarks(track: dict[int, Landmarks], first: int, last: int, sigma_frames: float) -> Landmarks:
    """Landmarks for every frame ``first..last``: gaps filled linearly, then a Gaussian filter over time."""
    known = sorted(i for i in track if first <= i <= last)
    frames = np.arange(first, last + 1)
    stacked = np.stack([track[i] for i in known])
    filled = np.empty((len(frames), 33, 3))
    for landmark in range(33):
        for column in range(3):
            filled[:, landmark, column] = np.interp(frames, known, stacked[:, landmark, column])
    if sigma_frames > 0 and len(frames) > 1:
        radius = int(np.ceil(3 * sigma_frames))
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma_frames) ** 2)
        taps /= taps.sum()
        padded = np.pad(filled, ((radius, radius), (0, 0), (0, 0)), mode="edge")
        filled = np.apply_along_axis(lambda series: np.convolve(series, taps, mode="valid"), 0, padded)
    return filled


def find_hosts(
    poses: ClipPoses, *, min_scale_px: float, min_host_s: float, max_host_s: float, max_gap_s: float, max_hosts: int
) -> HostSearch:
    """The people of a clip who can carry an event, longest runs first.

    Args:
        poses: Every frame's people.
        min_scale_px: Smallest body scale (shoulder width) a host may have.
        min_host_s: Shortest usable run.
        max_host_s: Longest run kept (a longer run is cut to its first ``max_host_s``).
        max_gap_s: Longest gap bridged inside a run.
        max_hosts: Most hosts per clip.
    """
    width, height = poses.size
    tracker = ShortTracker(match_ratio=1.0, max_gap_s=max(max_gap_s, 1.0 / poses.fps))
    tracks: dict[int, dict[int, Landmarks]] = {}
    usable: dict[int, set[int]] = {}
    largest = 0.0
    facing_any = found_any = False
    for index, people in enumerate(poses.frames):
        persons = [person_from_pose(PersonPose(p)) for p in people]
        found_any |= bool(persons)
        observations = [
            Observation((p.mouth[0] / width, p.mouth[1] / height), max(p.scale / width, 1e-4), height / width)
            for p in persons
        ]
        ids = tracker.update(observations, index / poses.fps)
        for track_id, landmarks, person in zip(ids, people, persons, strict=True):
            tracks.setdefault(track_id, {})[index] = landmarks
            largest = max(largest, person.scale)
            facing = faces_camera(PersonPose(landmarks))
            facing_any |= facing
            if facing and is_good_target(person, (height, width), min_scale_px):
                usable.setdefault(track_id, set()).add(index)
    max_gap = int(round(max_gap_s * poses.fps))
    candidates: list[tuple[int, int, int]] = []
    longest = 0
    for track_id, frames in usable.items():
        mask = np.zeros(len(poses.frames), dtype=np.bool_)
        mask[sorted(frames)] = True
        for first, last in _runs(mask, max_gap):
            longest = max(longest, last - first + 1)
            candidates.append((last - first + 1, first, track_id))
    min_frames = int(np.ceil(min_host_s * poses.fps))
    hosts: list[Host] = []
    for length, first, track_id in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if length < min_frames or len(hosts) == max_hosts:
            continue
        last = first + min(length, int(max_host_s * poses.fps)) - 1
        landmarks = smooth_landmarks(tracks[track_id], first, last, sigma_frames=0.08 * poses.fps)
        boxes = landmarks[:, :, 1].max(axis=1) - landmarks[:, :, 1].min(axis=1)
        scales = [person_from_pose(PersonPose(frame)).scale for frame in landmarks]
        hosts.append(Host(first, landmarks, float(np.median(boxes)), float(np.median(scales))))
    reason = None
    if not hosts:
        if not found_any:
            reason = "pose found nobody"
        elif largest < min_scale_px:
            reason = f"people too small: the largest body scale is {largest:.0f} px, a host needs {min_scale_px:g} px"
        elif not facing_any:
            reason = "nobody faces the camera (backs turned)"
        elif not usable:
            reason = "nobody large enough shows a visible face and mouth while facing the camera"
        else:
            reason = (
                f"no one usable long enough: the longest run is {longest / poses.fps:.1f} s, "
                f"an event needs {min_host_s:g} s"
            )
    return HostSearch(tuple(hosts), reason)
