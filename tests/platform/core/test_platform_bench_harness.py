"""The benchmark harness itself: a short run must account for every alert, with or without a mid-run kill.

Figures are not asserted (the benchmark is a command, not a timed test); only that the harness measures.
"""

from __future__ import annotations

import pytest

from nitroplatform.bench.ingest import BenchConfig, run_bench


@pytest.mark.slow
@pytest.mark.parametrize("restart_at_s", [None, 1.0], ids=["steady", "sigkill-and-restart"])
def test_bench_accounts_for_every_alert(restart_at_s: float | None) -> None:
    report = run_bench(["sqlite"], BenchConfig(seconds=2.5, cameras=20, restart_at_s=restart_at_s))
    (result,) = report["results"]
    assert result["sent"] > 0
    assert result["stored_rows"] == result["sent"]
    assert (result["lost"], result["duplicated"]) == (0, 0)
    if restart_at_s is None:
        assert result["sse_events"] > 0
        assert result["alerts_per_s_acked"] > 0
    else:
        assert result["resent"] > 0
