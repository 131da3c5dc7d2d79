"""`nitrosignal detector check`: does this device reach the platform and authenticate?

Run on a freshly installed camera (docs/DEVICE_INSTALL.md). It reads the camera config with the
detector's own model (:mod:`detector.config`), loads the camera's CURVE keys and the platform's public
key, connects exactly like the detector does (the link's socket, :mod:`detector.link_socket`), sends one
real heartbeat and waits for the platform's ack. It imports only pydantic, PyYAML, pyzmq and the core, so
it also works when the detector's vision dependencies are broken.

The wire contract is unchanged: the heartbeat's ``seq`` is the current time in milliseconds, which is
above any sequence number an earlier check sent, and its state is ``degraded`` with reason
``device_check`` because this process is not analysing frames. A socket monitor tells apart the
failures an installer meets: the platform is unreachable, the platform key in the bundle is wrong, or
the camera is not registered (ZAP refusal).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import zmq

from detector.config import CameraConfig, validate_config_file
from detector.link_socket import LinkSettings, new_link_socket
from nitrosignal.keys import KeyFileError, load_public, load_secret
from nitrosignal.wire import AckResult, ContractError, DeviceState, Heartbeat, decode_reply, encode

DEFAULT_TIMEOUT_S = 10.0
AUTH_GRACE_S = 3.0
RETRY_S = 0.5

_REFUSAL_HINTS = {
    "camera_mismatch": "camera_id in the config is not the id this key was registered under; use the bundle's "
    "camera.yaml unchanged.",
    "clock_skew": "the device's clock is ahead of the platform's: enable time synchronisation (systemd-timesyncd).",
    "unknown_camera": "the camera was removed from the registry; provision it again.",
    "flood": "the camera sent too many messages; stop other detector processes on this device.",
}


class CheckProblem(StrEnum):
    """Why a check failed; each has its own explanation and remedy in :attr:`CheckResult.message`."""

    CONFIG_INVALID = "config_invalid"
    SECRET_KEY_PERMISSIONS = "secret_key_permissions"
    KEY_FILE_INVALID = "key_file_invalid"
    UNREACHABLE = "unreachable"
    WRONG_PLATFORM_KEY = "wrong_platform_key"
    CAMERA_NOT_REGISTERED = "camera_not_registered"
    NO_ACK = "no_ack"
    REFUSED = "refused"


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one device check.

    Attributes:
        ok: the platform stored (or recognised) the heartbeat and acked it.
        camera_id: camera id from the config ('' when the config could not be read).
        endpoint: the platform endpoint tried ('' when the config could not be read).
        reached: a TCP connection to the platform was made.
        authenticated: the CURVE handshake, including the platform's ZAP check of the camera key, succeeded.
        acked: an ack for the heartbeat arrived.
        gated: the platform's ``gated`` flag from the ack (None without an ack): true means the camera's
            deployment has no approved, current IAMA yet and the detector will stay ``inactive_gated``.
        ack_result: ``stored``, ``duplicate`` or ``refused`` (None without an ack).
        problem: why the check failed (None when ``ok``).
        message: one human-readable paragraph: what happened and what to do.
        elapsed_s: how long the check took.
    """

    ok: bool
    camera_id: str
    endpoint: str
    reached: bool
    authenticated: bool
    acked: bool
    gated: bool | None
    ack_result: AckResult | None
    problem: CheckProblem | None
    message: str
    elapsed_s: float


def read_camera_config(config_path: Path) -> CameraConfig:
    """The camera config, validated with the detector's own model; key paths resolved as the detector does.

    The files it names are checked by loading the keys afterwards, each failure with its own problem.

    Raises:
        ValueError: with every problem and its YAML position, if the config is not usable.
    """
    config, issues = validate_config_file(config_path, with_files=False)
    if config is None:
        raise ValueError("; ".join(issue.format(str(config_path)) for issue in issues))
    return config


class _Progress:
    """Connection milestones seen on the socket monitor."""

    def __init__(self) -> None:
        self.connected = False
        self.handshake_ok = False
        self.auth_refused = False
        self.first_refusal_at: float | None = None
        self.auth_status = 0

    def feed(self, monitor: zmq.Socket[bytes]) -> None:
        while monitor.poll(0):
            frames = monitor.recv_multipart()
            # First frame: 16-bit event id and 32-bit value, little endian (zmq_socket_monitor(3)).
            event = int.from_bytes(frames[0][:2], "little")
            value = int.from_bytes(frames[0][2:6], "little")
            if event == zmq.EVENT_CONNECTED:
                self.connected = True
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshake_ok = True
            elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self.auth_refused = True
                self.auth_status = value
                if self.first_refusal_at is None:
                    self.first_refusal_at = time.monotonic()


def _heartbeat(config: CameraConfig, secret_z85: bytes) -> Heartbeat:
    return Heartbeat(
        message_id=uuid.uuid4(),
        camera_id=config.camera_id,
        # Milliseconds since the epoch: above the seq of any earlier check, without touching the outbox.
        seq=time.time_ns() // 1_000_000,
        sent_at=datetime.now(UTC).replace(microsecond=0),
        state=DeviceState.DEGRADED,
        reason="device_check",
        fps_in=0.0,
        fps_processed=0.0,
        dropped_frames=0,
        outbox_depth=0,
        uptime_s=0,
        # The detector's own keyed hash (nitrosignal.confighash): never a plain hash of a config that may
        # hold an RTSP password.
        config_hash=config.config_hash(secret_z85),
    )


def check_device(config_path: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> CheckResult:
    """Connect to the platform with this camera's keys, send one heartbeat and wait for the ack.

    Args:
        config_path: the camera config YAML (as installed: /etc/nitrosignal/camera.yaml).
        timeout_s: how long to wait for the connection, the handshake and the ack together.

    Returns:
        A :class:`CheckResult`; ``ok`` is true only when an ack with result ``stored`` or ``duplicate``
        came back. Failures are returned, not raised, each with a message that says what to do.
    """
    started = time.monotonic()
    try:
        config = read_camera_config(config_path)
    except ValueError as exc:
        return _result(None, _Progress(), started, problem=CheckProblem.CONFIG_INVALID, message=str(exc))
    try:
        keys = load_secret(config.secret_key_file)
    except KeyFileError as exc:
        problem = CheckProblem.SECRET_KEY_PERMISSIONS if "mode" in str(exc) else CheckProblem.KEY_FILE_INVALID
        return _result(config, _Progress(), started, problem=problem, message=f"camera secret key: {exc}")
    try:
        server_key = load_public(config.platform.public_key_file)
    except KeyFileError as exc:
        message = f"platform public key: {exc}"
        return _result(config, _Progress(), started, problem=CheckProblem.KEY_FILE_INVALID, message=message)
    settings = LinkSettings.for_camera(config.camera_id, config.platform, keys, server_key)
    return _exchange(config, settings, timeout_s, started)


def _exchange(config: CameraConfig, settings: LinkSettings, timeout_s: float, started: float) -> CheckResult:
    deadline = started + timeout_s
    progress = _Progress()
    context = zmq.Context()
    try:
        while True:
            heartbeat = _heartbeat(config, settings.camera_keys.secret)
            reply = _attempt(context, settings, encode(heartbeat), deadline, progress)
            if reply is not None:
                return _read_ack(reply, config, heartbeat.seq, progress, started)
            # libzmq does not reconnect after a ZAP refusal. A camera registered a moment ago may be refused
            # until the platform reloads its registry (about a second), so retry on a fresh socket for a
            # short grace period (zguide's Lazy Pirate) before calling it unregistered.
            refused_for = time.monotonic() - (progress.first_refusal_at or time.monotonic())
            if not progress.auth_refused or refused_for > AUTH_GRACE_S or time.monotonic() + RETRY_S > deadline:
                return _diagnose(config, progress, timeout_s, started)
            progress.auth_refused = False
            time.sleep(RETRY_S)
    finally:
        context.term()


def _attempt(
    context: zmq.Context[zmq.Socket[bytes]],
    settings: LinkSettings,
    payload: bytes,
    deadline: float,
    progress: _Progress,
) -> bytes | None:
    """One connection on the link's own socket: send the heartbeat, return the reply (None on refusal or timeout)."""
    socket = new_link_socket(context, settings)
    monitor = socket.get_monitor_socket()
    try:
        socket.connect(settings.endpoint)
        poller = zmq.Poller()
        # The link's socket queues nothing before the CURVE handshake is done (IMMEDIATE): it becomes writable
        # then, and the heartbeat goes out as one frame, exactly as the detector sends it.
        poller.register(socket, zmq.POLLOUT)
        poller.register(monitor, zmq.POLLIN)
        sent = False
        while (remaining := deadline - time.monotonic()) > 0:
            events = dict(poller.poll(int(min(remaining, 0.2) * 1000)))
            progress.feed(monitor)
            ready = events.get(socket, 0)
            if not sent and ready & zmq.POLLOUT:
                try:
                    socket.send(payload, zmq.NOBLOCK)
                except zmq.Again:
                    continue  # the connection went away between poll and send: wait for the next one
                sent = True
                poller.modify(socket, zmq.POLLIN)
            elif sent and ready & zmq.POLLIN:
                return socket.recv()
            if progress.auth_refused:
                break
        return None
    finally:
        socket.disable_monitor()
        monitor.close(linger=0)
        socket.close(linger=0)


def _read_ack(payload: bytes, config: CameraConfig, seq: int, progress: _Progress, started: float) -> CheckResult:
    endpoint = config.platform.endpoint
    try:
        ack = decode_reply(payload)
    except ContractError as exc:
        return _result(config, progress, started, problem=CheckProblem.NO_ACK, message=f"bad reply: {exc}")
    # A refusal names the camera the *key* belongs to, which differs from the config's id on camera_mismatch.
    if ack.seq != seq or (ack.camera_id != config.camera_id and ack.result is not AckResult.REFUSED):
        return _result(
            config,
            progress,
            started,
            problem=CheckProblem.NO_ACK,
            message=f"reply was for {ack.camera_id} seq {ack.seq}, expected {config.camera_id} seq {seq}",
        )
    gate_note = (
        "The camera is GATED: its deployment has no approved, current IAMA yet, so the detector will stay "
        "inactive_gated until it is approved."
        if ack.gated
        else "The camera is not gated: it may detect during its schedule."
    )
    if ack.result is AckResult.REFUSED and ack.reason == "out_of_order":
        # The detector already ran: its heartbeat counter (from the outbox, microsecond-based) is above this
        # check's millisecond seq. That is deliberate, so a check never pushes the platform's heartbeat
        # counter above the running detector's. The refusal still proves registration and authentication.
        return _result(
            config,
            progress,
            started,
            ack=(ack.result, None),
            message=f"OK: reached {endpoint}, CURVE authentication accepted, heartbeat answered: the platform "
            "already has newer heartbeats from this camera's detector, so the check's own heartbeat was not "
            "stored (gating state: see the detector's heartbeat on the platform).",
        )
    if ack.result is AckResult.REFUSED:
        return _result(
            config,
            progress,
            started,
            ack=(ack.result, ack.gated),
            problem=CheckProblem.REFUSED,
            message=f"the platform authenticated the key (registered as '{ack.camera_id}') but refused the heartbeat "
            f"(reason: {ack.reason}). " + _REFUSAL_HINTS.get(ack.reason or "", "Look at the platform's log."),
        )
    return _result(
        config,
        progress,
        started,
        ack=(ack.result, ack.gated),
        message=f"OK: reached {endpoint}, CURVE authentication accepted, heartbeat acked ({ack.result}). " + gate_note,
    )


def _diagnose(config: CameraConfig, progress: _Progress, timeout_s: float, started: float) -> CheckResult:
    endpoint, camera = config.platform.endpoint, config.camera_id
    if progress.first_refusal_at is not None and not progress.handshake_ok:
        problem = CheckProblem.CAMERA_NOT_REGISTERED
        message = (
            f"the platform at {endpoint} refused this camera's key (ZAP status {progress.auth_status}): camera "
            f"'{camera}' is not registered there, was revoked, or the bundle's secret key is not the one that "
            "was registered. Provision it again (nitrosignal platform camera provision) and copy the new bundle."
        )
    elif not progress.connected:
        problem = CheckProblem.UNREACHABLE
        message = (
            f"could not open a TCP connection to {endpoint} within {timeout_s:.0f} s: check the address and "
            "port in the config, the network and firewalls, and that the platform's ingest runs."
        )
    elif not progress.handshake_ok:
        problem = CheckProblem.WRONG_PLATFORM_KEY
        message = (
            f"reached {endpoint}, but the CURVE handshake never completed: the platform public key in "
            f"{config.platform.public_key_file} is not the key of the platform listening there. Copy platform.key "
            "from the platform's bundle again."
        )
    else:
        problem = CheckProblem.NO_ACK
        message = (
            f"authenticated at {endpoint}, but no ack came within {timeout_s:.0f} s: the platform's ingest "
            "may be overloaded or its database down. Look at the platform's logs."
        )
    return _result(config, progress, started, problem=problem, message=message)


def _result(
    config: CameraConfig | None,
    progress: _Progress,
    started: float,
    *,
    message: str,
    problem: CheckProblem | None = None,
    ack: tuple[AckResult, bool | None] | None = None,
) -> CheckResult:
    return CheckResult(
        ok=problem is None and ack is not None,
        camera_id=config.camera_id if config else "",
        endpoint=config.platform.endpoint if config else "",
        reached=progress.connected or ack is not None,
        authenticated=progress.handshake_ok or ack is not None,
        acked=ack is not None,
        gated=ack[1] if ack else None,
        ack_result=ack[0] if ack else None,
        problem=problem,
        message=message,
        elapsed_s=time.monotonic() - started,
    )


def format_result(result: CheckResult) -> str:
    """The lines ``nitrosignal detector check`` prints."""
    lines = [
        f"camera        {result.camera_id or '?'}",
        f"platform      {result.endpoint or '?'}",
        f"reached       {'yes' if result.reached else 'no'}",
        f"authenticated {'yes' if result.authenticated else 'no'}",
        f"acked         {'yes (' + str(result.ack_result) + ')' if result.acked else 'no'}",
        f"gated         {'unknown' if result.gated is None else 'yes' if result.gated else 'no'}",
        "",
        result.message if result.ok else f"FAILED ({result.problem}): {result.message}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m detector.check CONFIG [--timeout S]``: exit 0 when the platform acked."""
    import argparse

    parser = argparse.ArgumentParser(prog="nitrosignal detector check", description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="camera config YAML, e.g. /etc/nitrosignal/camera.yaml")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait in all")
    args = parser.parse_args(argv)
    result = check_device(args.config, timeout_s=args.timeout)
    print(format_result(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
