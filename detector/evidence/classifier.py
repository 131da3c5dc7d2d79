"""The balloon-at-mouth classifier contract and the hand-made baseline that ships until a trained one exists.

Contract: a TorchScript module taking float (N, 3, S, S) RGB crops normalised per the model card's CropSpec
(see :func:`detector.evidence.crop.to_model_input`) and returning balloon-at-mouth probabilities (N,).

The baseline is a heuristic, not a learned model: it looks for a smooth blob of balloon-like colour
(strongly saturated, or near-white latex) covering the area just in front of the mouth, where skin, beards,
cigarettes, cups and phones are either skin-coloured, textured or small. It exists so that the pipeline runs
end to end and is honest about being a baseline (``baseline: true`` on its card).
"""

from __future__ import annotations

import torch
from torch import nn


class BaselineBalloonAtMouth(nn.Module):
    """Heuristic: how much of the area at the lips is covered by a smooth, balloon-coloured blob, as 0..1.

    A balloon held at the lips covers the mouth itself (seen from the front) or sits beside and below it
    (seen from the side), so coverage is measured in five discs around the mouth and the best one counts.
    """

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float], size_px: int) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.discs: torch.Tensor
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        coords = (torch.arange(size_px, dtype=torch.float32) + 0.5) / size_px
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        # Crop geometry mouth-v1: the mouth sits at (0.5, 0.5 - 0.1 / 1.1) of the crop.
        mouth_x, mouth_y = 0.5, 0.5 - 0.1 / 1.1
        offsets = ((0.0, 0.0), (-0.18, 0.0), (0.18, 0.0), (-0.13, 0.13), (0.13, 0.13))
        discs = [
            ((xx - mouth_x - dx) ** 2 + (yy - mouth_y - dy) ** 2 <= 0.17**2).to(torch.float32) for dx, dy in offsets
        ]
        stacked = torch.stack(discs)
        self.register_buffer("discs", stacked / stacked.sum(dim=(1, 2), keepdim=True))
        self.top_rows = max(1, round(size_px * 0.15))
        # The nose patch: about half-way between the eyes and the mouth in crop geometry mouth-v1.
        self.nose_rows = (round(size_px * 0.26), max(round(size_px * 0.26) + 1, round(size_px * 0.34)))
        self.nose_cols = (round(size_px * 0.45), max(round(size_px * 0.45) + 1, round(size_px * 0.55)))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Balloon-at-mouth probabilities (N,) for normalised crops (N, 3, S, S)."""
        rgb = (crops * self.std + self.mean).clamp(0.0, 1.0)
        high = rgb.max(dim=1).values
        low = rgb.min(dim=1).values
        saturation = (high - low) / (high + 1e-6)
        # Skin is orange-red with medium saturation; balloons are strongly saturated or nearly white.
        vivid = (saturation > 0.55) & (high > 0.35)
        white = (saturation < 0.22) & (high > 0.72)
        grey = rgb.mean(dim=1, keepdim=True)
        gx = (grey[:, :, :, 2:] - grey[:, :, :, :-2]).abs()
        gy = (grey[:, :, 2:, :] - grey[:, :, :-2, :]).abs()
        gradient = torch.zeros_like(grey)
        gradient[:, :, :, 1:-1] += gx
        gradient[:, :, 1:-1, :] += gy
        # Latex is smooth: little texture inside the blob.
        smooth = gradient.squeeze(1) < 0.06
        # Grey-scale or infrared crops carry no colour, so "near-white" would match any bright surface there.
        colourful = (saturation.flatten(1).median(dim=1).values > 0.12).view(-1, 1, 1)
        # The person's own skin, sampled at the nose (between eyes and mouth), is never the balloon: pale or
        # over-exposed faces look "near-white" too.
        skin = rgb[:, :, self.nose_rows[0] : self.nose_rows[1], self.nose_cols[0] : self.nose_cols[1]]
        reference = skin.flatten(2).median(dim=2).values.view(-1, 3, 1, 1)
        like_skin = (rgb - reference).abs().max(dim=1).values < 0.12
        balloon_like = ((vivid | (white & colourful)) & smooth & ~like_skin).to(torch.float32)
        coverage = torch.einsum("nhw,khw->nk", balloon_like, self.discs).max(dim=1).values
        # A wall or sky behind the head also reaches above the eyes; a balloon at the lips rarely does.
        above_eyes = balloon_like[:, : self.top_rows, :].mean(dim=(1, 2))
        return torch.sigmoid((coverage - 0.6) * 14.0) * (1.0 - above_eyes).clamp(0.0, 1.0)
