"""Alembic migrations of the platform database; ``alembic.ini`` ships inside this package."""
