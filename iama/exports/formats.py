"""One entry point for every export format, used by the CLI and the web API alike."""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from iama.config import IamaSettings
from iama.document import RecordDocument, SnapshotDoc, build_document, import_document
from iama.exports.aiact import art5_screening, art27_view
from iama.exports.register import RegisterOptions, to_register
from iama.exports.render import render_html, render_markdown, render_pdf
from iama.facts import collect_facts
from iama.records import latest_snapshot
from iama.storage.models import IamaRecord
from nitroplatform.audit import record as audit_record

ExportFormat = Literal["md", "html", "pdf", "json", "register", "art27", "art5"]
EXPORT_FORMATS: tuple[str, ...] = ("md", "html", "pdf", "json", "register", "art27", "art5")
_MEDIA = {
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
    "pdf": ("application/pdf", "pdf"),
    "json": ("application/json", "json"),
    "register": ("application/json", "register.json"),
    "art27": ("application/json", "art27.json"),
    "art5": ("application/json", "art5.json"),
}


class ExportResult(BaseModel):
    """The bytes of one export with its media type and a suggested file name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    content: bytes
    media_type: str
    filename: str


def _facts(session: Session, document: RecordDocument, settings: IamaSettings) -> list[dict[str, object]]:
    # An approved record shows the facts it was approved on; any other record shows the live facts.
    if document.record.status == "approved" and document.snapshots:
        facts: list[dict[str, object]] = document.snapshots[-1].facts["facts"]
        return facts
    snapshot = collect_facts(session, deployment_id=document.deployment.id, settings=settings)
    return [fact.model_dump(mode="json") for fact in snapshot.facts]


def export_record(
    *,
    session: Session,
    record_id: int,
    fmt: ExportFormat,
    settings: IamaSettings,
    register_options: RegisterOptions | None = None,
) -> ExportResult:
    """Export a record in ``fmt``.

    Raises:
        ValueError: for the register format without ``register_options``, or an unknown format.
    """
    document = build_document(session=session, record_id=record_id)
    facts = _facts(session, document, settings)
    if fmt == "md":
        body = render_markdown(document).encode()
    elif fmt == "html":
        body = render_html(document, facts=facts).encode()
    elif fmt == "pdf":
        body = render_pdf(render_html(document, facts=facts))
    elif fmt == "json":
        body = document.model_dump_json(indent=2).encode()
    elif fmt == "register":
        if register_options is None:
            raise ValueError("the register export needs the organisation name and contact address")
        body = to_register(document, register_options).model_dump_json(indent=2).encode()
    elif fmt == "art27":
        body = json.dumps([item.model_dump() for item in art27_view(document)], indent=2, ensure_ascii=False).encode()
    elif fmt == "art5":
        fields = next((list(f["value"]["fields"]) for f in facts if f["key"] == "alert_schema"), [])  # type: ignore[index]
        body = art5_screening(document, fields).model_dump_json(indent=2).encode()
    else:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {EXPORT_FORMATS}")
    media_type, suffix = _MEDIA[fmt]
    return ExportResult(
        content=body, media_type=media_type, filename=f"iama-{document.deployment.id}-{record_id}.{suffix}"
    )


def import_json(*, session: Session, text: str, actor: str) -> IamaRecord:
    """Import a JSON export (``nitrosignal.iama-record/1``) as a new record, marked imported by ``actor``."""
    record = import_document(session=session, document=RecordDocument.model_validate_json(text), actor=actor)
    audit_record(
        session,
        actor=actor,
        action="iama.import",
        target_type="iama_record",
        target_id=record.id,
        detail={"status": record.status},
    )
    return record


def public_document(document: RecordDocument) -> RecordDocument:
    """The record as the public may read it: answers and decisions, without staff names or internal notes.

    Comments, answer history, review notes and the workflow log stay internal; people are shown by role.
    """
    roles = {"author": "auteur", "reviewer": "reviewer", "dpo": "FG", "approver": "bestuurder"}
    record = document.record.model_copy(update={name: label for name, label in roles.items()})
    return document.model_copy(
        update={
            "record": record,
            "answers": [a.model_copy(update={"updated_by": "-"}) for a in document.answers],
            "history": [],
            "comments": [],
            "reviews": [],
            "transitions": [],
            "versions": [],
            "dpo_advice": [a.model_copy(update={"dpo": roles["dpo"]}) for a in document.dpo_advice],
            "decisions": [d.model_copy(update={"decided_by": roles["approver"]}) for d in document.decisions],
            "residual_risks": [
                r.model_copy(update={"decided_by": roles["approver"] if r.decided_by else None})
                for r in document.residual_risks
            ],
        }
    )


def public_html(*, session: Session, deployment_id: str) -> str:
    """The approved, current IAMA of a deployment as a public HTML page, rendered from its frozen snapshot.

    Raises:
        LookupError: when the deployment has no approved record approved on this platform.
    """
    record = session.scalars(
        select(IamaRecord)
        .where(
            IamaRecord.deployment_id == deployment_id,
            IamaRecord.status == "approved",
            IamaRecord.imported_by.is_(None),
        )
        .order_by(IamaRecord.approved_at.desc())
    ).first()
    snapshot = latest_snapshot(session=session, record_id=record.id) if record is not None else None
    if record is None or snapshot is None:
        raise LookupError(f"deployment {deployment_id!r} has no approved IAMA")
    frozen = RecordDocument.model_validate({**snapshot.content, "snapshots": []})
    frozen = frozen.model_copy(
        update={
            "snapshots": [
                SnapshotDoc.model_validate(
                    {
                        "record_version": snapshot.record_version,
                        "content": {},
                        "sha256": snapshot.sha256,
                        "facts": snapshot.facts,
                        "facts_sha256": snapshot.facts_sha256,
                        "created_at": snapshot.created_at,
                    }
                )
            ]
        }
    )
    # Routing says when which team is on duty: operational detail that is not for the public.
    facts = [fact for fact in snapshot.facts["facts"] if fact["key"] != "routing"]
    return render_html(public_document(frozen), facts=facts)
