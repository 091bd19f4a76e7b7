"""Adverse events keep their seriousness criteria (docs/science/decisions.md D-19.328): one yes/no column per
criterion of ICH E2A §II.B (death, life-threatening, hospitalisation, disability, congenital anomaly, other
medically important), blank for the rows stored before (not known), exported as SDTM AE AESDTH … AESMIE.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CRITERIA = (
    "serious_death",
    "serious_life_threatening",
    "serious_hospitalisation",
    "serious_disability",
    "serious_congenital_anomaly",
    "serious_medically_important",
)
"""Spelled out here (a migration does not change with the code: cartrial.protocol.seriousness today)."""


def upgrade() -> None:
    for name in CRITERIA:
        op.add_column("adverse_event", sa.Column(name, sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("adverse_event") as batch:
        for name in reversed(CRITERIA):
            batch.drop_column(name)
