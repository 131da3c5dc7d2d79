"""Periodic auto-close of incidents whose ``expires_at`` passed without an ``end`` from the device.

This copes with lost or never-sent ends, like Alertmanager's ``resolve_timeout`` (anchors §4.2.6).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.db.models import utcnow
from nitroplatform.incidents.publish import IncidentPublisher
from nitroplatform.incidents.service import IncidentChange, close_expired
from nitroplatform.ingest.metrics import PlatformMetrics

logger = logging.getLogger(__name__)


def sweep_once(factory: sessionmaker[Session], publisher: IncidentPublisher) -> list[IncidentChange]:
    """Close every expired open incident now and announce it; returns the changes."""
    with factory() as session:
        changes = close_expired(session, now=utcnow())
        drafts = publisher.stage(session, changes)
        session.commit()
    publisher.deliver(drafts, changes)
    if changes:
        logger.info("auto-closed %d expired incidents", len(changes))
    return changes


class Sweeper:
    """Runs :func:`sweep_once` every ``interval_s`` seconds on a daemon thread."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        publisher: IncidentPublisher,
        metrics: PlatformMetrics,
        interval_s: float,
    ) -> None:
        """Args: session factory, publisher, metrics and the sweep interval."""
        self._factory = factory
        self._publisher = publisher
        self._metrics = metrics
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="incident-sweeper", daemon=True)

    def start(self) -> None:
        """Start sweeping."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                for change in sweep_once(self._factory, self._publisher):
                    self._metrics.incident_changes.labels(change.kind).inc()
            except Exception:
                logger.exception("incident sweep failed; retrying in %.0f s", self._interval_s)
