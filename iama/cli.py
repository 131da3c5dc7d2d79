"""``nitrosignal iama``: create, answer, review, advise, approve and export IAMA records from the shell.

Every command goes through :mod:`iama.service`, the same layer the web app uses. ``--as`` names the person
acting (their platform username); the workflow refuses a person acting in two roles of one record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
import yaml
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.drift import detect_drift, sweep
from iama.exports.formats import EXPORT_FORMATS, export_record, import_json
from iama.exports.register import RegisterOptions
from iama.gating import IamaGatePolicy
from iama.loader import QUESTIONNAIRE_IDS, AnswerError, load_questionnaire
from iama.storage.models import Deployment
from iama.worked_example import load_example
from iama.workflow import Mark, WorkflowError, check_completeness

app = typer.Typer(
    help="Human-rights impact assessments (IAMA v1 2021 / v2 2026) per deployment.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

T = TypeVar("T")
DB_OPTION = typer.Option(
    None,
    "--database-url",
    envvar="NITROSIGNAL_DATABASE_URL",
    help="SQLAlchemy URL; default: the platform's database (NITROSIGNAL_* settings).",
)
ACTOR = typer.Option(..., "--as", help="Username of the person acting (recorded in history and workflow).")


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    from nitroplatform.db.engine import make_engine
    from nitroplatform.db.models_registry import load_all_models
    from nitroplatform.db.session import make_sessionmaker, session_scope
    from nitroplatform.settings import get_settings

    load_all_models()
    engine = make_engine(database_url or get_settings().effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            yield db
    finally:
        engine.dispose()


def _run(database_url: str | None, action: Callable[[Session], T]) -> T:
    """Run ``action`` in one transaction; domain errors become a message and exit code 1."""
    try:
        with _session(database_url) as db:
            return action(db)
    except (WorkflowError, service.NotFoundError, AnswerError, KeyError, ValueError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=1) from error
    except OperationalError as error:
        typer.echo(
            f"database error: {error.orig}; is the database migrated? run: nitrosignal platform db upgrade", err=True
        )
        raise typer.Exit(code=2) from error


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
    _run(database_url, lambda db: service.create_deployment(session=db, deployment=spec))
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
    record = _run(
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
    changed = _run(
        database_url, lambda db: service.set_answers(session=db, record_id=record_id, answers=answers, actor=actor)
    )
    typer.echo(f"{len(changed)} answers changed: {', '.join(changed)}")


@app.command()
def submit(
    record_id: int = typer.Argument(..., help="Record id."), actor: str = ACTOR, database_url: str | None = DB_OPTION
) -> None:
    """Send a complete draft to review (refused while questions are open or the art. 5 gate blocks)."""
    _run(database_url, lambda db: service.submit(session=db, record_id=record_id, actor=actor))
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

    typer.echo(_run(database_url, act))


@app.command()
def advise(
    record_id: int = typer.Argument(..., help="Record id."),
    opinion: str = typer.Option(..., help="positive, conditional or negative."),
    advice: str = typer.Option(..., help="The DPO's advice text."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Record the data protection officer's (FG) advice."""
    _run(
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
    _run(
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
    snapshot = _run(
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
    _run(database_url, lambda db: service.refuse(session=db, record_id=record_id, actor=actor, reasons=reasons))
    typer.echo("refused")


@app.command()
def reopen(
    record_id: int = typer.Argument(..., help="Record id."),
    reason: str = typer.Option(..., help="Why it is reopened."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Start a new version as draft (after refusal, expiry or drift)."""
    record = _run(database_url, lambda db: service.reopen(session=db, record_id=record_id, actor=actor, reason=reason))
    typer.echo(f"draft, version {record.version}")


@app.command()
def archive(
    record_id: int = typer.Argument(..., help="Record id."),
    reason: str = typer.Option(..., help="Why it is archived."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Archive a record (its cameras are gated)."""
    _run(database_url, lambda db: service.archive(session=db, record_id=record_id, actor=actor, reason=reason))
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
    row = _run(
        database_url,
        lambda db: service.add_comment(session=db, record_id=record_id, actor=actor, body=text, question_id=question),
    )
    typer.echo(f"comment {row.id}")


@app.command()
def resolve(
    comment_id: int = typer.Argument(..., help="Comment id."), actor: str = ACTOR, database_url: str | None = DB_OPTION
) -> None:
    """Resolve a comment."""
    _run(database_url, lambda db: service.resolve_comment(session=db, comment_id=comment_id, actor=actor))
    typer.echo("resolved")


@app.command()
def export(
    record_id: int = typer.Argument(..., help="Record id."),
    fmt: str = typer.Option("pdf", "--format", help=f"One of {', '.join(EXPORT_FORMATS)}."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write."),
    organization: str | None = typer.Option(None, help="Organisation name (register format)."),
    contact_email: str | None = typer.Option(None, help="Generic contact address (register format)."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Export as Markdown, HTML, PDF, JSON (re-importable), Algoritmeregister 1.0, art. 27 or art. 5 view."""
    if fmt not in EXPORT_FORMATS:
        raise typer.BadParameter(f"expected one of {EXPORT_FORMATS}", param_hint="--format")
    options = None
    if fmt == "register":
        if not organization or not contact_email:
            raise typer.BadParameter("the register format needs --organization and --contact-email")
        options = RegisterOptions(organization=organization, contact_email=contact_email)
    result = _run(
        database_url,
        lambda db: export_record(
            session=db,
            record_id=record_id,
            fmt=fmt,  # type: ignore[arg-type]
            settings=IamaSettings(),
            register_options=options,
        ),
    )
    out.write_bytes(result.content)
    typer.echo(f"wrote {out} ({len(result.content)} bytes)")


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="A JSON export of a record."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Import a JSON export losslessly as a new record; prints its id.

    An imported approval gates nothing until the record is reopened and approved on this platform.
    """
    record = _run(database_url, lambda db: import_json(session=db, text=file.read_text(), actor=actor))
    typer.echo(record.id)


@app.command()
def example(
    actor: str = typer.Option("privacy", "--as", help="Author of the example record."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Load the worked example: the demo deployment and a fully answered IAMA v2 draft; prints the record id."""
    data = load_example()

    def act(db: Session) -> int:
        if db.get(Deployment, data.deployment.id) is None:
            service.create_deployment(session=db, deployment=data.deployment)
        record = service.create_record(
            session=db,
            deployment_id=data.deployment.id,
            questionnaire_id=data.questionnaire_id,
            author=actor,
            language=data.language,
        )
        service.set_answers(session=db, record_id=record.id, answers=data.answers, actor=actor)
        return record.id

    typer.echo(_run(database_url, act))


@app.command()
def status(
    record_id: int | None = typer.Argument(None, help="Record id; omit to list all records."),
    database_url: str | None = DB_OPTION,
) -> None:
    """Show a record's status, completeness, residual risks, drift and the gate per camera."""

    def act(db: Session) -> list[str]:
        if record_id is None:
            return [
                f"{r.id}\t{r.deployment_id}\t{r.questionnaire_id}\tv{r.version}\t{r.status}"
                + ("\treassessment needed" if r.reassessment_needed else "")
                for r in service.list_records(session=db)
            ]
        record = service.get_record(session=db, record_id=record_id)
        report = check_completeness(
            service.questionnaire_of(record), service.answers_of(session=db, record_id=record_id), lang=record.language
        )
        lines = [
            f"record {record.id}: {record.title}",
            f"status: {record.status} (version {record.version})",
            f"people: author={record.author} reviewer={record.reviewer} dpo={record.dpo} approver={record.approver}",
            f"answered {report.answered}/{report.visible_required} required; missing: "
            f"{', '.join(report.missing) or '-'}",
        ]
        lines += [f"blocked: {reason}" for reason in report.blocked]
        snapshot = service.latest_snapshot(session=db, record_id=record_id)
        if snapshot is not None:
            verdict = "intact" if service.verify_snapshot(snapshot) else "ALTERED: hash does not match"
            lines.append(f"approved snapshot v{snapshot.record_version}: sha256 {snapshot.sha256} ({verdict})")
        lines += [
            f"risk {r.position}: {r.title} — {r.decision}" for r in service.residual_risks(session=db, record=record)
        ]
        settings = IamaSettings()
        lines += [f"drift: {d.summary}" for d in detect_drift(session=db, record=record, settings=settings)]
        from nitroplatform.db.models import Camera, utcnow

        policy = IamaGatePolicy(settings)
        for camera in db.query(Camera).filter(Camera.deployment_id == record.deployment_id):
            decision = policy.is_gated(db, camera.id, utcnow())
            lines.append(f"camera {camera.id}: {'GATED' if decision.gated else 'active'} ({decision.reason})")
        return lines

    for line in _run(database_url, act):
        typer.echo(line)


@app.command("sweep")
def sweep_command(database_url: str | None = DB_OPTION) -> None:
    """Flag approved records whose facts changed (re-assessment needed) and expire old approvals."""
    result = _run(database_url, lambda db: sweep(session=db, settings=IamaSettings()))
    for record_id, differences in result.drifted.items():
        for difference in differences:
            typer.echo(f"record {record_id}: {difference.summary}")
    for record_id in result.expired:
        typer.echo(f"record {record_id}: expired")
