"""Background work of the people side, for the app's lifespan: routing/push worker, escalation, retention.

The integrator calls, in ``create_app``'s lifespan::

    from nitroplatform.people.background import start_background_tasks
    tasks = start_background_tasks(app)      # after app.state.settings and app.state.sessionmaker exist
    yield
    tasks.stop()
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.incidents.service import register_change_listener, unregister_change_listener
from nitroplatform.people.config import PeopleSettings, get_people_settings
from nitroplatform.retention import run_retention
from nitroplatform.routing.notifier import Notifier
from nitroplatform.settings import Settings

logger = logging.getLogger(__name__)

RETENTION_INTERVAL_S = 6 * 3600


@dataclass
class BackgroundTasks:
    """Handles to stop what ``start_background_tasks`` started."""

    notifier: Notifier
    retention_thread: threading.Thread | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        """Unregister the listener and stop every thread."""
        unregister_change_listener(self.notifier.on_change)
        self.notifier.stop()
        self.stopping.set()
        if self.retention_thread is not None:
            self.retention_thread.join(5.0)


def _retention_loop(tasks: BackgroundTasks, factory: sessionmaker[Session], settings: Settings) -> None:
    while not tasks.stopping.wait(RETENTION_INTERVAL_S):
        try:
            with factory() as db:
                run_retention(db, retention_days=settings.retention_days)
        except Exception:
            logger.exception("retention run failed")


def start_background_tasks(app: FastAPI, *, run_retention_loop: bool = True) -> BackgroundTasks:
    """Register the notifier as incident change listener and start its threads (and the retention loop).

    Reads ``app.state.settings``, ``app.state.sessionmaker`` and optionally ``app.state.people_settings``.
    """
    settings: Settings = app.state.settings
    factory: sessionmaker[Session] = app.state.sessionmaker
    policy = getattr(app.state, "people_settings", None)
    if policy is None:
        policy = get_people_settings()
        app.state.people_settings = policy
    if not isinstance(policy, PeopleSettings):
        raise TypeError("app.state.people_settings must be PeopleSettings")
    notifier = Notifier(
        factory=factory, data_dir=settings.data_dir, policy=policy, offline_after_s=settings.offline_after_s
    )
    app.state.notifier = notifier
    register_change_listener(notifier.on_change)
    notifier.start()
    tasks = BackgroundTasks(notifier=notifier)
    if run_retention_loop:
        thread = threading.Thread(
            target=_retention_loop, args=(tasks, factory, settings), name="nitrosignal-retention", daemon=True
        )
        thread.start()
        tasks.retention_thread = thread
    return tasks
