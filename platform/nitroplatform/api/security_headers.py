"""Security headers on every HTTP response: CSP with ``frame-ancestors 'none'``, nosniff, referrer and
permissions policies, and HSTS only where the request really came over TLS.

A pure ASGI middleware (not ``BaseHTTPMiddleware``), so the Server-Sent Events stream is not buffered.
Routes that set their own Content-Security-Policy (the officer app with its optional tile server, the live
page, the transparency page) keep it; the middleware only makes sure it forbids framing. Wire it with::

    app.add_middleware(SecurityHeadersMiddleware)

HSTS: a browser that once saw HSTS refuses plain HTTP to the host for ``max-age``, so it is sent only on a
request whose ASGI scheme is ``https``. Behind a TLS-terminating proxy uvicorn rewrites the scheme from
``X-Forwarded-Proto`` for proxies in ``--forwarded-allow-ips`` (127.0.0.1 by default), so the scheme is
already trustworthy; ``trust_forwarded_proto=True`` reads the header directly, for servers that do not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), browsing-topics=()"
)


@dataclass(frozen=True)
class SecurityHeaderPolicy:
    """What the middleware sends; the defaults are the platform's policy."""

    content_security_policy: str = DEFAULT_CSP
    referrer_policy: str = "no-referrer"
    permissions_policy: str = PERMISSIONS_POLICY
    hsts: str = HSTS
    trust_forwarded_proto: bool = False


class SecurityHeadersMiddleware:
    """Adds the security headers of ``policy`` to every HTTP response."""

    def __init__(self, app: ASGIApp, policy: SecurityHeaderPolicy | None = None) -> None:
        """Args: app: the wrapped ASGI app; policy: the headers to send (the platform's defaults if None)."""
        self.app = app
        self.policy = policy or SecurityHeaderPolicy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point: decorate ``http.response.start`` of HTTP requests, pass everything else."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_tls = self._over_tls(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._decorate(list(message.get("headers", [])), over_tls)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _over_tls(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        if not self.policy.trust_forwarded_proto:
            return False
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-proto":
                # The first hop is the client-facing one when several proxies appended to the header.
                return bool(value.decode("latin-1").split(",")[0].strip().lower() == "https")
        return False

    def _decorate(self, headers: list[tuple[bytes, bytes]], over_tls: bool) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        csp_index = next((i for i, (name, _) in enumerate(headers) if name.lower() == b"content-security-policy"), None)
        if csp_index is None:
            headers.append((b"content-security-policy", self.policy.content_security_policy.encode()))
        else:
            name, value = headers[csp_index]
            headers[csp_index] = (name, with_frame_ancestors_none(value.decode("latin-1")).encode("latin-1"))
        additions: Iterable[tuple[bytes, str]] = (
            (b"x-content-type-options", "nosniff"),
            (b"x-frame-options", "DENY"),
            (b"referrer-policy", self.policy.referrer_policy),
            (b"permissions-policy", self.policy.permissions_policy),
            (b"cross-origin-opener-policy", "same-origin"),
        )
        for header, text in additions:
            if header not in present:
                headers.append((header, text.encode()))
        if over_tls and b"strict-transport-security" not in present:
            headers.append((b"strict-transport-security", self.policy.hsts.encode()))
        return headers


def with_frame_ancestors_none(csp: str) -> str:
    """``csp`` with its ``frame-ancestors`` directive forced to ``'none'`` (added when missing)."""
    directives = [part.strip() for part in csp.split(";") if part.strip()]
    kept = [part for part in directives if part.split()[0].lower() != "frame-ancestors"]
    return "; ".join([*kept, "frame-ancestors 'none'"])
