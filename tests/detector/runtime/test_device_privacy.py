"""Privacy invariants of the device, checked on the real detector process (DESIGN.md §3, §4).

One run of ``nitrosignal detector run`` (the session's ``privacy_run``, see ``privacy_harness``) on a video
made from the shipped photo, with a balloon at the mouth, talking to a real CURVE platform through a
recording loopback proxy. Then, each in its own test: every message is one frame holding one contract
payload with only allow-listed fields; every encrypted frame on the wire is one of those payloads plus
the CURVE overhead, nothing more; the bytes on the wire carry no plaintext; the process opened no file
for writing but the outbox and its journal, and no file appeared (even briefly) in its folders; it listened
on no socket; times are whole seconds, heartbeat figures coarse and the config hash keyed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml
from privacy_harness import PrivacyRun  # type: ignore[import-not-found]
from wire_tap import CURVE_MESSAGE_OVERHEAD, MAX_FRAME_HEADER  # type: ignore[import-not-found]

from nitrosignal.confighash import canonical_json, config_hash
from nitrosignal.keys import load_secret
from nitrosignal.wire import Alert, Heartbeat, decode
from nitrosignal.wire.messages import ALERT_SCHEMA, HEARTBEAT_SCHEMA

ALERT_FIELDS = {
    "schema", "message_id", "camera_id", "seq", "sent_at", "incident_id", "phase", "occurred_at", "zone",
    "confidence", "people_involved", "model", "expires_at",
}  # fmt: skip
HEARTBEAT_FIELDS = {
    "schema", "message_id", "camera_id", "seq", "sent_at", "state", "reason", "fps_in", "fps_processed",
    "dropped_frames", "outbox_depth", "model_version", "uptime_s", "config_hash",
}  # fmt: skip
MODEL_FIELDS = {"id", "version", "sha256"}
MAX_PAYLOAD_BYTES = 1024
"""Alerts and heartbeats measured 378-479 bytes; anything near this cap is carrying more than the contract."""
MAX_CIPHERTEXT_BYTES = MAX_PAYLOAD_BYTES + CURVE_MESSAGE_OVERHEAD + MAX_FRAME_HEADER


def _outbox_files(run: PrivacyRun) -> set[str]:
    """The only files the detector may write: the outbox and SQLite's journal files beside it."""
    return {str(run.outbox), *(f"{run.outbox}{suffix}" for suffix in ("-journal", "-wal", "-shm"))}


def _justified_writes(run: PrivacyRun) -> set[tuple[str, str]]:
    """Write-like operations besides the outbox's files that the detector may do, each with its reason."""
    return {
        # Outbox.open creates the outbox's folder when it is missing (mkdir, exist_ok); here it exists, so
        # nothing is created, but the audit event is raised before the kernel says so.
        ("os.mkdir", str(run.outbox.parent)),
    }


def test_the_run_sent_an_alert_all_the_way(privacy_run: PrivacyRun) -> None:
    assert privacy_run.returncode == 0, privacy_run.stderr[-3000:]
    alerts = [m for m in (decode(raw) for raw in privacy_run.messages) if isinstance(m, Alert)]
    assert alerts, "no alert was sent, so the privacy checks below would prove little"
    # The observers were attached and saw the detector work: pose found the person, the outbox was opened.
    assert any(record["people"] > 0 for record in privacy_run.of_kind("pose"))
    assert any(record["event"] == "sqlite3.connect" for record in privacy_run.of_kind("write"))


def test_every_message_is_one_frame_holding_a_contract_payload(privacy_run: PrivacyRun) -> None:
    assert privacy_run.messages
    # Exactly one body frame per message: an image sent as an extra frame would show up here.
    assert privacy_run.multipart == []
    assert privacy_run.body_frames == [1] * len(privacy_run.body_frames)
    for raw in privacy_run.messages:
        message = decode(raw)  # raises on anything that is not the contract
        obj = json.loads(raw)
        assert obj["schema"] == (ALERT_SCHEMA if isinstance(message, Alert) else HEARTBEAT_SCHEMA)
        allowed = ALERT_FIELDS if isinstance(message, Alert) else HEARTBEAT_FIELDS
        assert set(obj) <= allowed, set(obj) - allowed
        if isinstance(message, Alert):
            assert set(obj["model"]) == MODEL_FIELDS
        for key, value in obj.items():
            # No lists (coordinates, landmarks, boxes) and no paths or long text anywhere.
            assert not isinstance(value, list), key
            assert not (isinstance(value, str) and ("/" in value and key != "schema" or len(value) > 80)), key
        assert len(raw) <= MAX_PAYLOAD_BYTES


def test_every_encrypted_frame_on_the_wire_is_one_payload_plus_curve_overhead(privacy_run: PrivacyRun) -> None:
    streams = privacy_run.streams
    assert streams and len(streams) == privacy_run.proxy_connections
    frames_on_wire = []
    for stream in streams:
        assert stream.greeting[:1] == b"\xff" and b"CURVE" in stream.greeting, stream.greeting
        names = [frame.command_name for frame in stream.frames if not frame.is_curve_message]
        assert names[:2] == ["HELLO", "INITIATE"][: len(names)], names  # the handshake, then only messages
        assert len(names) <= 2, names
        frames_on_wire.extend(stream.messages)
    # Each encrypted frame is exactly one payload the platform received, plus CURVE's fixed overhead: an
    # extra frame (an image beside the payload) or extra bytes inside one would break the pairing.
    assert sorted(frame.plaintext_bytes for frame in frames_on_wire) == sorted(map(len, privacy_run.messages))
    for frame in frames_on_wire:
        assert frame.wire_bytes <= frame.plaintext_bytes + CURVE_MESSAGE_OVERHEAD + MAX_FRAME_HEADER
        assert frame.wire_bytes <= MAX_CIPHERTEXT_BYTES, frame.wire_bytes


def test_bytes_on_the_wire_carry_no_plaintext(privacy_run: PrivacyRun) -> None:
    wire = privacy_run.upstream
    assert privacy_run.proxy_connections >= 1
    assert b"CURVE" in wire[:64]  # the ZMTP greeting names the mechanism; everything after it is encrypted
    assert len(wire) > sum(len(m) for m in privacy_run.messages)
    # Needles of 5+ bytes: a 2-byte one like {" turns up by chance in a few kB of ciphertext.
    for needle in (b'"schema"', b"nitrosignal.", b"cam-1", b"incident_id", b"heartbeat", b"alert", b"config_hash"):
        assert needle not in wire, needle
    for raw in privacy_run.messages:  # no stretch of any message the platform received appears as sent
        for start in range(0, len(raw) - 16, 16):
            assert raw[start : start + 16] not in wire


def test_the_detector_opens_no_file_for_writing_but_the_outbox(privacy_run: PrivacyRun) -> None:
    # From the audit hook inside the detector process: every open with a write flag, rename, removal,
    # mkdir, shutil/tempfile operation and sqlite3.connect, even of a file deleted right after.
    writes = privacy_run.of_kind("write")
    assert writes, "the audit hook reported nothing; it would not see a leak either"
    allowed = _outbox_files(privacy_run)
    justified = _justified_writes(privacy_run)
    operations = {(w["event"], w["path"]) for w in writes}
    unexpected = sorted(op for op in operations if op[1] not in allowed and op not in justified)
    assert unexpected == []


def test_no_file_appears_in_the_detectors_folders_but_the_outbox(privacy_run: PrivacyRun) -> None:
    # From inotify on HOME, the working directory and TMPDIR: native writers too, and files that were
    # created and deleted again during the run.
    touched = {event.path for event in privacy_run.file_events}
    assert str(privacy_run.outbox) in touched, "inotify saw no outbox write; it would not see a leak either"
    assert touched - _outbox_files(privacy_run) == set()


def test_only_the_outbox_changed_on_disk(privacy_run: PrivacyRun) -> None:
    assert privacy_run.outbox.exists()
    assert privacy_run.changed == {str(privacy_run.outbox)}


def test_the_detector_listens_on_no_socket(privacy_run: PrivacyRun) -> None:
    samples = privacy_run.of_kind("sockets")
    assert max(sample["count"] for sample in samples) >= 1  # the probe saw the outgoing connection
    assert [sample["listening"] for sample in samples if sample["listening"]] == []


def test_device_times_on_the_wire_are_whole_seconds(privacy_run: PrivacyRun) -> None:
    for raw in privacy_run.messages:
        message = decode(raw)
        times = [message.sent_at]
        if isinstance(message, Alert):
            times += [message.occurred_at, message.expires_at]
        assert [t.microsecond for t in times] == [0] * len(times), raw


def test_heartbeat_figures_are_coarse(privacy_run: PrivacyRun) -> None:
    heartbeats = [m for m in (decode(raw) for raw in privacy_run.messages) if isinstance(m, Heartbeat)]
    assert len(heartbeats) >= 3
    assert any(h.fps_processed > 0 for h in heartbeats), "no heartbeat carried a rate, so this proves little"
    for heartbeat in heartbeats:
        # Averaged over the interval and rounded to whole frames per second; drops to a power of ten.
        assert heartbeat.fps_in == int(heartbeat.fps_in) and heartbeat.fps_processed == int(heartbeat.fps_processed)
        assert heartbeat.dropped_frames == 0 or str(heartbeat.dropped_frames).strip("0") == "1"


def test_config_hash_is_keyed_with_the_device_secret(privacy_run: PrivacyRun) -> None:
    config_file = privacy_run.work / "camera.yaml"
    document = yaml.safe_load(config_file.read_text())
    secret = load_secret(Path(document["secret_key_file"])).secret
    hashes = {m.config_hash for m in (decode(raw) for raw in privacy_run.messages) if isinstance(m, Heartbeat)}
    assert hashes == {config_hash(document, secret)}
    # Not a plain hash of anything an observer could recompute from a guessed config.
    plain = {hashlib.sha256(config_file.read_bytes()).hexdigest(), hashlib.sha256(canonical_json(document)).hexdigest()}
    assert hashes.isdisjoint(plain)
