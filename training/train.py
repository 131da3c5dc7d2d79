"""``nitrosignal train fit``: train the balloon-at-mouth classifier on crops (torchvision-references shape).

``train_one_epoch()`` and ``evaluate()`` (under ``torch.inference_mode()``) are driven by ``main(args)``.
Training augments uint8 crops with transforms v2 and then normalises them with the detector's own
``to_model_input``, the exact function the device uses, so train and serve cannot drift. Checkpoints are
plain dicts (state dicts plus the config as JSON), written every epoch, and ``--resume`` continues one.
Early stopping watches validation average precision; a non-finite loss stops the run loudly.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2
from tqdm import tqdm  # type: ignore[import-untyped, unused-ignore]

from nitrosignal.modelcard import CropSpec
from training.crops import CropSet
from training.efficientnet_lite import IMAGENET_LITE_MEAN, IMAGENET_LITE_STD, EfficientNetLite0
from training.frontend import DEFAULT_CROP_SPEC, to_model_input
from training.metrics import average_precision, threshold_for_fpr
from training.model import PRETRAINED_ARCHITECTURE, Architecture, Probability, build_model

log = logging.getLogger(__name__)

# The detector's 96 px crop (mouth-v1 geometry), normalised as EfficientNet-Lite0's ImageNet weights expect.
# The card carries this spec, and the detector cuts and normalises crops per the card.
TRAIN_CROP_SPEC = DEFAULT_CROP_SPEC.model_copy(update={"mean": IMAGENET_LITE_MEAN, "std": IMAGENET_LITE_STD})


class TrainConfig(BaseModel):
    """Hyper-parameters of one training run (stored in every checkpoint as JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: Architecture = Field(
        default="efficientnet_lite0",
        description="Classifier backbone: efficientnet_lite0 starts from ImageNet weights, the others from scratch.",
    )
    frozen_blocks: int = Field(
        default=5,
        ge=0,
        le=15,
        description="efficientnet_lite0 only: leading blocks kept at their ImageNet weights. Their outputs for "
        "feature_copies augmented copies of every training crop are computed once, and the epochs train the rest. "
        "0 trains every layer.",
    )
    feature_copies: int = Field(
        default=4, ge=1, le=16, description="Augmented copies of each crop whose frozen-block outputs are cached."
    )
    width: int = Field(default=16, ge=4, le=128, description="Channels of the compact CNN's first block.")
    hue_jitter: float = Field(default=0.0, ge=0.0, le=0.5, description="Hue jitter of the colour augmentation.")
    mirror_average: bool = Field(
        default=True,
        description="Score each crop as the mean over it and its mirror image (validation, threshold and the "
        "exported model alike).",
    )
    spec: CropSpec = Field(default=TRAIN_CROP_SPEC, description="Crop spec; must match the crops' size.")
    epochs: int = Field(default=8, ge=1, description="Most epochs.")
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=1e-3, gt=0, description="Peak AdamW learning rate (cosine schedule).")
    weight_decay: float = Field(default=1e-4, ge=0)
    patience: int = Field(default=4, ge=1, description="Stop after this many epochs without a better val AP.")
    seed: int = 0
    deterministic: bool = Field(default=True, description="Deterministic algorithms and seeded shuffling.")
    threads: int = Field(
        default=2, ge=1, le=64, description="torch CPU threads (EfficientNet-Lite0's tail trains 1.6x faster on 2)."
    )
    real_negative_repeat: int = Field(
        default=2, ge=1, le=20, description="Show each real negative photo's crops this many times per epoch."
    )
    max_val_fpr: float = Field(
        default=0.02, gt=0, lt=1, description="Operating threshold: lowest with at most this val negative FPR."
    )

    @model_validator(mode="after")
    def _frozen_blocks_need_a_pretrained_backbone(self) -> TrainConfig:
        if self.frozen_blocks and self.architecture != PRETRAINED_ARCHITECTURE:
            raise ValueError(
                f"frozen_blocks applies to the pretrained efficientnet_lite0 only; set frozen_blocks=0 for "
                f"{self.architecture}, which trains from scratch"
            )
        return self


@dataclass(frozen=True)
class FitResult:
    """What a training run produced."""

    checkpoint: Path
    best_epoch: int
    val_ap: float
    threshold: float
    seconds: float
    history: list[dict[str, float]]


def train_transform(hue: float = 0.0) -> v2.Compose:
    """Augmentations on a uint8 RGB tensor (3, S, S); normalisation happens later in ``to_model_input``.

    Args:
        hue: Hue jitter (0..0.5). Balloons come in every colour, so a model must not learn the few colours of
            the training balloons.
    """
    return v2.Compose(
        [
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.RandomAffine(degrees=10, translate=(0.06, 0.06), scale=(0.88, 1.12))], p=0.7),
            v2.ColorJitter(brightness=0.35, contrast=0.35, saturation=0.35, hue=hue),
            v2.RandomGrayscale(p=0.15),
            v2.RandomApply([v2.GaussianBlur(kernel_size=5, sigma=(0.1, 1.5))], p=0.3),
        ]
    )


class CropDataset(torch.utils.data.Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Crops as uint8 RGB tensors (3, S, S) with float labels; :class:`AugmentCollate` makes model inputs."""

    def __init__(self, crops: NDArray[np.uint8], labels: NDArray[np.int64]) -> None:
        self._crops, self._labels = crops, labels

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = torch.from_numpy(np.ascontiguousarray(self._crops[index][:, :, ::-1].transpose(2, 0, 1)))
        return rgb, torch.tensor(float(self._labels[index]))


class AugmentCollate:
    """Batch collation: augment in small groups, then normalise with the detector's ``to_model_input``.

    Transforms v2 draw one set of random parameters per call; calling them per group of ``group`` crops
    (instead of per crop) keeps most of the variety at a fraction of the per-call overhead, which dominates
    on a busy 2-core CPU.
    """

    def __init__(self, spec: CropSpec, group: int = 8, hue: float = 0.0) -> None:
        self._spec, self._group, self._transform = spec, group, train_transform(hue)

    def __call__(self, items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.stack([image for image, _ in items])
        labels = torch.stack([label for _, label in items])
        parts = [self._transform(images[i : i + self._group]) for i in range(0, len(images), self._group)]
        augmented = torch.cat(parts).numpy().transpose(0, 2, 3, 1)[:, :, :, ::-1]  # back to BGR HWC uint8
        batch = to_model_input([np.ascontiguousarray(crop) for crop in augmented], self._spec)
        return torch.from_numpy(batch), labels


class CachedFeatures(torch.utils.data.Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Frozen-block outputs of augmented crop copies; each item is one copy, drawn with the loader's generator."""

    def __init__(self, copies: list[torch.Tensor], labels: NDArray[np.int64], generator: torch.Generator) -> None:
        self._copies, self._labels, self._generator = copies, labels, generator

    def __len__(self) -> int:
        return len(self._labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        copy = int(torch.randint(len(self._copies), (1,), generator=self._generator))
        return self._copies[copy][index].float(), torch.tensor(float(self._labels[index]))


def frozen_features(
    prefix: nn.Module, crops: NDArray[np.uint8], config: TrainConfig, batch_size: int = 128
) -> list[torch.Tensor]:
    """The frozen prefix's outputs (float16) for ``config.feature_copies`` augmented copies of every crop.

    Each copy is augmented exactly as a training batch is (:class:`AugmentCollate`), with the global torch
    generator seeded per copy, so the same config gives the same features, also after a resume.
    """
    augment = AugmentCollate(config.spec, hue=config.hue_jitter)
    images = CropDataset(crops, np.zeros(len(crops), dtype=np.int64))
    prefix.eval()
    copies = []
    with torch.inference_mode():
        for copy in range(config.feature_copies):
            torch.manual_seed(config.seed * 1009 + copy)
            parts = []
            for start in tqdm(range(0, len(crops), batch_size), desc=f"features {copy + 1}", unit="batch", leave=False):
                inputs, _ = augment([images[i] for i in range(start, min(start + batch_size, len(crops)))])
                parts.append(prefix(inputs.contiguous(memory_format=torch.channels_last)).to(torch.float16))
            copies.append(torch.cat(parts))
    return copies


def _trainable_and_loader(
    model: nn.Module,
    crops: NDArray[np.uint8],
    labels: NDArray[np.int64],
    config: TrainConfig,
    generator: torch.Generator,
) -> tuple[nn.Module, DataLoader[Any]]:
    # What the epochs train, and on what: the whole model on augmented crops, or only the layers after the
    # frozen blocks on their cached outputs (an epoch then costs a fraction of a full pass).
    if not config.frozen_blocks:
        loader = DataLoader(
            CropDataset(crops, labels),
            batch_size=config.batch_size,
            collate_fn=AugmentCollate(config.spec, hue=config.hue_jitter),
            shuffle=True,
            generator=generator,
            num_workers=0,
        )
        return model, loader
    if not isinstance(model, EfficientNetLite0):
        raise TypeError(f"frozen blocks need EfficientNetLite0, got {type(model).__name__}")
    prefix, tail = model.split(config.frozen_blocks)
    for parameter in prefix.parameters():
        parameter.requires_grad_(False)
    features = frozen_features(prefix, crops, config)
    loader = DataLoader(
        CachedFeatures(features, labels, generator),
        batch_size=config.batch_size,
        shuffle=True,
        generator=generator,
        num_workers=0,
    )
    return tail, loader


def train_one_epoch(
    model: nn.Module, loader: DataLoader[Any], optimizer: torch.optim.Optimizer, loss_fn: nn.Module, epoch: int
) -> float:
    """One pass over the training crops; returns the mean loss. Raises on a non-finite loss."""
    model.train()
    total, count = 0.0, 0
    for inputs, targets in tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False):
        logits = model(inputs.contiguous(memory_format=torch.channels_last)).reshape(-1)
        loss = loss_fn(logits, targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss {loss.item()} at epoch {epoch}; stopping")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.item()) * len(targets)
        count += len(targets)
    return total / max(1, count)


def predict(
    model: nn.Module, crops: NDArray[np.uint8], spec: CropSpec, mirror_average: bool, batch_size: int = 256
) -> NDArray[np.float64]:
    """Probabilities for uint8 BGR crops, through the detector's ``to_model_input`` and the exported wrapper."""
    wrapped = Probability(model, mirror_average).eval()
    out = []
    with torch.inference_mode():
        for start in range(0, len(crops), batch_size):
            batch = torch.from_numpy(to_model_input(list(crops[start : start + batch_size]), spec))
            out.append(wrapped(batch.contiguous(memory_format=torch.channels_last)).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def evaluate(
    model: nn.Module, crops: NDArray[np.uint8], labels: NDArray[np.int64], spec: CropSpec, mirror_average: bool
) -> dict[str, float]:
    """Validation loss and average precision on crops (under ``torch.inference_mode()``)."""
    probs = predict(model, crops, spec, mirror_average)
    eps = 1e-7
    clipped = np.clip(probs, eps, 1 - eps)
    loss = float(-np.mean(labels * np.log(clipped) + (1 - labels) * np.log(1 - clipped))) if len(labels) else 0.0
    return {"val_loss": loss, "val_ap": average_precision(probs, labels)}


def _seed_everything(seed: int, deterministic: bool) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def _split(crops: CropSet, seed: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    train, val = crops.select("train"), crops.select("val")
    if len(val) == 0 or int(crops.labels[val].sum()) == 0:
        # No usable val split recorded: hold out 15% of the images (all crops of one image together).
        rng = np.random.default_rng(seed)
        held = rng.random(len(crops.image_paths)) < 0.15
        mask = held[crops.image_index]
        train, val = np.nonzero(~mask)[0], np.nonzero(mask)[0]
    return train, val


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically write a plain-dict checkpoint."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors and plain types only)."""
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state


def main(crops: CropSet, config: TrainConfig, out_dir: Path, resume: Path | None = None) -> FitResult:
    """Train, keep the best model by val AP and pick the operating threshold on val.

    Args:
        crops: Crops of the training dataset (with train/val splits).
        config: Hyper-parameters.
        out_dir: Where ``last.pt`` and ``best.pt`` checkpoints go (outside the repository).
        resume: A ``last.pt`` to continue from.
    """
    started = time.monotonic()
    if crops.crops.shape[1] != config.spec.size_px:
        raise ValueError(f"crops are {crops.crops.shape[1]} px but the spec says {config.spec.size_px}")
    torch.set_num_threads(config.threads)
    generator = _seed_everything(config.seed, config.deterministic)
    train_idx, val_idx = _split(crops, config.seed)
    # Real negatives are what false alarms are measured on, and far fewer than composites: oversample them.
    paths = crops.image_paths[crops.image_index].astype(str)
    real_negative = np.char.startswith(paths, "real/") & (crops.labels == 0)
    extra = [train_idx[real_negative[train_idx]]] * (config.real_negative_repeat - 1)
    train_idx = np.concatenate([train_idx, *extra])
    train_labels = crops.labels[train_idx]
    positives = int(train_labels.sum())
    if positives == 0 or positives == len(train_labels):
        raise ValueError(f"training needs both classes; got {positives} positives of {len(train_labels)} crops")
    log.info("training on %d crops (%d positive), validating on %d", len(train_idx), positives, len(val_idx))
    # Channels-last: PyTorch's CPU kernels for depthwise convolutions (and their gradients) are about 1.5x
    # faster on it; results are the same up to rounding.
    model = build_model(config.architecture, config.width).to(memory_format=torch.channels_last)
    trainable, loader = _trainable_and_loader(model, crops.crops[train_idx], train_labels, config, generator)
    optimizer = torch.optim.AdamW(trainable.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * len(loader), pct_start=0.15
    )
    pos_weight = torch.tensor((len(train_labels) - positives) / positives, dtype=torch.float32)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    start_epoch, best_ap, best_epoch, bad_epochs = 0, -1.0, -1, 0
    history: list[dict[str, float]] = []
    best_state: dict[str, torch.Tensor] = {}
    if resume is not None:
        state = load_checkpoint(resume)
        if json.loads(state["config"]) != json.loads(config.model_dump_json()):
            raise ValueError(f"{resume} was trained with another config; refusing to resume")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        start_epoch, best_ap, best_epoch = state["epoch"] + 1, state["best_ap"], state["best_epoch"]
        bad_epochs, history, best_state = state["bad_epochs"], json.loads(state["history"]), state["best_model"]
        log.info("resumed from %s at epoch %d", resume, start_epoch)
    val_crops, val_labels = crops.crops[val_idx], crops.labels[val_idx]
    for epoch in range(start_epoch, config.epochs):
        loss = _epoch_with_schedule(trainable, loader, optimizer, scheduler, loss_fn, epoch)
        metrics = evaluate(model, val_crops, val_labels, config.spec, config.mirror_average)
        history.append({"epoch": float(epoch), "train_loss": loss, **metrics})
        log.info(
            "epoch %d: train loss %.4f, val loss %.4f, val AP %.4f", epoch, loss, metrics["val_loss"], metrics["val_ap"]
        )
        if metrics["val_ap"] > best_ap + 1e-4:
            best_ap, best_epoch, bad_epochs = metrics["val_ap"], epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        save_checkpoint(
            out_dir / "last.pt",
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "epoch": epoch,
                "best_ap": best_ap,
                "best_epoch": best_epoch,
                "bad_epochs": bad_epochs,
                "best_model": best_state,
                "history": json.dumps(history),
                "config": config.model_dump_json(),
            },
        )
        if bad_epochs >= config.patience:
            log.info("early stop at epoch %d (best %d, val AP %.4f)", epoch, best_epoch, best_ap)
            break
    model.load_state_dict(best_state)
    val_probs = predict(model, val_crops, config.spec, config.mirror_average)
    threshold = threshold_for_fpr(val_probs, val_labels, config.max_val_fpr)
    threshold = float(min(max(threshold, 0.05), 0.99))
    best_path = out_dir / "best.pt"
    save_checkpoint(
        best_path,
        {
            "model": best_state,
            "epoch": best_epoch,
            "val_ap": best_ap,
            "threshold": threshold,
            "history": json.dumps(history),
            "config": config.model_dump_json(),
        },
    )
    seconds = time.monotonic() - started
    log.info("best epoch %d, val AP %.4f, threshold %.3f, %.0f s", best_epoch, best_ap, threshold, seconds)
    return FitResult(best_path, best_epoch, best_ap, threshold, seconds, history)


def _epoch_with_schedule(
    model: nn.Module,
    loader: DataLoader[Any],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: nn.Module,
    epoch: int,
) -> float:
    # The one-cycle schedule steps per batch; a hook keeps train_one_epoch itself schedule-agnostic.
    handle = optimizer.register_step_post_hook(lambda *_: scheduler.step())
    try:
        loss = train_one_epoch(model, loader, optimizer, loss_fn, epoch)
    finally:
        handle.remove()
    if not math.isfinite(loss):
        raise FloatingPointError(f"non-finite mean loss at epoch {epoch}")
    return loss
