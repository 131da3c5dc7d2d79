"""The push payload: who, where and what state, never an image, a crop or anything about a person.

The service worker shows it with ``tag`` = incident id, so a later push for the same incident replaces
the notification in place instead of stacking (Frigate's notifications-worker.js does the same).
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PUSH_SCHEMA = "nitrosignal.push/1"


class PushPayload(BaseModel):
    """Exactly these fields are sent; ``extra="forbid"`` keeps anything else (an image) out."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["nitrosignal.push/1"] = Field(default="nitrosignal.push/1", alias="schema")
    type: Literal["incident"] = "incident"
    incident_id: uuid.UUID
    tag: str = Field(description="Notification tag: the incident id, so updates replace the notification.")
    state: str
    camera_id: str
    zone: str | None
    people_involved: str
    title: str
    body: str
    url: str = Field(description="Deep link into the officer app.")
    escalated: bool = False


def incident_payload(
    *, incident_id: uuid.UUID, state: str, camera_id: str, zone: str | None, people_involved: str, escalated: bool
) -> PushPayload:
    """Build the payload for an incident page."""
    where = f"{camera_id} · {zone}" if zone else camera_id
    title = "Lachgas-signaal" if state == "open" else f"Lachgas-signaal ({state})"
    if escalated:
        title = "Geëscaleerd: " + title
    return PushPayload(
        incident_id=incident_id,
        tag=str(incident_id),
        state=state,
        camera_id=camera_id,
        zone=zone,
        people_involved=people_involved,
        title=title,
        body=f"{where} — personen: {people_involved}",
        url=f"/app/incidents/{incident_id}",
        escalated=escalated,
    )
