"""A cap on every request body, before any route reads it (pure ASGI, so streaming responses are untouched).

A declared ``Content-Length`` over the cap is answered 413 at once, without reading the body; a chunked body is
counted as it arrives and cut off with 413 when it passes the cap. The model upload is the one route allowed a
larger body, up to the people settings' ``model_max_bytes`` plus room for the multipart envelope. The reverse
proxy caps bodies as well (``deploy/platform/Caddyfile``); this cap holds without it.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nitroplatform.api.errors import error_response

MULTIPART_ALLOWANCE = 64 * 1024
"""Room for a multipart upload's headers and boundaries on top of the file itself."""


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than the cap for their route with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, large_body_cap: Callable[[Scope], int | None]) -> None:
        """Args: max_bytes: the cap for every route; large_body_cap: a larger cap for this request, or None."""
        self.app = app
        self.max_bytes = max_bytes
        self.large_body_cap = large_body_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.large_body_cap(scope) or self.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            response = error_response(413, "payload_too_large", f"request body of {declared} bytes is over {cap}")
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise HTTPException(413, f"request body is over {cap} bytes")
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
