"""EfficientNet-Lite0 folded for the device: the trained weights, computed without oneDNN and fast.

The detector classifies with oneDNN off (its JIT is forbidden under MemoryDenyWriteExecute, see
detector/model.py). Without it PyTorch convolves a depthwise layer one channel group at a time and runs
every other convolution through im2col, so the training module would cost about 116 ms per crop and its
mirror image on two cores. This form computes the same function in a few plain kernels instead:

- batch norm is folded into the preceding convolution's weights and a bias (inference statistics);
- activations stay channels-last, (N, H, W, C), so a 1x1 convolution is one matrix product with bias;
- a depthwise convolution is a sum over its kernel taps of the shifted, strided input times that tap's
  per-channel weight, the first tap adding the bias;
- the stem (3 input channels) gathers its 3x3 patches and multiplies them by the weights in one product.

Inputs and outputs keep the training module's contract: (N, 3, S, S) in, (N, outputs) logits out, equal up
to float rounding (tested).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from training.efficientnet_lite import ConvBN, EfficientNetLite0, MBConv, SameConv2d


def _folded(layer: ConvBN) -> tuple[torch.Tensor, torch.Tensor]:
    """The convolution's weight scaled by batch norm, and batch norm's shift as a bias."""
    bn = layer.bn
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("batch norm without running statistics cannot be folded")
    scale = bn.weight.detach() / torch.sqrt(bn.running_var + bn.eps)
    bias = bn.bias.detach() - bn.running_mean * scale
    return layer.conv.weight.detach() * scale.view(-1, 1, 1, 1), bias


def _has_act(layer: ConvBN) -> bool:
    return isinstance(layer.act, nn.ReLU6)


def _window(conv: SameConv2d) -> tuple[int, int, list[int]]:
    """Kernel side, stride, and the convolution's "same" padding as functional.pad takes it channels-last.

    functional.pad lists the last dimension first: channels (none), then width, then height.
    """
    left, right, top, bottom = conv.pad
    return int(conv.kernel_size[0]), int(conv.stride[0]), [0, 0, left, right, top, bottom]


def _outputs(size: int, kernel: int, step: int) -> int:
    """Output positions along one padded side of ``size``."""
    return (size - kernel) // step + 1


class Pointwise(nn.Module):
    """A 1x1 convolution with folded batch norm on (N, H, W, C) activations, optionally ReLU6."""

    def __init__(self, layer: ConvBN) -> None:
        super().__init__()
        weight, bias = _folded(layer)
        # Stored as (cin, cout) so the product needs no transpose at run time.
        self.weight = nn.Parameter(weight.flatten(1).t().contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.contiguous(), requires_grad=False)
        self.act = _has_act(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, cin) to (N, H, W, cout)."""
        n, h, w, c = x.shape
        out = torch.addmm(self.bias, x.reshape(n * h * w, c), self.weight).view(n, h, w, -1)
        return out.clamp_(0.0, 6.0) if self.act else out


class Depthwise(nn.Module):
    """A depthwise convolution with TensorFlow's "same" padding and folded batch norm, then ReLU6."""

    def __init__(self, layer: ConvBN) -> None:
        super().__init__()
        conv: SameConv2d = layer.conv
        if conv.groups != conv.in_channels or conv.in_channels != conv.out_channels:
            raise ValueError("Depthwise folds only depthwise convolutions")
        weight, bias = _folded(layer)
        # (kernel * kernel, channels): one row of per-channel weights per tap, in row-major tap order.
        self.taps = nn.Parameter(weight[:, 0].flatten(1).t().contiguous(), requires_grad=False)
        self.bias = nn.Parameter(bias.contiguous(), requires_grad=False)
        self.kernel, self.step, self.pad = _window(conv)
        self.act = _has_act(layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, C) to (N, H / stride, W / stride, C)."""
        x = functional.pad(x, self.pad)
        n, h, w, c = x.shape
        rows, cols = _outputs(h, self.kernel, self.step), _outputs(w, self.kernel, self.step)
        out = torch.empty(0)
        for tap in range(self.kernel * self.kernel):
            i, j = tap // self.kernel, tap % self.kernel
            bottom, right = i + self.step * (rows - 1) + 1, j + self.step * (cols - 1) + 1
            shifted = x[:, i : bottom : self.step, j : right : self.step, :]
            if tap == 0:
                out = torch.addcmul(self.bias, shifted, self.taps[0])
            else:
                out.addcmul_(shifted, self.taps[tap])
        return out.clamp_(0.0, 6.0) if self.act else out


class Stem(nn.Module):
    """The 3x3 stride-2 stem with folded batch norm and ReLU6: (N, 3, S, S) to (N, S/2, S/2, 32)."""

    def __init__(self, layer: ConvBN) -> None:
        super().__init__()
        conv: SameConv2d = layer.conv
        weight, bias = _folded(layer)
        # (kernel, kernel, cin) patch order, matching the gathered patches below, by cout.
        self.weight = nn.Parameter(weight.permute(2, 3, 1, 0).reshape(-1, weight.shape[0]).contiguous(), False)
        self.bias = nn.Parameter(bias.contiguous(), requires_grad=False)
        self.kernel, self.step, self.pad = _window(conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-first image batch to channels-last features."""
        x = functional.pad(x.permute(0, 2, 3, 1), self.pad)
        n, h, w, c = x.shape
        rows, cols = _outputs(h, self.kernel, self.step), _outputs(w, self.kernel, self.step)
        x = x.contiguous()
        patches = x.as_strided(
            (n, rows, cols, self.kernel, self.kernel, c),
            (h * w * c, self.step * w * c, self.step * c, w * c, c, 1),
        ).reshape(n * rows * cols, -1)
        return torch.addmm(self.bias, patches, self.weight).clamp_(0.0, 6.0).view(n, rows, cols, -1)


class Block(nn.Module):
    """An inverted-residual block, folded (inference: stochastic depth is the identity)."""

    def __init__(self, block: MBConv) -> None:
        super().__init__()
        self.expand = Pointwise(block.expand) if isinstance(block.expand, ConvBN) else nn.Identity()
        self.depthwise = Depthwise(block.depthwise)
        self.project = Pointwise(block.project)
        self.residual = block.residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H, W, cin) to (N, H', W', cout)."""
        out: torch.Tensor = self.project(self.depthwise(self.expand(x)))
        if self.residual:
            out = out + x
        return out


class DeviceLite0(nn.Module):
    """A trained :class:`EfficientNetLite0` in the device's form; logits (N, outputs) for (N, 3, S, S)."""

    def __init__(self, model: EfficientNetLite0) -> None:
        super().__init__()
        if model.training:
            raise ValueError("fold a model in eval mode: batch norm must use its running statistics")
        self.stem = Stem(model.stem)
        self.blocks = nn.Sequential(*(Block(block) for block in model.blocks if isinstance(block, MBConv)))
        if len(self.blocks) != len(model.blocks):
            raise ValueError("every block of EfficientNet-Lite0 must be an MBConv")
        self.head = Pointwise(model.head)
        self.classifier = nn.Linear(model.classifier.in_features, model.classifier.out_features)
        self.classifier.load_state_dict(model.classifier.state_dict())
        self.classifier.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, outputs) for inputs (N, 3, S, S) with S a multiple of 32."""
        features = self.head(self.blocks(self.stem(x))).mean(dim=(1, 2))
        return self.classifier(features)  # type: ignore[no-any-return]
