"""The demo's officer: logs in over HTTP and follows the live stream, as the web app does.

Uses only the standard library, so the demo adds no HTTP client dependency.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.cookies import SimpleCookie

logger = logging.getLogger(__name__)

IncidentHandler = Callable[[dict[str, object]], None]


class OfficerSession:
    """A logged-in officer's HTTP session (session cookie handled by hand: the cookie is marked Secure)."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        """Log in; raises urllib.error.HTTPError when the platform refuses."""
        self.base_url = base_url
        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(
            f"{base_url}/api/v1/auth/login", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            jar: SimpleCookie = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or []:
                jar.load(header)
        self._cookie = "; ".join(f"{name}={morsel.value}" for name, morsel in jar.items())

    def get_json(self, path: str) -> object:
        """GET a JSON resource as this officer."""
        request = urllib.request.Request(f"{self.base_url}{path}", headers={"Cookie": self._cookie})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def follow_stream(self, on_incident: IncidentHandler, stop: threading.Event) -> threading.Thread:
        """Follow ``/api/v1/stream`` on a daemon thread, calling ``on_incident`` with each incident's JSON."""

        def run() -> None:
            request = urllib.request.Request(
                f"{self.base_url}/api/v1/stream", headers={"Cookie": self._cookie, "Accept": "text/event-stream"}
            )
            try:
                with urllib.request.urlopen(request, timeout=3600) as response:
                    event = ""
                    for raw_line in response:
                        if stop.is_set():
                            return
                        line = raw_line.decode("utf-8").rstrip("\r\n")
                        if line.startswith("event:"):
                            event = line.partition(":")[2].strip()
                        elif line.startswith("data:") and event == "incident":
                            on_incident(json.loads(line.partition(":")[2]))
            except (urllib.error.URLError, OSError) as exc:
                if not stop.is_set():
                    logger.error("the live stream closed: %s", exc)

        thread = threading.Thread(target=run, name="demo-officer-stream", daemon=True)
        thread.start()
        return thread
