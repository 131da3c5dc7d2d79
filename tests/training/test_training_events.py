"""The events format (``events.csv``): parsing with line-numbered errors, the per-clip rules, and a fuzz."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.dataset import DatasetError, LabelRow
from training.events import (
    ClipEvent,
    clip_problem,
    count_events,
    events_by_clip,
    parse_events,
    read_events,
    write_events,
)

HEADER = "path,start_s,end_s,label,category,person_height_px\n"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("a.avi,1.5,4,positive,balloon_at_mouth,212\n", [("a.avi", 1.5, 4.0, "positive", 212.0)]),
        ("a.avi,0,2.25,negative,cup_at_mouth,\n\n", [("a.avi", 0.0, 2.25, "negative", None)]),
        (" b/c.mp4 , 3 , 9 , positive , balloon_at_mouth , \n", [("b/c.mp4", 3.0, 9.0, "positive", None)]),
        ("", []),
    ],
)
def test_valid_rows_parse(body: str, expected: list[tuple[str, float, float, str, float | None]]) -> None:
    events = parse_events(HEADER + body)
    assert [(e.path, e.start_s, e.end_s, e.label, e.person_height_px) for e in events] == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("path,start,end\n", "the header must be path,start_s,end_s,label,category,person_height_px"),
        ("", "the header must be"),
        (HEADER + "a.avi,4,2,positive,balloon_at_mouth,\n", r"events.csv:2: .*end_s \(2\) must be after start_s \(4\)"),
        (HEADER + "a.avi,-1,2,positive,balloon_at_mouth,\n", "events.csv:2: .*greater than or equal to 0"),
        (HEADER + "a.avi,x,2,positive,balloon_at_mouth,\n", "events.csv:2: could not convert string to float"),
        (HEADER + "a.avi,1,nan,positive,balloon_at_mouth,\n", "events.csv:2: .*finite number"),
        (HEADER + "a.avi,1,2,maybe,balloon_at_mouth,\n", "events.csv:2: Input should be 'positive' or 'negative'"),
        (HEADER + "a.avi,1,2,positive,Balloon At Mouth,\n", "events.csv:2: String should match pattern"),
        (HEADER + "a.avi,1,2,positive,balloon_at_mouth,0\n", "events.csv:2: .*greater than 0"),
        (HEADER + "a.avi,1,2,positive\n", "events.csv:2: expected 6 columns, got 4"),
        (HEADER + "/etc/a.avi,1,2,positive,balloon_at_mouth,\n", "events.csv:2: .*must be relative"),
        (HEADER + "\n../a.avi,1,2,positive,balloon_at_mouth,\n", "events.csv:3: .*must be relative"),
    ],
)
def test_malformed_files_are_refused_with_the_line_and_reason(text: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_events(text)


def test_write_then_read_gives_the_same_events(tmp_path: Path) -> None:
    events = [
        ClipEvent(path="c/a.avi", start_s=1.25, end_s=7.5, label="positive", category="balloon_at_mouth"),
        ClipEvent(path="c/b.avi", start_s=0, end_s=3, label="negative", category="phone_at_ear", person_height_px=180),
    ]
    write_events(tmp_path / "events.csv", events)
    assert read_events(tmp_path / "events.csv") == events


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "events.csv").write_bytes(b"\xff\xfe\x00broken")
    with pytest.raises(DatasetError, match="cannot read"):
        read_events(tmp_path / "events.csv")


def _event(start: float, end: float, label: str = "positive", category: str = "balloon_at_mouth") -> ClipEvent:
    return ClipEvent(path="a.avi", start_s=start, end_s=end, label=label, category=category)


@pytest.mark.parametrize(
    ("label", "events", "length", "problem"),
    [
        ("positive", [_event(1, 4)], 10.0, None),
        ("positive", [_event(1, 4), _event(6, 9)], 10.0, None),
        ("negative", [], 10.0, None),
        ("negative", [_event(1, 4, "negative", "cup_at_mouth")], 10.0, None),
        ("positive", [_event(1, 10.05)], 10.0, None),  # within a frame's rounding of the end
        ("positive", [_event(1, 4)], None, None),  # length not known yet: not checked
        ("positive", [_event(1, 11)], 10.0, "event 1-11 s ends after the clip (10.00 s long)"),
        ("positive", [_event(1, 5), _event(4, 8, "negative", "cup_at_mouth")], 10.0, "events overlap"),
        ("positive", [], 10.0, "labelled positive but has no positive event"),
        ("positive", [_event(1, 3, "negative", "cup_at_mouth")], 10.0, "labelled positive but has no positive"),
        ("negative", [_event(1, 3)], 10.0, "labelled negative but has 1 positive event"),
    ],
)
def test_clip_rules(label: str, events: list[ClipEvent], length: float | None, problem: str | None) -> None:
    row = LabelRow(path="a.avi", label=label)
    found = clip_problem(row, events, length)
    assert (found is None) if problem is None else (found is not None and found.startswith(problem))


def test_events_group_by_clip_and_refuse_a_clip_that_labels_do_not_list() -> None:
    rows = [LabelRow(path="a.avi", label="positive"), LabelRow(path="b.avi", label="negative")]
    grouped = events_by_clip([_event(5, 7), _event(1, 3)], rows)
    assert [e.start_s for e in grouped["a.avi"]] == [1, 5] and grouped["b.avi"] == ()
    assert count_events(grouped) == {"positive/balloon_at_mouth": 2}
    stray = ClipEvent(path="c.avi", start_s=0, end_s=1, label="negative", category="cup_at_mouth")
    with pytest.raises(DatasetError, match="c.avi is not listed in labels.csv"):
        events_by_clip([stray], rows)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_any_text_is_parsed_or_refused_with_a_dataset_error(body: str) -> None:
    for text in (body, HEADER + body):
        try:
            events = parse_events(text)
        except DatasetError:
            continue
        assert all(isinstance(e, ClipEvent) and e.end_s > e.start_s >= 0 for e in events)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[a-z0-9_]{1,8}/[a-z0-9]{1,8}\.avi", fullmatch=True),
            st.floats(min_value=0, max_value=3600, allow_nan=False),
            st.floats(min_value=0.01, max_value=60, allow_nan=False),
            st.sampled_from(["positive", "negative"]),
            st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True),
            st.none() | st.integers(min_value=1, max_value=4000),
        ),
        max_size=8,
    )
)
def test_written_events_read_back_to_the_millisecond(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, float, float, str, str, int | None]]
) -> None:
    events = [
        ClipEvent(
            path=p,
            start_s=round(s, 3),
            end_s=round(s, 3) + round(d, 3) + 0.001,
            label=lab,
            category=c,
            person_height_px=h,
        )
        for p, s, d, lab, c, h in rows
    ]
    path = tmp_path_factory.mktemp("events") / "events.csv"
    write_events(path, events)
    back = read_events(path)
    assert [(e.path, e.label, e.category, e.person_height_px) for e in back] == [
        (e.path, e.label, e.category, e.person_height_px) for e in events
    ]
    assert all(
        abs(a.start_s - b.start_s) < 1e-3 and abs(a.end_s - b.end_s) < 1e-3 for a, b in zip(back, events, strict=True)
    )


_CELL = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters=",\r\n\"'"), max_size=8),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-5, max_value=5000).map(str),
    st.sampled_from(["positive", "negative", "balloon_at_mouth", "cup_at_mouth", "a.avi", "../a.avi", ""]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=4, max_size=8).map(",".join), max_size=6))
def test_rows_of_any_cells_are_parsed_or_refused_with_a_dataset_error(rows: list[str]) -> None:
    text = HEADER + "\n".join(rows) + "\n"
    try:
        events = parse_events(text)
    except DatasetError as error:
        assert str(error).startswith("events.csv:")
        return
    assert all(e.end_s > e.start_s >= 0 and e.label in ("positive", "negative") for e in events)
