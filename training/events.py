"""Events in clips: when, in a labelled clip, a balloon is used or a look-alike happens (``events.csv``).

A dataset's ``labels.csv`` labels a clip as a whole. ``events.csv``, beside it, says *when*. Any tool that
brings labelled clips in (``train synth-clips``, an importer from a labelling tool) writes this format, and
``train evaluate`` measures event recall, time to alert and false alerts per camera-hour from it.

Columns, in this order (a header row is required; ``person_height_px`` may be left empty):

``path,start_s,end_s,label,category,person_height_px``

- ``path``: a clip listed in ``labels.csv``, relative to the dataset folder.
- ``start_s``, ``end_s``: seconds from the clip's first frame; ``0 <= start_s < end_s``, and ``end_s`` at
  most the clip's length (checked once the clip is decoded).
- ``label``: ``positive`` for balloon use (raise, hold at the mouth, lower: the event an alert must
  follow), ``negative`` for a look-alike moment (a cup at the mouth, a phone at the ear...): an alert in it
  is a false alert of that category.
- ``category``: what happens, for example ``balloon_at_mouth``, ``cup_at_mouth`` or ``phone_at_ear``.
- ``person_height_px``: height in pixels of the person it happens to, for figures per height bin.

Rules, beyond the columns' types:
- a clip's events do not overlap (an overlap is refused: the two would contradict each other, or be one
  event);
- a clip labelled ``positive`` in ``labels.csv`` has at least one positive event; a ``negative`` clip has
  none;
- a clip with no row here has no events: an untouched negative clip, for example.

A malformed file, or an event on a path that ``labels.csv`` does not list, refuses the dataset (naming the
line). A rule about one clip refuses that clip only (:func:`clip_problem`): an evaluation lists it, with
the reason, and carries on. Only the standard library and
pydantic: importing this loads no model and no video code.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from training.dataset import DatasetError, Label, LabelRow

EVENTS_FILE: Final = "events.csv"
COLUMNS: Final = ("path", "start_s", "end_s", "label", "category", "person_height_px")
# An event may end up to this long after the clip's last frame time (one frame at 10 fps), for rounding.
LENGTH_TOLERANCE_S: Final = 0.1


class ClipEvent(BaseModel):
    """One event in one clip."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The clip, as listed in labels.csv.")
    start_s: float = Field(ge=0.0, allow_inf_nan=False, description="Start, seconds from the clip's first frame.")
    end_s: float = Field(gt=0.0, allow_inf_nan=False, description="End, seconds from the clip's first frame.")
    label: Label = Field(description="positive: balloon use; negative: a look-alike moment.")
    category: str = Field(min_length=1, pattern=r"^[a-z0-9_]+$", description="What happens, e.g. cup_at_mouth.")
    person_height_px: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description="Height of the person in pixels; None if unknown."
    )

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        return LabelRow(path=value, label="negative").path

    @model_validator(mode="after")
    def _ordered(self) -> ClipEvent:
        if self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s:g}) must be after start_s ({self.start_s:g})")
        return self

    @property
    def duration_s(self) -> float:
        """How long the event lasts."""
        return self.end_s - self.start_s


def _number(value: str) -> float | None:
    return float(value) if value.strip() else None


def parse_events(text: str, *, source: str = EVENTS_FILE) -> list[ClipEvent]:
    """Parse the content of an ``events.csv``.

    Args:
        text: The file's content.
        source: The name used in error messages.

    Returns:
        The events in file order.

    Raises:
        DatasetError: on a wrong header or an invalid row, naming the line and the reason.
    """
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or tuple(cell.strip() for cell in header) != COLUMNS:
        raise DatasetError(f"{source}: the header must be {','.join(COLUMNS)}; got {header}")
    events = []
    for line_no, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(COLUMNS):
            raise DatasetError(f"{source}:{line_no}: expected {len(COLUMNS)} columns, got {len(cells)}")
        values = dict(zip(COLUMNS, (cell.strip() for cell in cells), strict=True))
        try:
            events.append(
                ClipEvent(
                    path=values["path"],
                    start_s=float(values["start_s"]),
                    end_s=float(values["end_s"]),
                    label=values["label"],  # pydantic checks the literal
                    category=values["category"],
                    person_height_px=_number(values["person_height_px"]),
                )
            )
        except (ValueError, ValidationError) as error:
            reason = "; ".join(e["msg"] for e in error.errors()) if isinstance(error, ValidationError) else error
            raise DatasetError(f"{source}:{line_no}: {reason}") from error
    return events


def read_events(path: Path) -> list[ClipEvent]:
    """Read an ``events.csv`` file; see :func:`parse_events`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: cannot read: {error}") from error
    return parse_events(text, source=str(path))


def write_events(path: Path, events: Iterable[ClipEvent]) -> None:
    """Write events as ``events.csv`` (times to the millisecond)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for event in events:
            height = "" if event.person_height_px is None else f"{event.person_height_px:.0f}"
            writer.writerow(
                [event.path, f"{event.start_s:.3f}", f"{event.end_s:.3f}", event.label, event.category, height]
            )


def events_by_clip(events: Sequence[ClipEvent], rows: Sequence[LabelRow]) -> dict[str, tuple[ClipEvent, ...]]:
    """Group events by clip, every clip of ``rows`` included (with no events when it has none).

    Raises:
        DatasetError: when an event names a path that is not a row of ``labels.csv``.
    """
    grouped: dict[str, list[ClipEvent]] = {row.path: [] for row in rows}
    for event in events:
        if event.path not in grouped:
            raise DatasetError(f"{EVENTS_FILE}: {event.path} is not listed in labels.csv")
        grouped[event.path].append(event)
    return {path: tuple(sorted(found, key=lambda e: e.start_s)) for path, found in grouped.items()}


def clip_problem(row: LabelRow, events: Sequence[ClipEvent], length_s: float | None) -> str | None:
    """Why a clip and its events cannot be evaluated, or None when they can.

    Args:
        row: The clip's row of ``labels.csv``.
        events: Its events, sorted by start.
        length_s: The clip's length once decoded; None to skip the length check.
    """
    for first, second in zip(events, events[1:], strict=False):
        if second.start_s < first.end_s:
            return (
                f"events overlap: {first.category} {first.start_s:g}-{first.end_s:g} s and "
                f"{second.category} {second.start_s:g}-{second.end_s:g} s"
            )
    positives = [event for event in events if event.label == "positive"]
    if row.label == "positive" and not positives:
        return "labelled positive but has no positive event in events.csv"
    if row.label == "negative" and positives:
        return f"labelled negative but has {len(positives)} positive event(s) in events.csv"
    if length_s is not None:
        for event in events:
            if event.end_s > length_s + LENGTH_TOLERANCE_S:
                return f"event {event.start_s:g}-{event.end_s:g} s ends after the clip ({length_s:.2f} s long)"
    return None


def count_events(events: Mapping[str, Sequence[ClipEvent]]) -> dict[str, int]:
    """Events per (label, category), as ``"label/category"`` keys, for reports."""
    counts: dict[str, int] = {}
    for found in events.values():
        for event in found:
            key = f"{event.label}/{event.category}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))
