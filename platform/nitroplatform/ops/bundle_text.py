"""Text files of a device bundle: the platform's public certificate, the systemd drop-in and the README."""

from __future__ import annotations

import ipaddress


def public_certificate(public_key: str) -> str:
    """A public-only ZeroMQ CURVE certificate, the format ``nitrosignal.keys.load_public`` reads."""
    return (
        "#   ZeroMQ CURVE Public Certificate: the nitrosignal platform's public key.\n"
        "#   The camera uses it to authenticate the platform; it is not secret.\n"
        "\n"
        "metadata\n"
        "curve\n"
        f'    public-key = "{public_key}"\n'
    )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def dropin_text(addresses: tuple[str, ...], *, host: str, device_index: int) -> str:
    """The unit drop-in with this camera's platform address (and camera node, when not /dev/video0)."""
    lines = [
        "# Written by nitrosignal platform camera provision: the platform's address for the hardened unit.",
        "# Install: /etc/systemd/system/nitrosignal-detector.service.d/10-platform.conf",
        "[Service]",
    ]
    lines += [f"IPAddressAllow={address}" for address in addresses]
    if not _is_ip(host):
        lines += [
            f"# The endpoint names a host ({host}); these addresses are what it resolved to when provisioned.",
            "# Name lookups go to the local stub resolver, so loopback is allowed too. If the platform's",
            "# address changes, provision again or edit the line above.",
            "IPAddressAllow=localhost",
        ]
    if device_index != 0:
        node = f"/dev/video{device_index}"
        lines += [
            "# This camera is not /dev/video0: reset the unit's device lists and allow this node only.",
            "BindPaths=",
            f"BindPaths=-{node}",
            "DeviceAllow=",
            f"DeviceAllow={node} rw",
        ]
    return "\n".join(lines) + "\n"


def bundle_readme(camera_id: str, endpoint: str, camera_public_key: str) -> str:
    """Copy and check commands for this bundle (the full guide is docs/DEVICE_INSTALL.md)."""
    return f"""# Device bundle for camera `{camera_id}`

Platform ingest: `{endpoint}`
Camera public key: `{camera_public_key}` (registered on the platform)

This folder holds the camera's **secret key** (`keys/{camera_id}.key_secret`, mode 0600). Copy it to the
device over SSH or on a stick that you wipe afterwards, and delete this folder once the device checks OK.

On the device, as root, from inside this folder (the full guide is docs/DEVICE_INSTALL.md):

```sh
install -d -m 0755 /etc/nitrosignal
install -d -m 0700 -o nitrosignal -g nitrosignal /etc/nitrosignal/keys
install -m 0640 -o root -g nitrosignal camera.yaml /etc/nitrosignal/camera.yaml
install -m 0600 -o nitrosignal -g nitrosignal keys/{camera_id}.key_secret /etc/nitrosignal/keys/
install -m 0644 -o nitrosignal -g nitrosignal keys/{camera_id}.key keys/platform.key /etc/nitrosignal/keys/
install -d -m 0755 /etc/systemd/system/nitrosignal-detector.service.d
install -m 0644 systemd/nitrosignal-detector.service.d/10-platform.conf \\
    /etc/systemd/system/nitrosignal-detector.service.d/10-platform.conf
systemctl daemon-reload

sudo -u nitrosignal /opt/nitrosignal/venv/bin/nitrosignal detector validate /etc/nitrosignal/camera.yaml
sudo -u nitrosignal /opt/nitrosignal/venv/bin/nitrosignal detector check /etc/nitrosignal/camera.yaml
systemctl enable --now nitrosignal-detector.service
```

`detector check` must end with "OK: reached ..., CURVE authentication accepted, heartbeat acked". If it
says the camera is GATED, the detector will run but stay inactive until the deployment's IAMA is approved.
"""
