"""The study database: an audited, role-checked store on SQLite (default) or PostgreSQL.

Public API (see `docs/store.md`):

- `connect(url)`, `upgrade(url)`, `init_study(url, protocol_path, admin_username)`;
- `StudyService(engine)`: `transaction`, `upsert_rows`, `insert_record`, `update_record`, `delete_record`,
  `lock`, `unlock`, `add_user`, `set_role`, `add_site`, `raise_query`, `answer_query`, `store_derived`,
  `record_import`, `verify_audit`, `audit_history`, `table_counts`;
- `derive_crs_grades`, `derive_icans_grades` (engine results stored with provenance);
- results `UpsertResult`, `AuditVerification`, `LockInfo`, `InitResult`; the permission matrix
  `PERMISSIONS` / `Action`; the models in `cartrial.store.models`.
"""

from cartrial.store.audit import AuditVerification
from cartrial.store.database import DEFAULT_URL, connect, resolve_url, upgrade
from cartrial.store.derive import derive_crs_grades, derive_icans_grades
from cartrial.store.permissions import PERMISSIONS, Action
from cartrial.store.service import (
    Actor,
    InitResult,
    LockInfo,
    StudyService,
    Transaction,
    UpsertResult,
    hash_password,
)
from cartrial.store.study_setup import init_study

__all__ = [
    "DEFAULT_URL",
    "PERMISSIONS",
    "Action",
    "Actor",
    "AuditVerification",
    "InitResult",
    "LockInfo",
    "StudyService",
    "Transaction",
    "UpsertResult",
    "connect",
    "derive_crs_grades",
    "derive_icans_grades",
    "hash_password",
    "init_study",
    "resolve_url",
    "upgrade",
]
