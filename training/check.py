"""``nitrosignal train check DATASET``: refuse data without provenance, report class and category balance.

Clips are counted apart from photos, with their frames, and a clip that cannot be decoded is refused: a
broken file found here costs nothing, found in the middle of a training run it costs the run. A dataset with
an ``events.csv`` (:mod:`training.events`) has its events checked too: each must name a listed clip, fit in
the clip's length as its container states it, and follow the per-clip rules; the first that does not refuses
the dataset.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import cv2

from detector.media import FALLBACK_CLIP_FPS, is_clip
from training.dataset import Dataset, DatasetError, load_dataset
from training.events import EVENTS_FILE, clip_problem, count_events, events_by_clip, read_events


@dataclass(frozen=True)
class CheckReport:
    """Balance of a dataset that passed the provenance check."""

    dataset: Dataset
    by_label: dict[str, int]
    by_category: dict[tuple[str, str], int]
    by_split: dict[str, int]
    by_source: dict[str, int]
    clips: int = 0
    clip_frames: int = 0
    events: dict[str, int] | None = None

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        total = len(self.dataset.rows)
        media = f"{total} images"
        if self.clips:
            media = f"{total - self.clips} images, {self.clips} clips ({self.clip_frames} frames)"
        out = [f"dataset {self.dataset.provenance.name}: {media}, provenance OK"]
        for label, count in sorted(self.by_label.items()):
            out.append(f"  {label:9s} {count:6d}  ({count / max(1, total):.1%})")
        out.append("categories (label, category):")
        out += [
            f"  {label:9s} {category or '-':32s} {count:6d}"
            for (label, category), count in sorted(self.by_category.items())
        ]
        out.append("splits:")
        out += [f"  {split or '(unset)':9s} {count:6d}" for split, count in sorted(self.by_split.items())]
        out.append("sources:")
        out += [f"  {name:32s} {count:6d}" for name, count in sorted(self.by_source.items())]
        if self.events is not None:
            out.append(f"events ({EVENTS_FILE}):")
            out += [f"  {key:42s} {count:6d}" for key, count in self.events.items()]
        if len(self.by_label) < 2:
            out.append("WARNING: only one class present; a classifier cannot be trained on this alone")
        return out


def clip_frames_and_length(path: Path) -> tuple[int, float]:
    """Frames and length in seconds of a clip as its container states them, once its first frame decodes.

    Raises:
        DatasetError: if the clip cannot be opened or its first frame does not decode.
    """
    capture = cv2.VideoCapture(str(path))
    try:
        ok, frame = capture.read() if capture.isOpened() else (False, None)
        if not ok or frame is None:
            raise DatasetError(f"{path}: cannot be decoded as a video clip")
        frames = max(1, int(capture.get(cv2.CAP_PROP_FRAME_COUNT)))
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        return frames, frames / (fps if 1.0 <= fps <= 1000.0 else FALLBACK_CLIP_FPS)
    finally:
        capture.release()


def clip_frame_count(path: Path) -> int:
    """Frames of a clip as its container states them; see :func:`clip_frames_and_length`."""
    return clip_frames_and_length(path)[0]


def check_dataset(root: Path) -> CheckReport:
    """Load a dataset (raising on missing provenance or an unreadable clip) and count its balance."""
    dataset = load_dataset(root, require_provenance=True)
    clip_rows = [row for row in dataset.rows if is_clip(row.path)]
    measured = {row.path: clip_frames_and_length(dataset.image_path(row)) for row in clip_rows}
    clip_frames = sum(frames for frames, _ in measured.values())
    events = None
    if (root / EVENTS_FILE).is_file():
        grouped = events_by_clip(read_events(root / EVENTS_FILE), clip_rows)
        for row in clip_rows:
            problem = clip_problem(row, grouped[row.path], measured[row.path][1])
            if problem is not None:
                raise DatasetError(f"{root / row.path}: {problem}")
        events = count_events(grouped)
    by_source: Counter[str] = Counter()
    for row in dataset.rows:
        source = dataset.provenance.source_for(row.path)
        assert source is not None  # load_dataset refused uncovered images
        by_source[source.name] += 1
    return CheckReport(
        dataset=dataset,
        by_label=dict(Counter(row.label for row in dataset.rows)),
        by_category=dict(Counter((row.label, row.category) for row in dataset.rows)),
        by_split=dict(Counter(row.split or "" for row in dataset.rows)),
        by_source=dict(by_source),
        clips=len(clip_rows),
        clip_frames=clip_frames,
        events=events,
    )
