"""User names are unique whatever their case: a unique index on ``lower(username)`` (docs/science/decisions.md
D-19.3: ``Admin``
was accepted beside ``admin``, two accounts a reader of the audit trail cannot tell apart).

An expression index (SQLite ≥ 3.9 and PostgreSQL both support it); it is declared here only, not on the
model, because SQLAlchemy does not reflect expression indexes on SQLite. A database already holding names that
differ only in case is refused with the names, to be renamed first (`cartrial db edit app_user …`).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cartrial.errors import ConfigurationError

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_app_user_username_lower"


def upgrade() -> None:
    duplicates = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT lower(username) FROM app_user GROUP BY lower(username) HAVING count(*) > 1 "
                "ORDER BY lower(username)"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        raise ConfigurationError(
            "user names that differ only in case must be renamed before this upgrade: "
            + ", ".join(duplicates)
        )
    op.create_index(INDEX, "app_user", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="app_user")
