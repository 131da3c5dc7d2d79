"""Which push endpoints the platform will ever POST to: the configured push services, on public addresses only.

A push subscription names a URL that the platform later calls, with the officer's encrypted page. Left open, that
lets any signed-in user make the platform connect to any host, inside the municipality's network included (an
officer registered ``https://127.0.0.1:19999/…`` and the platform connected to it). So an endpoint must be https
(http only for local test receivers), on a host of a configured push service (the browsers' own services by
default), carry no user name or password, and resolve to public addresses only: no loopback, private, link-local,
shared, reserved or multicast address. The check runs when the subscription is stored and again before every
send (the name may resolve elsewhere by then), and the sender follows no redirects.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

DEFAULT_PUSH_HOSTS: tuple[str, ...] = (
    "fcm.googleapis.com",  # Chrome, Edge on Android, Opera, Samsung Internet, Brave (Firebase Cloud Messaging)
    "*.push.services.mozilla.com",  # Firefox (Mozilla autopush: updates.push.services.mozilla.com)
    "*.push.apple.com",  # Safari on macOS and iOS (web.push.apple.com)
    "*.notify.windows.com",  # Edge on Windows (Windows Push Notification Services)
)
"""The push services of the major browsers; ``*.`` matches any subdomain (not the bare domain)."""

Resolver = Callable[[str, int], Sequence[str]]


class PushEndpointError(ValueError):
    """A push endpoint the platform refuses to call, with the reason."""


def resolve_addresses(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6)."""
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)})


def host_is_allowed(host: str, allowed: Sequence[str]) -> bool:
    """True when ``host`` is one of ``allowed``, or a subdomain of an entry written ``*.domain``."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        entry = entry.lower().rstrip(".")
        if entry.startswith("*.") and host.endswith(entry[1:]) and len(host) > len(entry) - 1:
            return True
        if host == entry:
            return True
    return False


def is_public_address(text: str) -> bool:
    """True for a globally routable unicast address; an IPv4 address inside IPv6 is judged as IPv4."""
    address: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_endpoint(
    endpoint: str,
    *,
    allowed_hosts: Sequence[str],
    allow_insecure: bool = False,
    allow_private: bool = False,
    resolve: Resolver = resolve_addresses,
) -> None:
    """Refuse an endpoint the platform must not call.

    Args:
        endpoint: the subscription's URL.
        allowed_hosts: the push services' host names (``*.domain`` for subdomains).
        allow_insecure: accept ``http://`` (local test receivers only).
        allow_private: skip the address check (local test receivers on loopback only).
        resolve: host and port to addresses; the system resolver by default.

    Raises:
        PushEndpointError: naming what is wrong with the endpoint.
    """
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError as error:
        raise PushEndpointError(f"endpoint is not a URL: {error}") from error
    schemes = ("https", "http") if allow_insecure else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        raise PushEndpointError("endpoint must be an https URL of a push service")
    if parts.username is not None or parts.password is not None:
        raise PushEndpointError("endpoint must not carry a user name or password")
    host = parts.hostname
    if not host_is_allowed(host, allowed_hosts):
        raise PushEndpointError(f"{host} is not a configured push service (NITROSIGNAL_PEOPLE_PUSH_ALLOWED_HOSTS)")
    if allow_private:
        return
    try:
        addresses = resolve(host, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as error:
        raise PushEndpointError(f"{host} cannot be resolved: {error}") from error
    if not addresses:
        raise PushEndpointError(f"{host} resolves to no address")
    private = [address for address in addresses if not is_public_address(address)]
    if private:
        raise PushEndpointError(f"{host} resolves to an address that is not public ({private[0]})")


class NoRedirectSession(requests.Session):
    """A requests session that never follows a redirect: a push service answers 201, it does not send us on."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Send the request with ``allow_redirects`` forced off (a 3xx is returned as it is, and fails the send)."""
        kwargs["allow_redirects"] = False
        return super().request(method.decode() if isinstance(method, bytes) else method, url, *args, **kwargs)
