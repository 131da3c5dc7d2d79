"""``nitrosignal train default-model``: the one command that produces the shipped model from the train folder.

Steps (each deterministic for the seed; intermediate data and caches go to a work folder outside the repo):

1. synth on ``train/`` (real balloons + rendered balloons at real mouths, hard negatives, real negatives);
2. synth positives on ``eval/`` people and balloons only (never mixed with training), for recall;
3. crops with the detector's pose and crop code, then ``fit``;
4. export to a staging folder, evaluate with the detector's scoring on the real ``eval/`` photos plus the
   eval positives, and, with ``--video``, on clips built from the real footage with eval balloons
   (``synth-clips``), replayed through the live path for event figures;
5. export again into ``--out`` with the eval figures in the card, and sign the card.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nitrosignal.modelcard import CropSpec, DataSource
from training.crops import crops_for
from training.dataset import load_dataset
from training.evaluate import run_evaluation
from training.export import CardInputs, ExportResult, export_model
from training.frontend import default_pose_workers
from training.synth.build import SHARED_MANIFEST, SynthConfig, synthesise
from training.synth.clips import SHARED_VIDEO_MANIFEST, ClipSynthConfig, synthesise_clips
from training.train import TRAIN_CROP_SPEC, TrainConfig, main

log = logging.getLogger(__name__)

MODEL_FILE = "balloon-at-mouth.onnx"
# The version default-model writes on the card: the shipped model's, bumped with every release of it.
DEFAULT_MODEL_VERSION = "2.2.0"
EVAL_SYNTH = SynthConfig(
    hosts=("people", "hand_at_mouth"),
    weights={"balloon_at_mouth": 1.0},
    scenes_per_person=3,
    hand_near_mouth_factor=1,
    include_real=False,
    val_fraction=0.0,
    # The detector classifies only people whose hand is near the mouth (its gate), as a user holding a
    # balloon's neck has; eval positives are built on such people.
    max_hand_distance=0.6,
)


@dataclass(frozen=True)
class DefaultModelResult:
    """What default-model produced."""

    export: ExportResult
    metrics: dict[str, Any]
    train_seconds: float
    total_seconds: float


def _synth_once(root: Path, out: Path, config: SynthConfig, cache: Path) -> None:
    # A finished synth folder (labels written last) is reused: same seed, same inputs, same output.
    if (out / "labels.csv").is_file():
        log.info("reusing %s", out)
        return
    if out.exists():
        shutil.rmtree(out)
    synthesise(root, out, config, SHARED_MANIFEST, cache)


# The event figures of the clip benchmark that the card carries (training.event_metrics), under these names.
CARD_EVENT_FIGURES = {
    "event_recall": "event_recall",
    "event_recall_strict": "event_recall_own_alert",
    "time_to_alert_median_s": "event_time_to_alert_median_s",
    "time_to_alert_p90_s": "event_time_to_alert_p90_s",
    "alerts_per_event": "event_alerts_per_event",
    "events": "event_positive_events",
    "negative_camera_hours": "event_negative_camera_hours",
    "false_alerts": "event_false_alerts",
    "false_alerts_per_camera_hour": "event_false_alerts_per_camera_hour",
    "false_alerts_per_camera_hour_upper95": "event_false_alerts_per_camera_hour_upper95",
}


def _clips_once(videos: Path, objects: Path, out: Path, config: ClipSynthConfig, cache: Path) -> None:
    # A finished clip folder (labels written last) is reused: same seed, same inputs, same clips.
    if (out / "labels.csv").is_file():
        log.info("reusing %s", out)
        return
    if out.exists():
        shutil.rmtree(out)
    synthesise_clips(
        videos, objects, out, config, SHARED_VIDEO_MANIFEST, SHARED_MANIFEST, cache, default_pose_workers()
    )


def _clip_details(clips: dict[str, Any]) -> dict[str, Any]:
    """The clip benchmark's tables for the card's details: per category, height and source, and refusals."""
    keys = ("false_alerts_by_category", "lookalike_events", "by_height", "refused", "settings")
    details = {key: clips[key] for key in keys}
    details["by_source"] = {
        name: {k: row[k] for k in ("events", "event_recall", "false_alerts", "camera_hours")}
        for name, row in clips["by_source"].items()
    }
    return details


def headline(metrics: dict[str, Any]) -> tuple[dict[str, float], dict[str, float]]:
    """Card metrics and per-category FPR from an evaluation's metrics (photo figures, clip event figures)."""
    keys = (
        "average_precision",
        "roc_auc",
        "recall",
        "recall_synthetic",
        "fpr_real_negatives",
        "precision",
        "expected_calibration_error",
    )
    card = {k: float(metrics[k]) for k in keys if isinstance(metrics.get(k), float)}
    if "real_negatives" in metrics:
        card["real_negatives"] = float(metrics["real_negatives"])
        card["synthetic_positives"] = float(metrics["synthetic_positives"])
        for index, positive in enumerate(metrics["real_positives"]):
            card[f"real_positive_{index}_score"] = float(positive["score"])
    clips = metrics.get("clip_events", {})
    for key, name in CARD_EVENT_FIGURES.items():
        value = clips.get(key)
        # A figure that could not be measured (no alert at all: no time to alert) is left off, not written as NaN.
        if isinstance(value, int | float) and math.isfinite(value):
            card[name] = float(value)
    fpr = {name: float(row["fpr"]) for name, row in metrics.get("fpr_by_category", {}).items()}
    return card, fpr


def default_model(
    train_dir: Path,
    eval_dir: Path,
    out_dir: Path,
    work_dir: Path,
    signing_key: Path | None,
    seed: int = 0,
    version: str = DEFAULT_MODEL_VERSION,
    spec: CropSpec = TRAIN_CROP_SPEC,
    video_dir: Path | None = None,
) -> DefaultModelResult:
    """Build, evaluate, export and sign the default model.

    Args:
        train_dir: The shared ``train/`` folder.
        eval_dir: The shared ``eval/`` folder (its people and balloons build eval positives; never trained on).
        out_dir: Where the model, card and signature go (``detector/models`` for the shipped model).
        work_dir: Work folder outside the repository (synthetic data, caches, checkpoints, report).
        signing_key: Ed25519 private key; None leaves the model unsigned.
        seed: Seed for synth and training.
        version: Model version for the card.
        spec: The classifier's crop (size and geometry version); the card carries it to the detector.
        video_dir: The shared ``video/`` folder: evaluation clips are built on it with eval balloons
            (``synth-clips``) and replayed through the live path; their event figures go on the card. None
            leaves the clip benchmark out.
    """
    started = time.monotonic()
    cache = work_dir / "cache"
    synth_train = work_dir / f"synth-train-seed{seed}"
    synth_eval = work_dir / f"synth-eval-seed{seed}"
    _synth_once(train_dir, synth_train, SynthConfig(seed=seed), cache)
    _synth_once(eval_dir, synth_eval, EVAL_SYNTH.model_copy(update={"seed": seed + 1000}), cache)
    eval_sets = [eval_dir, synth_eval]
    if video_dir is not None:
        clips = work_dir / f"synth-clips-seed{seed}"
        # The same seed as `train synth-clips` by default: both commands build the same clips.
        _clips_once(video_dir, eval_dir, clips, ClipSynthConfig(seed=seed), cache)
        eval_sets.append(clips)
    config = TrainConfig(seed=seed, spec=spec)
    # Runs with another crop share the work folder's synth data and pose cache, not its checkpoints or report.
    tag = f"seed{seed}" if spec == TRAIN_CROP_SPEC else f"seed{seed}-{spec.crop_version}-{spec.size_px}px"
    report_dir = work_dir / f"report-{tag}"
    crops = crops_for(synth_train, config.spec, cache, default_pose_workers())
    fit_started = time.monotonic()
    fit = main(crops, config, work_dir / f"run-{tag}")
    train_seconds = time.monotonic() - fit_started
    training_data: tuple[DataSource, ...] = load_dataset(synth_train).provenance.data_sources(
        load_dataset(synth_train).rows
    )
    staging = work_dir / "staging" / MODEL_FILE
    export_model(
        fit.checkpoint,
        staging,
        CardInputs(version=version, training_data=training_data, metrics={}, fpr_by_category={}),
        None,
    )
    metrics = run_evaluation(eval_sets, staging, report_dir, cache, workers=default_pose_workers())
    card_metrics, fpr = headline(metrics)
    card_metrics["train_seconds"] = round(train_seconds, 1)
    extra = {
        "seed": seed,
        "best_epoch": fit.best_epoch,
        "val_ap": fit.val_ap,
        "train_crops": int(len(crops.labels)),
        "train_positive_crops": int(crops.labels.sum()),
        "eval": {
            k: metrics[k]
            for k in ("real_positives", "size_bins", "positives_lost_by_pose", "missed_positives_by_reason")
        },
        **({"clip_events": _clip_details(metrics["clip_events"])} if "clip_events" in metrics else {}),
        "note": "Training positives include procedurally rendered balloons (training.synth.rendered) as well as "
        "real balloons cut from photos; eval positives use only eval people and eval balloons.",
    }
    result = export_model(
        fit.checkpoint,
        out_dir / MODEL_FILE,
        CardInputs(
            version=version, training_data=training_data, metrics=card_metrics, fpr_by_category=fpr, extra=extra
        ),
        signing_key,
    )
    (report_dir / "default-model.json").write_text(
        json.dumps({"train_seconds": train_seconds, "total_seconds": time.monotonic() - started}, indent=2)
    )
    return DefaultModelResult(result, metrics, train_seconds, time.monotonic() - started)
