"""The people side of the platform: users, roles, teams, areas, shifts and the records they leave.

The ORM tables live in ``people.models`` (identity), ``people.dispatch_models`` (routing, silences,
pages, claims, outcomes, push) and ``people.record_models`` (audit, retention, aggregates, model
registry, transparency). Importing this package registers all of them on ``Base.metadata``, which is
what ``nitroplatform.db.models_registry`` relies on when it imports ``nitroplatform.people.models``.
"""

from nitroplatform.people import dispatch_models, models, record_models

__all__ = ["dispatch_models", "models", "record_models"]
