"""One error style for the whole API: domain exceptions and HTTP errors become ``ErrorOut`` bodies."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from nitroplatform.api.schemas import ErrorBody, ErrorOut

logger = logging.getLogger(__name__)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
    429: "too_many_requests",
    503: "unavailable",
}


class DomainError(Exception):
    """A service-layer error with an HTTP status and a machine-readable code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    """The thing asked for does not exist (or the caller may not know it exists)."""

    status_code = 404
    code = "not_found"


class ConflictError(DomainError):
    """The request clashes with existing state, e.g. a duplicate camera id or key."""

    status_code = 409
    code = "conflict"


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Build a response with the one error schema."""
    body = ErrorOut(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(status_code=status_code, content=body.model_dump(mode="json"), headers=headers)


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc.status_code, exc.code, exc.message)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg", ""))}
        for error in exc.errors()
    ]
    return error_response(422, "validation_error", "request does not match the schema", details)


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    # A value the database cannot take (a NUL byte in PostgreSQL text, a number out of range) came from the
    # request: the caller's mistake, not a server fault, and the driver's message is not shown to them.
    logger.warning("refused a request value the database cannot store: %s", str(exc).splitlines()[0][:200])
    return error_response(422, "validation_error", "a request value cannot be stored or compared by the database")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to ``ErrorOut``."""
    app.add_exception_handler(DataError, _data_error)
    # SQLite's driver raises a bare OverflowError for an integer beyond 64 bits (PostgreSQL: a DataError).
    app.add_exception_handler(OverflowError, _data_error)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
