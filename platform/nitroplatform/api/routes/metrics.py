"""Prometheus metrics of this process."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics (ingest, refusals, incidents, live stream)")
def metrics(request: Request) -> Response:
    """Text exposition format of this app's registry."""
    live_bus = request.app.state.live_bus
    request.app.state.metrics.live_subscribers.set(live_bus.subscriber_count)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
