"""Model loading: the sha256 must match the card next to the file, or the model is refused."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from detector.model import LoadedModel, ModelLoadError, default_model_path, load_model
from detector.models.build_baseline import build_baseline
from nitrosignal.modelcard import card_path_for, read_card


def _copy_shipped(tmp_path: Path) -> Path:
    target = tmp_path / default_model_path().name
    shutil.copyfile(default_model_path(), target)
    shutil.copyfile(card_path_for(default_model_path()), card_path_for(target))
    return target


def _intact(path: Path) -> None:
    return None


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _remove_card(path: Path) -> None:
    card_path_for(path).unlink()


def _card_for_other_file(path: Path) -> None:
    card = read_card(path).model_copy(update={"file_name": "other.pt"})
    card_path_for(path).write_text(card.model_dump_json(by_alias=True))


def _garbage_card(path: Path) -> None:
    card_path_for(path).write_text('{"schema": "nitrosignal.modelcard/1", "unexpected": 1}')


def _remove_model(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "expectation"),
    [
        (_intact, contextlib.nullcontext()),
        (_flip_a_byte, pytest.raises(ModelLoadError, match="sha256 of .* is [0-9a-f]{64}, but its card expects")),
        (_remove_card, pytest.raises(ModelLoadError, match="model card not found")),
        (_card_for_other_file, pytest.raises(ModelLoadError, match="describes 'other.pt'")),
        (_garbage_card, pytest.raises(ModelLoadError, match="not a valid nitrosignal.modelcard/1")),
        (_remove_model, pytest.raises(ModelLoadError, match="model file not found")),
    ],
)
def test_vision_load_model_checks_the_card(tmp_path: Path, damage: Callable[[Path], None], expectation: Any) -> None:
    path = _copy_shipped(tmp_path)
    damage(path)
    with expectation:
        model = load_model(path)
        assert model.card.sha256 == read_card(path).sha256


def test_vision_shipped_model_is_the_documented_classifier(shipped_model: LoadedModel) -> None:
    card = shipped_model.card
    assert card.id == "balloon-at-mouth" and card.file_name == default_model_path().name
    size = card.input.size_px
    scores = shipped_model.predict(torch.zeros((2, 3, size, size)))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


@pytest.mark.parametrize(
    ("batch", "side_delta", "channels", "expectation"),
    [
        (0, 0, 3, contextlib.nullcontext()),
        (4, 0, 3, contextlib.nullcontext()),
        (4, -8, 3, pytest.raises(ValueError, match=r"must have shape \(N, 3, \d+, \d+\), got \(4, 3, ")),
        (4, 0, 1, pytest.raises(ValueError, match=r"got \(4, 1, ")),
    ],
)
def test_vision_predict_validates_batches(
    shipped_model: LoadedModel, batch: int, side_delta: int, channels: int, expectation: Any
) -> None:
    side = shipped_model.card.input.size_px + side_delta
    with expectation:
        assert shipped_model.predict(torch.zeros((batch, channels, side, side))).shape == (batch,)


def test_vision_baseline_build_is_reproducible(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build_baseline(tmp_path / "a" / "balloon-at-mouth.pt")
    second = build_baseline(tmp_path / "b" / "balloon-at-mouth.pt")
    assert first is not None and second is not None
    assert first.sha256 == second.sha256 and first.baseline
    assert load_model(tmp_path / "a" / "balloon-at-mouth.pt").card == first


def test_vision_baseline_scores_a_balloon_over_the_mouth_above_skin(tmp_path: Path) -> None:
    """The heuristic's intent: a smooth vivid disc at the crop centre scores high, flat skin tone low."""
    (tmp_path / "m").mkdir()
    model = load_model(_built(tmp_path / "m" / "balloon-at-mouth.pt"))
    size = model.card.input.size_px
    mean = torch.tensor(model.card.input.mean).view(1, 3, 1, 1)
    std = torch.tensor(model.card.input.std).view(1, 3, 1, 1)
    skin = torch.tensor([0.80, 0.60, 0.50]).view(1, 3, 1, 1).expand(1, 3, size, size)
    balloon = skin.clone()
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    # A red balloon over the lips and below them, leaving the nose (the skin reference) uncovered.
    disc = ((xx - size * 0.5) ** 2 + (yy - size * 0.56) ** 2) < (size * 0.22) ** 2
    balloon[0, :, disc] = torch.tensor([0.9, 0.1, 0.2]).view(3, 1)
    # The same disc in the person's own skin colour is not a balloon.
    own_skin = skin.clone()
    own_skin[0, :, disc] = torch.tensor([0.82, 0.62, 0.52]).view(3, 1)
    batch = torch.cat([skin, balloon, own_skin])
    scores = model.predict((batch - mean) / std)
    threshold = model.card.threshold
    assert scores[0] < 0.1 and scores[1] > threshold and scores[2] < 0.1


def _built(path: Path) -> Path:
    build_baseline(path)
    return path


@pytest.mark.parametrize("onednn_before", [True, False])
def test_predict_runs_without_onednn_and_restores_the_switch(onednn_before: bool) -> None:
    # oneDNN JIT-compiles into W+X memory (forbidden by the unit's MemoryDenyWriteExecute); the switch is
    # process-wide, so predict must hand it back as it found it.
    seen: list[bool] = []

    class Recording(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(torch._C._get_mkldnn_enabled())
            return torch.full((x.shape[0],), 0.5)

    card = read_card(default_model_path())
    model = LoadedModel(module=Recording(), card=card)  # type: ignore[arg-type]
    previous = torch._C._get_mkldnn_enabled()
    torch._C._set_mkldnn_enabled(onednn_before)
    try:
        assert model.predict(torch.zeros(4, 3, card.input.size_px, card.input.size_px)).tolist() == [0.5] * 4
        assert torch._C._get_mkldnn_enabled() is onednn_before
    finally:
        torch._C._set_mkldnn_enabled(previous)
    assert seen == [False]
