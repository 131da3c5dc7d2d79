"""The one base of every strict model in the project: wire messages, model cards and camera configs.

``extra="forbid"`` makes an unknown key an error, so a typo in a camera's YAML or a field a peer should
not send is refused instead of silently dropped. ``frozen=True`` makes a validated value immutable, so it
can be shared between threads and passed on without anyone changing it behind the validator's back.
Subclasses add to the configuration (``populate_by_name``, say); they never loosen these two.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A pydantic model that refuses unknown keys and cannot be changed once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)
