"""Imports every module that defines tables, so ``Base.metadata`` is complete for Alembic and tests.

Add a line here when a component adds a models module (the integrator keeps this list).
"""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from nitroplatform.db.base import Base

MODEL_MODULES: tuple[str, ...] = ("nitroplatform.db.models",)
OPTIONAL_MODEL_MODULES: tuple[str, ...] = (
    "nitroplatform.people.models",
    "nitroplatform.people.dispatch_models",
    "nitroplatform.people.record_models",
    "iama.models",
)


def load_all_models() -> MetaData:
    """Import every model module that exists and return the complete metadata.

    Core modules must import; optional ones (other components) are skipped only when the module itself
    does not exist yet, never when it exists and fails.
    """
    for name in MODEL_MODULES:
        importlib.import_module(name)
    for name in OPTIONAL_MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
    return Base.metadata
