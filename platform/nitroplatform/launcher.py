"""Start the platform programmatically: prepare (migrate, keys), run in-process or as a subprocess, wait ready.

The demo and tests use these instead of shelling out to ``nitrosignal platform serve``::

    settings = Settings(data_dir=tmp, gating_mode="open", http_port=free_tcp_port(), ...)
    with PlatformThread(settings) as platform:      # in-process
        wait_ready(platform.base_url)
    process = start_subprocess(settings)             # or as a child process
    wait_ready(f"http://127.0.0.1:{settings.http_port}", process=process)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import TypedDict

import uvicorn

from nitroplatform.api.app import create_app
from nitroplatform.db.migrate import upgrade
from nitroplatform.settings import Settings
from nitrosignal.keys import KeyPair, generate_keypair, load_secret

logger = logging.getLogger(__name__)

SERVER_KEY_NAME = "platform"


class PlatformStartError(RuntimeError):
    """The platform did not become ready."""


def ensure_server_keys(settings: Settings) -> KeyPair:
    """Load the platform's CURVE keypair, creating it (mode 0600) in the data dir on first start.

    A configured key file that is missing is an error, not a reason to generate a new identity.

    Raises:
        nitrosignal.keys.KeyFileError: if the secret is readable by others or malformed.
        FileNotFoundError: if an explicitly configured key file does not exist.
    """
    path = settings.effective_server_secret_key_file
    if not path.exists():
        if settings.server_secret_key_file is not None:
            raise FileNotFoundError(f"NITROSIGNAL_SERVER_SECRET_KEY_FILE={path} does not exist")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        generate_keypair(path.parent, SERVER_KEY_NAME)
        logger.info("generated the platform CURVE keypair in %s", path.parent)
    return load_secret(path)


def prepare(settings: Settings) -> KeyPair:
    """Migrate the database to head and make sure the server keys exist; returns the keypair."""
    upgrade(settings.effective_database_url)
    return ensure_server_keys(settings) if settings.ingest_enabled else KeyPair(public=b"", secret=b"")


class UvicornOptions(TypedDict):
    """The uvicorn options that come from the platform's settings."""

    host: str
    port: int
    proxy_headers: bool
    forwarded_allow_ips: list[str]


def uvicorn_options(settings: Settings) -> UvicornOptions:
    """Where uvicorn listens, and which proxies it believes about the client's address and scheme."""
    proxies = [entry for entry in settings.trusted_proxies.split(",") if entry]
    # uvicorn reads FORWARDED_ALLOW_IPS from the environment when forwarded_allow_ips is None: never left to that.
    return UvicornOptions(
        host=settings.http_host, port=settings.http_port, proxy_headers=bool(proxies), forwarded_allow_ips=proxies
    )


def free_tcp_port() -> int:
    """A TCP port that was free a moment ago (for tests and the demo)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(
    base_url: str, *, timeout_s: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> dict[str, object]:
    """Poll ``/readyz`` until it answers 200; returns its JSON.

    Raises:
        PlatformStartError: on timeout, or when ``process`` exits first.
    """
    deadline = time.monotonic() + timeout_s
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise PlatformStartError(f"platform process exited with code {process.returncode} before it was ready")
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as response:
                body: dict[str, object] = json.loads(response.read())
                return body
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code}: {exc.read()[:200]!r}"
        except (urllib.error.URLError, OSError) as exc:
            last_error = str(exc)
        time.sleep(0.1)
    raise PlatformStartError(f"platform at {base_url} not ready after {timeout_s:.0f} s: {last_error}")


class PlatformThread:
    """The whole platform (HTTP + ingest + sweeper) in this process, on a background thread."""

    def __init__(self, settings: Settings, *, with_ingest: bool | None = None) -> None:
        """Args: settings to run with; with_ingest overrides whether ingest and sweeper run."""
        self.settings = settings
        self.keypair = prepare(settings)
        self.app = create_app(settings, with_ingest=with_ingest)
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on", **uvicorn_options(settings))
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="platform-http", daemon=True)

    @property
    def base_url(self) -> str:
        """http://host:port of the running server."""
        sockets = self._server.servers[0].sockets if self._server.servers else []
        port = sockets[0].getsockname()[1] if sockets else self.settings.http_port
        return f"http://{self.settings.http_host}:{port}"

    @property
    def ingest_endpoint(self) -> str:
        """The endpoint the ingest bound (resolves a ``:0`` port)."""
        ingest = self.app.state.runtime.ingest
        if ingest is None or ingest.endpoint is None:
            raise PlatformStartError("ingest is not running")
        return str(ingest.endpoint)

    def start(self, timeout_s: float = 30.0) -> PlatformThread:
        """Start serving and wait until ready."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise PlatformStartError("the platform HTTP server did not start (see the log)")
            time.sleep(0.02)
        wait_ready(self.base_url, timeout_s=max(1.0, deadline - time.monotonic()))
        return self

    def stop(self) -> None:
        """Shut down gracefully (stops ingest and sweeper in the lifespan)."""
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self) -> PlatformThread:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def start_subprocess(settings: Settings, *, log_path: str | None = None) -> subprocess.Popen[bytes]:
    """Run ``nitrosignal platform serve`` with ``settings`` as a child process (not yet ready: see wait_ready).

    Args:
        settings: passed to the child as ``NITROSIGNAL_*`` environment variables.
        log_path: file for the child's output; inherited from this process when None.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("NITROSIGNAL_")}
    env.update(settings.to_env())
    output = open(log_path, "ab") if log_path else None  # noqa: SIM115 - the child owns it
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "nitroplatform.cli", "serve"], env=env, stdout=output, stderr=output
        )
    finally:
        if output is not None:
            output.close()
