"""Lab results keep the grading template's `life_threatening_anemia` flag (CTCAE anaemia grade 4 is clinical:
the laboratory value alone grades at most 3; `cartrial.grading.ctcae.grade_lab`). Before this revision the
column of `docs/templates/labs.csv` had nowhere to go and a filled cell refused the import.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("lab_result", sa.Column("life_threatening_anemia", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("lab_result") as batch:
        batch.drop_column("life_threatening_anemia")
