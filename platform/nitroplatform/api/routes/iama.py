"""IAMA JSON API (/api/v1/iama) and the privacy officers' pages (/iama/).

Every endpoint calls :mod:`iama.service` (the same layer as ``nitrosignal iama``); the acting person is the
signed-in user, so the workflow's three-distinct-people rule is checked against real accounts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from iama import service
from iama.config import IamaSettings
from iama.document import RecordDocument, build_document
from iama.drift import detect_drift, sweep
from iama.exports.formats import ExportFormat, export_record, import_json, public_html
from iama.exports.register import RegisterOptions
from iama.facts import collect_facts
from iama.gating import IamaGatePolicy
from iama.loader import AnswerError, load_questionnaire
from iama.schema import TEXT_MAX
from iama.storage.models import Comment, Deployment
from iama.worked_example import load_example
from iama.workflow import WorkflowError, check_completeness
from nitroplatform.api.deps import SessionDep
from nitroplatform.api.errors import ConflictError, DomainError, NotFoundError
from nitroplatform.audit import record as audit_record
from nitroplatform.auth.deps import AuthUser, Role, require_roles
from nitroplatform.db.models import Camera, utcnow

router = APIRouter(tags=["iama"])

REVIEWERS = (Role.privacy_officer, Role.admin)
Editor = Annotated[AuthUser, Depends(require_roles(*REVIEWERS))]
COMMENT_MAX = 5000
"""Longest IAMA comment; answers, advice and reasons may be as long as ``iama.records.TEXT_MAX``."""

Reader = Annotated[AuthUser, Depends(require_roles(Role.privacy_officer, Role.admin, Role.auditor, Role.coordinator))]
WEB_FILES = {
    "index.html": "text/html; charset=utf-8",
    "iama.js": "text/javascript; charset=utf-8",
    "iama.css": "text/css; charset=utf-8",
}


def _settings() -> IamaSettings:
    return IamaSettings()


SettingsDep = Annotated[IamaSettings, Depends(_settings)]


@contextmanager
def _domain(db: Session) -> Iterator[None]:
    """Run a service call and commit; map the IAMA errors onto the API's one error style."""
    try:
        yield
        db.commit()
    except service.NotFoundError as error:
        db.rollback()
        raise NotFoundError(str(error)) from error
    except service.NotAllowedError as error:
        db.rollback()
        raise HTTPException(403, detail=str(error)) from error
    except WorkflowError as error:
        db.rollback()
        raise ConflictError(str(error)) from error
    except (AnswerError, KeyError, ValueError) as error:
        db.rollback()
        raise DomainError(str(error)) from error
    except IntegrityError as error:
        # An imported document that repeats a key (two answers to one question, say) breaks a unique constraint.
        db.rollback()
        raise ConflictError(f"the document conflicts with stored data or repeats a key: {error.orig}") from error
    except LookupError as error:
        # The exporters and the public summary say "no such record" with a plain LookupError (after KeyError).
        db.rollback()
        raise NotFoundError(str(error)) from error


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordIn(_In):
    deployment_id: str = Field(max_length=64)
    questionnaire_id: Literal["iama-v1-2021", "iama-v2-2026"] = "iama-v2-2026"
    language: Literal["nl", "en"] = "nl"


class AnswersIn(_In):
    answers: dict[Annotated[str, StringConstraints(max_length=32)], Any] = Field(max_length=1000)

    @field_validator("answers")
    @classmethod
    def _bounded_answers(cls, answers: dict[str, Any]) -> dict[str, Any]:
        # An answer is text, an option key, a list of option keys or of action points, a number, a yes/no or
        # empty: each bounded here (action points by their own model in iama.schema, when the answer is checked).
        for question_id, value in answers.items():
            if isinstance(value, list):
                if len(value) > 100 or any(
                    not (isinstance(item, dict) or (isinstance(item, str) and len(item) <= 200)) for item in value
                ):
                    raise ValueError(f"answer {question_id}: at most 100 option keys or action points")
            elif isinstance(value, str):
                if len(value) > TEXT_MAX:
                    raise ValueError(f"answer {question_id}: at most {TEXT_MAX} characters, got {len(value)}")
            elif value is not None and not isinstance(value, bool | int | float):
                raise ValueError(f"answer {question_id}: text, option keys, a number, yes/no or empty")
        return answers


class CommentIn(_In):
    body: str = Field(max_length=COMMENT_MAX)
    question_id: str = Field(default="", max_length=32)


class ReviewIn(_In):
    marks: list[service.ReviewMark] = Field(default_factory=list, max_length=1000)
    finish: bool = False


class AdviceIn(_In):
    opinion: Literal["positive", "conditional", "negative"]
    advice: str = Field(max_length=TEXT_MAX)


class RiskIn(_In):
    accept: bool
    reason: str = Field(default="", max_length=TEXT_MAX)


class ReasonIn(_In):
    reason: str = Field(default="", max_length=TEXT_MAX)


class DeploymentOut(BaseModel):
    """A deployment with its cameras and records."""

    id: str
    name: str
    purpose: str
    legal_basis: str
    period_start: str
    period_end: str
    operator: str
    cameras: list[str]
    records: list[dict[str, Any]]


class RecordOut(BaseModel):
    """Everything the editor shows: the record document, completeness, marks, facts, drift and gates."""

    id: int
    document: RecordDocument
    missing: list[str]
    blocked: list[str]
    marks: dict[str, dict[str, str]]
    comments: list[dict[str, Any]]
    facts: list[dict[str, Any]]
    drift: list[dict[str, Any]]
    gates: dict[str, dict[str, Any]]
    imported_by: str | None = None


def _deployment_out(db: Session, deployment: Deployment) -> DeploymentOut:
    cameras = list(db.scalars(select(Camera.id).where(Camera.deployment_id == deployment.id).order_by(Camera.id)))
    records = [
        {
            "id": r.id,
            "status": r.status,
            "questionnaire_id": r.questionnaire_id,
            "version": r.version,
            "reassessment_needed": r.reassessment_needed,
        }
        for r in service.list_records(session=db, deployment_id=deployment.id)
    ]
    return DeploymentOut(
        id=deployment.id,
        name=deployment.name,
        purpose=deployment.purpose,
        legal_basis=deployment.legal_basis,
        period_start=deployment.period_start,
        period_end=deployment.period_end,
        operator=deployment.operator,
        cameras=cameras,
        records=records,
    )


def _record_out(db: Session, record_id: int, settings: IamaSettings) -> RecordOut:
    record = service.get_record(session=db, record_id=record_id)
    document = build_document(session=db, record_id=record_id)
    report = check_completeness(service.questionnaire_of(record), document.answer_map(), lang=record.language)
    marks = {
        qid: {"mark": item.mark, "note": item.note, "reviewer": item.reviewer}
        for qid, item in service.current_marks(session=db, record=record).items()
    }
    comments = [
        {
            "id": c.id,
            "question_id": c.question_id,
            "author": c.author,
            "body": c.body,
            "created_at": c.created_at.isoformat(),
            "resolved_by": c.resolved_by,
        }
        for c in db.scalars(select(Comment).where(Comment.record_id == record_id).order_by(Comment.id))
    ]
    if record.status == "approved" and document.snapshots:
        facts = document.snapshots[-1].facts["facts"]
    else:
        facts = [
            f.model_dump(mode="json")
            for f in collect_facts(db, deployment_id=record.deployment_id, settings=settings).facts
        ]
    policy = IamaGatePolicy(settings)
    gates = {}
    for camera_id in db.scalars(select(Camera.id).where(Camera.deployment_id == record.deployment_id)):
        decision = policy.is_gated(db, camera_id, utcnow())
        gates[camera_id] = {"gated": decision.gated, "reason": decision.reason}
    drift = [d.model_dump(mode="json") for d in detect_drift(session=db, record=record, settings=settings)]
    return RecordOut(
        id=record_id,
        document=document,
        missing=report.missing,
        blocked=report.blocked,
        marks=marks,
        comments=comments,
        facts=facts,
        drift=drift or record.drift,
        gates=gates,
        imported_by=record.imported_by,
    )


@router.get("/api/v1/iama/questionnaires/{questionnaire_id}")
def get_questionnaire(questionnaire_id: str, _user: Reader) -> dict[str, Any]:
    """A questionnaire with parts, sections, questions, options, conditions and fact keys."""
    try:
        return load_questionnaire(questionnaire_id).model_dump(mode="json")
    except KeyError as error:
        raise NotFoundError(str(error)) from error


@router.get("/api/v1/iama/deployments", response_model=list[DeploymentOut])
def list_deployments(_user: Reader, db: SessionDep) -> list[DeploymentOut]:
    """Deployments with their cameras and records."""
    return [_deployment_out(db, d) for d in service.list_deployments(session=db)]


@router.post("/api/v1/iama/deployments", response_model=DeploymentOut, status_code=201)
def create_deployment(body: service.DeploymentIn, _user: Editor, db: SessionDep) -> DeploymentOut:
    """Register a deployment."""
    with _domain(db):
        deployment = service.create_deployment(session=db, deployment=body)
    return _deployment_out(db, deployment)


@router.post("/api/v1/iama/records", status_code=201)
def create_record(body: RecordIn, user: Editor, db: SessionDep) -> dict[str, int]:
    """Start an empty draft record; the caller is its author."""
    with _domain(db):
        record = service.create_record(
            session=db,
            deployment_id=body.deployment_id,
            questionnaire_id=body.questionnaire_id,
            author=user.username,
            language=body.language,
        )
    return {"id": record.id}


@router.post("/api/v1/iama/example", status_code=201)
def load_worked_example(user: Editor, db: SessionDep) -> dict[str, int]:
    """Load the worked example (demo deployment + fully answered IAMA v2 draft); the caller is its author."""
    example = load_example()
    with _domain(db):
        if db.get(Deployment, example.deployment.id) is None:
            service.create_deployment(session=db, deployment=example.deployment)
        record = service.create_record(
            session=db,
            deployment_id=example.deployment.id,
            questionnaire_id=example.questionnaire_id,
            author=user.username,
            language=example.language,
        )
        service.set_answers(session=db, record_id=record.id, answers=example.answers, actor=user.username)
    return {"id": record.id}


@router.get("/api/v1/iama/records/{record_id}", response_model=RecordOut)
def get_record(record_id: int, _user: Reader, db: SessionDep, settings: SettingsDep) -> RecordOut:
    """The record with completeness, review marks, comments, facts, drift and the gate per camera."""
    with _domain(db):
        return _record_out(db, record_id, settings)


@router.put("/api/v1/iama/records/{record_id}/answers")
def put_answers(record_id: int, body: AnswersIn, user: Editor, db: SessionDep) -> dict[str, list[str]]:
    """Save answers of a draft (history keeps who changed what)."""
    with _domain(db):
        changed = service.set_answers(session=db, record_id=record_id, answers=body.answers, actor=user.username)
    return {"changed": changed}


@router.post("/api/v1/iama/records/{record_id}/comments", status_code=201)
def post_comment(record_id: int, body: CommentIn, user: Reader, db: SessionDep) -> dict[str, int]:
    """Comment on a question or the record."""
    with _domain(db):
        row = service.add_comment(
            session=db, record_id=record_id, actor=user.username, body=body.body, question_id=body.question_id
        )
    return {"id": row.id}


@router.post("/api/v1/iama/comments/{comment_id}/resolve", status_code=204)
def resolve_comment(comment_id: int, user: Reader, db: SessionDep) -> Response:
    """Resolve a comment: its author, the record's author, or a privacy officer or admin (403 for others)."""
    with _domain(db):
        service.resolve_comment(
            session=db, comment_id=comment_id, actor=user.username, may_resolve_others=user.has_any(*REVIEWERS)
        )
    return Response(status_code=204)


@router.post("/api/v1/iama/records/{record_id}/actions/{action}")
def workflow_action(
    record_id: int,
    action: Literal["submit", "reopen", "archive", "approve", "refuse"],
    body: ReasonIn,
    user: Editor,
    db: SessionDep,
    settings: SettingsDep,
) -> dict[str, str]:
    """Move the record: submit, approve (reason = reasons), refuse (reasons required), reopen, archive."""
    actor = user.username
    with _domain(db):
        if action == "submit":
            service.submit(session=db, record_id=record_id, actor=actor)
        elif action == "approve":
            service.approve(session=db, record_id=record_id, actor=actor, reasons=body.reason, settings=settings)
        elif action == "refuse":
            service.refuse(session=db, record_id=record_id, actor=actor, reasons=body.reason)
        elif action == "reopen":
            service.reopen(session=db, record_id=record_id, actor=actor, reason=body.reason)
        else:
            service.archive(session=db, record_id=record_id, actor=actor, reason=body.reason)
    return {"status": service.get_record(session=db, record_id=record_id).status}


@router.post("/api/v1/iama/records/{record_id}/review")
def post_review(record_id: int, body: ReviewIn, user: Editor, db: SessionDep) -> dict[str, str]:
    """Record review marks; with ``finish`` close the review (to DPO advice, or back to draft)."""
    with _domain(db):
        if body.marks:
            service.review(session=db, record_id=record_id, actor=user.username, marks=body.marks)
        if body.finish:
            service.finish_review(session=db, record_id=record_id, actor=user.username)
        # Inside the mapping: an unknown record with no marks must be a 404, not an unmapped error (500).
        record_status = service.get_record(session=db, record_id=record_id).status
    return {"status": record_status}


@router.post("/api/v1/iama/records/{record_id}/advice", status_code=201)
def post_advice(record_id: int, body: AdviceIn, user: Editor, db: SessionDep) -> dict[str, str]:
    """Record the DPO's advice."""
    with _domain(db):
        service.advise(session=db, record_id=record_id, actor=user.username, opinion=body.opinion, advice=body.advice)
    return {"status": "recorded"}


@router.post("/api/v1/iama/records/{record_id}/risks/{position}")
def post_risk(record_id: int, position: int, body: RiskIn, user: Editor, db: SessionDep) -> dict[str, str]:
    """Accept or reject one residual risk (the accountable official)."""
    with _domain(db):
        risk = service.decide_risk(
            session=db,
            record_id=record_id,
            actor=user.username,
            position=position,
            accept=body.accept,
            reason=body.reason,
        )
    return {"decision": risk.decision}


@router.get("/api/v1/iama/records/{record_id}/export/{fmt}")
def export(
    record_id: int,
    fmt: ExportFormat,
    user: Reader,
    db: SessionDep,
    settings: SettingsDep,
    organization: Annotated[str | None, Query(max_length=100)] = None,
    contact_email: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    """Download an export: md, html, pdf, json, register (needs organization and contact_email), art27, art5."""
    options = None
    if fmt == "register":
        if not organization or not contact_email:
            raise DomainError("the register export needs organization and contact_email")
        options = RegisterOptions(organization=organization, contact_email=contact_email)
    with _domain(db):
        result = export_record(session=db, record_id=record_id, fmt=fmt, settings=settings, register_options=options)
        # Who took which record out of the system goes into the platform's audit log.
        audit_record(
            db,
            actor=user.username,
            action="iama.export",
            target_type="iama_record",
            target_id=record_id,
            detail={"format": fmt},
        )
    return Response(
        content=result.content,
        media_type=result.media_type,
        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
    )


@router.post("/api/v1/iama/records/import", status_code=201)
def import_record(document: RecordDocument, user: Editor, db: SessionDep) -> dict[str, int]:
    """Import a JSON export as a new record."""
    with _domain(db):
        record = import_json(session=db, text=document.model_dump_json(), actor=user.username)
    return {"id": record.id}


@router.post("/api/v1/iama/sweep")
def post_sweep(_user: Editor, db: SessionDep, settings: SettingsDep) -> dict[str, Any]:
    """Flag drifted records and expire old approvals now (also run by ``nitrosignal iama sweep``)."""
    with _domain(db):
        result = sweep(session=db, settings=settings)
    return result.model_dump(mode="json")


@router.get("/iama", include_in_schema=False)
@router.get("/iama/", include_in_schema=False)
def iama_page() -> FileResponse:
    """The privacy officers' single page (deployments, record editor)."""
    return _web_file("index.html")


@router.get("/iama/public/{deployment_id}", include_in_schema=False)
def public_iama(deployment_id: str, db: SessionDep) -> HTMLResponse:
    """The approved IAMA of a deployment for the public (no sign-in): frozen answers, no staff names.

    Link it from the transparency page (``iama_summary_url``) and from the Algoritmeregister entry.
    """
    try:
        html = public_html(session=db, deployment_id=deployment_id)
    except LookupError as error:
        raise NotFoundError(str(error)) from error
    return HTMLResponse(html, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})


@router.get("/iama/static/{name}", include_in_schema=False)
def iama_static(name: str) -> FileResponse:
    """Script and style of the IAMA pages."""
    return _web_file(name)


def _web_file(name: str) -> FileResponse:
    if name not in WEB_FILES:
        raise HTTPException(status_code=404, detail="not found")
    path = Path(str(resources.files("iama.web").joinpath(name)))
    return FileResponse(
        path, media_type=WEB_FILES[name], headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    )
