"""The IAMA workflow rules: statuses, allowed transitions, who may act, and completeness.

draft → in_review → dpo_advice → approved | refused; approved → expired | archived; refused, expired or
a drifted approval → draft again (reopen) for re-assessment. At least three distinct people take part:
the author, the reviewer and the approver (the accountable official). The DPO may not be the author or
the approver, so their advice stays independent.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from iama.loader import is_answered
from iama.schema import ActionPointsQuestion, Question, Questionnaire


class Status(StrEnum):
    """Record statuses."""

    draft = "draft"
    in_review = "in_review"
    dpo_advice = "dpo_advice"
    approved = "approved"
    refused = "refused"
    expired = "expired"
    archived = "archived"


class Mark(StrEnum):
    """A reviewer's verdict on one question (LINCnil/pia's evaluation scale)."""

    acceptable = "acceptable"
    improvable = "improvable"
    to_fix = "to_fix"


TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "submit": (frozenset({Status.draft}), Status.in_review),
    "return": (frozenset({Status.in_review, Status.dpo_advice}), Status.draft),
    "finish_review": (frozenset({Status.in_review}), Status.dpo_advice),
    "approve": (frozenset({Status.dpo_advice}), Status.approved),
    "refuse": (frozenset({Status.dpo_advice}), Status.refused),
    "expire": (frozenset({Status.approved}), Status.expired),
    "reopen": (frozenset({Status.approved, Status.refused, Status.expired}), Status.draft),
    "archive": (frozenset({Status.draft, Status.approved, Status.refused, Status.expired}), Status.archived),
}

EDITABLE: frozenset[Status] = frozenset({Status.draft})


class WorkflowError(ValueError):
    """An action that the workflow does not allow; the message says what was expected."""


def target_status(action: str, current: str) -> Status:
    """The status ``action`` leads to from ``current``.

    Raises:
        WorkflowError: when the action is unknown or not allowed from ``current``.
    """
    if action not in TRANSITIONS:
        raise WorkflowError(f"unknown action {action!r}; expected one of {sorted(TRANSITIONS)}")
    sources, target = TRANSITIONS[action]
    if Status(current) not in sources:
        allowed = ", ".join(sorted(sources))
        raise WorkflowError(f"cannot {action} a record that is {current}; allowed from: {allowed}")
    return target


def require_distinct(*, actor: str, role: str, others: dict[str, str | None]) -> None:
    """Refuse when ``actor`` already took part in one of the roles in ``others``.

    Raises:
        WorkflowError: naming the role the actor already holds.
    """
    for other_role, person in others.items():
        if person is not None and person == actor:
            raise WorkflowError(f"{actor!r} is the {other_role} of this record and may not also act as {role}")


def is_visible(question: Question, answers: dict[str, Any]) -> bool:
    """True when every ``show_if`` condition of ``question`` holds for ``answers``."""
    return all(condition.holds(answers.get(condition.question)) for condition in question.show_if)


class Completeness(BaseModel):
    """Which visible required questions are still open, and which answers block submission."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    missing: list[str]
    blocked: list[str]
    answered: int
    visible_required: int

    @property
    def complete(self) -> bool:
        """True when nothing is missing and nothing blocks."""
        return not self.missing and not self.blocked


def check_completeness(questionnaire: Questionnaire, answers: dict[str, Any], *, lang: str = "en") -> Completeness:
    """Check ``answers`` against ``questionnaire``, honouring conditions and blocking options.

    A hidden question needs no answer. Choosing an option with ``blocks`` (for example "yes, this is a
    prohibited AI practice" in v2 1.3.1) makes the record impossible to submit.
    """
    missing: list[str] = []
    blocked: list[str] = []
    answered = 0
    visible_required = 0
    for question in questionnaire.questions():
        if not is_visible(question, answers):
            continue
        value = answers.get(question.id)
        if question.required:
            visible_required += 1
            if is_answered(value):
                answered += 1
            else:
                missing.append(question.id)
        for option in getattr(question, "options", ()):
            chosen = value == option.key or (isinstance(value, list) and option.key in value)
            if chosen and option.blocks is not None:
                blocked.append(f"{question.id}: {option.blocks.get(lang)}")
    return Completeness(missing=missing, blocked=blocked, answered=answered, visible_required=visible_required)


def residual_risk_question(questionnaire: Questionnaire) -> ActionPointsQuestion | None:
    """The question whose items are residual risks (v2 5.C.1), or None (v1 has none)."""
    for question in questionnaire.questions():
        if isinstance(question, ActionPointsQuestion) and question.residual_risks:
            return question
    return None
