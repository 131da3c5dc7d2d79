"""Pydantic models of an IAMA questionnaire: parts, sections, questions, conditions and FRIA flags.

A questionnaire is data (YAML in ``iama/questionnaires/``). Question ids follow the official IAMA numbering
(for example ``1.3.1`` or ``2A.2.1``) so that an answer maps one to one onto the official form. Question
types are a tagged union on ``type`` so that each type validates its own answer values.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

QuestionId = Annotated[str, StringConstraints(pattern=r"^[0-9][0-9A-Za-z.]*$", max_length=16)]
OptionKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=48)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """A bilingual text: Dutch is the working language, English for FRAIA readers."""

    nl: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        """Return the text in ``lang`` ('nl' or 'en')."""
        if lang not in ("nl", "en"):
            raise ValueError(f"language must be 'nl' or 'en', got {lang!r}")
        return self.nl if lang == "nl" else self.en


class Condition(_Strict):
    """Show a question only when another question's answer matches.

    For choice questions ``equals`` compares the chosen key; for multi questions ``contains`` checks
    membership. Exactly one of the two must be given.
    """

    question: QuestionId
    equals: OptionKey | None = None
    contains: OptionKey | None = None

    @model_validator(mode="after")
    def _one_operator(self) -> Condition:
        if (self.equals is None) == (self.contains is None):
            raise ValueError("a condition needs exactly one of 'equals' or 'contains'")
        return self

    def holds(self, answer: Any) -> bool:
        """True when ``answer`` (the stored value of ``question``) satisfies this condition."""
        if answer is None:
            return False
        if self.equals is not None:
            return bool(answer == self.equals)
        return isinstance(answer, list) and self.contains in answer


class Option(_Strict):
    """One choice of a choice or multi question."""

    key: OptionKey
    label: Text
    blocks: Text | None = Field(
        default=None,
        description="When chosen, the record can not be submitted; the text says why (the art. 5 gate).",
    )


class _QuestionBase(_Strict):
    id: QuestionId
    text: Text
    help: Text | None = None
    required: bool = True
    fria: bool = Field(default=False, description="Covers an element of the AI Act art. 27 FRIA.")
    fria_element: Literal["a", "b", "c", "d", "e", "f"] | None = Field(
        default=None, description="Which art. 27(1) element the question covers."
    )
    dpia: str | None = Field(default=None, description="Matching Rijksmodel DPIA section, e.g. 'q16'.")
    show_if: tuple[Condition, ...] = Field(default=(), description="All conditions must hold to show the question.")
    facts: tuple[str, ...] = Field(default=(), description="Keys of live system facts shown beside the question.")
    register_fields: tuple[str, ...] = Field(default=(), description="Algoritmeregister fields this answer feeds.")


class TextQuestion(_QuestionBase):
    """Free text."""

    type: Literal["text"] = "text"


class ChoiceQuestion(_QuestionBase):
    """Exactly one option."""

    type: Literal["choice"] = "choice"
    options: tuple[Option, ...] = Field(min_length=2)


class MultiQuestion(_QuestionBase):
    """Any number of options (for example the list of fundamental rights)."""

    type: Literal["multi"] = "multi"
    options: tuple[Option, ...] = Field(min_length=2)


class RatingQuestion(_QuestionBase):
    """One ordered level, most serious first (for example serious / medium / light)."""

    type: Literal["rating"] = "rating"
    options: tuple[Option, ...] = Field(min_length=2)


class ActionPointsQuestion(_QuestionBase):
    """A list of action points, or of residual risks when ``residual_risks`` is true."""

    type: Literal["action_points"] = "action_points"
    residual_risks: bool = Field(default=False, description="Items are residual risks the approver must decide on.")


Question = Annotated[
    TextQuestion | ChoiceQuestion | MultiQuestion | RatingQuestion | ActionPointsQuestion,
    Field(discriminator="type"),
]


TEXT_MAX = 20_000
"""Longest free text of a record: an answer, a purpose, a review note, advice or a reason (a long page of prose)."""


class ActionPoint(_Strict):
    """One action point or residual risk in an ``action_points`` answer."""

    title: str = Field(min_length=1, max_length=300)
    detail: str = Field(default="", max_length=4000)
    owner: str = Field(default="", max_length=200)
    due: date | None = None


class Section(_Strict):
    """A numbered section of a part (for example '1.3 Wettelijke grondslag')."""

    id: str = Field(pattern=r"^[0-9][0-9A-Za-z.]*$")
    title: Text
    questions: tuple[Question, ...] = Field(min_length=1)


class Part(_Strict):
    """One part of the questionnaire (for example 'Deel 1 – Waarom?')."""

    id: str = Field(pattern=r"^[0-9]$")
    title: Text
    intro: Text | None = None
    sections: tuple[Section, ...] = Field(min_length=1)


class Questionnaire(_Strict):
    """A complete, versioned questionnaire."""

    id: Literal["iama-v1-2021", "iama-v2-2026"]
    version: str = Field(pattern=r"^[0-9]+\.[0-9]+$")
    title: Text
    source: str = Field(description="Which official publication the numbering follows.")
    parts: tuple[Part, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique_and_conditions_resolve(self) -> Questionnaire:
        seen: dict[str, Question] = {}
        for question in self.questions():
            if question.id in seen:
                raise ValueError(f"question id {question.id!r} occurs more than once")
            seen[question.id] = question
        for question in self.questions():
            for condition in question.show_if:
                target = seen.get(condition.question)
                if target is None:
                    raise ValueError(f"question {question.id}: condition refers to unknown id {condition.question!r}")
                keys = {option.key for option in getattr(target, "options", ())}
                wanted = condition.equals or condition.contains
                if wanted not in keys:
                    raise ValueError(
                        f"question {question.id}: condition on {condition.question} expects option {wanted!r}, "
                        f"which is not one of {sorted(keys)}"
                    )
        return self

    def questions(self) -> list[Question]:
        """All questions in form order."""
        return [question for part in self.parts for section in part.sections for question in section.questions]

    def question(self, question_id: str) -> Question:
        """The question with ``question_id``; KeyError naming the questionnaire if there is none."""
        for question in self.questions():
            if question.id == question_id:
                return question
        raise KeyError(f"{self.id} has no question {question_id!r}")

    def part_of(self, question_id: str) -> Part:
        """The part that holds ``question_id``."""
        for part in self.parts:
            for section in part.sections:
                if any(question.id == question_id for question in section.questions):
                    return part
        raise KeyError(f"{self.id} has no question {question_id!r}")
