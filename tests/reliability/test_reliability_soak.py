"""The soak harness, proven at CI size: 100 CURVE cameras for a few seconds at a realistic mix with a 10x
burst, through the real ``soak_app`` command. The full run (1,000 cameras, 10 minutes) is a command whose
figures are in docs/RELIABILITY.md."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from nitroplatform.bench.soak import rss_verdict, soak_app


@pytest.mark.slow
def test_soak_command_at_ci_size_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    app = typer.Typer()
    app.add_typer(soak_app, name="soak")
    report_path = tmp_path / "soak.json"
    args = ["soak", "--cameras", "100", "--seconds", "10", "--alert-interval-s", "2", "--burst-s", "3"]
    args += ["--rss-interval-s", "0.5", "--database", "sqlite", "--output", str(report_path)]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(report_path.read_text())["results"][0]
    assert result["generated"] > 300 and result["generated_in_burst"] > 0
    assert (result["lost"], result["duplicated"], result["unacked_at_end"], result["refused"]) == (0, 0, 0, {})
    assert result["delivered"] == result["generated"] == result["stored_rows"]
    # Heartbeats are fire-and-forget; the last few may still be in flight when the senders stop.
    assert result["heartbeats_sent"] > 0 and result["heartbeats_acked"] >= 0.9 * result["heartbeats_sent"]
    assert result["send_to_ack_ms"]["p99"] is not None and result["ingest_to_sse_ms"]["p50"] is not None
    assert result["sse_events"] == result["generated"]  # every alert changes its incident: one event each
    assert len(result["rss_mb"]["samples"]) >= 8 and result["rss_mb"]["flat"] is not None


# (RSS samples in MB, flat?)
RSS_TABLE = [
    pytest.param([100.0] * 4 + [120.0] * 8 + [121.0] * 4, True, id="warm-up-growth-then-flat"),
    pytest.param([100.0 + 5 * index for index in range(16)], False, id="steady-growth"),
    pytest.param([100.0, 101.0, 99.0, 100.0] * 4, True, id="noise"),
]


@pytest.mark.parametrize(("samples", "flat"), RSS_TABLE)
def test_rss_verdict(samples: list[float], flat: bool) -> None:
    assert rss_verdict([(float(index), rss) for index, rss in enumerate(samples)])["flat"] is flat
