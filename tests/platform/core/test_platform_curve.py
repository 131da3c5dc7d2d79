"""The CURVE failure matrix with real sockets: a good key, an unregistered key, no key (NULL mechanism), and a
valid key sending another camera's id. Each refusal is shown next to a good camera that is still served."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nitrosignal.wire import AckResult


@pytest.mark.parametrize(
    ("case", "expected", "refusal_metric"),
    [
        ("good_key", AckResult.STORED, None),
        ("unregistered_key", None, "unknown_key"),
        ("no_key", None, None),
        ("other_cameras_id", AckResult.REFUSED, "camera_mismatch"),
    ],
)
def test_curve_failure_matrix(
    case: str,
    expected: AckResult | None,
    refusal_metric: str | None,
    running_platform: TestClient,
    camera_factory: Callable[..., Any],
    wire: Any,
    server_keys: Any,
) -> None:
    ingest = running_platform.app.state.runtime.ingest  # type: ignore[attr-defined]
    server_public = server_keys[1].public
    good = camera_factory("cam-good")
    other = camera_factory("cam-other")
    stranger = camera_factory("cam-stranger", register=False)
    ingest.refresh_registry()

    keypair = {
        "good_key": other.keypair,
        "unregistered_key": stranger.keypair,
        "no_key": None,
        "other_cameras_id": other.keypair,
    }[case]
    claimed_id = {
        "good_key": "cam-other",
        "unregistered_key": "cam-stranger",
        "no_key": "cam-other",
        "other_cameras_id": "cam-good",
    }[case]
    attacker = wire.connect(ingest.endpoint, server_public, keypair)
    reply = wire.exchange(attacker, wire.alert(claimed_id, 1), timeout_ms=1500)

    if expected is None:
        assert reply is None, "an unauthenticated client must get no reply at all"
    else:
        assert reply is not None and reply.result == expected
        if expected == AckResult.REFUSED:
            assert reply.reason == refusal_metric
            assert reply.camera_id == "cam-other"  # the authenticated camera, never the claimed one

    # The good camera beside it is still served.
    honest = wire.connect(ingest.endpoint, server_public, good.keypair)
    ack = wire.exchange(honest, wire.alert("cam-good", 1))
    assert ack is not None and ack.result == AckResult.STORED and ack.camera_id == "cam-good"

    metrics = running_platform.get("/metrics").text
    if refusal_metric is not None:
        assert f'nitrosignal_ingest_refused_total{{reason="{refusal_metric}"}} 1.0' in metrics
    else:
        assert "nitrosignal_ingest_refused_total{" not in metrics
