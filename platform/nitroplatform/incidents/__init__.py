"""Incidents: grouping alerts by the device's incident id, lifecycle, auto-close and change publishing."""
