"""The live incident stream over Server-Sent Events, scoped to the cameras the caller may see."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from nitroplatform.api.deps import LiveBusDep, SessionDep
from nitroplatform.api.schemas import ErrorOut
from nitroplatform.auth.deps import CurrentUser
from nitroplatform.auth.scope import visible_camera_ids
from nitroplatform.live.bus import LiveEvent
from nitroplatform.live.sse import event_stream, parse_last_event_id

router = APIRouter(prefix="/api/v1/stream", tags=["live"], responses={401: {"model": ErrorOut}})


@router.get(
    "",
    response_class=StreamingResponse,
    summary="Live incident changes (text/event-stream)",
    description="Each message has `event: incident`, an increasing `id:` and IncidentOut JSON as `data:`. "
    "Reconnect with `Last-Event-ID` to resume without gaps or duplicates; `event: resync` means reload the list.",
)
async def stream(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    bus: LiveBusDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    resume_from: Annotated[str | None, Query(alias="last_event_id", description="Same as Last-Event-ID.")] = None,
) -> StreamingResponse:
    """Open a stream; the database session is released before streaming starts."""
    allowed = visible_camera_ids(user, session)
    # Give the pooled connection back now: a stream can stay open for hours.
    session.close()

    def visible(event: LiveEvent) -> bool:
        return allowed is None or event.camera_id in allowed

    generator = event_stream(
        bus,
        last_event_id=parse_last_event_id(last_event_id or resume_from),
        visible=visible,
        is_disconnected=request.is_disconnected,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generator, media_type="text/event-stream", headers=headers)
