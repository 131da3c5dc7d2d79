"""The live incident stream over Server-Sent Events, scoped to the cameras the caller may see.

Opening a stream is audited (one ``stream.open`` entry per connection, not per event). What the caller
may see is not decided once: the stream re-checks their session or token and their scope at each
keepalive and whenever their access changes, and ends when they signed out or their scope changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from nitroplatform.api.deps import LiveBusDep, SessionDep, SettingsDep
from nitroplatform.api.schemas import ErrorOut
from nitroplatform.audit.chain import record
from nitroplatform.auth.deps import AuthUser, CurrentUser
from nitroplatform.auth.recheck import AccessSnapshot, Credential, credential_of, current_access
from nitroplatform.auth.scope import visible_camera_ids
from nitroplatform.live.access import users_of
from nitroplatform.live.bus import LiveEvent
from nitroplatform.live.sse import event_stream, parse_last_event_id

router = APIRouter(prefix="/api/v1/stream", tags=["live"], responses={401: {"model": ErrorOut}})


@dataclass
class CallerGuard:
    """The stream's ``StreamGuard``: re-reads the caller's access and compares it with the opening one."""

    factory: sessionmaker[Session]
    credential: Credential
    opened: AccessSnapshot

    def concerns(self, event: LiveEvent) -> bool:
        """True when an ``access`` event names this caller."""
        return self.opened.user_id in users_of(event)

    def _check(self) -> str | None:
        with self.factory() as db:
            now = current_access(db, self.credential)
            db.rollback()
        if now is None or now.user_id != self.opened.user_id:
            return "signed_out"
        return None if now == self.opened else "scope_changed"

    async def verdict(self) -> str | None:
        """None while nothing changed; the database read runs off the event loop."""
        return await run_in_threadpool(self._check)


def _open(session: Session, user: AuthUser, resumed: bool) -> set[str] | None:
    allowed = visible_camera_ids(user, session)
    # Who saw what: one entry per opening; the events it then carries are not logged one by one.
    record(
        session,
        actor=user.username,
        action="stream.open",
        target_type="incident_list",
        target_id="stream",
        detail={
            "scope": "all" if allowed is None else "cameras",
            "cameras": None if allowed is None else len(allowed),
            "resumed": resumed,
        },
    )
    session.commit()
    # Give the pooled connection back now: a stream can stay open for hours.
    session.close()
    return allowed


@router.get(
    "",
    response_class=StreamingResponse,
    summary="Live incident changes (text/event-stream)",
    description="Each message has `event: incident`, an increasing `id:` and IncidentOut JSON as `data:`. "
    "Reconnect with `Last-Event-ID` to resume without gaps or duplicates; `event: resync` means reload the list. "
    '`event: end` with `{"reason": "signed_out"}` or `{"reason": "scope_changed"}` closes the stream when the '
    "caller's session, token, roles, teams or visible cameras change.",
)
async def stream(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    bus: LiveBusDep,
    settings: SettingsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    resume_from: Annotated[str | None, Query(alias="last_event_id", description="Same as Last-Event-ID.")] = None,
) -> StreamingResponse:
    """Open a stream; the opening is audited and the database session is released before streaming starts."""
    credential = credential_of(request)
    if credential is None:  # CurrentUser has authenticated the request, so this cannot happen
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="not authenticated")
    resume = last_event_id or resume_from
    allowed = await run_in_threadpool(_open, session, user, resume is not None)
    guard = CallerGuard(
        factory=request.app.state.sessionmaker, credential=credential, opened=AccessSnapshot.of(user, allowed)
    )

    def visible(event: LiveEvent) -> bool:
        return allowed is None or event.camera_id in allowed

    generator = event_stream(
        bus,
        last_event_id=parse_last_event_id(resume),
        visible=visible,
        is_disconnected=request.is_disconnected,
        keepalive_s=settings.live_keepalive_s,
        guard=guard,
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(generator, media_type="text/event-stream", headers=headers)
