"""The detector's own front end (pose and mouth crop), imported, never copied, plus a disk cache of poses.

Training must see people exactly as the detector does, so poses come from
``detector.pose.estimator.PoseEstimator`` and crops from ``detector.evidence.crop.mouth_crop``. Still photos
are analysed in the estimator's ``image`` mode (each photo independent, tiles always scanned), as the
detector's score command does. Poses are cached on disk under a work folder outside the repository, keyed
by the image bytes and the pose settings, because pose is the slow part and synth, crops and evaluate all
need it.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from detector.evidence.crop import DEFAULT_CROP_SPEC, mouth_crop, to_model_input
from detector.evidence.geometry import body_scale_px, mouth_point
from detector.pose.estimator import ImageBGR, PersonPose, PoseEstimator
from detector.score import still_photo_pose
from detector.settings import PoseSettings

__all__ = [
    "DEFAULT_CROP_SPEC",
    "PoseCache",
    "body_scale_px",
    "default_pose_workers",
    "mouth_crop",
    "mouth_point",
    "read_image",
    "still_pose_settings",
    "to_model_input",
]

log = logging.getLogger(__name__)

# The landmarks of every person in a photo, (people, 33, 3), as the cache stores them.
Landmarks = NDArray[np.float64]


def still_pose_settings() -> PoseSettings:
    """Pose settings for still photos, exactly as ``detector score`` analyses them.

    The detector's defaults with every tile scanned on every photo, so each photo is analysed on its own
    (no round-robin tile state carried from one photo to the next).
    """
    return still_photo_pose(PoseSettings())


def read_image(path: Path) -> ImageBGR:
    """Read a photo as BGR uint8, loudly failing on unreadable files."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(image)


def default_pose_workers() -> int:
    """Processes for filling the pose cache: one per CPU this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


# Photos per fresh estimator when filling the cache: small enough to share out evenly over a few processes,
# large enough that building the landmarkers (a fraction of a second) does not matter.
PREFETCH_CHUNK = 32


def _analyse_chunk(cache_dir: Path, settings_json: str, paths: Sequence[Path]) -> list[tuple[str, Landmarks]]:
    # A fresh estimator for every chunk, in whichever process runs it. Every photo of the chunk is analysed in
    # order, cached or not, so the estimator's history, and with it every pose, depends on the chunk alone.
    # The poses come back once per image; the parent alone decides what is stored, in chunk order.
    cache = PoseCache(cache_dir, PoseSettings.model_validate_json(settings_json))
    images = [read_image(path) for path in paths]
    keys = [image_key(image) for image in images]
    if all(cache.is_cached(key) for key in keys):
        return []
    found: dict[str, Landmarks] = {}
    with PoseEstimator(cache.settings) as estimator:
        for key, image in zip(keys, images, strict=True):
            found.setdefault(key, _stack(estimator.estimate(image)))
    return list(found.items())


def image_key(image: ImageBGR) -> str:
    """The cache key of a photo: its pixels' sha256 and its size."""
    return hashlib.sha256(image.tobytes()).hexdigest() + f"-{image.shape[0]}x{image.shape[1]}"


def _stack(poses: Sequence[PersonPose]) -> Landmarks:
    return np.stack([p.landmarks for p in poses]) if poses else np.zeros((0, 33, 3))


class PoseCache:
    """Poses per image from the detector's estimator, cached as ``.npy`` files keyed by content.

    Args:
        cache_dir: Folder for the cache (outside the repository), or None for no disk cache.
        settings: Pose settings; part of the cache key.
    """

    def __init__(self, cache_dir: Path | None, settings: PoseSettings | None = None) -> None:
        self.settings = settings or still_pose_settings()
        key = hashlib.sha256(self.settings.model_dump_json().encode()).hexdigest()[:12]
        self._cache_dir = cache_dir
        self._dir = cache_dir / f"poses-{key}" if cache_dir is not None else None
        self._estimator: PoseEstimator | None = None

    def _get_estimator(self) -> PoseEstimator:
        if self._estimator is None:
            self._estimator = PoseEstimator(self.settings)
        return self._estimator

    def _path(self, key: str) -> Path | None:
        return self._dir / key[:2] / f"{key}.npy" if self._dir is not None else None

    def is_cached(self, key: str) -> bool:
        """Whether the poses of the photo with this :func:`image_key` are on disk."""
        path = self._path(key)
        return path is not None and path.is_file()

    def _store(self, key: str, stacked: Landmarks) -> None:
        path = self._path(key)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of this process's own: two processes storing the same photo must not move each other's file.
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        np.save(tmp, stacked)
        tmp.replace(path)

    def poses(self, image: ImageBGR) -> list[PersonPose]:
        """All people found in ``image`` (cached by the image's pixels)."""
        key = image_key(image)
        path = self._path(key)
        if path is not None and path.is_file():
            return [PersonPose(landmarks=landmarks) for landmarks in np.load(path)]
        poses = self._get_estimator().estimate(image)
        self._store(key, _stack(poses))
        return poses

    def prefetch(self, paths: Sequence[Path], workers: int, chunk: int = PREFETCH_CHUNK) -> None:
        """Compute and cache the poses of ``paths`` before they are read in order, in ``workers`` processes.

        Pose is the slow part of cutting crops and runs on about one core. MediaPipe's landmarker is not
        stateless (a photo's people can depend on the photos it analysed before, see TRAINING.md), so every
        run of ``chunk`` consecutive photos is analysed in order by a fresh estimator, whichever process runs
        it, cached photos included. The cached poses are therefore the same for any number of workers, one
        included. A chunk whose photos are all cached is not analysed again. A photo that occurs more than
        once keeps the poses of its first chunk, and only this process writes, in chunk order. Without a disk
        cache this does nothing, and :meth:`poses` computes them in turn.
        """
        if self._cache_dir is None or not paths:
            return
        chunks = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
        settings = self.settings.model_dump_json()
        done: dict[int, list[tuple[str, Landmarks]]] = {}
        written = 0

        def store_in_order() -> None:
            # A photo that occurs in two chunks keeps the poses of the first chunk, however the work was shared.
            nonlocal written
            while written in done:
                for key, stacked in done.pop(written):
                    if not self.is_cached(key):
                        self._store(key, stacked)
                written += 1

        with tqdm(total=len(paths), desc="pose", unit="img") as progress:
            if workers <= 1:
                for index, part in enumerate(chunks):
                    done[index] = _analyse_chunk(self._cache_dir, settings, part)
                    store_in_order()
                    progress.update(len(part))
                return
            # spawn, not fork: the parent may hold MediaPipe and torch threads, which fork does not copy.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = {
                    pool.submit(_analyse_chunk, self._cache_dir, settings, part): i for i, part in enumerate(chunks)
                }
                for future in as_completed(futures):
                    index = futures[future]
                    done[index] = future.result()
                    store_in_order()
                    progress.update(len(chunks[index]))

    def close(self) -> None:
        """Release the MediaPipe landmarkers."""
        if self._estimator is not None:
            self._estimator.close()
            self._estimator = None

    def __enter__(self) -> PoseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
