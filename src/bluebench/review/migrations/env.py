"""Alembic environment: migrates the connection the store hands in (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

from bluebench.review.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
