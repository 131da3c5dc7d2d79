"""Helpers for the training tests, imported by this unique module name: the demo balloon composite and clips."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from detector.pose.estimator import ImageBGR
from training.dataset import Provenance, SourceProvenance, write_provenance
from training.frontend import PoseCache, read_image
from training.synth.composite import composite_balloon, sprite_cutout
from training.synth.placement import person_from_pose
from training.synth.rendered import render_balloon

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "nitrosignal" / "assets" / "demo_person.jpg"


def demo_with_balloon(
    colour: tuple[int, int, int] = (230, 30, 40), angle: float = 180.0, width: float = 0.45
) -> ImageBGR:
    """The demo photo with a rendered balloon pasted at the mouth of its largest person."""
    image = read_image(DEMO)
    with PoseCache(None) as poses:
        person = max((person_from_pose(p) for p in poses.poses(image)), key=lambda p: p.scale)
    sprite = render_balloon(int(person.scale * width * 1.5), colour, np.random.default_rng(1))
    return composite_balloon(image, sprite_cutout(sprite, "test"), person.mouth, person.scale * width, angle, 0.4)


def write_clip(path: Path, frames: list[ImageBGR], fps: float = 10.0) -> Path:
    """An MJPG clip of the given frames (all of one size)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def balloon_photo(rng: np.random.Generator, path: Path) -> tuple[int, int, int, int]:
    """A 400x300 photo with a rendered balloon on a noisy gradient; returns its box."""
    background = np.linspace(60, 200, 400, dtype=np.float32)[None, :, None] * np.ones((300, 1, 3), np.float32)
    background += rng.normal(0, 12, background.shape)
    sprite = render_balloon(120, (220, 30, 40), rng)
    h, w = sprite.shape[:2]
    y0, x0 = 60, 140
    alpha = sprite[..., 3:4].astype(np.float32) / 255.0
    region = background[y0 : y0 + h, x0 : x0 + w]
    background[y0 : y0 + h, x0 : x0 + w] = alpha * sprite[..., 2::-1] + (1 - alpha) * region
    cv2.imwrite(str(path), np.clip(background, 0, 255).astype(np.uint8))
    return x0, y0, x0 + w, y0 + h


def write_balloon_folder(folder: Path, count: int, seed: int = 7) -> None:
    """Balloon photos (rendered balloons: no licence-free real one can ship) and their Matterport-format boxes."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines = ["fname,height,width,bbox,num_balloons"]
    for index in range(count):
        x0, y0, x1, y1 = balloon_photo(rng, folder / f"rendered_{index}.jpg")
        box = f"[{{'xmin': {x0}, 'ymin': {y0}, 'xmax': {x1}, 'ymax': {y1}}}]"
        lines.append(f'rendered_{index}.jpg,300,400,"{box}",1')
    (folder / "boxes.csv").write_text("\n".join(lines) + "\n")


def made_source(name: str, origin: str, paths: tuple[str, ...]) -> SourceProvenance:
    """Provenance of material the tests make themselves."""
    return SourceProvenance(
        name=name,
        origin=origin,
        licence="test material",
        legal_basis="made by the test",
        collected="generated",
        paths=paths,
    )


def write_manifest(path: Path, *sources: SourceProvenance) -> Path:
    """A provenance manifest (dataset.yaml format) with the given sources."""
    write_provenance(path, Provenance(name=path.stem, sources=sources))
    return path
