"""Outcome vocabulary: what an officer can record, with the look-alike categories of a false alarm.

There is deliberately no free-text field. A remark box took names, addresses, phone numbers and licence
plates; structured categories carry what field precision and the IAMA's monitoring need, and nothing about
a person. ``OutcomeIn`` forbids extra fields, so a client that still sends ``remark`` gets a 422.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    """An officer's outcome. ``category`` is required for a false alarm and refused otherwise; no free text."""

    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    category: LookAlike | None = Field(default=None, description="Look-alike category; only for false_alarm.")

    @model_validator(mode="after")
    def _category_only_for_false_alarm(self) -> OutcomeIn:
        if self.outcome is Outcome.false_alarm and self.category is None:
            raise ValueError("a false_alarm needs a look-alike category")
        if self.outcome is not Outcome.false_alarm and self.category is not None:
            raise ValueError(f"category is only for false_alarm, not for {self.outcome.value}")
        return self


class OutcomeCategoriesOut(BaseModel):
    """The vocabulary for the outcome form."""

    outcomes: list[Outcome]
    false_alarm_categories: list[LookAlike]


def categories() -> OutcomeCategoriesOut:
    """The outcome vocabulary as served by GET /api/v1/outcome-categories."""
    return OutcomeCategoriesOut(
        outcomes=list(Outcome),
        false_alarm_categories=list(LookAlike),
    )
