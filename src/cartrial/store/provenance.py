"""Where data came from: import manifests (one per imported file) and derived values (engine results with
the engine, version and options that produced them).

Both write through an open `Transaction`; the permission (import / derive) is checked by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import insert

from cartrial.store import audit as audit_chain
from cartrial.store.bulk import UpsertResult, upsert_rows
from cartrial.store.models import STUDY_TABLES, utc_now
from cartrial.store.tables import RowLike, record_json, table_of

if TYPE_CHECKING:
    from cartrial.store.transaction import Transaction


def record_import(tx: Transaction, file_name: str, sha256: str, kind: str, row_counts: RowLike) -> int:
    """Write the manifest of one imported file (inside the import's transaction; audited: ``import``, the
    audit row holding every column written, `site_id` included). Its `site_id` is the acting user's site
    when their role is site-restricted, else None (study-wide), as the user is at import time (D-19.483)."""
    from cartrial.store.permissions import readable_sites

    sites = readable_sites(tx.actor.role, tx.actor.site_id)
    now = utc_now()
    values = {
        "file_name": file_name,
        "sha256": sha256,
        "kind": kind,
        "row_counts": dict(row_counts),
        "imported_by": tx.actor.username,
        "imported_at": now,
        "reason": tx.reason,
        "site_id": None if sites is None else sites[0],
    }
    table = table_of(STUDY_TABLES["import_manifest"])
    manifest_id = tx.connection.execute(
        insert(table).returning(table.c.id),
        {**values, "created_at": now, "updated_at": now, "version": 1},
    ).scalar_one()
    tx.audit(
        "import",
        "import_manifest",
        int(manifest_id),
        None,
        audit_chain.INSERT_FIELD,
        None,
        record_json(values),
    )
    return int(manifest_id)


def store_derived(tx: Transaction, rows: Sequence[RowLike]) -> UpsertResult:
    """Upsert engine results into `derived_value` (idempotent: identical results write nothing)."""
    return upsert_rows(tx, "derived_value", rows)
