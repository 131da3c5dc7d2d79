"""The platform's VAPID key pair, generated into the data folder on first use (mode 0600).

Like Frigate's ``notifications.pem``, but a private key that others can read is refused rather than used.
"""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid02

VAPID_FILE_NAME = "vapid_private.pem"


class InsecureKeyFileError(RuntimeError):
    """The VAPID private key file is readable by group or others."""


def vapid_path(data_dir: Path) -> Path:
    """Where the VAPID private key lives."""
    return data_dir / "push" / VAPID_FILE_NAME


def load_or_create_vapid(data_dir: Path) -> Vapid02:
    """Load the VAPID key from ``data_dir``, creating it (0600, folder 0700) if it does not exist.

    Vapid02 signs with the RFC 8292 ``vapid t=..., k=...`` scheme that aes128gcm push services expect.
    """
    path = vapid_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        vapid = Vapid02()
        vapid.generate_keys()
        pem = vapid.private_pem()
        # O_EXCL: if two workers race, one creates the file and the other loads it below.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InsecureKeyFileError(f"{path} has mode {oct(mode)}; run chmod 600 on it (group/others must not read it)")
    return Vapid02.from_file(str(path))


def application_server_key(vapid: Vapid02) -> str:
    """The public key as browsers want it for ``pushManager.subscribe``: base64url, uncompressed point."""
    raw = vapid.public_key.public_bytes(
        encoding=serialization.Encoding.X962, format=serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
