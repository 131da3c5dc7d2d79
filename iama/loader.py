"""Load the shipped questionnaires and validate answer values against their question types."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from iama.schema import (
    TEXT_MAX,
    ActionPoint,
    ActionPointsQuestion,
    ChoiceQuestion,
    MultiQuestion,
    Question,
    Questionnaire,
    RatingQuestion,
    TextQuestion,
)

QUESTIONNAIRE_IDS: tuple[str, ...] = ("iama-v1-2021", "iama-v2-2026")
_ACTION_POINTS = TypeAdapter(list[ActionPoint])


class AnswerError(ValueError):
    """An answer value does not fit its question."""


def parse_questionnaire(text: str) -> Questionnaire:
    """Parse and validate questionnaire YAML text."""
    return Questionnaire.model_validate(yaml.safe_load(text))


@cache
def load_questionnaire(questionnaire_id: str) -> Questionnaire:
    """Load a shipped questionnaire by id ('iama-v1-2021' or 'iama-v2-2026').

    Raises:
        KeyError: when the id is not one of the shipped questionnaires.
    """
    if questionnaire_id not in QUESTIONNAIRE_IDS:
        raise KeyError(f"unknown questionnaire {questionnaire_id!r}; expected one of {QUESTIONNAIRE_IDS}")
    text = resources.files("iama").joinpath("questionnaires", f"{questionnaire_id}.yaml").read_text("utf-8")
    return parse_questionnaire(text)


def normalise_answer(question: Question, value: Any) -> Any:
    """Validate ``value`` for ``question`` and return it in its stored JSON form.

    Raises:
        AnswerError: with what was expected and what came.
    """
    if value is None:
        return None
    if isinstance(question, TextQuestion):
        if not isinstance(value, str):
            raise AnswerError(f"{question.id}: expected text, got {type(value).__name__}")
        if len(value) > TEXT_MAX:
            raise AnswerError(f"{question.id}: at most {TEXT_MAX} characters, got {len(value)}")
        return value.strip()
    if isinstance(question, ChoiceQuestion | RatingQuestion):
        keys = [option.key for option in question.options]
        if value not in keys:
            raise AnswerError(f"{question.id}: expected one of {keys}, got {value!r}")
        return value
    if isinstance(question, MultiQuestion):
        keys = [option.key for option in question.options]
        if not isinstance(value, list) or any(item not in keys for item in value):
            raise AnswerError(f"{question.id}: expected a list drawn from {keys}, got {value!r}")
        # Keep form order so that equal selections compare equal in diffs.
        return [key for key in keys if key in value]
    if isinstance(question, ActionPointsQuestion):
        try:
            points = _ACTION_POINTS.validate_python(value)
        except ValidationError as error:
            raise AnswerError(
                f"{question.id}: expected a list of action points (title, detail, owner, due): {error}"
            ) from error
        return [point.model_dump(mode="json") for point in points]
    raise AnswerError(f"{question.id}: unsupported question type")


def is_answered(value: Any) -> bool:
    """True when a stored value counts as an answer (non-empty text, a choice, a non-empty list)."""
    if value is None:
        return False
    if isinstance(value, str | list):
        return len(value) > 0
    return True
