"""Typed FastAPI dependencies shared by every route module (fastapi/full-stack-fastapi-template style).

Everything comes from ``request.app.state``, which ``create_app(settings)`` fills; nothing is global, so
tests can build as many apps as they like.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.live.bus import LiveBus
from nitroplatform.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    """A session per request; routes commit explicitly, anything uncommitted is rolled back."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    session = factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_live_bus(request: Request) -> LiveBus:
    """The app's live event bus (SSE fan-out)."""
    bus: LiveBus = request.app.state.live_bus
    return bus


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_db)]
LiveBusDep = Annotated[LiveBus, Depends(get_live_bus)]
