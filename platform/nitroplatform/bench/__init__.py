"""Benchmarks of the platform, run as commands: ``nitrosignal platform bench`` and ``nitrosignal platform soak``.

``camera`` is the one simulated camera both drive (CURVE keys, an outbox-like queue, stop-and-wait with
resends, heartbeats on the same counter); ``harness`` prepares and measures the platform; ``ingest`` is
the full-rate bench and ``soak`` the long run at a realistic mix. Nothing here runs inside the service.
"""
