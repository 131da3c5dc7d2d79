"""HTTP API: the ``create_app`` factory, shared dependencies, error schema and auto-included routes."""
