"""Audit records say how their actor was known: a web login, or the CLI's unverified --as.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """A nullable column: records written before it was kept say nothing of how."""
    op.add_column("audit", sa.Column("via", sa.String(200), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE audit DROP COLUMN via")  # SQLite 3.35+ and PostgreSQL alike
