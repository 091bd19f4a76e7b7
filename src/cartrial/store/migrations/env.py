"""Alembic environment of the cartrial study database (run programmatically by `cartrial.store.upgrade`)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from cartrial.store.models import Base

target_metadata = Base.metadata
config = context.config


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.begin() as fresh:
        _run(fresh)
