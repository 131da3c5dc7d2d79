"""Rebuild the shipped baseline ``balloon-at-mouth.pt`` and its card, reproducibly.

Run ``python -m detector.models.build_baseline`` (optionally with an output path). The baseline is a
hand-made TorchScript heuristic (:class:`detector.evidence.classifier.BaselineBalloonAtMouth`), shipped until
training produces a real model at the same path; its card says ``baseline: true``.
"""

from __future__ import annotations

import io
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import torch

from detector.evidence.classifier import BaselineBalloonAtMouth
from detector.evidence.crop import DEFAULT_CROP_SPEC
from nitrosignal.modelcard import ModelCard, card_path_for, sha256_file

BASELINE_VERSION = "0.1.0-baseline"
# A fixed creation time keeps the card byte-identical across rebuilds.
BASELINE_CREATED = datetime(2026, 11, 21, 0, 0, 0, tzinfo=UTC)


def build_baseline(model_path: Path) -> ModelCard:
    """Script the baseline heuristic to ``model_path`` and write its card next to it.

    Args:
        model_path: where the TorchScript file goes (its card becomes ``<model_path>.card.json``).

    Returns:
        The card written.
    """
    spec = DEFAULT_CROP_SPEC
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # torch 2.14 flags TorchScript as deprecated; it is still the classifier contract (issue 3 §4).
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.jit.script(BaselineBalloonAtMouth(spec.mean, spec.std, spec.size_px))
        torch.jit.save(module, buffer)
    model_path.write_bytes(buffer.getvalue())
    card = ModelCard(
        id="balloon-at-mouth",
        version=BASELINE_VERSION,
        file_name=model_path.name,
        sha256=sha256_file(model_path),
        created_at=BASELINE_CREATED,
        architecture="hand-made TorchScript heuristic: smooth, vivid or near-white blob covering the mouth disc",
        input=spec,
        threshold=0.6,
        baseline=True,
        intended_use="Placeholder so the pipeline runs end to end until a trained balloon-at-mouth model ships. "
        "Not validated for enforcement.",
        limitations=(
            "Not learned from data; colour and texture rules only.",
            "Any smooth, saturated or white object covering the mouth area scores high.",
            "Low light and infrared footage lose the colour cue.",
        ),
        known_confusers=("coloured cup or bottle at the mouth", "white mask or tissue", "bright clothing close up"),
    )
    card_path_for(model_path).write_text(card.model_dump_json(by_alias=True, indent=2) + "\n")
    return card


def main(argv: list[str]) -> int:
    """Command-line entry: build to the given path or to the shipped default."""
    from detector.model import default_model_path

    target = Path(argv[0]) if argv else default_model_path()
    card = build_baseline(target)
    print(f"wrote {target} sha256={card.sha256}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
