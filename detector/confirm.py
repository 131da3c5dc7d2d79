"""Temporal confirmation: per-frame evidence becomes an incident with a new/update/end lifecycle.

A track confirms when N of its last M analysed frames are positive (balloon score at or above the alert
threshold) and its positive frames span a minimum duration. One incident per camera is open at a time;
other confirming tracks join it (``people_involved``). The incident ends after a quiet period without fresh
positive evidence, or at ``max_incident_s`` regardless, so a person who stands still cannot alert forever
(Frigate #3965). After an end, its tracks (and new tracks appearing where they stood) sit out a track
cooldown, and the whole camera a camera cooldown; evidence seen during a cooldown does not count, so a new
alert needs fresh evidence. Track ids never leave this module.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from detector.analysis import FrameAnalysis, PersonEvidence
from detector.settings import ConfirmSettings, ZoneSettings
from detector.tracking import Observation, ShortTracker
from nitrosignal.wire.messages import AlertPhase


@dataclass(frozen=True)
class IncidentEvent:
    """A lifecycle change of an incident, ready to become a wire Alert (no position, no track id)."""

    incident_id: uuid.UUID
    phase: AlertPhase
    occurred_at: datetime
    confidence: float
    people_involved: int
    zone: str | None
    expires_at: datetime

    def __post_init__(self) -> None:
        if self.incident_id.version != 4:
            raise ValueError(f"incident_id must be a uuid4, got version {self.incident_id.version}")
        if self.occurred_at.tzinfo is None or self.occurred_at.microsecond != 0:
            raise ValueError(f"occurred_at must be timezone-aware and whole-second, got {self.occurred_at!r}")
        if round(self.confidence, 2) != self.confidence or not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be within 0..1 with two decimals, got {self.confidence!r}")
        if self.people_involved < 1:
            raise ValueError(f"people_involved must be at least 1, got {self.people_involved}")


@dataclass
class _TrackEvidence:
    frames: deque[tuple[float, float]]  # (time_s, balloon score), the last M frames this track was seen
    anchor: tuple[float, float] = (0.0, 0.0)
    scale: float = 0.0


@dataclass
class _Incident:
    incident_id: uuid.UUID
    started_s: float
    last_evidence_s: float
    last_sent_s: float
    members: set[int]
    confidence: float
    zone: str | None
    sent_people: int = 1
    sent_confidence: float = 0.0


@dataclass
class _Cooldowns:
    tracks: dict[int, float] = field(default_factory=dict)  # track id -> until (s)
    spots: list[tuple[tuple[float, float], float, float]] = field(default_factory=list)  # anchor, scale, until
    camera_until_s: float = float("-inf")


def point_in_polygon(point: tuple[float, float], polygon: Sequence[tuple[float, float]]) -> bool:
    """Even-odd rule: is ``point`` inside ``polygon`` (both in normalised coordinates)?"""
    x, y = point
    inside = False
    count = len(polygon)
    for index in range(count):
        x1, y1 = polygon[index]
        x2, y2 = polygon[(index + 1) % count]
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _whole_second(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


class IncidentConfirmer:
    """Confirms incidents on one camera from a stream of frame analyses.

    Args:
        settings: N-of-M window, durations, cooldowns and threshold.
        zones: the camera's named zones; an incident takes the zone of the first confirming person.
        model_threshold: the model card's threshold, used when ``settings.alert_threshold`` is None.
    """

    def __init__(
        self, settings: ConfirmSettings, zones: Sequence[ZoneSettings], *, model_threshold: float | None = None
    ) -> None:
        threshold = settings.alert_threshold if settings.alert_threshold is not None else model_threshold
        if threshold is None:
            raise ValueError("no alert threshold: set confirm.alert_threshold or pass the model card's threshold")
        self._threshold = threshold
        self._settings = settings
        self._zones = tuple(zones)
        self._tracker = ShortTracker(settings.track_match_ratio, settings.track_max_gap_s)
        self._evidence: dict[int, _TrackEvidence] = {}
        self._incident: _Incident | None = None
        self._cooldowns = _Cooldowns()
        self._epoch: datetime | None = None

    @property
    def threshold(self) -> float:
        """The balloon score at which a frame counts as positive."""
        return self._threshold

    @property
    def incident_open(self) -> bool:
        """Whether an incident is open now."""
        return self._incident is not None

    def _seconds(self, now: datetime) -> float:
        if now.tzinfo is None:
            raise ValueError(f"now must be timezone-aware, got {now!r}")
        if self._epoch is None:
            self._epoch = now
        return (now - self._epoch).total_seconds()

    def update(self, analysis: FrameAnalysis, now: datetime) -> list[IncidentEvent]:
        """Feed one analysed frame.

        Args:
            analysis: the frame's per-person evidence.
            now: the frame's time, timezone-aware.

        Returns:
            Lifecycle events (new, update, end) caused by this frame, in order; usually none.
        """
        now_s = self._seconds(now)
        events: list[IncidentEvent] = []
        track_ids = self._observe(analysis, now_s)
        if self._incident is not None:
            events.extend(self._follow_incident(track_ids, now, now_s))
        confirmed = [tid for tid in track_ids if self._confirms(tid)]
        if confirmed:
            events.extend(self._open_or_join(confirmed, now, now_s))
        return events

    def close_all(self, now: datetime) -> list[IncidentEvent]:
        """End the open incident, if any (for shutdown or the schedule closing)."""
        now_s = self._seconds(now)
        return [self._end(now, now_s)] if self._incident is not None else []

    def _observe(self, analysis: FrameAnalysis, now_s: float) -> list[int]:
        width, height = analysis.frame_size
        aspect = height / width if width > 0 and height > 0 else 1.0
        people = analysis.people
        track_ids = self._tracker.update(
            [Observation(p.anchor, max(p.body_scale, 1e-3), aspect) for p in people], now_s
        )
        live = set(self._tracker.tracks)
        self._evidence = {tid: ev for tid, ev in self._evidence.items() if tid in live}
        self._cooldowns.tracks = {t: u for t, u in self._cooldowns.tracks.items() if u > now_s and t in live}
        self._cooldowns.spots = [spot for spot in self._cooldowns.spots if spot[2] > now_s]
        for tid, person in zip(track_ids, people, strict=True):
            record = self._evidence.get(tid)
            if record is None:
                record = _TrackEvidence(deque(maxlen=self._settings.window_frames))
                self._evidence[tid] = record
                self._inherit_cooldown(tid, person, aspect)
            cooling = self._cooling(tid, now_s)
            # Evidence seen during a cooldown is dropped, so a new alert needs fresh frames afterwards.
            record.frames.append((now_s, 0.0 if cooling else person.balloon_score))
            record.anchor, record.scale = person.anchor, max(person.body_scale, 1e-3)
        return track_ids

    def _inherit_cooldown(self, tid: int, person: PersonEvidence, aspect: float) -> None:
        """A new track where a cooled-down person stood is probably them again: it inherits the cooldown."""
        for anchor, scale, until in self._cooldowns.spots:
            dx, dy = person.anchor[0] - anchor[0], (person.anchor[1] - anchor[1]) * aspect
            if float(np.hypot(dx, dy)) <= self._settings.track_match_ratio * max(scale, person.body_scale):
                self._cooldowns.tracks[tid] = max(until, self._cooldowns.tracks.get(tid, until))

    def _cooling(self, tid: int, now_s: float) -> bool:
        return self._cooldowns.tracks.get(tid, float("-inf")) > now_s

    def _positives(self, tid: int) -> list[tuple[float, float]]:
        return [(t, s) for t, s in self._evidence[tid].frames if s >= self._threshold]

    def _confirms(self, tid: int) -> bool:
        positives = self._positives(tid)
        if len(positives) < self._settings.required_frames:
            return False
        return positives[-1][0] - positives[0][0] >= self._settings.min_duration_s

    def _confidence(self, tids: Sequence[int]) -> float:
        best = 0.0
        for tid in tids:
            positives = self._positives(tid)
            if positives:
                best = max(best, float(np.mean([score for _, score in positives])))
        return round(min(1.0, max(0.0, best)), 2)

    def _zone_of(self, tid: int) -> str | None:
        anchor = self._evidence[tid].anchor
        for zone in self._zones:
            if point_in_polygon(anchor, zone.polygon):
                return zone.name
        return None

    def _event(self, phase: AlertPhase, now: datetime) -> IncidentEvent:
        incident = self._incident
        assert incident is not None  # only called with an open incident
        return IncidentEvent(
            incident_id=incident.incident_id,
            phase=phase,
            occurred_at=_whole_second(now),
            confidence=incident.confidence,
            people_involved=max(1, len(incident.members)),
            zone=incident.zone,
            expires_at=_whole_second(now + timedelta(seconds=self._settings.expires_after_s)),
        )

    def _open_or_join(self, confirmed: list[int], now: datetime, now_s: float) -> list[IncidentEvent]:
        eligible = [tid for tid in confirmed if not self._cooling(tid, now_s)]
        incident = self._incident
        if incident is None:
            if not eligible or now_s < self._cooldowns.camera_until_s:
                return []
            incident = _Incident(
                incident_id=uuid.uuid4(),
                started_s=now_s,
                last_evidence_s=now_s,
                last_sent_s=now_s,
                members=set(eligible),
                confidence=self._confidence(eligible),
                zone=self._zone_of(eligible[0]),
            )
            self._incident = incident
            event = self._event(AlertPhase.NEW, now)
            incident.sent_people, incident.sent_confidence = len(incident.members), incident.confidence
            return [event]
        incident.members.update(eligible)
        return []

    def _follow_incident(self, track_ids: list[int], now: datetime, now_s: float) -> list[IncidentEvent]:
        incident = self._incident
        assert incident is not None
        fresh = [tid for tid in track_ids if tid in incident.members and self._evidence[tid].frames[-1][1] > 0]
        fresh = [tid for tid in fresh if self._evidence[tid].frames[-1][1] >= self._threshold]
        if fresh:
            incident.last_evidence_s = now_s
        settings = self._settings
        if now_s - incident.last_evidence_s >= settings.end_after_quiet_s or now_s - incident.started_s >= (
            settings.max_incident_s
        ):
            return [self._end(now, now_s)]
        # New confirming people join; confidence follows the members' recent positive frames.
        incident.members.update(tid for tid in track_ids if self._confirms(tid) and not self._cooling(tid, now_s))
        incident.confidence = max(incident.confidence, self._confidence(list(incident.members)))
        changed = len(incident.members) != incident.sent_people or incident.confidence >= incident.sent_confidence + 0.1
        # Refresh expires_at well before it passes while evidence continues.
        stale = now_s - incident.last_sent_s >= settings.expires_after_s / 2
        if (changed or (stale and fresh)) and now_s - incident.last_sent_s >= settings.update_min_interval_s:
            incident.last_sent_s = now_s
            incident.sent_people, incident.sent_confidence = len(incident.members), incident.confidence
            return [self._event(AlertPhase.UPDATE, now)]
        return []

    def _end(self, now: datetime, now_s: float) -> IncidentEvent:
        incident = self._incident
        assert incident is not None
        event = self._event(AlertPhase.END, now)
        settings = self._settings
        until = now_s + settings.track_cooldown_s
        for tid in incident.members:
            self._cooldowns.tracks[tid] = until
            record = self._evidence.get(tid)
            if record is not None:
                self._cooldowns.spots.append((record.anchor, record.scale, until))
                record.frames.clear()
        self._cooldowns.camera_until_s = now_s + settings.camera_cooldown_s
        self._incident = None
        return event
