"""Algoritmeregister publication standard 1.0: map a record onto the register's fields (reference §2).

The mapping is data-driven: each question lists the register fields it feeds (``register_fields`` in the
questionnaire YAML); the long-text fields are the answers of those questions, as ``<p>`` paragraphs.
"""

from __future__ import annotations

import re
from html import escape
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from iama.document import RecordDocument
from iama.exports.view import field_text, questionnaire_for

LONG_TEXT_FIELDS = (
    "goal",
    "proportionality",
    "human_intervention",
    "risks",
    "lawful_basis",
    "source_data",
    "methods_and_models",
)
MAX_CHARS = {"methods_and_models": 5000}


class TitleLink(BaseModel):
    """A {title, link} entry of a grouping field."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(max_length=500)
    link: str | None = Field(default=None, max_length=500)


class RegisterOptions(BaseModel):
    """Facts about the organisation that the IAMA does not hold."""

    model_config = ConfigDict(extra="forbid")

    organization: str = Field(min_length=1, max_length=100)
    contact_email: str = Field(min_length=1, max_length=500)
    website: str | None = None
    publiccode: str | None = "https://github.com/nitrosignal/nitrosignal"
    iama_link: str | None = None
    provider: str = "Intern ontwikkeld (open source: nitrosignal)"


class AlgoritmeregisterRecord(BaseModel):
    """The publication-standard 1.0 fields (system fields lars and publication_dt are set by the register)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=100)
    description_short: str = Field(max_length=400)
    organization: str = Field(max_length=100)
    category: list[str]
    status: Literal["In ontwikkeling", "In gebruik", "Buiten gebruik"]
    begin_date: str | None = Field(default=None, max_length=7)
    end_date: str | None = Field(default=None, max_length=7)
    contact_email: str = Field(max_length=500)
    website: str | None = Field(default=None, max_length=500)
    publication_category: Literal["Hoog-risico AI-systeem", "Impactvolle algoritmes", "Overige algoritmes"]
    url: str | None = None
    goal: str
    proportionality: str
    human_intervention: str
    risks: str
    lawful_basis: str
    lawful_basis_grouping: list[TitleLink]
    process_index_url: str | None = None
    impacttoetsen_grouping: list[TitleLink]
    impacttoetsen: str
    source_data: str
    source_data_grouping: list[TitleLink]
    methods_and_models: str
    provider: str = Field(max_length=200)
    publiccode: str | None = Field(default=None, max_length=500)
    lang: Literal["nld"] = "nld"
    standard_version: Literal["1.0"] = "1.0"
    source_id: str = Field(max_length=100)
    tags: str = Field(max_length=2500)


def _plain_length(html_text: str) -> int:
    return len(re.sub(r"<[^>]+>", "", html_text))


def _paragraphs(document: RecordDocument, register_field: str) -> str:
    questionnaire = questionnaire_for(document)
    paragraphs = []
    for question in questionnaire.questions():
        if register_field in question.register_fields:
            text = field_text(document, question.id)
            if text:
                paragraphs.append(f"<p>{escape(text, quote=False)}</p>")
    html_text = "".join(paragraphs)
    limit = MAX_CHARS.get(register_field, 2500)
    if _plain_length(html_text) > limit:
        raise ValueError(
            f"register field {register_field!r} would be {_plain_length(html_text)} characters; "
            f"the standard allows {limit}: shorten the answers that feed it"
        )
    return html_text


def _short(text: str, limit: int = 400) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = cut.rfind(". ")
    return cut[: end + 1] if end > 0 else cut[: limit - 1] + "…"


def _status(document: RecordDocument) -> Literal["In ontwikkeling", "In gebruik", "Buiten gebruik"]:
    if document.record.status == "approved" and not document.record.reassessment_needed:
        return "In gebruik"
    if document.record.status in ("expired", "archived"):
        return "Buiten gebruik"
    return "In ontwikkeling"


def to_register(document: RecordDocument, options: RegisterOptions) -> AlgoritmeregisterRecord:
    """Map a record (and the organisation's options) onto an Algoritmeregister 1.0 record."""
    high_risk = document.answer_map().get("4.2.1") == "yes" and document.record.questionnaire_id == "iama-v2-2026"
    texts = {name: _paragraphs(document, name) for name in LONG_TEXT_FIELDS}
    short_source = next(
        (q.id for q in questionnaire_for(document).questions() if "description_short" in q.register_fields), None
    )
    description = field_text(document, short_source) if short_source else document.deployment.purpose
    deployment = document.deployment
    return AlgoritmeregisterRecord(
        name=deployment.name[:100],
        description_short=_short(description.replace("\n", " ")),
        organization=options.organization,
        category=["Openbare orde en veiligheid"],
        status=_status(document),
        begin_date=deployment.period_start[:7] or None,
        end_date=deployment.period_end[:7] or None,
        contact_email=options.contact_email,
        website=options.website,
        publication_category="Hoog-risico AI-systeem" if high_risk else "Impactvolle algoritmes",
        lawful_basis_grouping=[
            TitleLink(title="Gemeentewet art. 151c", link="https://wetten.overheid.nl/BWBR0005416"),
            TitleLink(title="Opiumwet", link="https://wetten.overheid.nl/BWBR0001941"),
        ],
        impacttoetsen_grouping=[TitleLink(title="IAMA", link=options.iama_link), TitleLink(title="DPIA")],
        impacttoetsen="",
        source_data_grouping=[],
        provider=options.provider,
        publiccode=options.publiccode,
        source_id=f"nitrosignal-{deployment.id}"[:100],
        tags="lachgas, slimme camera, openbare orde, handhaving, anoniem signaal",
        **texts,
    )
