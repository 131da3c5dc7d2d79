"""``nitrosignal train crops``: cut every person's mouth crop with the detector's own pose and crop code.

For a synthetic image the person who carries the composite (found by the mouth position recorded in
``synth.jsonl``, also when pose moved the face onto the balloon) gets the image's label; everyone else in
the photo is a negative ("bystander"), except, in a positive image, people whose mouth lies near the
composite: their crop can hold part of the pasted balloon, so they are left out rather than taught as
negatives. A positive whose carrier the pose model no longer finds is counted as missed, not invented. For
a real image every person gets the image's label (a real positive with several people is ambiguous and
skipped). A negative clip gives the crops of everyone in every ``CLIP_FRAME_STEP``-th frame (read by the
detector's own clip reader), all negative. A positive clip is labelled as a whole and does not say in which
frames the balloon is at the mouth, so it is left out of training (and logged); it counts in evaluation,
where the clip is scored as a whole. Crops are written to one ``.npz`` file under a work folder outside the
repository.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from detector.media import is_clip, read_clip
from nitrosignal.modelcard import CropSpec
from training.dataset import Dataset, LabelRow, load_dataset
from training.frontend import PoseCache, body_scale_px, mouth_crop, mouth_point, read_image, still_pose_settings
from training.synth.writer import read_meta

log = logging.getLogger(__name__)

BYSTANDER = "bystander"
# The carrier is the person nearest the recorded composite mouth, within this many of the carrier's body
# scales (as recorded on the untouched photo). A balloon at the lips looks like a head to the pose model,
# which then often puts the whole face 0.4-0.8 body scales away, on or beside the balloon. The detector
# classifies exactly that shifted crop, so training must see it as the carrier's (it used to be left out,
# and the detector scored such carriers low).
CARRIER_MATCH_SCALES = 0.9
# ... and only someone of about the carrier's size, so a small person in the background is never taken
# for a carrier whose detection was lost.
CARRIER_SCALE_RATIO = 1.6
# In a positive composite, other people whose mouth lies within this many body scales of the composite's
# mouth are ambiguous (a neighbour's crop, or the carrier found at a shifted mouth, shows the balloon).
AMBIGUOUS_NEAR_SCALES = 1.5
# A negative clip contributes every this-many-th frame: neighbouring frames are near copies of each other.
CLIP_FRAME_STEP = 10
# Bumped whenever the labelling rules above change, so cached crops are cut again.
LABELLING_VERSION = "4"


@dataclass(frozen=True)
class CropSet:
    """Crops of a dataset with their labels, per person.

    Attributes:
        crops: uint8 (N, S, S, 3) BGR crops.
        labels: 1 for a balloon at the mouth, 0 otherwise, (N,).
        categories: category per crop (the image's category, or "bystander").
        splits: split per crop ("train"/"val"/"test"/"").
        image_index: index into ``image_paths`` per crop.
        scales: body scale in pixels per crop (for size bins).
        image_paths: dataset-relative path per image.
        image_labels: label per image (1/0).
        image_categories: category per image.
        missed_positive: per image, True when a positive's carrier was not found by pose.
    """

    crops: NDArray[np.uint8]
    labels: NDArray[np.int64]
    categories: NDArray[np.str_]
    splits: NDArray[np.str_]
    image_index: NDArray[np.int64]
    scales: NDArray[np.float64]
    image_paths: NDArray[np.str_]
    image_labels: NDArray[np.int64]
    image_categories: NDArray[np.str_]
    missed_positive: NDArray[np.bool_]

    def save(self, path: Path) -> None:
        """Write the set as one compressed ``.npz`` file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, **{name: getattr(self, name) for name in self.__dataclass_fields__})
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> CropSet:
        """Read a set written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            return cls(**{name: data[name] for name in cls.__dataclass_fields__})

    def select(self, split: str) -> NDArray[np.int64]:
        """Indices of the crops of one split."""
        return np.nonzero(self.splits == split)[0]


@dataclass(frozen=True)
class PeopleLabels:
    """Who is who in one image: the carrier's index (-1 if none) and, per person, (label, category) or None.

    None means the person is left out of training: their crop could show the pasted balloon (near the
    composite in a positive image) or it is unknown who holds it (a real positive with several people).
    """

    carrier: int
    people: list[tuple[int, str] | None]


def _distances(mouths: list[tuple[float, float]], target_mouth: tuple[float, float]) -> list[float]:
    target = np.asarray(target_mouth)
    return [float(np.linalg.norm(np.asarray(mouth) - target)) for mouth in mouths]


def find_carrier(
    mouths: list[tuple[float, float]], scales: list[float], target_mouth: tuple[float, float], target_scale: float
) -> int:
    """Index of the person carrying a composite, or -1 when pose lost them.

    The carrier is the person whose mouth is nearest the pasted one, within CARRIER_MATCH_SCALES of the
    carrier's body scale, and of about the carrier's size (CARRIER_SCALE_RATIO).

    Args:
        mouths: Each person's mouth in pixels.
        scales: Each person's body scale in pixels.
        target_mouth: The mouth the object was pasted at.
        target_scale: The carrier's body scale on the untouched photo.
    """
    carrier_scale = max(float(target_scale), 1.0)
    pixels = _distances(mouths, target_mouth)
    candidates = [
        index
        for index, (distance, scale) in enumerate(zip(pixels, scales, strict=True))
        if distance <= CARRIER_MATCH_SCALES * carrier_scale
        and 1 / CARRIER_SCALE_RATIO <= max(scale, 1.0) / carrier_scale <= CARRIER_SCALE_RATIO
    ]
    return min(candidates, key=lambda index: pixels[index]) if candidates else -1


def label_people(
    mouths: list[tuple[float, float]],
    scales: list[float],
    label: int,
    category: str,
    target_mouth: tuple[float, float] | None,
    target_scale: float | None,
) -> PeopleLabels:
    """Label each person found in an image (see the module docstring for the rules).

    Args:
        mouths: Each person's mouth in pixels.
        scales: Each person's body scale in pixels.
        label: The image's label (1 positive, 0 negative).
        category: The image's category.
        target_mouth: For a composite, the mouth the object was pasted at; None for a real photo.
        target_scale: For a composite, the body scale of the person who carries it.
    """
    count = len(mouths)
    if target_mouth is None:
        if label == 1 and count != 1:
            return PeopleLabels(-1, [None] * count)
        return PeopleLabels(0 if label == 1 else -1, [(label, category)] * count)
    if count == 0:
        return PeopleLabels(-1, [])
    carrier_scale = max(float(target_scale or 1.0), 1.0)
    pixels = _distances(mouths, target_mouth)
    carrier = find_carrier(mouths, scales, target_mouth, carrier_scale)
    near = AMBIGUOUS_NEAR_SCALES * carrier_scale
    people: list[tuple[int, str] | None] = []
    for index, distance in enumerate(pixels):
        if index == carrier:
            people.append((label, category))
        elif label == 1 and distance <= near:
            people.append(None)
        else:
            people.append((0, BYSTANDER))
    return PeopleLabels(carrier, people)


def cache_key(dataset: Dataset, spec: CropSpec) -> str:
    """Key of a dataset's crops: labels, meta, crop spec, pose settings and labelling rules."""
    digest = hashlib.sha256(spec.model_dump_json().encode())
    digest.update(still_pose_settings().model_dump_json().encode())
    digest.update(LABELLING_VERSION.encode())
    for name in ("labels.csv", "synth.jsonl"):
        path = dataset.root / name
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cut_crops(dataset: Dataset, spec: CropSpec, cache_dir: Path | None, pose_workers: int = 1) -> CropSet:
    """Cut the crops of every person in every image of a dataset.

    Args:
        dataset: The loaded dataset.
        spec: The model's crop specification (the detector's geometry version and size).
        cache_dir: Pose and crop cache folder (outside the repository), or None.
        pose_workers: Processes that fill the pose cache first (:meth:`PoseCache.prefetch`); the crops are
            the same for any number.
    """
    if cache_dir is not None:
        cached = cache_dir / f"crops-{cache_key(dataset, spec)}.npz"
        if cached.is_file():
            log.info("crops from cache %s", cached)
            return CropSet.load(cached)
    metas = read_meta(dataset.root)
    crops: list[NDArray[np.uint8]] = []
    labels, categories, splits, image_index, scales = [], [], [], [], []
    missed = []
    with PoseCache(cache_dir) as poses:
        poses.prefetch([dataset.image_path(row) for row in dataset.rows if not is_clip(row.path)], pose_workers)
        for index, row in enumerate(tqdm(dataset.rows, desc="crops", unit="img")):
            if is_clip(row.path):
                missed.append(False)
                for frame_crop, frame_scale in _negative_clip_crops(dataset, row, spec, poses):
                    crops.append(frame_crop)
                    labels.append(0)
                    categories.append(row.category)
                    splits.append(row.split or "")
                    image_index.append(index)
                    scales.append(frame_scale)
                continue
            image = read_image(dataset.image_path(row))
            people = poses.poses(image)
            label = 1 if row.label == "positive" else 0
            meta = metas.get(row.path)
            target = meta.target_mouth if meta is not None else None
            scale = meta.target_scale if meta is not None else None
            assigned = label_people(
                [(float(x), float(y)) for x, y in (mouth_point(p) for p in people)],
                [body_scale_px(p) for p in people],
                label,
                row.category,
                None if target is None else (float(target[0]), float(target[1])),
                scale,
            )
            if label == 1 and target is None and len(people) > 1:
                log.warning("%s: real positive with %d people is ambiguous; left out", row.path, len(people))
            missed.append(label == 1 and assigned.carrier < 0)
            for pose, person in zip(people, assigned.people, strict=True):
                crop = mouth_crop(image, pose, spec)
                if crop is None or person is None:
                    continue
                person_label, category = person
                crops.append(crop)
                labels.append(person_label)
                categories.append(category)
                splits.append(row.split or "")
                image_index.append(index)
                scales.append(body_scale_px(pose))
    size = spec.size_px
    result = CropSet(
        crops=np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8),
        labels=np.asarray(labels, dtype=np.int64),
        categories=np.asarray(categories, dtype=np.str_),
        splits=np.asarray(splits, dtype=np.str_),
        image_index=np.asarray(image_index, dtype=np.int64),
        scales=np.asarray(scales, dtype=np.float64),
        image_paths=np.asarray([row.path for row in dataset.rows], dtype=np.str_),
        image_labels=np.asarray([1 if row.label == "positive" else 0 for row in dataset.rows], dtype=np.int64),
        image_categories=np.asarray([row.category for row in dataset.rows], dtype=np.str_),
        missed_positive=np.asarray(missed, dtype=np.bool_),
    )
    log.info(
        "%d crops (%d positive) from %d images; %d positive images lost by pose",
        len(result.labels),
        int(result.labels.sum()),
        len(dataset.rows),
        int(result.missed_positive.sum()),
    )
    if cache_dir is not None:
        result.save(cache_dir / f"crops-{cache_key(dataset, spec)}.npz")
    return result


def _negative_clip_crops(
    dataset: Dataset, row: LabelRow, spec: CropSpec, poses: PoseCache
) -> list[tuple[NDArray[np.uint8], float]]:
    """Crops and body scales of everyone in every CLIP_FRAME_STEP-th frame of a negative clip; none for a positive."""
    if row.label == "positive":
        log.warning("%s: a positive clip does not say which frames show the balloon; left out of training", row.path)
        return []
    out = []
    for frame_number, (_, frame) in enumerate(read_clip(dataset.image_path(row))):
        if frame_number % CLIP_FRAME_STEP:
            continue
        for pose in poses.poses(frame):
            crop = mouth_crop(frame, pose, spec)
            if crop is not None:
                out.append((crop, body_scale_px(pose)))
    return out


def crops_for(root: Path, spec: CropSpec, cache_dir: Path | None, pose_workers: int = 1) -> CropSet:
    """Load a dataset folder (provenance required) and cut its crops."""
    return cut_crops(load_dataset(root), spec, cache_dir, pose_workers)
