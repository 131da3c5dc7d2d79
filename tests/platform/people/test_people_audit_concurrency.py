"""Many audited requests at once against a real server: every one succeeds and the chain stays one chain.

Before the chain's append took the write lock, 180 parallel ``GET /incidents/{id}`` on SQLite gave 14
HTTP 500s (``UNIQUE constraint failed: people_audit_entries.prev_hash``): two requests read the same head
and the second one's insert collided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from people_helpers import PeopleUser, add_camera, add_incident  # type: ignore[import-not-found, unused-ignore]
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from nitroplatform.audit.chain import verify_chain
from nitroplatform.auth.deps import Role
from nitroplatform.launcher import PlatformThread
from nitroplatform.people.record_models import AuditEntry
from nitroplatform.settings import Settings

REQUESTS = 200
PARALLEL = 50


@pytest.fixture
def web_platform(settings_factory: Callable[..., Settings]) -> Iterator[PlatformThread]:
    """The HTTP platform on a real uvicorn server in this process (no ingest)."""
    with PlatformThread(settings_factory(), with_ingest=False) as platform:
        yield platform


def test_parallel_audited_requests_all_succeed_and_the_chain_verifies(
    web_platform: PlatformThread, session_factory: sessionmaker[Session], make_user: Callable[..., PeopleUser]
) -> None:
    coordinator = make_user("cora", Role.coordinator)
    with session_factory() as db:
        add_camera(db, "cam-1")
        incidents = [add_incident(db, "cam-1") for _ in range(4)]
        db.commit()
    limits = httpx.Limits(max_connections=PARALLEL, max_keepalive_connections=PARALLEL)
    with httpx.Client(base_url=web_platform.base_url, headers=coordinator.headers, timeout=60, limits=limits) as http:

        def view(number: int) -> int:
            return http.get(f"/api/v1/incidents/{incidents[number % len(incidents)]}").status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            statuses = Counter(pool.map(view, range(REQUESTS)))
    assert statuses == Counter({200: REQUESTS}), statuses
    with session_factory() as db:
        views = db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "incident.view"))
        report = verify_chain(db)
    assert views == REQUESTS, "one audit entry per request"
    assert report.ok, report
