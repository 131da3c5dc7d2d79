"""Replay a recorded clip through the live detector path, keeping each alert with its moment in clip time.

On the device, :mod:`detector.runtime` thins the camera to the analysis rate, gates pose on motion, analyses
each frame and confirms incidents. An evaluation needs those same decisions on a file, as fast as the CPU
allows, with the clip time of every alert. This module runs the same parts in the same order, on the
clip's own media clock:

1. :class:`~detector.sources.AnalysisRate` (the capture thread's thinning rule);
2. :class:`~detector.motion.MotionGate`;
3. :class:`~detector.analysis.FrameAnalyzer`;
4. :class:`~detector.confirm.IncidentConfirmer`, closed at the end of the clip as the runtime closes it when
   its source closes.

``detector scan`` replays every frame without a motion gate, as it always has. Privacy masks and zones are
not applied: a replayed clip has none. Nothing is written anywhere. An alert carries no position and no
track id: incidents are numbered 1, 2, ... within the clip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from detector.analysis import FrameAnalysis, FrameAnalyzer
from detector.config import MotionSettings
from detector.confirm import IncidentConfirmer, IncidentEvent
from detector.media import read_clip
from detector.model import LoadedModel
from detector.motion import MotionGate
from detector.pose.estimator import ImageBGR
from detector.settings import AnalysisSettings
from detector.sources import AnalysisRate
from nitrosignal.wire.messages import AlertPhase

# The confirmer needs wall-clock datetimes; a replay puts clip time 0 at this fixed moment.
REPLAY_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReplayedAlert(_Frozen):
    """One incident lifecycle change, at the clip time of the frame that caused it."""

    at_s: float = Field(ge=0.0, description="Clip time of the frame that caused it, in seconds.")
    phase: AlertPhase
    incident: int = Field(ge=1, description="Which incident of this clip: 1, 2, ... in order of opening.")
    confidence: float = Field(ge=0.0, le=1.0)


class Replay(_Frozen):
    """What the live path did over one clip."""

    frames_read: int = Field(ge=0, description="Frames decoded from the clip.")
    frames_analysed: int = Field(ge=0, description="Frames taken at the analysis rate.")
    frames_posed: int = Field(ge=0, description="Analysed frames the motion gate let through to pose.")
    positive_frames: int = Field(ge=0, description="Frames where someone's score reached the alert threshold.")
    max_score: float = Field(ge=0.0, le=1.0, description="Highest balloon score of anyone in any frame.")
    people_max: int = Field(ge=0, description="Most people found in one frame.")
    duration_s: float = Field(ge=0.0, description="Length of the replayed part of the clip, in seconds.")
    alerts: tuple[ReplayedAlert, ...] = Field(description="Every lifecycle change, in order.")
    scores: tuple[tuple[float, float], ...] = Field(
        description="(clip time, highest score of anyone) per posed frame, for plots."
    )

    @property
    def new_alerts(self) -> tuple[ReplayedAlert, ...]:
        """The alerts that would send an officer: phase ``new``."""
        return tuple(alert for alert in self.alerts if alert.phase is AlertPhase.NEW)


def replay_frames(
    frames: Iterable[tuple[float, ImageBGR]],
    settings: AnalysisSettings,
    model: LoadedModel,
    *,
    analysis_fps: float | None,
    motion: MotionSettings | None,
) -> Replay:
    """Run frames through the live path in order.

    Args:
        frames: (clip time in seconds, BGR frame), in order, times strictly increasing.
        settings: the camera's analysis settings.
        model: the verified classifier; its card's threshold applies unless the settings set one.
        analysis_fps: the camera's analysis rate; None analyses every frame.
        motion: the camera's motion gate; None runs pose on every analysed frame.

    Returns:
        Counts, every alert with its clip time, and the score trace.

    Raises:
        ValueError: if there is no frame.
    """
    confirmer = IncidentConfirmer(settings.confirm, (), model_threshold=model.card.threshold)
    rate = AnalysisRate(analysis_fps) if analysis_fps is not None else None
    gate = MotionGate(motion) if motion is not None else None
    incidents: dict[uuid.UUID, int] = {}
    alerts: list[ReplayedAlert] = []
    scores: list[tuple[float, float]] = []
    read = analysed = posed = positives = people_max = 0
    max_score = first_s = last_s = 0.0
    people_seen = False

    def record(events: Iterable[IncidentEvent], at_s: float) -> None:
        for event in events:
            number = incidents.setdefault(event.incident_id, len(incidents) + 1)
            alerts.append(
                ReplayedAlert(at_s=round(at_s, 4), phase=event.phase, incident=number, confidence=event.confidence)
            )

    with FrameAnalyzer(settings, model) as analyzer:
        for at_s, frame in frames:
            first_s = at_s if read == 0 else first_s
            read += 1
            last_s = at_s
            if rate is not None and not rate.take(at_s):
                continue
            analysed += 1
            now = REPLAY_EPOCH + timedelta(seconds=at_s)
            run_pose = gate is None or gate.update(frame, at_s, people_seen=people_seen).run_pose
            if run_pose:
                analysis = analyzer.analyze(frame, int(round(at_s * 1000)))
                posed += 1
                people_seen = bool(analysis.people)
                best = max((person.balloon_score for person in analysis.people), default=0.0)
                max_score = max(max_score, best)
                positives += int(best >= confirmer.threshold)
                people_max = max(people_max, len(analysis.people))
                scores.append((round(at_s, 4), round(best, 4)))
            elif confirmer.incident_open:
                # As the runtime does: a still scene while an incident is open tells the confirmer nobody is there.
                analysis = FrameAnalysis(people=())
            else:
                continue
            record(confirmer.update(analysis, now), at_s)
        if read == 0:
            raise ValueError("no frames to replay")
        record(confirmer.close_all(REPLAY_EPOCH + timedelta(seconds=last_s)), last_s)
    period = (last_s - first_s) / (read - 1) if read > 1 else 0.0
    return Replay(
        frames_read=read,
        frames_analysed=analysed,
        frames_posed=posed,
        positive_frames=positives,
        max_score=round(max_score, 4),
        people_max=people_max,
        duration_s=round(last_s + period, 4),
        alerts=tuple(alerts),
        scores=tuple(scores),
    )


def replay_clip(
    path: Path,
    settings: AnalysisSettings,
    model: LoadedModel,
    *,
    analysis_fps: float | None,
    motion: MotionSettings | None,
    seconds: float | None = None,
) -> Replay:
    """Replay a video file (or animated GIF) through the live path; see :func:`replay_frames`.

    Args:
        path: the clip.
        settings: the camera's analysis settings.
        model: the verified classifier.
        analysis_fps: the camera's analysis rate; None analyses every frame.
        motion: the camera's motion gate; None runs pose on every analysed frame.
        seconds: use at most this many seconds of the clip; None for all of it.

    Raises:
        ImageReadError: if the clip cannot be read.
        ValueError: if it holds no frame.
    """

    def frames() -> Iterable[tuple[float, ImageBGR]]:
        for timestamp_ms, frame in read_clip(path):
            at_s = timestamp_ms / 1000.0
            if seconds is not None and at_s >= seconds:
                return
            yield at_s, frame

    return replay_frames(frames(), settings, model, analysis_fps=analysis_fps, motion=motion)
