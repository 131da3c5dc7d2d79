"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from nitroplatform.api.deps import SessionDep
from nitroplatform.api.errors import error_response

router = APIRouter(tags=["operations"])


# HEAD as well as GET: load balancers and uptime monitors probe with HEAD, and a 405 reads as "down".
@router.get("/healthz", summary="Liveness: the process answers")
@router.head("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    """Always ok while the process serves HTTP (GET and HEAD alike)."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and ingest running (where enabled)")
@router.head("/readyz", include_in_schema=False)
def readyz(request: Request, session: SessionDep) -> JSONResponse:
    """200 when this worker can do its job, 503 with the reason otherwise."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        return error_response(503, "unavailable", f"database unreachable: {type(exc).__name__}")
    runtime = request.app.state.runtime
    ingest = runtime.ingest
    body: dict[str, object] = {"status": "ready", "database": "ok", "ingest": None}
    if ingest is not None:
        if not ingest.running:
            return error_response(503, "unavailable", f"ingest is not running: {ingest.error}")
        body["ingest"] = ingest.endpoint
    return JSONResponse(body)
