"""Alembic revisions of the Nightwatch store, oldest first (one file per revision)."""
