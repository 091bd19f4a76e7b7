"""Reads of the study database: records, counts and the audit trail (each on an open connection).

The permission to read is checked by the caller (the `StudyService` facade).
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, String, func, or_, select

from cartrial.columns import typed_site_date, utc_moment
from cartrial.errors import InputError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store.fields import lookup_text_problem
from cartrial.store.models import STUDY_TABLES, AuditLog, DataLock
from cartrial.store.stored_dates import locating, read_leaving_out, unreadable_date, unreadable_dates
from cartrial.store.tables import (
    MASKED_COLUMNS,
    coerce,
    columns_of,
    is_datetime,
    model_of,
    plain_row,
    record_id_of,
    table_of,
    valid_record_id,
)
from cartrial.store.writes import current_record


def unmasked(row: Mapping[Any, Any]) -> dict[str, Any]:
    """`row` without its secret columns (`MASKED_COLUMNS`: the password hash), which no read returns
    (D-19.428)."""
    return {k: v for k, v in row.items() if k not in MASKED_COLUMNS}


def query_condition(model: Any, hidden: Sequence[str]) -> list[Any]:
    """Only the data queries on records of a table not in `hidden` (`permissions.unreadable_tables`: the
    reader may not read that table's records, so not the queries about them either, D-19.913); a
    condition only on `data_query`."""
    from cartrial.store.models import DataQuery

    if model is not DataQuery or not hidden:
        return []
    return [table_of(model).c.table_name.not_in(list(hidden))]


def get_record(
    connection: Connection,
    table_name: str,
    record_id: int,
    sites: tuple[str | None, ...] | None = None,
    hidden: Sequence[str] = (),
) -> dict[str, Any]:
    """One record with its `id` and `version`, without its secret columns (`InputError` if there is none).
    `sites`: a record of another site (`_site_condition`) is answered as one that does not exist (D-19.428,
    as D-19.345 / D-19.411); None: every site. `hidden`: a data query on a record of these tables is
    answered as one that does not exist (`query_condition`, D-19.913)."""
    model = model_of(table_name)
    if (sites is not None and _site_condition(model, sites)) or query_condition(model, hidden):
        # the site first, reading no stored value: another site's record with a date no reader reads is
        # "no such record" too, never its refusal (D-19.560)
        table = table_of(model)
        number = record_id_of(record_id)
        query = select(table.c.id).where(
            table.c.id == number, *_site_condition(model, sites), *query_condition(model, hidden)
        )
        if not valid_record_id(number) or connection.execute(query).first() is None:
            raise InputError(Problem(f"no {table_name} record with this id", field="id", value=record_id))
    return unmasked(current_record(connection, model, table_name, record_id))


def find_records(
    connection: Connection,
    table_name: str,
    equals: dict[str, Any],
    sites: tuple[str | None, ...] | None = None,
    hidden: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Records of `table_name` whose columns equal the given values (ISO text accepted for dates), by id,
    without their secret columns; `sites`: only the records of these sites (`_site_condition`, as
    `table_counts`; None: every site) (D-19.428). A record holding a stored date no reader reads refuses
    the read, located (D-19.556); within `stored_dates.leaving_out_unreadable` it is left out and named
    (D-19.795). `hidden`: no data query on a record of these tables (`query_condition`, D-19.913)."""
    model = model_of(table_name)
    columns = columns_of(model)
    equals = plain_row(equals, table_name)  # a numpy scalar matched nothing (D-19.65)
    bad = [name for name in equals if name not in columns or name in MASKED_COLUMNS]
    if bad:
        raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
    _refuse_impossible_filters(table_name, equals)
    table = table_of(model)
    conditions = [table.c[k] == coerce(columns[k], v, table_name) for k, v in equals.items()]
    query = (
        select(table)
        .where(*conditions, *_site_condition(model, sites), *query_condition(model, hidden))
        .order_by(table.c.id)
    )

    def fetch(left_out: Sequence[Any]) -> list[dict[str, Any]]:
        return [unmasked(row) for row in connection.execute(query.where(*left_out)).mappings()]

    # a stored date no reader reads: refused by its record (D-19.556); within `leaving_out_unreadable` the
    # record is left out and named (`db records`, D-19.795)
    return read_leaving_out(connection, query, fetch)


AUTHENTICATION_SOURCE = "authentication"
"""The `audit_log.source` of authentication events (logins, failed and throttled attempts,
`cartrial.store.auth`): they change no study data, so they do not change `data_version`."""


def data_version(connection: Connection) -> int:
    """A number that changes with every committed write of study data: the id of the newest audit row
    that is not an authentication event (0 for an empty trail).

    Every write of data, queries, users, locks or decisions goes through a `Transaction`, which appends
    its audit rows in the same commit (an update that changes nothing writes neither data nor an audit
    row), and audit ids only grow; so a value computed from the data read in the same transaction as
    this number, cached under it, is never served after a later commit. Logins do not count (they would
    otherwise empty every cache at each login). Cheap on both backends: a backward walk of the primary
    key that stops at the first row that is not a login event."""
    table = table_of(AuditLog)
    newest = connection.execute(
        select(table.c.id)
        .where(or_(table.c.source.is_(None), table.c.source != AUTHENTICATION_SOURCE))
        .order_by(table.c.id.desc())
        .limit(1)
    ).scalar()
    return int(newest or 0)


def table_counts(
    connection: Connection,
    sites: tuple[str | None, ...] | None = None,
    hidden: Sequence[str] = (),
    accounts: bool = True,
) -> dict[str, int]:
    """Row count of every table (study data, data_lock and audit_log), by table name. `sites`: only the
    records and audit rows of these sites (`_site_condition`, `audit_site_condition`; None: every site).
    `hidden` and `accounts`: the reader's (`permissions.unreadable_tables`; whether their role manages
    users): the data queries and audit rows they may not read are not counted either, by the conditions of
    the reads that list them (`query_condition`, `audit_reader_condition`), so that a count is the length
    of the user's own list (D-19.991)."""
    models: list[type[Any]] = [*STUDY_TABLES.values(), DataLock, AuditLog]
    out: dict[str, int] = {}
    for model in models:
        table = table_of(model)
        if model is AuditLog:
            condition = audit_reader_condition(sites, accounts)
        else:  # a lock is study-wide
            condition = (
                [] if model is DataLock else [*_site_condition(model, sites), *query_condition(model, hidden)]
            )
        query = select(func.count()).select_from(table).where(*condition)
        out[table.name] = int(connection.execute(query).scalar_one())
    return out


_STUDY_WIDE_TRAIL = ("site", "app_user", "import_manifest", "data_lock")
"""Tables without a subject whose audit rows a site-restricted user does not read as study-wide rows: a
site's own and an import made at their sites are added back by `audit_site_condition`; the accounts (every
site's staff) and the locks (each lock's row holds the number and digest of every site's locked records)
never (D-19.418, D-19.453)."""


ACCOUNT_TRAIL = "app_user"
"""The table of the user accounts' audit rows (created, role, site and active changes, password sets as
fingerprints, sign-ins and failed sign-ins): read only by a role that manages users (D-19.837)."""


def audit_reader_condition(sites: tuple[str | None, ...] | None, accounts: bool) -> list[Any]:
    """The audit rows a reader may read: of `sites` (`audit_site_condition`) and, unless `accounts` (the
    reader's role manages users, `Action.MANAGE_USERS`), none about the user accounts (`ACCOUNT_TRAIL`:
    the administration of the study's staff is not study data; D-19.837)."""
    from sqlalchemy import and_, not_

    from cartrial.store.models import DataQuery

    condition = audit_site_condition(sites)
    if accounts:
        return condition
    audit = table_of(AuditLog)
    queries = table_of(DataQuery)
    # nor the rows of a data query on an account (D-19.913)
    account_queries = select(queries.c.id).where(queries.c.table_name == ACCOUNT_TRAIL)
    return [
        *condition,
        or_(audit.c.table_name.is_(None), audit.c.table_name != ACCOUNT_TRAIL),
        or_(
            audit.c.table_name.is_(None),
            not_(and_(audit.c.table_name == "data_query", audit.c.record_id.in_(account_queries))),
        ),
    ]


def audit_site_condition(sites: tuple[str | None, ...] | None) -> list[Any]:
    """Only the audit rows a user of `sites` may read (None: every row; D-19.411, D-19.418): a row about a
    subject now at one of `sites` (its subject record and all its data), a row about one of those sites'
    own site record (not a batch row: one holds every site written in its run, D-19.484), a row about an
    import made at those sites (`_site_imports`: the site recorded at import time, D-19.453, D-19.483), and
    a row about a study-wide record (no subject: the study, an escalation decision). Another site's subject,
    a deleted subject or site, another site's or a study-wide import, the user accounts (`app_user`, every
    site's staff) and the locks' rows (`_STUDY_WIDE_TRAIL`) are as absent. The one rule of every audit
    read (`audit_rows`, `audit_history`, `record_audit` through `StudyUser`, and the trail's count)."""
    from sqlalchemy import and_

    from cartrial.store.models import Site, Subject

    if sites is None:
        return []
    audit = table_of(AuditLog)
    wanted = list(sites)
    with_subjects = [
        name for name, model in STUDY_TABLES.items() if model.subject_column in columns_of(model)
    ]
    own_subjects = select(Subject.subject_id).where(Subject.site_id.in_(wanted))
    own_sites = select(table_of(Site).c.id).where(table_of(Site).c.site_id.in_(wanted))
    return [
        or_(
            audit.c.subject_id.in_(own_subjects),
            and_(
                audit.c.table_name == "site",
                audit.c.action != audit_chain.BATCH_ACTION,  # a batch row holds every site of its run
                audit.c.record_id.in_(own_sites),
            ),
            and_(audit.c.table_name == "import_manifest", audit.c.record_id.in_(_site_imports(sites))),
            and_(
                audit.c.subject_id.is_(None),
                or_(
                    audit.c.table_name.is_(None),
                    audit.c.table_name.not_in([*with_subjects, *_STUDY_WIDE_TRAIL]),
                ),
            ),
        )
    ]


def _site_imports(sites: tuple[str | None, ...]) -> Any:
    """The ids of the import manifests a user of `sites` may read: those made at one of `sites` (the
    `site_id` recorded at import time, D-19.483). A study-wide role's import (no site; so is every manifest
    written before migration 0009) may hold every site's rows, and another site's import names that site's
    files and row counts: both are as absent."""
    from cartrial.store.models import ImportManifest

    return select(table_of(ImportManifest).c.id).where(*_site_condition(ImportManifest, sites))


def tables_with_rows(connection: Connection, names: Sequence[str]) -> set[str]:
    """The study tables among `names` that hold at least one record (one indexed ``LIMIT 1`` read each)."""
    first = (select(1).select_from(table_of(STUDY_TABLES[name])).limit(1) for name in names)
    return {name for name, query in zip(names, first, strict=True) if connection.execute(query).first()}


def columns_with_values(
    connection: Connection, columns: Sequence[tuple[str, str | None]]
) -> set[tuple[str, str | None]]:
    """The (table, column) pairs among `columns` whose column holds a value in at least one record (not
    NULL, not empty text); column None: the table holds a record. One indexed ``LIMIT 1`` read each."""
    out: set[tuple[str, str | None]] = set()
    for name, column in columns:
        table = table_of(STUDY_TABLES[name])
        query = select(1).select_from(table)
        if column is not None:
            cell = table.c[column]
            query = query.where(cell.is_not(None))
            if isinstance(cell.type, String):
                query = query.where(cell != "")
        if connection.execute(query.limit(1)).first():
            out.add((name, column))
    return out


def expand_batch_row(row: Mapping[Any, Any], record_id: int | None = None) -> list[dict[str, Any]]:
    """A batch audit row (decisions D-19.10) as the per-record rows an auditor reads: one per record it
    seals (or only record `record_id`), each with the batch row's id, time, user, reason and source,
    action ``insert-batch``, the record's own id, field ``*`` and the record as canonical JSON (exactly
    what a single-record insert row holds). Any other row is returned as it is. A batch row that cannot
    be read (altered) is returned as it is too: `audit verify` names it."""
    if row.get("action") != audit_chain.BATCH_ACTION:
        return [dict(row)]
    try:
        records = audit_chain.expand_batch(row.get("new_value"))
    except ValueError:
        return [dict(row)]
    if record_id is not None:
        records = [item for item in records if item[0] == record_id]
    texts = audit_chain.canonical_json_many(state for _, state in records)
    return [
        {**row, "record_id": rid, "field": audit_chain.INSERT_FIELD, "new_value": text}
        for (rid, _), text in zip(records, texts, strict=True)
    ]


def audit_history(
    connection: Connection,
    subject_id: str,
    sites: tuple[str | None, ...] | None = None,
    *,
    accounts: bool = True,
) -> list[dict[str, Any]]:
    """Every audit row about subject `subject_id` (its subject record and all its data), in chain order;
    a batch row is shown as one row per record it created (`expand_batch_row`). `sites`: a subject of
    another site has no rows, as a subject no one ever had (`audit_site_condition`)."""
    if not isinstance(subject_id, str):  # None would select every row about no subject (IS NULL)
        raise InputError(
            Problem(
                f"a subject id must be text, not a {type(subject_id).__name__}",
                field="subject_id",
                allowed="a subject id such as 'CT-001'",
            )
        )
    table = table_of(AuditLog)
    rows = connection.execute(
        select(table)
        .where(table.c.subject_id == subject_id, *audit_reader_condition(sites, accounts))
        .order_by(table.c.id)
    ).mappings()
    return [shown for row in rows for shown in expand_batch_row(row)]


def _count_argument(name: str, value: Any) -> int:
    """A whole number ≥ 0 (an int or a numpy integer); anything else, or a negative number (SQLite reads
    ``LIMIT -1`` as no limit), is an `InputError` naming the argument (decisions D-19.65)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise InputError(Problem("not a whole number ≥ 0", field=name, value=value, allowed="0, 1, 2, …"))
    return int(value)


def audit_rows(
    connection: Connection,
    since_id: int = 0,
    limit: int | None = None,
    sites: tuple[str | None, ...] | None = None,
    *,
    last: bool = False,
    accounts: bool = True,
) -> list[dict[str, Any]]:
    """Audit rows with id above `since_id`, in chain order (at most `limit`: the first ones, or with
    `last` the newest ones). `sites`: only the rows a user of these sites may read
    (`audit_site_condition`); `accounts` False: none about the user accounts (`audit_reader_condition`)."""
    since_id = _count_argument("since_id", since_id)
    limit = None if limit is None else _count_argument("limit", limit)
    table = table_of(AuditLog)
    query = select(table).where(table.c.id > since_id, *audit_reader_condition(sites, accounts))
    query = query.order_by(table.c.id.desc() if last else table.c.id)
    if limit is not None:
        query = query.limit(limit)
    rows = [dict(row) for row in connection.execute(query).mappings()]
    return rows[::-1] if last else rows


def visible_audit_ids(
    connection: Connection, ids: Sequence[int], sites: tuple[str | None, ...] | None, accounts: bool = True
) -> set[int]:
    """The audit rows among `ids` a user of `sites` may read (`audit_reader_condition`)."""
    table = table_of(AuditLog)
    query = select(table.c.id).where(table.c.id.in_(list(ids)), *audit_reader_condition(sites, accounts))
    return {int(i) for i in connection.execute(query).scalars()}


def _refuse_impossible_filters(table_name: str, equals: dict[str, Any]) -> None:
    """Refuse a filter text no stored value can hold, as the writes refuse it (`fields.lookup_text_problem`:
    a key by the key rule, naming the character; PostgreSQL refuses a NUL even in a query) (D-19.522)."""
    for name, value in equals.items():
        problem = lookup_text_problem(table_name, name, value) if isinstance(value, str) else None
        if problem is not None:
            raise InputError(problem)


def page_records(
    connection: Connection,
    table_name: str,
    *,
    equals: dict[str, Any] | None = None,
    sites: tuple[str | None, ...] | None = None,
    date_from: Any = None,
    date_to: Any = None,
    limit: int | None = None,
    offset: int = 0,
    columns: Sequence[str] | None = None,
    count: bool = True,
    hidden: Sequence[str] = (),
) -> tuple[list[dict[str, Any]], int]:
    """One page of the records of `table_name` (in id order) and the number of all that match.

    `equals`: column values (as `find_records`); `sites`: only records of subjects at these sites (None:
    every site; a table without a subject column is not restricted); `date_from` / `date_to`: the table's
    clinical date (`clinical_date_column`) on or after / on or before these days (a table without one
    ignores them); `limit` / `offset`: the page; `columns`: only these columns of each record (always with
    `id`; None: all); `count=False` skips counting (the count returned is then the number of rows
    returned, for a caller that reads every match); `hidden`: no data query on a record of these tables
    (`query_condition`, D-19.913)."""

    model = model_of(table_name)
    known = columns_of(model)
    equals = equals or {}
    bad = [name for name in equals if name not in known or name in MASKED_COLUMNS]
    if bad:
        raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
    _refuse_impossible_filters(table_name, equals)
    table = table_of(model)
    conditions = [table.c[k] == coerce(known[k], v, table_name) for k, v in equals.items()]
    conditions += _site_condition(model, sites)
    conditions += query_condition(model, hidden)
    date_column = getattr(model, "clinical_date_column", None)
    if date_column and date_column in known:
        column = table.c[date_column]
        as_datetime = is_datetime(known[date_column])
        if date_from is not None:
            start = dt.datetime.combine(date_from, dt.time(), dt.UTC) if as_datetime else date_from
            conditions.append(column >= start)
        if date_to is not None:
            end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), dt.UTC)
            conditions.append(column < end if as_datetime else column <= date_to)
    if columns is None:  # never a secret column (D-19.428)
        selected: Any = select(*(table.c[name] for name in known if name not in MASKED_COLUMNS))
    else:
        unknown = [name for name in columns if name not in known or name in MASKED_COLUMNS]
        if unknown:
            raise InputError(Problem("unknown column", field=table_name, value=", ".join(unknown)))
        selected = select(*(table.c[name] for name in dict.fromkeys(("id", *columns))))
    query = selected.where(*conditions).order_by(table.c.id)
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)

    def fetch(left_out: Sequence[Any]) -> list[dict[str, Any]]:
        result = connection.execute(query.where(*left_out))
        keys = tuple(result.keys())
        return [dict(zip(keys, row, strict=True)) for row in result.all()]  # one fetch, no row mappings

    # a stored date no reader reads: refused by its record (D-19.556); a list page leaves it out (D-19.559)
    rows = read_leaving_out(connection, query, fetch)
    if not count:
        return rows, len(rows)
    if (rows or offset == 0) and (limit is None or len(rows) < limit):
        return rows, offset + len(rows)  # the last page: the count needs no second query
    total = int(connection.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one())
    return rows, total


def _day_expression(connection: Connection, model: Any) -> Any:
    """SQL for the UTC calendar day (ISO text) of the model's `clinical_date_column` (None: no such
    column): a date-time's UTC date (`_moment_expression` and `_site_day` read it on a site's calendar)."""
    from sqlalchemy import String, type_coerce

    columns = columns_of(model)
    date_column = model.clinical_date_column
    if not date_column or date_column not in columns:
        return None
    column = table_of(model).c[date_column]
    if connection.dialect.name == "postgresql":
        moment = func.timezone("UTC", column) if is_datetime(columns[date_column]) else column
        day: Any = func.to_char(moment, "YYYY-MM-DD")
    else:  # SQLite keeps dates as ISO text and date-times as UTC ISO text without zone
        day = func.substr(type_coerce(column, String), 1, 10)
    return type_coerce(day, String)


_DAY = dt.date.fromisoformat
"""The reader of a stored day's text (`_day_expression`)."""


def _moment_expression(connection: Connection, model: Any) -> Any:
    """SQL for the UTC instant (ISO text to the microsecond) of the model's `clinical_date_column` when it is
    a date-time, else None: what a site's calendar reads its day from (`_site_day`, D-19.607) — an instant at
    exactly 00:00:00Z as its date (ISO text, ten characters), the date typed (D-19.947)."""
    from sqlalchemy import type_coerce

    columns = columns_of(model)
    date_column = model.clinical_date_column
    if not date_column or date_column not in columns or not is_datetime(columns[date_column]):
        return None
    from sqlalchemy import case

    column = table_of(model).c[date_column]
    # exactly 00:00:00Z, a date typed without a time, is that date's text, which `_site_day` reads as the
    # date typed on every calendar (`cartrial.columns.typed_site_moment`, D-19.618, D-19.947)
    if connection.dialect.name == "postgresql":
        utc = func.timezone("UTC", column)
        moment: Any = case(
            (utc == func.date_trunc("day", utc), func.to_char(utc, "YYYY-MM-DD")),
            else_=func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US'),
        )
    else:  # SQLite keeps date-times as UTC ISO text without zone ("2021-08-02 00:00:00.000000")
        text = type_coerce(column, String)
        moment = case(
            (func.rtrim(func.substr(text, 12), "0:.") == "", func.substr(text, 1, 10)),
            else_=func.substr(text, 1, 26),
        )
    return type_coerce(moment, String)


def _site_day(text: str, zone: str | None) -> dt.date:
    """The date on the site's calendar (`cartrial.columns.typed_site_date`, the one rule; D-19.607,
    D-19.947) of a stored instant's text (`_moment_expression`: a date typed without a time as its date) or a
    stored day's text; ValueError for neither."""
    if len(text) <= 10:
        return _DAY(text)
    day = typed_site_date(utc_moment(text), zone)
    assert day is not None
    return day


def _stored_day(text: str, table_name: str, column: str | None, record_id: int | None = None) -> Any:
    """The day of a stored clinical date's text (`_day_expression`), else the located refusal of a value
    cartrial never writes (`StoredValueError`, never the value; D-19.556). A loop over many rows parses
    with `_DAY` itself and calls this on its `ValueError` only (per row, the call costs)."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        timed = column is not None and is_datetime(columns_of(model_of(table_name))[column])
        problem = unreadable_date(table_name, column or "clinical date", record_id, timed=timed)
        raise unreadable_dates([problem]) from None


def list_filters(table_name: str) -> tuple[bool, bool]:
    """Whether `page_records` of `table_name` can filter by site (`_site_condition` restricts it) and by
    clinical date (`clinical_date_column`): a list route refuses a filter its table cannot apply instead of
    ignoring it (D-19.1041)."""
    model = model_of(table_name)
    date_column = getattr(model, "clinical_date_column", None)
    return bool(_site_condition(model, ("",))), bool(date_column and date_column in columns_of(model))


def _site_condition(model: Any, sites: tuple[str | None, ...] | None) -> list[Any]:
    """Only the records of `sites`: a subject's by its site, a site's by its own id (another site's name
    and details are not a site-restricted user's to read, D-19.411), a subject's data by its subject; a
    user account of `sites` or of the study-wide staff (no site), an import manifest of an import made at
    `sites` (its `site_id`, recorded at import time, D-19.483); every other study-level record (the study,
    escalation decisions) is shown (D-19.453)."""
    from cartrial.store.models import ImportManifest, Subject, User
    from cartrial.store.writes import own_site_column

    if sites is None:
        return []
    table = table_of(model)
    own = own_site_column(model)
    if own is not None:
        return [table.c[own].in_(list(sites))]
    if model is User:
        return [or_(table.c.site_id.in_(list(sites)), table.c.site_id.is_(None))]
    if model is ImportManifest:
        return [table.c.site_id.in_(list(sites))]
    column = model.subject_column
    if column and column in columns_of(model):
        return [table.c[column].in_(select(Subject.subject_id).where(Subject.site_id.in_(list(sites))))]
    return []


def subject_days(
    connection: Connection,
    table_name: str,
    *,
    sites: tuple[str | None, ...] | None = None,
    time_zones: Mapping[str, str] | None = None,
) -> list[tuple[str, Any]]:
    """The distinct (subject id, clinical day) pairs of `table_name`'s records, grouped in the database
    (a study-wide view needs the days, not the thousand records of each subject): the calendar day of the
    table's `clinical_date_column` — a date-time's date on its subject's site calendar (`time_zones`:
    subject id → the site's IANA zone; a subject not listed, UTC; D-19.607) —, undated records left out;
    `sites` as in `page_records`. An empty list for a table without subject or date column.

    With zones, each distinct (subject, instant) is read and placed on its site day: exact across a clock
    set back over midnight (Goose Bay, 7 November 2010: one UTC day's instants read 7, 6, 7 November).
    Grouping by UTC day with its first and last instant is exact only with a check of their two offsets,
    and measured no faster (D-19.616)."""

    model = model_of(table_name)
    day = _day_expression(connection, model)
    subject_column = model.subject_column
    if day is None or not subject_column or subject_column not in columns_of(model):
        return []
    zones = time_zones or {}
    moment = _moment_expression(connection, model) if zones else None
    table = table_of(model)
    conditions = [table.c[str(model.clinical_date_column)].is_not(None), *_site_condition(model, sites)]

    def fetch(left_out: Sequence[Any]) -> list[tuple[str, Any]]:
        read = day if moment is None else moment
        query = select(table.c[subject_column], read).where(*conditions, *left_out).distinct()
        out: dict[tuple[str, Any], None] = {}
        for subject, text in connection.execute(query).all():
            try:
                found = _site_day(text, zones.get(str(subject))) if moment is not None else _DAY(text)
            except ValueError:
                found = _stored_day(text, table.name, model.clinical_date_column)
            out[(str(subject), found)] = None  # two instants of one site day: one pair
        return list(out)

    # refused by its records (D-19.556); a list page leaves them out (D-19.559)
    return read_leaving_out(connection, select(table).where(*conditions), fetch)


def record_days(
    connection: Connection,
    table_name: str,
    *,
    equals: dict[str, Any] | None = None,
    sites: tuple[str | None, ...] | None = None,
    time_zone: str | None = None,
) -> list[tuple[int, Any]]:
    """(id, clinical day or None) of every record of `table_name` matching `equals` and `sites` (as
    `page_records`), in id order: what placing records on a schedule needs, read from the natural-key
    index where it covers the date (no record is loaded). The clinical day is the calendar day of the
    `clinical_date_column` (a date-time's on the calendar of `time_zone`, the subject's site's; UTC without
    one; D-19.607); a table without one gives None days."""
    return record_days_by_table(connection, [table_name], equals=equals, sites=sites, time_zone=time_zone)[
        table_name
    ]


def record_days_by_table(
    connection: Connection,
    table_names: Sequence[str],
    *,
    equals: dict[str, Any] | None = None,
    sites: tuple[str | None, ...] | None = None,
    time_zone: str | None = None,
) -> dict[str, list[tuple[int, Any]]]:
    """`record_days` of several tables in one statement (``UNION ALL``: one round trip for a casebook's
    fifteen forms), table name → [(id, day or None)] in id order; a date-time's day on the calendar of
    `time_zone` (one subject's site; UTC without one; D-19.607)."""

    from sqlalchemy import String, literal, null, type_coerce, union_all

    selects = []
    for table_name in table_names:
        model = model_of(table_name)
        columns = columns_of(model)
        wanted = equals or {}
        bad = [name for name in wanted if name not in columns]
        if bad:
            raise InputError(Problem("unknown column", field=table_name, value=", ".join(bad)))
        table = table_of(model)
        conditions = [table.c[k] == coerce(columns[k], v, table_name) for k, v in wanted.items()]
        conditions += _site_condition(model, sites)
        moment = _moment_expression(connection, model) if time_zone else None
        day = _day_expression(connection, model) if moment is None else moment
        selects.append(
            select(
                type_coerce(literal(table_name), String).label("form_table"),
                table.c.id.label("record_id"),
                (day if day is not None else type_coerce(null(), String)).label("day"),
            ).where(*conditions)
        )
    out: dict[str, list[tuple[int, Any]]] = {name: [] for name in table_names}
    if not selects:
        return out
    date_columns = {name: model_of(name).clinical_date_column for name in out}  # per table, not per row
    for name, record_id, text in connection.execute(union_all(*selects)).all():
        day = None
        if text:
            try:
                day = _site_day(text, time_zone) if time_zone else _DAY(text)
            except ValueError:
                day = _stored_day(text, name, date_columns[name], int(record_id))
        out[name].append((int(record_id), day))
    for rows in out.values():
        rows.sort(key=lambda row: row[0])
    return out


def records_by_id(
    connection: Connection, table_name: str, ids: Sequence[int], columns: Sequence[str]
) -> dict[int, dict[str, Any]]:
    """The given `columns` (and `id`) of the records `ids` of `table_name`, by id (no permission or site
    check: for a caller that got the ids from a checked read)."""
    if not ids:
        return {}
    model = model_of(table_name)
    table = table_of(model)
    selected = select(*(table.c[name] for name in dict.fromkeys(("id", *columns))))
    query = selected.where(table.c.id.in_(list(ids)))
    with locating(connection, query):  # a stored date no reader reads, by its record (D-19.556)
        result = connection.execute(query)
        keys = tuple(result.keys())
        return {int(row[0]): dict(zip(keys, row, strict=True)) for row in result.all()}


def record_audit(connection: Connection, table_name: str, record_id: int) -> list[dict[str, Any]]:
    """Every audit row about one record (its insert, each changed field, its deletion), in chain order.

    A record created by a bulk import is sealed by a batch row (decisions D-19.10) whose `record_id` is the
    first id of its range: the batch rows starting at most `BATCH_MAX_RECORDS` - 1 ids before this one are
    read (the index on table and record id), those whose range holds it are shown as this record's own
    insert row (`expand_batch_row`)."""
    record_id = record_id_of(record_id)
    if not valid_record_id(record_id):
        return []
    table = table_of(AuditLog)
    rows = connection.execute(
        select(table)
        .where(
            table.c.table_name == table_name,
            table.c.record_id == record_id,
            table.c.action != audit_chain.BATCH_ACTION,
        )
        .order_by(table.c.id)
    ).mappings()
    found = [dict(row) for row in rows]
    candidates = connection.execute(
        select(table.c.id, table.c.action, table.c.record_id, table.c.field).where(
            table.c.table_name == table_name,
            table.c.record_id.between(record_id - audit_chain.BATCH_MAX_RECORDS + 1, record_id),
            table.c.action == audit_chain.BATCH_ACTION,
        )
    ).mappings()
    batch_ids = [
        int(c["id"])
        for c in candidates
        if (ids := audit_chain.batch_ids(c)) is not None and ids[0] <= record_id <= ids[1]
    ]
    if batch_ids:
        for row in connection.execute(select(table).where(table.c.id.in_(batch_ids))).mappings():
            found += expand_batch_row(row, record_id)
        found.sort(key=lambda row: int(row["id"]))
    return found
