"""The classifier as ONNX: the file the detector runs with onnxruntime, equal to the TorchScript one.

A trained EfficientNet-Lite0 reaches the device folded (:class:`training.device_lite.DeviceLite0`): batch
norm in the weights, activations channels-last, depthwise convolutions tap by tap. That form is fast in
PyTorch without oneDNN but awkward as a graph (strided views, a loop of taps). ONNX Runtime has fast
convolutions of its own, so :class:`ConvForm` turns the same folded weights back into plain convolutions
(with TensorFlow's "same" padding as an explicit pad) and is exported with ``torch.onnx.export``. It reads
the folded weights from either a live ``DeviceLite0`` or a scripted one, so the shipped TorchScript file
converts without its training checkpoint. Other architectures export as they are.

The exported graph keeps the scripted wrapper's contract: float (N, 3, S, S) normalised per the card in,
probabilities (N,) out, the mirror average inside. :func:`export_onnx` checks the file against the torch
module with onnxruntime before it returns.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Final

import numpy as np
import torch
from torch import nn
from torch.nn import functional

log = logging.getLogger(__name__)

OPSET: Final = 17
INPUT_NAME: Final = "crops"
OUTPUT_NAME: Final = "probability"
# The largest difference allowed between the torch module and its ONNX file on the export's probe batch.
EXPORT_TOLERANCE: Final = 1e-5


class _Conv(nn.Module):
    """A convolution with bias, an optional explicit "same" pad before it, and optional ReLU6 after it."""

    def __init__(
        self, weight: torch.Tensor, bias: torch.Tensor, stride: int, pad: list[int], act: bool, groups: int = 1
    ) -> None:
        super().__init__()
        cout, cin_per_group, kernel, _ = weight.shape
        self.conv = nn.Conv2d(cin_per_group * groups, cout, kernel, stride=stride, groups=groups, bias=True)
        self.conv.weight = nn.Parameter(weight.clone(), requires_grad=False)
        self.conv.bias = nn.Parameter(bias.clone(), requires_grad=False)
        self.pad = [int(p) for p in pad]
        self.padded = any(self.pad)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, cin, H, W) to (N, cout, H / stride, W / stride)."""
        if self.padded:
            x = functional.pad(x, self.pad)
        x = self.conv(x)
        return x.clamp(0.0, 6.0) if self.act else x


def _pointwise(layer: Any) -> _Conv:
    weight = layer.weight.detach()  # (cin, cout), as DeviceLite0's Pointwise keeps it
    cin, cout = weight.shape
    return _Conv(weight.t().reshape(cout, cin, 1, 1), layer.bias.detach(), 1, [0, 0, 0, 0], bool(layer.act))


def _channels_first_pad(pad: Any) -> list[int]:
    # DeviceLite0 keeps functional.pad's channels-last list [0, 0, left, right, top, bottom].
    values = [int(p) for p in pad]
    return values[2:]


class _Block(nn.Module):
    def __init__(self, block: Any) -> None:
        super().__init__()
        expand = dict(block.named_children())["expand"]
        self.expand: nn.Module = _pointwise(expand) if hasattr(expand, "weight") else nn.Identity()
        depthwise = block.depthwise
        kernel, taps = int(depthwise.kernel), depthwise.taps.detach()  # taps: (kernel * kernel, channels)
        channels = taps.shape[1]
        self.depthwise = _Conv(
            taps.t().reshape(channels, 1, kernel, kernel),
            depthwise.bias.detach(),
            int(depthwise.step),
            _channels_first_pad(depthwise.pad),
            bool(depthwise.act),
            groups=channels,
        )
        self.project = _pointwise(block.project)
        self.residual = bool(block.residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.project(self.depthwise(self.expand(x)))
        return out + x if self.residual else out


class ConvForm(nn.Module):
    """A folded EfficientNet-Lite0 as plain convolutions: logits (N, outputs) for (N, 3, S, S).

    Args:
        device_form: a :class:`training.device_lite.DeviceLite0`, live or scripted (same attribute names).
    """

    def __init__(self, device_form: Any) -> None:
        super().__init__()
        stem = device_form.stem
        kernel, weight = int(stem.kernel), stem.weight.detach()  # (kernel * kernel * cin, cout), patch order
        cout = weight.shape[1]
        channels_first = weight.reshape(kernel, kernel, -1, cout).permute(3, 2, 0, 1).contiguous()
        self.stem = _Conv(channels_first, stem.bias.detach(), int(stem.step), _channels_first_pad(stem.pad), True)
        self.blocks = nn.Sequential(*(_Block(block) for _, block in device_form.blocks.named_children()))
        self.head = _pointwise(device_form.head)
        classifier = device_form.classifier
        self.classifier = nn.Linear(classifier.weight.shape[1], classifier.weight.shape[0])
        with torch.no_grad():
            self.classifier.weight.copy_(classifier.weight)
            self.classifier.bias.copy_(classifier.bias)
        self.classifier.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, outputs)."""
        features = self.head(self.blocks(self.stem(x))).mean(dim=(2, 3))
        return self.classifier(features)  # type: ignore[no-any-return]


def is_device_form(module: Any) -> bool:
    """Whether ``module`` (live or scripted) has DeviceLite0's shape: stem, blocks, head and classifier."""
    return all(hasattr(module, name) for name in ("stem", "blocks", "head", "classifier")) and hasattr(
        module.stem, "step"
    )


class OnnxProbability(nn.Module):
    """The scripted wrapper's contract for the exporter: probabilities (N,), with the mirror average inside."""

    def __init__(self, model: nn.Module, mirror_average: bool) -> None:
        super().__init__()
        self.model = ConvForm(model) if is_device_form(model) else model
        self.mirror_average = mirror_average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Balloon-at-mouth probabilities, (N,)."""
        if not self.mirror_average:
            return torch.sigmoid(self.model(x)).reshape(-1)
        both = torch.sigmoid(self.model(torch.cat([x, torch.flip(x, dims=[3])]))).reshape(2, -1)
        return both.mean(dim=0)


def from_torchscript(scripted: torch.jit.ScriptModule) -> OnnxProbability:
    """The exportable form of a scripted :class:`training.model.Probability` (as ``train export`` writes it)."""
    return OnnxProbability(scripted.model, bool(scripted.mirror_average)).eval()


def export_onnx(module: nn.Module, out: Path, size_px: int, reference: nn.Module | None = None) -> float:
    """Write ``module`` as ONNX (opset 17, dynamic batch) and check the file with onnxruntime.

    Args:
        module: float (N, 3, S, S) to probabilities (N,), in eval mode.
        out: the ``.onnx`` file to write.
        size_px: S, the card's crop side.
        reference: the module the file must agree with (default ``module``), e.g. the TorchScript file's.

    Returns:
        The largest absolute difference to ``reference`` on a probe batch.

    Raises:
        RuntimeError: if the file breaks the contract or differs by more than ``EXPORT_TOLERANCE``.
    """
    import onnxruntime

    out.parent.mkdir(parents=True, exist_ok=True)
    probe = torch.Generator().manual_seed(0)
    example = torch.randn(3, 3, size_px, size_px, generator=probe)
    with warnings.catch_warnings():
        # The TorchScript-based exporter is flagged deprecated; it is the one that takes scripted modules and
        # needs no onnxscript (the detector's runtime never sees torch either way).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(out),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "people"}, OUTPUT_NAME: {0: "people"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    batch = torch.randn(5, 3, size_px, size_px, generator=probe)
    with torch.inference_mode():
        expected = (reference or module)(batch).numpy()
    (got,) = session.run(None, {INPUT_NAME: batch.numpy()})
    if got.shape != (5,):
        raise RuntimeError(f"ONNX model breaks the contract: output shape {got.shape} for 5 crops")
    difference = float(np.abs(got - expected).max())
    if difference > EXPORT_TOLERANCE:
        raise RuntimeError(f"ONNX model differs from the torch model by {difference:.2e} (> {EXPORT_TOLERANCE})")
    log.info("exported %s (largest difference to torch %.1e)", out, difference)
    return difference
