"""Table and column helpers shared by the store's modules: model lookup, value coercion and comparison,
the columns the service maintains itself, masked values, and the checks every write repeats.

Nothing here touches a connection except `integrity_error`, which translates the database's refusal.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
from collections.abc import Iterator, Mapping, Sequence
from hashlib import sha256
from typing import Any, cast

import numpy as np
from sqlalchemy import Column, Date, DateTime, Table
from sqlalchemy.exc import IntegrityError

from cartrial.allowed import choice_text
from cartrial.columns import utc_moment
from cartrial.errors import InputError, Problem
from cartrial.store.audit import canonical_json
from cartrial.store.models import ROLES, STUDY_TABLES, StoredDate, StudyData, UtcDateTime

RowLike = Mapping[Any, Any]
"""A record as a mapping of column name to value (a dict or a SQLAlchemy `RowMapping`)."""

HOUSEKEEPING_COLUMNS = frozenset({"id", "version", "created_at", "updated_at"})
"""Columns the service maintains itself; they cannot be written through the API."""
MASKED_COLUMNS = frozenset({"password_hash"})
"""Columns whose values never enter the audit trail: recorded as a fingerprint (`masked`)."""
MASK_PREFIX = "<set"
"""How every recorded masked value begins (``<set>``: a trail written before D-19.360)."""


def masked(value: Any) -> str | None:
    """What the audit trail records for a masked column's value (D-19.360): ``<set sha256:…>``, the first
    32 hex digits of the SHA-256 of the stored text (None stays None). The password hash itself never
    enters the trail, yet a hash replaced directly in the database no longer matches its record. The
    fingerprint is of an argon2id hash (salted, slow): it gives nobody a way to test passwords."""
    if value is None:
        return None
    return f"{MASK_PREFIX} sha256:{sha256(str(value).encode()).hexdigest()[:32]}>"


def table_of(model: type[Any]) -> Table:
    return cast(Table, model.__table__)


def model_of(table_name: str) -> type[StudyData]:
    model = STUDY_TABLES.get(table_name)
    if model is None:
        raise InputError(
            Problem(
                "unknown table", field="table", value=table_name, allowed=choice_text(sorted(STUDY_TABLES))
            )
        )
    return model


def columns_of(model: type[StudyData]) -> dict[str, Column[Any]]:
    """Column name → column of the model's table (a fresh dict over a per-model cache: the tables are
    fixed at import, and this is called for every read)."""
    cached = _COLUMNS_BY_MODEL.get(model)
    if cached is None:
        cached = _COLUMNS_BY_MODEL[model] = {c.name: c for c in table_of(model).columns}
    return dict(cached)


_COLUMNS_BY_MODEL: dict[Any, dict[str, Column[Any]]] = {}


def data_columns(model: type[StudyData]) -> list[str]:
    return [name for name in columns_of(model) if name not in HOUSEKEEPING_COLUMNS]


MAX_REASON_LENGTH = 2000
"""The longest reason for a change, query text or answer (audit trail, data queries): a sentence or a
short paragraph, as a form's text box holds; the web routes declare their limits with this value."""
NOTE_ALLOWED = f"printable text of at most {MAX_REASON_LENGTH} characters (tab and line breaks are allowed)"
REASON_ALLOWED = f"why the data change: {NOTE_ALLOWED}"


def check_note(text: str, field: str, allowed: str = NOTE_ALLOWED) -> str:
    """Refuse a free text the audit trail or a data query should not hold — a reason for a change, a query
    text, an answer — (a control character: a NUL has no place in an audit record, and escape sequences would
    rewrite a terminal showing `audit log`; longer than `MAX_REASON_LENGTH`); returns it stripped. The one
    rule of such a text: `check_reason`, `cartrial.store.queries.query_text`."""
    from cartrial.columns import CONTROL_CHARACTERS, NOT_UNICODE_ALLOWED, is_unicode_text

    stripped = text.strip()
    if not is_unicode_text(stripped):  # D-19.197: not shown, it cannot be printed
        message = f"the {field.replace('_', ' ')} is not Unicode text"
        raise InputError(Problem(message, field=field, allowed=NOT_UNICODE_ALLOWED))
    problem = None
    if re.search(CONTROL_CHARACTERS, stripped):
        problem = f"the {field.replace('_', ' ')} contains a control character"
    elif len(stripped) > MAX_REASON_LENGTH:
        problem = f"the {field.replace('_', ' ')} is too long ({len(stripped)} characters)"
    if problem is not None:
        shown = stripped if len(stripped) <= 60 else stripped[:57] + "…"
        raise InputError(Problem(problem, field=field, value=shown, allowed=allowed))
    return stripped


def check_reason(reason: str) -> str:
    """`check_note` for a reason for a change (a single change's, `require_reason`, or a transaction's,
    e.g. an import's)."""
    return check_note(reason, "reason", REASON_ALLOWED)


def shows_nothing(text: str) -> bool:
    """Whether `text` has no character a reader sees: only white space and characters no key text holds
    (`cartrial.store.fields.refused_character`: format, control and other invisible characters, the
    Default_Ignorable_Code_Point characters such as U+200B ZERO WIDTH SPACE and the Hangul fillers). Such a
    reason or query text is as empty as a blank one (D-19.819)."""
    from cartrial.store.fields import refused_character

    return all(character.isspace() or refused_character(character) for character in text)


def require_reason(reason: str | None, what: str) -> str:
    """`reason` stripped (`check_reason`); a missing, blank or invisible one (`shows_nothing`, D-19.819) is
    refused: 21 CFR 11.10(e) and ICH E6(R3) 4.2.4 ask why each change was made."""
    if reason is None or shows_nothing(reason):
        raise InputError(
            Problem(
                f"a reason is required for every {what} (21 CFR 11.10(e), ICH E6(R3) 4.2.4)",
                field="reason",
                value=reason,
                allowed=REASON_ALLOWED,
            )
        )
    return check_reason(reason)


def require_identifier(value: str, what: str) -> None:
    """Refuse a blank identifier or one with leading/trailing spaces (easily mistyped, never matched)."""
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise InputError(
            Problem(
                f"not a usable {what}",
                field=what,
                value=value,
                allowed="non-blank text without leading or trailing spaces",
            )
        )


def audit_value(column: str, value: Any) -> str | None:
    if value is None:
        return None
    if column in MASKED_COLUMNS:
        return canonical_json(masked(value))
    return canonical_json(value)


def record_json(values: RowLike) -> str:
    if "password_hash" not in values:
        return canonical_json(values)
    return canonical_json({k: (masked(v) if k in MASKED_COLUMNS else v) for k, v in values.items()})


MAX_RECORD_ID = 2**31 - 1
"""The largest record id any table can hold (the ids are PostgreSQL INTEGER columns; SQLite would take more,
but no study reaches two thousand million records): a larger id names no record — and PostgreSQL refuses
even to compare one, so the store answers such a request as "no record" without asking the database."""


def record_id_of(record_id: Any) -> int:
    """`record_id` as a Python int: an int or a numpy integer (a notebook's ``frame.loc[i, "id"]``) is
    accepted; anything else (text, a float, None, a bool) is an `InputError` naming the value — never a
    comparison error from deep inside, nor a numpy scalar the database driver cannot bind (decisions
    D-19.65)."""
    if isinstance(record_id, bool) or not isinstance(record_id, numbers.Integral):
        raise InputError(
            Problem(
                "a record id must be a whole number",
                field="id",
                value=record_id,
                allowed=f"a whole number from 1 to {MAX_RECORD_ID}",
            )
        )
    return int(record_id)


def plain_row(values: Any, where: str) -> dict[str, Any]:
    """The values of one record as a dict of plain Python values: a mapping or a pandas Series (a row of a
    notebook's frame) is accepted, numpy scalars are taken as the Python number or bool they hold (the
    database drivers cannot bind them: an ``np.int64`` was stored as bytes, or matched nothing in a
    filter). Anything else (None, a list, a DataFrame) is an `InputError` naming what was given
    (decisions D-19.65)."""
    to_dict = getattr(values, "to_dict", None)
    if not isinstance(values, Mapping) and callable(to_dict) and getattr(values, "ndim", None) == 1:
        values = to_dict()  # a pandas Series
    if not isinstance(values, Mapping):
        raise InputError(
            Problem(
                f"the values of a record must be a mapping of column to value, not a {type(values).__name__}",
                field=where,
                allowed="a dict (column → value) | a pandas Series",
            )
        )
    return {name: (v.item() if isinstance(v, np.generic) else v) for name, v in values.items()}


def plain_rows(rows: Any, where: str) -> Sequence[Any]:
    """`rows` for a bulk write: a list or tuple of records (each checked and made plain by `plain_row` when
    it holds a numpy scalar or is not a dict). A DataFrame or any other single object is an `InputError`
    saying how to pass it (decisions D-19.65)."""
    if not isinstance(rows, list | tuple):
        raise InputError(
            Problem(
                f"rows must be a list of records, not a {type(rows).__name__}",
                field=where,
                allowed='a list of dicts (a DataFrame: frame.to_dict("records"))',
            )
        )
    if all(type(row) is dict for row in rows) and not any(
        isinstance(v, np.generic) for row in rows for v in row.values()
    ):
        return rows
    return [plain_row(row, f"{where}[{number}]") for number, row in enumerate(rows, start=1)]


def valid_record_id(record_id: int) -> bool:
    """Whether `record_id` can name a stored record (1 … `MAX_RECORD_ID`)."""
    return 1 <= record_id_of(record_id) <= MAX_RECORD_ID


DATE_ALLOWED = "a datetime.date | ISO 8601 date text YYYY-MM-DD (a Timestamp or datetime: its .date())"
DATETIME_ALLOWED = "a datetime or pandas Timestamp with a time zone | ISO 8601 text with Z or an offset"


def plain_temporal(column: Column[Any], value: Any) -> bool:
    """`value` is what a date (a `datetime.date`) or date-time (a UTC `datetime`) column stores as it is."""
    if is_datetime(column):
        return value.__class__ is dt.datetime and value.tzinfo is dt.UTC
    return value.__class__ is dt.date


def coerce(column: Column[Any], value: Any, where: str) -> Any:
    """Accept ISO text for date and date-time columns; everything else is passed to the database.

    A date or date-time column takes (decisions D-19.74): None, NaN or NaT (pandas' blanks) as no value; a
    date column a `datetime.date` (a `datetime` or pandas Timestamp, even at midnight, is refused: its time
    and zone would be dropped silently, as for a cut-off, D-19.67); a date-time column a `datetime` or
    pandas Timestamp with a zone, stored in UTC (a naive one, a `numpy.datetime64` or a `date` is refused).
    Any other value is an `InputError` naming the field, its type and what is allowed (not the value)."""
    if value is not None and not isinstance(value, str) and is_temporal(column):
        return _temporal_value(column, value, f"{where}.{column.name}")
    if value is None or not isinstance(value, str):
        return value
    if is_datetime(column):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InputError(
                Problem("not an ISO 8601 date-time", field=f"{where}.{column.name}", value=value)
            ) from exc
        if parsed.tzinfo is None:
            raise InputError(
                Problem(
                    "date-time without a time zone",
                    field=f"{where}.{column.name}",
                    value=value,
                    allowed="ISO 8601 with Z or an offset",
                )
            )
        try:
            return utc_moment(parsed)
        except ValueError as exc:
            raise InputError(
                Problem(
                    str(exc),
                    field=f"{where}.{column.name}",
                    value=value,
                    allowed="ISO 8601 with Z or an offset, within the years 1 to 9999 in UTC",
                )
            ) from exc
    if isinstance(column.type, Date | StoredDate):
        try:
            return dt.date.fromisoformat(value)
        except ValueError as exc:
            raise InputError(
                Problem("not an ISO 8601 date (YYYY-MM-DD)", field=f"{where}.{column.name}", value=value)
            ) from exc
    return value


def _temporal_value(column: Column[Any], value: Any, field: str) -> Any:
    if isinstance(value, float | np.floating | np.datetime64 | dt.datetime) and value != value:
        return None  # NaN, NaT: pandas' blank
    if isinstance(value, np.datetime64):  # has no zone: a naive date-time
        value = value.astype("datetime64[us]").item()
    what = type(value).__name__
    if is_datetime(column):
        if not isinstance(value, dt.datetime):
            message = (
                "a date given where a date-time is expected"
                if isinstance(value, dt.date)
                else "not a date-time"
            )
            raise InputError(Problem(f"{message}: a {what}", field=field, allowed=DATETIME_ALLOWED))
        if value.tzinfo is None or value.utcoffset() is None:
            raise InputError(
                Problem(
                    f"date-time without a time zone: a naive {what}", field=field, allowed=DATETIME_ALLOWED
                )
            )
        to_pydatetime = getattr(value, "to_pydatetime", None)
        moment = to_pydatetime() if callable(to_pydatetime) else value  # a pandas Timestamp
        try:
            return utc_moment(moment)  # stored and audited in UTC
        except ValueError as exc:
            raise InputError(Problem(str(exc), field=field, allowed=DATETIME_ALLOWED)) from exc
    if isinstance(value, dt.datetime):
        raise InputError(
            Problem(
                f"a date-time given where a date is expected: a {what}", field=field, allowed=DATE_ALLOWED
            )
        )
    if not isinstance(value, dt.date):
        raise InputError(Problem(f"not a date: a {what}", field=field, allowed=DATE_ALLOWED))
    return value


def is_temporal(column: Column[Any]) -> bool:
    return isinstance(column.type, UtcDateTime | DateTime | Date | StoredDate)


def is_datetime(column: Column[Any]) -> bool:
    return isinstance(column.type, UtcDateTime | DateTime)


def same_value(old: Any, new: Any) -> bool:
    if old is None or new is None:
        return old is None and new is None
    if isinstance(old, float) or isinstance(new, float):
        try:
            return float(old) == float(new)
        except (TypeError, ValueError):
            return False
    return bool(old == new)


def restates(before: Any, row: Mapping[str, Any]) -> bool:
    """Whether `row` restates the stored record `before` unchanged: a stored record (not None) whose every
    field `row` gives holds the same value (`same_value`). Such a row is not written and not judged, by
    every write path alike (the single write, `Transaction.upsert_rows`, the bulk write, the import's
    checks; D-19.836). `before`: anything with ``get`` (a stored row's mapping, an edit check's record)."""
    return before is not None and all(same_value(before.get(name), value) for name, value in row.items())


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SQLITE_REFUSAL = re.compile(r"(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.*))?")
_RULE_KINDS = {
    "UNIQUE": "unique key",
    "NOT NULL": "required column",
    "CHECK": "rule",
    "FOREIGN KEY": "reference to a stored record",
    "23505": "unique key",
    "23502": "required column",
    "23514": "rule",
    "23503": "reference to a stored record",
}


def refused_rule(exc: IntegrityError, table_name: str) -> tuple[str, list[str]] | None:
    """The kind of rule and the column (or constraint) names of a database refusal, from SQLite's first line
    (``UNIQUE constraint failed: t.a, t.b``) or psycopg's diagnostics (constraint and column name, a
    constraint read back as its columns in the table's metadata); names only, never a value (the DETAIL
    line is not read). None: not recognised."""
    orig = exc.orig
    diag = getattr(orig, "diag", None)
    names: list[str] = []
    if diag is not None:  # psycopg
        kind = _RULE_KINDS.get(str(getattr(orig, "sqlstate", "") or ""))
        constraint = diag.constraint_name
        if diag.column_name:
            names = [diag.column_name]
        elif constraint:
            names = _constraint_columns(table_name, constraint) or [constraint]
    else:
        match = _SQLITE_REFUSAL.fullmatch(str(orig).splitlines()[0].strip() if str(orig) else "")
        if match is None:
            return None
        kind = _RULE_KINDS[match.group(1)]
        for part in (match.group(2) or "").split(","):
            part = part.strip()
            if part.startswith("index "):
                part = part.removeprefix("index ").strip("'\"")
            names.append(part.rsplit(".", 1)[-1])
    names = [name for name in names if _IDENTIFIER.fullmatch(name)]  # names, never a value
    if kind is None:
        return None
    return kind, names


def _constraint_columns(table_name: str, constraint: str) -> list[str]:
    """The columns of the named constraint of `table_name` (its primary key: ``id``); empty if unknown."""
    try:
        table = table_of(model_of(table_name))
    except InputError:
        return []
    if constraint == f"{table_name}_pkey":
        return [c.name for c in table.primary_key.columns]
    for item in (*table.constraints, *table.indexes):
        if getattr(item, "name", None) == constraint:
            return [c.name for c in getattr(item, "columns", ())]
    return []


def integrity_error(exc: IntegrityError, table_name: str) -> InputError:
    """The database's refusal of a write to `table_name`, without the driver's text (which may quote a
    record value, D-12.2; D-19.432): the table, the kind of rule and its columns (`refused_rule`)."""
    rule = refused_rule(exc, table_name)
    what = ""
    if rule is not None:
        kind, names = rule
        what = f": its {kind}" + (f" ({', '.join(names)})" if names else "")
    return InputError(
        Problem(
            f"the database refused the write to {table_name}{what}",
            field=table_name,
            allowed="values that keep the table's keys unique, refer to stored records and fill required "
            "columns (another writer may have stored the same record meanwhile: retry)",
        )
    )


def referring_table(exc: IntegrityError) -> str | None:
    """The study table whose records refer to a record whose delete the database refused, from psycopg's
    diagnostics (a table name, never a value); None on SQLite, whose refusal names no table, or when the
    name is not a study table's. The refusal's text is never shown (D-12.2, D-19.456)."""
    name = getattr(getattr(exc.orig, "diag", None), "table_name", None)
    return name if isinstance(name, str) and name in STUDY_TABLES else None


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def python_default(column: Column[Any]) -> Any:
    default: Any = column.default
    if default is None:
        return None
    if getattr(default, "is_callable", False):
        return default.arg(None)
    return getattr(default, "arg", None)


def site_table() -> Any:
    return table_of(STUDY_TABLES["site"])


def query_table() -> Any:
    return table_of(STUDY_TABLES["data_query"])


def check_role(role: str) -> None:
    if role not in ROLES:
        raise InputError(Problem("unknown role", field="role", value=role, allowed=choice_text(ROLES)))
