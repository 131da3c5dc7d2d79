"""The clip benchmark end to end, hidden from training: clips made here from the shipped demo photo.

A short clean clip of the demo person goes through ``synth-clips`` (a balloon-use event composited onto
them, with balloons rendered here, since no licence-free real balloon photo can ship), and the result
through ``train evaluate``'s live-path replay. The event must raise an alert and the untouched clip must
not; bad clips are refused with their name and reason and listed, and the run carries on. Nothing here
reads the shared data folder.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from training_support import (  # type: ignore[import-not-found, unused-ignore]
    DEMO,
    made_source,
    write_balloon_folder,
    write_clip,
    write_manifest,
)
from typer.testing import CliRunner

from detector.model import default_model_path
from training.check import check_dataset
from training.cli import app
from training.dataset import DatasetError, LabelRow, read_labels, write_labels
from training.events import ClipEvent, read_events, write_events
from training.frontend import read_image
from training.pipeline import headline
from training.synth.clips import ClipSynthConfig, synthesise_clips

SEED = 5
CONFIG = ClipSynthConfig(seed=SEED, positives_per_host=1, two_event_share=0.0, lookalikes=(), max_hosts_per_clip=1)
DEMO_SOURCE = "demo-person"


def _person_clip(path: Path, seconds: float) -> Path:
    """The demo photo as a 10 fps clip, drifting by a pixel or two as a person standing still does."""
    image = cv2.resize(read_image(DEMO), (640, 410), interpolation=cv2.INTER_AREA)
    frames = [np.roll(image, (index % 4) - 2, axis=1) for index in range(int(seconds * 10))]
    written: Path = write_clip(path, frames)
    return written


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clip-benchmark")
    videos = root / "videos"
    _person_clip(videos / "demo" / "person.avi", 3.0)
    # A clip with nobody in it (kept as an untouched negative) and one that does not decode (refused).
    empty = np.random.default_rng(0).integers(90, 110, size=(20, 240, 320, 3), dtype=np.uint8)
    write_clip(videos / "room" / "empty.avi", list(empty))
    (videos / "room" / "broken.mp4").write_bytes(b"not a video at all")
    write_balloon_folder(root / "objects" / "balloons", 2)
    return {
        "root": root,
        "videos": videos,
        "objects": root / "objects",
        "cache": root / "cache",
        "video_manifest": write_manifest(
            root / "videos.yaml",
            made_source(DEMO_SOURCE, "nitrosignal/assets/demo_person.jpg as a clip", ("demo/*",)),
            made_source("empty-room", "noise made by the test", ("room/*",)),
        ),
        "objects_manifest": write_manifest(
            root / "objects.yaml", made_source("rendered-balloon-photos", "rendered by the test", ("balloons/*",))
        ),
    }


@pytest.fixture(scope="module")
def clips(inputs: dict[str, Path]) -> tuple[Path, list[Any]]:
    out = inputs["root"] / "clips"
    outcomes = synthesise_clips(
        inputs["videos"],
        inputs["objects"],
        out,
        CONFIG,
        inputs["video_manifest"],
        inputs["objects_manifest"],
        inputs["cache"],
    )
    return out, outcomes


def test_synth_clips_builds_an_event_on_the_person_and_says_why_other_clips_have_none(
    clips: tuple[Path, list[Any]],
) -> None:
    out, outcomes = clips
    by_clip = {o.clip: o for o in outcomes}
    assert by_clip["demo/person.avi"].positive_events == 1 and by_clip["demo/person.avi"].hosts == 1
    assert by_clip["room/empty.avi"].skipped == "pose found nobody" and by_clip["room/empty.avi"].untouched
    assert by_clip["room/broken.mp4"].refused is not None and "broken.mp4" in by_clip["room/broken.mp4"].refused
    assert json.loads((out / "synth-clips.json").read_text())[1]["refused"] == by_clip["room/broken.mp4"].refused
    rows = {row.category: row for row in read_labels(out / "labels.csv")}
    assert set(rows) == {"balloon_at_mouth", "untouched"}
    (event,) = read_events(out / "events.csv")
    assert event.path == rows["balloon_at_mouth"].path and event.label == "positive"
    assert 0.4 + 2.0 <= event.end_s - event.start_s <= 0.6 + 8.0 + 0.6  # raise, a 2-8 s hold, lower
    assert event.person_height_px is not None and event.person_height_px > 100
    # Provenance: the host's source and the balloon photos' source, each claiming its clips.
    provenance = (out / "dataset.yaml").read_text()
    assert DEMO_SOURCE in provenance and "rendered-balloon-photos" in provenance


def test_synth_clips_is_deterministic_per_seed(inputs: dict[str, Path], clips: tuple[Path, list[Any]]) -> None:
    first, _ = clips
    again = inputs["root"] / "again"
    synthesise_clips(
        inputs["videos"],
        inputs["objects"],
        again,
        CONFIG,
        inputs["video_manifest"],
        inputs["objects_manifest"],
        inputs["cache"],
    )
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (again / f).read_bytes() for f in files)


def test_synth_clips_command_refuses_footage_without_provenance(inputs: dict[str, Path]) -> None:
    manifest = write_manifest(inputs["root"] / "partial.yaml", made_source("only-demo", "the demo clip", ("demo/*",)))
    result = CliRunner().invoke(
        app,
        ["synth-clips", "--videos", str(inputs["videos"]), "--objects", str(inputs["objects"])]
        + ["--out", str(inputs["root"] / "refused"), "--video-manifest", str(manifest)]
        + ["--objects-manifest", str(inputs["objects_manifest"]), "--work", str(inputs["root"])],
    )
    assert result.exit_code == 1
    assert "REFUSED: clip room/broken.mp4 has no provenance" in result.output
    assert not (inputs["root"] / "refused" / "labels.csv").exists()


def test_check_counts_the_events_and_refuses_one_past_its_clip(clips: tuple[Path, list[Any]], tmp_path: Path) -> None:
    out, _ = clips
    report = check_dataset(out)
    assert report.events == {"positive/balloon_at_mouth": 1}
    assert "events (events.csv):" in report.lines()
    bad = shutil.copytree(out, tmp_path / "bad")
    (event,) = read_events(bad / "events.csv")
    write_events(bad / "events.csv", [event.model_copy(update={"end_s": 999.0})])
    with pytest.raises(DatasetError, match=r"balloon_at_mouth/.*\.avi: event .* ends after the clip"):
        check_dataset(bad)


def _with_bad_clips(source: Path, target: Path) -> Path:
    """The clip set plus three bad clips: undecodable, an event past its end, positive without an event."""
    shutil.copytree(source, target)
    rows = read_labels(target / "labels.csv")
    untouched = next(row for row in rows if row.category == "untouched" and DEMO_SOURCE in row.path)
    extra = {
        "broken": b"\x00" * 64,
        "too_long_event": (target / untouched.path).read_bytes(),
        "no_event": (target / untouched.path).read_bytes(),
    }
    added = []
    for name, content in extra.items():
        path = f"clips/extra/{DEMO_SOURCE}__none__{name}.avi"
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_bytes(content)
        added.append(LabelRow(path=path, label="positive" if name == "no_event" else "negative", category=name))
    write_labels(target / "labels.csv", [*rows, *added])
    events = read_events(target / "events.csv")
    late = ClipEvent(path=added[1].path, start_s=1.0, end_s=99.0, label="negative", category="cup_at_mouth")
    write_events(target / "events.csv", [*events, late])
    return target


def test_evaluate_replays_the_clips_live_an_event_alerts_an_untouched_clip_does_not(
    inputs: dict[str, Path], clips: tuple[Path, list[Any]]
) -> None:
    data = _with_bad_clips(clips[0], inputs["root"] / "with-bad-clips")
    report = inputs["root"] / "report"
    result = CliRunner().invoke(
        app,
        ["evaluate", "--data", str(data), "--model", str(default_model_path()), "--out", str(report)]
        + ["--work", str(inputs["root"]), "--workers", "1"],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[-2])
    metrics = json.loads((report / "metrics.json").read_text())
    events = metrics["clip_events"]
    assert (figures["events"], figures["refused"]) == (1, 3)
    # The event raised exactly one `new` alert, within the event, and nothing else alerted anywhere.
    assert events["event_recall"] == 1.0 and events["alerted"] == 1 and events["alerts_per_event"] == 1.0
    (detail,) = events["events_detail"]
    assert 0.0 < detail["time_to_alert_s"] <= detail["end_s"] - detail["start_s"]
    assert events["false_alerts"] == 0 and events["false_alerts_by_category"]["untouched"]["false_alerts"] == 0
    assert events["false_alerts_per_camera_hour_upper95"] == pytest.approx(
        3.6889 / events["negative_camera_hours"], rel=1e-2
    )
    # The bad clips are named with the reason, in the metrics, the report and the command's output.
    reasons = {item["path"].rsplit("__", 1)[-1]: item["reason"] for item in events["refused"]}
    assert reasons["broken.avi"].startswith("cannot be decoded")
    assert reasons["too_long_event.avi"].startswith("event 1-99 s ends after the clip")
    assert reasons["no_event.avi"] == "labelled positive but has no positive event in events.csv"
    markdown = (report / "report.md").read_text()
    assert "## Events in clips (the live detector path)" in markdown and "too_long_event.avi" in markdown
    assert "REFUSED clip" in result.output and "broken.avi" in result.output
    for plot in ("event_time_to_alert.png", "event_recall.png", "event_false_alerts.png", "event_timelines.png"):
        assert (report / plot).is_file() and plot in (report / "report.html").read_text()
    # The model card carries the headline figures.
    card, _ = headline(metrics)
    assert card["event_recall"] == 1.0 and card["event_false_alerts"] == 0.0
    assert card["event_time_to_alert_median_s"] == detail["time_to_alert_s"]
