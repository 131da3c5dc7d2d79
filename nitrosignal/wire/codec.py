"""Strict encoding and decoding of wire messages, with a hard size cap."""

from __future__ import annotations

import json

from pydantic import TypeAdapter, ValidationError

from nitrosignal.wire.messages import Ack, Alert, DeviceMessage, Heartbeat

MAX_MESSAGE_BYTES = 4096
"""Largest message either side accepts. A real alert is about 600 bytes."""

MAX_CONTAINERS = 16
"""Most JSON objects and arrays one message may hold. A contract message has two (itself and ``model``), and
no string of the contract may contain a bracket, so counting the bracket bytes bounds the nesting before the
parser recurses into it: a payload of 2,000 nested brackets is refused without ever reaching ``json.loads``."""

_DEVICE_ADAPTER: TypeAdapter[Alert | Heartbeat] = TypeAdapter(DeviceMessage)


class ContractError(ValueError):
    """A message that does not satisfy the wire contract.

    Attributes:
        reason: short machine-readable code, logged and counted by the receiver.
        detail: human-readable explanation of what was expected and what came.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(message: Alert | Heartbeat | Ack) -> bytes:
    """Serialise a message to compact UTF-8 JSON, refusing anything over the size cap."""
    raw = message.model_dump_json(by_alias=True, exclude_none=True).encode()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ContractError("oversized", f"encoded message is {len(raw)} bytes, cap is {MAX_MESSAGE_BYTES}")
    return raw


def _refuse_constant(name: str) -> object:
    # Python's json accepts NaN, Infinity and -Infinity, which are not JSON and have no place in a column.
    raise ContractError("malformed_json", f"{name} is not a JSON number")


def _load_object(raw: bytes) -> dict[str, object]:
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ContractError("oversized", f"message is {len(raw)} bytes, cap is {MAX_MESSAGE_BYTES}")
    containers = raw.count(b"{") + raw.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ContractError("too_nested", f"message holds {containers} brackets, at most {MAX_CONTAINERS} allowed")
    try:
        obj = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise ContractError("not_utf8", f"message is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise ContractError("malformed_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:  # unreachable behind MAX_CONTAINERS; kept so nesting can never escape as a crash
        raise ContractError("too_nested", "message nests deeper than the parser allows") from exc
    except ValueError as exc:  # e.g. an integer literal beyond the interpreter's digit limit
        raise ContractError("malformed_json", str(exc)[:120]) from exc
    if not isinstance(obj, dict):
        raise ContractError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _explain(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        location = ".".join(str(p) for p in error["loc"]) or "(message)"
        parts.append(f"{location}: {error['msg']}")
    return "; ".join(parts)


def decode(raw: bytes) -> Alert | Heartbeat:
    """Parse a device message strictly.

    Every malformed input ends as a :class:`ContractError`, never as another exception: the receiver turns it
    into a counted refusal of this one message.

    Raises:
        ContractError: with reason ``oversized``, ``too_nested``, ``not_utf8``, ``malformed_json``,
            ``not_an_object``, ``unknown_schema``, ``unknown_field`` or ``invalid_field``.
    """
    obj = _load_object(raw)
    schema = obj.get("schema")
    if schema not in ("nitrosignal.alert/1", "nitrosignal.heartbeat/1"):
        raise ContractError("unknown_schema", f"schema must be nitrosignal.alert/1 or heartbeat/1, got {schema!r}")
    try:
        return _DEVICE_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        reason = "unknown_field" if any(e["type"] == "extra_forbidden" for e in exc.errors()) else "invalid_field"
        raise ContractError(reason, _explain(exc)) from exc
    except (ArithmeticError, TypeError, ValueError) as exc:  # a validator that failed other than by ValueError
        raise ContractError("invalid_field", f"{type(exc).__name__}: {str(exc)[:120]}") from exc


def decode_reply(raw: bytes) -> Ack:
    """Parse the platform's reply on the device side, with the same strictness."""
    obj = _load_object(raw)
    try:
        return Ack.model_validate(obj)
    except ValidationError as exc:
        raise ContractError("invalid_reply", _explain(exc)) from exc
