"""Who gets which label in an image: carrier, bystanders, and people left out because their crop is ambiguous."""

from __future__ import annotations

import pytest

from training.crops import BYSTANDER, label_people

POS, NEG = 1, 0
# Three people on a row, 100 px body scale each: the carrier at x=100, a neighbour at 250, someone far at 600.
MOUTHS = [(100.0, 100.0), (250.0, 100.0), (600.0, 100.0)]
SCALES = [100.0, 100.0, 100.0]


@pytest.mark.parametrize(
    ("case", "mouths", "scales", "label", "target", "carrier", "expected"),
    [
        (
            "positive composite: carrier, neighbour left out, far person a bystander",
            MOUTHS,
            SCALES,
            POS,
            (105.0, 100.0),
            0,
            [(POS, "balloon_at_mouth"), None, (NEG, BYSTANDER)],
        ),
        (
            "carrier whose face pose moved onto the balloon (0.6 body scales) is still the carrier",
            MOUTHS,
            SCALES,
            POS,
            (160.0, 100.0),
            0,
            [(POS, "balloon_at_mouth"), None, (NEG, BYSTANDER)],
        ),
        (
            "carrier moved beyond 0.9 body scales: not matched, and nobody near is taught as a negative",
            MOUTHS,
            SCALES,
            POS,
            (100.0, 200.0),
            -1,
            [None, (NEG, BYSTANDER), (NEG, BYSTANDER)],
        ),
        (
            "a much smaller person near the composite is not taken for its carrier",
            [(150.0, 100.0), (600.0, 100.0)],
            [30.0, 100.0],
            POS,
            (100.0, 100.0),
            -1,
            [None, (NEG, BYSTANDER)],
        ),
        (
            "negative composite: the carrier keeps the look-alike's category, everyone else a bystander",
            MOUTHS,
            SCALES,
            NEG,
            (105.0, 100.0),
            0,
            [(NEG, "balloon_at_mouth"), (NEG, BYSTANDER), (NEG, BYSTANDER)],
        ),
        (
            "real negative: everyone carries the image's label",
            MOUTHS,
            SCALES,
            NEG,
            None,
            -1,
            [(NEG, "balloon_at_mouth")] * 3,
        ),
        ("real positive with one person", MOUTHS[:1], SCALES[:1], POS, None, 0, [(POS, "balloon_at_mouth")]),
        ("real positive with several people: unknown who, all left out", MOUTHS, SCALES, POS, None, -1, [None] * 3),
        ("composite where pose finds nobody", [], [], POS, (105.0, 100.0), -1, []),
    ],
)
def test_label_people(
    case: str,
    mouths: list[tuple[float, float]],
    scales: list[float],
    label: int,
    target: tuple[float, float] | None,
    carrier: int,
    expected: list[tuple[int, str] | None],
) -> None:
    result = label_people(mouths, scales, label, "balloon_at_mouth", target, 100.0 if target else None)
    assert result.carrier == carrier, case
    assert result.people == expected, case
