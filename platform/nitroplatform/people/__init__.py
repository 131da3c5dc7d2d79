"""The people side of the platform: users, roles, teams, areas, shifts and the records they leave.

The ORM tables live in ``people.models`` (identity), ``people.dispatch_models`` (routing, silences,
claims, outcomes, push) and ``people.record_models`` (audit, retention, aggregates, model registry).
"""
