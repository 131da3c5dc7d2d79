"""``nitrosignal train check DATASET``: refuse data without provenance, report class and category balance."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from training.dataset import Dataset, load_dataset


@dataclass(frozen=True)
class CheckReport:
    """Balance of a dataset that passed the provenance check."""

    dataset: Dataset
    by_label: dict[str, int]
    by_category: dict[tuple[str, str], int]
    by_split: dict[str, int]
    by_source: dict[str, int]

    def lines(self) -> list[str]:
        """Human-readable report lines."""
        total = len(self.dataset.rows)
        out = [f"dataset {self.dataset.provenance.name}: {total} images, provenance OK"]
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
        if len(self.by_label) < 2:
            out.append("WARNING: only one class present; a classifier cannot be trained on this alone")
        return out


def check_dataset(root: Path) -> CheckReport:
    """Load a dataset (raising on missing provenance) and count its balance."""
    dataset = load_dataset(root, require_provenance=True)
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
    )
