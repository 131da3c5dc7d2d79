"""Live stream: the bus's Last-Event-ID replay, SSE over a real HTTP server fed by a real device alert, and
PostgreSQL LISTEN/NOTIFY fan-out between two workers."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from nitroplatform.api.app import create_app
from nitroplatform.launcher import PlatformThread
from nitroplatform.live.bus import EventDraft, LiveBus
from nitroplatform.settings import Settings


def _drafts(*names: str) -> list[EventDraft]:
    return [EventDraft(event="incident", data=json.dumps({"n": name}), camera_id="cam-1") for name in names]


@pytest.mark.parametrize(
    ("buffer_size", "published", "resume_after", "expected", "resync"),
    [
        (8, 3, None, [], False),
        (8, 3, 0, ["b", "c"], False),
        (8, 3, 2, [], False),
        (2, 5, 0, [], True),  # the event after the resume point was evicted: resync, never a silent gap
        (8, 3, "foreign", [], True),  # an id from another process or worker
    ],
)
def test_bus_replay(buffer_size: int, published: int, resume_after: Any, expected: list[str], resync: bool) -> None:
    async def scenario() -> tuple[list[str], bool]:
        bus = LiveBus(buffer_size=buffer_size)
        events = bus.publish(_drafts(*"abcde"[:published]))
        last = None if resume_after is None else 1 if resume_after == "foreign" else events[resume_after].id
        subscription = bus.subscribe(last)
        names = [json.loads(event.data)["n"] for event in subscription.replay]
        bus.unsubscribe(subscription)
        return names, subscription.needs_resync

    assert asyncio.run(scenario()) == (expected, resync)


def test_bus_ids_strictly_increase_across_threads() -> None:
    bus = LiveBus()
    ids: list[int] = []
    lock = threading.Lock()

    def publish() -> None:
        for _ in range(200):
            events = bus.publish(_drafts("x"))
            with lock:
                ids.extend(event.id for event in events)

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 800 and sorted(ids) == sorted(set(ids))
    assert [event.id for event in bus.recent()] == sorted(event.id for event in bus.recent())


def _read_events(lines: Iterator[str], count: int, timeout_s: float = 10.0) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    deadline = time.monotonic() + timeout_s
    for line in lines:
        if time.monotonic() > deadline:
            break
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "event" in current:
            events.append(current)
            current = {}
            if len(events) >= count:
                break
    return events


@pytest.fixture
def live_platform(settings_factory: Callable[..., Settings]) -> Iterator[PlatformThread]:
    with PlatformThread(settings_factory()) as platform:
        yield platform


def test_sse_delivers_and_resumes_without_duplicates(
    live_platform: PlatformThread,
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    token_factory: Callable[..., dict[str, str]],
) -> None:
    from nitroplatform.auth.deps import Role

    headers = token_factory("coordinator", roles=[Role.coordinator])
    camera = camera_factory("cam-1")
    live_platform.app.state.runtime.ingest.refresh_registry()
    device = wire.connect(live_platform.ingest_endpoint, server_keys[1].public, camera.keypair)
    with httpx.Client(base_url=live_platform.base_url, headers=headers, timeout=10) as http:
        with http.stream("GET", "/api/v1/stream") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            ack = wire.exchange(device, wire.alert("cam-1", 1, zone=None))
            assert ack is not None and ack.result.value == "stored"
            first = _read_events(response.iter_lines(), 1)
        assert [(e["event"], e["data"]["camera_id"], e["data"]["state"]) for e in first] == [
            ("incident", "cam-1", "open")
        ]
        # While disconnected, two more incidents happen.
        for seq in (2, 3):
            assert wire.exchange(device, wire.alert("cam-1", seq)) is not None
        with http.stream("GET", "/api/v1/stream", headers={"Last-Event-ID": str(first[0]["id"])}) as response:
            lines = response.iter_lines()
            resumed = _read_events(lines, 2)
            ack = wire.exchange(device, wire.alert("cam-1", 4))
            live = _read_events(lines, 1)
    ids = [e["id"] for e in first + resumed + live]
    assert len(resumed) == 2 and len(live) == 1
    assert ids == sorted(set(ids)), "ids increase and nothing is delivered twice"
    assert len({e["data"]["id"] for e in first + resumed + live}) == 4


def test_sse_needs_login(live_platform: PlatformThread) -> None:
    response = httpx.get(f"{live_platform.base_url}/api/v1/stream", timeout=5)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


@pytest.mark.postgres
def test_pg_notify_fans_out_between_workers(
    settings_factory: Callable[..., Settings], migrated_database_url: str
) -> None:
    if not migrated_database_url.startswith("postgresql"):
        pytest.skip("LISTEN/NOTIFY is PostgreSQL only")
    import uuid
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from nitroplatform.db.models import utcnow
    from nitroplatform.incidents.service import AlertFacts, apply_alerts

    sender = create_app(settings_factory(), with_ingest=False)
    receiver = create_app(settings_factory(), with_ingest=False)
    with TestClient(sender), TestClient(receiver):
        assert receiver.state.runtime.listener.listening.wait(5)
        factory = sender.state.sessionmaker
        with factory() as session:
            now = utcnow()
            result = apply_alerts(
                session,
                alerts=[
                    AlertFacts(
                        "cam-9", uuid.uuid4(), "new", None, 0.7, "1", "m", "1", "d" * 64, now + timedelta(minutes=5)
                    )
                ],
                now=now,
            )
            drafts = sender.state.incident_publisher.stage(session, result.changed)
            session.commit()
        sender.state.incident_publisher.deliver(drafts, result.changed)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not receiver.state.live_bus.recent():
            time.sleep(0.05)
        received = receiver.state.live_bus.recent()
        assert [json.loads(e.data)["camera_id"] for e in received] == ["cam-9"]
        assert len(sender.state.live_bus.recent()) == 1, "a worker does not republish its own notification"


def test_relay_brings_ingest_events_to_a_web_worker(
    client_factory: Callable[..., TestClient],
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
    tmp_path: Any,
) -> None:
    relay = f"ipc://{tmp_path}/live.sock"
    ingest_worker = client_factory(with_ingest=True, live_relay=relay)
    web_worker = client_factory(with_ingest=False, live_relay=relay)
    camera = camera_factory("cam-relay")
    ingest = ingest_worker.app.state.runtime.ingest  # type: ignore[attr-defined]
    ingest.refresh_registry()
    device = wire.connect(ingest.endpoint, server_keys[1].public, camera.keypair)
    web_bus = web_worker.app.state.live_bus  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    seq = 0
    # PUB/SUB drops what is sent before the subscription is joined, so keep alerting until one arrives.
    while time.monotonic() < deadline and not web_bus.recent():
        seq += 1
        assert wire.exchange(device, wire.alert("cam-relay", seq)) is not None
        time.sleep(0.1)
    events = web_bus.recent()
    assert events and json.loads(events[-1].data)["camera_id"] == "cam-relay"
    assert web_worker.app.state.runtime.ingest is None  # type: ignore[attr-defined]
