"""Fuzzing the message parser: any bytes either parse to a contract message or raise ContractError.

The ingest end to end (a real CURVE socket and database, with a good camera beside the fuzzer) is fuzzed in
tests/security/test_security_ingest_fuzz.py.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nitrosignal.wire import MAX_MESSAGE_BYTES, Alert, ContractError, Heartbeat, decode, encode

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "schema", "message_id", "camera_id", "seq", "sent_at", "incident_id", "phase", "occurred_at", "zone",
    "confidence", "people_involved", "model", "expires_at", "state", "reason", "fps_in", "fps_processed",
    "dropped_frames", "outbox_depth", "model_version", "uptime_s", "config_hash", "bbox", "image",
]  # fmt: skip


def _decode_or_refuse(raw: bytes) -> None:
    try:
        message = decode(raw)
    except ContractError as error:
        assert error.reason in {
            "oversized", "too_nested", "not_utf8", "malformed_json", "not_an_object", "unknown_schema",
            "unknown_field", "invalid_field",
        }  # fmt: skip
        return
    # Whatever parses must re-encode within the cap and round-trip exactly.
    assert isinstance(message, Alert | Heartbeat)
    assert decode(encode(message)) == message


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=MAX_MESSAGE_BYTES + 64))
def test_arbitrary_bytes_never_crash_the_parser(raw: bytes) -> None:
    _decode_or_refuse(raw)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.sampled_from(["nitrosignal.alert/1", "nitrosignal.heartbeat/1"]),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)),
)
def test_structured_garbage_is_refused_with_a_reason(schema: str, fields: dict[str, Any]) -> None:
    _decode_or_refuse(json.dumps({**fields, "schema": schema}).encode())


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=MAX_MESSAGE_BYTES // 2), st.sampled_from(["[]", "{}", '[{"a":}]']))
def test_deep_nesting_is_a_refusal_not_a_recursion_error(depth: int, brackets: str) -> None:
    opening, closing = brackets[0], brackets[-1]
    _decode_or_refuse((opening * depth + closing * depth).encode()[:MAX_MESSAGE_BYTES])
