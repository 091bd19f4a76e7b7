"""Stored dates and date-times cartrial never writes: the one refusal, by record, never the value.

SQLite keeps any text in a date or date-time column; a value put in with SQL (``zzzz``, ``2021-13-45``) is
refused by the column types' own readers (`cartrial.store.models.UtcDateTime`, `StoredDate`) with a
`StoredValueError` naming the table and column (D-19.556), and by the snapshot read by its record
(D-19.543). `locating` adds the record ids where the failed query has them; within
`leaving_out_unreadable` a list read leaves these records out and names them instead (D-19.559); an update
setting each such date repairs the record (`writes.record_to_repair`, D-19.560). PostgreSQL's ``date`` and
``timestamptz`` columns refuse such text at the write: nothing to refuse at a read there.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Connection, String, Table, type_coerce
from sqlalchemy import cast as sql_cast
from sqlalchemy.exc import SQLAlchemyError

from cartrial.errors import Problem, StoredValueError

if TYPE_CHECKING:
    import numpy as np

UNREADABLE_DATE_HEADER = (
    "The study database holds a date that cartrial never stores (changed directly in the database; "
    "`cartrial audit verify` checks the records against the audit trail; `cartrial db edit` setting each "
    "such date, with a reason, corrects the record; an unreadable `created_at` cannot be set by an edit):"
)

UNREADABLE_NUMBER_HEADER = (
    "The study database holds a number that cartrial never stores (not a finite number, or not a whole "
    "number in range: changed directly in the database; `cartrial audit verify` checks the records against "
    "the audit trail; `cartrial db edit` setting each such number, with a reason, corrects the record):"
)


def non_finite(value: Any) -> bool:
    """Whether `value` is or holds (inside a JSON document) a NaN or an infinity (float or Decimal): the one
    rule of a stored value cartrial never writes for being no finite number (D-19.1062, D-19.1096). Its input
    readers refuse them (D-19.1046); `audit verify` reports one as a finding, every read refuses it
    (`models.StoredNumber`, `non_finite_cells`). A float is any ``float`` or numpy floating scalar
    (``np.float64``, a float subclass, and ``np.float32``, none, as a caller of the Python API may hand
    in): judged by its value, never by its class (D-19.1154)."""
    if type(value) is float:
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    if isinstance(value, dict):
        return any(non_finite(item) for item in value.values())
    if isinstance(value, list):
        return any(non_finite(item) for item in value)
    if _a_float(value.__class__):
        return not math.isfinite(float(value))
    return False


def _a_float(kind: type) -> bool:
    """Whether values of class `kind` are floats `non_finite` judges by value: ``float`` and its subclasses
    (``numpy.float64``) and numpy's floating scalars (``numpy.float32``, ``numpy.float16``, ...). numpy is
    not imported for it: a numpy scalar exists only once numpy is."""
    if issubclass(kind, float):
        return True
    np = sys.modules.get("numpy")
    return np is not None and issubclass(kind, np.floating)


_BLANK = type(None)


def any_non_finite(values: Sequence[Any]) -> bool:
    """Whether any of `values` (one column of rows to write) is or holds a NaN or an infinity (`non_finite`,
    the one rule): in C for a column of floats and blanks (`numpy.isfinite`; a float is a Python or numpy
    float, `_a_float`, D-19.1154), else value by value. The bulk write refuses such a column, so that
    cartrial never writes one (D-19.1100). A column of floats is read by `numpy.fromiter` without a list of
    its values; with blanks, which read as NaN, it holds a non-finite number exactly when fewer cells are
    finite than are not blank (no list of the other values either, D-19.1151)."""
    import numpy as np

    kinds = set(map(type, values))
    floats = kinds - {_BLANK}
    if not all(map(_a_float, floats)):
        return any(map(non_finite, values))
    if not floats:  # no values, or only blanks
        return False
    n = len(values)
    if _BLANK not in kinds:
        return not bool(np.isfinite(np.fromiter(values, dtype=float, count=n)).all())
    finite = int(np.count_nonzero(np.isfinite(np.array(values, dtype=float))))  # None -> NaN
    return finite != n - operator.countOf(values, None)


def readable_number(value: Any) -> bool:
    """Whether the stored `value` of a number column is one cartrial writes: empty (None) or a finite
    ``float`` (what SQLite's REAL and PostgreSQL's double precision give). NaN, ±Infinity (`non_finite`) and
    anything else SQLite keeps in the column (text, a BLOB) are not (D-19.1096)."""
    return value is None or (type(value) is float and not non_finite(value))


STORED_INTEGER_BOUNDS = (-(2**31), 2**31 - 1)
"""The whole numbers cartrial stores in an integer column (PostgreSQL INTEGER is 32-bit; `fields.
INTEGER_BOUNDS`, the field rule, is this): on SQLite, which keeps any integer up to 64 bits, a larger value
(or text, or a REAL, which SQLite makes of an integer beyond 64 bits) can only come from SQL (D-19.1097)."""


def readable_integer(value: Any) -> bool:
    """Whether the stored `value` of a whole-number column is one cartrial writes: empty (None) or an
    ``int`` within `STORED_INTEGER_BOUNDS` (text, a REAL, a BLOB are not; D-19.1097)."""
    low, high = STORED_INTEGER_BOUNDS
    return value is None or (type(value) is int and low <= value <= high)


def unreadable_integer_cells(values: Sequence[Any]) -> np.ndarray:
    """`not readable_integer(v)` for each stored value of one whole-number column, vectorised for the
    common column (ints and None, compared in C as floats: the bounds are exact in a double); any other
    kind of value is checked value by value (the rare case, where the read is refused anyway)."""
    import numpy as np

    kinds = set(map(type, values))
    if kinds <= {int, type(None)}:
        low, high = STORED_INTEGER_BOUNDS
        try:
            numbers = np.array(values, dtype=float)  # None -> NaN, which compares False
        except OverflowError:  # an int beyond any double (10**400, given to the bulk write): value by value
            return np.array([not readable_integer(v) for v in values], dtype=bool)
        return np.asarray((numbers < low) | (numbers > high), dtype=bool)
    return np.array([not readable_integer(v) for v in values], dtype=bool)


def non_finite_cells(values: Sequence[Any]) -> np.ndarray:
    """`not readable_number(v)` for each of the stored `values` of one number column, vectorised for the
    common column (floats and None, in C: `numpy.isfinite`; None reads as NaN and is masked out); a column
    holding anything else is checked value by value (the rare case, where the read is refused anyway)."""
    import numpy as np

    kinds = set(map(type, values))
    if kinds <= {float, type(None)}:
        numbers = np.array(values, dtype=float)  # None -> NaN
        present = np.array(values, dtype=object) != None  # noqa: E711 (elementwise: numpy)
        return np.asarray(~np.isfinite(numbers) & present, dtype=bool)
    return np.array([not readable_number(v) for v in values], dtype=bool)


def unreadable_number(table: str, column: str, record_id: int | None) -> Problem:
    """One stored number cartrial never writes (NaN, an infinity, text): ``<table> record <id>, <column>``
    (the table alone when the id is not known), what is allowed, never the value (D-12.2, D-19.1096)."""
    return Problem(
        NOT_A_FINITE_NUMBER,
        record=table if record_id is None else f"{table} record {record_id}",
        field=column,
        allowed="a finite number or blank",
    )


NOT_A_FINITE_NUMBER = "not a finite number; run `cartrial audit verify`"
"""The problem text of `unreadable_number`."""

NOT_A_STORED_INTEGER = "not a whole number cartrial stores; run `cartrial audit verify`"
"""The problem text of `unreadable_integer`."""


def unreadable_integer(table: str, column: str, record_id: int | None) -> Problem:
    """One stored whole number cartrial never writes (text, a fraction, beyond `STORED_INTEGER_BOUNDS`):
    ``<table> record <id>, <column>``, what is allowed, never the value (D-12.2, D-19.1097)."""
    low, high = STORED_INTEGER_BOUNDS
    return Problem(
        NOT_A_STORED_INTEGER,
        record=table if record_id is None else f"{table} record {record_id}",
        field=column,
        allowed=f"a whole number from {low} to {high} or blank",
    )


UNREADABLE_VALUE_HEADER = (
    "The study database holds values (dates, numbers or JSON documents) that cartrial never stores "
    "(changed directly in the database; `cartrial audit verify` checks the records against the audit "
    "trail; `cartrial db edit` setting each such value, with a reason, corrects the record):"
)


def unreadable_json_number(table: str, column: str, record_id: int | None) -> Problem:
    """A stored JSON document holding a NaN or an infinity (RFC 8259 §6 has none; SQLite keeps the text
    ``NaN``, Python's reader reads it): as `unreadable_number`, what a JSON field allows (D-19.1098)."""
    return Problem(
        NOT_A_FINITE_NUMBER,
        record=table if record_id is None else f"{table} record {record_id}",
        field=column,
        allowed=JSON_ALLOWED,
    )


def unreadable_json_text(table: str, column: str, record_id: int | None) -> Problem:
    """A stored JSON field whose text is no JSON document (``[1,``, put in with SQL on SQLite): by record and
    column, what a JSON field allows, never the text (D-19.1099, D-19.1161)."""
    return Problem(
        NOT_JSON_TEXT,
        record=table if record_id is None else f"{table} record {record_id}",
        field=column,
        allowed=JSON_ALLOWED,
    )


JSON_ALLOWED = "a JSON document whose numbers are finite (RFC 8259 §6), or blank"
"""What a stored JSON field allows (`unreadable_json_number`, `unreadable_json_text`)."""

NOT_JSON_TEXT = "not valid JSON (the stored text is no JSON document); run `cartrial audit verify`"
"""The problem text of `unreadable_json_text`."""


def unreadable_numbers(problems: Iterable[Problem]) -> StoredValueError:
    """The refusal of the stored numbers `problems` (`unreadable_number`), under their header, bounded."""
    return StoredValueError(bounded(list(problems)), header=UNREADABLE_NUMBER_HEADER)


def unreadable_header(problems: Iterable[Problem]) -> str:
    """The header of a refusal or notice of the stored values `problems`: dates (`unreadable_date`), numbers
    (`unreadable_number`), or else values (both, or a JSON text that is no JSON, `unreadable_json_text`)."""
    kinds = {
        "number"
        if problem.message in (NOT_A_FINITE_NUMBER, NOT_A_STORED_INTEGER)
        else "json"
        if problem.message == NOT_JSON_TEXT
        else "date"
        for problem in problems
    }
    if kinds == {"number"}:
        return UNREADABLE_NUMBER_HEADER
    return UNREADABLE_DATE_HEADER if kinds <= {"date"} else UNREADABLE_VALUE_HEADER


def unreadable_values(problems: Iterable[Problem]) -> StoredValueError:
    """The refusal of stored dates (`unreadable_date`) and numbers (`unreadable_number`) no reader reads,
    bounded, under the header of what they are (`unreadable_header`)."""
    problems = list(problems)
    return StoredValueError(bounded(problems), header=unreadable_header(problems))


class _UnreadableStored:
    """What the PostgreSQL date and date-time loaders give for a stored value no Python date holds
    (`register_postgresql_loaders`); the column types refuse it (`StoredValueError`, D-19.556)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unreadable stored date>"


UNREADABLE_STORED: Any = _UnreadableStored()
"""The one instance of `_UnreadableStored`."""


def register_postgresql_loaders(dbapi_connection: Any) -> None:
    """Make psycopg load a stored date or date-time that no Python date holds (``infinity``,
    ``-infinity``, a year beyond 9999 or before 1; PostgreSQL "Date/Time Types") as `UNREADABLE_STORED`
    instead of raising its ``DataError`` quoting the value for the whole row: `StoredDate` and `UtcDateTime`
    then refuse the column by table and name (D-19.556), and the replay marks the field unreadable
    (D-19.1062 amended). Every other value is read by psycopg's own loader."""
    from psycopg import DataError, postgres
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    adapters = dbapi_connection.adapters
    for type_name in ("date", "timestamp", "timestamptz"):
        oid = postgres.types[type_name].oid
        for format_ in (Format.TEXT, Format.BINARY):
            fast = adapters.get_loader(oid, format_)  # psycopg's own (C when built with it)
            if fast is None:
                continue

            class Tolerant(Loader):
                format = format_
                _fast = fast

                def __init__(self, oid: int, context: Any = None) -> None:
                    super().__init__(oid, context)
                    self._load = self._fast(oid, context).load

                def load(self, data: Any) -> Any:
                    try:
                        return self._load(data)
                    except DataError:
                        return UNREADABLE_STORED

            adapters.register_loader(oid, Tolerant)


def unreadable_date(table: str, column: str, record_id: int | None, *, timed: bool) -> Problem:
    """One stored date (`timed`: date-time) no reader reads: ``<table> record <id>, <column>`` (the table
    alone when the id is not known), what is allowed, never the value (D-12.2)."""
    return Problem(
        "not a readable date-time" if timed else "not a date",
        record=table if record_id is None else f"{table} record {record_id}",
        field=column,
        allowed="a UTC date-time, YYYY-MM-DD HH:MM:SS" if timed else "a date, YYYY-MM-DD",
    )


def unreadable_dates(problems: Iterable[Problem]) -> StoredValueError:
    """The refusal of the stored dates `problems` (`unreadable_date`), under the one header, at most
    `tamper.MAX_FINDINGS` of them (`bounded`)."""
    return StoredValueError(bounded(list(problems)), header=UNREADABLE_DATE_HEADER)


def bounded(problems: list[Problem]) -> list[Problem]:
    """`problems` as one refusal lists them: the first `cartrial.store.tamper.MAX_FINDINGS` (the bound of
    `audit verify`'s findings), then one line ``and N more`` — a mass change must not make a 409 body or
    an error message of every record of the study."""
    from cartrial.store.tamper import MAX_FINDINGS  # here: tamper imports the store, which imports this

    if len(problems) <= MAX_FINDINGS:
        return problems
    more = len(problems) - MAX_FINDINGS
    return [*problems[:MAX_FINDINGS], Problem(f"and {more} more stored value(s) no reader reads")]


def unread_records(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """The records of `problems` (`unreadable_date`'s), each once in order: ``<table> record <id>`` → its
    fields (one problem per field; a count of records counts these keys)."""
    out: dict[str, list[str]] = {}
    for problem in problems:
        if problem.record:
            fields = out.setdefault(problem.record, [])
            if problem.field and problem.field not in fields:
                fields.append(problem.field)
    return out


REASON_RECORDS = 20
"""At most this many records an audit row's reason names (`partial_checks_reason`), then "and N more"."""


def unread_names(problems: Iterable[Problem]) -> list[str]:
    """The records of `problems` as a write names them (its audit reason, the web's notice after a save):
    ``<table> record <id>, <field>[, <field>]`` each, at most `REASON_RECORDS`, then ``and N more
    record(s)``; never a value."""
    named = [f"{record}, {', '.join(fields)}" for record, fields in unread_records(problems).items()]
    if len(named) > REASON_RECORDS:
        named = [*named[:REASON_RECORDS], f"and {len(named) - REASON_RECORDS} more record(s)"]
    return named


def partial_checks_reason(reason: str, problems: Iterable[Problem]) -> str:
    """The audit reason of a write whose edit checks left out the records of `problems` (D-19.562): the
    user's `reason` with ``(the edit checks could not read: <table> record <id>, <field>; …)`` appended,
    at most `REASON_RECORDS` records (`unread_names`), never a value — the trail says the checks were
    partial. The user's reason is kept whole: the result may pass `MAX_REASON_LENGTH`, the bound of what a
    user types, by at most the bounded note (D-19.645)."""
    named = unread_names(problems)
    if not named:
        return reason
    if not reason:  # an insert, which takes no reason: the note alone (D-19.643)
        return f"the edit checks could not read: {'; '.join(named)}"
    return f"{reason} (the edit checks could not read: {'; '.join(named)})"


def readable(value: Any, *, timed: bool) -> bool:
    """Whether the column's reader (``fromisoformat``, as `models.UtcDateTime`, `models.StoredDate` and the
    snapshot read it) reads the stored text `value` (None: an empty cell, readable)."""
    if value is None:
        return True
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value) if timed else dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def stored_raw(column: Any, dialect_name: str) -> Any:
    """`column` (a date, date-time or number column: its type has ``stored_readable``) selected as its
    type's ``stored_readable`` reads it, without the column type's own refusal: a date on SQLite as the
    stored text, on PostgreSQL cast to text (``infinity`` is no ISO date); a number as the driver gives it
    (a float, NaN included; on SQLite whatever the column holds)."""
    if hasattr(column.type, "raw_type"):  # `models.StoredJSON`: a text no JSON reads as UNREADABLE_STORED
        return type_coerce(column, column.type.raw_type())
    if not hasattr(column.type, "stored_timed"):  # `models.StoredNumber`, `StoredInteger`: their plain type
        return type_coerce(column, type(column.type.impl)())
    return type_coerce(column, String) if dialect_name == "sqlite" else sql_cast(column, String)


@contextmanager
def locating(connection: Connection, query: Any) -> Iterator[None]:
    """Around the execution and fetch of the Core `query`: a `StoredValueError` naming a column but no
    record is raised again with the id of each record of the same query (same conditions, sites and page)
    whose value in that column no reader reads. Without an ``id`` column to read, the error goes as it came
    (table and column)."""
    try:
        yield
    except StoredValueError as error:
        raise _located(connection, query, error) from None


def _located(connection: Connection, query: Any, error: StoredValueError) -> StoredValueError:
    return _refusal(error, [problem for _, _, problem in _locate(connection, query, error)])


def _refusal(error: StoredValueError, problems: list[Problem]) -> StoredValueError:
    """`error` holding `problems` (bounded): under the header of what they are when it is a refusal of
    stored dates or numbers (`unreadable_values`), else under its own header."""
    if error.header in (UNREADABLE_DATE_HEADER, UNREADABLE_NUMBER_HEADER, UNREADABLE_VALUE_HEADER):
        return unreadable_values(problems)
    return cast(StoredValueError, error.with_problems(bounded(problems)))  # with_problems keeps the class


def _locate(
    connection: Connection, query: Any, error: StoredValueError
) -> list[tuple[Table | None, int | None, Problem]]:
    """The problems of `error` by record: (table, record id, problem) of each record of `query` whose
    stored date no reader reads, (None, None, problem) for a problem no record locates."""
    tables = {getattr(t, "name", None): t for t in query.get_final_froms()}
    out: list[tuple[Table | None, int | None, Problem]] = []
    done: set[str] = set()
    for problem in error.problems:
        table = tables.get(problem.record)
        if table is None or "id" not in table.c or problem.field not in table.c:
            out.append((None, None, problem))
            continue
        if table.name in done:
            continue
        done.add(table.name)
        # every stored date or number of this table the query reads, not only the first one the reader met
        selected = {c.name for c in query.selected_columns}
        columns = [
            c
            for c in table.c
            if (c.name in selected or c.name == problem.field) and hasattr(c.type, "stored_readable")
        ]
        texts = [stored_raw(c, connection.dialect.name) for c in columns]
        try:
            rows = connection.execute(query.with_only_columns(table.c.id, *texts)).all()
        except SQLAlchemyError:  # the locating read must never hide the refusal itself
            out.append((None, None, problem))
            continue
        found: list[tuple[Table | None, int | None, Problem]] = [
            (table, int(row[0]), c.type.stored_problem(table.name, int(row[0]), value))
            for row in rows
            for c, value in zip(columns, row[1:], strict=True)
            if not c.type.stored_readable(value)
        ]
        out += found or [(None, None, problem)]
    return out


LEAVE_OUT_BOUND = 1_000
"""At most this many records one read leaves out (each an ``id NOT IN`` value bound to the query; SQLite
refuses more than 32,766 variables); past it the read is refused as outside `leaving_out_unreadable`, the
refusal bounded (`bounded`): a mass change is answered 409, never "too many SQL variables" (D-19.565).
`tamper.MAX_FINDINGS`' scale: a notice lists at most that many records anyway."""


class LeftOut(list[Problem]):
    """The problems of the records a read left out (`leaving_out_unreadable`), each once, and these records
    by table: table name → record ids (`subjects_left_out` reads their subjects, D-19.563)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, set[int]] = {}


_LEFT_OUT: ContextVar[LeftOut | None] = ContextVar("cartrial_unreadable_left_out", default=None)
_T = TypeVar("_T")


def left_out_now() -> LeftOut | None:
    """The records left out so far within the innermost `leaving_out_unreadable` (None outside one)."""
    return _LEFT_OUT.get()


def subjects_left_out(connection: Connection, left_out: LeftOut) -> dict[str, set[str]]:
    """Subject id → the tables of its records `left_out` (their ``subject_id`` is readable: only a date is
    not), read by record id, 500 at a time (D-19.563)."""
    from sqlalchemy import select

    from cartrial.store.models import STUDY_TABLES

    out: dict[str, set[str]] = {}
    for name, ids in left_out.records.items():
        model = STUDY_TABLES.get(name)
        table = getattr(model, "__table__", None)
        if table is None or "subject_id" not in table.c:
            continue
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            query = select(table.c.subject_id).where(table.c.id.in_(wanted[start : start + 500]))
            for (subject,) in connection.execute(query).all():
                if subject is not None:
                    out.setdefault(str(subject), set()).add(name)
    return out


@contextmanager
def leaving_out_unreadable() -> Iterator[LeftOut]:
    """Within: the list reads (`reads.page_records`, `reads.subject_days`, through `read_leaving_out`)
    leave out each record holding a stored date no reader reads and add its problems (`unreadable_date`:
    ``<table> record <id>, <field>``, never the value) to the list yielded, instead of refusing the whole
    read: a list page shows every readable record and names the others (D-19.559)."""
    left_out = LeftOut()
    token = _LEFT_OUT.set(left_out)
    try:
        yield left_out
    finally:
        _LEFT_OUT.reset(token)


def read_leaving_out(connection: Connection, query: Any, fetch: Callable[[Sequence[Any]], _T]) -> _T:
    """`fetch(conditions)` (a read of `query`'s records with these extra conditions) as under `locating`.
    Within `leaving_out_unreadable`, a refusal whose every problem is located by its record is answered by
    `fetch` again without these records (``id NOT IN``), their problems noted; otherwise (any problem
    without its record, or more than `LEAVE_OUT_BOUND` records) the located refusal."""
    left_out = _LEFT_OUT.get()
    conditions: list[Any] = []
    excluded: set[tuple[str, int]] = set()  # records, not their fields (one problem per field)
    while True:
        narrowed = query.where(*conditions)
        try:
            return fetch(conditions)
        except StoredValueError as error:
            located = _locate(connection, narrowed, error)
            excluded |= {(t.name, cast(int, n)) for t, n, _ in located if t is not None}
            if (
                left_out is None
                or any(table is None for table, _, _ in located)
                or len(excluded) > LEAVE_OUT_BOUND  # never an unbounded list of bound ids (D-19.565)
            ):
                raise _refusal(error, [problem for _, _, problem in located]) from None
            ids: dict[Table, set[int]] = {}
            noted = set(left_out)  # a mass change: thousands of records, each noted once
            for table, record_id, problem in located:
                ids.setdefault(cast(Table, table), set()).add(cast(int, record_id))
                left_out.records.setdefault(cast(Table, table).name, set()).add(cast(int, record_id))
                if problem not in noted:
                    noted.add(problem)
                    left_out.append(problem)
            conditions += [table.c.id.not_in(sorted(numbers)) for table, numbers in ids.items()]
