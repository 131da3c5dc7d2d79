"""Privacy masks in the running detector: a real ``detector run`` child never lets pose see a masked person.

Each case runs the observed detector (``privacy_harness``) on the same balloon clip as the session's
unmasked ``privacy_run``, with masks that together cover the whole frame in a way that one even-odd fill
would have left partly or wholly visible: two overlapping halves, the same mask twice, a mask inside
another. The probe inside the child reports every frame handed to pose: each must be black, pose must
find nobody in any of them, and no alert may reach the platform. The unmasked run, the control, sees the
person and alerts. Deleting the mask call in ``detector/runtime.py`` fails every case.

``frames_posed`` is not 0 even here: the motion gate deliberately runs pose on the first frame and then at
least every ``motion.max_skip_s`` seconds on a still scene, so those looks happen on black frames. What
matters, and is asserted, is what those looks saw.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from privacy_harness import PrivacyRun, run_probed_detector  # type: ignore[import-not-found]

from nitrosignal.wire import Alert, decode

WHOLE = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
MASK_SETS: dict[str, list[dict[str, Any]]] = {
    # Both halves reach over the person (x 0.17..1.0 in the clip), so the overlap holds face, hand and balloon.
    "overlapping": [
        {"name": "left", "polygon": [[0.0, 0.0], [0.75, 0.0], [0.75, 1.0], [0.0, 1.0]]},
        {"name": "right", "polygon": [[0.15, 0.0], [1.0, 0.0], [1.0, 1.0], [0.15, 1.0]]},
    ],
    "duplicate": [{"name": "street", "polygon": WHOLE}, {"name": "street-again", "polygon": WHOLE}],
    "nested": [
        {"name": "street", "polygon": WHOLE},
        {"name": "doorway", "polygon": [[0.1, 0.05], [0.95, 0.05], [0.95, 0.95], [0.1, 0.95]]},
    ],
}


def _alerts(run: PrivacyRun) -> list[Alert]:
    return [message for message in (decode(raw) for raw in run.messages) if isinstance(message, Alert)]


def test_without_masks_the_detector_poses_and_alerts_on_the_person(privacy_run: PrivacyRun) -> None:
    """The control: the same clip and setup without masks."""
    assert privacy_run.returncode == 0, privacy_run.stderr[-3000:]
    poses = privacy_run.of_kind("pose")
    assert sum(record["people"] > 0 for record in poses) >= len(poses) // 2
    assert _alerts(privacy_run)


@pytest.mark.parametrize("case", sorted(MASK_SETS))
def test_masks_over_the_person_keep_pose_from_ever_seeing_them(tmp_path: Path, case: str) -> None:
    def add_masks(data: dict[str, Any]) -> None:
        data["privacy_masks"] = MASK_SETS[case]

    run = run_probed_detector(tmp_path, add_masks)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.summary["frames_processed"] >= 30, run.summary  # the whole clip went through the pipeline
    poses = run.of_kind("pose")
    assert poses, "pose never ran, so this would prove nothing about what it sees"
    assert len(poses) == run.summary["frames_posed"]
    # Every frame pose got was black (masks cover the whole frame) and pose found nobody in it.
    assert [(record["brightest"], record["people"]) for record in poses] == [(0, 0)] * len(poses)
    assert _alerts(run) == []
    assert run.summary["alerts_queued"] == 0
