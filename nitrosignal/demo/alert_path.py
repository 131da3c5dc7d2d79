"""The alert's path, step by step, as the demo prints it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PATH_STEPS: tuple[str, ...] = ("detected", "queued", "sent", "stored", "acked", "streamed")
"""Every step one alert takes from the camera to an officer's screen, in order."""

STEP_MEANING: dict[str, str] = {
    "detected": "the detector confirmed a balloon at the mouth over several frames",
    "queued": "the anonymous alert was written to the device's outbox",
    "sent": "the alert went out over ZeroMQ, CURVE-encrypted and authenticated",
    "stored": "the platform committed the alert and opened an incident",
    "acked": "the platform's ack came back after its commit; the outbox entry was removed",
    "streamed": "the incident reached a logged-in officer's live stream (Server-Sent Events)",
}


@dataclass
class AlertPath:
    """Collects the steps of the first incident's alert and says when the whole path is done.

    Steps may arrive from several threads and out of order (the ack and the live stream race); each step
    is recorded once, with the time it was first seen.
    """

    echo: Callable[[str], None]
    started: float = field(default_factory=time.monotonic)
    seen: dict[str, float] = field(default_factory=dict)
    incident_id: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: threading.Event = field(default_factory=threading.Event)

    def step(self, name: str, detail: str = "") -> None:
        """Record a step the first time it happens and print it."""
        if name not in PATH_STEPS:
            raise ValueError(f"unknown step {name!r}; expected one of {', '.join(PATH_STEPS)}")
        with self._lock:
            if name in self.seen:
                return
            self.seen[name] = time.monotonic() - self.started
            complete = all(step in self.seen for step in PATH_STEPS)
        suffix = f" ({detail})" if detail else ""
        self.echo(f"  [{self.seen[name]:6.2f} s] {name:<9} {STEP_MEANING[name]}{suffix}")
        if complete:
            self._done.set()

    def missing(self) -> list[str]:
        """Steps not seen yet, in path order."""
        with self._lock:
            return [step for step in PATH_STEPS if step not in self.seen]

    def wait(self, timeout_s: float) -> bool:
        """Block until every step was seen or the timeout passes; True when complete."""
        return self._done.wait(timeout_s)
