"""The dataset format: a folder of images or video clips with ``labels.csv`` and ``dataset.yaml`` provenance.

``labels.csv`` has the columns ``path,label[,category][,split]`` (the same format as the shared eval set);
``label`` is ``positive`` (a balloon held at the mouth) or ``negative``. ``dataset.yaml`` records, per
source, where the images came from, under which licence, on which consent or legal basis and when they
were collected; each source claims its images with glob patterns. Data without provenance is refused.
"""

from __future__ import annotations

import csv
import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, field_validator

from nitrosignal.modelcard import DataSource
from nitrosignal.strict import StrictModel

LABELS_FILE = "labels.csv"
PROVENANCE_FILE = "dataset.yaml"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

Label = Literal["positive", "negative"]
Split = Literal["train", "val", "test"]


class LabelRow(StrictModel):
    """One labelled image of a dataset."""

    path: str = Field(
        description="Image or clip path relative to the dataset folder, with forward slashes. A clip "
        "(detector.media.CLIP_SUFFIXES) is labelled as a whole: positive when a balloon is held at the mouth "
        "at some moment in it."
    )
    label: Label
    category: str = Field(default="", description="Look-alike or content category, e.g. smoking_vaping.")
    split: Split | None = Field(default=None, description="Optional fixed split; empty lets training choose.")

    @field_validator("path")
    @classmethod
    def _relative(cls, value: str) -> str:
        if not value or value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(f"path must be relative inside the dataset folder, got {value!r}")
        return value


class SourceProvenance(StrictModel):
    """Provenance of one source of images."""

    name: str = Field(min_length=1, description="Short name of the source.")
    origin: str = Field(min_length=1, description="Where the data came from: repository, URL, collection.")
    licence: str = Field(min_length=1, description="Licence as stated by the origin.")
    legal_basis: str = Field(min_length=1, description="Consent or legal-basis reference for using the images.")
    collected: str = Field(min_length=1, description="Collection date or period, ISO 8601 where known.")
    paths: tuple[str, ...] = Field(
        min_length=1, description="Glob patterns (relative to the dataset folder) of the images this source covers."
    )

    def covers(self, path: str) -> bool:
        """Whether ``path`` is one of this source's images."""
        return any(fnmatch.fnmatchcase(path, pattern) for pattern in self.paths)


class Provenance(StrictModel):
    """The ``dataset.yaml`` of a dataset."""

    name: str = Field(min_length=1)
    description: str = ""
    sources: tuple[SourceProvenance, ...] = Field(min_length=1)
    derived_from: tuple[str, ...] = Field(
        default=(), description="For generated datasets: the dataset folders or manifests the images derive from."
    )

    def source_for(self, path: str) -> SourceProvenance | None:
        """The first source that covers ``path``, or None when the image has no provenance."""
        return next((source for source in self.sources if source.covers(path)), None)

    def data_sources(self, rows: Sequence[LabelRow]) -> tuple[DataSource, ...]:
        """Model-card summary: each source with the number of labelled images it covers."""
        counts = {source.name: 0 for source in self.sources}
        for row in rows:
            source = self.source_for(row.path)
            if source is not None:
                counts[source.name] += 1
        return tuple(
            DataSource(
                name=s.name,
                origin=s.origin,
                licence=s.licence,
                legal_basis=s.legal_basis,
                collected=s.collected,
                images=counts[s.name],
            )
            for s in self.sources
        )


class Dataset(StrictModel):
    """A loaded dataset: its folder, labelled rows and provenance."""

    root: Path
    rows: tuple[LabelRow, ...]
    provenance: Provenance

    def image_path(self, row: LabelRow) -> Path:
        """Absolute path of a row's image."""
        return self.root / row.path


class DatasetError(ValueError):
    """A dataset folder that does not follow the format."""


def read_labels(path: Path) -> list[LabelRow]:
    """Read a ``labels.csv``.

    Args:
        path: The CSV file.

    Returns:
        The rows, in file order.

    Raises:
        DatasetError: When the header lacks ``path`` or ``label`` or a row is invalid.
    """
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        if "path" not in header or "label" not in header:
            raise DatasetError(f"{path}: header must start with path,label; got {header}")
        rows = []
        for line_no, record in enumerate(reader, start=2):
            values = {key: (record.get(key) or "").strip() for key in ("path", "label", "category", "split")}
            try:
                rows.append(
                    LabelRow(
                        path=values["path"],
                        label=values["label"],
                        category=values["category"],
                        split=values["split"] or None,
                    )
                )
            except ValueError as error:
                raise DatasetError(f"{path}:{line_no}: {error}") from error
    return rows


def write_labels(path: Path, rows: Iterable[LabelRow]) -> None:
    """Write rows as ``labels.csv`` (always with the category and split columns)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "label", "category", "split"])
        for row in rows:
            writer.writerow([row.path, row.label, row.category, row.split or ""])


def read_provenance(path: Path) -> Provenance:
    """Read and validate a ``dataset.yaml``."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise DatasetError(f"{path}: not valid YAML: {error}") from error
    try:
        return Provenance.model_validate(data)
    except ValueError as error:
        raise DatasetError(f"{path}: {error}") from error


def write_provenance(path: Path, provenance: Provenance) -> None:
    """Write a ``dataset.yaml``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(provenance.model_dump(mode="json"), sort_keys=False, allow_unicode=True))


def load_dataset(root: Path, *, require_provenance: bool = True) -> Dataset:
    """Load a dataset folder.

    Args:
        root: Folder holding ``labels.csv`` and ``dataset.yaml``.
        require_provenance: Refuse images that no source in ``dataset.yaml`` covers.

    Raises:
        DatasetError: On a missing file, an invalid row, a missing image or an image without provenance.
    """
    labels_path, provenance_path = root / LABELS_FILE, root / PROVENANCE_FILE
    if not labels_path.is_file():
        raise DatasetError(f"{root}: no {LABELS_FILE}")
    if not provenance_path.is_file():
        raise DatasetError(f"{root}: no {PROVENANCE_FILE}; data without provenance is refused")
    rows = read_labels(labels_path)
    provenance = read_provenance(provenance_path)
    missing = [row.path for row in rows if not (root / row.path).is_file()]
    if missing:
        raise DatasetError(f"{root}: {len(missing)} labelled image(s) missing, first: {missing[:3]}")
    if require_provenance:
        uncovered = [row.path for row in rows if provenance.source_for(row.path) is None]
        if uncovered:
            raise DatasetError(
                f"{root}: {len(uncovered)} image(s) have no provenance in {PROVENANCE_FILE}, first: {uncovered[:3]}"
            )
    return Dataset(root=root, rows=tuple(rows), provenance=provenance)


def list_images(folder: Path) -> list[Path]:
    """All images under ``folder``, sorted so every run sees the same order."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
