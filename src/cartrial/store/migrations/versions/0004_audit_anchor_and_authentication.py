"""Tamper evidence and authentication (docs/science/decisions.md D-19.4):

- `audit_log.row_mac`: the optional keyed seal of each audit row (HMAC-SHA256 of its `row_hash` with a key
  kept outside the database, `cartrial.store.audit`); NULL when the study is not keyed;
- `data_lock.audit_head_id` / `audit_head_hash`: the audit-chain head when the lock was taken, filled by a
  database trigger so that every lock, whatever wrote it, anchors the trail as it was;
- `auth_session`: login sessions (only the SHA-256 of each token is stored) and `auth_throttle`: failed
  password attempts per user, so that throttling holds across processes (`cartrial.store.auth`).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_LOCK_HEAD_TRIGGER = """CREATE TRIGGER data_lock_audit_head AFTER INSERT ON data_lock
    WHEN NEW.audit_head_id IS NULL
    BEGIN
        UPDATE data_lock SET
            audit_head_id = (SELECT max(id) FROM audit_log),
            audit_head_hash = (SELECT row_hash FROM audit_log WHERE id = (SELECT max(id) FROM audit_log))
        WHERE id = NEW.id;
    END"""

POSTGRESQL_LOCK_HEAD_TRIGGER = (
    """CREATE OR REPLACE FUNCTION cartrial_data_lock_audit_head() RETURNS trigger AS $$
    BEGIN
        IF NEW.audit_head_id IS NULL THEN
            SELECT id, row_hash INTO NEW.audit_head_id, NEW.audit_head_hash
            FROM audit_log ORDER BY id DESC LIMIT 1;
        END IF;
        RETURN NEW;
    END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER data_lock_audit_head BEFORE INSERT ON data_lock
    FOR EACH ROW EXECUTE FUNCTION cartrial_data_lock_audit_head()""",
)


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("row_mac", sa.String(length=64), nullable=True))
    op.add_column("data_lock", sa.Column("audit_head_id", sa.Integer(), nullable=True))
    op.add_column("data_lock", sa.Column("audit_head_hash", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRESQL_LOCK_HEAD_TRIGGER:
            op.execute(statement)
    else:
        op.execute(SQLITE_LOCK_HEAD_TRIGGER)
    op.create_table(
        "auth_session",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256", name="uq_auth_session_token"),
    )
    op.create_table(
        "auth_throttle",
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("auth_throttle")
    op.drop_table("auth_session")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS data_lock_audit_head ON data_lock")
        op.execute("DROP FUNCTION IF EXISTS cartrial_data_lock_audit_head()")
    else:
        op.execute("DROP TRIGGER IF EXISTS data_lock_audit_head")
    with op.batch_alter_table("data_lock") as batch:
        batch.drop_column("audit_head_hash")
        batch.drop_column("audit_head_id")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("audit_log", "row_mac")
    else:
        # SQLite: batch mode would copy the table and drop its append-only triggers; DROP COLUMN keeps them
        op.execute("ALTER TABLE audit_log DROP COLUMN row_mac")
