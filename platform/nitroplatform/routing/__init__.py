"""Routing of incidents to officers: routes, shifts, silences, dispatch inhibition, cooldowns, escalation."""
