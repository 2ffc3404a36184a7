"""Alembic migrations of the store: every schema change from the first release on."""
