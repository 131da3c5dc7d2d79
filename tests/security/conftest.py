"""Fixtures for the security tests: the platform fixtures of ``tests/platform/conftest.py``, reused, not copied.

They are loaded under a unique module name so that their database cleanup (fresh SQLite file, or a
throw-away PostgreSQL schema dropped after the test) applies to these tests too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def _load_platform_fixtures() -> ModuleType:
    name = "nitrosignal_platform_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "platform" / "conftest.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look the module up while it executes
    spec.loader.exec_module(module)
    return module


_platform = _load_platform_fixtures()
# Re-exported under their own names so pytest registers them for this directory.
database_url = _platform.database_url
migrated_database_url = _platform.migrated_database_url
session_factory = _platform.session_factory
server_keys = _platform.server_keys
settings_factory = _platform.settings_factory
app_factory = _platform.app_factory
client_factory = _platform.client_factory
camera_factory = _platform.camera_factory
wire = _platform.wire
