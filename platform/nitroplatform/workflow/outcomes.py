"""Outcome vocabulary: what an officer can record, with the look-alike categories of a false alarm."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

REMARK_MAX_LENGTH = 200
REMARK_WARNING = (
    "Do not enter personal data: no names, descriptions of people, clothing, licence plates or addresses. "
    "Describe only what happened, in at most 200 characters."
)


class Outcome(StrEnum):
    """What the officer found on site."""

    confirmed_use = "confirmed_use"
    nobody_there = "nobody_there"
    false_alarm = "false_alarm"
    not_handled = "not_handled"


class LookAlike(StrEnum):
    """What was mistaken for balloon use (the Hague pilot's confusers)."""

    drink = "drink"
    phone = "phone"
    cigarette_vape = "cigarette_vape"
    balloon_on_string = "balloon_on_string"
    balloon_held_away = "balloon_held_away"
    ball = "ball"
    beach_bucket = "beach_bucket"
    other = "other"


class OutcomeIn(BaseModel):
    """An officer's outcome. ``category`` is required for a false alarm and refused otherwise."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    category: LookAlike | None = Field(default=None, description="Look-alike category; only for false_alarm.")
    remark: str | None = Field(
        default=None, max_length=REMARK_MAX_LENGTH, description=f"Optional short remark. {REMARK_WARNING}"
    )

    @model_validator(mode="after")
    def _category_only_for_false_alarm(self) -> OutcomeIn:
        if self.outcome is Outcome.false_alarm and self.category is None:
            raise ValueError("a false_alarm needs a look-alike category")
        if self.outcome is not Outcome.false_alarm and self.category is not None:
            raise ValueError(f"category is only for false_alarm, not for {self.outcome.value}")
        if self.remark is not None:
            stripped = self.remark.strip()
            object.__setattr__(self, "remark", stripped or None)
        return self


class OutcomeCategoriesOut(BaseModel):
    """The vocabulary for the outcome form."""

    outcomes: list[Outcome]
    false_alarm_categories: list[LookAlike]
    remark_max_length: int
    remark_warning: str


def categories() -> OutcomeCategoriesOut:
    """The outcome vocabulary as served by GET /api/v1/outcome-categories."""
    return OutcomeCategoriesOut(
        outcomes=list(Outcome),
        false_alarm_categories=list(LookAlike),
        remark_max_length=REMARK_MAX_LENGTH,
        remark_warning=REMARK_WARNING,
    )
