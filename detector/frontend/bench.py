"""Benchmark the person front end by stage against bare pose in the same run, and its cost per person.

``run_frontend_bench`` runs the front end with live settings over a video and, on the same frames, bare
pose (one PoseLandmarker at analysis width, no tiles): the floor today's detector is measured against.
``run_people_scaling`` builds frames with 1, 2, 4 and 8 copies of a real person (from a photo the caller
gives) on a 1080p canvas and measures the front end's CPU time per frame for each count, so its growth with
the number of people can be read off. CPU time (all threads of this process) is the figure to compare on a
shared machine; wall time is reported too. Nothing is written anywhere.
"""

from __future__ import annotations

import functools
import math
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from detector.frontend.pipeline import FRONT_END_STAGES, FrontEndSettings, PersonFrontEnd
from detector.media import read_clip
from detector.pose.estimator import ImageBGR, PoseEstimator
from detector.settings import PoseSettings


class StageTimes(BaseModel):
    """Median and 95th percentile in milliseconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p50: float
    p95: float


class FrontEndBench(BaseModel):
    """The front end against bare pose on the same frames."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: str
    frame_size: tuple[int, int]
    frames: int
    stage_ms: dict[str, StageTimes] = Field(description="Per stage and 'total', wall time.")
    cpu_ms_per_frame: float
    bare_pose_cpu_ms_per_frame: float
    front_end_over_bare_pose: float = Field(description="CPU time of the front end divided by bare pose's.")
    people_mean: float
    bare_pose_people_mean: float
    peak_rss_mb: float = Field(description="Peak resident memory of this process after the front-end pass, MB.")


class ScalingPoint(BaseModel):
    """The front end's cost on frames showing ``people`` people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    people: int
    found_mean: float
    cpu_ms_per_frame: float
    cpu_ms_per_person_found: float | None
    bare_pose_cpu_ms_per_frame: float
    stage_ms_p50: dict[str, float]


def _times(values: Sequence[float]) -> StageTimes:
    array = np.asarray(values if values else [0.0], dtype=np.float64)
    return StageTimes(p50=round(float(np.percentile(array, 50)), 2), p95=round(float(np.percentile(array, 95)), 2))


def _video_frames(video: Path, seconds: float, frame_width: int | None) -> Iterator[tuple[int, ImageBGR]]:
    for timestamp_ms, frame in read_clip(video):
        if timestamp_ms >= seconds * 1000:
            return
        if frame_width is not None and frame.shape[1] != frame_width:
            height = round(frame.shape[0] * frame_width / frame.shape[1])
            # Area averaging to shrink; to enlarge it repeats pixels in blocks, which no camera delivers.
            interpolation = cv2.INTER_AREA if frame_width < frame.shape[1] else cv2.INTER_LINEAR
            frame = np.ascontiguousarray(cv2.resize(frame, (frame_width, height), interpolation=interpolation))
        yield timestamp_ms, frame


Frames = Callable[[], Iterable[tuple[int, ImageBGR]]]


def _bare_pose(frames: Frames, pose: PoseSettings) -> tuple[float, float]:
    """CPU ms per frame and people per frame of one PoseLandmarker at analysis width, no tiles."""
    cpu = 0.0
    people = count = 0
    with PoseEstimator(pose.model_copy(update={"tile_grid": (1, 1)})) as estimator:
        for timestamp_ms, frame in frames():
            start = time.process_time()
            people += len(estimator.estimate(frame, timestamp_ms))
            cpu += time.process_time() - start
            count += 1
    return cpu * 1000 / max(1, count), people / max(1, count)


def _front_end(
    frames: Frames, pose: PoseSettings, settings: FrontEndSettings
) -> tuple[float, dict[str, list[float]], float]:
    """CPU ms per frame, wall ms per stage (and total) per frame, people per frame."""
    stages: dict[str, list[float]] = {stage: [] for stage in (*FRONT_END_STAGES, "total")}
    cpu = 0.0
    people = 0
    with PersonFrontEnd(pose, settings) as front_end:
        for timestamp_ms, frame in frames():
            start, cpu_start = time.perf_counter(), time.process_time()
            result = front_end.analyze(frame, timestamp_ms)
            cpu += time.process_time() - cpu_start
            stages["total"].append((time.perf_counter() - start) * 1000)
            for stage in FRONT_END_STAGES:
                stages[stage].append(result.stage_ms[stage])
            people += len(result.people)
    count = len(stages["total"])
    return cpu * 1000 / max(1, count), stages, people / max(1, count)


def run_frontend_bench(
    video: Path,
    seconds: float = 20.0,
    frame_width: int | None = None,
    pose: PoseSettings | None = None,
    settings: FrontEndSettings | None = None,
) -> FrontEndBench:
    """Benchmark the front end (live settings) and bare pose on the first ``seconds`` of ``video``.

    Raises:
        ValueError: if the video yields no frames.
    """
    pose_settings = pose or PoseSettings()
    first = next(iter(_video_frames(video, seconds, frame_width)), None)
    if first is None:
        raise ValueError(f"no frames read from {video}")

    def frames() -> Iterator[tuple[int, ImageBGR]]:
        # Decoded again for each pass: holding a long 1080p video in memory would swamp the memory figure.
        return _video_frames(video, seconds, frame_width)

    cpu, stages, people = _front_end(frames, pose_settings, settings or FrontEndSettings())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    bare_cpu, bare_people = _bare_pose(frames, pose_settings)
    return FrontEndBench(
        video=str(video),
        frame_size=(first[1].shape[1], first[1].shape[0]),
        frames=len(stages["total"]),
        stage_ms={stage: _times(values) for stage, values in stages.items()},
        cpu_ms_per_frame=round(cpu, 2),
        bare_pose_cpu_ms_per_frame=round(bare_cpu, 2),
        front_end_over_bare_pose=round(cpu / bare_cpu, 3) if bare_cpu > 0 else 0.0,
        people_mean=round(people, 2),
        bare_pose_people_mean=round(bare_people, 2),
        peak_rss_mb=round(peak_mb, 1),
    )


def crowd_frames(person: ImageBGR, count: int, frames: int = 20) -> list[tuple[int, ImageBGR]]:
    """``frames`` 1080p frames with ``count`` copies of ``person`` in a grid, drifting a little per frame."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    columns = min(count, 4)
    rows = math.ceil(count / columns)
    cell_w, cell_h = 1920 // columns, 1080 // rows
    factor = min(cell_w / person.shape[1], cell_h / person.shape[0]) * 0.8
    size = (max(1, round(person.shape[1] * factor)), max(1, round(person.shape[0] * factor)))
    scaled = cv2.resize(person, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
    result = []
    for index in range(frames):
        canvas = np.full((1080, 1920, 3), 120, dtype=np.uint8)
        shift = (index * 3) % 20
        for slot in range(count):
            x = (slot % columns) * cell_w + (cell_w - size[0]) // 2 + shift - 10
            y = (slot // columns) * cell_h + (cell_h - size[1]) // 2
            x = min(max(0, x), 1920 - size[0])
            canvas[y : y + size[1], x : x + size[0]] = scaled
        result.append((index * 100, canvas))
    return result


def run_people_scaling(
    person: ImageBGR,
    counts: Sequence[int] = (1, 2, 4, 8),
    frames: int = 20,
    pose: PoseSettings | None = None,
    settings: FrontEndSettings | None = None,
) -> list[ScalingPoint]:
    """The front end's CPU time per frame for frames with each number of people, bare pose alongside."""
    pose_settings = pose or PoseSettings()
    points = []
    for count in counts:
        scene = crowd_frames(person, count, frames)
        replay: Frames = functools.partial(list, scene)
        cpu, stages, found = _front_end(replay, pose_settings, settings or FrontEndSettings())
        bare_cpu, _ = _bare_pose(replay, pose_settings)
        points.append(
            ScalingPoint(
                people=count,
                found_mean=round(found, 2),
                cpu_ms_per_frame=round(cpu, 2),
                cpu_ms_per_person_found=round(cpu / found, 2) if found > 0 else None,
                bare_pose_cpu_ms_per_frame=round(bare_cpu, 2),
                stage_ms_p50={stage: _times(values).p50 for stage, values in stages.items()},
            )
        )
    return points
