"""Evaluate labelled clips as a camera would live them: each through the live detector path, then event figures.

Each clip of a dataset with ``events.csv`` is replayed by :func:`detector.replay.replay_clip`: thinned to the
camera's analysis rate, through the motion gate, the analyzer and the confirmer with its cooldowns and
incident lifecycle, as ``detector scan`` and the device runtime use them. The alerts, in clip time, are then
matched to the clip's events by :mod:`training.event_metrics`.

A clip that does not decode, or whose events break a rule of the format (overlapping, not matching the
clip's label, or ending after the clip), is refused: it is logged and listed in the report with its name and
the reason, and the other clips are evaluated. Clips are independent, so they are replayed in several
processes, each with a fresh analyzer per clip; the figures do not depend on the number of processes.
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from detector.config import FileSource, MotionSettings
from detector.media import is_clip
from detector.replay import Replay, replay_clip
from detector.settings import AnalysisSettings
from nitrosignal.wire.messages import AlertPhase
from training.dataset import Dataset, LabelRow
from training.event_metrics import ClipAlerts, summarise
from training.events import EVENTS_FILE, ClipEvent, clip_problem, events_by_clip, read_events
from training.synth.clip_writer import read_clip_meta

log = logging.getLogger(__name__)

DEFAULT_ANALYSIS_FPS: float = FileSource.model_fields["analysis_fps"].default


class ClipEvalSettings(BaseModel):
    """How clips are replayed and matched: the camera's settings and the grace after an event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    motion: MotionSettings | None = Field(default_factory=MotionSettings, description="None: pose on every frame.")
    analysis_fps: float | None = Field(default=DEFAULT_ANALYSIS_FPS, gt=0, description="None: every frame.")
    grace_s: float = Field(default=2.0, ge=0.0, description="An alert this long after an event still counts.")


def has_events(dataset: Dataset) -> bool:
    """Whether a dataset says when things happen in its clips (an ``events.csv``)."""
    return (dataset.root / EVENTS_FILE).is_file()


@dataclass(frozen=True)
class _Job:
    dataset: str
    path: Path
    key: str


_worker: dict[str, Any] = {}


def _init_worker(model_path: str) -> None:
    from detector.model import load_model

    # As run_evaluation: training evaluates its own export before it is signed; card and sha256 are checked.
    _worker["model"] = load_model(Path(model_path), trusted_keys=None)


def _replay_job(path: str, settings_json: str) -> Replay | str:
    """Replay one clip in a worker; the reason as a string when it cannot be decoded."""
    settings = ClipEvalSettings.model_validate_json(settings_json)
    try:
        return replay_clip(
            Path(path),
            settings.analysis,
            _worker["model"],
            analysis_fps=settings.analysis_fps,
            motion=settings.motion,
        )
    except ValueError as error:  # ImageReadError is a ValueError; so is a clip without frames
        return f"cannot be decoded: {error}"


def _replay_all(jobs: list[_Job], model_path: Path, settings: ClipEvalSettings, workers: int) -> list[Replay | str]:
    args = [(str(job.path), settings.model_dump_json()) for job in jobs]
    if workers <= 1 or len(jobs) <= 1:
        _init_worker(str(model_path))
        return [_replay_job(*a) for a in tqdm(args, desc="replay clips", unit="clip")]
    # spawn, not fork: MediaPipe's and torch's threads do not survive a fork.
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(str(model_path),)
    ) as pool:
        futures = [pool.submit(_replay_job, *a) for a in args]
        return [future.result() for future in tqdm(futures, desc="replay clips", unit="clip")]


def _alerts(key: str, row: LabelRow, group: str, events: tuple[ClipEvent, ...], replay: Replay) -> ClipAlerts:
    opened: dict[int, float] = {}
    incidents: dict[int, tuple[float, float]] = {}
    for alert in replay.alerts:
        if alert.phase is AlertPhase.NEW:
            opened[alert.incident] = alert.at_s
        elif alert.phase is AlertPhase.END and alert.incident in opened:
            incidents[alert.incident] = (opened[alert.incident], alert.at_s)
    for number, at_s in opened.items():
        incidents.setdefault(number, (at_s, replay.duration_s))
    return ClipAlerts(
        path=key,
        label=row.label,
        category=row.category or "uncategorised",
        group=group,
        length_s=replay.duration_s,
        events=events,
        new_alerts=tuple(alert.at_s for alert in replay.new_alerts),
        incidents=tuple(incidents[n] for n in sorted(incidents)),
    )


def evaluate_clips(
    datasets: list[Dataset], model_path: Path, threshold: float, settings: ClipEvalSettings, workers: int = 1
) -> dict[str, Any]:
    """Replay every clip of datasets with ``events.csv`` and compute the event figures.

    Args:
        datasets: Datasets with an ``events.csv`` (their photos, if any, are left to the image evaluation).
        model_path: The model (its card beside it), loaded in each worker through ``detector.model``.
        threshold: The alert threshold the confirmer uses (the card's), for the per-event diagnostics.
        settings: The camera's analysis settings, analysis rate and motion gate, and the grace.
        workers: Processes replaying clips.

    Returns:
        The figures of :func:`training.event_metrics.summarise`, plus ``refused`` (path and reason per refused
        clip), ``settings``, ``traces`` (score over time of each clip with events, for plots) and, per positive
        event, the highest score and the number of frames at or above the threshold within its window.

    Raises:
        DatasetError: on a malformed ``events.csv``, or one naming a clip that ``labels.csv`` does not list.
    """
    jobs: list[_Job] = []
    rows: dict[str, tuple[LabelRow, str, tuple[ClipEvent, ...]]] = {}
    refused: list[dict[str, str]] = []
    for dataset in datasets:
        clip_rows = [row for row in dataset.rows if is_clip(row.path)]
        grouped = events_by_clip(read_events(dataset.root / EVENTS_FILE), clip_rows)
        metas = read_clip_meta(dataset.root)
        for row in clip_rows:
            key = f"{dataset.root.name}/{row.path}"
            problem = clip_problem(row, grouped[row.path], None)
            if problem is not None:
                refused.append({"path": key, "reason": problem})
                continue
            meta = metas.get(row.path)
            source = dataset.provenance.source_for(row.path)
            group = meta.source_clip if meta is not None else (source.name if source is not None else "unrecorded")
            rows[key] = (row, group, grouped[row.path])
            jobs.append(_Job(dataset.root.name, dataset.image_path(row), key))
    replays = _replay_all(jobs, model_path, settings, workers)
    clips: list[ClipAlerts] = []
    traces: dict[str, list[tuple[float, float]]] = {}
    for job, replay in zip(jobs, replays, strict=True):
        row, group, events = rows[job.key]
        if isinstance(replay, str):
            refused.append({"path": job.key, "reason": replay})
            continue
        problem = clip_problem(row, events, replay.duration_s)
        if problem is not None:
            refused.append({"path": job.key, "reason": problem})
            continue
        clips.append(_alerts(job.key, row, group, events, replay))
        if events:
            traces[job.key] = list(replay.scores)
    for item in refused:
        log.warning("REFUSED clip %s: %s", item["path"], item["reason"])
    if not clips:
        raise ValueError(f"every clip was refused ({len(refused)}); nothing to evaluate")
    summary = summarise(clips, settings.grace_s)
    summary["refused"] = refused
    summary["settings"] = settings.model_dump(mode="json")
    summary["traces"] = traces
    summary["alerts_by_clip"] = {clip.path: list(clip.new_alerts) for clip in clips if clip.events}
    for event in summary["events_detail"]:
        # What the classifier saw during the event: tells a low score from a score the confirmer did not confirm.
        scores = [s for t, s in traces[event["path"]] if event["start_s"] <= t <= event["end_s"] + settings.grace_s]
        event["max_score"] = round(max(scores, default=0.0), 4)
        event["frames_at_threshold"] = sum(1 for s in scores if s >= threshold)
    return summary
