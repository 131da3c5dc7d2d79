"""Render a record as Markdown, HTML (jinja2) and PDF (that HTML printed by headless Chromium)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from iama.document import RecordDocument
from iama.exports.aiact import art5_screening, art27_view
from iama.exports.view import build_parts

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "deployment": "Inzet",
        "purpose": "Doel",
        "legal_basis": "Grondslag",
        "period": "Periode",
        "operator": "Uitvoerder",
        "questionnaire": "Vragenlijst",
        "version": "versie",
        "reassessment": "herbeoordeling nodig",
        "people": "Betrokkenen",
        "author": "auteur",
        "reviewer": "reviewer",
        "dpo": "FG",
        "approver": "bestuurder",
        "approved": "Goedgekeurd",
        "expires": "verloopt",
        "hidden": "(niet van toepassing)",
        "unanswered": "(niet beantwoord)",
        "signoff": "Advies en besluit",
        "dpo_advice": "Advies FG",
        "risks": "Restrisico's",
        "risk": "Restrisico",
        "decision": "Besluit",
        "by": "Door",
        "decisions": "Besluiten",
        "log": "Verloop",
        "when": "Wanneer",
        "from_to": "Van → naar",
        "note": "Toelichting",
        "no_fria": "Geen FRIA-vragen voor dit element.",
        "alert_fields": "Velden in een alert",
        "practice": "Praktijk",
        "evidence": "Ontwerp dat dit uitsluit",
        "facts": "Systeemfeiten",
        "source": "Bron",
        "hashed": "meegenomen in de hash",
        "versions": "Versies",
        "changed": "Gewijzigde antwoorden",
    },
    "en": {
        "deployment": "Deployment",
        "purpose": "Purpose",
        "legal_basis": "Legal basis",
        "period": "Period",
        "operator": "Operator",
        "questionnaire": "Questionnaire",
        "version": "version",
        "reassessment": "re-assessment needed",
        "people": "People",
        "author": "author",
        "reviewer": "reviewer",
        "dpo": "DPO",
        "approver": "approver",
        "approved": "Approved",
        "expires": "expires",
        "hidden": "(not applicable)",
        "unanswered": "(not answered)",
        "signoff": "Advice and decision",
        "dpo_advice": "DPO advice",
        "risks": "Residual risks",
        "risk": "Residual risk",
        "decision": "Decision",
        "by": "By",
        "decisions": "Decisions",
        "log": "History",
        "when": "When",
        "from_to": "From → to",
        "note": "Note",
        "no_fria": "No FRIA questions for this element.",
        "alert_fields": "Fields in an alert",
        "practice": "Practice",
        "evidence": "Design that rules it out",
        "facts": "System facts",
        "source": "Source",
        "hashed": "part of the hash",
        "versions": "Versions",
        "changed": "Changed answers",
    },
}


def _environment(autoescape: bool) -> Environment:
    # Markdown keeps the template's line breaks (blank lines end quotes and tables); HTML trims them.
    return Environment(
        loader=PackageLoader("iama.exports", "templates"),
        autoescape=select_autoescape(["html"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=autoescape,
        lstrip_blocks=autoescape,
    )


def _facts(document: RecordDocument, facts: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    source = facts
    if source is None and document.snapshots:
        source = document.snapshots[-1].facts.get("facts", [])
    lang = document.record.language
    result = []
    for fact in source or []:
        value = fact["value"]
        if fact["key"] == "alert_schema" and isinstance(value, dict):
            value = {"fields": value.get("fields"), "sha256": value.get("sha256")}
        result.append(
            {
                "title": fact["title"][lang],
                "source": fact["source"],
                "drift_relevant": fact["drift_relevant"],
                "value_text": json.dumps(value, indent=1, ensure_ascii=False, default=str)[:4000],
            }
        )
    return result


def _context(document: RecordDocument, facts: list[dict[str, Any]] | None) -> dict[str, Any]:
    lang = document.record.language
    fact_list = _facts(document, facts)
    alert_fields: list[str] = []
    for fact in facts or (document.snapshots[-1].facts.get("facts", []) if document.snapshots else []):
        if fact["key"] == "alert_schema":
            alert_fields = list(fact["value"]["fields"])
    return {
        "doc": document,
        "lang": lang,
        "t": WORDS[lang],
        "parts": build_parts(document),
        "snapshot": document.snapshots[-1] if document.snapshots else None,
        "art27": art27_view(document),
        "art5": art5_screening(document, alert_fields),
        "facts": fact_list,
    }


def render_markdown(document: RecordDocument) -> str:
    """The record as Markdown."""
    text = _environment(autoescape=False).get_template("record.md").render(**_context(document, None))
    # Template logic leaves runs of blank lines; Markdown needs one between blocks, never more.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def render_html(document: RecordDocument, *, facts: list[dict[str, Any]] | None = None) -> str:
    """The record as a self-contained HTML page (no external resources, so it prints offline).

    Args:
        document: the record.
        facts: live facts (``FactSnapshot.model_dump()['facts']``); default: the latest approved snapshot's.
    """
    return _environment(autoescape=True).get_template("record.html").render(**_context(document, facts))


def chromium_path() -> str:
    """The Chromium binary: ``NITROSIGNAL_CHROMIUM`` or Debian's /usr/bin/chromium."""
    path = os.environ.get("NITROSIGNAL_CHROMIUM", "/usr/bin/chromium")
    if not Path(path).exists():
        raise FileNotFoundError(f"Chromium not found at {path}; install it or set NITROSIGNAL_CHROMIUM")
    return path


def render_pdf(html: str) -> bytes:
    """Print ``html`` to an A4 PDF with headless Chromium, with an outline (bookmarks) per heading."""
    from playwright.sync_api import sync_playwright  # heavy import, only for PDF export

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html, wait_until="load")
            return page.pdf(
                format="A4",
                print_background=True,
                outline=True,
                tagged=True,
                margin={"top": "18mm", "bottom": "18mm", "left": "14mm", "right": "14mm"},
            )
        finally:
            browser.close()
