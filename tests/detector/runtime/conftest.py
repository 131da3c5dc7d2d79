"""Fixtures for the device-runtime tests; the helpers themselves live in ``device_harness``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from device_harness import Keys, TestPlatform, make_keys  # type: ignore[import-not-found]


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
