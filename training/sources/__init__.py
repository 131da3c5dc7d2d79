"""Shipped provenance manifests for known data collections."""
