"""Benchmark the live analysis on a video: throughput, per-stage latency, bare pose cost, memory, alerts.

The pipeline pass runs FrameAnalyzer and IncidentConfirmer exactly as live detection does, with the video's
own timestamps. The bare pass runs one MediaPipe PoseLandmarker with the same settings (analysis width,
running mode, number of poses, confidences) on the same frames and nothing else: the floor of this design.
Frames are decoded outside the timed sections. Nothing is written to disk. Privacy masks, when given (the
camera config's, with ``--config``), black out every frame before anything looks at it; in the pipeline
pass their cost is timed with the rest, as live.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from detector.analysis import STAGES, FrameAnalyzer
from detector.confirm import IncidentConfirmer
from detector.masking import MaskApplier
from detector.media import read_clip
from detector.model import LoadedModel
from detector.pose.estimator import ImageBGR, PoseEstimator
from detector.replay import replay_frames
from detector.settings import AnalysisSettings
from nitrosignal.wire.messages import AlertPhase


class Percentiles(BaseModel):
    """Median, 95th percentile and mean in milliseconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    p50: float
    p95: float
    mean: float = Field(description="The mean: a stage that runs on some frames only has a small p50 but costs this.")


class VideoScan(BaseModel):
    """False-alarm scan of one video: the live analyzer and confirmer over every frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: str
    frames_analysed: int
    positive_frames: int = Field(description="Frames where someone's balloon score reached the alert threshold.")
    max_score: float = Field(description="Highest balloon score of anyone in any frame.")
    confirmed_alerts: int = Field(description="Incidents the confirmer opened (each would be a false alarm here).")


class BenchReport(BaseModel):
    """What ``nitrosignal detector bench`` prints as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: str
    frame_size: tuple[int, int] = Field(description="Width and height of the analysed frames.")
    frames_analysed: int
    fps: float = Field(description="Analysed frames per second through the whole analysis (pose+evidence).")
    stage_ms: dict[str, Percentiles] = Field(description="Per-stage latency, p50 and p95, and 'total'.")
    bare_pose_fps: float = Field(description="Bare MediaPipe pose on the same frames with the same settings.")
    pipeline_over_bare_pose: float = Field(description="Pipeline wall time divided by bare pose wall time.")
    cpu_ms_per_frame: float = Field(
        description="Process CPU time (all threads) per analysed frame: robust to other load on the machine."
    )
    bare_pose_cpu_ms_per_frame: float = Field(description="The same for bare pose.")
    pipeline_over_bare_pose_cpu: float = Field(
        description="Pipeline CPU time per frame divided by bare pose CPU time per frame (target <= 1.15)."
    )
    classified_per_frame: float = Field(description="People classified per analysed frame, on average.")
    classifier_call_ms: dict[str, Percentiles] = Field(
        description="One classifier call with 1 and with 4 people's crops (the batch a frame sends), measured apart."
    )
    people_max: int
    people_mean: float
    confirmed_alerts: int = Field(description="Incidents opened by the confirmer over the run (new alerts).")
    peak_rss_mb: float = Field(
        description="Peak resident set size of this process during the pipeline pass (before the bare pass), MB."
    )


def _frames(video: Path, seconds: float | None, frame_width: int | None) -> Iterator[tuple[float, ImageBGR]]:
    """(time in seconds, frame) from the video, optionally rescaled to ``frame_width``; not yet masked."""
    for timestamp_ms, frame in read_clip(video):
        at_s = timestamp_ms / 1000.0
        if seconds is not None and at_s >= seconds:
            return
        if frame_width is not None and frame.shape[1] != frame_width:
            height = round(frame.shape[0] * frame_width / frame.shape[1])
            frame = np.ascontiguousarray(
                cv2.resize(frame, (frame_width, height), interpolation=cv2.INTER_AREA), dtype=np.uint8
            )
        yield at_s, frame


def _percentiles(values: list[float]) -> Percentiles:
    array: npt.NDArray[np.float64] = np.asarray(values, dtype=np.float64) if values else np.zeros(1)
    return Percentiles(
        p50=round(float(np.percentile(array, 50)), 2),
        p95=round(float(np.percentile(array, 95)), 2),
        mean=round(float(array.mean()), 2),
    )


def classifier_call_ms(model: LoadedModel, people: int, repeats: int = 20) -> Percentiles:
    """Latency of one classifier call with ``people`` crops (random inputs: the cost does not depend on them)."""
    size = model.card.input.size_px
    batch = np.random.default_rng(0).normal(size=(people, 3, size, size)).astype(np.float32)
    model.predict(batch)  # the first call allocates; it is not what a running camera pays
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(batch)
        times.append((time.perf_counter() - start) * 1000.0)
    return _percentiles(times)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def _bare_pose_seconds(
    video: Path, seconds: float | None, settings: AnalysisSettings, frame_width: int | None, masks: MaskApplier
) -> tuple[float, float]:
    """Wall and CPU seconds of bare pose over the same (masked) frames."""
    # The same estimator class with tiling switched off is exactly one PoseLandmarker at analysis width.
    bare = settings.pose.model_copy(update={"tile_grid": (1, 1)})
    elapsed = cpu = 0.0
    with PoseEstimator(bare) as estimator:
        for at_s, frame in _frames(video, seconds, frame_width):
            masks.apply(frame)
            start, cpu_start = time.perf_counter(), time.process_time()
            estimator.estimate(frame, int(at_s * 1000))
            elapsed += time.perf_counter() - start
            cpu += time.process_time() - cpu_start
    return elapsed, cpu


def run_bench(
    video: Path,
    seconds: float | None,
    settings: AnalysisSettings,
    model: LoadedModel,
    *,
    frame_width: int | None = None,
    masks: MaskApplier | None = None,
) -> BenchReport:
    """Benchmark the analysis on the first ``seconds`` of ``video`` (all of it if None).

    Args:
        video: a video file OpenCV can read.
        seconds: how much of the video to use, in video time; None for all.
        settings: analysis settings as the camera would use them.
        model: the verified classifier.
        frame_width: rescale frames to this width first (for example 1280 for a 720p figure); None keeps them.
        masks: privacy masks applied to every frame first (the camera's, as live); None for none.

    Returns:
        The report; frames per second count only analysis time, not decoding.

    Raises:
        ValueError: if the video cannot be opened or yields no frames.
    """
    totals: list[float] = []
    per_stage: dict[str, list[float]] = {stage: [] for stage in STAGES}
    people_counts: list[int] = []
    classified = 0
    alerts = 0
    cpu_s = 0.0
    size = (0, 0)
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    masks = masks or MaskApplier(())
    confirmer = IncidentConfirmer(settings.confirm, (), model_threshold=model.card.threshold)
    with FrameAnalyzer(settings, model) as analyzer:
        for at_s, frame in _frames(video, seconds, frame_width):
            start, cpu_start = time.perf_counter(), time.process_time()
            analysis = analyzer.analyze(masks.apply(frame), int(at_s * 1000))
            events = confirmer.update(analysis, epoch + timedelta(seconds=at_s))
            totals.append((time.perf_counter() - start) * 1000.0)
            cpu_s += time.process_time() - cpu_start
            alerts += sum(1 for event in events if event.phase is AlertPhase.NEW)
            for stage in STAGES:
                per_stage[stage].append(analysis.stage_ms.get(stage, 0.0))
            people_counts.append(len(analysis.people))
            classified += analysis.classified
            size = analysis.frame_size
    if not totals:
        raise ValueError(f"no frames read from {video}")
    # Peak memory of the live pipeline, taken before the bare pass builds its own pose graph.
    pipeline_peak_mb = peak_rss_mb()
    calls = {str(people): classifier_call_ms(model, people) for people in (1, 4)}
    bare_s, bare_cpu_s = _bare_pose_seconds(video, seconds, settings, frame_width, masks)
    pipeline_s = sum(totals) / 1000.0
    stage_ms = {stage: _percentiles(values) for stage, values in per_stage.items()}
    stage_ms["total"] = _percentiles(totals)
    return BenchReport(
        video=str(video),
        frame_size=size,
        frames_analysed=len(totals),
        fps=round(len(totals) / pipeline_s, 2),
        stage_ms=stage_ms,
        bare_pose_fps=round(len(totals) / bare_s, 2) if bare_s > 0 else 0.0,
        pipeline_over_bare_pose=round(pipeline_s / bare_s, 3) if bare_s > 0 else 0.0,
        cpu_ms_per_frame=round(cpu_s * 1000.0 / len(totals), 2),
        bare_pose_cpu_ms_per_frame=round(bare_cpu_s * 1000.0 / len(totals), 2),
        pipeline_over_bare_pose_cpu=round(cpu_s / bare_cpu_s, 3) if bare_cpu_s > 0 else 0.0,
        classified_per_frame=round(classified / len(totals), 3),
        classifier_call_ms=calls,
        people_max=max(people_counts),
        people_mean=round(float(np.mean(people_counts)), 2),
        confirmed_alerts=alerts,
        peak_rss_mb=pipeline_peak_mb,
    )


def scan_video(
    video: Path,
    seconds: float | None,
    settings: AnalysisSettings,
    model: LoadedModel,
    *,
    masks: MaskApplier | None = None,
) -> VideoScan:
    """Run the live analyzer and confirmer over a video and count what would have been alerted.

    Used for false-alarm counts on footage without balloon use, where every confirmed alert is a false alarm.

    Args:
        video: a video file (or animated GIF) OpenCV can read.
        seconds: how much of it to use, in video time; None for all.
        settings: analysis settings as the camera would use them.
        model: the verified classifier; its card's threshold applies unless the settings set one.
        masks: privacy masks applied to every frame first (the camera's, as live); None for none.

    Returns:
        Frame, positive-frame and alert counts.

    Raises:
        ValueError: if the video cannot be opened or yields no frames.
    """
    frames = _frames(video, seconds, None)
    if masks is not None:
        frames = ((at_s, masks.apply(frame)) for at_s, frame in frames)
    try:
        # Every frame, no motion gate: what this scan has always counted.
        replay = replay_frames(frames, settings, model, analysis_fps=None, motion=None)
    except ValueError as error:
        if "no frames to replay" not in str(error):
            raise
        raise ValueError(f"no frames read from {video}") from error
    return VideoScan(
        video=str(video),
        frames_analysed=replay.frames_analysed,
        positive_frames=replay.positive_frames,
        max_score=replay.max_score,
        confirmed_alerts=len(replay.new_alerts),
    )
