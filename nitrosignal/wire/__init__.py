"""The device-to-platform wire contract (DESIGN.md §3).

This is the only vocabulary a camera may speak. Everything that leaves a device is one of these models,
serialised by :func:`encode` and checked by :func:`decode` on arrival. The JSON Schema files in
``docs/schemas/`` are generated from these models so that a privacy officer can read exactly what leaves
a camera.
"""

from nitrosignal.wire.codec import MAX_MESSAGE_BYTES, ContractError, decode, decode_reply, encode
from nitrosignal.wire.messages import (
    Ack,
    AckResult,
    Alert,
    AlertPhase,
    DeviceMessage,
    DeviceState,
    Heartbeat,
    ModelRef,
    PeopleBucket,
    PlatformReply,
    people_bucket,
)

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Ack",
    "AckResult",
    "Alert",
    "AlertPhase",
    "ContractError",
    "DeviceMessage",
    "DeviceState",
    "Heartbeat",
    "ModelRef",
    "PeopleBucket",
    "PlatformReply",
    "decode",
    "decode_reply",
    "encode",
    "people_bucket",
]
