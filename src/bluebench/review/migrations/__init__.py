"""Alembic migrations of the review store, shipped in the package and run on open."""
