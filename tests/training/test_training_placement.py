"""Which people may carry a composite: only those whose face (and so mouth position) pose is sure of."""

from __future__ import annotations

import pytest

from training.synth.placement import Person, is_good_target

SHAPE = (480, 640, 3)


def _person(**changes: object) -> Person:
    base: dict[str, object] = {
        "mouth": (320.0, 200.0),
        "scale": 100.0,
        "hands": (),
        "mouth_visibility": 0.9,
        "face_visibility": 0.9,
    }
    base.update(changes)
    return Person(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "person", "good"),
    [
        ("clear face, big enough, inside the photo", _person(), True),
        ("mouth hidden", _person(mouth_visibility=0.3), False),
        ("eyes or nose hidden: the mouth position is a guess", _person(face_visibility=0.3), False),
        ("too small", _person(scale=10.0), False),
        ("mouth at the photo's edge", _person(mouth=(5.0, 200.0)), False),
    ],
)
def test_is_good_target(case: str, person: Person, good: bool) -> None:
    assert is_good_target(person, SHAPE, min_scale_px=24.0) is good, case
