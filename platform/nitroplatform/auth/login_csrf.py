"""Login CSRF: another site must not be able to sign the victim's browser in to the attacker's account.

Before login there is no session to bind a CSRF token to, so the form login uses a signed double submit: the
platform hands out ``nonce.expiry.signature`` (HMAC-SHA256 with ``secret_key``) and sets the nonce in a
SameSite=Strict cookie; a form login must send the token as its ``csrf_token`` field, for the same nonce, unexpired
and correctly signed. A cross-site form post carries no SameSite=Strict cookie, and no other site can forge the
signature. ``check_login_origin`` refuses any login whose ``Origin`` or ``Sec-Fetch-Site`` names another site.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets as token_source
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import URL

LOGIN_CSRF_COOKIE = "nitrosignal_login_csrf"
LOGIN_CSRF_FIELD = "csrf_token"
LOGIN_CSRF_LIFETIME_S = 3600


@dataclass(frozen=True)
class LoginToken:
    """The nonce for the cookie and the signed token for the form."""

    nonce: str
    token: str


def _signature(secret: str, nonce: str, expires: int) -> str:
    message = f"nitrosignal-login-csrf|{nonce}|{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def issue_login_token(secret: str, *, now: float | None = None) -> LoginToken:
    """A fresh nonce and its token, valid for ``LOGIN_CSRF_LIFETIME_S``."""
    nonce = token_source.token_urlsafe(24)
    expires = int(now if now is not None else time.time()) + LOGIN_CSRF_LIFETIME_S
    return LoginToken(nonce=nonce, token=f"{nonce}.{expires}.{_signature(secret, nonce, expires)}")


def login_token_matches(secret: str, token: str | None, cookie_nonce: str | None, *, now: float | None = None) -> bool:
    """True when ``token`` is signed with ``secret``, unexpired, and for the nonce in the cookie."""
    if not token or not cookie_nonce or len(token) > 256:
        return False
    nonce, _, rest = token.partition(".")
    expires_text, _, signature = rest.partition(".")
    if not expires_text.isdigit() or int(expires_text) < (now if now is not None else time.time()):
        return False
    expected = _signature(secret, nonce, int(expires_text))
    # Constant-time comparisons: neither the signature nor the nonce can be found byte by byte from timing.
    return hmac.compare_digest(signature.encode(), expected.encode()) and hmac.compare_digest(
        nonce.encode(), cookie_nonce.encode()
    )


def check_login_origin(headers: Mapping[str, str], url: URL) -> str | None:
    """Why a login request comes from another site, or None when it does not (or cannot be told)."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return "login from another site refused (Sec-Fetch-Site: cross-site)"
    origin = headers.get("origin")
    if origin is None:
        return None
    parts = urlsplit(origin)
    own_host = headers.get("host", url.netloc)
    if origin == "null" or parts.netloc.lower() != own_host.lower():
        return f"login from another origin refused ({origin[:80]})"
    return None
