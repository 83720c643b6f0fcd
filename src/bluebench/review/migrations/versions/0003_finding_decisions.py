"""People's decisions on vulnerability findings (fix now, scheduled, accepted risk until a day, false finding).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """An append-only table, guarded like the verdicts: a decision is superseded, never edited."""
    op.create_table(
        "finding_decisions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("finding_id", sa.String(200), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_finding_decisions_finding", "finding_decisions", ["finding_id"])
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":  # the function comes with revision 0001
        op.execute(
            "CREATE TRIGGER finding_decisions_append_only BEFORE UPDATE OR DELETE ON finding_decisions "
            "FOR EACH ROW EXECUTE FUNCTION bluebench_append_only()"
        )
        op.execute(
            "CREATE TRIGGER finding_decisions_no_truncate BEFORE TRUNCATE ON finding_decisions "
            "FOR EACH STATEMENT EXECUTE FUNCTION bluebench_append_only()"
        )
    elif dialect == "sqlite":
        for what in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER finding_decisions_no_{what.lower()} BEFORE {what} ON finding_decisions "
                "BEGIN SELECT RAISE(ABORT, 'bluebench: finding_decisions is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS finding_decisions_append_only ON finding_decisions")
        op.execute("DROP TRIGGER IF EXISTS finding_decisions_no_truncate ON finding_decisions")
    op.drop_table("finding_decisions")
