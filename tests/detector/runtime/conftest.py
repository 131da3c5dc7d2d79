"""Fixtures for the device-runtime tests; the helpers themselves live in ``device_harness``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from device_harness import Keys, TestPlatform, make_keys  # type: ignore[import-not-found]
from privacy_harness import PrivacyRun, run_probed_detector  # type: ignore[import-not-found]


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """A fresh platform keypair and camera keypair in tmp_path/keys."""
    return make_keys(tmp_path)


@pytest.fixture
def platform_server(keys: Keys) -> Iterator[TestPlatform]:
    """A running, ungated test platform on an ephemeral loopback port."""
    server = TestPlatform(server=keys.platform).start()
    yield server
    server.stop()
    # Every device test checks the framing too: one body frame per message, nothing beside the payload.
    assert server.multipart == [], f"the device sent multipart messages: {[len(m) for m in server.multipart]}"


@pytest.fixture(scope="session")
def privacy_run(tmp_path_factory: pytest.TempPathFactory) -> PrivacyRun:
    """One observed ``detector run`` without masks on the balloon clip: the privacy tests' subject, and the
    control of the mask tests (the same setup with masks must not see the person this run sees)."""
    return run_probed_detector(tmp_path_factory.mktemp("privacy"))
