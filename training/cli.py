"""``nitrosignal train ...``: check datasets, build synthetic data, cut crops, train, evaluate, export, publish.

Every command takes its data folders as arguments; nothing reads a fixed path. Intermediate data, pose and
crop caches and checkpoints go to a work folder outside the repository (``--work``, default
``/tmp/nitro-train``).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import cast

import typer

app = typer.Typer(
    help="Model pipeline: datasets with provenance, semi-synthetic data, training, evaluation, signed export.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_WORK = Path("/tmp/nitro-train")
WORK_HELP = "Work folder outside the repository for caches, synthetic data and checkpoints."
POSE_WORKERS_HELP = "Processes that run pose to fill the cache (default: one per CPU); the crops are the same."


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(name)s %(message)s")


@app.command()
def check(dataset: Path = typer.Argument(..., help="Dataset folder with labels.csv and dataset.yaml.")) -> None:
    """Refuse a dataset without provenance; report its class, category, split and source balance."""
    from training.check import check_dataset
    from training.dataset import DatasetError

    try:
        report = check_dataset(dataset)
    except DatasetError as error:
        typer.echo(f"REFUSED: {error}", err=True)
        raise typer.Exit(code=1) from error
    for line in report.lines():
        typer.echo(line)


@app.command("import-boxes")
def import_boxes(
    out: Path = typer.Argument(..., help="boxes.csv to write (path,category,xmin,ymin,xmax,ymax in pixels)."),
    coco: Path | None = typer.Option(None, help="COCO detection JSON to convert."),
    yolo_images: Path | None = typer.Option(None, help="Image folder of a YOLO set."),
    yolo_labels: Path | None = typer.Option(None, help="Label folder (<stem>.txt) of a YOLO set."),
    yolo_names: str = typer.Option("", help="Comma-separated class names by YOLO index."),
    matterport: Path | None = typer.Option(None, help="Matterport balloon boxes.csv (fname,...,bbox) to convert."),
) -> None:
    """Convert COCO, YOLO or Matterport boxes into one boxes.csv that synth can read."""
    from training.importers import read_coco, read_matterport_csv, read_yolo, write_boxes

    boxes = []
    if coco is not None:
        boxes += read_coco(coco)
    if yolo_images is not None or yolo_labels is not None:
        if yolo_images is None or yolo_labels is None:
            raise typer.BadParameter("--yolo-images and --yolo-labels go together")
        names = tuple(n.strip() for n in yolo_names.split(",") if n.strip())
        boxes += read_yolo(yolo_images, yolo_labels, names)
    if matterport is not None:
        boxes += read_matterport_csv(matterport)
    if not boxes:
        raise typer.BadParameter("give at least one of --coco, --yolo-images/--yolo-labels, --matterport")
    typer.echo(f"wrote {write_boxes(out, boxes)} boxes to {out}")


@app.command()
def synth(
    data: Path = typer.Option(..., help="Data folder with host people and balloons (e.g. the shared train/)."),
    out: Path = typer.Option(..., help="New dataset folder to write (must be empty or absent)."),
    seed: int = typer.Option(0, help="Seed; the same seed and inputs give the same dataset."),
    manifest: Path | None = typer.Option(
        None, help="Provenance manifest of the data folder (default: shipped one for the shared collection)."
    ),
    scenes_per_person: int | None = typer.Option(
        None, help="Scenes composed per usable person (default: SynthConfig's, the shipped model's)."
    ),
    positives_only: bool = typer.Option(False, help="Only balloon-at-mouth scenes with real balloons (eval sets)."),
    hand_near_mouth: float | None = typer.Option(
        None, help="Only people with a hand within this many body scales of the mouth."
    ),
    include_real: bool = typer.Option(True, help="Copy the folder's real negatives along."),
    balloon_variation: float = typer.Option(
        0.0, help="Share of real balloons pasted recoloured and stretched (an experiment; off for the shipped model)."
    ),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Composite real (and rendered) balloons at real mouths, plus hard negatives, with inherited provenance."""
    _logging(verbose)
    from training.synth.build import SHARED_MANIFEST, SynthConfig, synthesise

    options: dict[str, object] = {
        "seed": seed,
        "include_real": include_real,
        "max_hand_distance": hand_near_mouth,
        "balloon_variation": balloon_variation,
    }
    if scenes_per_person is not None:
        options["scenes_per_person"] = scenes_per_person
    config = SynthConfig.model_validate(options)
    if positives_only:
        config = config.model_copy(update={"weights": {"balloon_at_mouth": 1.0}, "hosts": ("people", "hand_at_mouth")})
    provenance = synthesise(data, out, config, manifest or SHARED_MANIFEST, work / "cache")
    typer.echo(f"wrote {out} ({len(provenance.sources)} sources)")


@app.command("synth-clips")
def synth_clips(
    videos: Path = typer.Option(..., help="Folder of real clips (video files, animated GIFs), e.g. the shared video/."),
    objects: Path = typer.Option(
        ..., help="Folder with balloons/ (photos and boxes.csv); the shared eval/ for evaluation clips."
    ),
    out: Path = typer.Option(..., help="New dataset folder to write (must be empty or absent)."),
    seed: int = typer.Option(0, help="Seed; the same seed and inputs give the same clips."),
    positives_per_host: int | None = typer.Option(None, help="Balloon-use clips per host (default: the config's)."),
    video_manifest: Path | None = typer.Option(
        None, help="Provenance of the video folder (default: shipped one for the shared footage)."
    ),
    objects_manifest: Path | None = typer.Option(
        None, help="Provenance of the objects folder (default: shipped one for the shared photos)."
    ),
    pose_workers: int | None = typer.Option(None, min=1, help=POSE_WORKERS_HELP),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
) -> None:
    """Composite balloon use and look-alikes over time onto real people in real clips, with events.csv."""
    _logging(verbose)
    from training.dataset import DatasetError
    from training.frontend import default_pose_workers
    from training.synth.build import SHARED_MANIFEST
    from training.synth.clips import SHARED_VIDEO_MANIFEST, ClipSynthConfig, synthesise_clips

    options: dict[str, object] = {"seed": seed}
    if positives_per_host is not None:
        options["positives_per_host"] = positives_per_host
    try:
        outcomes = synthesise_clips(
            videos,
            objects,
            out,
            ClipSynthConfig.model_validate(options),
            video_manifest or SHARED_VIDEO_MANIFEST,
            objects_manifest or SHARED_MANIFEST,
            work / "cache",
            pose_workers or default_pose_workers(),
        )
    except (DatasetError, FileExistsError) as error:
        typer.echo(f"REFUSED: {error}", err=True)
        raise typer.Exit(code=1) from error
    for outcome in outcomes:
        built = f"{outcome.positive_events} events on {outcome.hosts} hosts, {outcome.lookalike_clips} look-alike clips"
        why = outcome.refused or outcome.skipped
        typer.echo(
            f"{outcome.clip}: {built}" + (f"; {'REFUSED' if outcome.refused else 'no event'}: {why}" if why else "")
        )
    events = sum(o.positive_events for o in outcomes)
    typer.echo(f"wrote {out}: {events} positive events from {sum(1 for o in outcomes if o.positive_events)} clips")


@app.command()
def crops(
    dataset: Path = typer.Argument(..., help="Dataset folder (labels.csv + dataset.yaml)."),
    size: int | None = typer.Option(None, help="Crop side in pixels (default: the training crop spec's)."),
    pose_workers: int | None = typer.Option(None, min=1, help=POSE_WORKERS_HELP),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
) -> None:
    """Cut every person's mouth crop with the detector's own pose and crop code (cached under --work)."""
    _logging(False)
    from training.crops import crops_for
    from training.frontend import default_pose_workers
    from training.train import TRAIN_CROP_SPEC

    # The training spec (size and normalisation) by default, so fit finds these crops in the cache.
    spec = TRAIN_CROP_SPEC if size is None else TRAIN_CROP_SPEC.model_copy(update={"size_px": size})
    result = crops_for(dataset, spec, work / "cache", pose_workers or default_pose_workers())
    typer.echo(
        json.dumps(
            {
                "crops": int(len(result.labels)),
                "positive": int(result.labels.sum()),
                "positive_images_lost_by_pose": int(result.missed_positive.sum()),
            }
        )
    )


@app.command()
def fit(
    dataset: Path = typer.Argument(..., help="Training dataset folder (labels.csv + dataset.yaml)."),
    run: Path = typer.Option(DEFAULT_WORK / "run", help="Checkpoint folder (last.pt, best.pt), outside the repo."),
    epochs: int | None = typer.Option(None, help="Most epochs (default TrainConfig's; early stopping may end sooner)."),
    seed: int = typer.Option(0, help="Seed for initialisation and shuffling."),
    architecture: str = typer.Option(
        "efficientnet_lite0",
        help="efficientnet_lite0 (from ImageNet weights), compact-cnn or mobilenet_v3_small (from scratch).",
    ),
    frozen_blocks: int | None = typer.Option(
        None, help="Blocks kept at ImageNet weights (efficientnet_lite0; default TrainConfig's); 0 for the others."
    ),
    resume: Path | None = typer.Option(None, help="last.pt to continue from."),
    pose_workers: int | None = typer.Option(None, min=1, help=POSE_WORKERS_HELP),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
) -> None:
    """Train the classifier on the dataset's crops; writes best.pt with the val-chosen threshold."""
    _logging(False)
    from training.crops import crops_for
    from training.frontend import default_pose_workers
    from training.model import PRETRAINED_ARCHITECTURE
    from training.train import TrainConfig, main

    settings: dict[str, object] = {"seed": seed, "architecture": architecture}
    if epochs is not None:
        settings["epochs"] = epochs
    if frozen_blocks is not None:
        settings["frozen_blocks"] = frozen_blocks
    elif architecture != PRETRAINED_ARCHITECTURE:
        settings["frozen_blocks"] = 0  # the from-scratch backbones have no pretrained blocks to keep
    config = TrainConfig.model_validate(settings)
    crop_set = crops_for(dataset, config.spec, work / "cache", pose_workers or default_pose_workers())
    result = main(crop_set, config, run, resume)
    typer.echo(
        json.dumps(
            {
                "checkpoint": str(result.checkpoint),
                "best_epoch": result.best_epoch,
                "val_ap": result.val_ap,
                "threshold": result.threshold,
                "seconds": round(result.seconds),
            }
        )
    )


@app.command()
def evaluate(
    data: list[Path] = typer.Option(..., help="Labelled folder(s) to evaluate on; repeat for several."),
    model: Path = typer.Option(..., help="ONNX model with its .card.json next to it."),
    out: Path = typer.Option(DEFAULT_WORK / "report", help="Report folder (Markdown, HTML, PNG, metrics.json)."),
    target_precision: float = typer.Option(0.95, help="Precision for which the threshold is reported."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Replay clips with this camera config's analysis, motion gate and analysis rate."
    ),
    analysis_fps: float | None = typer.Option(None, help="Analysis rate for clips (default: the camera's, 10 fps)."),
    grace: float = typer.Option(2.0, help="Seconds after an event in which its alert still counts."),
    workers: int | None = typer.Option(None, min=1, help="Processes replaying clips (default: one per CPU)."),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
) -> None:
    """Score photos with the detector's code (AP, PR/ROC, FPR per category, misses); replay clips with events.csv
    through the live path (event recall, time to alert, false alerts per camera-hour)."""
    _logging(False)
    from detector.media import ImageReadError
    from detector.model import ModelLoadError
    from training.clip_eval import ClipEvalSettings
    from training.dataset import DatasetError
    from training.evaluate import run_evaluation
    from training.frontend import default_pose_workers

    settings = ClipEvalSettings(grace_s=grace)
    if config is not None:
        from detector.config import ConfigError, load_config

        try:
            camera = load_config(config, with_files=False)
        except ConfigError as error:
            typer.echo(f"REFUSED: {error}", err=True)
            raise typer.Exit(code=1) from error
        settings = settings.model_copy(
            update={"analysis": camera.analysis, "motion": camera.motion, "analysis_fps": camera.source.analysis_fps}
        )
    if analysis_fps is not None:
        settings = settings.model_copy(update={"analysis_fps": analysis_fps})
    try:
        metrics = run_evaluation(
            list(data), model, out, work / "cache", target_precision, settings, workers or default_pose_workers()
        )
    except (DatasetError, ModelLoadError, ImageReadError, FileNotFoundError, ValueError) as error:
        typer.echo(f"REFUSED: {error}", err=True)
        raise typer.Exit(code=1) from error
    photo_keys = ("recall", "fpr_real_negatives", "average_precision", "threshold")
    typer.echo(json.dumps({k: metrics[k] for k in photo_keys if k in metrics}))
    if "clip_events" in metrics:
        clips = metrics["clip_events"]
        event_keys = (
            "events",
            "event_recall",
            "event_recall_strict",
            "time_to_alert_median_s",
            "time_to_alert_p90_s",
            "alerts_per_event",
            "negative_camera_minutes",
            "false_alerts",
            "false_alerts_per_camera_hour",
            "false_alerts_per_camera_hour_upper95",
        )
        typer.echo(json.dumps({k: clips[k] for k in event_keys} | {"refused": len(clips["refused"])}))
        for item in clips["refused"]:
            typer.echo(f"REFUSED clip {item['path']}: {item['reason']}", err=True)
    typer.echo(f"report: {out / 'report.md'}")


@app.command()
def export(
    checkpoint: Path = typer.Argument(..., help="best.pt from fit."),
    out: Path = typer.Option(
        ..., help="ONNX file to write, e.g. model.onnx; the TorchScript file goes next to it as model.pt."
    ),
    version: str = typer.Option(..., help="Model version for the card (lowercase token, e.g. 1.0.1)."),
    dataset: Path = typer.Option(..., help="The training dataset (its provenance goes into the card)."),
    metrics: Path | None = typer.Option(None, help="metrics.json from evaluate, for the card."),
    signing_key: Path | None = typer.Option(None, help="Ed25519 private key (PEM, 0600); omitted: unsigned."),
) -> None:
    """Write ONNX + TorchScript, each with its model card (JSON, Markdown), sha256 and Ed25519 signature."""
    _logging(False)
    from training.dataset import load_dataset
    from training.export import CardInputs, export_model
    from training.pipeline import headline

    data = load_dataset(dataset)
    card_metrics, fpr = headline(json.loads(metrics.read_text())) if metrics else ({}, {})
    result = export_model(
        checkpoint,
        out,
        CardInputs(
            version=version,
            training_data=data.provenance.data_sources(data.rows),
            metrics=card_metrics,
            fpr_by_category=fpr,
        ),
        signing_key,
    )
    typer.echo(
        f"wrote {result.model}, {result.card}, {result.card_markdown}"
        + (f", {result.signature}" if result.signature else "")
    )


@app.command("signing-key")
def signing_key(
    private: Path = typer.Option(Path("~/.config/nitrosignal/model-signing.key"), help="Private key to create (0600)."),
    public: Path = typer.Option(..., help="Public key to write (ship it, e.g. detector/models/signing-key.pub)."),
) -> None:
    """Create the Ed25519 model-signing keypair; the private key never goes into the repository."""
    from training.export import generate_signing_key

    generate_signing_key(private, public)
    typer.echo(f"private key {private.expanduser()} (keep it secret), public key {public}")


@app.command("to-onnx")
def to_onnx(
    model: Path = typer.Argument(..., help="An exported TorchScript model (card next to it), e.g. a shipped one."),
    signing_key: Path | None = typer.Option(None, help="Ed25519 private key (PEM, 0600); omitted: unsigned."),
) -> None:
    """Add the ONNX file (with its card and signature) to an exported TorchScript model; weights unchanged."""
    _logging(False)
    from training.export import convert_torchscript

    result = convert_torchscript(model, signing_key.expanduser() if signing_key is not None else None)
    typer.echo(f"wrote {result.model}, {result.card}" + (f", {result.signature}" if result.signature else ""))
    typer.echo(f"rewrote {result.torchscript.card}" + (f", {result.torchscript.signature}" if result.signature else ""))


@app.command()
def quantize(
    model: Path = typer.Argument(..., help="ONNX model (card next to it) to quantise."),
    data: list[Path] = typer.Option(..., help="Folder(s) of training photos; their people's crops calibrate."),
    photos: int = typer.Option(256, help="At most this many photos, drawn with a fixed seed."),
    out: Path | None = typer.Option(None, help="int8 file to write; default <model>.int8.onnx next to the model."),
) -> None:
    """Static int8 quantisation (an experiment): writes the file without a card; evaluate before shipping it."""
    _logging(False)
    from nitrosignal.modelcard import read_card
    from training.quantize import calibration_crops, quantize_int8

    crops = calibration_crops(list(data), read_card(model).input, limit=photos)
    target = out or model.with_name(model.stem + ".int8.onnx")
    quantize_int8(model, target, crops)
    typer.echo(f"wrote {target} (calibrated on {len(crops)} crops; no card: not a model the detector runs)")


@app.command()
def publish(
    model: Path = typer.Argument(..., help="Signed ONNX model (card and .sig next to it)."),
    url: str = typer.Option(..., help="Platform base URL."),
    token_env: str = typer.Option("NITROSIGNAL_API_TOKEN", help="Environment variable holding the Bearer API token."),
) -> None:
    """Upload model, card and signature to the platform's model registry (POST /api/v1/models)."""
    from training.publish import PublishError, publish_model

    token = os.environ.get(token_env)
    if not token:
        raise typer.BadParameter(f"set ${token_env} to an ml_engineer API token")
    try:
        record = publish_model(model, url, token)
    except PublishError as error:
        typer.echo(f"FAILED: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(json.dumps(record, indent=2))


@app.command("default-model")
def default_model_command(
    data: Path = typer.Option(..., help="The shared train/ folder (people, hand_at_mouth, balloon_people, balloons)."),
    eval_data: Path = typer.Option(..., "--eval", help="The shared eval/ folder: eval positives and real negatives."),
    video: Path | None = typer.Option(
        None, help="The shared video/ folder: evaluation clips with events, replayed through the live path."
    ),
    out: Path = typer.Option(Path("detector/models"), help="Where the model, card and signature are written."),
    signing_key: Path | None = typer.Option(
        Path("~/.config/nitrosignal/model-signing.key"), help="Ed25519 private key; the card is signed with it."
    ),
    seed: int = typer.Option(0, help="Seed for synth and training."),
    version: str | None = typer.Option(None, help="Model version for the card (default: the shipped model's)."),
    crop_size: int | None = typer.Option(None, min=32, help="Crop side in pixels (default: the training spec's)."),
    crop_version: str | None = typer.Option(
        None, help="Crop geometry version (detector.evidence.crop.CROP_GEOMETRY; default: the training spec's)."
    ),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
) -> None:
    """The one command that builds the shipped model: synth, crops, fit, evaluate, export and sign."""
    _logging(False)
    from detector.evidence.crop import CROP_GEOMETRY
    from training.pipeline import DEFAULT_MODEL_VERSION, default_model
    from training.train import TRAIN_CROP_SPEC

    if crop_version is not None and crop_version not in CROP_GEOMETRY:
        raise typer.BadParameter(f"unknown crop version {crop_version!r}; known: {', '.join(sorted(CROP_GEOMETRY))}")
    spec = TRAIN_CROP_SPEC.model_copy(
        update={
            "size_px": crop_size or TRAIN_CROP_SPEC.size_px,
            "crop_version": crop_version or TRAIN_CROP_SPEC.crop_version,
        }
    )

    key = signing_key.expanduser() if signing_key is not None else None
    if key is not None and not key.is_file():
        raise typer.BadParameter(f"no signing key at {key}; create one with `nitrosignal train signing-key`")
    result = default_model(data, eval_data, out, work, key, seed, version or DEFAULT_MODEL_VERSION, spec, video)
    typer.echo(
        json.dumps(
            {
                k: result.metrics[k]
                for k in (
                    "recall",
                    "recall_synthetic",
                    "fpr_real_negatives",
                    "average_precision",
                    "threshold",
                    "real_positives",
                )
            }
        )
    )
    if "clip_events" in result.metrics:
        clips = result.metrics["clip_events"]
        keys = ("events", "event_recall", "time_to_alert_median_s", "false_alerts_per_camera_hour_upper95")
        typer.echo(json.dumps({k: clips[k] for k in keys}))
    typer.echo(f"train {result.train_seconds:.0f} s, total {result.total_seconds:.0f} s; model {result.export.model}")


@app.command("person-recall")
def person_recall(
    data: Path = typer.Option(..., help="Data folder the annotated video paths are relative to (the shared data)."),
    front_end: str = typer.Option(
        "frontend", help="'today' (the shipped pose stage) or 'frontend' (person front end)."
    ),
    mode: str = typer.Option("live", help="'still' (each frame alone) or 'live' (after 2 s of the video before it)."),
    annotations: Path | None = typer.Option(None, help="Annotation file; default: the shipped one."),
) -> None:
    """Share of hand-annotated people found per height bin on frames scaled to 1080p, as JSON.

    ``meets_target`` says whether the 100-250 px bin reaches 80 % found. Missing or bad input is refused with
    REFUSED and exit code 1.
    """
    from pydantic import ValidationError

    from training.person_finders import FrontEndName, Mode, make_finder
    from training.person_recall import load_annotations, measure_person_recall

    if front_end not in ("today", "frontend") or mode not in ("still", "live"):
        raise typer.BadParameter(f"front end must be today or frontend and mode still or live, got {front_end}, {mode}")
    try:
        annotated = load_annotations(annotations)
        report = measure_person_recall(
            data,
            lambda: make_finder(cast(FrontEndName, front_end), cast(Mode, mode)),
            front_end,
            mode=cast(Mode, mode),
            annotations=annotated,
        )
    except (OSError, ValueError, ValidationError) as error:
        typer.echo(f"REFUSED: {error}", err=True)
        raise typer.Exit(code=1) from error
    typer.echo(report.model_dump_json(indent=2))


@app.command("frontend-bench")
def frontend_bench(
    video: Path | None = typer.Option(None, help="Video to run the person front end and bare pose on."),
    seconds: float = typer.Option(20.0, help="Analyse at most this many seconds of the video."),
    frame_width: int | None = typer.Option(None, help="Resize frames to this width first (1920 for 1080p)."),
    scaling: bool = typer.Option(False, help="Also measure frames with 1, 2, 4 and 8 people."),
    person: Path | None = typer.Option(None, help="Photo of one person for --scaling; default: the demo photo."),
) -> None:
    """The person front end's time per stage and CPU time per frame against bare pose in the same run, as JSON."""
    import cv2
    import numpy as np

    from detector.frontend.bench import run_frontend_bench, run_people_scaling

    report: dict[str, object] = {}
    if video is not None:
        report["video"] = run_frontend_bench(video, seconds, frame_width).model_dump()
    if scaling:
        photo = person or Path(__file__).resolve().parents[1] / "nitrosignal" / "assets" / "demo_person.jpg"
        image = cv2.imread(str(photo), cv2.IMREAD_COLOR)
        if image is None:
            typer.echo(f"REFUSED: cannot read {photo}", err=True)
            raise typer.Exit(code=1)
        people = np.ascontiguousarray(image, dtype=np.uint8)
        report["people_scaling"] = [point.model_dump() for point in run_people_scaling(people)]
    if not report:
        raise typer.BadParameter("give --video, --scaling or both")
    typer.echo(json.dumps(report, indent=2))


@app.command("frontend-stills")
def frontend_stills(
    eval_data: Path = typer.Option(..., "--eval", help="The real eval folder (e.g. the shared eval/)."),
    work: Path = typer.Option(DEFAULT_WORK, help=WORK_HELP),
    front_end: str = typer.Option("live", help="'today', 'photo' or 'live' (the person seen untouched first)."),
    model: Path | None = typer.Option(None, help="Model file (card next to it); default: the shipped model."),
    seed: int = typer.Option(0, help="default-model's seed: the eval positives are built with seed + 1000."),
) -> None:
    """Carriers in place by stage, recall and real false alarms of a front end on the eval stills, as JSON.

    The eval positives are built as ``default-model`` builds them, in the work folder (reused once built).
    """
    from detector.model import ModelLoadError, default_model_path, load_model, shipped_signing_key_path
    from training.frontend_stills import StillsFrontEnd, measure_stills
    from training.pipeline import EVAL_SYNTH
    from training.pipeline import _synth_once as synth_once

    if front_end not in ("today", "photo", "live"):
        raise typer.BadParameter(f"front end must be today, photo or live, got {front_end}")
    try:
        loaded = load_model(model or default_model_path(), trusted_keys=None if model else [shipped_signing_key_path()])
    except ModelLoadError as error:
        typer.echo(f"REFUSED: {error}", err=True)
        raise typer.Exit(code=1) from error
    synth_eval = work / f"synth-eval-seed{seed}"
    synth_once(eval_data, synth_eval, EVAL_SYNTH.model_copy(update={"seed": seed + 1000}), work / "cache")
    report = measure_stills(eval_data, synth_eval, loaded, cast(StillsFrontEnd, front_end))
    typer.echo(report.model_dump_json(indent=2))
