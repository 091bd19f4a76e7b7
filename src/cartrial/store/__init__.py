"""The study database: an audited, role-checked store on SQLite (default) or PostgreSQL.

Public API (see `docs/store.md`):

- `connect(url)`, `upgrade(url)`, `init_study(url, protocol_path, admin_username)`;
- `StudyService(engine)` and `StudyService.as_user(name)` -> `StudyUser` (the acting user bound once):
  `transaction` (a `Transaction`, the write handle: `upsert_rows`, `insert_record`, `update_record`,
  `delete_record`, `record_import`), `insert_record`, `update_record`, `delete_record`, `lock`, `unlock`,
  `add_user`, `set_role`, `set_password`, `add_site`, `raise_query`, `answer_query`, `close_query`,
  `store_derived`, `get_record`, `find_records`, `audit_history`, `audit_rows`, `table_counts`,
  `verify_audit` (the `StudyService` methods taking the user as first argument remain);
- `DatabaseError`: a failure of the database itself, one line without record values;
- `derive_crs_grades`, `derive_icans_grades` (engine results stored with provenance);
- results `UpsertResult`, `AuditVerification`, `LockInfo`, `InitResult`; the permission matrix
  `PERMISSIONS` / `Action`; the models in `cartrial.store.models`.
"""

from cartrial.store.audit import AuditVerification
from cartrial.store.database import DEFAULT_URL, DatabaseError, connect, resolve_url, upgrade
from cartrial.store.derive import derive_crs_grades, derive_icans_grades
from cartrial.store.permissions import PERMISSIONS, Action
from cartrial.store.service import (
    Actor,
    InitResult,
    LockInfo,
    StudyService,
    StudyUser,
    Transaction,
    UpsertResult,
    hash_password,
)
from cartrial.store.snapshot import StudySnapshot, read_snapshot
from cartrial.store.study_setup import init_study

__all__ = [
    "DEFAULT_URL",
    "PERMISSIONS",
    "Action",
    "Actor",
    "AuditVerification",
    "DatabaseError",
    "InitResult",
    "LockInfo",
    "StudyService",
    "StudySnapshot",
    "StudyUser",
    "Transaction",
    "UpsertResult",
    "connect",
    "derive_crs_grades",
    "derive_icans_grades",
    "hash_password",
    "init_study",
    "read_snapshot",
    "resolve_url",
    "upgrade",
]
