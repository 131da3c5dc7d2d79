"""EfficientNet-Lite0: the ImageNet weights load into our module and still see balloons; the device's
depthwise path computes what PyTorch's convolution computes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch.nn import functional

from training.efficientnet_lite import (
    IMAGENET_BALLOON,
    IMAGENET_LITE_MEAN,
    IMAGENET_LITE_STD,
    EfficientNetLite0,
    SameConv2d,
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


@pytest.mark.parametrize(
    ("channels", "kernel", "stride", "size"),
    [(8, 3, 1, 12), (8, 3, 2, 12), (16, 5, 1, 10), (16, 5, 2, 16), (32, 3, 2, 6)],
)
def test_depthwise_by_taps_matches_convolution(channels: int, kernel: int, stride: int, size: int) -> None:
    torch.manual_seed(channels + kernel + stride)
    conv = SameConv2d(channels, channels, kernel, stride, groups=channels)
    x = torch.randn(3, channels, size, size)
    with torch.inference_mode():
        expected = conv(x)
        conv.depthwise_by_taps = True
        got = conv(x)
    # TensorFlow's "same": ceil(size / stride) outputs per side.
    assert got.shape == (3, channels, -(-size // stride), -(-size // stride))
    assert torch.allclose(got, expected, atol=1e-5)
    reference = functional.conv2d(functional.pad(x, conv.pad), conv.weight, stride=stride, groups=channels)
    assert torch.allclose(expected, reference)


def test_scripted_device_model_matches_training_model() -> None:
    model = build_model("efficientnet_lite0").eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.inference_mode():
        expected = Probability(model, mirror_average=True)(x)
        scripted = torch.jit.script(Probability(for_device(model), mirror_average=True))
        got = scripted(x)
    assert got.shape == (2,) and torch.allclose(got, expected, atol=1e-5)


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
