"""The `nitrosignal` command: one entry point with a subcommand group per component.

Component groups, and the demo (which needs every extra), are imported lazily, inside functions, so a
platform-only install can run `nitrosignal platform ...` without torch or mediapipe, and a device can run
`nitrosignal detector ...` without FastAPI. This module is the shell on top of the core: nothing in the
core imports it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import typer
from typer.main import get_command

from nitrosignal import __version__
from nitrosignal.keys_cli import app as keys_app


def _detector_app() -> typer.Typer:
    from detector.cli import app as group

    return group


def _platform_app() -> typer.Typer:
    from nitroplatform.cli import app as group

    return group


def _training_app() -> typer.Typer:
    from training.cli import app as group

    return group


def _iama_app() -> typer.Typer:
    from iama.cli import app as group

    return group


@dataclass(frozen=True)
class ComponentGroup:
    """A component's subcommand group: how to import it, the extra it needs, and its one-line help."""

    load: Callable[[], typer.Typer]
    extra: str
    help: str


COMPONENT_GROUPS: dict[str, ComponentGroup] = {
    "detector": ComponentGroup(
        _detector_app,
        "detector",
        "On-device detection: validate a camera config, run on a camera or file, score photos, benchmark.",
    ),
    "platform": ComponentGroup(
        _platform_app,
        "platform",
        "Central platform: serve the API and ingest, manage cameras, users, the database and benchmarks.",
    ),
    "train": ComponentGroup(
        _training_app,
        "training",
        "Model pipeline: check datasets, build synthetic data, train, evaluate, export and publish.",
    ),
    "iama": ComponentGroup(
        _iama_app,
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
    group = COMPONENT_GROUPS[name]
    try:
        return group.load()
    except ImportError as error:
        return _missing_extra_app(name, group.extra, error)


def _register_groups(argv: Sequence[str]) -> None:
    # Import only the group being run; `--help` at the top level lists them all without importing.
    requested = next((arg for arg in argv if not arg.startswith("-")), None)
    for name, group in COMPONENT_GROUPS.items():
        if requested == name:
            app.add_typer(_load_group(name), name=name, help=group.help)
        else:
            app.add_typer(_placeholder(name, group.help), name=name, help=group.help)


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
