"""Initial review store: users, sessions, logins, incident states, verdicts, comments, settings, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The database itself refuses to change or remove history, so a bug or a hand-written
# statement cannot rewrite who decided what.
_APPEND_ONLY = ("audit", "verdicts", "verdict_alerts")


def upgrade() -> None:
    """The first release's tables, group by group, then the triggers that guard history."""
    _create_accounts()
    _create_incident_review()
    _create_settings_and_audit()
    _protect_history(op.get_bind().dialect.name)


def _create_accounts() -> None:
    """Who may sign in: users, their sessions, and every login attempt for rate limiting."""
    op.create_table(
        "users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(64), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("client", sa.String(255), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_login_attempts_at", "login_attempts", ["at"])


def _create_incident_review() -> None:
    """What reviewers decided: incident states, verdicts with the alerts they cover, comments."""
    op.create_table(
        "incident_states",
        sa.Column("incident_id", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "verdicts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_verdicts_incident", "verdicts", ["incident_id"])
    op.create_table(
        "verdict_alerts",
        sa.Column("verdict_id", sa.Integer(), sa.ForeignKey("verdicts.id"), primary_key=True),
        sa.Column("alert_id", sa.String(200), primary_key=True),
        sa.Column("detector_id", sa.String(200), nullable=False),
    )
    op.create_index("ix_verdict_alerts_alert", "verdict_alerts", ["alert_id"])
    op.create_table(
        "comments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("incident_id", sa.String(200), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_comments_incident", "comments", ["incident_id"])


def _create_settings_and_audit() -> None:
    """Per-detector thresholds and owners, store-wide settings, and the audit trail."""
    op.create_table(
        "detector_settings",
        sa.Column("detector_id", sa.String(200), primary_key=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("owner", sa.String(200), nullable=True),
    )
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(200), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
    )
    op.create_index("ix_audit_object", "audit", ["object_id"])


def _protect_history(dialect: str) -> None:
    """Triggers that make the history tables append-only, in the dialect's own syntax."""
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION bluebench_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'bluebench: % is append-only', TG_TABLE_NAME; END $$"
        )
        for table in _APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION bluebench_append_only()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bluebench_append_only()"
            )
    elif dialect == "sqlite":
        for table in _APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'bluebench: {table} is append-only'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in _APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bluebench_append_only()")
    for table in (
        "audit",
        "settings",
        "detector_settings",
        "comments",
        "verdict_alerts",
        "verdicts",
        "incident_states",
        "login_attempts",
        "sessions",
        "users",
    ):
        op.drop_table(table)
