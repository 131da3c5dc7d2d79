"""The nitrosignal platform: ingest, storage, incidents, routing, officer app, model registry and IAMA gating.

It lives in ``platform/nitroplatform`` because ``platform`` itself belongs to the standard library;
the ``platform/`` folder is deliberately not a package (DESIGN.md §2).
"""
