"""Small ONNX classifiers, cards and model-signing keys for the detector tests, made without torch.

The detector's tests must run where torch is not installed (a device install), so test models are ONNX
graphs written with the ``onnx`` package's helpers, signed with a key made in ``tmp_path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from onnx import TensorProto, helper, numpy_helper

from detector.evidence.crop import DEFAULT_CROP_SPEC
from nitrosignal.modelcard import CURRENT_SCHEMA, CropSpec, ModelCard, card_path_for, sha256_file
from nitrosignal.modelsig import sign_card, signature_path_for


@dataclass(frozen=True)
class SigningKey:
    """A model-signing keypair made for a test: the private key in memory, the public key as a PEM file."""

    private: Ed25519PrivateKey
    public_file: Path


def make_signing_key(directory: Path) -> SigningKey:
    """A fresh Ed25519 keypair; the public key is written to ``directory/signing.pub``."""
    directory.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    public_file = directory / "signing.pub"
    public_file.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return SigningKey(private, public_file)


def vivid_mouth_graph(spec: CropSpec = DEFAULT_CROP_SPEC) -> onnx.ModelProto:
    """Probability rising with how colourful the centre of the mouth crop is.

    The runtime tests need a model whose answer on the test video is known: the vivid balloon of
    ``write_person_video`` scores high and skin low. ``sigmoid((mean(max_c - min_c) over the centre third
    - 0.45) * 25)`` of the un-normalised RGB crop.
    """
    side = spec.size_px
    mean = np.asarray(spec.mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(spec.std, dtype=np.float32).reshape(1, 3, 1, 1)
    constants = [
        numpy_helper.from_array(std, "std"),
        numpy_helper.from_array(mean, "mean"),
        numpy_helper.from_array(np.asarray([side // 3, side // 3], dtype=np.int64), "starts"),
        numpy_helper.from_array(np.asarray([2 * side // 3, 2 * side // 3], dtype=np.int64), "ends"),
        numpy_helper.from_array(np.asarray([2, 3], dtype=np.int64), "axes"),
        numpy_helper.from_array(np.asarray(0.45, dtype=np.float32), "offset"),
        numpy_helper.from_array(np.asarray(25.0, dtype=np.float32), "gain"),
    ]
    nodes = [
        helper.make_node("Mul", ["crops", "std"], ["scaled"]),
        helper.make_node("Add", ["scaled", "mean"], ["rgb"]),
        helper.make_node("Slice", ["rgb", "starts", "ends", "axes"], ["centre"]),
        helper.make_node("ReduceMax", ["centre"], ["high"], axes=[1], keepdims=0),
        helper.make_node("ReduceMin", ["centre"], ["low"], axes=[1], keepdims=0),
        helper.make_node("Sub", ["high", "low"], ["chroma"]),
        helper.make_node("ReduceMean", ["chroma"], ["vividness"], axes=[1, 2], keepdims=0),
        helper.make_node("Sub", ["vividness", "offset"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "gain"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["probability"]),
    ]
    graph = helper.make_graph(
        nodes,
        "vivid-mouth",
        [helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["people", 3, side, side])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["people"])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def onnx_card(path: Path, spec: CropSpec = DEFAULT_CROP_SPEC) -> ModelCard:
    """A schema /2 ONNX card describing ``path`` as it is now."""
    return ModelCard(
        schema_=CURRENT_SCHEMA,
        id="vivid-mouth",
        version="0.0.1-test",
        file_name=path.name,
        format="onnx",
        sha256=sha256_file(path),
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        architecture="test heuristic: colourfulness of the mouth crop centre; ONNX",
        input=spec,
        threshold=0.6,
        baseline=True,
        intended_use="Detector tests only.",
    )


def write_card_and_signature(path: Path, card: ModelCard, key: SigningKey | None) -> None:
    """Write ``card`` next to ``path`` and, with a key, its signature."""
    card_path_for(path).write_text(card.to_json())
    if key is not None:
        signature_path_for(path).write_bytes(sign_card(card, key.private))


def write_test_model(directory: Path, key: SigningKey) -> Path:
    """Write the signed vivid-mouth ONNX model with its card into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vivid-mouth.onnx"
    onnx.save(vivid_mouth_graph(), str(path))
    write_card_and_signature(path, onnx_card(path), key)
    return path
