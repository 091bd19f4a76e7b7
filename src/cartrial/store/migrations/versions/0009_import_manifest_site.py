"""Import manifests keep the site they were made at (`site_id`, docs/science/decisions.md D-19.483): the
importer's site when a site-restricted user (an investigator) imported, empty for a study-wide role's
import. A manifest written before has no site recorded (NULL): it is read as study-wide, which a
site-restricted user does not read (the importer's site at that time is not known; their current site may
not be it).

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("import_manifest", sa.Column("site_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_manifest") as batch:
        batch.drop_column("site_id")
