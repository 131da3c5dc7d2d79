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
    """Heuristic: fraction of the mouth disc covered by smooth, balloon-coloured pixels, squashed to 0..1."""

    def __init__(self, mean: tuple[float, float, float], std: tuple[float, float, float], size_px: int) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.disc: torch.Tensor
        self.disc_area: torch.Tensor
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        # The disc in front of the mouth: the crop is centred just below the mouth (crop geometry mouth-v1).
        coords = (torch.arange(size_px, dtype=torch.float32) + 0.5) / size_px - 0.5
        yy, xx = torch.meshgrid(coords, coords, indexing="ij")
        disc = ((xx**2 + (yy + 0.05) ** 2) <= 0.22**2).to(torch.float32)
        self.register_buffer("disc", disc.view(1, size_px, size_px))
        self.register_buffer("disc_area", disc.sum())

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Balloon-at-mouth probabilities (N,) for normalised crops (N, 3, S, S)."""
        rgb = (crops * self.std + self.mean).clamp(0.0, 1.0)
        high = rgb.max(dim=1).values
        low = rgb.min(dim=1).values
        saturation = (high - low) / (high + 1e-6)
        # Skin is orange-red with medium saturation; balloons are strongly saturated or nearly white.
        vivid = (saturation > 0.55) & (high > 0.35)
        white = (saturation < 0.12) & (high > 0.80)
        grey = rgb.mean(dim=1, keepdim=True)
        gx = (grey[:, :, :, 2:] - grey[:, :, :, :-2]).abs()
        gy = (grey[:, :, 2:, :] - grey[:, :, :-2, :]).abs()
        gradient = torch.zeros_like(grey)
        gradient[:, :, :, 1:-1] += gx
        gradient[:, :, 1:-1, :] += gy
        # Latex is smooth: little texture inside the blob.
        smooth = gradient.squeeze(1) < 0.06
        balloon_like = ((vivid | white) & smooth).to(torch.float32)
        coverage = (balloon_like * self.disc).sum(dim=(1, 2)) / self.disc_area
        return torch.sigmoid((coverage - 0.45) * 14.0)
