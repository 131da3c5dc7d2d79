"""The device's socket to the platform, set up in one place for the link and the device check.

One DEALER socket, CURVE always on, connecting out: :func:`new_link_socket` gives it the camera's keys,
the platform's public key and the link's options, so ``nitrosignal detector check`` connects exactly as
the running detector does. Only pyzmq, the core and the camera config are imported here, so the check
keeps working when the detector's vision dependencies are missing or broken.
"""

from __future__ import annotations

from dataclasses import dataclass

import zmq

from detector.config import PlatformLink
from nitrosignal.keys import KeyPair


@dataclass(frozen=True)
class LinkSettings:
    """How the link reaches the platform and how patiently."""

    endpoint: str
    server_public_key: bytes
    camera_keys: KeyPair
    camera_id: str
    ack_timeout_s: float = 3.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 60.0

    @classmethod
    def for_camera(cls, camera_id: str, platform: PlatformLink, keys: KeyPair, server_key: bytes) -> LinkSettings:
        """Settings from the camera config's ``platform`` block and the loaded keys."""
        return cls(
            endpoint=platform.endpoint,
            server_public_key=server_key,
            camera_keys=keys,
            camera_id=camera_id,
            ack_timeout_s=platform.ack_timeout_s,
            backoff_initial_s=platform.backoff_initial_s,
            backoff_max_s=platform.backoff_max_s,
        )


def new_link_socket(context: zmq.Context[zmq.Socket[bytes]], settings: LinkSettings) -> zmq.Socket[bytes]:
    """A DEALER socket with this camera's CURVE keys and the link's options, not yet connected.

    The caller connects it to ``settings.endpoint``, after attaching a socket monitor if it wants one: a
    monitor attached after ``connect`` can miss the first connection events.
    """
    sock: zmq.Socket[bytes] = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    # IMMEDIATE: never queue a message on a connection that is not up (or failed its CURVE handshake).
    sock.setsockopt(zmq.IMMEDIATE, 1)
    sock.setsockopt(zmq.SNDTIMEO, int(settings.ack_timeout_s * 1000))
    sock.setsockopt(zmq.RCVTIMEO, int(settings.ack_timeout_s * 1000))
    sock.curve_secretkey = settings.camera_keys.secret
    sock.curve_publickey = settings.camera_keys.public
    sock.curve_serverkey = settings.server_public_key
    return sock
