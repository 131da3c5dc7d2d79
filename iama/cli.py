"""``nitrosignal iama``: create, answer, review, advise, approve and export IAMA records from the shell.

Every command goes through :mod:`iama.service`, the same layer the web app uses. ``--as`` names the person
acting (their platform username); the workflow refuses a person acting in two roles of one record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml
from sqlalchemy.orm import Session

from iama import cli_output, service
from iama.cli_common import ACTOR, DB_OPTION, run_in_session
from iama.config import IamaSettings
from iama.loader import QUESTIONNAIRE_IDS, load_questionnaire
from iama.workflow import Mark

app = typer.Typer(
    help="Human-rights impact assessments (IAMA v1 2021 / v2 2026) per deployment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command("questionnaires")
def questionnaires() -> None:
    """List the shipped questionnaires with their parts and question counts."""
    for questionnaire_id in QUESTIONNAIRE_IDS:
        questionnaire = load_questionnaire(questionnaire_id)
        typer.echo(
            f"{questionnaire.id} v{questionnaire.version}: {questionnaire.title.en} — "
            f"{len(questionnaire.parts)} parts, {len(questionnaire.questions())} questions"
        )


@app.command("new-deployment")
def new_deployment(
    deployment_id: str = typer.Argument(..., help="Short id, e.g. 'boulevard-2027'; cameras refer to it."),
    name: str = typer.Option(..., help="Human name of the deployment."),
    purpose: str = typer.Option("", help="Purpose of the deployment."),
    legal_basis: str = typer.Option("", help="Legal basis (APV, Gemeentewet art. 151c, …)."),
    period_start: str = typer.Option("", help="First day, YYYY-MM-DD."),
    period_end: str = typer.Option("", help="Last day, YYYY-MM-DD."),
    operator: str = typer.Option("", help="Who operates it."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Register a deployment (a set of cameras with one purpose, legal basis and period)."""
    spec = service.DeploymentIn(
        id=deployment_id,
        name=name,
        purpose=purpose,
        legal_basis=legal_basis,
        period_start=period_start,
        period_end=period_end,
        operator=operator,
    )
    run_in_session(database_url, lambda db: service.create_deployment(session=db, deployment=spec))
    typer.echo(f"deployment {deployment_id} registered")


@app.command()
def new(
    deployment: str = typer.Option(..., "--deployment", help="Deployment id the record assesses."),
    questionnaire: str = typer.Option("iama-v2-2026", help=f"One of {', '.join(QUESTIONNAIRE_IDS)}."),
    language: str = typer.Option("nl", help="Language of the record: nl or en."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Start an empty draft record; prints its id."""
    record = run_in_session(
        database_url,
        lambda db: service.create_record(
            session=db, deployment_id=deployment, questionnaire_id=questionnaire, author=actor, language=language
        ),
    )
    typer.echo(record.id)


def _parse_value(raw: str) -> Any:
    # Lists (multi) are given as YAML flow sequences: "[a, b]"; everything else is a plain string.
    return yaml.safe_load(raw) if raw.startswith("[") else raw


@app.command()
def answer(
    record_id: int = typer.Argument(..., help="Record id."),
    question: str | None = typer.Option(None, "--question", "-q", help="Question id, e.g. 1.1.1."),
    value: str | None = typer.Option(None, "--value", "-v", help="Answer: text, an option key, or [key, key]."),
    file: Path | None = typer.Option(None, "--file", "-f", help="YAML mapping of question id to answer."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Answer one question (--question/--value) or many from a YAML file (--file)."""
    answers: dict[str, Any] = {}
    if file is not None:
        loaded = yaml.safe_load(file.read_text())
        if not isinstance(loaded, dict):
            raise typer.BadParameter("the YAML file must map question ids to answers", param_hint="--file")
        answers.update({str(key): val for key, val in loaded.items()})
    if question is not None:
        if value is None:
            raise typer.BadParameter("--question needs --value", param_hint="--value")
        answers[question] = _parse_value(value)
    if not answers:
        raise typer.BadParameter("give --question/--value or --file")
    changed = run_in_session(
        database_url, lambda db: service.set_answers(session=db, record_id=record_id, answers=answers, actor=actor)
    )
    typer.echo(f"{len(changed)} answers changed: {', '.join(changed)}")


@app.command()
def submit(
    record_id: int = typer.Argument(..., help="Record id."), actor: str = ACTOR, database_url: str | None = DB_OPTION
) -> None:
    """Send a complete draft to review (refused while questions are open or the art. 5 gate blocks)."""
    run_in_session(database_url, lambda db: service.submit(session=db, record_id=record_id, actor=actor))
    typer.echo("in_review")


@app.command()
def review(
    record_id: int = typer.Argument(..., help="Record id."),
    mark: list[str] = typer.Option([], "--mark", "-m", help="QID=acceptable|improvable|to_fix[:note]; repeatable."),
    all_remaining: Mark | None = typer.Option(None, "--all", help="Give every unmarked answered question this mark."),
    finish: bool = typer.Option(False, "--finish", help="Close the review: to DPO advice, or back to draft."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Mark questions as reviewer (not the author), then --finish."""
    marks = []
    for item in mark:
        qid, _, rest = item.partition("=")
        verdict, _, note = rest.partition(":")
        marks.append(service.ReviewMark(question_id=qid, mark=Mark(verdict), note=note))

    def act(db: Session) -> str:
        if all_remaining is not None:
            record = service.get_record(session=db, record_id=record_id)
            done = set(service.current_marks(session=db, record=record)) | {m.question_id for m in marks}
            answered = service.answers_of(session=db, record_id=record_id)
            marks.extend(service.ReviewMark(question_id=q, mark=all_remaining) for q in answered if q not in done)
        if marks:
            service.review(session=db, record_id=record_id, actor=actor, marks=marks)
        if finish:
            return service.finish_review(session=db, record_id=record_id, actor=actor).status
        return service.get_record(session=db, record_id=record_id).status

    typer.echo(run_in_session(database_url, act))


@app.command()
def advise(
    record_id: int = typer.Argument(..., help="Record id."),
    opinion: str = typer.Option(..., help="positive, conditional or negative."),
    advice: str = typer.Option(..., help="The DPO's advice text."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Record the data protection officer's (FG) advice."""
    run_in_session(
        database_url,
        lambda db: service.advise(session=db, record_id=record_id, actor=actor, opinion=opinion, advice=advice),
    )
    typer.echo("advice recorded")


@app.command()
def risk(
    record_id: int = typer.Argument(..., help="Record id."),
    position: int = typer.Argument(..., help="Residual risk number (see `status`)."),
    accept: bool = typer.Option(..., "--accept/--reject", help="Accept or reject the residual risk."),
    reason: str = typer.Option("", help="Why."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Accept or reject one residual risk explicitly (the accountable official)."""
    run_in_session(
        database_url,
        lambda db: service.decide_risk(
            session=db, record_id=record_id, actor=actor, position=position, accept=accept, reason=reason
        ),
    )
    typer.echo("accepted" if accept else "rejected")


@app.command()
def approve(
    record_id: int = typer.Argument(..., help="Record id."),
    reasons: str = typer.Option("", help="Reasons for approval."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Approve as accountable official: freezes a sha256-hashed snapshot and opens the gate."""
    snapshot = run_in_session(
        database_url,
        lambda db: service.approve(
            session=db, record_id=record_id, actor=actor, reasons=reasons, settings=IamaSettings()
        ),
    )
    typer.echo(f"approved; snapshot sha256 {snapshot.sha256}")


@app.command()
def refuse(
    record_id: int = typer.Argument(..., help="Record id."),
    reasons: str = typer.Option(..., help="Reasons for refusal (required)."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Refuse as accountable official, with reasons."""
    run_in_session(
        database_url, lambda db: service.refuse(session=db, record_id=record_id, actor=actor, reasons=reasons)
    )
    typer.echo("refused")


@app.command()
def reopen(
    record_id: int = typer.Argument(..., help="Record id."),
    reason: str = typer.Option(..., help="Why it is reopened."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Start a new version as draft (after refusal, expiry or drift)."""
    record = run_in_session(
        database_url, lambda db: service.reopen(session=db, record_id=record_id, actor=actor, reason=reason)
    )
    typer.echo(f"draft, version {record.version}")


@app.command()
def archive(
    record_id: int = typer.Argument(..., help="Record id."),
    reason: str = typer.Option(..., help="Why it is archived."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Archive a record (its cameras are gated)."""
    run_in_session(
        database_url, lambda db: service.archive(session=db, record_id=record_id, actor=actor, reason=reason)
    )
    typer.echo("archived")


@app.command()
def comment(
    record_id: int = typer.Argument(..., help="Record id."),
    text: str = typer.Option(..., help="The comment."),
    question: str = typer.Option("", "--question", "-q", help="Question id; empty for the whole record."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Add a comment to a question or the record."""
    row = run_in_session(
        database_url,
        lambda db: service.add_comment(session=db, record_id=record_id, actor=actor, body=text, question_id=question),
    )
    typer.echo(f"comment {row.id}")


@app.command()
def resolve(
    comment_id: int = typer.Argument(..., help="Comment id."), actor: str = ACTOR, database_url: str | None = DB_OPTION
) -> None:
    """Resolve a comment (the shell's operator holds the database already, so any comment)."""
    run_in_session(
        database_url,
        lambda db: service.resolve_comment(session=db, comment_id=comment_id, actor=actor, may_resolve_others=True),
    )
    typer.echo("resolved")


# Commands that read records out or bring them in live in cli_output.py (kept apart for size).
app.command("export")(cli_output.export)
app.command("import")(cli_output.import_)
app.command("example")(cli_output.example)
app.command("status")(cli_output.status)
app.command("sweep")(cli_output.sweep_command)
