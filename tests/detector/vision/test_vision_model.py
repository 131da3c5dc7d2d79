"""Model loading: format, sha256 and signature must match the card next to the file, or the model is refused.

The detector runs ONNX only. Every way a model can be wrong (tampered, unsigned, signed by a stranger, a
card of a newer schema, a card that names TorchScript or has no ONNX sha256, a file whose format the card
does not name) is refused with a message that says what is wrong; nothing here needs torch.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_kit import (  # type: ignore[import-not-found, unused-ignore]
    SigningKey,
    make_signing_key,
    write_card_and_signature,
    write_test_model,
)

from detector.model import (
    LoadedModel,
    ModelLoadError,
    default_model_path,
    load_model,
    shipped_signing_key_path,
)
from nitrosignal.modelcard import card_path_for, read_card
from nitrosignal.modelsig import signature_path_for


def _copy_shipped(tmp_path: Path) -> Path:
    target = tmp_path / default_model_path().name
    for source in (default_model_path(), card_path_for(default_model_path()), signature_path_for(default_model_path())):
        shutil.copyfile(source, target.with_name(source.name))
    return target


def _card_document(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(card_path_for(path).read_text())
    return document


def _rewrite_card(path: Path, **changes: Any) -> None:
    card_path_for(path).write_text(json.dumps(_card_document(path) | changes))


def _intact(path: Path) -> None:
    return None


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _remove_signature(path: Path) -> None:
    signature_path_for(path).unlink()


def _tamper_card_threshold(path: Path) -> None:
    _rewrite_card(path, threshold=0.01)


def _remove_card(path: Path) -> None:
    card_path_for(path).unlink()


def _card_for_other_file(path: Path) -> None:
    _rewrite_card(path, file_name="other.onnx")


def _garbage_card(path: Path) -> None:
    card_path_for(path).write_text('{"schema": "nitrosignal.modelcard/2", "unexpected": 1}')


def _newer_schema(path: Path) -> None:
    _rewrite_card(path, schema="nitrosignal.modelcard/3")


def _card_without_onnx_sha(path: Path) -> None:
    # A schema /1 card: it describes a TorchScript file, so there is no ONNX sha256 to check the file against.
    document = _card_document(path)
    del document["format"]
    card_path_for(path).write_text(json.dumps(document | {"schema": "nitrosignal.modelcard/1"}))


def _card_names_torchscript(path: Path) -> None:
    _rewrite_card(path, format="torchscript")


def _remove_model(path: Path) -> None:
    path.unlink()


@pytest.mark.parametrize(
    ("damage", "expectation"),
    [
        (_intact, contextlib.nullcontext()),
        (_flip_a_byte, pytest.raises(ModelLoadError, match="sha256 of .* is [0-9a-f]{64}, but its card expects")),
        (_remove_signature, pytest.raises(ModelLoadError, match=r"is unsigned: no balloon-at-mouth\.onnx\.sig")),
        (_tamper_card_threshold, pytest.raises(ModelLoadError, match="does not verify with any trusted")),
        (_remove_card, pytest.raises(ModelLoadError, match="model card not found")),
        (_card_for_other_file, pytest.raises(ModelLoadError, match="describes 'other.onnx'")),
        (_garbage_card, pytest.raises(ModelLoadError, match="not a valid nitrosignal.modelcard/2")),
        (_newer_schema, pytest.raises(ModelLoadError, match="schema 'nitrosignal.modelcard/3'.*newer detector")),
        (_card_without_onnx_sha, pytest.raises(ModelLoadError, match="describes a torchscript file and names no ONNX")),
        (_card_names_torchscript, pytest.raises(ModelLoadError, match="describes a torchscript file")),
        (_remove_model, pytest.raises(ModelLoadError, match="model file not found")),
    ],
)
def test_vision_load_model_checks_card_and_signature(
    tmp_path: Path, damage: Callable[[Path], None], expectation: Any
) -> None:
    path = _copy_shipped(tmp_path)
    damage(path)
    with expectation:
        model = load_model(path, trusted_keys=[shipped_signing_key_path()])
        assert model.card.sha256 == read_card(path).sha256


@pytest.fixture
def signing_key(tmp_path: Path) -> SigningKey:
    key: SigningKey = make_signing_key(tmp_path / "keys")
    return key


@pytest.mark.parametrize(
    ("suffix", "expectation"),
    [
        (".onnx", contextlib.nullcontext()),
        (".pt", pytest.raises(ModelLoadError, match=r"vivid-mouth\.pt is torchscript, but its card names .*onnx")),
        (".tflite", pytest.raises(ModelLoadError, match=r"unknown format \(suffix '\.tflite'\)")),
    ],
)
def test_vision_a_file_whose_format_the_card_does_not_name_is_refused(
    tmp_path: Path, signing_key: SigningKey, suffix: str, expectation: Any
) -> None:
    """The card, correctly signed, names the file and says onnx; only the file's own format disagrees."""
    original = write_test_model(tmp_path / "m", signing_key)
    path = original.with_suffix(suffix)
    if path != original:
        original.rename(path)
        card = read_card(original).model_copy(update={"file_name": path.name})
        write_card_and_signature(path, card, signing_key)
    with expectation:
        assert load_model(path, trusted_keys=[signing_key.public_file]).card.file_name == path.name


@pytest.mark.parametrize(
    ("trusted", "expectation"),
    [
        ("own", contextlib.nullcontext()),
        ("shipped", pytest.raises(ModelLoadError, match="does not verify with any trusted")),
        ("none", pytest.raises(ModelLoadError, match="no trusted model-signing key")),
        ("missing", pytest.raises(ModelLoadError, match="cannot read a trusted model-signing key")),
    ],
)
def test_vision_only_a_trusted_key_signs(
    tmp_path: Path, signing_key: SigningKey, trusted: str, expectation: Any
) -> None:
    path = write_test_model(tmp_path / "m", signing_key)
    keys = {
        "own": [signing_key.public_file],
        "shipped": [shipped_signing_key_path()],
        "none": [],
        "missing": [tmp_path / "absent.pub"],
    }[trusted]
    with expectation:
        load_model(path, trusted_keys=keys)


def test_vision_shipped_model_is_the_documented_classifier(shipped_model: LoadedModel) -> None:
    card = shipped_model.card
    assert card.id == "balloon-at-mouth" and card.file_name == default_model_path().name
    assert card.format == "onnx" and card.version == "2.2.0" and not card.baseline
    size = card.input.size_px
    scores = shipped_model.predict(np.zeros((2, 3, size, size), dtype=np.float32))
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
        assert shipped_model.predict(np.zeros((batch, channels, side, side), dtype=np.float32)).shape == (batch,)


def test_vision_one_batched_call_equals_one_call_per_person(shipped_model: LoadedModel) -> None:
    """Batching all gated people in one call changes no score."""
    size = shipped_model.card.input.size_px
    crops = np.random.default_rng(0).normal(size=(4, 3, size, size)).astype(np.float32)
    together = shipped_model.predict(crops)
    alone = np.concatenate([shipped_model.predict(crops[i : i + 1]) for i in range(4)])
    assert np.abs(together - alone).max() < 1e-6


def test_vision_vivid_test_model_scores_colour_above_grey(tmp_path: Path, signing_key: SigningKey) -> None:
    model = load_model(write_test_model(tmp_path / "m", signing_key), trusted_keys=[signing_key.public_file])
    spec = model.card.input
    size = spec.size_px
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, 3, 1, 1)
    grey = np.full((1, 3, size, size), 0.5, dtype=np.float32)
    red = grey.copy()
    red[0, :, size // 3 : 2 * size // 3, size // 3 : 2 * size // 3] = np.asarray([0.9, 0.1, 0.2]).reshape(3, 1, 1)
    scores = model.predict((np.concatenate([grey, red]) - mean) / std)
    assert scores[0] < 0.01 and scores[1] > 0.99
