"""Tunable settings of the detector's vision stages: pose, per-person evidence, confirmation and zones.

Every model forbids unknown keys so that a typo in a camera's YAML is an error, not a silently ignored
value. ``Field(description=...)`` is the user documentation of each knob; the device-runtime config embeds
``AnalysisSettings`` and a list of ``ZoneSettings``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from nitrosignal.strict import StrictModel
from nitrosignal.wire.messages import ZoneName


class PoseSettings(StrictModel):
    """Multi-person pose estimation with MediaPipe's Tasks PoseLandmarker."""

    num_poses: int = Field(default=4, ge=1, le=16, description="Most people the pose model reports per pass.")
    analysis_width: int = Field(
        default=640,
        ge=160,
        le=3840,
        description="Frames wider than this are downscaled to this width before the full-frame pose pass; "
        "landmarks are mapped back to the original pixels.",
    )
    running_mode: Literal["image", "video"] = Field(
        default="image",
        description="'image' analyses every frame independently with one pose graph. 'video' smooths landmarks "
        "between frames and skips the person detector only while all num_poses people are tracked; it needs a "
        "second pose graph (~145 MB) for tiles and measured no faster with fewer people than num_poses.",
    )
    tile_grid: tuple[int, int] = Field(
        default=(2, 1),
        description="Columns and rows of the overlapping tiles scanned for small, distant people "
        "(at the tile's full resolution). (1, 1) disables tiling.",
    )
    tile_overlap: float = Field(
        default=0.2, ge=0.0, lt=0.5, description="Fraction of a tile's side shared with its neighbour."
    )
    tile_every_n_frames: int = Field(
        default=6,
        ge=0,
        description="Scan tiles every N analysed frames (0 = never, 1 = every frame).",
    )
    tiles_per_scan: Literal["one", "all"] = Field(
        default="one",
        description="'one' scans a single tile per scan, round-robin, which spreads the cost evenly over frames "
        "(live video); 'all' scans every tile each time (still photos).",
    )
    track_regions: bool = Field(
        default=False,
        description="Re-analyse, every frame, a region around each small person found in a tile until they are "
        "lost. Finds small people on every frame instead of every few frames, at about one extra pose pass per "
        "small person per frame.",
    )
    min_detection_confidence: float = Field(
        default=0.3,
        ge=0.0,
        le=1.0,
        description="Minimum person-detector score for a pose to start. Low on purpose: a balloon held at the "
        "lips hides the lower face the detector keys on, and the classifier, not this score, decides.",
    )
    min_presence_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Minimum pose presence score to keep tracking a person."
    )
    min_tracking_confidence: float = Field(
        default=0.5, ge=0.0, le=1.0, description="Minimum tracking score before the detector runs again (video)."
    )
    min_landmark_visibility: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Hand landmarks need at least this visibility to count for the hand-at-mouth gate. 0 also "
        "counts where the pose model puts a hidden hand: a balloon at the lips often hides the hand that holds "
        "it, so the classifier, not visibility, decides (measured: 15 of 105 eval positives were never classified "
        "at 0.5).",
    )
    duplicate_iou: float = Field(
        default=0.4,
        gt=0.0,
        le=1.0,
        description="Poses from different tiles whose landmark boxes overlap more than this are one person.",
    )

    @field_validator("tile_grid")
    @classmethod
    def _grid_positive(cls, value: tuple[int, int]) -> tuple[int, int]:
        if value[0] < 1 or value[1] < 1 or value[0] * value[1] > 16:
            raise ValueError(f"tile_grid must be (columns, rows) each >= 1 and at most 16 tiles, got {value}")
        return value


class EvidenceSettings(StrictModel):
    """Per-person evidence: hand at mouth (geometry) and balloon at mouth (classifier)."""

    hand_mouth_max_ratio: float = Field(
        default=1.75,
        gt=0.0,
        le=5.0,
        description="The classifier runs only for people whose nearest visible hand is at most this many body "
        "scales (shoulder widths) from the mouth. Generous on purpose: a balloon at the lips often hides the hand "
        "holding it, and the pose model then places that hand too low.",
    )
    min_body_scale_px: float = Field(
        default=12.0,
        gt=0.0,
        description="People whose body scale (shoulder width) is smaller than this many pixels are too small "
        "to judge; they get no evidence.",
    )
    classifier_threads: int = Field(
        default=1,
        ge=1,
        le=16,
        description="onnxruntime intra-op threads for the classifier. One is fastest next to MediaPipe's own "
        "threads on a 2-core device (two measured 3x slower per call on a loaded 2-core machine).",
    )
    classify_every_n_frames: int = Field(
        default=3,
        ge=1,
        le=30,
        description="A tracked person is classified when they newly reach the gate, then every N analysed frames "
        "while their hand stays near the mouth; in between their last score is carried forward. 1 classifies "
        "every gated person on every frame.",
    )
    max_classified_people: int = Field(
        default=8, ge=1, le=64, description="Most people classified per frame (closest hand-to-mouth first)."
    )


class ConfirmSettings(StrictModel):
    """Temporal confirmation of per-frame evidence into incidents with a new/update/end lifecycle."""

    window_frames: int = Field(default=15, ge=1, le=600, description="M: recent analysed frames per track considered.")
    required_frames: int = Field(
        default=9, ge=1, le=600, description="N: frames of M whose balloon score must reach alert_threshold."
    )
    min_duration_s: float = Field(
        default=1.0, ge=0.0, le=60.0, description="Positive frames must span at least this long before an alert."
    )
    alert_threshold: float | None = Field(
        default=None,
        gt=0.0,
        le=1.0,
        description="Balloon-at-mouth probability at which a frame counts as positive; "
        "None uses the model card's threshold.",
    )
    track_cooldown_s: float = Field(
        default=120.0, ge=0.0, description="After an incident ends, its track(s) cannot start a new one for this long."
    )
    camera_cooldown_s: float = Field(
        default=30.0, ge=0.0, description="After an incident ends, no new incident on this camera for this long."
    )
    update_min_interval_s: float = Field(
        default=10.0, ge=0.0, description="At most one 'update' per incident per this many seconds."
    )
    end_after_quiet_s: float = Field(
        default=8.0, gt=0.0, description="An incident ends after this long without fresh positive evidence."
    )
    expires_after_s: float = Field(
        default=120.0, gt=0.0, description="expires_at = last news + this; the platform may auto-close after it."
    )
    max_incident_s: float = Field(
        default=300.0,
        gt=0.0,
        description="An incident is ended after this long even if evidence continues, so a person who stands "
        "still cannot alert forever; its tracks then sit in cooldown.",
    )
    track_max_gap_s: float = Field(
        default=2.0, gt=0.0, description="A track not seen for this long is forgotten (its id is never reused)."
    )
    track_match_ratio: float = Field(
        default=1.5,
        gt=0.0,
        description="A person matches a track when their anchor moved less than this many body scales.",
    )

    @model_validator(mode="after")
    def _n_of_m(self) -> ConfirmSettings:
        if self.required_frames > self.window_frames:
            raise ValueError(
                f"required_frames (N={self.required_frames}) must not exceed window_frames (M={self.window_frames})"
            )
        if self.end_after_quiet_s >= self.expires_after_s:
            raise ValueError(
                f"expires_after_s ({self.expires_after_s}) must exceed end_after_quiet_s ({self.end_after_quiet_s})"
            )
        return self


class ZoneSettings(StrictModel):
    """A named zone: a polygon in normalised image coordinates (0..1). Only its name ever leaves the device."""

    name: ZoneName
    polygon: list[tuple[float, float]] = Field(
        min_length=3, description="At least three (x, y) points, each coordinate normalised to 0..1."
    )

    @field_validator("polygon")
    @classmethod
    def _normalised(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for index, (x, y) in enumerate(value):
            if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
                raise ValueError(f"polygon point {index} must be normalised to 0..1, got ({x}, {y})")
        return value


class AnalysisSettings(StrictModel):
    """Everything the per-frame analysis and the confirmer need, grouped."""

    pose: PoseSettings = Field(default_factory=PoseSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)
    confirm: ConfirmSettings = Field(default_factory=ConfirmSettings)
