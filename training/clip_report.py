"""The clip section of the evaluation report: event figures against the goal, tables and plots.

Written into the same ``report.md``, ``report.html`` and PNG files as the photo evaluation
(:mod:`training.evaluate`), from the figures of :func:`training.clip_eval.evaluate_clips`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# The goal the detector is held to on real footage (docs/TRAINING.md, "Events in clips").
GOAL_EVENT_RECALL = 0.95
GOAL_TIME_TO_ALERT_MEDIAN_S = 3.0
GOAL_FALSE_ALERTS_PER_CAMERA_HOUR_UPPER95 = 0.1
TIMELINE_CLIPS = 12


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def clip_markdown(summary: dict[str, Any], threshold: float) -> list[str]:
    """The report lines of the clip section."""
    settings = summary["settings"]
    fps = settings["analysis_fps"]
    gate = "on" if settings["motion"] is not None else "off"
    lines = [
        "",
        "## Events in clips (the live detector path)",
        "",
        f"Each clip is replayed through the live detector path: {'every frame' if fps is None else f'{fps:g} fps'} "
        f"analysed, the motion gate {gate}, the confirmer with its cooldowns and incident lifecycle at threshold "
        f"{threshold:.3f}. An event counts as alerted when a `new` alert falls between its start and its end plus "
        f"{summary['grace_s']:g} s; as covered when it starts while an incident that an earlier event of the clip "
        "alerted is still open. Every other `new` alert is a false alert.",
        "",
        "| figure | value | goal |",
        "| --- | --- | --- |",
        f"| positive events (clips) | {summary['events']} ({summary['positive_clips']}) | |",
        f"| event recall (alerted + covered) | {_number(summary['event_recall'])} "
        f"({summary['alerted']} + {summary['covered']} of {summary['events']}) | >= {GOAL_EVENT_RECALL} |",
        f"| event recall, own `new` alert only | {_number(summary['event_recall_strict'])} | |",
        f"| time to alert, median / p90 (s) | {_number(summary['time_to_alert_median_s'], 2)} / "
        f"{_number(summary['time_to_alert_p90_s'], 2)} | median <= {GOAL_TIME_TO_ALERT_MEDIAN_S:g} |",
        f"| alerts per event | {_number(summary['alerts_per_event'])} | 1 |",
        f"| events alerting twice or more | {summary['events_alerting_twice_or_more']} | 0 |",
        f"| negative footage (camera-minutes) | {_number(summary['negative_camera_minutes'], 1)} "
        f"({summary['negative_clips']} negative clips, plus positive clips outside their events) | |",
        f"| false alerts | {summary['false_alerts']} | |",
        f"| false alerts per camera-hour (95 % upper bound) | {_number(summary['false_alerts_per_camera_hour'], 2)} "
        f"({_number(summary['false_alerts_per_camera_hour_upper95'], 2)}) | upper bound <= "
        f"{GOAL_FALSE_ALERTS_PER_CAMERA_HOUR_UPPER95:g} |",
        "",
        "### False alerts per category",
        "",
        "Camera time of the negative clips of each category; `outside_events` is the time of positive clips "
        "outside their events' windows.",
        "",
        "| category | camera-minutes | false alerts | per camera-hour | 95 % upper bound |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in summary["false_alerts_by_category"].items():
        lines.append(
            f"| {name} | {row['camera_hours'] * 60:.1f} | {row['false_alerts']} | "
            f"{_number(row['per_camera_hour'], 2)} | {_number(row['per_camera_hour_upper95'], 2)} |"
        )
    lines += ["", "### Look-alike moments", "", "| look-alike | moments | seconds | false alerts during |"]
    lines.append("| --- | --- | --- | --- |")
    for name, row in summary["lookalike_events"].items():
        lines.append(f"| {name} | {row['events']} | {row['seconds']:.0f} | {row['false_alerts_during']} |")
    lines += [
        "",
        "### Per person height (px, the pose's landmark box)",
        "",
        "| height | events | recall | strict recall | median time to alert (s) | alerts per event | "
        "look-alike moments | false alerts during them |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in summary["by_height"]:
        lines.append(
            f"| {row['bin_px']} | {row['events']} | {_number(row['event_recall'])} | "
            f"{_number(row['event_recall_strict'])} | {_number(row['time_to_alert_median_s'], 2)} | "
            f"{_number(row['alerts_per_event'])} | {row['lookalike_events']} | "
            f"{row['false_alerts_during_lookalikes']} |"
        )
    lines += [
        "",
        "### Per source",
        "",
        "| source | events | recall | median time to alert (s) | false alerts | camera-minutes | per camera-hour |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in summary["by_source"].items():
        lines.append(
            f"| {name} | {row['events']} | {_number(row['event_recall'])} | "
            f"{_number(row['time_to_alert_median_s'], 2)} | {row['false_alerts']} | "
            f"{row['camera_hours'] * 60:.1f} | {_number(row['per_camera_hour'], 2)} |"
        )
    lines += ["", "### Refused clips", ""]
    if summary["refused"]:
        lines += ["| clip | reason |", "| --- | --- |"]
        lines += [f"| {item['path']} | {item['reason']} |" for item in summary["refused"]]
    else:
        lines.append("None.")
    missed = [e for e in summary["events_detail"] if e["status"] == "missed"]
    lines += ["", f"### Missed events ({len(missed)})", ""]
    if missed:
        lines += [
            "Highest score of anyone during the event and its grace, and the frames at or above the threshold: a "
            "low score is the front end's or the classifier's miss, a high one that the confirmer did not confirm.",
            "",
            "| clip | event (s) | person height (px) | highest score | frames at threshold |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {e['path']} | {e['start_s']:.1f}-{e['end_s']:.1f} | {_number(e['person_height_px'], 0)} | "
            f"{e['max_score']:.3f} | {e['frames_at_threshold']} |"
            for e in missed
        ]
    false = summary["false_alerts_detail"]
    lines += ["", f"### False alerts ({len(false)})", ""]
    if false:
        lines += ["| clip | at (s) | category | during look-alike |", "| --- | --- | --- | --- |"]
        lines += [f"| {f['path']} | {f['at_s']:.1f} | {f['category']} | {f['lookalike'] or '-'} |" for f in false]
    return lines


def _short(name: str) -> str:
    """A source's name short enough for an axis label: the file's stem, shortened in the middle."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return stem if len(stem) <= 20 else f"{stem[:9]}...{stem[-8:]}"


def clip_plots(summary: dict[str, Any], threshold: float, out: Path) -> list[str]:
    """Write the clip section's plots into ``out``; returns their file names."""
    names = []
    delays = [e["time_to_alert_s"] for e in summary["events_detail"] if e["time_to_alert_s"] is not None]
    fig, ax = plt.subplots(figsize=(5.0, 3.5))
    ax.hist(delays, bins=[float(b) for b in np.arange(0.0, 12.5, 0.5)], color="tab:blue")
    ax.axvline(GOAL_TIME_TO_ALERT_MEDIAN_S, color="red", linestyle="--", label="goal for the median")
    ax.set(xlabel="seconds from the start of the event", ylabel="events", title="Time to alert")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "event_time_to_alert.png", dpi=110)
    names.append("event_time_to_alert.png")

    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.5))
    for ax, rows, title in (
        (axes[0], [(r["bin_px"], r) for r in summary["by_height"]], "per person height (px)"),
        (axes[1], list(summary["by_source"].items()), "per source"),
    ):
        rows = [(name, row) for name, row in rows if row["events"]]
        labels = [_short(name) for name, _ in rows]
        ax.bar(range(len(rows)), [row["event_recall"] for _, row in rows], color="tab:green")
        ax.axhline(GOAL_EVENT_RECALL, color="red", linestyle="--")
        ax.set_xticks(range(len(rows)), labels, rotation=30, ha="right", fontsize=7)
        ax.set(ylim=(0, 1.02), ylabel="event recall", title=title)
    fig.tight_layout()
    fig.savefig(out / "event_recall.png", dpi=110)
    names.append("event_recall.png")

    fig, ax = plt.subplots(figsize=(6.0, 3.5))
    rows = list(summary["false_alerts_by_category"].items())
    rates = [row["per_camera_hour"] for _, row in rows]
    uppers = [row["per_camera_hour_upper95"] for _, row in rows]
    ax.barh(range(len(rows)), uppers, color="lightgrey", label="95 % upper bound")
    ax.plot(rates, range(len(rows)), "o", color="tab:red", label="measured")
    ax.axvline(GOAL_FALSE_ALERTS_PER_CAMERA_HOUR_UPPER95, color="red", linestyle="--", label="goal")
    ax.set_yticks(range(len(rows)), [name for name, _ in rows], fontsize=7)
    ax.set(xscale="symlog", xlabel="false alerts per camera-hour", title="False alerts")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "event_false_alerts.png", dpi=110)
    names.append("event_false_alerts.png")

    positives = {e["path"] for e in summary["events_detail"]}
    shown = [path for path in summary["traces"] if path in positives][:TIMELINE_CLIPS]
    if shown:
        fig, axes_grid = plt.subplots(len(shown), 1, figsize=(7.0, 1.2 * len(shown)), sharex=True, squeeze=False)
        for ax, path in zip(axes_grid[:, 0], shown, strict=True):
            trace = np.asarray(summary["traces"][path], dtype=np.float64).reshape(-1, 2)
            ax.plot(trace[:, 0], trace[:, 1], lw=0.8)
            ax.axhline(threshold, color="grey", lw=0.6, linestyle=":")
            for event in (e for e in summary["events_detail"] if e["path"] == path):
                ax.axvspan(event["start_s"], event["end_s"], color="tab:green", alpha=0.2)
            for at_s in summary["alerts_by_clip"].get(path, []):
                ax.axvline(at_s, color="red", lw=1.0)
            ax.set_ylim(0, 1)
            ax.set_ylabel(path.rsplit("__", 1)[-1][:10], fontsize=6)
        axes_grid[-1, 0].set_xlabel("clip time (s): green = event, red = new alert, dotted = threshold")
        fig.tight_layout()
        fig.savefig(out / "event_timelines.png", dpi=110)
        names.append("event_timelines.png")
    plt.close("all")
    return names
