"""``nitrosignal train synth``: semi-synthetic positives and hard negatives from real photos, per seed.

Host photos of real people are measured with the detector's own pose; for each usable person several scenes
are composed (recipes in :mod:`training.synth.scenes`), each with its own generator seeded from
``(seed, photo, person, scene)``, so a rerun with the same seed writes the same dataset. Real photos of the
data folder are copied along as natural negatives (smoking, drinking, phone calls, people with balloons held
away). Provenance comes from the manifest of the source collection and travels to the output.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from detector.pose.estimator import ImageBGR
from training.dataset import (
    LABELS_FILE,
    DatasetError,
    LabelRow,
    Provenance,
    list_images,
    read_labels,
    read_provenance,
)
from training.frontend import PoseCache, read_image, still_pose_settings
from training.importers import Box, read_boxes
from training.synth.composite import Cutout, cut_balloon, degrade
from training.synth.placement import is_good_target, person_from_pose
from training.synth.scenes import POSITIVE_KINDS, RECIPES, Banks, Kind, hand_bank_from
from training.synth.writer import RENDERED_PROVENANCE, SynthMeta, SynthWriter, split_for

log = logging.getLogger(__name__)

SHARED_MANIFEST = Path(__file__).resolve().parent.parent / "sources" / "shared_data.yaml"
DEFAULT_WEIGHTS: dict[str, float] = {
    "balloon_at_mouth": 0.30,
    "rendered_balloon_at_mouth": 0.15,
    "balloon_held_away": 0.07,
    "balloon_on_string": 0.05,
    "balloon_above_head": 0.05,
    "balloon_beside_face": 0.09,
    "ball_at_mouth": 0.05,
    "cup_at_mouth": 0.05,
    "bottle_at_mouth": 0.05,
    "hand_at_mouth_no_balloon": 0.07,
    "no_object": 0.07,
}


class SynthConfig(BaseModel):
    """What synth builds; every field has a default that reproduces the shipped model's data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(default=0, description="Seed; the same seed and inputs give the same dataset.")
    hosts: tuple[str, ...] = Field(
        default=("people", "hand_at_mouth", "balloon_people"),
        description="Sub-folders of the data folder whose people carry composites.",
    )
    balloons: str = Field(default="balloons", description="Sub-folder with balloon photos and their boxes.csv.")
    scenes_per_person: int = Field(
        default=30,
        ge=1,
        le=64,
        description="Scenes composed per usable person. More host and balloon pairings is what has raised eval "
        "AP most reliably: 10 to 20 by about 0.05 (compact CNN, two seeds), 20 to 30 by 0.02 with recall "
        "0.68 to 0.74 (EfficientNet-Lite0), for proportionally more crops and training time. 40 gave no more "
        "(AP 0.92, recall 0.67, real FPR 2.03 %; TRAINING.md).",
    )
    hand_near_mouth_factor: int = Field(
        default=2,
        ge=1,
        le=8,
        description="People with a hand within 0.6 body scales of the mouth (the ones the detector classifies) "
        "carry this many times more scenes.",
    )
    max_people_per_photo: int = Field(default=3, ge=1, description="Usable people per photo that carry scenes.")
    max_side_px: int = Field(default=1280, ge=128, description="Host photos are shrunk to this longest side.")
    min_person_scale_px: float = Field(default=24.0, gt=0, description="Smallest body scale that carries a scene.")
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS), description="Scene mix.")
    include_real: bool = Field(default=True, description="Copy the folder's real photos along as negatives.")
    val_fraction: float = Field(default=0.15, ge=0.0, lt=1.0, description="Share of host photos held out as val.")
    max_hand_distance: float | None = Field(
        default=None,
        gt=0,
        description="Only people with a visible hand within this many body scales of the mouth carry scenes "
        "(the detector classifies only people whose hand is near the mouth; 0.6 is its default gate).",
    )
    limit_photos: int | None = Field(default=None, ge=1, description="Use at most this many host photos (tests).")
    balloon_variation: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Share of real balloons pasted with a random hue and stretched 0.85-1.25 along the axis "
        "(training.synth.composite.vary_balloon). Off: at 0.5 on 2.2.0's recipe, eval AP fell from 0.92 to 0.88 "
        "and recall from 0.74 to 0.52 (TRAINING.md).",
    )
    host_min_detection_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Person-detector score a host person needs. Stricter than the detector's own setting: a "
        "composite goes where pose puts the mouth, so only confidently found people carry one.",
    )


def real_labels(root: Path) -> list[LabelRow]:
    """Labels of a data folder: its ``labels.csv`` if any, else derived from the shared collection's layout.

    The layout rule: ``hand_at_mouth/<category>/...`` is a negative of that category, ``people/...`` is
    ``person_no_balloon`` and ``balloon_people/...`` is ``balloon_near_person`` (train holds no real positive).
    """
    if (root / LABELS_FILE).is_file():
        return read_labels(root / LABELS_FILE)
    rows = []
    for image in list_images(root):
        parts = image.relative_to(root).parts
        if parts[0] == "hand_at_mouth" and len(parts) > 2:
            category = parts[1]
        elif parts[0] == "people":
            category = "person_no_balloon"
        elif parts[0] == "balloon_people":
            category = "balloon_near_person"
        else:
            continue
        rows.append(LabelRow(path=image.relative_to(root).as_posix(), label="negative", category=category))
    return rows


def _shrink(image: ImageBGR, max_side: int) -> ImageBGR:
    factor = max_side / max(image.shape[:2])
    if factor >= 1.0:
        return image
    return np.ascontiguousarray(cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA))


def balloon_bank(root: Path, folder: str, provenance: Provenance, max_per_photo: int = 6) -> list[Cutout]:
    """Cut the whole balloons of ``root/folder`` (boxes from its boxes.csv), at most ``max_per_photo`` each."""
    boxes_path = root / folder / "boxes.csv"
    if not boxes_path.is_file():
        raise DatasetError(f"no balloon boxes at {boxes_path}")
    cutouts: list[Cutout] = []
    by_photo: dict[str, list[Box]] = {}
    for box in read_boxes(boxes_path):
        by_photo.setdefault(box.path, []).append(box)
    for name in sorted(by_photo):
        relative = f"{folder}/{name}"
        source = provenance.source_for(relative)
        if source is None:
            raise DatasetError(f"balloon photo {relative} has no provenance in the manifest")
        image = read_image(root / relative)
        kept = 0
        for box in by_photo[name]:
            if kept == max_per_photo:
                break
            cutout = cut_balloon(image, box, source=source.name)
            if cutout is not None:
                cutouts.append(cutout)
                kept += 1
    log.info("cut %d balloons from %d photos in %s", len(cutouts), len(by_photo), folder)
    return cutouts


def synthesise(root: Path, out: Path, config: SynthConfig, manifest: Path, cache_dir: Path | None) -> Provenance:
    """Build a semi-synthetic dataset from a data folder.

    Args:
        root: Data folder (for example the shared ``train/``) with host sub-folders and balloon boxes.
        out: Output dataset folder (created; must be empty or absent).
        config: What to build.
        manifest: Provenance manifest (``dataset.yaml`` format) covering the data folder's images.
        cache_dir: Pose cache folder outside the repository, or None.

    Returns:
        The provenance written to ``out/dataset.yaml``.
    """
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; synth writes a fresh dataset")
    provenance = read_provenance(manifest)
    balloons = balloon_bank(root, config.balloons, provenance)
    sources = {s.name: s for s in provenance.sources} | {RENDERED_PROVENANCE.name: RENDERED_PROVENANCE}
    writer = SynthWriter(
        out=out,
        name=f"synth-{root.name}-seed{config.seed}",
        sources=sources,
        derived_from=(str(manifest.name), root.name),
    )
    kinds = [k for k in config.weights if config.weights[k] > 0]
    unknown = set(kinds) - set(RECIPES)
    if unknown:
        raise ValueError(f"unknown scene kinds {sorted(unknown)}; known: {sorted(RECIPES)}")
    weights = np.array([config.weights[k] for k in kinds], dtype=np.float64)
    weights /= weights.sum()

    photos = [p for host in config.hosts for p in list_images(root / host)]
    if config.limit_photos is not None:
        photos = photos[: config.limit_photos]
    host_pose = still_pose_settings().model_copy(
        update={"min_detection_confidence": config.host_min_detection_confidence}
    )
    with PoseCache(cache_dir, host_pose) as poses:
        hosts = []
        hands: list[Cutout] = []
        for photo in tqdm(photos, desc="pose on hosts", unit="photo"):
            relative = photo.relative_to(root).as_posix()
            source = provenance.source_for(relative)
            if source is None:
                raise DatasetError(f"host photo {relative} has no provenance in {manifest}")
            image = _shrink(read_image(photo), config.max_side_px)
            people = [person_from_pose(p) for p in poses.poses(image)]
            usable = [p for p in people if is_good_target(p, image.shape, config.min_person_scale_px)]
            if config.max_hand_distance is not None:
                usable = [p for p in usable if p.nearest_hand()[1] <= config.max_hand_distance]
            usable = sorted(usable, key=lambda p: -p.scale)[: config.max_people_per_photo]
            for person in usable:
                hand = hand_bank_from(image, person, source.name)
                if hand is not None:
                    hands.append(hand)
            if usable:
                hosts.append((relative, source.name, image, usable))
        banks = Banks(balloons=balloons, hands=hands, balloon_variation=config.balloon_variation)
        log.info("%d host photos with usable people, %d real hands, %d balloons", len(hosts), len(hands), len(balloons))
        for photo_index, (relative, source_name, image, usable) in enumerate(tqdm(hosts, desc="compose", unit="photo")):
            split = split_for(relative, config.val_fraction)
            for person_index, person in enumerate(usable):
                near = person.nearest_hand()[1] <= 0.6
                for scene in range(config.scenes_per_person * (config.hand_near_mouth_factor if near else 1)):
                    rng = np.random.default_rng([config.seed, photo_index, person_index, scene])
                    kind: Kind = kinds[int(rng.choice(len(kinds), p=weights))]  # type: ignore[assignment]
                    result = RECIPES[kind](image, person, banks, rng)
                    label = "positive" if kind in POSITIVE_KINDS else "negative"
                    writer.add_composite(
                        degrade(result.image, rng),
                        LabelRow(path="pending", label=label, category=kind, split=split),
                        SynthMeta(
                            path="pending",
                            kind=kind,
                            host=relative,
                            target_mouth=person.mouth,
                            target_scale=person.scale,
                            objects=result.object_sources,
                        ),
                        source_name,
                        result.object_sources,
                    )
    if config.include_real:
        for row in real_labels(root):
            if row.label != "negative":
                continue  # real positives belong to evaluation, never copied into training data
            source = provenance.source_for(row.path)
            if source is None:
                raise DatasetError(f"real photo {row.path} has no provenance in {manifest}")
            split = row.split or split_for(row.path, config.val_fraction)
            writer.add_real(root / row.path, row.path, row.model_copy(update={"split": split}), source.name)
    return writer.finish(f"Semi-synthetic scenes from {root.name} (seed {config.seed}) plus its real negatives.")
