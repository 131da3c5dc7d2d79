"""Live updates: an in-process event bus, PostgreSQL LISTEN/NOTIFY fan-out, and Server-Sent Events."""
