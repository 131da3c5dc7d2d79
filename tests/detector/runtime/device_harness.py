"""Harness for the device-runtime tests: real CURVE keys, a real ZeroMQ ROUTER platform, real videos.

Everything is built in ``tmp_path`` at test time. The test platform is a minimal but real implementation
of the server side of the link protocol: a CURVE ROUTER that decodes each message with the wire contract,
stores it idempotently on (camera_id, seq) and replies with an Ack. Like the real ingest it takes exactly
one body frame per message (after the identity, and REQ's empty delimiter if present): a message with any
other frame is recorded in ``multipart`` and refused, never silently cut down to its last frame, so that a
device sending ``[image, payload]`` cannot pass a test.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml
import zmq
from model_kit import make_signing_key, write_test_model  # type: ignore[import-not-found, unused-ignore]

from nitrosignal.keys import KeyPair, generate_keypair, load_public, load_secret
from nitrosignal.wire import (
    Ack,
    AckResult,
    Alert,
    AlertPhase,
    ContractError,
    Heartbeat,
    ModelRef,
    PeopleBucket,
    decode,
    encode,
)

ASSETS = Path(__file__).resolve().parents[3] / "nitrosignal" / "assets"

Decision = Callable[[Alert | Heartbeat], tuple[AckResult, str | None]]


@dataclass(frozen=True)
class Keys:
    """Key files and key material of the platform and one camera."""

    platform_public_file: Path
    platform: KeyPair
    camera_secret_file: Path
    camera: KeyPair


def make_keys(tmp_path: Path) -> Keys:
    """A fresh platform keypair and camera keypair in tmp_path/keys."""
    directory = tmp_path / "keys"
    platform_files = generate_keypair(directory, "platform")
    camera_files = generate_keypair(directory, "cam-1")
    return Keys(
        platform_public_file=platform_files.public_path,
        platform=load_secret(platform_files.secret_path),
        camera_secret_file=camera_files.secret_path,
        camera=load_secret(camera_files.secret_path),
    )


@dataclass
class TestPlatform:
    """A real CURVE ROUTER speaking the platform's side of the link, in a thread.

    Attributes:
        gated: the ``gated`` flag put in every ack.
        decide: what to answer per message (default stored/duplicate by (camera_id, seq)).
        silent_first: store but do not answer this many messages (lost acks).
    """

    __test__ = False

    server: KeyPair
    port: int = 0
    gated: bool = False
    decide: Decision | None = None
    silent_first: int = 0
    monotonic: bool = False
    raw: list[bytes] = field(default_factory=list)
    body_frames: list[int] = field(default_factory=list)
    multipart: list[list[bytes]] = field(default_factory=list)
    stored: dict[int, Alert | Heartbeat] = field(default_factory=dict)
    answers: list[Ack] = field(default_factory=list)
    invalid: list[ContractError] = field(default_factory=list)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> TestPlatform:
        ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        assert ready.wait(5), "test platform did not bind"
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _serve(self, ready: threading.Event) -> None:
        context = zmq.Context()
        sock = context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_server = True
        sock.curve_secretkey = self.server.secret
        sock.curve_publickey = self.server.public
        if self.port:
            sock.bind(self.endpoint)
        else:
            self.port = sock.bind_to_random_port("tcp://127.0.0.1")
        ready.set()
        try:
            while not self._stop.is_set():
                if not sock.poll(50):
                    continue
                identity, *body = sock.recv_multipart()
                # REQ-style senders put an empty delimiter before the payload; it belongs to the envelope.
                envelope = [identity, b""] if len(body) > 1 and body[0] == b"" else [identity]
                body = body[len(envelope) - 1 :]
                reply = self._handle_frames(body)
                if reply is not None:
                    sock.send_multipart([*envelope, encode(reply)])
        finally:
            sock.close(linger=0)
            context.term()

    def _handle_frames(self, body: list[bytes]) -> Ack | None:
        with self._lock:
            self.body_frames.append(len(body))
            if len(body) != 1:
                # Every frame is kept for the test to inspect; nothing of it is stored or acked as valid.
                self.multipart.append(list(body))
                return None
        return self._handle(body[0])

    def _handle(self, raw: bytes) -> Ack | None:
        with self._lock:
            self.raw.append(raw)
            try:
                message = decode(raw)
            except ContractError as exc:
                self.invalid.append(exc)
                return None
            if self.decide is not None:
                result, reason = self.decide(message)
            elif message.seq in self.stored:
                result, reason = AckResult.DUPLICATE, None
            elif self.monotonic and any(
                type(old) is type(message) and old.seq > message.seq for old in self.stored.values()
            ):
                # Like the real platform: per camera, each kind of message only moves forward.
                result, reason = AckResult.REFUSED, "out_of_order"
            else:
                result, reason = AckResult.STORED, None
            if result is AckResult.STORED:
                self.stored[message.seq] = message
            if self.silent_first > 0:
                self.silent_first -= 1
                return None
            ack = Ack(camera_id=message.camera_id, seq=message.seq, result=result, reason=reason, gated=self.gated)
            self.answers.append(ack)
            return ack

    def alerts(self) -> list[Alert]:
        with self._lock:
            return [m for m in self.stored.values() if isinstance(m, Alert)]

    def heartbeats(self) -> list[Heartbeat]:
        with self._lock:
            return [m for m in self.stored.values() if isinstance(m, Heartbeat)]

    def wait_for(self, condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()


def write_person_video(path: Path, *, seconds_before: float, seconds_balloon: float, seconds_after: float) -> Path:
    """Write a 10 fps MJPG video of the shipped demo photo, with a vivid balloon at the mouth in the middle.

    The balloon is drawn where the person's mouth is (found once with the real pose model on the photo).
    A small jitter keeps the motion gate open, as a real person would.
    """
    image = cv2.imread(str(ASSETS / "demo_person.jpg"))
    assert image is not None
    image = cv2.resize(image, (640, 410), interpolation=cv2.INTER_AREA)
    # Mouth position measured on this photo with the real pose model (anchor 0.43, 0.49; body scale 0.38).
    height, width = image.shape[:2]
    mouth = (int(0.434 * width), int(0.518 * height))
    radius = int(0.38 * width * 0.25)
    fps = 10
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    total = int((seconds_before + seconds_balloon + seconds_after) * fps)
    for index in range(total):
        frame = np.roll(image, (index % 3) - 1, axis=1).copy()
        t = index / fps
        if seconds_before <= t < seconds_before + seconds_balloon:
            cv2.ellipse(frame, mouth, (radius, int(radius * 0.8)), 0, 0, 360, (40, 200, 240), -1)
        writer.write(frame)
    writer.release()
    return path


def camera_config_dict(keys: Keys, endpoint: str, source: dict[str, Any], outbox: Path) -> dict[str, Any]:
    """A valid config as a dict, always in schedule, quick to react, with a signed test model."""
    key = make_signing_key(outbox.parent / "model-signing")
    return {
        "camera_id": "cam-1",
        "platform": {
            "endpoint": endpoint,
            "public_key_file": str(keys.platform_public_file),
            "ack_timeout_s": 1.0,
            "backoff_initial_s": 0.1,
            "backoff_max_s": 0.5,
        },
        "secret_key_file": str(keys.camera_secret_file),
        "source": source,
        "schedule": {
            "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "start": "00:00", "end": "24:00"}]
        },
        "outbox": {"path": str(outbox)},
        "heartbeat_interval_s": 1.0,
        "model_path": str(write_test_model(outbox.parent / "model", key)),
        "model_signing_keys": [str(key.public_file)],
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def platform_public(keys: Keys) -> bytes:
    return load_public(keys.platform_public_file)


MODEL = ModelRef(id="balloon-at-mouth", version="0.1.0", sha256="a" * 64)


def alert_builder(incident: uuid.UUID | None = None, phase: AlertPhase = AlertPhase.NEW) -> Callable[[int], Alert]:
    """A builder for Outbox.add_alert, as the runtime makes one."""
    incident_id = incident or uuid.uuid4()
    now = datetime.now(UTC).replace(microsecond=0)

    def build(seq: int) -> Alert:
        return Alert(
            message_id=uuid.uuid4(),
            camera_id="cam-1",
            seq=seq,
            sent_at=now,
            incident_id=incident_id,
            phase=phase,
            occurred_at=now,
            confidence=0.87,
            people_involved=PeopleBucket.ONE,
            model=MODEL,
            expires_at=now + timedelta(minutes=2),
        )

    return build
