"""CURVE keypairs on disk, in the ZeroMQ certificate format (as written by czmq's zcert and pyzmq).

Secret files are created with mode 0600 from the first byte, and :func:`load_secret` refuses to use a
secret that the group or others can read: a leaked device key lets anyone speak as that camera.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import zmq
import zmq.auth

PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"


class KeyFileError(RuntimeError):
    """A key file is missing, malformed or unsafely readable."""


@dataclass(frozen=True)
class KeyPair:
    """A CURVE keypair, both halves Z85-encoded (40 ASCII bytes)."""

    public: bytes
    secret: bytes


@dataclass(frozen=True)
class KeyFiles:
    """Paths of a keypair written by :func:`generate_keypair`."""

    public_path: Path
    secret_path: Path


def _certificate_text(public: bytes, secret: bytes | None) -> str:
    kind = "Secret" if secret is not None else "Public"
    lines = [
        f"#   ****  Generated on {datetime.now(UTC):%Y-%m-%d %H:%M:%S} by nitrosignal  ****",
        f"#   ZeroMQ CURVE {kind} Certificate",
        "#   Exchange securely, or use a secure mechanism to verify the contents",
        "#   of this file after exchange. Store public certificates in your home",
        "#   directory, in the .curve subdirectory.",
        "",
        "metadata",
        "curve",
        f'    public-key = "{public.decode("ascii")}"',
    ]
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"')
    return "\n".join(lines) + "\n"


def generate_keypair(directory: Path, name: str, *, overwrite: bool = False) -> KeyFiles:
    """Create ``NAME.key`` (public) and ``NAME.key_secret`` (mode 0600) in ``directory``.

    Raises:
        FileExistsError: if either file exists and ``overwrite`` is false.
    """
    directory.mkdir(parents=True, exist_ok=True)
    public_path = directory / f"{name}{PUBLIC_SUFFIX}"
    secret_path = directory / f"{name}{SECRET_SUFFIX}"
    if not overwrite:
        for path in (public_path, secret_path):
            if path.exists():
                raise FileExistsError(f"{path} exists; pass overwrite to replace it")
    public, secret = zmq.curve_keypair()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    # Open with 0600 so the secret is never readable by others, not even for a moment.
    fd = os.open(secret_path, flags, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(_certificate_text(public, secret))
    public_path.write_text(_certificate_text(public, None))
    return KeyFiles(public_path=public_path, secret_path=secret_path)


def check_secret_permissions(path: Path) -> None:
    """Refuse a secret key file that the group or others may read or write.

    Raises:
        KeyFileError: if the file is missing or its mode allows group or world access.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise KeyFileError(f"secret key file {path} does not exist") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"secret key file {path} has mode {stat.S_IMODE(mode):04o}; it must be 0600 or stricter "
            f"(run: chmod 600 {path})"
        )


def load_public(path: Path) -> bytes:
    """Read the public key from a certificate file, public or secret."""
    try:
        public, _ = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read a CURVE certificate from {path}: {exc}") from exc
    return _check_z85(public, path)


def load_secret(path: Path) -> KeyPair:
    """Read a keypair from a secret certificate after checking its permissions."""
    check_secret_permissions(path)
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"cannot read a CURVE certificate from {path}: {exc}") from exc
    if secret is None:
        raise KeyFileError(f"{path} holds no secret-key; pass the .key_secret file")
    return KeyPair(public=_check_z85(public, path), secret=_check_z85(secret, path))


def parse_public_key(text: str) -> bytes:
    """Validate a Z85 public key given as text (for example on the command line)."""
    return _check_z85(text.strip().encode("ascii", errors="replace"), Path("<argument>"))


def _check_z85(key: bytes, source: Path) -> bytes:
    if len(key) != 40:
        raise KeyFileError(f"{source}: a Z85 CURVE key is 40 characters, got {len(key)}")
    try:
        zmq.utils.z85.decode(key)
    except (ValueError, KeyError) as exc:
        raise KeyFileError(f"{source}: not a valid Z85 key") from exc
    return key
