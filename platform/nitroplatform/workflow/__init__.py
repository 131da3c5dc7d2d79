"""The officer's workflow on an incident: claim ("on my way"), arrive, record an outcome."""
