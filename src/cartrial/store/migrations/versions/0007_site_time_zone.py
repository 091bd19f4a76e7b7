"""Sites keep their IANA time zone (`time_zone`, docs/science/decisions.md D-19.285): the web form reads a
clinic time typed without an offset in the site's zone and shows the UTC value; empty for a site without one
(such a time is then refused, as before).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("site", sa.Column("time_zone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site") as batch:
        batch.drop_column("time_zone")
