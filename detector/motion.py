"""Motion gate: skip the expensive pose stage when the scene is still.

The frame is reduced to a small blurred grey image and compared with a slowly updated background.
A change in global brightness (infrared switching on at dusk, headlights sweeping the street, a cloud)
moves every pixel at once; when the mean brightness jumps, the gate recalibrates its background instead
of reporting motion. Each comparison is also made after removing the mean, so gradual light changes do
not count either. To avoid missing someone who stands still while inhaling, pose keeps running for a
while after the last motion and at least every ``max_skip_s`` seconds. The tuning is
:class:`~detector.config.motion.MotionSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from detector.config.motion import MotionSettings


@dataclass(frozen=True)
class MotionDecision:
    """What the gate decided for one frame."""

    run_pose: bool
    motion: bool
    recalibrated: bool
    changed_fraction: float


class MotionGate:
    """Stateful gate; call :meth:`update` once per analysed frame with a monotonic timestamp."""

    def __init__(self, settings: MotionSettings) -> None:
        self._settings = settings
        self._background: npt.NDArray[np.float32] | None = None
        self._last_mean = 0.0
        self._last_motion_at = float("-inf")
        self._last_pose_at = float("-inf")

    def _reduce(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        # Subsample by striding first (a view, nearly free), then convert and blur the small image: the gate
        # must cost a small fraction of the pose model it saves, even on a 1280x720 frame.
        step = max(1, frame.shape[1] // self._settings.work_width)
        small = np.ascontiguousarray(frame[::step, ::step])
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        return cv2.GaussianBlur(grey, (5, 5), 0).astype(np.float32)

    def update(self, frame: npt.NDArray[np.uint8], now: float, *, people_seen: bool = False) -> MotionDecision:
        """Decide whether pose should run on this frame.

        Args:
            frame: the masked BGR (or grey) frame.
            now: monotonic seconds.
            people_seen: whether the previous analysis found anyone; keeps pose running while they stay.
        """
        settings = self._settings
        small = self._reduce(frame)
        mean = float(small.mean())
        if self._background is None or abs(mean - self._last_mean) > settings.brightness_jump:
            # First frame, or a global light change: start over rather than call the whole frame motion.
            recalibrated = self._background is not None
            self._background = small
            self._last_mean = mean
            return self._decide(now, motion=False, recalibrated=recalibrated, changed=0.0, people_seen=people_seen)
        background_mean = float(self._background.mean())
        diff = np.abs((small - mean) - (self._background - background_mean))
        changed = float(np.count_nonzero(diff > settings.pixel_threshold)) / diff.size
        cv2.accumulateWeighted(small, self._background, settings.background_alpha)
        self._last_mean = mean
        motion = changed >= settings.min_changed_fraction
        return self._decide(now, motion=motion, recalibrated=False, changed=changed, people_seen=people_seen)

    def _decide(
        self, now: float, *, motion: bool, recalibrated: bool, changed: float, people_seen: bool
    ) -> MotionDecision:
        settings = self._settings
        if motion:
            self._last_motion_at = now
        run_pose = (
            not settings.enabled
            or motion
            or people_seen
            or now - self._last_motion_at <= settings.hold_s
            or now - self._last_pose_at >= settings.max_skip_s
        )
        if run_pose:
            self._last_pose_at = now
        return MotionDecision(run_pose=run_pose, motion=motion, recalibrated=recalibrated, changed_fraction=changed)
