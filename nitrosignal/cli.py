"""The `nitrosignal` command: one entry point with a subcommand group per component.

Component groups are imported lazily, so a platform-only install can run `nitrosignal platform ...`
without torch or mediapipe, and a device can run `nitrosignal detector ...` without FastAPI.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

import typer
from typer.main import get_command

from nitrosignal import __version__
from nitrosignal.keys_cli import app as keys_app

# name -> (module holding a typer app called `app`, extra to install, one-line help)
COMPONENT_GROUPS: dict[str, tuple[str, str, str]] = {
    "detector": (
        "detector.cli",
        "detector",
        "On-device detection: validate a camera config, run on a camera or file, score photos, benchmark.",
    ),
    "platform": (
        "nitroplatform.cli",
        "platform",
        "Central platform: serve the API and ingest, manage cameras, users, the database and benchmarks.",
    ),
    "train": (
        "training.cli",
        "training",
        "Model pipeline: check datasets, build synthetic data, train, evaluate, export and publish.",
    ),
    "iama": (
        "iama.cli",
        "platform",
        "Human-rights impact assessments: create, answer, review, approve and export IAMA records.",
    ),
}

app = typer.Typer(
    name="nitrosignal",
    help=(
        "nitrosignal: detect nitrous-oxide balloon use on the camera and send only an anonymous signal "
        "to enforcement officers. No image ever leaves the device."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_app, name="keys", help="Create and inspect CURVE keypairs for cameras and the platform.")


def _missing_extra_app(name: str, extra: str, error: ImportError) -> typer.Typer:
    stub = typer.Typer(help=f"(unavailable: install nitrosignal[{extra}])", add_completion=False)

    @stub.callback(invoke_without_command=True)
    def _explain() -> None:
        typer.echo(
            f"The '{name}' commands need the '{extra}' extra: pip install 'nitrosignal[{extra}]' ({error})",
            err=True,
        )
        raise typer.Exit(code=3)

    return stub


def _load_group(name: str) -> typer.Typer:
    module_name, extra, _ = COMPONENT_GROUPS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        return _missing_extra_app(name, extra, error)
    group: typer.Typer = module.app
    return group


def _register_groups(argv: Sequence[str]) -> None:
    # Import only the group being run; `--help` at the top level lists them all without importing.
    requested = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, (_, _, help_text) in COMPONENT_GROUPS.items():
        if requested == name:
            app.add_typer(_load_group(name), name=name, help=help_text)
        else:
            app.add_typer(_placeholder(name, help_text), name=name, help=help_text)


def _placeholder(name: str, help_text: str) -> typer.Typer:
    placeholder = typer.Typer(help=help_text, add_completion=False)

    @placeholder.callback(invoke_without_command=True)
    def _run() -> None:  # pragma: no cover - only reached when argv parsing and registration disagree
        typer.echo(f"run: nitrosignal {name} --help", err=True)
        raise typer.Exit(code=2)

    return placeholder


@app.command()
def demo(
    headless: bool = typer.Option(
        False, "--headless", help="Print each step of the alert's path and exit when it is done."
    ),
    timeout_s: float = typer.Option(180.0, "--timeout", help="Give up (exit 1) after this many seconds."),
    port: int = typer.Option(8080, help="HTTP port for the platform's web app."),
    keep_running: bool = typer.Option(
        True, "--keep-running/--exit", help="Without --headless: keep the platform up after the alert."
    ),
) -> None:
    """Run platform and detector together on a demo clip and follow one alert end to end."""
    from nitrosignal.demo import DemoOptions, run_demo

    code = run_demo(DemoOptions(headless=headless, timeout_s=timeout_s, http_port=port, keep_running=keep_running))
    raise typer.Exit(code=code)


@app.command()
def version() -> None:
    """Print the installed nitrosignal version."""
    typer.echo(__version__)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    _register_groups(args)
    get_command(app)(args=args, prog_name="nitrosignal")


if __name__ == "__main__":
    main()
