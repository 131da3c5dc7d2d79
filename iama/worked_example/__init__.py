"""The worked example: our own, honest IAMA v2 of the nitrosignal demo deployment."""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

from iama.service import DeploymentIn

EXAMPLE_FILE = "demo-iama-v2.yaml"


class WorkedExample(BaseModel):
    """A deployment plus a full set of answers for one questionnaire."""

    model_config = ConfigDict(extra="forbid")

    questionnaire_id: str
    language: str
    deployment: DeploymentIn
    answers: dict[str, Any]


def load_example() -> WorkedExample:
    """Read the shipped worked example."""
    text = resources.files("iama.worked_example").joinpath(EXAMPLE_FILE).read_text("utf-8")
    return WorkedExample.model_validate(yaml.safe_load(text))
