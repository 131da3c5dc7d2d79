"""Why a synthetic positive was missed: each stage of the front end and the classifier named in turn."""

from __future__ import annotations

import pytest

from training.crops import CARRIER_MATCH_SCALES
from training.misses import SHIFT_SCALES, MissedPositive, count_reasons, miss_reason

TARGET = (200.0, 100.0)
SCALE = 100.0


@pytest.mark.parametrize(
    ("mouths", "scales", "gated", "reason", "shift"),
    [
        ([], [], [], "no_person", None),
        # Only a far-away person: pose lost the carrier.
        ([(200.0 + (CARRIER_MATCH_SCALES + 0.2) * SCALE, 100.0)], [SCALE], [0], "carrier_lost", None),
        # Someone at the pasted mouth but of another size: a bystander, not the carrier.
        ([(200.0, 100.0)], [SCALE / 3], [0], "carrier_lost", None),
        # The carrier found, with the face pulled half a body scale down onto the balloon.
        ([(200.0, 150.0)], [SCALE], [0], "carrier_shifted", 0.5),
        ([(200.0, 100.0 + (SHIFT_SCALES + 0.01) * SCALE)], [SCALE], [0], "carrier_shifted", SHIFT_SCALES + 0.01),
        # In place, but the gate does not let the classifier run for them.
        ([(205.0, 100.0)], [SCALE], [], "not_gated", 0.05),
        # In place and gated; a bystander elsewhere does not matter: the classifier scored them low.
        ([(600.0, 100.0), (200.0, 110.0)], [SCALE, SCALE], [1, 0], "low_score", 0.1),
    ],
)
def test_miss_reason_names_the_first_stage_that_lost_the_positive(
    mouths: list[tuple[float, float]], scales: list[float], gated: list[int], reason: str, shift: float | None
) -> None:
    got_reason, got_shift = miss_reason(mouths, scales, gated, TARGET, SCALE)
    assert got_reason == reason
    assert got_shift == (None if shift is None else pytest.approx(shift))


def test_reasons_are_counted_in_pipeline_order_with_zeros() -> None:
    missed = [
        MissedPositive(path="a.jpg", score=0.1, reason="low_score", mouth_shift_scales=0.0),
        MissedPositive(path="b.jpg", score=0.0, reason="no_person"),
        MissedPositive(path="c.jpg", score=0.2, reason="low_score", mouth_shift_scales=0.1),
    ]
    assert list(count_reasons(missed).items()) == [
        ("no_person", 1),
        ("carrier_lost", 0),
        ("carrier_shifted", 0),
        ("not_gated", 0),
        ("low_score", 2),
    ]
