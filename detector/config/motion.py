"""Tuning of the motion gate in front of pose; :mod:`detector.motion` runs it."""

from __future__ import annotations

from pydantic import Field

from nitrosignal.strict import StrictModel


class MotionSettings(StrictModel):
    """Tuning of the motion gate."""

    enabled: bool = Field(default=True, description="Off: run pose on every analysed frame.")
    pixel_threshold: int = Field(default=18, ge=1, le=255, description="Grey-level change that counts as changed.")
    min_changed_fraction: float = Field(
        default=0.004, gt=0.0, le=1.0, description="Share of changed pixels that counts as motion."
    )
    brightness_jump: float = Field(
        default=20.0, gt=0.0, description="Mean grey-level jump that recalibrates instead of triggering."
    )
    background_alpha: float = Field(default=0.05, gt=0.0, le=1.0, description="Background update rate per frame.")
    hold_s: float = Field(default=3.0, ge=0.0, description="Keep running pose this long after the last motion.")
    max_skip_s: float = Field(default=2.0, gt=0.0, description="Run pose at least this often, even when still.")
    work_width: int = Field(default=160, ge=32, le=640, description="Width of the reduced image the gate compares.")
