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


def _fill(cache_dir: Path, settings_json: str, paths: Sequence[Path]) -> int:
    # A fresh estimator for every chunk, in whichever process runs it, writing into the shared on-disk cache.
    with PoseCache(cache_dir, PoseSettings.model_validate_json(settings_json)) as cache:
        for path in paths:
            cache.poses(read_image(path))
    return len(paths)


class PoseCache:
    """Poses per image from the detector's estimator, cached as ``.npy`` files keyed by content.

    Args:
        cache_dir: Folder for the cache (outside the repository), or None for no disk cache.
        settings: Pose settings; part of the cache key.
    """

    def __init__(self, cache_dir: Path | None, settings: PoseSettings | None = None) -> None:
        self._settings = settings or still_pose_settings()
        key = hashlib.sha256(self._settings.model_dump_json().encode()).hexdigest()[:12]
        self._cache_dir = cache_dir
        self._dir = cache_dir / f"poses-{key}" if cache_dir is not None else None
        self._estimator: PoseEstimator | None = None

    def _get_estimator(self) -> PoseEstimator:
        if self._estimator is None:
            self._estimator = PoseEstimator(self._settings)
        return self._estimator

    def poses(self, image: ImageBGR) -> list[PersonPose]:
        """All people found in ``image`` (cached by the image's pixels)."""
        digest = hashlib.sha256(image.tobytes()).hexdigest() + f"-{image.shape[0]}x{image.shape[1]}"
        path = self._dir / digest[:2] / f"{digest}.npy" if self._dir is not None else None
        if path is not None and path.is_file():
            array = np.load(path)
            return [PersonPose(landmarks=landmarks) for landmarks in array]
        poses = self._get_estimator().estimate(image)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            stacked = np.stack([p.landmarks for p in poses]) if poses else np.zeros((0, 33, 3))
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, stacked)
            tmp.replace(path)
        return poses

    def prefetch(self, paths: Sequence[Path], workers: int, chunk: int = PREFETCH_CHUNK) -> None:
        """Compute and cache the poses of ``paths`` before they are read in order, in ``workers`` processes.

        Pose is the slow part of cutting crops and runs on about one core. MediaPipe's landmarker is not
        stateless (a photo's people can depend on the photos it analysed before, see TRAINING.md), so every
        run of ``chunk`` consecutive photos is analysed in order by a fresh estimator, whichever process runs
        it. The cached poses are therefore the same for any number of workers, one included. Without a disk
        cache this does nothing, and :meth:`poses` computes them in turn.
        """
        if self._cache_dir is None or not paths:
            return
        chunks = [paths[start : start + chunk] for start in range(0, len(paths), chunk)]
        settings = self._settings.model_dump_json()
        with tqdm(total=len(paths), desc="pose", unit="img") as progress:
            if workers <= 1:
                for part in chunks:
                    progress.update(_fill(self._cache_dir, settings, part))
                return
            # spawn, not fork: the parent may hold MediaPipe and torch threads, which fork does not copy.
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                futures = [pool.submit(_fill, self._cache_dir, settings, part) for part in chunks]
                for future in as_completed(futures):
                    progress.update(future.result())

    def close(self) -> None:
        """Release the MediaPipe landmarkers."""
        if self._estimator is not None:
            self._estimator.close()
            self._estimator = None

    def __enter__(self) -> PoseCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
