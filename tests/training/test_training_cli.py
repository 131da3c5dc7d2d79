"""The `nitrosignal train` commands: every one has useful --help; check refuses data without provenance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from training.cli import app

COMMANDS = [
    ("check", "provenance"),
    ("import-boxes", "COCO"),
    ("synth", "hard negatives"),
    ("crops", "detector's own pose"),
    ("fit", "threshold"),
    ("evaluate", "per category"),
    ("export", "signature"),
    ("publish", "registry"),
    ("default-model", "shipped model"),
    ("signing-key", "private key"),
]


@pytest.mark.parametrize(("command", "phrase"), COMMANDS)
def test_every_command_has_help(command: str, phrase: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert phrase.lower() in " ".join(result.output.split()).lower()


def test_check_refuses_a_folder_without_dataset_yaml(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "labels.csv").write_text("path,label\na.jpg,negative\n")
    result = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    assert "REFUSED" in result.output and "provenance" in result.output


def test_check_reports_balance_of_a_synth_dataset(synth_dataset: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(synth_dataset)])
    assert result.exit_code == 0, result.output
    assert "provenance OK" in result.output and "positive" in result.output and "sources:" in result.output


@pytest.mark.parametrize(
    ("labels", "files", "model", "message"),
    [
        ("path,label\nc.mp4,negative\n", {"c.mp4": b"not a video"}, None, "cannot read .*c.mp4 as a video clip"),
        ("path,label\nmissing.jpg,negative\n", {}, None, "missing.jpg"),
        ("path\na.jpg\n", {"a.jpg": b"x"}, None, "header must start with path,label"),
        ("path,label\na.jpg,negative\n", {"a.jpg": b"x"}, "none.pt", "model file not found"),
    ],
)
def test_evaluate_refuses_unreadable_input_with_a_clear_error(
    tmp_path: Path, labels: str, files: dict[str, bytes], model: str | None, message: str
) -> None:
    from detector.model import default_model_path

    data = tmp_path / "data"
    data.mkdir()
    (data / "labels.csv").write_text(labels)
    for name, content in files.items():
        (data / name).write_bytes(content)
    model_path = tmp_path / model if model else default_model_path()
    args = ["evaluate", "--data", str(data), "--model", str(model_path), "--out", str(tmp_path / "r")]
    result = CliRunner().invoke(app, [*args, "--work", str(tmp_path / "w")])
    assert result.exit_code == 1, result.output
    assert re.search("REFUSED: .*" + message, result.output)
    assert "Traceback" not in result.output


def test_import_boxes_needs_an_input(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import-boxes", str(tmp_path / "boxes.csv")])
    assert result.exit_code != 0


def test_default_model_refuses_an_unknown_crop_version(tmp_path: Path) -> None:
    key = tmp_path / "signing.key"
    key.write_bytes(b"not read: the crop version is checked first")
    args = ["default-model", "--data", str(tmp_path), "--eval", str(tmp_path), "--signing-key", str(key)]
    result = CliRunner().invoke(app, [*args, "--crop-version", "mouth-v99", "--work", str(tmp_path / "w")])
    assert result.exit_code == 2, result.output
    assert "unknown crop version 'mouth-v99'" in " ".join(result.output.split())
    assert not (tmp_path / "w").exists()
