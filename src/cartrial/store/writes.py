"""Single-record writes inside a transaction: insert, update (optimistic concurrency), delete.

Each takes the open `Transaction` (the write handle, bound to its user) and refuses: a natural key that
exists already (insert), a stale `expected_version` (update: `ConflictError`, reload and retry), a record
frozen by the data lock (`ConflictError` naming the lock), a record of another site for site-restricted
roles. Update and delete need a reason; every change is audited (update: one row per changed field; delete:
the whole record as the old value). The permission of the action is checked by the caller
(`Transaction.update_record` / `delete_record`, or the `StudyService` facade).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Connection, String, and_, delete, func, select, type_coerce
from sqlalchemy.exc import IntegrityError

from cartrial.errors import ConflictError, InputError, InternalError, Problem, StoredValueError
from cartrial.store import audit as audit_chain
from cartrial.store.bulk import (
    CheckedRows,
    UpsertResult,
    apply_update,
    check_birth_date_privacy,
    check_subjects_and_sites,
    prepare_rows,
    prepare_upsert,
    stored_by_key,
    subject_sites,
    upsert_prepared,
    upsert_rows,
)
from cartrial.store.edit_checks import check_clock, reconcile_write
from cartrial.store.fields import (
    check_record_write,
    control_character_problem,
    field_rules,
    key_text_problem,
    line_break_problem,
)
from cartrial.store.locking import is_locked, refuse_calendar_change
from cartrial.store.models import STUDY_TABLES, StudyData, Subject, User, UtcDateTime
from cartrial.store.permissions import check_sites, held_key_refusal, readable_sites
from cartrial.store.stored_dates import (
    UNREADABLE_STORED,
    LeftOut,
    bounded,
    leaving_out_unreadable,
    locating,
    partial_checks_reason,
    stored_raw,
    unread_names,
    unreadable_header,
)
from cartrial.store.tables import (
    HOUSEKEEPING_COLUMNS,
    RowLike,
    columns_of,
    model_of,
    plain_row,
    record_id_of,
    record_json,
    referring_table,
    restates,
    same_value,
    table_of,
    valid_record_id,
)
from cartrial.store.users import username_fold

if TYPE_CHECKING:
    from cartrial.store.edit_checks import EditCheck, Finding
    from cartrial.store.transaction import Transaction

PROTECTED_TABLES: dict[str, str] = {
    "study": "the study row (protocol and its SHA-256) is written by `cartrial db init` only",
    "import_manifest": "import manifests record what each import read; only imports write them",
}
"""Tables that define the study or its provenance: never edited or deleted record by record
(docs/science/decisions.md D-19.3).
The audit trail and the data locks are not record tables at all (`db lock` / `db unlock` manage locks)."""


class StaleVersionError(ConflictError):
    """An update sent with a version the record no longer has (optimistic concurrency: someone changed
    it since it was read). Checked inside the write transaction that holds the audit-chain lock, so of
    concurrent editors of one version exactly one succeeds."""


PASSWORD_COLUMNS = frozenset({"password_hash"})
"""Columns changed only through the password call (`StudyUser.set_password`, `cartrial db user password`)."""


def refuse_protected(table_name: str, action: str, changes: RowLike | None = None) -> None:
    """`PermissionDeniedError` for a record-level write to a protected table or to a password column."""
    from cartrial.errors import PermissionDeniedError

    if table_name in PROTECTED_TABLES:
        raise PermissionDeniedError(
            f"{table_name} records cannot be {action}: {PROTECTED_TABLES[table_name]}"
        )
    if changes is not None and PASSWORD_COLUMNS & set(changes):
        raise PermissionDeniedError(
            "a password changes only through the password command (`cartrial db user password NAME`), "
            "never as a field value"
        )


COMMITTEE_REASON_FIELD = "design_state.committee_reason"
"""Where a missing committee reason is located (`check_committee_reason`)."""


DECISION_FIELDS = ("decision", "design_state")
"""The fields whose change makes an escalation decision judged by the committee-reason rule
(`judge_committee_reason`, D-19.834)."""


def judge_committee_reason(table_name: str, before: Mapping[str, Any] | None, row: Mapping[str, Any]) -> None:
    """The committee-reason rule (`check_committee_reason`) as every write path applies it — the single
    write, `Transaction.upsert_rows` and the import (D-19.834): a new record (`before` None) is judged as
    `row`; a stored one only when `row` changes its ``decision`` or ``design_state``, judged as the stored
    record with `row` applied (a change of the approver, outcomes or date alone of an older decision stored
    before the rule is not judged). A write changing the decision while clearing the design recommendation
    (a ``design_state`` keeping no ``design_decision`` over a stored one that does) is judged against the
    stored ``design_decision`` with the written state's reason (none when cleared): the recommendation a
    decision departs from is not erased by the same write (D-19.839)."""
    if table_name != "escalation_decision":
        return
    if before is None:
        check_committee_reason(table_name, row)
        return
    if not any(name in row and not same_value(before.get(name), row[name]) for name in DECISION_FIELDS):
        return
    record = {**before, **row}
    stored, state = before.get("design_state"), record.get("design_state")
    if (
        not same_value(before.get("decision"), record.get("decision"))
        and isinstance(stored, Mapping)
        and stored.get("design_decision") not in (None, "")
        and not (isinstance(state, Mapping) and state.get("design_decision") not in (None, ""))
    ):
        kept = dict(state) if isinstance(state, Mapping) else {}
        record["design_state"] = {**kept, "design_decision": stored["design_decision"]}
    check_committee_reason(table_name, record)


def check_committee_reason(table_name: str, values: Mapping[str, Any]) -> None:
    """An escalation decision other than the design's recommendation it keeps (`design_state`'s
    ``design_decision``) needs the committee's reason (``design_state.committee_reason``): a missing, blank
    or invisible one (`tables.require_reason`, D-19.819) is refused, whichever front end writes it (the web's
    decision form, the record API, a script; D-19.724). A decision that keeps no design recommendation is
    not judged. `values` is the record the write makes (a stored record with the write applied); the refusal
    is located at ``design_state.committee_reason`` and shows no value (D-12.2)."""
    from cartrial.store.tables import REASON_ALLOWED, shows_nothing

    if table_name != "escalation_decision":
        return
    state = values.get("design_state")
    if not isinstance(state, Mapping) or state.get("design_decision") in (None, ""):
        return
    if values.get("decision") == state.get("design_decision"):
        return
    reason = state.get("committee_reason")
    if not isinstance(reason, str) or shows_nothing(reason):
        raise InputError(
            Problem(
                "a reason is required for every decision other than the design's recommendation "
                "(21 CFR 11.10(e), ICH E6(R3) 4.2.4)",
                field=COMMITTEE_REASON_FIELD,
                allowed=REASON_ALLOWED,
            )
        )


def check_texts(model: type[StudyData], table_name: str, values: RowLike) -> None:
    """Refuse text longer than its column allows (the limit an import applies; SQLite does not enforce it
    and PostgreSQL would refuse it with a bare driver error) or holding a control character (the import's
    rule, `fields.CONTROL_CHARACTERS`; checked here too because the natural-key lookup runs before the field
    rules, and PostgreSQL refuses a NUL even in a query)."""
    columns = columns_of(model)
    key_rules = field_rules(table_name) if table_name in STUDY_TABLES else {}
    for name, value in values.items():
        column = columns.get(name)
        if column is None or not isinstance(value, str) or not isinstance(column.type, String):
            continue
        limit = column.type.length
        if limit is not None and len(value) > limit:
            raise InputError(
                Problem(
                    "text too long",
                    field=f"{table_name}.{name}",
                    value=value if len(value) <= 60 else value[:57] + "…",
                    allowed=f"at most {limit} characters",
                )
            )
        rule = key_rules.get(name)
        if rule is not None and rule.key is not None:  # a key: its own rule, its own words (D-19.444)
            problem = key_text_problem(f"{table_name}.{name}", value, rule.key)
            if problem is not None:
                raise InputError(problem)
            continue
        problem = control_character_problem(f"{table_name}.{name}", value)
        if problem is None and limit is not None:  # a text of bounded length is one line (D-19.137)
            problem = line_break_problem(f"{table_name}.{name}", value)
        if problem is not None:
            raise InputError(problem)


_CONFUSABLE_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
"""Scripts whose letters look alike (``a`` / Cyrillic ``а`` / Greek ``α``): a user name uses one of them
at most (UTS #39, single-script restriction for these three; D-19.1423)."""


def check_username_free(connection: Connection, username: str, record_id: int | None = None) -> None:
    """`InputError` when the name mixes letters of look-alike scripts (`_CONFUSABLE_SCRIPTS`: ``аdmin`` with
    a Cyrillic ``а``); `ConflictError` when another user has this name in any case of any script (``Admin``
    beside ``admin``, ``élodie`` beside ``ÉLODIE``: `username_fold`). The one check of a name on every
    path that writes one (D-19.884, D-19.1423)."""
    scripts = {
        script
        for character in username
        if character.isalpha()
        for script in _CONFUSABLE_SCRIPTS
        if unicodedata.name(character, "").startswith(script + " ")
    }
    if len(scripts) > 1:  # value-free, as a taken name (D-12.2, D-19.884)
        raise InputError(
            Problem(
                f"the user name mixes letters of the {' and '.join(sorted(s.title() for s in scripts))} "
                "scripts: a look-alike of another name",
                field="username",
                allowed="letters of at most one of the Latin, Greek and Cyrillic scripts",
            )
        )
    folded = username_fold(username)
    query = select(User.username)
    if record_id is not None:
        query = query.where(User.id != record_id)
    taken = any(username_fold(str(name)) == folded for name in connection.execute(query).scalars())
    if taken:  # value-free: neither the name typed nor the stored account's (D-12.2, D-19.884)
        text = "the user name is taken: user names are compared without case"
        raise ConflictError(text, problem=Problem(text, field="username"))


def check_user_site(before: RowLike | None, after: RowLike) -> None:
    """`users.check_role_site` on an account as a write leaves it (`before` None: a new one): an active
    account of a site-restricted role needs a site, whichever path writes it (the CLI's ``db edit``, an
    import of app_user, the record API, a role or site change, a reactivation). An inactive account, or a
    write changing none of role, site and active, is not judged (an account stored before the rule stays
    editable). The one place the rule is applied to a write (D-19.884)."""
    from cartrial.store.users import check_role_site

    if after.get("active") is not None and not after.get("active"):
        return
    if before is not None and all(
        same_value(before.get(k), after.get(k)) for k in ("role", "site_id", "active")
    ):
        return
    check_role_site(str(after.get("role")), after.get("site_id"))


def check_last_admin(connection: Connection, current: RowLike, after: RowLike | None) -> None:
    """`ConflictError` when deleting (`after` None), deactivating or demoting the last active admin."""
    if current.get("role") != "admin" or not current.get("active"):
        return
    if after is not None and after.get("role") == "admin" and after.get("active"):
        return
    others = connection.execute(
        select(func.count())
        .select_from(User)
        .where(User.role == "admin", User.active.is_(True), User.id != current["id"])
    ).scalar_one()
    if not others:
        what = "deleted" if after is None else "deactivated or demoted"
        raise ConflictError(
            f"user {current['username']!r} is the last active admin and cannot be {what}; "
            "make another user admin first"
        )


def typed_texts(table_name: str, values: RowLike) -> RowLike:
    """`values` with each number or yes/no given as text (``"5.5"`` for a lab value) read as the import
    reads the same cell (`fields.typed_record_values`, the import's column parser; D-19.439), so that
    both backends store and audit the typed value; what the import refuses (``"5,5"``) is refused here,
    `InputError` located at ``table.field``. Other values are left to `prepare_rows` and the field rules
    (text stays as given, D-19.420)."""
    from cartrial.store.fields import FieldKind, typed_record_values

    if table_name not in STUDY_TABLES:
        return values
    rules = field_rules(table_name)
    texts = {
        name: value
        for name, value in values.items()
        if isinstance(value, str)
        and (rule := rules.get(name)) is not None
        and rule.kind in (FieldKind.INTEGER, FieldKind.NUMBER, FieldKind.BOOLEAN)
    }
    if not texts:
        return values
    return {**values, **typed_record_values(table_name, texts)}


def insert_record(
    tx: Transaction, table_name: str, values: RowLike, *, password_hash: str | None = None
) -> int:
    """Insert one new record (refused with `ConflictError` if its natural key exists); returns its id.
    A password column among `values` is refused (`refuse_protected`, D-19.432); `password_hash`: a new
    user's hash, made from a password that met the policy (`users.new_user`), passed only by
    `StudyUser.add_user`, never through the public record API. The table's enter permission is checked
    first, before any key or user name is looked up: a role that may not insert learns nothing of the
    stored records (``user name 'INV2' is taken`` told a monitor an account existed; D-19.910)."""
    from cartrial.store.permissions import Action

    model = model_of(table_name)
    tx.require_write(table_name, Action.ENTER)
    raised_from = len(tx.raised_queries)  # the queries after it are this write's (D-19.652)
    refuse_protected(table_name, "inserted one by one", values)
    values = typed_texts(table_name, plain_row(values, table_name))
    if password_hash is not None and model is User:
        values = {**values, "password_hash": password_hash}
    keys = model.natural_key

    def free_key(prepared: list[dict[str, Any]]) -> None:
        """The checks of the one prepared row before its subject and site are (`prepare_upsert`'s `each`):
        its texts, a user name free, its key free."""
        row = prepared[0]
        check_texts(model, table_name, row)
        judge_committee_reason(table_name, None, row)
        if model is User:
            check_user_site(None, row)
            check_username_free(tx.connection, str(row["username"]))
        existing = find_by_key(tx.connection, model, row, keys)
        if existing is not None:
            given = ", ".join(str(row[k]) for k in keys)
            refusal = _held_elsewhere(tx, model, table_name, given, existing)  # another site's (D-19.297)
            if refusal is not None:
                # the checks a free key meets first (the subject's site): the same refusal, held key or not
                check_subjects_and_sites(tx, model, table_name, [dict(row)])
                raise refusal
            raise key_taken(table_name, keys, given, int(existing["id"]))

    # the bulk write's own checks once, then the write (D-19.515)
    checked = prepare_upsert(tx, table_name, [values], keys, each=free_key)
    tx.flush()  # the new record's audit row stays queued until its checks have run (`note_partial_checks`)
    upsert_prepared(tx, checked)
    found = find_by_key(tx.connection, model, checked.rows[0], keys)
    assert found is not None
    record_id = int(found["id"])
    # the import's field rules and edit checks, on the stored form (a refusal rolls the transaction back);
    # the subject's unreadable records left out and named, in the answer and the audit row's reason, as
    # for an edit (D-19.643, D-19.562) — unless a hard check of the new record compares it with one of
    # them: refused then, naming the records to repair (`refuse_blind_hard_checks`, D-19.651)
    now = check_clock()  # the write's one instant: its checks and its reconciliation (D-19.621)
    with leaving_out_unreadable() as unseen:
        check_record_write(tx, table_name, None, found, record_id, now=now)
    refuse_blind_hard_checks(table_name, unseen, f"new {table_name} record")
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)
    tx.note_partial_checks(table_name, record_id, unseen)
    query_left_out(tx, table_name, found, record_id, unseen)
    with leaving_out_unreadable() as unseen:  # queries whose check no longer fires are closed (D-19.164)
        reconcile_write(tx, table_name, found, now=now, raised_from=raised_from)
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)
    return record_id


def refuse_blind_hard_checks(table_name: str, unseen: LeftOut, where: str) -> None:
    """`StoredValueError` (409) naming the records `unseen` (left out of a single write's edit checks) of the
    tables a hard check of `table_name` compares (`edit_checks.blind_hard_checks`): that check could not
    run, and saving would let through what it refuses (a second infusion while the first is unreadable) and
    then refuse the repair of the record left out. Names the records to repair, never a value (D-19.651)."""
    blind, named = blind_checks(table_name, unseen)
    if not blind:
        return
    header = (
        f"{where}: the edit check(s) {', '.join(c.id for c in blind)} compare it with the records below, "
        "which cannot be read; nothing was written — a data manager repairs them first. "
        + unreadable_header(named)
    )
    raise StoredValueError(bounded(named), header=header)


def blind_checks(table_name: str, unseen: LeftOut) -> tuple[list[EditCheck], list[Problem]]:
    """The hard checks of a new `table_name` record that could not run (`edit_checks.blind_hard_checks`:
    they compare it with a record of `unseen`, left out of its checks) and the problems of the left-out
    records they compare it with (the records to repair); ([], []) when none (D-19.651). One rule for the
    single write (`refuse_blind_hard_checks`) and the import (`pipeline.left_out_findings`, D-19.796)."""
    from cartrial.store.edit_checks import blind_hard_checks, compared

    tables = {name for name, ids in unseen.records.items() if ids}
    blind = blind_hard_checks(table_name, tables)
    if not blind:
        return [], []
    read = {name for check in blind for name in compared(check, table_name)}
    return blind, [p for p in unseen if p.record and p.record.rsplit(" record ", 1)[0] in read]


def moved_subject(before: RowLike, after: RowLike) -> str | None:
    """The subject an edit moves a record to (its ``subject_id`` changed), else None."""
    old, new = before.get("subject_id"), after.get("subject_id")
    return None if new is None or str(new) == str(old) else str(new)


def of_subject(connection: Connection, unseen: LeftOut, subject_id: str) -> LeftOut:
    """The records of `unseen` that are `subject_id`'s (by record id), with their problems."""
    out = LeftOut()
    for name, ids in unseen.records.items():
        table = getattr(STUDY_TABLES.get(name), "__table__", None)
        if table is None or "subject_id" not in table.c or not ids:
            continue
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            query = select(table.c.id).where(
                table.c.id.in_(wanted[start : start + 500]), table.c.subject_id == subject_id
            )
            found = {int(n) for (n,) in connection.execute(query).all()}
            if found:
                out.records.setdefault(name, set()).update(found)
    mine = {f"{name} record {n}" for name, ids in out.records.items() for n in ids}
    out.extend(p for p in unseen if p.record in mine)
    return out


def query_left_out(
    tx: Transaction, table_name: str, values: RowLike, record_id: int, unseen: Sequence[Problem]
) -> None:
    """A data query (`edit_checks.CHECKS_LEFT_OUT`) on the written record naming the records `unseen` its
    checks left out (soft checks only: `refuse_blind_hard_checks` refused the others), on the data
    manager's worklist until a write leaving none out (the repair) closes it (D-19.652)."""
    from cartrial.store.edit_checks import blind_hard_checks, left_out_finding, record_queries

    names = unread_names(unseen)
    if names:
        tables = {p.record.rsplit(" record ", 1)[0] for p in unseen if p.record}
        hard = [check.id for check in blind_hard_checks(table_name, tables)]  # an edit's (D-19.652)
        record_queries(tx, [left_out_finding(table_name, dict(values), record_id, names, hard)])


def upsert_checked_rows(
    tx: Transaction, table_name: str, rows: Sequence[RowLike], key_columns: Sequence[str] | None = None
) -> UpsertResult:
    """`bulk.upsert_rows` with the checks of a single-record write (`insert_record` / `update_record`) on
    every row: protected tables and password columns (`refuse_protected`), user names free in any case
    (`check_username_free`, `app_user` rows written one by one), the last active admin
    (`check_last_admin`, on the state after the whole call; D-19.432), the field rules, rules between
    fields and the engine's form validator (`fields.record_write_problems`, the import's rules; an update
    is judged as `update_record` judges it; the rows of one call in one pass,
    `fields.records_write_problems`, D-19.431), then, once written, the edit checks across forms
    (`edit_checks.check_single_write`: hard ones refuse, soft ones raise data queries) and the reconciling
    of the subjects' open queries. Every field problem of every row is reported at once (`InputError`,
    each located by its row number in `rows` and as ``table.field``); a refusal writes nothing (the
    transaction rolls back). The documented bulk write (`Transaction.upsert_rows`, D-19.430); the import
    validates its files itself and calls the bulk functions directly, as do the store's own writers of
    derived values and data queries."""
    from dataclasses import replace

    from cartrial.store.edit_checks import check_single_write, write_context
    from cartrial.store.fields import records_write_problems, study_protocol
    from cartrial.store.permissions import Action

    model = model_of(table_name)
    raised_from = len(tx.raised_queries)  # the queries after it are this write's (D-19.652)
    refuse_protected(table_name, "written by a bulk write")
    keys = tuple(key_columns or model.natural_key)
    if not rows or any(k not in columns_of(model) for k in keys):
        return upsert_rows(tx, table_name, rows, keys)  # nothing to check, or its own refusal
    check_unique_key(model, table_name, keys)
    typed: list[RowLike] = []
    unread: list[Problem] = []  # numbers as text the import's parser refuses, of every row (D-19.439)
    for number, row in enumerate(rows, start=1):
        try:
            typed.append(typed_texts(table_name, row))
        except InputError as exc:
            unread.extend(replace(p, row=number) for p in exc.problems)
    if unread:
        refused = len({p.row for p in unread})
        header = f"{table_name}: {len(unread)} problem(s) in {refused} row(s); nothing was written"
        raise InputError(unread, header=header)

    def texts(prepared: list[dict[str, Any]]) -> None:
        for number, row in enumerate(prepared, start=1):
            try:
                check_texts(model, table_name, row)
            except InputError as exc:
                raise InputError(
                    [replace(p, row=number) for p in exc.problems],
                    header=f"{table_name} row {number}: nothing was written",
                ) from None

    # the bulk write's own checks once, with the texts' between them; `upsert_prepared` writes (D-19.511)
    checked = prepare_upsert(tx, table_name, typed, keys, each=texts)
    prepared = checked.rows
    befores = [None if b is None else dict(b) for b in find_by_keys(tx.connection, model, prepared, keys)]
    changed = [not restates(before, row) for row, before in zip(prepared, befores, strict=True)]
    # the stored record matched, as well as the row written (as `update_record`): every matched row's
    # versions at once, one lookup of their subjects' sites (the refusal names no record, so it is the one
    # the first refused row would give; D-19.433)
    matched = [(before, row) for row, before in zip(prepared, befores, strict=True) if before is not None]
    check_record_sites(tx, model, table_name, [v for b, r in matched for v in (b, {**b, **r})])
    if any(before is None for before in befores):
        tx.require_write(table_name, Action.ENTER)
    if any(c and before is not None for c, before in zip(changed, befores, strict=True)):
        tx.require_write(table_name, Action.EDIT)
    for row, before, change in zip(prepared, befores, changed, strict=True):
        if change:  # a password only through the password call or `add_user`, as `update_record`
            refuse_protected(table_name, "edited" if before is not None else "inserted", row)
    for number, (row, before, change) in enumerate(zip(prepared, befores, changed, strict=True), start=1):
        # the record the row makes, the stored one with the row applied, as `update_record` (D-19.724)
        if change:
            try:
                judge_committee_reason(table_name, before, row)
            except InputError as exc:
                raise InputError(
                    [replace(p, row=number, field=f"{table_name}.{p.field}") for p in exc.problems],
                    header=f"{table_name} row {number}: nothing was written",
                ) from None
    protocol = study_protocol(tx.connection)
    problems: list[Problem] = []
    bad_rows = 0
    # an unchanged record: nothing written, nothing judged (as `update_record`); the rest in one pass
    judged = [number for number, change in enumerate(changed, start=1) if change]
    writes = [
        (before, dict(row) if before is None else {**before, **row})
        for row, before, change in zip(prepared, befores, changed, strict=True)
        if change
    ]
    for number, found in zip(judged, records_write_problems(table_name, writes, protocol), strict=True):
        bad_rows += bool(found)
        problems.extend(
            replace(p, row=number, field=f"{table_name}.{p.field}" if p.field else table_name) for p in found
        )
    if problems:
        raise InputError(
            problems,
            header=f"{table_name}: {len(problems)} problem(s) in {bad_rows} row(s); nothing was written",
        )
    result = _upsert_users(tx, checked, befores) if model is User else upsert_prepared(tx, checked)
    stored_rows = [
        _written(stored, table_name, number)
        for number, stored in zip(
            judged, find_by_keys(tx.connection, model, [prepared[n - 1] for n in judged], keys), strict=True
        )
    ]
    # the subjects' stored records read once for every row's edit checks (D-19.433)
    context = write_context(
        tx.connection,
        table_name,
        [(befores[n - 1], s) for n, s in zip(judged, stored_rows, strict=True)],
        protocol,
    )
    written: list[Mapping[str, Any]] = []
    for number, stored in zip(judged, stored_rows, strict=True):
        before = befores[number - 1]
        if model is User:  # judged on the state after the whole call (D-19.432)
            try:
                check_user_site(before, stored)
            except InputError as exc:
                raise InputError(
                    [replace(p, row=number) for p in exc.problems],
                    header=f"{table_name} row {number}: refused; nothing was written",
                ) from None
            if before is not None:
                check_last_admin(tx.connection, before, stored)
        try:
            check_single_write(tx, table_name, before, stored, int(stored["id"]), context)
        except StoredValueError:  # a stored record, not this row: the refusal as it came (D-19.556)
            raise
        except InputError as exc:
            raise InputError(
                [replace(p, row=number) for p in exc.problems],
                header=f"{table_name} row {number}: refused by {len(exc.problems)} edit check(s); "
                "nothing was written",
            ) from None
        written.extend(v for v in (before, stored) if v is not None)
    # queries whose check no longer fires (D-19.164), judged at the write's one instant (D-19.621)
    now = None if context is None else context.now
    reconcile_write(tx, table_name, *written, now=now, raised_from=raised_from)
    return result


def unique_keys(model: type[StudyData]) -> list[tuple[str, ...]]:
    """The column sets that name at most one record of `model`'s table: its natural key, each unique
    constraint and unique column (a unique index on an expression, as the user name's in any case, is not
    a column set)."""
    from sqlalchemy import UniqueConstraint

    table = table_of(model)
    found: list[tuple[str, ...]] = [tuple(model.natural_key)] if model.natural_key else []
    found += [
        tuple(c.name for c in constraint.columns)
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    found += [(column.name,) for column in table.columns if column.unique]
    found += [
        tuple(c.name for c in index.columns) for index in table.indexes if index.unique and index.columns
    ]
    return list(dict.fromkeys(k for k in found if k and "id" not in k))


def check_unique_key(model: type[StudyData], table_name: str, keys: Sequence[str]) -> None:
    """Refuse bulk-write `key_columns` that are not a unique key of the table (`unique_keys`): columns that
    match several records, or another subject's, would let the row judged and the record updated differ
    (D-19.429)."""
    allowed = unique_keys(model)
    if set(keys) in [set(k) for k in allowed]:
        return
    raise InputError(
        Problem(
            "key_columns must be the table's natural key or another unique key",
            field=f"{table_name} key_columns",
            value=", ".join(keys),
            allowed=" | ".join(", ".join(k) for k in allowed) or "none (the table has no unique key)",
        )
    )


def _upsert_users(tx: Transaction, checked: CheckedRows, befores: Sequence[RowLike | None]) -> UpsertResult:
    """Write `app_user` rows one by one, each user name first checked free in any case
    (`check_username_free`, as `insert_record` / `update_record`) against the stored users and the rows
    of this call already written, so that the case-insensitive unique index never refuses (D-19.432)."""
    result = UpsertResult()
    for row, before in zip(checked.rows, befores, strict=True):
        # a new or renamed user only: an old study's unchanged names (``élodie`` beside ``ÉLODIE`` written
        # before D-19.1423 on SQLite, a mixed-script name) restated by a re-import are not refused
        if "username" in row and (before is None or str(row["username"]) != str(before.get("username"))):
            check_username_free(
                tx.connection, str(row["username"]), None if before is None else int(before["id"])
            )
        result = result + upsert_prepared(tx, checked.part([row]))
    return result


def preview_write_checks(
    connection: Connection,
    table_name: str,
    values: RowLike,
    record_id: int | None = None,
    unchecked: list[Problem] | None = None,
) -> list[Finding]:
    """The edit checks across forms (`cartrial.store.edit_checks`) that saving `values` as a new record
    (`record_id` None) or as changes to record `record_id` would fire, with the subject's stored records:
    hard findings would refuse the save, soft ones raise a data query. Nothing is written; a value the
    field rules refuse is left to them (`cartrial.store.fields.validate_record`) and gives no finding.
    The same computation as the write (`edit_checks.write_findings`), run while a form is filled in.
    `unchecked`: given, the subject's other records holding a stored date no reader reads are left out of
    the checks, as the save leaves them out (D-19.643, D-19.562), and added to it (never a value);
    without it, such a record refuses the preview (D-19.556)."""
    from cartrial.store.edit_checks import decision_write_findings, write_findings

    model = model_of(table_name)
    try:
        clean = prepare_rows(model, table_name, [typed_texts(table_name, values)], ())[0]
        current = None if record_id is None else current_record(connection, model, table_name, record_id)
        after = clean if current is None else {**current, **clean}
        if table_name == "escalation_decision":  # the study-level check its save runs (D-19.822)
            return decision_write_findings(connection, current, after, record_id)
        if unchecked is None:
            return write_findings(connection, table_name, current, after, record_id)
        with leaving_out_unreadable() as unseen:
            found = write_findings(connection, table_name, current, after, record_id)
        moved_to = None if current is None else moved_subject(current, after)
        if record_id is None:  # a new record: refused as its save is (D-19.651)
            refuse_blind_hard_checks(table_name, unseen, f"new {table_name} record")
        elif moved_to is not None:  # a record moved to another subject: as its save is (D-19.651)
            refuse_blind_hard_checks(
                table_name, of_subject(connection, unseen, moved_to), f"{table_name} record {record_id} moved"
            )
        unchecked.extend(p for p in unseen if p not in unchecked)
        return found
    except StoredValueError:  # not checked is not "no findings": the refusal itself (D-19.556)
        raise
    except InputError:
        return []


def find_by_key(
    connection: Connection, model: type[StudyData], values: RowLike, keys: Sequence[str]
) -> RowLike | None:
    """The stored record whose `keys` columns equal `values` (None: none)."""
    table = table_of(model)
    return (
        connection.execute(select(table).where(and_(*(table.c[k] == values[k] for k in keys))))
        .mappings()
        .first()
    )


def _written(stored: RowLike | None, table_name: str, number: int) -> RowLike:
    """The stored record of row `number` just written (`InternalError` if it is not found: the write and
    the lookup disagree, and no row's checks may be judged on another row's record)."""
    if stored is None:
        raise InternalError(f"{table_name} row {number}: the record written was not found by its key")
    return stored


def find_by_keys(
    connection: Connection, model: type[StudyData], rows: Sequence[RowLike], keys: Sequence[str]
) -> list[RowLike | None]:
    """`find_by_key` of each row (None: none), read together by `bulk.stored_by_key` (D-19.433,
    D-19.438) and matched back to the rows by their key values. A row with a key value not of its
    column's own Python type (text for an integer, a date-time for a date, a naive date-time, None),
    where the database's comparison may differ from Python's, is looked up alone by `find_by_key`."""
    table = table_of(model)
    columns = [table.c[k] for k in keys]
    found: list[RowLike | None] = [None] * len(rows)
    batched: list[int] = []
    for number, row in enumerate(rows):
        if keys and all(_plain_key(column, row[k]) for column, k in zip(columns, keys, strict=True)):
            batched.append(number)
        else:
            found[number] = find_by_key(connection, model, row, keys)
    wanted = [tuple(rows[n][k] for k in keys) for n in batched]
    stored = stored_by_key(connection, model, keys, wanted)
    for number, key in zip(batched, wanted, strict=True):
        found[number] = stored.get(key)
    return found


def _plain_key(column: Any, value: Any) -> bool:
    """Whether `value` is of exactly the Python type `column` gives back (an aware date-time for a UTC
    date-time), so that Python's equality of keys is the database's."""
    if isinstance(column.type, UtcDateTime):
        return value.__class__ is dt.datetime and value.tzinfo is not None
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return False
    return value.__class__ is kind and kind in (str, int, dt.date)


@dataclass(frozen=True)
class ValidatedUpdate:
    """An update whose field rules passed (`prevalidate_update`): the record's version when checked and
    the whole record as it would be after the change."""

    table_name: str
    record_id: int
    version: int
    after: dict[str, Any]


def prevalidate_update(
    connection: Connection, table_name: str, record_id: int, changes: RowLike
) -> ValidatedUpdate | None:
    """The field validation of an update (`check_record_fields`: the import's rules, the costly part of a
    single-record write), run before the write transaction takes the audit-chain lock, so that writers
    wait on each other only for the short write itself.

    Returns what was validated, or None whenever anything fails or does not apply (then `update_record`
    runs every check in its usual order inside the lock, and raises what it raises). `update_record`
    uses the result only if the record is still at the same version — the version changes with every
    write of the record, so the same version means the same stored values — and the change gives the
    same record."""
    from cartrial.store.fields import check_record_fields

    try:
        model = model_of(table_name)
        refuse_protected(table_name, "edited", changes)
        current = current_record(connection, model, table_name, record_id)
        record_id = int(current["id"])  # a numpy integer id bound as the int it names
        clean = prepare_rows(model, table_name, [typed_texts(table_name, changes)], ())[0]
        diff = {name: value for name, value in clean.items() if not same_value(current[name], value)}
        if not diff:
            return None
        after = {**current, **diff}
        check_record_fields(connection, table_name, current, after, record_id)
    except Exception:  # whatever it is, the checks inside the lock raise it, in their order
        return None
    return ValidatedUpdate(table_name, record_id, int(current["version"]), after)


def update_record(
    tx: Transaction,
    table_name: str,
    record_id: int,
    changes: RowLike,
    expected_version: int,
    reason: str,
    validated: ValidatedUpdate | None = None,
) -> int:
    """Change fields of one record still at `expected_version`; returns the new version. Unchanged values
    are ignored (no change, no audit row). `validated`: the field rules already checked outside the lock
    (`prevalidate_update`), used only for the same record at the same version with the same result."""
    model = model_of(table_name)
    raised_from = len(tx.raised_queries)  # the queries after it are this write's (D-19.652)
    changes = plain_row(changes, table_name)
    refuse_protected(table_name, "edited", changes)
    changes = typed_texts(table_name, changes)
    with _other_sites_first(tx, model, table_name, record_id):
        current, unreadable = record_to_repair(tx.connection, model, table_name, record_id, changes)
    record_id = int(current["id"])  # a numpy integer id bound as the int it names
    repairs = {name: text for name, text in unreadable.items() if name in changes}
    if int(current["version"]) != int(expected_version):
        raise StaleVersionError(
            f"{table_name} record {record_id} is at version {current['version']}, not "
            f"{expected_version}: someone changed it since you read it; reload it and apply your "
            "change again"
        )
    # the site first: another site's user learns nothing of the record's stored values from what is
    # refused next (a no-op, a repair's limits, the lock; D-19.566)
    check_record_sites(tx, model, table_name, [current])
    clean = prepare_rows(model, table_name, [changes], ())[0]
    diff = {
        name: value
        for name, value in clean.items()
        if name in repairs or not same_value(current[name], value)  # a repair always writes (D-19.560)
    }
    if not diff:
        if unreadable:  # only updated_at: an edit changing nothing leaves it unreadable (D-19.566)
            raise InputError(
                Problem(
                    "not a readable date-time; an edit that changes no field does not rewrite it: change "
                    "a field, with a reason, to repair the record",
                    record=f"{table_name} record {record_id}",
                    field="updated_at",
                )
            )
        return int(current["version"])
    if repairs:
        refuse_beyond_repair(tx, model, table_name, record_id, repairs, diff)
    check_texts(model, table_name, diff)
    judge_committee_reason(table_name, current, diff)
    # the own-site rule before the references are looked up: a subject moved to another site is refused
    # alike whether that site exists or not (D-19.415)
    check_record_sites(tx, model, table_name, [current, {**current, **diff}])
    check_references(tx.connection, model, table_name, diff)
    # the calendar the lock dates records on: a site's zone, a subject's site (D-19.733): named
    # before the lock's own refusal, which does not say which field moved the record's calendar
    refuse_calendar_change(
        tx.lock, model, f"{table_name} record {record_id}", current, {**current, **diff}, tx.connection
    )
    # the lock before the references: a frozen record is not told to move or delete the records referring
    # to it, which the lock forbids as well (D-19.1332)
    if is_locked(model, current, tx.lock) or is_locked(model, {**current, **diff}, tx.lock):
        assert tx.lock is not None
        raise ConflictError(
            f"{table_name} record {record_id} is dated on or before the cut-off and frozen by "
            f"{tx.lock.describe()}; an admin must unlock (with a reason) before it can change"
        )
    check_referred(tx.connection, table_name, current, diff, record_id)
    if model is User:
        check_user_site(current, {**current, **diff})
        check_last_admin(tx.connection, current, {**current, **diff})
        if "username" in diff:
            check_username_free(tx.connection, str(diff["username"]), int(current["id"]))
    if any(k in diff for k in model.natural_key):  # a changed key: another site's? (D-19.297)
        _refuse_key_held_elsewhere(tx, model, table_name, {**current, **diff}, record_id)
    if model is Subject:
        check_birth_date_privacy(tx.connection, [{**current, **diff}])
    after = {**current, **diff}
    fields_checked = (
        validated is not None
        and validated.table_name == table_name
        and validated.record_id == record_id
        and validated.version == int(current["version"])
        and validated.after == after
    )
    # any edit (a repair or not): the checks skip the subject's other unreadable records and name them,
    # in the answer (`unchecked`) and in the audit rows' reason — a subject with unreadable records is
    # never trapped by a check that cannot read them, and the trail says the checks were partial (D-19.562)
    now = check_clock()  # the write's one instant: its checks and its reconciliation (D-19.621)
    with leaving_out_unreadable() as unseen:
        check_record_write(tx, table_name, current, after, record_id, fields_checked=fields_checked, now=now)
    moved_to = moved_subject(current, after)
    if moved_to is not None:  # checked as a new record among the new subject's (D-19.146): as an insert
        refuse_blind_hard_checks(
            table_name, of_subject(tx.connection, unseen, moved_to), f"{table_name} record {record_id} moved"
        )
    # an edit is never refused for a record its checks cannot read, even a hard check's: it is the way out
    # of a conflict the repair of that record meets (an insert is, D-19.651); it raises a query (D-19.652)
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)
    # the audit row's old value of a repaired date is the text that was stored (D-19.560)
    stored = {**current, **repairs}
    audited = partial_checks_reason(reason, unseen)
    version = apply_update(tx, model, table_name, stored, diff, int(expected_version), audited)
    query_left_out(tx, table_name, after, record_id, unseen)
    # queries whose check no longer fires (D-19.164); none of a subject with records left out (D-19.562)
    with leaving_out_unreadable() as unseen:
        reconcile_write(tx, table_name, current, after, now=now, raised_from=raised_from)
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)
    return version


def refuse_beyond_repair(
    tx: Transaction,
    model: type[StudyData],
    table_name: str,
    record_id: int,
    unreadable: Mapping[str, Any],
    diff: Mapping[str, Any],
) -> None:
    """A repair of the unreadable stored dates `unreadable` (`record_to_repair`) changes only them: any
    other changed field is refused, located, nothing written; while a data lock is active a record whose
    clinical date is unreadable counts as frozen (whether it is cannot be told), refused naming the lock as
    any frozen record (D-19.561)."""
    others = [name for name in diff if name not in unreadable and name != "updated_at"]
    if others:
        raise InputError(
            [
                Problem(
                    "a repair of an unreadable stored date changes only that date; change this field in "
                    "another edit once the record is repaired",
                    field=f"{table_name}.{name}",
                )
                for name in others
            ]
        )
    if tx.lock is not None and model.clinical_date_column in unreadable:
        raise ConflictError(
            f"{table_name} record {record_id} holds an unreadable {model.clinical_date_column} (its clinical "
            f"date), so it counts as frozen by {tx.lock.describe()}; an admin must unlock (with a reason) "
            "before it can change"
        )


def delete_record(
    tx: Transaction, table_name: str, record_id: int, reason: str, expected_version: int | None = None
) -> None:
    """Delete one record (audited with the whole record as the old value). `expected_version`: the version
    the deleter read; a record changed since is refused (`StaleVersionError`) and nothing is deleted, as an
    update is (D-19.817). None: the caller does not say what it read (the CLI's `db delete`)."""
    model = model_of(table_name)
    raised_from = len(tx.raised_queries)  # the queries after it are this write's (D-19.652)
    refuse_protected(table_name, "deleted")
    with _other_sites_first(tx, model, table_name, record_id):
        current = current_record(tx.connection, model, table_name, record_id)
    record_id = int(current["id"])  # a numpy integer id bound as the int it names
    if model is User:
        check_last_admin(tx.connection, current, None)
    check_record_sites(tx, model, table_name, [current])
    if expected_version is not None and int(current["version"]) != int(expected_version):
        raise StaleVersionError(
            f"{table_name} record {record_id} is at version {current['version']}, not "
            f"{expected_version}: someone changed it since you read it; reload it and decide again"
        )
    # the calendar the lock dates records on (D-19.733)
    refuse_calendar_change(tx.lock, model, f"{table_name} record {record_id}", current, None, tx.connection)
    if is_locked(model, current, tx.lock):
        assert tx.lock is not None
        raise ConflictError(
            f"{table_name} record {record_id} is frozen by {tx.lock.describe()}; it cannot be deleted"
        )
    # the reconciling edit checks of the subject's remaining records (D-19.103), computed before the delete
    # (the record is not read either way): a subject's unreadable records left out and named, in the
    # answer and in the audit row's reason, as for an edit (D-19.562)
    from cartrial.store.edit_checks import check_clock, check_delete, write_findings

    now = check_clock()  # the delete's one instant: its checks and its reconciliation (D-19.621)
    with leaving_out_unreadable() as unseen:
        created = write_findings(tx.connection, table_name, current, None, record_id, now=now)
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)
    table = table_of(model)
    try:
        with tx.connection.begin_nested():
            tx.connection.execute(delete(table).where(table.c.id == record_id))
    except IntegrityError as exc:  # never the driver's text, which may quote a key (D-12.2, D-19.456)
        referring = referring_table(exc)
        which = f" ({referring} records)" if referring else ""
        raise ConflictError(
            f"{table_name} record {record_id} cannot be deleted: other records refer to it{which}; "
            "delete or change those first"
        ) from None
    values = {k: v for k, v in current.items() if k not in HOUSEKEEPING_COLUMNS}
    subject_column = model.subject_column
    tx.audit(
        "delete",
        table_name,
        record_id,
        current.get(subject_column) if subject_column else None,
        audit_chain.INSERT_FIELD,
        record_json(values),
        None,
        reason=partial_checks_reason(reason, unseen),
    )
    check_delete(tx, table_name, current, record_id, created, now=now)  # soft queries only
    with leaving_out_unreadable() as unseen:  # queries whose check no longer fires (D-19.164, D-19.562)
        reconcile_write(tx, table_name, current, now=now, raised_from=raised_from)
    tx.unchecked.extend(p for p in unseen if p not in tx.unchecked)


def check_references(
    connection: Connection, model: type[StudyData], table_name: str, values: RowLike
) -> None:
    """Refuse values of foreign-key columns that the referenced table does not hold, naming the value, the
    column and the referenced table (before the database refuses the write with a bare constraint name)."""
    columns = columns_of(model)
    for name, value in values.items():
        if value is None or name not in columns:
            continue
        for foreign_key in columns[name].foreign_keys:
            target = foreign_key.column
            found = connection.execute(select(target).where(target == value).limit(1)).first()
            if found is None:
                raise InputError(  # value-free: a typed code may be anything (D-12.2, D-19.885)
                    Problem(
                        f"no {target.table.name} with this {target.name}: add it first "
                        f"(the {table_name}.{name} column refers to table {target.table.name})",
                        field=f"{table_name}.{name}",
                    )
                )


def check_referred(
    connection: Connection, table_name: str, current: RowLike, diff: RowLike, record_id: int
) -> None:
    """Refuse changing a column other tables' records refer to (a subject's id, a site's id) while such
    records hold its stored value: a `ConflictError` naming the field and the referring tables, never the
    value, before the database refuses the write with a bare constraint (D-19.1328)."""
    for name in diff:
        referring: list[str] = []
        for other_name, other in STUDY_TABLES.items():
            for foreign_key in table_of(other).foreign_keys:
                target = foreign_key.column
                if target.table.name != table_name or target.name != name:
                    continue
                column = foreign_key.parent
                query = select(column).where(column == current[name]).limit(1)
                if connection.execute(query).first() is not None and other_name not in referring:
                    referring.append(other_name)
        if referring:
            tables = ", ".join(referring)
            raise ConflictError(
                f"{table_name} record {record_id}: its {name} cannot change while other records refer to "
                f"it ({tables} records)",
                problem=Problem(
                    f"cannot change while other records refer to it ({tables} records)",
                    record=f"{table_name} record {record_id}",
                    field=name,
                    allowed=f"the {name} as stored; to change it, move those records to another "
                    f"{table_name} (an edit of their {name}) or delete them first",
                ),
            )


def current_record(
    connection: Connection, model: type[StudyData], table_name: str, record_id: int
) -> RowLike:
    """The stored record `record_id` of `table_name` (`InputError` if there is none)."""
    table = table_of(model)
    row = None
    record_id = record_id_of(record_id)
    if valid_record_id(record_id):
        query = select(table).where(table.c.id == record_id)
        with locating(connection, query):  # a stored date no reader reads, by its record (D-19.556)
            row = connection.execute(query).mappings().first()
    if row is None:
        raise InputError(Problem(f"no {table_name} record with this id", field="id", value=record_id))
    return row


@contextmanager
def _other_sites_first(
    tx: Transaction, model: type[StudyData], table_name: str, record_id: int
) -> Iterator[None]:
    """A record whose stored date no reader reads (`StoredValueError`, D-19.556) is refused for another
    site's user as any record of that site is: by the site rule, read from the record's site or subject
    column alone, before the refusal that would tell the record holds such a date (D-19.566)."""
    try:
        yield
    except StoredValueError:
        table = table_of(model)
        column = own_site_column(model) or model.subject_column
        if column is not None and column in table.c:
            query = select(table.c[column]).where(table.c.id == record_id_of(record_id))
            row = tx.connection.execute(query).mappings().first()
            if row is not None:
                check_record_sites(tx, model, table_name, [dict(row)])
        raise


def record_to_repair(
    connection: Connection, model: type[StudyData], table_name: str, record_id: int, changes: RowLike
) -> tuple[RowLike, dict[str, Any]]:
    """The stored record an update of `changes` starts from (`current_record`) and, when it holds stored
    dates no reader reads (D-19.556) that `changes` sets every one of (`updated_at` excepted), the record
    with these columns empty and their stored texts by column (`stored_text`): what repairs them (D-19.560;
    `updated_at` is rewritten by any write that changes a field). The text goes to the audit row's old
    value only, never to a message; a record with an unreadable date the update does not set (every
    update rewrites ``updated_at``) is refused as before, by its record and field."""
    try:
        return current_record(connection, model, table_name, record_id), {}
    except StoredValueError:
        table = table_of(model)
        # its dates and numbers (D-19.1096) as stored, without their types' refusal
        dated = [c for c in table.c if hasattr(c.type, "stored_readable")]
        where = table.c.id == record_id_of(record_id)
        raw = [stored_raw(c, connection.dialect.name) for c in dated]  # as `locating` reads them
        texts = connection.execute(select(*raw).where(where)).first()
        if texts is None:
            raise
        unreadable = {
            c.name: stored_text(text)
            for c, text in zip(dated, texts, strict=True)
            if not cast(Any, c.type).stored_readable(text)
        }
        if not unreadable or any(name not in changes for name in unreadable if name != "updated_at"):
            raise
        unparsed = [name for name, value in unreadable.items() if value is UNREADABLE_STORED]
        if unparsed:  # a JSON column's text that is no JSON (D-19.1099): the audit row keeps the text
            stored = select(*(type_coerce(table.c[name], String) for name in unparsed)).where(where)
            unreadable |= dict(zip(unparsed, map(stored_text, connection.execute(stored).one()), strict=True))
        query = select(*(c for c in table.c if c.name not in unreadable)).where(where)
        row = connection.execute(query).mappings().one()
        return {**row, **dict.fromkeys(unreadable)}, unreadable


def stored_text(value: Any) -> Any:
    """A stored value as an audit row's old value holds it (JSON): a BLOB (bytes) as the SQLite blob
    literal ``X'<hex>'``, anything else as it was read (D-19.566). For the audit row only, never a message."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"X'{bytes(value).hex()}'"
    return value


def _held_elsewhere(
    tx: Transaction, model: type[StudyData], table_name: str, given: str, held: RowLike
) -> ConflictError | None:
    """The refusal of key `given` held by the stored record `held` when the acting user may not see that
    record (`permissions.held_key_refusal`, the one rule of D-19.297), else None."""
    return held_key_refusal(
        table_name,
        model.natural_key,
        {given: record_sites(tx.connection, model, [held])},
        readable_sites(tx.actor.role, tx.actor.site_id),
    )


def _refuse_key_held_elsewhere(
    tx: Transaction, model: type[StudyData], table_name: str, after: RowLike, record_id: int
) -> None:
    """An edit giving a record the key another record holds: refused before the edit checks read that
    record. Another site's record (a subject renamed to an id another site holds): as a key that cannot be
    used (D-19.297). A record the user may see: a located problem as the import's for a repeated key —
    the key's fields, the record holding it by id, the key typed as the value only, never the database's
    unique-constraint text (D-19.414)."""
    keys = model.natural_key
    if not keys or any(after.get(k) is None for k in keys):
        return
    held = find_by_key(tx.connection, model, after, keys)
    if held is not None and int(held["id"]) != record_id:
        given = ", ".join(str(after[k]) for k in keys)
        refusal = _held_elsewhere(tx, model, table_name, given, held)
        if refusal is not None:
            raise refusal
        raise key_taken(table_name, keys, given, int(held["id"]))


def key_taken(table_name: str, keys: Sequence[str], given: str, held_id: int) -> ConflictError:
    """The one refusal of a key held by a record the user may see, for a new record and an edited one alike
    (D-19.414): a conflict (409, as the API documents an existing key) whose message names the key's fields
    only; the key typed is the problem's value and the record holding it is named by id in the problem and
    in `existing` (a link to it), never in the message text (D-12.2)."""
    key = " + ".join(keys)
    return ConflictError(
        f"another {table_name} record already has this {key}: one record per {key}",
        problem=Problem(
            f"another {table_name} record already has this {key}",
            field=", ".join(keys),
            value=given,
            allowed=f"a {key} no other {table_name} record has (or open record {held_id} and change it)",
        ),
        existing=(table_name, held_id),
    )


def check_record_sites(
    tx: Transaction, model: type[StudyData], table_name: str, versions: Sequence[RowLike]
) -> None:
    """For site-restricted roles: refuse unless every version of the record belongs to the user's site."""
    sites = record_sites(tx.connection, model, versions)
    check_sites(tx.actor.username, tx.actor.role, tx.actor.site_id, sites, f"this {table_name} record")


def own_site_column(model: type[StudyData]) -> str | None:
    """The column naming the site a record itself belongs to: `site_id` of a subject and of a site record
    (a site is its own site, D-19.411); None for any other table (its site is its subject's, if any). The
    one place of that special case (`record_sites`, `reads._site_condition`)."""
    from cartrial.store.models import Site

    return "site_id" if model is Subject or model is Site else None


def record_sites(connection: Connection, model: type[StudyData], versions: Sequence[RowLike]) -> set[Any]:
    """The sites the versions of a record belong to — the one rule of a record's sites, for reads and
    writes: a subject's or a site record's own site (`own_site_column`); another table's record, its
    stored subject's site; none for a table without subjects."""
    own = own_site_column(model)
    if own is not None:
        return {v.get(own) for v in versions}
    if model.subject_column and model.subject_column in columns_of(model):
        subjects = {v.get(model.subject_column) for v in versions} - {None}
        return set(subject_sites(connection, subjects).values())
    return set()
