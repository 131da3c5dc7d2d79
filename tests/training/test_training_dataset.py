"""Dataset format: labels.csv rows, dataset.yaml provenance, and the check that refuses data without it."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from training.check import check_dataset
from training.dataset import (
    DatasetError,
    LabelRow,
    Provenance,
    SourceProvenance,
    load_dataset,
    read_labels,
    write_labels,
    write_provenance,
)


@pytest.mark.parametrize(
    ("fields", "expectation"),
    [
        ({"path": "a/b.jpg", "label": "positive"}, contextlib.nullcontext()),
        (
            {"path": "a.jpg", "label": "negative", "category": "smoking_vaping", "split": "val"},
            contextlib.nullcontext(),
        ),
        ({"path": "a.jpg", "label": "maybe"}, pytest.raises(ValueError)),
        ({"path": "/etc/passwd", "label": "negative"}, pytest.raises(ValueError)),
        ({"path": "../x.jpg", "label": "negative"}, pytest.raises(ValueError)),
        ({"path": "a.jpg", "label": "negative", "split": "holdout"}, pytest.raises(ValueError)),
    ],
)
def test_label_row_validation(fields: dict[str, Any], expectation: contextlib.AbstractContextManager[Any]) -> None:
    with expectation:
        LabelRow.model_validate(fields)


def _source(paths: tuple[str, ...]) -> SourceProvenance:
    return SourceProvenance(
        name="cams",
        origin="municipal test site",
        licence="own footage",
        legal_basis="DPIA 2026-01, art. 6(1)(e)",
        collected="2026-05",
        paths=paths,
    )


def _dataset(root: Path, covered: tuple[str, ...], rows: list[LabelRow], with_yaml: bool = True) -> Path:
    for row in rows:
        (root / row.path).parent.mkdir(parents=True, exist_ok=True)
        (root / row.path).write_bytes(b"\xff\xd8jpeg")
    write_labels(root / "labels.csv", rows)
    if with_yaml:
        write_provenance(root / "dataset.yaml", Provenance(name="t", sources=(_source(covered),)))
    return root


ROWS = [
    LabelRow(path="pos/a.jpg", label="positive", category="balloon_at_mouth"),
    LabelRow(path="neg/b.jpg", label="negative", category="smoking_vaping", split="train"),
    LabelRow(path="neg/c.jpg", label="negative", category="smoking_vaping"),
]


@pytest.mark.parametrize(
    ("covered", "with_yaml", "expectation"),
    [
        (("pos/*", "neg/*"), True, contextlib.nullcontext()),
        (("*",), True, contextlib.nullcontext()),
        (("pos/*",), True, pytest.raises(DatasetError, match="no provenance")),
        (("pos/*", "neg/*"), False, pytest.raises(DatasetError, match="without provenance is refused")),
    ],
)
def test_check_refuses_data_without_provenance(
    tmp_path: Path, covered: tuple[str, ...], with_yaml: bool, expectation: contextlib.AbstractContextManager[Any]
) -> None:
    root = _dataset(tmp_path, covered, ROWS, with_yaml)
    with expectation:
        report = check_dataset(root)
        assert report.by_label == {"positive": 1, "negative": 2}
        assert report.by_category[("negative", "smoking_vaping")] == 2
        assert report.by_split == {"": 2, "train": 1}
        assert report.by_source == {"cams": 3}
        assert any("provenance OK" in line for line in report.lines())


def test_missing_image_is_refused(tmp_path: Path) -> None:
    root = _dataset(tmp_path, ("*",), ROWS)
    (root / "neg" / "c.jpg").unlink()
    with pytest.raises(DatasetError, match="missing"):
        load_dataset(root)


def test_labels_round_trip_and_header_check(tmp_path: Path) -> None:
    write_labels(tmp_path / "labels.csv", ROWS)
    assert read_labels(tmp_path / "labels.csv") == ROWS
    (tmp_path / "bad.csv").write_text("file,class\na.jpg,positive\n")
    with pytest.raises(DatasetError, match="header"):
        read_labels(tmp_path / "bad.csv")


def test_eval_style_labels_without_split_column(tmp_path: Path) -> None:
    (tmp_path / "labels.csv").write_text(
        "path,label,category\nx/a.jpg,negative,drinking_yes\ny.jpg,positive,balloon_at_mouth\n"
    )
    rows = read_labels(tmp_path / "labels.csv")
    assert [(r.label, r.category, r.split) for r in rows] == [
        ("negative", "drinking_yes", None),
        ("positive", "balloon_at_mouth", None),
    ]


def test_provenance_counts_for_the_model_card(tmp_path: Path) -> None:
    provenance = Provenance(
        name="t", sources=(_source(("pos/*",)), _source(("neg/*",)).model_copy(update={"name": "b"}))
    )
    sources = provenance.data_sources(ROWS)
    assert [(s.name, s.images) for s in sources] == [("cams", 1), ("b", 2)]
