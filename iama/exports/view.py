"""A render-ready view of a record: parts, sections and questions with their answers as display text."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from iama.document import RecordDocument
from iama.loader import load_questionnaire
from iama.schema import ActionPointsQuestion, Question, Questionnaire
from iama.workflow import is_visible


class QuestionView(BaseModel):
    """One question with its answer as display text (lines) and flags."""

    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    lines: list[str]
    fria: bool
    fria_element: str | None
    hidden: bool


class SectionView(BaseModel):
    """A section of a part."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    questions: list[QuestionView]


class PartView(BaseModel):
    """A part of the questionnaire."""

    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    sections: list[SectionView]


LABELS = {
    "nl": {"unanswered": "(niet beantwoord)", "hidden": "(niet van toepassing)"},
    "en": {"unanswered": "(not answered)", "hidden": "(not applicable)"},
}


def answer_lines(question: Question, value: Any, lang: str) -> list[str]:
    """The answer of ``question`` as a list of display lines (empty when unanswered)."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(question, ActionPointsQuestion):
        lines = []
        for item in value:
            extra = ", ".join(part for part in (item.get("owner") or "", item.get("due") or "") if part)
            detail = f" — {item['detail']}" if item.get("detail") else ""
            lines.append(f"{item['title']}{detail}" + (f" ({extra})" if extra else ""))
        return lines
    options = {option.key: option.label.get(lang) for option in getattr(question, "options", ())}
    if isinstance(value, list):
        return [options.get(str(key), str(key)) for key in value]
    if options:
        return [options.get(value, str(value))]
    return [str(value)]


def questionnaire_for(document: RecordDocument) -> Questionnaire:
    """The questionnaire of the document's record."""
    return load_questionnaire(document.record.questionnaire_id)


def build_parts(document: RecordDocument) -> list[PartView]:
    """Parts with every question and its answer, in form order, in the record's language."""
    lang = document.record.language
    answers = document.answer_map()
    parts = []
    for part in questionnaire_for(document).parts:
        sections = []
        for section in part.sections:
            questions = [
                QuestionView(
                    id=question.id,
                    text=question.text.get(lang),
                    lines=answer_lines(question, answers.get(question.id), lang),
                    fria=question.fria,
                    fria_element=question.fria_element,
                    hidden=not is_visible(question, answers),
                )
                for question in section.questions
            ]
            sections.append(SectionView(id=section.id, title=section.title.get(lang), questions=questions))
        parts.append(PartView(id=part.id, title=part.title.get(lang), sections=sections))
    return parts


def field_text(document: RecordDocument, question_id: str) -> str:
    """The answer of one question as plain text (lines joined), or '' when absent."""
    questionnaire = questionnaire_for(document)
    value = document.answer_map().get(question_id)
    return "\n".join(answer_lines(questionnaire.question(question_id), value, document.record.language))
