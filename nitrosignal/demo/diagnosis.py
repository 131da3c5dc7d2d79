"""What the demo says when an alert does not go all the way: how fast the detector ran, and which part stopped.

A demo that fails with only "no complete alert path" leaves the user guessing. The detector's own metrics
registry says how many frames it analysed; from that and the missing steps this module names the cause:
a machine too slow to analyse the clip in real time, a detector that never started looking, an alert
that was detected but not sent, a platform that did not store it, or a live stream that did not carry it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class _Registry(Protocol):
    def get_sample_value(self, name: str) -> float | None: ...


class _Metrics(Protocol):
    @property
    def registry(self) -> _Registry: ...


class _Runtime(Protocol):
    @property
    def metrics(self) -> _Metrics: ...


@dataclass(frozen=True)
class DetectorProgress:
    """How far the detector got on the demo clip.

    Attributes:
        elapsed_s: seconds since the detector thread started (model loading included).
        frames_analysed: frames that went through mask and motion gate.
        frames_posed: frames on which pose and the classifier ran.
        clip_frames: frames in one pass of the clip.
        clip_fps: the clip's frames per second.
    """

    elapsed_s: float
    frames_analysed: int
    frames_posed: int
    clip_frames: int
    clip_fps: int

    @classmethod
    def read(cls, runtime: _Runtime, elapsed_s: float, *, clip_frames: int, clip_fps: int) -> DetectorProgress:
        """Read the running detector's counters from its own metrics registry."""
        registry = runtime.metrics.registry
        return cls(
            elapsed_s=elapsed_s,
            frames_analysed=int(registry.get_sample_value("nitrosignal_frames_processed_total") or 0),
            frames_posed=int(registry.get_sample_value("nitrosignal_frames_posed_total") or 0),
            clip_frames=clip_frames,
            clip_fps=clip_fps,
        )

    @property
    def analysed_per_s(self) -> float:
        """Frames analysed per second of wall time."""
        return self.frames_analysed / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def clip_passes(self) -> float:
        """How many times the analysed frames would cover the clip."""
        return self.frames_analysed / self.clip_frames if self.clip_frames else 0.0

    def describe(self) -> str:
        """One line for the user: frames, rate and passes."""
        return (
            f"analysed {self.frames_analysed} frames ({self.frames_posed} with pose) in {self.elapsed_s:.0f} s: "
            f"{self.analysed_per_s:.1f} per second against the clip's {self.clip_fps}, "
            f"{self.clip_passes:.1f} passes of the clip"
        )


def explain_failure(
    missing: Sequence[str], progress: DetectorProgress, *, platform_log: Path, needed_per_s: float
) -> list[str]:
    """Lines that say what was slow or what stopped, for the steps still ``missing``.

    Args:
        missing: the alert path's steps not seen, in path order.
        progress: the detector's counters when the demo gave up.
        platform_log: where the platform's log is, to point the user at it.
        needed_per_s: analysed frames per second the confirmation needs while the balloon is at the mouth.
    """
    lines = [f"the detector {progress.describe()}"]
    if "detected" in missing:
        if progress.frames_analysed == 0:
            lines.append(
                "the detector analysed no frame: it never started looking (see its state above: a model that "
                "failed to load, or a camera the platform keeps gated)"
            )
        elif progress.analysed_per_s < needed_per_s:
            lines.append(
                f"this machine is too slow or too busy: confirming the balloon needs about {needed_per_s:.1f} "
                f"analysed frames per second while it is at the mouth; try again on a quieter machine, with "
                f"--headless (every frame, no real-time pace), or with a longer --timeout"
            )
        else:
            lines.append(
                "the detector analysed enough frames but did not confirm the balloon in any pass of the clip: "
                "its pose or classifier did not find the person (run `nitrosignal detector score` on the clip)"
            )
    elif "queued" in missing or "sent" in missing:
        lines.append("the alert was detected but not sent: the outbox or the link to the platform failed (see above)")
    elif "stored" in missing or "acked" in missing:
        lines.append(f"the platform did not store or acknowledge the alert: see {platform_log}")
    elif "streamed" in missing:
        lines.append("the platform stored the alert, but the officer's live stream did not carry it")
    return lines
