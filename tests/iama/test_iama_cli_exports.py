"""CLI end to end, the exports (PDF with the right sections, lossless JSON, register mapping) and the schema."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from iama.cli import app
from iama.config import IamaSettings
from iama.document import build_document
from iama.exports.formats import export_record, import_json
from iama.exports.register import RegisterOptions, to_register
from iama.loader import QUESTIONNAIRE_IDS, load_questionnaire, parse_questionnaire
from nitroplatform.db.engine import make_engine
from nitroplatform.db.models_registry import load_all_models

OPTIONS = RegisterOptions(organization="Gemeente Voorbeeld", contact_email="privacy@voorbeeld.nl")


@pytest.mark.parametrize(
    ("questionnaire_id", "parts", "numbered"),
    [("iama-v1-2021", 4, 57), ("iama-v2-2026", 5, 80)],
)
def test_questionnaires_have_official_structure(questionnaire_id: str, parts: int, numbered: int) -> None:
    questionnaire = load_questionnaire(questionnaire_id)
    ids = [q.id for q in questionnaire.questions()]
    assert len(questionnaire.parts) == parts
    assert len(ids) == len(set(ids))
    # Our own explanation fields (".t") and action-point groups (".AP.") carry no official number.
    assert len([i for i in ids if not i.endswith(".t") and ".AP." not in i]) == numbered
    known = set(ids)
    assert all(c.question in known for q in questionnaire.questions() for c in q.show_if)


@pytest.mark.parametrize(
    ("mutation", "expectation"),
    [
        (lambda text: text, contextlib.nullcontext()),
        (lambda text: text.replace('id: "1.1.2"', 'id: "1.1.1"', 1), pytest.raises(ValueError, match="more than once")),
        (
            lambda text: text.replace('question: "1.3.1", equals: "no"', 'question: "9.9.9", equals: "no"'),
            pytest.raises(ValueError, match="unknown id '9.9.9'"),
        ),
        (lambda text: text.replace("type: text", "type: essay", 1), pytest.raises(ValueError)),
    ],
)
def test_questionnaire_schema_validation(mutation: Any, expectation: Any) -> None:
    source = Path(__file__).parents[2] / "iama/questionnaires/iama-v2-2026.yaml"
    with expectation:
        parse_questionnaire(mutation(source.read_text()))


def test_all_questionnaire_ids_load() -> None:
    assert [load_questionnaire(q).id for q in QUESTIONNAIRE_IDS] == list(QUESTIONNAIRE_IDS)


def test_json_export_imports_back_losslessly(
    session: Session, filled_record: int, settings: IamaSettings, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    exported = export_record(session=session, record_id=filled_record, fmt="json", settings=settings).content
    copy = import_json(session=session, text=exported.decode(), actor="erik")
    assert copy.id != filled_record
    again = export_record(session=session, record_id=copy.id, fmt="json", settings=settings).content
    assert json.loads(again) == json.loads(exported)


def test_register_mapping(
    session: Session, filled_record: int, settings: IamaSettings, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    record = to_register(build_document(session=session, record_id=filled_record), OPTIONS)
    assert record.status == "In gebruik"
    assert record.publication_category == "Impactvolle algoritmes"
    assert record.begin_date == "2027-04" and record.lang == "nld" and record.standard_version == "1.0"
    assert "De BOA is de beslisser" in record.human_intervention  # 3.2.1
    assert "art. 151c" in record.lawful_basis  # 1.3.4
    assert "Valse alarmen leiden tot onterechte aanspreking" in record.risks  # 5.C.1
    assert record.methods_and_models.startswith("<p>Zelflerend</p>")  # 2.1.1 says whether it is self-learning
    assert [item.title for item in record.impacttoetsen_grouping] == ["IAMA", "DPIA"]
    assert len(record.description_short) <= 400


@pytest.mark.browser
def test_pdf_opens_with_one_outline_entry_per_section(
    session: Session, filled_record: int, settings: IamaSettings, approve_all: Callable[..., None]
) -> None:
    approve_all(session, filled_record, settings)
    pdf = export_record(session=session, record_id=filled_record, fmt="pdf", settings=settings).content
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 5
    sections = [item.title for item in reader.outline[1] if not isinstance(item, list)]
    assert sections == [
        "Deel 1 – Waarom?",
        "Deel 2 – Wat?",
        "Deel 3 – Hoe?",
        "Deel 4 – Mensenrechten",
        "Deel 5 – Afsluiting",
        "Advies en besluit",
        "AI Act art. 27 (FRIA)",
        "AI Act art. 5 screening",
        "Systeemfeiten",
    ]
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Valse alarmen leiden tot onterechte aanspreking" in text


def test_art27_and_art5_views(session: Session, filled_record: int, settings: IamaSettings) -> None:
    art27 = json.loads(export_record(session=session, record_id=filled_record, fmt="art27", settings=settings).content)
    assert [e["element"] for e in art27] == ["a", "b", "c", "d", "e", "f"]
    assert [i["question_id"] for i in art27[4]["items"]] == ["3.2.1", "3.2.2"]
    art5 = json.loads(export_record(session=session, record_id=filled_record, fmt="art5", settings=settings).content)
    assert art5["prohibited_practice"] == "no" and "confidence" in art5["alert_fields"]
    assert len(art5["practices"]) == 8


def test_cli_from_example_to_approved_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    engine = make_engine(url)
    load_all_models().create_all(engine)
    engine.dispose()
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(
            app,
            [*args, "--database-url", url],
            env={"NITROSIGNAL_DATABASE_URL": url},
        )
        assert result.exit_code == code, result.output
        return result.output.strip()

    record = run("example", "--as", "alice")
    run("submit", record, "--as", "alice")
    run("review", record, "--all", "acceptable", "--finish", "--as", "alice", code=1)  # author may not review
    assert run("review", record, "--all", "acceptable", "--finish", "--as", "bob") == "dpo_advice"
    run("advise", record, "--opinion", "conditional", "--advice", "Monitor precisie.", "--as", "dora")
    run("approve", record, "--as", "carol", code=1)  # residual risks still pending
    for position in ("1", "2", "3"):
        run("risk", record, position, "--accept", "--as", "carol")
    assert run("approve", record, "--reasons", "Akkoord", "--as", "carol").startswith("approved; snapshot sha256")
    out = tmp_path / "record.json"
    run("export", record, "--format", "json", "--out", str(out))
    assert json.loads(out.read_text())["record"]["status"] == "approved"
    imported = run("import", str(out), "--as", "erik")
    assert "approved" in run("status")
    assert run("status", imported).splitlines()[1] == "status: approved (version 1)"


@pytest.mark.parametrize(
    ("questionnaire_id", "expected_parts"),
    [
        (
            "iama-v2-2026",
            [
                "Deel 1 – Waarom?",
                "Deel 2 – Wat?",
                "Deel 3 – Hoe?",
                "Deel 4 – Mensenrechten",
                "Deel 5 – Afsluiting",
                "Advies en besluit",
            ],
        )
    ],
)
def test_markdown_has_one_heading_per_part(
    session: Session, filled_record: int, settings: IamaSettings, questionnaire_id: str, expected_parts: list[str]
) -> None:
    text = export_record(session=session, record_id=filled_record, fmt="md", settings=settings).content.decode()
    assert [line[3:] for line in text.splitlines() if line.startswith("## ")] == expected_parts
    assert "\n\n**1.1.2**" in text and "(niet van toepassing)" in text  # hidden 1.3.3 is marked, not dropped


@pytest.mark.parametrize(("language", "expected_heading"), [("nl", "Deel 1 – Waarom?"), ("en", "Part 1 – Why?")])
def test_html_renders_in_both_languages(
    session: Session, language: str, expected_heading: str, settings: IamaSettings
) -> None:
    from iama import service

    service.create_deployment(session=session, deployment=service.DeploymentIn(id="lang", name="Taal"))
    record = service.create_record(
        session=session, deployment_id="lang", questionnaire_id="iama-v2-2026", author="alice", language=language
    )
    html = export_record(session=session, record_id=record.id, fmt="html", settings=settings).content.decode()
    assert f'<h2 class="part">{expected_heading}</h2>' in html


@pytest.mark.parametrize(
    ("args", "expected_code", "expected_output"),
    [
        (["-q", "4.1.1", "-v", "[data_protection, spatial_privacy]"], 0, "1 answers changed: 4.1.1"),
        (["-q", "4.3.3", "-v", "light"], 0, "1 answers changed: 4.3.3"),
        (["-q", "4.3.3", "-v", "extreme"], 1, "expected one of ['serious', 'medium', 'light']"),
        (["-q", "9.9.9", "-v", "x"], 1, "has no question '9.9.9'"),
        (["--file", "{answers}"], 0, "2 answers changed: 1.1.1, 5.C.1"),
    ],
)
def test_cli_answer_from_options_and_yaml_file(
    tmp_path: Path, args: list[str], expected_code: int, expected_output: str
) -> None:
    url = f"sqlite:///{tmp_path / 'answers.sqlite3'}"
    engine = make_engine(url)
    load_all_models().create_all(engine)
    engine.dispose()
    answers = tmp_path / "answers.yaml"
    answers.write_text('"1.1.1": Overlast op de boulevard.\n"5.C.1":\n  - {title: Valse alarmen, owner: FG}\n')
    runner = CliRunner()
    base = ["--database-url", url]
    assert runner.invoke(app, ["new-deployment", "demo", "--name", "Demo", *base]).exit_code == 0
    record = runner.invoke(app, ["new", "--deployment", "demo", "--as", "alice", *base]).output.strip()
    result = runner.invoke(app, ["answer", record, *[a.format(answers=answers) for a in args], "--as", "alice", *base])
    assert result.exit_code == expected_code, result.output
    assert expected_output in result.output
