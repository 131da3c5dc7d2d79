"""``nitrosignal iama`` commands that read records out or bring them in: export, import, example, status, sweep.

They are registered on the one ``iama.cli.app``; this module only keeps ``cli.py`` short.
"""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy.orm import Session

from iama import service
from iama.cli_common import ACTOR, DB_OPTION, run_in_session
from iama.config import IamaSettings
from iama.drift import detect_drift, sweep
from iama.exports.formats import EXPORT_FORMATS, export_record, import_json
from iama.exports.register import RegisterOptions
from iama.gating import IamaGatePolicy
from iama.storage.models import Deployment
from iama.worked_example import load_example
from iama.workflow import check_completeness


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
    result = run_in_session(
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


def import_(
    file: Path = typer.Argument(..., help="A JSON export of a record."),
    actor: str = ACTOR,
    database_url: str | None = DB_OPTION,
) -> None:
    """Import a JSON export losslessly as a new record; prints its id.

    An imported approval gates nothing until the record is reopened and approved on this platform.
    """
    record = run_in_session(database_url, lambda db: import_json(session=db, text=file.read_text(), actor=actor))
    typer.echo(record.id)


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

    typer.echo(run_in_session(database_url, act))


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

    for line in run_in_session(database_url, act):
        typer.echo(line)


def sweep_command(database_url: str | None = DB_OPTION) -> None:
    """Flag approved records whose facts changed (re-assessment needed) and expire old approvals."""
    result = run_in_session(database_url, lambda db: sweep(session=db, settings=IamaSettings()))
    for record_id, differences in result.drifted.items():
        for difference in differences:
            typer.echo(f"record {record_id}: {difference.summary}")
    for record_id in result.expired:
        typer.echo(f"record {record_id}: expired")
