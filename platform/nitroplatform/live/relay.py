"""Live-event relay between the ingest process and web workers on one machine (ZeroMQ PUB/SUB).

Running the ingest in its own process lets it use a core of its own while web workers serve HTTP and SSE.
The ingest publishes each committed batch of events on ``live_relay`` (``ipc://`` or ``tcp://127.0.0.1``);
every web worker subscribes and republishes on its own bus. On PostgreSQL across machines, LISTEN/NOTIFY
(``pg_notify``) does the same job; the relay works for SQLite too and costs the database nothing.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence

import zmq

from nitroplatform.live.bus import EventDraft, LiveBus

logger = logging.getLogger(__name__)


class RelayPublisher:
    """The ingest side: binds a PUB socket and sends each batch of events as one message."""

    def __init__(self, endpoint: str) -> None:
        """Args: endpoint: where web workers connect, e.g. ``ipc:///var/lib/nitrosignal/live.sock``."""
        self._context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._socket = self._context.socket(zmq.PUB)
        self._socket.linger = 0
        self._socket.setsockopt(zmq.SNDHWM, 100_000)
        self._socket.bind(endpoint)
        self._lock = threading.Lock()

    def send(self, drafts: Sequence[EventDraft]) -> None:
        """Relay events (after the commit). Never blocks: a slow subscriber loses events and resyncs."""
        if not drafts:
            return
        body = json.dumps([[draft.event, draft.camera_id, draft.data] for draft in drafts], separators=(",", ":"))
        with self._lock:
            try:
                self._socket.send(body.encode(), zmq.NOBLOCK)
            except zmq.Again:
                logger.warning("live relay queue full; %d events not relayed", len(drafts))

    def close(self) -> None:
        """Release the socket."""
        self._socket.close(linger=0)
        self._context.term()


class RelaySubscriber:
    """The web side: a thread that receives relayed batches and publishes them on the local bus."""

    def __init__(self, *, endpoint: str, bus: LiveBus) -> None:
        """Args: endpoint: the ingest's relay endpoint; bus: this worker's bus."""
        self._endpoint = endpoint
        self._bus = bus
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-relay", daemon=True)

    def start(self) -> None:
        """Start receiving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        context: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        socket = context.socket(zmq.SUB)
        socket.linger = 0
        socket.setsockopt(zmq.RCVHWM, 100_000)
        socket.setsockopt(zmq.SUBSCRIBE, b"")
        socket.connect(self._endpoint)
        try:
            while not self._stop.is_set():
                if not socket.poll(200):
                    continue
                try:
                    batch = json.loads(socket.recv())
                    self._bus.publish([EventDraft(event=e, data=d, camera_id=c) for e, c, d in batch])
                except (ValueError, TypeError):
                    logger.exception("ignoring a malformed live relay message")
        finally:
            socket.close(linger=0)
            context.term()
