"""``nitrosignal detector``: validate a camera config, run the detector, score photos, benchmark a video."""

from __future__ import annotations

import contextlib
import json
import logging
import signal as signals
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, ModuleType
from typing import TYPE_CHECKING

import typer

from detector.config import validate_config_file

if TYPE_CHECKING:
    from detector.config import CameraConfig
    from detector.masking import MaskApplier
    from detector.model import LoadedModel
    from detector.settings import AnalysisSettings

app = typer.Typer(
    help="On-device detection. Frames stay in memory; only anonymous alerts and heartbeats leave the device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@contextlib.contextmanager
def _matplotlib_kept_off_disk() -> Iterator[None]:
    """Replace matplotlib by an inert placeholder while the detector runs.

    ``import mediapipe`` pulls in ``matplotlib.pyplot`` for drawing helpers the detector never uses, and
    matplotlib writes a font cache under ``~/.cache`` on its first import. The detector may write no file
    but its outbox (DESIGN.md §4.1), so no detector command loads the real matplotlib; that also keeps about
    30 MB out of the detector's memory. The placeholder is removed afterwards, so a process that calls a
    command in-process (tests) can still plot later.
    """
    if "matplotlib" in sys.modules:
        yield
        return
    package = ModuleType("matplotlib", "placeholder: plotting is not available in the detector process")
    pyplot = ModuleType("matplotlib.pyplot", "placeholder: plotting is not available in the detector process")
    package.pyplot = pyplot  # type: ignore[attr-defined]
    sys.modules["matplotlib"] = package
    sys.modules["matplotlib.pyplot"] = pyplot
    try:
        yield
    finally:
        for name in ("matplotlib", "matplotlib.pyplot"):
            if sys.modules.get(name) in (package, pyplot):
                del sys.modules[name]


@contextlib.contextmanager
def _sounddevice_kept_off_disk() -> Iterator[None]:
    """Make ``import sounddevice`` fail while the detector runs.

    ``import mediapipe`` imports its audio recorder, which imports sounddevice, whose search for the
    PortAudio library (``ctypes.util.find_library``) may run gcc and ld with temporary files in TMPDIR.
    The detector records no audio and writes no file but its outbox; mediapipe treats the ImportError as
    "no audio support". The block is lifted afterwards, as for matplotlib.
    """
    if "sounddevice" in sys.modules:
        yield
        return
    sys.modules["sounddevice"] = None  # type: ignore[assignment]  # None in sys.modules: ImportError
    try:
        yield
    finally:
        if sys.modules.get("sounddevice", ...) is None:
            del sys.modules["sounddevice"]


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def validate(
    config: Path = typer.Argument(..., help="Camera config YAML to check.", exists=False),
    skip_files: bool = typer.Option(
        False, "--skip-files", help="Check only the YAML, not the key, model and video files it names."
    ),
) -> None:
    """Check a camera config; print every error with its line and column, or a short summary if it is OK."""
    checked, issues = validate_config_file(config, with_files=not skip_files)
    if issues or checked is None:
        for issue in issues:
            typer.echo(issue.format(str(config)), err=True)
        typer.echo(f"{config}: {len(issues)} error(s)", err=True)
        raise typer.Exit(code=1)
    windows = ", ".join(f"{'/'.join(w.days)} {w.start}-{w.end}" for w in checked.schedule.windows)
    typer.echo(f"{config}: OK")
    typer.echo(f"  camera_id    {checked.camera_id}")
    typer.echo(f"  platform     {checked.platform.endpoint}")
    typer.echo(f"  source       {checked.source.type} at {checked.source.analysis_fps:g} fps")
    typer.echo(f"  schedule     {windows} ({checked.schedule.timezone})")
    typer.echo(f"  masks/zones  {len(checked.privacy_masks)} / {len(checked.zones)}")
    typer.echo(f"  outbox       {checked.outbox.path}")
    typer.echo(f"  metrics      {'on ' + checked.metrics.host if checked.metrics.enabled else 'off'}")
    typer.echo(f"  config_hash  {_config_hash_line(checked, skip_files)}")


def _config_hash_line(checked: CameraConfig, skip_files: bool) -> str:
    """The keyed config hash, which needs the camera's secret key (nitrosignal.confighash)."""
    from nitrosignal.keys import KeyFileError, load_secret

    if skip_files:
        return "(keyed with the secret key; run without --skip-files to see it)"
    try:
        return checked.config_hash(load_secret(checked.secret_key_file).secret)
    except KeyFileError as exc:
        return f"(cannot read the secret key: {exc})"


@app.command()
def run(
    config: Path = typer.Option(..., "--config", "-c", help="Camera config YAML."),
    max_seconds: float | None = typer.Option(
        None, "--max-seconds", help="Stop after this many seconds (counted once the model has loaded)."
    ),
    exit_at_end: bool = typer.Option(
        False, "--exit-at-end", help="With a file source: stop when the file ends, once the outbox is drained."
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
) -> None:
    """Run the detector on the configured source until stopped (SIGINT/SIGTERM), sending alerts and heartbeats."""
    _setup_logging(log_level)
    with _matplotlib_kept_off_disk(), _sounddevice_kept_off_disk():
        _run(config, max_seconds=max_seconds, exit_at_end=exit_at_end)


def _run(config: Path, *, max_seconds: float | None, exit_at_end: bool) -> None:
    from detector.config import ConfigError, load_config
    from detector.hardening import HardeningError
    from detector.runtime import DetectorRuntime, RunOptions
    from nitrosignal.keys import KeyFileError

    try:
        camera = load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=2) from exc
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger(__name__).info("signal %d: stopping", signum)
        stop.set()

    signals.signal(signals.SIGTERM, _on_signal)
    signals.signal(signals.SIGINT, _on_signal)
    runtime = DetectorRuntime(camera, options=RunOptions(max_seconds=max_seconds, exit_at_end=exit_at_end))
    try:
        summary = runtime.run(stop)
    except (KeyFileError, HardeningError) as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(json.dumps(summary.__dict__, sort_keys=True))
    if summary.last_state == "error":
        raise typer.Exit(code=1)


@app.command()
def check(
    config: Path = typer.Argument(..., help="Camera config YAML, e.g. /etc/nitrosignal/camera.yaml."),
    timeout_s: float = typer.Option(10.0, "--timeout", help="Give up after this many seconds."),
) -> None:
    """Check that this device reaches the platform and authenticates: send one heartbeat, wait for its ack."""
    from detector.check import check_device, format_result

    result = check_device(config, timeout_s=timeout_s)
    typer.echo(format_result(result))
    raise typer.Exit(code=0 if result.ok else 1)


def _analysis_and_model(config: Path | None, model: Path | None) -> tuple[AnalysisSettings, LoadedModel, MaskApplier]:
    """Analysis settings, the verified model and the privacy masks: from a camera config if given, else defaults.

    With a config its privacy masks apply, exactly as on the camera: no command looks where the camera may not.
    """
    from detector.masking import MaskApplier
    from detector.model import ModelLoadError, default_model_path, load_model, shipped_signing_key_path
    from detector.settings import AnalysisSettings

    settings = AnalysisSettings()
    masks = MaskApplier(())
    model_path = model or default_model_path()
    trusted_keys: tuple[Path, ...] = (shipped_signing_key_path(),)
    if config is not None:
        from detector.config import ConfigError, load_config

        try:
            camera = load_config(config, with_files=False)
        except ConfigError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(code=2) from exc
        settings = camera.analysis
        masks = MaskApplier(camera.privacy_masks)
        model_path = model or camera.model_path or default_model_path()
        trusted_keys = camera.model_signing_keys or trusted_keys
    try:
        return (
            settings,
            load_model(model_path, trusted_keys=trusted_keys, threads=settings.evidence.classifier_threads),
            masks,
        )
    except ModelLoadError as exc:
        typer.echo(f"cannot load the model: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def score(
    paths: list[Path] = typer.Argument(..., help="Photos, video clips or folders of them to score."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Use this camera config's analysis settings and privacy masks."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Signed ONNX model (card and .sig next to it); default: the shipped model."
    ),
) -> None:
    """One JSON line per photo or clip: {"path", "people", "score", "frames"}, by the live detection code."""
    from detector.media import ImageReadError
    from detector.score import score_paths

    settings, loaded, masks = _analysis_and_model(config, model)
    try:
        with _matplotlib_kept_off_disk():
            for line in score_paths(paths, settings, loaded, masks=masks):
                typer.echo(line.model_dump_json())
    except (FileNotFoundError, ImageReadError) as exc:
        typer.echo(f"cannot score: {exc}", err=True)
        raise typer.Exit(code=2) from exc


@app.command()
def bench(
    video: Path = typer.Option(..., "--video", help="Video file to analyse."),
    seconds: float = typer.Option(20.0, "--seconds", help="Analyse at most this many seconds of the video."),
    frame_width: int | None = typer.Option(None, "--frame-width", help="Resize frames to this width first."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Use this camera config's analysis settings and privacy masks."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Signed ONNX model (card and .sig next to it); default: the shipped model."
    ),
) -> None:
    """Benchmark the pipeline on a video: fps, per-stage p50/p95 ms, bare pose fps and peak RSS, as JSON."""
    from detector.bench import run_bench

    settings, loaded, masks = _analysis_and_model(config, model)
    with _matplotlib_kept_off_disk():
        report = run_bench(video, seconds, settings, loaded, frame_width=frame_width, masks=masks)
    typer.echo(report.model_dump_json(indent=2))


@app.command()
def scan(
    videos: list[Path] = typer.Argument(..., help="Video files (or animated GIFs) without balloon use."),
    seconds: float | None = typer.Option(None, "--seconds", help="Use at most this many seconds of each video."),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Use this camera config's analysis settings and privacy masks."
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Signed ONNX model (card and .sig next to it); default: the shipped model."
    ),
) -> None:
    """Count false alarms: run the live analyzer and confirmer over each video, one JSON line per video.

    On footage without balloon use every confirmed alert is a false alarm; exits 1 if there was any.
    """
    from detector.bench import scan_video

    settings, loaded, masks = _analysis_and_model(config, model)
    alerts = 0
    for video in videos:
        with _matplotlib_kept_off_disk():
            result = scan_video(video, seconds, settings, loaded, masks=masks)
        alerts += result.confirmed_alerts
        typer.echo(result.model_dump_json())
    if alerts:
        raise typer.Exit(code=1)
