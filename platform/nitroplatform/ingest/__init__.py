"""ZeroMQ ingest: CURVE-authenticated ROUTER, strict validation, batched idempotent storage, acks after commit."""
