"""``nitrosignal train evaluate``: honest figures for a model on one or more labelled image or clip folders.

Per image, the score is the detector's own rule, computed by ``detector.score.score_paths`` (the live
analysis code: pose, hand-at-mouth gate, crop, classifier): the highest balloon-at-mouth probability among
the people found. A clip of a folder without ``events.csv`` counts as one item, scored by the same function
frame by frame with the live settings: the highest probability in any frame. The clips of a folder with
``events.csv`` are replayed through the live detector path instead, for event figures
(:mod:`training.clip_eval`, :mod:`training.clip_report`). From those scores: average precision, PR and ROC curves,
the threshold for a target precision, recall and the false-positive rate at the card's operating
threshold, the FPR per category (each look-alike on its own) and a reliability plot. Per person-size bin
the classifier is also scored on every person's crop (cut by the detector's crop code), so small-person
weaknesses show. Each missed synthetic positive is put down to the stage that lost it
(``training.misses``). Writes Markdown, HTML, PNG plots and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from detector.media import is_clip  # noqa: E402
from detector.model import LoadedModel, load_model  # noqa: E402
from detector.score import score_paths  # noqa: E402
from detector.settings import AnalysisSettings  # noqa: E402
from training.clip_eval import ClipEvalSettings, evaluate_clips, has_events  # noqa: E402
from training.clip_report import clip_markdown, clip_plots  # noqa: E402
from training.crops import BYSTANDER, CropSet, cut_crops  # noqa: E402
from training.dataset import (  # noqa: E402
    LABELS_FILE,
    PROVENANCE_FILE,
    Dataset,
    Provenance,
    SourceProvenance,
    load_dataset,
    read_labels,
)
from training.metrics import (  # noqa: E402
    average_precision,
    expected_calibration_error,
    pr_curve,
    reliability,
    roc_auc,
    roc_curve,
    threshold_for_precision,
)
from training.misses import MissedPositive, count_reasons, explain_misses  # noqa: E402
from training.report_html import markdown_to_html  # noqa: E402

log = logging.getLogger(__name__)

SIZE_BINS = ((0.0, 48.0), (48.0, 96.0), (96.0, 192.0), (192.0, float("inf")))
SYNTH_PREFIX = "images/"


@dataclass(frozen=True)
class ImageScores:
    """Per-image scores of one or more datasets."""

    paths: list[str]
    labels: NDArray[np.int64]
    categories: list[str]
    scores: NDArray[np.float64]
    people: NDArray[np.int64]
    synthetic: NDArray[np.bool_]


def load_for_eval(root: Path) -> Dataset:
    """A dataset for evaluation; a folder with labels but no ``dataset.yaml`` (like the shared eval) is accepted."""
    if (root / PROVENANCE_FILE).is_file():
        return load_dataset(root)
    log.warning("%s has no %s; evaluating without provenance (never train on it)", root, PROVENANCE_FILE)
    rows = read_labels(root / LABELS_FILE)
    placeholder = Provenance(
        name=root.name,
        sources=(
            SourceProvenance(
                name="unrecorded",
                origin="unrecorded",
                licence="unrecorded",
                legal_basis="evaluation only",
                collected="unknown",
                paths=("*",),
            ),
        ),
    )
    return Dataset(root=root, rows=tuple(rows), provenance=placeholder)


def score_images(datasets: list[Dataset], model: LoadedModel, settings: AnalysisSettings) -> ImageScores:
    """Score every image (image-mode pose) and clip (the live settings) with the detector's ``score_paths``."""
    rows = [(d, r) for d in datasets for r in d.rows]
    lines = list(score_paths([d.image_path(r) for d, r in rows], settings, model))
    return ImageScores(
        paths=[f"{d.root.name}/{r.path}" for d, r in rows],
        labels=np.asarray([1 if r.label == "positive" else 0 for _, r in rows], dtype=np.int64),
        categories=[r.category or "uncategorised" for _, r in rows],
        scores=np.asarray([line.score for line in lines], dtype=np.float64),
        people=np.asarray([line.people for line in lines], dtype=np.int64),
        synthetic=np.asarray([r.path.startswith(SYNTH_PREFIX) for _, r in rows], dtype=np.bool_),
    )


def _explain_misses(
    datasets: list[Dataset], scores: ImageScores, threshold: float, settings: AnalysisSettings, cache_dir: Path | None
) -> list[MissedPositive]:
    by_path = dict(zip(scores.paths, scores.scores.tolist(), strict=True))
    missed = []
    for dataset in datasets:
        own = {row.path: by_path[f"{dataset.root.name}/{row.path}"] for row in dataset.rows}
        for miss in explain_misses(dataset, own, threshold, settings, cache_dir):
            missed.append(miss.model_copy(update={"path": f"{dataset.root.name}/{miss.path}"}))
    return missed


def size_bins(crop_sets: list[CropSet], model: LoadedModel, threshold: float) -> list[dict[str, Any]]:
    """Recall of balloon carriers and FPR of other people, per body-scale bin (classifier on every person)."""
    from detector.evidence.crop import to_model_input

    table = []
    labels = np.concatenate([c.labels for c in crop_sets]) if crop_sets else np.zeros(0, np.int64)
    scales = np.concatenate([c.scales for c in crop_sets]) if crop_sets else np.zeros(0)
    categories = np.concatenate([c.categories for c in crop_sets]) if crop_sets else np.zeros(0, np.str_)
    probs = []
    for crop_set in crop_sets:
        for start in range(0, len(crop_set.labels), 256):
            batch = to_model_input(list(crop_set.crops[start : start + 256]), model.card.input)
            probs.append(model.predict(batch))
    scores = np.concatenate(probs) if probs else np.zeros(0)
    for low, high in SIZE_BINS:
        mask = (scales >= low) & (scales < high)
        pos, neg = mask & (labels == 1), mask & (labels == 0) & (categories != BYSTANDER)
        table.append(
            {
                "bin_px": f"{low:.0f}-{high:.0f}" if np.isfinite(high) else f">={low:.0f}",
                "positives": int(pos.sum()),
                "recall": float((scores[pos] >= threshold).mean()) if pos.any() else float("nan"),
                "negatives": int(neg.sum()),
                "fpr": float((scores[neg] >= threshold).mean()) if neg.any() else float("nan"),
            }
        )
    return table


def compute_metrics(s: ImageScores, threshold: float, target_precision: float) -> dict[str, Any]:
    """All image-level figures at the operating threshold."""
    hit = s.scores >= threshold
    pos, neg = s.labels == 1, s.labels == 0
    real_neg = neg & ~s.synthetic
    by_category: dict[str, dict[str, float]] = {}
    for category in sorted(set(s.categories)):
        mask = np.asarray([c == category for c in s.categories]) & real_neg
        if mask.any():
            by_category[category] = {
                "images": int(mask.sum()),
                "false_positives": int(hit[mask].sum()),
                "fpr": float(hit[mask].mean()),
            }
    real_positives = [
        {"path": p, "score": float(sc), "detected": bool(sc >= threshold)}
        for p, sc, lab, syn in zip(s.paths, s.scores, s.labels, s.synthetic, strict=True)
        if lab == 1 and not syn
    ]
    synth_pos = pos & s.synthetic
    return {
        "threshold": threshold,
        "images": int(len(s.labels)),
        "positives": int(pos.sum()),
        "negatives": int(neg.sum()),
        "average_precision": average_precision(s.scores, s.labels),
        "roc_auc": roc_auc(s.scores, s.labels),
        "recall": float(hit[pos].mean()) if pos.any() else float("nan"),
        "recall_synthetic": float(hit[synth_pos].mean()) if synth_pos.any() else float("nan"),
        "synthetic_positives": int(synth_pos.sum()),
        "synthetic_positives_without_people": int((synth_pos & (s.people == 0)).sum()),
        "fpr_real_negatives": float(hit[real_neg].mean()) if real_neg.any() else float("nan"),
        "real_negatives": int(real_neg.sum()),
        "false_positives_real": int(hit[real_neg].sum()),
        "precision": float(s.labels[hit].mean()) if hit.any() else float("nan"),
        f"threshold_at_precision_{target_precision:g}": threshold_for_precision(s.scores, s.labels, target_precision),
        "expected_calibration_error": expected_calibration_error(s.scores, s.labels),
        "fpr_by_category": by_category,
        "real_positives": real_positives,
    }


def _plots(s: ImageScores, threshold: float, out: Path) -> list[str]:
    names = []
    fig, ax = plt.subplots(figsize=(4.5, 4))
    pr = pr_curve(s.scores, s.labels)
    ax.step(pr.x, pr.y, where="post")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (per image)", xlim=(0, 1), ylim=(0, 1.02))
    fig.tight_layout()
    fig.savefig(out / "pr_curve.png", dpi=110)
    names.append("pr_curve.png")
    fig, ax = plt.subplots(figsize=(4.5, 4))
    roc = roc_curve(s.scores, s.labels)
    ax.plot(roc.x, roc.y)
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="false-positive rate", ylabel="recall", title="ROC (per image)")
    fig.tight_layout()
    fig.savefig(out / "roc_curve.png", dpi=110)
    names.append("roc_curve.png")
    fig, ax = plt.subplots(figsize=(4.5, 4))
    mean_pred, observed, counts = reliability(s.scores, s.labels)
    ok = counts > 0
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.plot(mean_pred[ok], observed[ok], "o-")
    ax.set(xlabel="mean predicted probability", ylabel="observed positive rate", title="Reliability")
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=110)
    names.append("reliability.png")
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    bins = [float(b) for b in np.linspace(0, 1, 41)]
    ax.hist(s.scores[s.labels == 0], bins=bins, alpha=0.6, label="negative", log=True)
    ax.hist(s.scores[s.labels == 1], bins=bins, alpha=0.6, label="positive", log=True)
    ax.axvline(threshold, color="red", linestyle="--", label="threshold")
    ax.set(xlabel="score", ylabel="images", title="Score distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=110)
    names.append("scores.png")
    plt.close("all")
    return names


def _markdown(metrics: dict[str, Any], model: LoadedModel, plots: list[str]) -> str:
    lines = [
        f"# Evaluation of {model.card.id} {model.card.version}",
        "",
        f"Operating threshold {metrics['threshold']:.3f} (from the model card). Per-image score = highest "
        "balloon-at-mouth probability among the people found, by the detector's own code.",
        "",
        "| figure | value |",
        "| --- | --- |",
    ]
    for key in (
        "images",
        "positives",
        "negatives",
        "average_precision",
        "roc_auc",
        "recall",
        "recall_synthetic",
        "synthetic_positives",
        "synthetic_positives_without_people",
        "real_negatives",
        "false_positives_real",
        "fpr_real_negatives",
        "precision",
        "expected_calibration_error",
    ):
        value = metrics[key]
        lines.append(f"| {key} | {value:.4f} |" if isinstance(value, float) else f"| {key} | {value} |")
    for key, value in metrics.items():
        if key.startswith("threshold_at_precision"):
            lines.append(f"| {key} | {value if value is None else f'{value:.4f}'} |")
    lines += [
        "",
        "## False-positive rate per category (real negatives)",
        "",
        "| category | images | FP | FPR |",
        "| --- | --- | --- | --- |",
    ]
    for name, row in metrics["fpr_by_category"].items():
        lines.append(f"| {name} | {row['images']} | {row['false_positives']} | {row['fpr']:.4f} |")
    lines += ["", "## Real positive photos", "", "| path | score | detected |", "| --- | --- | --- |"]
    lines += [f"| {r['path']} | {r['score']:.4f} | {r['detected']} |" for r in metrics["real_positives"]]
    lines += [
        "",
        "## Per person size (body scale in px; classifier on every person's crop)",
        "",
        "| bin | positives | recall | negatives | FPR |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['bin_px']} | {r['positives']} | {r['recall']:.3f} | {r['negatives']} | {r['fpr']:.3f} |"
        for r in metrics["size_bins"]
    ]
    lines += [
        "",
        "## Why synthetic positives were missed (the first stage that lost them)",
        "",
        "| reason | positives |",
        "| --- | --- |",
    ]
    lines += [f"| {reason} | {count} |" for reason, count in metrics["missed_positives_by_reason"].items()]
    if metrics["missed_positives"]:
        lines += ["", "| missed positive | score | reason | mouth shift (body scales) |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {m['path']} | {m['score']:.4f} | {m['reason']} | "
            f"{'-' if m['mouth_shift_scales'] is None else format(m['mouth_shift_scales'], '.2f')} |"
            for m in metrics["missed_positives"]
        ]
    lines += ["", "## Plots", ""] + [f"![{name}]({name})" for name in plots]
    return "\n".join(lines) + "\n"


def run_evaluation(
    data: list[Path],
    model_path: Path,
    out: Path,
    cache_dir: Path | None,
    target_precision: float = 0.95,
    clip_settings: ClipEvalSettings | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Evaluate a model (with its card next to it) on labelled folders and write the report.

    Photos, and the clips of a folder without ``events.csv``, are scored one by one (image figures). The clips
    of a folder with ``events.csv`` are replayed through the live detector path (event figures,
    :mod:`training.clip_eval`); those figures sit under ``clip_events``.

    Args:
        data: Dataset folders (``labels.csv``; synthetic ones also ``synth.jsonl``; clip sets ``events.csv``).
        model_path: ONNX model with ``<model>.card.json`` beside it (the file the detector runs).
        out: Report folder (created).
        cache_dir: Pose/crop cache (outside the repository), or None.
        target_precision: Precision for which the report gives the threshold.
        clip_settings: How clips with events are replayed; None for the camera defaults.
        workers: Processes replaying clips with events.

    Returns:
        The metrics, also written to ``out/metrics.json``.
    """
    # Training evaluates its own export before it is signed: the file's card and sha256 are still checked.
    model = load_model(model_path, trusted_keys=None)
    datasets = [load_for_eval(root) for root in data]
    event_sets = [d for d in datasets if has_events(d)]
    photo_sets = [
        d.model_copy(update={"rows": tuple(r for r in d.rows if not (has_events(d) and is_clip(r.path)))})
        for d in datasets
    ]
    photo_sets = [d for d in photo_sets if d.rows]
    threshold = model.card.threshold
    metrics: dict[str, Any] = {"threshold": threshold}
    out.mkdir(parents=True, exist_ok=True)
    plots: list[str] = []
    if photo_sets:
        scores = score_images(photo_sets, model, AnalysisSettings())
        metrics.update(_photo_metrics(photo_sets, scores, model, cache_dir, target_precision))
        plots += _plots(scores, threshold, out)
        _write_scores(out, scores)
    if event_sets:
        summary = evaluate_clips(event_sets, model_path, threshold, clip_settings or ClipEvalSettings(), workers)
        metrics["clip_events"] = summary
        plots += clip_plots(summary, threshold, out)
        log.info(
            "clips: event recall %.3f, median time to alert %.2f s, %d false alerts in %.1f camera-minutes",
            summary["event_recall"],
            summary["time_to_alert_median_s"],
            summary["false_alerts"],
            summary["negative_camera_minutes"],
        )
    metrics["model"] = {"id": model.card.id, "version": model.card.version, "sha256": model.card.sha256}
    markdown = _markdown(metrics, model, plots) if photo_sets else _clip_only_header(model)
    if event_sets:
        markdown += "\n".join(clip_markdown(metrics["clip_events"], threshold)) + "\n"
    (out / "report.md").write_text(markdown)
    (out / "report.html").write_text(markdown_to_html(markdown, plots))
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True, default=str) + "\n")
    return metrics


def _clip_only_header(model: LoadedModel) -> str:
    return f"# Evaluation of {model.card.id} {model.card.version}\n"


def _photo_metrics(
    datasets: list[Dataset], scores: ImageScores, model: LoadedModel, cache_dir: Path | None, target_precision: float
) -> dict[str, Any]:
    threshold = model.card.threshold
    metrics = compute_metrics(scores, threshold, target_precision)
    crop_sets = [cut_crops(d, model.card.input, cache_dir) for d in datasets]
    metrics["size_bins"] = size_bins(crop_sets, model, threshold)
    metrics["positives_lost_by_pose"] = int(sum(int(c.missed_positive.sum()) for c in crop_sets))
    missed = _explain_misses(datasets, scores, threshold, AnalysisSettings(), cache_dir)
    metrics["missed_positives_by_reason"] = count_reasons(missed)
    metrics["missed_positives"] = [m.model_dump() for m in missed]
    log.info(
        "recall %.3f, real FPR %.4f, AP %.3f at threshold %.3f",
        metrics["recall"],
        metrics["fpr_real_negatives"],
        metrics["average_precision"],
        threshold,
    )
    return metrics


def _write_scores(out: Path, scores: ImageScores) -> None:
    (out / "scores.jsonl").write_text(
        "".join(
            json.dumps({"path": p, "label": int(lab), "category": c, "score": float(sc), "people": int(n)}) + "\n"
            for p, lab, c, sc, n in zip(
                scores.paths, scores.labels, scores.categories, scores.scores, scores.people, strict=True
            )
        )
    )
