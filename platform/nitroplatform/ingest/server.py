"""The ingest thread: a CURVE ROUTER socket that drains messages in batches and acks after each commit.

Order matters for security: the CURVE server keys are set *before* ``bind``, and pyzmq's
``ThreadAuthenticator`` answers ZAP for every connection from the camera registry. The authenticated key of
each message comes from the frame property ``User-Id`` (the Z85 public key), never from the payload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time

import zmq
from zmq.auth.thread import ThreadAuthenticator

from nitroplatform.ingest.auth import CameraKeyCache
from nitroplatform.ingest.handler import Inbound, IngestHandler
from nitroplatform.ingest.metrics import PlatformMetrics
from nitroplatform.settings import Settings
from nitrosignal.keys import KeyPair
from nitrosignal.wire import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

POLL_MS = 100
# Frames up to this size get a proper 'oversized' refusal; a larger frame drops the connection. libzmq reads a whole
# multipart message into memory before the platform sees it and caps each frame, not the number of frames: the
# frame cap bounds what one frame of a message costs (a 3,000-frame message at the old 64 KiB cap took 187 MB).
SOCKET_MAX_MESSAGE_BYTES = 2 * MAX_MESSAGE_BYTES
# Whole messages queued per connection before libzmq stops reading from it (TCP pushes back; nothing is lost).
# A device waits for its acks, so a handful is in flight; 1,000 leaves room for an outbox draining after an outage.
SOCKET_RCVHWM = 1000
# After a batch that held this many bytes, freed memory goes back to the system at once (see _return_freed_memory).
LARGE_BATCH_BYTES = 1 << 20
START_TIMEOUT_S = 10.0
GC_YOUNG_THRESHOLD = 10_000


class IngestError(RuntimeError):
    """The ingest could not start or stopped unexpectedly."""


class IngestServer:
    """Runs the ROUTER loop on its own thread."""

    def __init__(
        self,
        *,
        settings: Settings,
        keypair: KeyPair,
        handler: IngestHandler,
        key_cache: CameraKeyCache,
        metrics: PlatformMetrics,
    ) -> None:
        """Args: settings, the platform's CURVE keypair, the batch handler, the registry cache and metrics."""
        self._settings = settings
        self._keypair = keypair
        self._handler = handler
        self._keys = key_cache
        self._metrics = metrics
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self.endpoint: str | None = None
        self.error: BaseException | None = None

    @property
    def running(self) -> bool:
        """True while the loop runs without error."""
        return self._ready.is_set() and self._thread.is_alive() and self.error is None

    def start(self) -> None:
        """Start the thread and wait until the socket is bound.

        Raises:
            IngestError: if binding failed or took too long.
        """
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self.error is not None:
            self._stop.set()
            raise IngestError(f"ingest could not start on {self._settings.ingest_bind}: {self.error}")
        logger.info("ingest listening on %s (CURVE, ZAP against %d registered cameras)", self.endpoint, len(self._keys))

    def refresh_registry(self) -> None:
        """Reload the registry cache now (after a camera was added or removed in this process)."""
        self._metrics.registered_cameras.set(self._keys.reload())

    def stop(self) -> None:
        """Stop the loop and release the socket."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        context = zmq.Context()
        authenticator = ThreadAuthenticator(context, log=logging.getLogger("nitroplatform.ingest.zap"))
        socket: zmq.Socket[bytes] | None = None
        try:
            authenticator.start()
            self._keys.reload()
            self._metrics.registered_cameras.set(len(self._keys))
            authenticator.configure_curve_callback(domain="*", credentials_provider=self._keys)
            socket = context.socket(zmq.ROUTER)
            socket.curve_secretkey = self._keypair.secret
            socket.curve_publickey = self._keypair.public
            socket.curve_server = True
            socket.linger = 0
            socket.setsockopt(zmq.MAXMSGSIZE, SOCKET_MAX_MESSAGE_BYTES)
            socket.setsockopt(zmq.RCVHWM, SOCKET_RCVHWM)
            socket.setsockopt(zmq.SNDHWM, 100_000)
            socket.bind(self._settings.ingest_bind)
            self.endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
            # Everything allocated so far (app, routes, ORM metadata, pydantic schemas) lives as long as the process.
            # Each batch promotes thousands of short-lived objects, so full collections came every few batches and
            # re-scanned that whole heap (about 100 ms each, a stall of ingest and SSE alike); frozen objects are
            # skipped by the collector. Process-wide and harmless: it only exempts objects alive now (collect first,
            # so no garbage cycle is frozen forever).
            gc.collect()
            gc.freeze()
            # A young generation of a few batches' worth of objects: most die (refcount) before a collection runs,
            # so there are far fewer, still short (a few ms), young collections than with the default of 700.
            threshold, *older = gc.get_threshold()
            gc.set_threshold(max(threshold, GC_YOUNG_THRESHOLD), *older)
            self._ready.set()
            self._loop(socket)
        except BaseException as exc:
            self.error = exc
            logger.exception("ingest stopped with an error")
            self._ready.set()
        finally:
            if socket is not None:
                socket.close(linger=0)
            authenticator.stop()
            context.term()

    def _loop(self, socket: zmq.Socket[bytes]) -> None:
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        batch_max = self._settings.ingest_batch_max
        refresh_s = self._settings.registry_refresh_s
        last_refresh = time.monotonic()
        while not self._stop.is_set():
            if poller.poll(POLL_MS):
                batch, received_bytes = self._drain(socket, batch_max)
                if received_bytes >= LARGE_BATCH_BYTES:
                    _return_freed_memory()
                if batch:
                    for outbound in self._handler.handle(batch):
                        try:
                            socket.send_multipart([*outbound.envelope, outbound.reply], zmq.NOBLOCK)
                        except zmq.Again:
                            self._handler.log.log(
                                logging.WARNING, "reply_dropped", "reply dropped: send queue to a device is full"
                            )
            self._handler.log.roll()
            if time.monotonic() - last_refresh > refresh_s:
                try:
                    self._metrics.registered_cameras.set(self._keys.reload())
                except Exception:
                    # A database that is away for a moment must not end the ingest: the cached keys stay in force.
                    self._handler.log.log(
                        logging.ERROR,
                        "registry_reload_failed",
                        "camera registry reload failed; the cached keys stay in force",
                        exc_info=True,
                    )
                last_refresh = time.monotonic()

    @staticmethod
    def _drain(socket: zmq.Socket[bytes], batch_max: int) -> tuple[list[Inbound], int]:
        """Up to ``batch_max`` messages, and how many bytes they held in all."""
        batch: list[Inbound] = []
        received_bytes = 0
        while len(batch) < batch_max:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                break
            received_bytes += sum(len(frame) for frame in frames)
            envelope, body = _split_envelope(frames)
            payload = body[-1]
            user_id = payload.get("User-Id")
            batch.append(
                Inbound(
                    envelope=[frame.bytes for frame in envelope],
                    payload=payload.bytes,
                    user_id=user_id if isinstance(user_id, str) else None,
                    extra_frames=len(body) - 1,
                )
            )
        return batch, received_bytes


def _return_freed_memory() -> None:
    """Hand memory freed after a large message back to the system (glibc ``malloc_trim``).

    libzmq allocates each frame separately; once the platform dropped a large multipart message, glibc may keep the
    freed frames in the ingest thread's heap, and the process's RSS stays high although nothing uses it. Where the
    C library has no ``malloc_trim`` this does nothing.
    """
    trim = getattr(_LIBC, "malloc_trim", None)
    if trim is not None:
        trim(0)


try:
    _LIBC: ctypes.CDLL | None = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
except OSError:  # not glibc (or no libc to load): nothing to trim
    _LIBC = None


def _split_envelope(frames: list[zmq.Frame]) -> tuple[list[zmq.Frame], list[zmq.Frame]]:
    """Routing envelope and body: a DEALER's message is ``[id, payload]``, a REQ's ``[id, b"", payload]``.

    Anything after the envelope beyond one frame is a multipart flood; it is refused, and the reply goes
    back along the envelope only, never echoing the extra frames.
    """
    # Devices connect directly (no brokers in between), so the envelope is one identity frame, plus REQ's
    # empty delimiter: a longer envelope would let a device make the platform echo frames back.
    if len(frames) > 2 and not frames[1].bytes:
        return frames[:2], frames[2:]
    return frames[:1], frames[1:]
