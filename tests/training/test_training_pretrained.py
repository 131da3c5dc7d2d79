"""EfficientNet-Lite0: the ImageNet weights load into our module and still see balloons; the device's
folded form computes what the training module computes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from training.device_lite import Depthwise, DeviceLite0, Pointwise, Stem
from training.efficientnet_lite import (
    IMAGENET_BALLOON,
    IMAGENET_LITE_MEAN,
    IMAGENET_LITE_STD,
    ConvBN,
    EfficientNetLite0,
    imagenet_state_dict,
    pretrained_lite0,
)
from training.model import Probability, build_model, for_device
from training.synth.rendered import render_balloon


@pytest.fixture(scope="module")
def imagenet_lite0() -> EfficientNetLite0:
    return pretrained_lite0(outputs=1000).eval()


def _balloon_photo(colour: tuple[int, int, int], seed: int) -> torch.Tensor:
    """A rendered latex balloon on a light grey card, as ImageNet's 224 px normalised input."""
    sprite = render_balloon(150, colour, np.random.default_rng(seed))
    canvas = np.full((224, 224, 3), 235, np.float32)
    height, width = sprite.shape[:2]
    top, left = (224 - height) // 2, (224 - width) // 2
    alpha = sprite[:, :, 3:4] / 255.0
    region = canvas[top : top + height, left : left + width]
    canvas[top : top + height, left : left + width] = sprite[:, :, :3] * alpha + region * (1 - alpha)
    rgb = torch.from_numpy(canvas.transpose(2, 0, 1) / 255.0).float()[None]
    mean = torch.tensor(IMAGENET_LITE_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_LITE_STD).view(1, 3, 1, 1)
    return (rgb - mean) / std


@pytest.mark.parametrize(
    ("colour", "seed"),
    [((220, 30, 30), 0), ((30, 60, 220), 0), ((240, 200, 30), 0), ((40, 170, 60), 1)],
)
def test_imagenet_weights_recognise_a_balloon(
    imagenet_lite0: EfficientNetLite0, colour: tuple[int, int, int], seed: int
) -> None:
    # Wrong names, padding or normalisation would scramble ImageNet's ranking; "balloon" (417) among the top
    # five of a thousand classes needs the checkpoint to work as it did in TensorFlow.
    with torch.inference_mode():
        top5 = imagenet_lite0(_balloon_photo(colour, seed)).topk(5).indices[0].tolist()
    assert IMAGENET_BALLOON in top5


def test_imagenet_weights_fill_every_parameter() -> None:
    ours = set(EfficientNetLite0(outputs=1000).state_dict())
    assert set(imagenet_state_dict()) == ours


def _with_running_statistics(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Batch norms with non-trivial running statistics and affine terms, so folding them is exercised."""
    generator = torch.Generator().manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, torch.nn.BatchNorm2d):
            for tensor, low, high in (
                (layer.running_mean, -0.5, 0.5),
                (layer.running_var, 0.3, 2.0),
                (layer.weight.data, 0.5, 1.5),
                (layer.bias.data, -0.3, 0.3),
            ):
                assert tensor is not None
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)
    return module.eval()


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1).contiguous()


@pytest.mark.parametrize(
    ("cin", "cout", "kernel", "stride", "groups", "act", "size"),
    [
        (8, 8, 3, 1, 8, True, 12),  # depthwise 3x3
        (8, 8, 3, 2, 8, True, 12),  # depthwise 3x3, stride 2: TensorFlow's asymmetric padding
        (16, 16, 5, 1, 16, True, 10),  # depthwise 5x5
        (16, 16, 5, 2, 16, True, 16),
        (32, 32, 3, 2, 32, True, 6),
        (16, 48, 1, 1, 1, True, 6),  # pointwise expansion
        (48, 16, 1, 1, 1, False, 6),  # pointwise projection, no activation
        (3, 32, 3, 2, 1, True, 16),  # stem
    ],
)
def test_device_layers_compute_the_training_layers(
    cin: int, cout: int, kernel: int, stride: int, groups: int, act: bool, size: int
) -> None:
    torch.manual_seed(cin + cout + kernel + stride)
    layer = _with_running_statistics(ConvBN(cin, cout, kernel, stride, groups, act), seed=size)
    assert isinstance(layer, ConvBN)
    x = torch.randn(3, cin, size, size)
    with torch.inference_mode():
        expected = _channels_last(layer(x))
        if cin == 3:
            got = Stem(layer)(x)
        elif groups > 1:
            got = Depthwise(layer)(_channels_last(x))
        else:
            got = Pointwise(layer)(_channels_last(x))
    # TensorFlow's "same": ceil(size / stride) outputs per side.
    assert got.shape == (3, -(-size // stride), -(-size // stride), cout)
    assert torch.allclose(got, expected, atol=1e-5)


def test_scripted_device_model_matches_training_model() -> None:
    model = _with_running_statistics(build_model("efficientnet_lite0"), seed=0)
    x = torch.randn(2, 3, 96, 96)
    with torch.inference_mode():
        expected = Probability(model, mirror_average=True)(x)
        device_form = for_device(model)
        scripted = torch.jit.script(Probability(device_form, mirror_average=True))
        got = scripted(x)
    assert isinstance(device_form, DeviceLite0)
    assert got.shape == (2,) and torch.allclose(got, expected, atol=1e-5)


def test_device_form_refuses_a_model_in_training_mode() -> None:
    # In training mode batch norm normalises by the batch, so folding its running statistics would be wrong.
    with pytest.raises(ValueError, match="eval mode"):
        DeviceLite0(EfficientNetLite0().train())


def test_training_starts_from_imagenet_not_from_scratch() -> None:
    pretrained, fresh = build_model("efficientnet_lite0"), build_model("efficientnet_lite0", pretrained=False)
    stem = "stem.conv.weight"
    assert torch.equal(pretrained.state_dict()[stem], imagenet_state_dict()[stem])
    assert not torch.equal(fresh.state_dict()[stem], pretrained.state_dict()[stem])


def test_rendered_balloon_fixture_is_a_colour_image() -> None:
    # Guards the recognition test above against a blank canvas passing by luck of the ranking.
    photo = _balloon_photo((220, 30, 30), 0)[0].numpy().transpose(1, 2, 0)
    red_pixels = (np.abs(photo[:, :, 0] - photo[:, :, 2]) > 0.5).astype(np.uint8)
    assert float(photo.std()) > 0.3 and cv2.countNonZero(red_pixels) > 1000
