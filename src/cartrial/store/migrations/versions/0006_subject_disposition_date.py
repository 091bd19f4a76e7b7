"""Subjects keep the date their study ended (`disposition_date`, docs/science/decisions.md D-19.92): the
disposition (completed, withdrawn, lost, death) is dated, so that a data cut before that date reads the
subject as still on study and the follow-up ends on that date.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("subject", sa.Column("disposition_date", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subject") as batch:
        batch.drop_column("disposition_date")
