"""The study database schema: SQLAlchemy 2 typed declarative models of every entity of a CAR-T trial.

One database holds one study. Conventions shared by every *study-data* table (subclasses of `StudyData`):

- integer surrogate key `id`, and a natural-key unique constraint (listed in `natural_key`) so that imports
  are idempotent: re-importing a row with the same natural key updates it (or changes nothing);
- `version`: optimistic-concurrency counter (SQLAlchemy `version_id_col`; the service layer updates with
  `WHERE version = expected` and raises `ConflictError` when another writer got there first);
- `clinical_date_column`: the clinical date or date-time of the record, which the data lock compares with the
  cut-off (records dated on or before the cut-off are frozen while a lock is active);
- `end_date_column`: the date or date-time the record ended (an adverse event's `ended_on`, a therapy's
  `stopped_at`, a subject's end of study `disposition_date`), None when it has none; a data cut reads a
  record that ended after the cut-off as ongoing at it (`cartrial.store.snapshot.read_snapshot`, decisions
  D-19.85);
- `created_at` / `updated_at`: timezone-aware UTC (`UtcDateTime`); every clinical date-time is UTC too.

Units are in column names (`temperature_c`, `cells_per_kg`, `o2_flow_l_min`). Subject-level tables refer to
the subject by its trial code (`subject.subject_id`, e.g. ``CT-001``), not by the surrogate id, so that
rows read from CSV or REDCap can be written without a lookup.

Field lists follow `docs/templates/` and the fields a data system must capture
(docs/science/ct103a-nmosd-trial.md §9, docs/science/toxicity-grading.md §1.3, docs/science/neuro-outcomes.md
§1,
`docs/science/cellular-kinetics.md`). The audit trail (`AuditLog`) follows docs/science/data-standards.md
§8.2.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, ClassVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from cartrial.columns import utc_now as _current_instant
from cartrial.errors import StoredValueError
from cartrial.store.stored_dates import (
    UNREADABLE_STORED,
    non_finite,
    non_finite_cells,
    readable,
    readable_integer,
    readable_number,
    unreadable_date,
    unreadable_dates,
    unreadable_integer,
    unreadable_integer_cells,
    unreadable_json_number,
    unreadable_json_text,
    unreadable_number,
    unreadable_values,
)

ROLES: tuple[str, ...] = ("admin", "investigator", "data_manager", "monitor", "statistician")
"""The user roles (docs/science/decisions.md D-7.1); what each may do is
`cartrial.store.permissions.PERMISSIONS`."""


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC date-time on every backend.

    Naive values are refused (a time without a zone is ambiguous). Values are converted to UTC before
    storage; SQLite stores them as text without the zone, PostgreSQL as ``timestamptz``; values read back
    are always aware and in UTC. Stored text no reader reads (SQLite only: a direct change) is a
    `StoredValueError` naming the table and column, never the value (D-19.556; `_locate_stored_dates`).
    """

    impl = DateTime(timezone=True)
    cache_ok = True
    stored_timed = True
    """A date-time (`cartrial.store.stored_dates`)."""

    def __init__(self, stored_table: str | None = None, stored_column: str | None = None) -> None:
        super().__init__()
        self.stored_table = stored_table
        self.stored_column = stored_column

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: cartrial stores timezone-aware UTC date-times only")
        if value.tzinfo is not dt.UTC:
            value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value is UNREADABLE_STORED:  # PostgreSQL 'infinity' (D-19.1062 amended)
            raise self._unreadable()
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """On SQLite, the stored text straight to an aware UTC date-time with the C parser
        (`datetime.fromisoformat`; SQLAlchemy's generic SQLite parser is a regular expression per value,
        the largest cost of reading a casebook's thousand records). Text it cannot parse, or a number, is
        refused (`_unreadable`). Other backends: the driver's date-time, then `process_result_value`."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        generic = super().result_processor(dialect, coltype)
        utc, parse, refused = dt.UTC, dt.datetime.fromisoformat, self._unreadable

        def process(value: Any) -> dt.datetime | None:
            if value.__class__ is str:
                try:  # stored without a zone, in UTC
                    parsed = parse(value + "+00:00")
                    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=utc)
                except ValueError:
                    pass
                try:
                    parsed = parse(value)
                except ValueError:
                    raise refused() from None
                return parsed.replace(tzinfo=utc) if parsed.tzinfo is None else parsed.astimezone(utc)
            if value is None or generic is None:
                return value
            try:
                return generic(value)
            except (ValueError, TypeError):
                raise refused() from None

        return process

    def _unreadable(self) -> StoredValueError:
        return _unreadable_stored(self.stored_table, self.stored_column, timed=True)

    def stored_readable(self, value: Any) -> bool:
        """Whether the stored `value` (as `stored_dates.stored_raw` reads it) is one this column reads."""
        return readable(value, timed=True)

    def stored_problem(self, table: str, record_id: int | None, value: Any = None) -> Any:
        """The problem of an unreadable stored value of this column in record `record_id` of `table` (`value`,
        its stored reading, is not needed: one problem)."""
        return unreadable_date(table, self.stored_column or "a date column", record_id, timed=True)


class StoredDate(TypeDecorator[dt.date]):
    """A date (``DATE``) whose stored text no reader reads (SQLite only: a direct change) is a
    `StoredValueError` naming the table and column, never SQLAlchemy's ``ValueError`` quoting the value
    (D-19.556). Read with ``date.fromisoformat``, as SQLite's ``DATE`` reads it."""

    impl = Date
    cache_ok = True
    stored_timed = False
    """A date, not a date-time (`cartrial.store.stored_dates`)."""

    def __init__(self, stored_table: str | None = None, stored_column: str | None = None) -> None:
        super().__init__()
        self.stored_table = stored_table
        self.stored_column = stored_column

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        if dialect.name != "sqlite":
            generic = super().result_processor(dialect, coltype)
            unreadable = self._unreadable

            def checked(value: Any) -> dt.date | None:  # PostgreSQL 'infinity' (D-19.1062 amended)
                if value is UNREADABLE_STORED:
                    raise unreadable()
                return generic(value) if generic is not None else value

            return checked
        parse, refused = dt.date.fromisoformat, self._unreadable

        def process(value: Any) -> dt.date | None:
            if value is None:
                return None
            if value.__class__ is str:
                try:
                    return parse(value)
                except ValueError:
                    raise refused() from None
            raise refused()

        return process

    def _unreadable(self) -> StoredValueError:
        return _unreadable_stored(self.stored_table, self.stored_column, timed=False)

    @property
    def python_type(self) -> type[Any]:
        """``datetime.date``, what this column gives back (the ``DATE`` it decorates): keys of this type are
        compared in Python and looked up in batches (`writes._plain_key`, D-19.1100)."""
        return dt.date

    def stored_readable(self, value: Any) -> bool:
        """Whether the stored `value` (as `stored_dates.stored_raw` reads it) is one this column reads."""
        return readable(value, timed=False)

    def stored_problem(self, table: str, record_id: int | None, value: Any = None) -> Any:
        """The problem of an unreadable stored value of this column in record `record_id` of `table` (`value`,
        its stored reading, is not needed: one problem)."""
        return unreadable_date(table, self.stored_column or "a date column", record_id, timed=False)


class _StoredValueType:
    """The shape shared by the stored number types (`StoredNumber`, `StoredInteger`, `StoredJSON`,
    D-19.1162): the table and column they are refused by, the problem of one unreadable stored value
    (`stored_problem`, by record, never the value) and the refusal of a read (`_unreadable`: by table and
    column; `stored_dates.locating` adds the record). A subclass gives `_problem`, its column's name
    when none is given (`_column_kind`) and the options of the type it decorates (`_impl_options`)."""

    _column_kind: ClassVar[str] = "a column"
    _impl_options: ClassVar[dict[str, Any]] = {}

    def __init__(self, stored_table: str | None = None, stored_column: str | None = None) -> None:
        super().__init__(**self._impl_options)
        self.stored_table = stored_table
        self.stored_column = stored_column

    def _problem(self, table: str, column: str, record_id: int | None, value: Any) -> Any:
        raise NotImplementedError

    def _unreadable(self, value: Any = None) -> StoredValueError:
        """The refusal of a read of an unreadable stored `value` (its stored reading when it decides the
        problem, `StoredJSON`), by table and column, under the header of what it is."""
        return unreadable_values([self.stored_problem(self.stored_table or "a table", None, value)])

    def stored_problem(self, table: str, record_id: int | None, value: Any = None) -> Any:
        """The problem of the unreadable stored `value` (as `stored_dates.stored_raw` reads it; None: not
        known) of this column in record `record_id` of `table`."""
        return self._problem(table, self.stored_column or self._column_kind, record_id, value)


class StoredNumber(_StoredValueType, TypeDecorator[float]):
    """A number (``FLOAT``: SQLite REAL, PostgreSQL double precision) read only as a finite float: a NaN or
    an infinity (PostgreSQL ``'NaN'``, SQLite ``9e999``) or, on SQLite, text or a BLOB put in with SQL is a
    `StoredValueError` naming the table and column, never the value (D-19.1096): cartrial never writes one
    (its readers refuse them, D-19.1046), and handed out it would be computed with (a NaN dose, an infinite
    concentration). `stored_dates.locating` adds the record; `audit verify` reports it (D-19.1062)."""

    impl = Float
    cache_ok = True
    _column_kind = "a number column"

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        generic = super().result_processor(dialect, coltype)
        finite, refused = math.isfinite, self._unreadable

        def process(value: Any) -> float | None:
            if value is None:
                return None
            if value.__class__ is float and finite(value):
                return float(value)
            if generic is not None and value.__class__ is not float:
                value = generic(value)
                if value.__class__ is float and finite(value):
                    return float(value)
            raise refused()

        return process

    def _problem(self, table: str, column: str, record_id: int | None, value: Any) -> Any:
        return unreadable_number(table, column, record_id)

    def stored_readable(self, value: Any) -> bool:
        """Whether the stored `value` (`stored_dates.stored_raw`'s reading) is one cartrial writes."""
        return readable_number(value)

    @staticmethod
    def stored_cells(values: Any) -> Any:
        """Whether each stored value of the column is unreadable, vectorised (the snapshot's check)."""
        return non_finite_cells(values)


class StoredJSON(_StoredValueType, TypeDecorator[Any]):
    """A JSON field (``JSON``, SQL NULL for blank) read only without a NaN or an infinity inside
    (`stored_dates.non_finite`): SQLite keeps the text ``[{"cycles": NaN}]`` put in with SQL and Python's
    JSON reader reads it, cartrial never writes one (D-19.1046); refused as `StoredNumber` refuses a bare
    one, by table and column (D-19.1098). The JSON text ``null`` reads as blank, as SQL NULL does: the same
    value (`audit verify` compares JSON columns by value, D-19.358)."""

    impl = JSON
    cache_ok = True
    _column_kind = "a JSON column"
    _impl_options: ClassVar[dict[str, Any]] = {"none_as_null": True}

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is not None and value.__class__ is not str and non_finite(value):
            raise self._unreadable()
        return value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """The JSON reader, refusing a stored text that is no JSON document (``[1,``, put in with SQL on
        SQLite) by table and column as a NaN is, never its ``JSONDecodeError`` quoting the text
        (D-19.1099), named as such (`stored_dates.unreadable_json_text`, D-19.1161)."""
        read, refused = super().result_processor(dialect, coltype), self._unreadable
        if read is None:
            return None

        def process(value: Any) -> Any:
            try:
                return read(value)
            except StoredValueError:
                raise
            except ValueError:  # json.JSONDecodeError; the text is not quoted (chained from None)
                raise refused(UNREADABLE_STORED) from None

        return process

    @staticmethod
    def raw_type() -> Any:
        """The type `stored_dates.stored_raw` reads this column with: JSON without this type's refusal, a
        text that is no JSON document read as `stored_dates.UNREADABLE_STORED` (D-19.1099)."""
        return _RawJSON()

    def stored_readable(self, value: Any) -> bool:
        """Whether the stored document `value` (as `stored_dates.stored_raw` reads it) is one cartrial
        writes: JSON (not `UNREADABLE_STORED`) without a NaN or an infinity."""
        return value is not UNREADABLE_STORED and not non_finite(value)

    def _problem(self, table: str, column: str, record_id: int | None, value: Any) -> Any:
        if value is UNREADABLE_STORED:  # a text that is no JSON document (D-19.1161)
            return unreadable_json_text(table, column, record_id)
        return unreadable_json_number(table, column, record_id)

    @staticmethod
    def stored_cells(values: Any) -> Any:
        """Whether each stored document of the column is unreadable (each parsed anyway: one walk each)."""
        import numpy as np

        return np.array([v is UNREADABLE_STORED or non_finite(v) for v in values], dtype=bool)


class _RawJSON(TypeDecorator[Any]):
    """JSON as stored, for the checks that locate an unreadable document (`StoredJSON.raw_type`): a text
    that is no JSON document reads as `stored_dates.UNREADABLE_STORED` instead of raising (D-19.1099)."""

    impl = JSON
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        read = super().result_processor(dialect, coltype)
        if read is None:
            return None

        def process(value: Any) -> Any:
            try:
                return read(value)
            except ValueError:
                return UNREADABLE_STORED

        return process


class StoredInteger(_StoredValueType, TypeDecorator[int]):
    """A whole number of a study table (``INTEGER``) read only as an ``int`` within
    `stored_dates.STORED_INTEGER_BOUNDS`: on SQLite, text, a fraction or a number beyond the bounds put in
    with SQL (``2**63`` is stored as REAL) is a `StoredValueError` naming the table and column, never the
    value (D-19.1097), never a string or a float handed out as the whole number (a dose level ``abc``)."""

    impl = Integer
    cache_ok = True
    _column_kind = "a whole-number column"

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        generic = super().result_processor(dialect, coltype)
        readable, refused = readable_integer, self._unreadable

        def process(value: Any) -> int | None:
            if generic is not None and value is not None and value.__class__ is not int:
                value = generic(value)
            if readable(value):
                return cast(int | None, value)
            raise refused()

        return process

    def _problem(self, table: str, column: str, record_id: int | None, value: Any) -> Any:
        return unreadable_integer(table, column, record_id)

    @property
    def python_type(self) -> type[Any]:
        """``int``, what this column gives back (the ``INTEGER`` it decorates; `TypeDecorator` says `object`):
        keys of this type are compared in Python and looked up in batches (`writes._plain_key`, D-19.1100)."""
        return int

    def stored_readable(self, value: Any) -> bool:
        """Whether the stored `value` (as `stored_dates.stored_raw` reads it) is one cartrial writes."""
        return readable_integer(value)

    @staticmethod
    def stored_cells(values: Any) -> Any:
        """Whether each stored value of the column is unreadable, vectorised (the snapshot's check)."""
        return unreadable_integer_cells(values)


def _unreadable_stored(table: str | None, column: str | None, *, timed: bool) -> StoredValueError:
    """The refusal of a stored value of `table`.`column` no reader reads: by table and column; the record
    is added by `cartrial.store.stored_dates.locating` where the query has it."""
    where = unreadable_date(table or "a table", column or "a date column", None, timed=timed)
    return unreadable_dates([where])


def utc_now() -> dt.datetime:
    """Now, timezone-aware UTC (server-side clock: ALCOA 'contemporaneous'): `cartrial.columns.utc_now`,
    the one clock every "today" is read from."""
    return _current_instant()


class Base(DeclarativeBase):
    """Declarative base of every cartrial table."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dt.date: StoredDate(),
        dict[str, Any]: StoredJSON(),
        list[Any]: StoredJSON(),
    }


class Timestamped:
    """`created_at` / `updated_at` (UTC) and the optimistic-concurrency `version`."""

    created_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]


class StudyData(Timestamped):
    """Mixin of every audited study-data table: natural key and clinical date (see the module docstring)."""

    natural_key: ClassVar[tuple[str, ...]]
    """Columns of the natural-key unique constraint (what an import matches rows on)."""
    clinical_date_column: ClassVar[str | None]
    """Column compared with the lock cut-off; None: the table is not frozen by a lock (reference data)."""
    end_date_column: ClassVar[str | None] = None
    """Column of the record's end date or date-time; None: the record has no end (module docstring)."""
    subject_column: ClassVar[str | None] = "subject_id"
    """Column naming the subject (for `audit log --subject` and the investigator's own-site check)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)


def _subject_fk() -> Mapped[str]:
    """The subject of a study-data record. Not indexed on its own: every table using it has a natural-key
    unique constraint that starts with `subject_id`, whose index serves subject lookups (migration 0003
    dropped the redundant single-column indexes, one B-tree less to maintain per inserted row)."""
    return mapped_column(String(40), ForeignKey("subject.subject_id"), nullable=False)


# --------------------------------------------------------------------------------------------------
# Study, sites, users
# --------------------------------------------------------------------------------------------------


class Study(StudyData, Base):
    """The study, loaded from a protocol file; the protocol text and its SHA-256 are kept verbatim."""

    __tablename__ = "study"
    natural_key = ("study_code",)
    clinical_date_column = None
    subject_column = None

    study_code: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    protocol_version: Mapped[str] = mapped_column(String(40))
    protocol_file_name: Mapped[str | None] = mapped_column(String(400))
    protocol_sha256: Mapped[str] = mapped_column(String(64))
    protocol_yaml: Mapped[str] = mapped_column(Text)
    birth_date_precision: Mapped[str] = mapped_column(String(10), default="year")
    """Privacy setting: 'year' (store birth year only; a full birth date is refused) or 'date'."""

    __table_args__ = (
        CheckConstraint("birth_date_precision IN ('year', 'date')", name="ck_study_birth_prec"),
    )


class Site(StudyData, Base):
    """A clinical site (code such as ``TJH``)."""

    __tablename__ = "site"
    natural_key = ("site_id",)
    clinical_date_column = None
    subject_column = None

    site_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(80))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    """The site's IANA time zone (``Europe/Berlin``): the web form reads a clinic time typed without an
    offset in it, and says the UTC value (D-19.285); empty: such a time is refused."""


class User(StudyData, Base):
    """A user and role; passwords are stored only as argon2id hashes (argon2-cffi)."""

    __tablename__ = "app_user"
    natural_key = ("username",)
    clinical_date_column = None
    subject_column = None

    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    site_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("site.site_id"))
    full_name: Mapped[str | None] = mapped_column(Text)
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'investigator', 'data_manager', 'monitor', 'statistician')",
            name="ck_user_role",
        ),
    )


# --------------------------------------------------------------------------------------------------
# Subjects, screening, dosing
# --------------------------------------------------------------------------------------------------


class Subject(StudyData, Base):
    """A trial subject: demographics (birth year or date per `Study.birth_date_precision`), AQP4-IgG status,
    treatment and relapse history (lists of dicts, stored as JSON)."""

    __tablename__ = "subject"
    natural_key = ("subject_id",)
    clinical_date_column = "consent_date"
    end_date_column = "disposition_date"

    subject_id: Mapped[str] = mapped_column(String(40), unique=True)
    site_id: Mapped[str] = mapped_column(String(40), ForeignKey("site.site_id"), index=True)
    screening_number: Mapped[str | None] = mapped_column(String(40))
    consent_date: Mapped[dt.date]
    consent_version: Mapped[str | None] = mapped_column(String(40))
    sex: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None]
    birth_date: Mapped[dt.date | None]
    weight_kg: Mapped[float | None] = mapped_column(Float)
    height_cm: Mapped[float | None] = mapped_column(Float)
    diagnosis_date: Mapped[dt.date | None]
    aqp4_igg_status: Mapped[str | None] = mapped_column(String(20))
    aqp4_igg_titre: Mapped[str | None] = mapped_column(String(20))
    aqp4_igg_assay: Mapped[str | None] = mapped_column(Text)
    treatment_history: Mapped[list[Any] | None]
    relapse_history: Mapped[list[Any] | None]
    disposition: Mapped[str | None] = mapped_column(Text)
    disposition_date: Mapped[dt.date | None]
    """The date the study ended for the subject (completion, withdrawal, loss to follow-up, death): required
    with a `disposition` other than ongoing (D-19.92); a data cut before it reads the subject as ongoing."""


class ScreeningResult(StudyData, Base):
    """The stored output of `cartrial protocol screen` for one subject (eligibility and each criterion)."""

    __tablename__ = "screening_result"
    natural_key = ("subject_id", "screened_on")
    clinical_date_column = "screened_on"

    subject_id: Mapped[str] = _subject_fk()
    screened_on: Mapped[dt.date]
    eligible: Mapped[bool]
    protocol_version: Mapped[str | None] = mapped_column(String(40))
    engine_version: Mapped[str | None] = mapped_column(String(40))
    result: Mapped[dict[str, Any] | None]

    __table_args__ = (UniqueConstraint("subject_id", "screened_on", name="uq_screening_result"),)


class LymphodepletionAdministration(StudyData, Base):
    """One lymphodepleting chemotherapy dose (e.g. fludarabine 25 mg/m² on day -5)."""

    __tablename__ = "lymphodepletion_administration"
    natural_key = ("subject_id", "drug", "administered_on")
    clinical_date_column = "administered_on"

    subject_id: Mapped[str] = _subject_fk()
    drug: Mapped[str] = mapped_column(String(80))
    administered_on: Mapped[dt.date]
    day_relative_to_infusion: Mapped[int | None]
    dose_mg_per_m2: Mapped[float | None] = mapped_column(Float)
    dose_mg: Mapped[float | None] = mapped_column(Float)
    body_surface_area_m2: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("subject_id", "drug", "administered_on", name="uq_lymphodepletion"),)


class Infusion(StudyData, Base):
    """The CAR-T infusion: dose level, actual cells (total and per kg), product lot."""

    __tablename__ = "infusion"
    natural_key = ("subject_id", "infused_at")
    clinical_date_column = "infused_at"

    subject_id: Mapped[str] = _subject_fk()
    infused_at: Mapped[dt.datetime]
    dose_level: Mapped[int]
    weight_kg: Mapped[float | None] = mapped_column(Float)
    cells_per_kg: Mapped[float | None] = mapped_column(Float)
    total_car_t_cells: Mapped[float | None] = mapped_column(Float)
    product_lot: Mapped[str | None] = mapped_column(String(80))
    viability_pct: Mapped[float | None] = mapped_column(Float)
    leukapheresis_on: Mapped[dt.date | None]

    __table_args__ = (UniqueConstraint("subject_id", "infused_at", name="uq_infusion"),)


# --------------------------------------------------------------------------------------------------
# CRS / ICANS inputs and therapies
# --------------------------------------------------------------------------------------------------


class CrsAssessment(StudyData, Base):
    """One CRS assessment: exactly the columns of the grading engine's CRS form
    (`cartrial.grading.tables.parse_crs_frame`, `docs/templates/crs_assessments.csv`), plus raw fields kept
    for regrading with Lee 2014 / CARTOX (FiO2, pressor doses, organ toxicity) and `vasopressor_names`.
    Source of the field list: docs/science/toxicity-grading.md §1.3 ("store per assessment")."""

    __tablename__ = "crs_assessment"
    natural_key = ("subject_id", "assessed_at")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    temperature_c: Mapped[float | None] = mapped_column(Float)
    temperature_f: Mapped[float | None] = mapped_column(Float)
    fever_masked: Mapped[bool | None]
    """Fever earlier in the episode masked by antipyretic / anti-cytokine / corticosteroid therapy."""
    hypotension: Mapped[bool | None]
    systolic_bp_mmhg: Mapped[float | None] = mapped_column(Float)
    vasopressors: Mapped[int | None]
    """Number of vasopressors other than vasopressin."""
    vasopressin: Mapped[bool | None]
    vasopressor_names: Mapped[str | None] = mapped_column(Text)
    """Raw: the vasopressor drug names, ';'-separated."""
    oxygen: Mapped[str | None] = mapped_column(String(40))
    """Oxygen device (none, blow_by, nasal_cannula, high_flow_nasal_cannula, facemask, ...)."""
    oxygen_l_min: Mapped[float | None] = mapped_column(Float)
    fio2_pct: Mapped[float | None] = mapped_column(Float)
    death_due_to_crs: Mapped[bool | None]
    fever_other_cause: Mapped[bool | None]
    crs_resolved: Mapped[bool | None]
    norepinephrine_ug_min: Mapped[float | None] = mapped_column(Float)
    dopamine_ug_kg_min: Mapped[float | None] = mapped_column(Float)
    phenylephrine_ug_min: Mapped[float | None] = mapped_column(Float)
    epinephrine_ug_min: Mapped[float | None] = mapped_column(Float)
    organ_toxicity_grade: Mapped[int | None]
    transaminase_grade: Mapped[int | None]
    life_threatening_hypotension: Mapped[bool | None]

    __table_args__ = (UniqueConstraint("subject_id", "assessed_at", name="uq_crs_assessment"),)


class IcansAssessment(StudyData, Base):
    """One ICANS assessment: exactly the columns of the grading engine's ICANS form
    (`cartrial.grading.tables`, `docs/templates/icans_assessments.csv`): ICE item scores (not only the
    total), consciousness, seizure, motor findings, cerebral oedema (docs/science/toxicity-grading.md §2)."""

    __tablename__ = "icans_assessment"
    natural_key = ("subject_id", "assessed_at")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    consciousness: Mapped[str | None] = mapped_column(String(40))
    seizure: Mapped[str | None] = mapped_column(String(40))
    motor: Mapped[str | None] = mapped_column(String(40))
    cerebral_edema: Mapped[str | None] = mapped_column(String(40))
    ice_orientation: Mapped[int | None]
    ice_naming: Mapped[int | None]
    ice_command: Mapped[int | None]
    ice_writing: Mapped[int | None]
    ice_attention: Mapped[int | None]
    ice_total: Mapped[int | None]
    consciousness_other_cause: Mapped[bool | None]

    __table_args__ = (UniqueConstraint("subject_id", "assessed_at", name="uq_icans_assessment"),)


class Therapy(StudyData, Base):
    """A concomitant therapy dose (grading's therapies form): `therapy` is the category (tocilizumab,
    corticosteroid, vasopressor, antipyretic, anakinra, other; anti-infectives as other), `agent` the drug."""

    __tablename__ = "therapy"
    natural_key = ("subject_id", "therapy", "given_at")
    clinical_date_column = "given_at"
    end_date_column = "stopped_at"

    subject_id: Mapped[str] = _subject_fk()
    given_at: Mapped[dt.datetime]
    therapy: Mapped[str] = mapped_column(String(40))
    agent: Mapped[str | None] = mapped_column(String(80))
    dose: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(20))
    stopped_at: Mapped[dt.datetime | None]
    route: Mapped[str | None] = mapped_column(String(20))
    indication: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("subject_id", "therapy", "given_at", name="uq_therapy"),)


class AdverseEvent(StudyData, Base):
    """An adverse event: term, grade with its scale and version, dates, seriousness with its criteria,
    relatedness, DLT."""

    __tablename__ = "adverse_event"
    natural_key = ("subject_id", "term", "started_on")
    clinical_date_column = "started_on"
    end_date_column = "ended_on"

    subject_id: Mapped[str] = _subject_fk()
    term: Mapped[str] = mapped_column(String(200))
    meddra_code: Mapped[str | None] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(40))
    started_on: Mapped[dt.date]
    ended_on: Mapped[dt.date | None]
    grade: Mapped[int | None]
    grading_scale: Mapped[str | None] = mapped_column(String(40))
    grading_scale_version: Mapped[str | None] = mapped_column(String(20))
    serious: Mapped[bool | None]
    # the seriousness criteria of ICH E2A (cartrial.protocol.seriousness; migration 0008, D-19.328)
    serious_death: Mapped[bool | None]
    serious_life_threatening: Mapped[bool | None]
    serious_hospitalisation: Mapped[bool | None]
    serious_disability: Mapped[bool | None]
    serious_congenital_anomaly: Mapped[bool | None]
    serious_medically_important: Mapped[bool | None]
    relatedness: Mapped[str | None] = mapped_column(String(40))
    dlt: Mapped[bool | None]
    action_taken: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(40))
    pathogen: Mapped[str | None] = mapped_column(Text)
    infection_site: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("subject_id", "term", "started_on", name="uq_adverse_event"),
        CheckConstraint("grade IS NULL OR (grade >= 1 AND grade <= 5)", name="ck_ae_grade"),
    )


class LabResult(StudyData, Base):
    """A laboratory value with its unit and the laboratory's LLN/ULN."""

    __tablename__ = "lab_result"
    natural_key = ("subject_id", "analyte", "collected_at")
    clinical_date_column = "collected_at"

    subject_id: Mapped[str] = _subject_fk()
    analyte: Mapped[str] = mapped_column(String(80))
    collected_at: Mapped[dt.datetime]
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    lln: Mapped[float | None] = mapped_column(Float)
    uln: Mapped[float | None] = mapped_column(Float)
    laboratory: Mapped[str | None] = mapped_column(Text)
    life_threatening_anemia: Mapped[bool | None]
    """Anaemia with life-threatening consequences (clinical part of CTCAE anaemia grade 4); migration 0002."""

    __table_args__ = (UniqueConstraint("subject_id", "analyte", "collected_at", name="uq_lab_result"),)


# --------------------------------------------------------------------------------------------------
# Neurology
# --------------------------------------------------------------------------------------------------


class EdssAssessment(StudyData, Base):
    """EDSS examination: the neuro engine's form (`docs/templates/edss.csv`): raw functional-system scores
    (`visual` and `bowel_bladder` before conversion, `cerebral` including grade 1) and the ambulation score,
    plus walking distance, assistance, the EDSS method and examiner. Source: docs/science/neuro-outcomes.md
    §1."""

    __tablename__ = "edss_assessment"
    natural_key = ("subject_id", "assessed_at")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    visual: Mapped[int | None]
    brainstem: Mapped[int | None]
    pyramidal: Mapped[int | None]
    cerebellar: Mapped[int | None]
    sensory: Mapped[int | None]
    bowel_bladder: Mapped[int | None]
    cerebral: Mapped[int | None]
    ambulation: Mapped[int | None]
    walking_distance_m: Mapped[float | None] = mapped_column(Float)
    assistance: Mapped[str | None] = mapped_column(String(40))
    method: Mapped[str | None] = mapped_column(String(40))
    examiner: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("subject_id", "assessed_at", name="uq_edss_assessment"),)


class VisualAcuity(StudyData, Base):
    """Visual acuity of one eye in its native notation (`docs/templates/visual_acuity.csv`): `acuity`
    exactly as recorded (``20/40``, ``0.5``, ``+0.30``, ``CF``…), optional `notation` and correction."""

    __tablename__ = "visual_acuity"
    natural_key = ("subject_id", "assessed_at", "eye")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    eye: Mapped[str] = mapped_column(String(2))
    acuity: Mapped[str] = mapped_column(String(40))
    notation: Mapped[str | None] = mapped_column(String(20))
    correction: Mapped[str | None] = mapped_column(String(20))
    low_contrast: Mapped[bool | None]

    __table_args__ = (
        UniqueConstraint("subject_id", "assessed_at", "eye", name="uq_visual_acuity"),
        CheckConstraint("eye IN ('OD', 'OS')", name="ck_visual_acuity_eye"),
    )


class OsisAssessment(StudyData, Base):
    """Opticospinal Impairment Scale subscores (`docs/templates/osis.csv`; Wingerchuk 1999 Table 1)."""

    __tablename__ = "osis_assessment"
    natural_key = ("subject_id", "assessed_at")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    visual_od: Mapped[int | None]
    visual_os: Mapped[int | None]
    motor: Mapped[int | None]
    sensory: Mapped[int | None]
    sphincter: Mapped[int | None]
    timed_25_foot_walk_s: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("subject_id", "assessed_at", name="uq_osis_assessment"),)


class TimedWalk(StudyData, Base):
    """Timed 25-Foot Walk (`docs/templates/timed_walk.csv`): two trials in seconds, or unable to walk."""

    __tablename__ = "timed_walk"
    natural_key = ("subject_id", "assessed_at")
    clinical_date_column = "assessed_at"

    subject_id: Mapped[str] = _subject_fk()
    assessed_at: Mapped[dt.datetime]
    trial_1_seconds: Mapped[float | None] = mapped_column(Float)
    trial_2_seconds: Mapped[float | None] = mapped_column(Float)
    unable_to_walk: Mapped[bool | None]

    __table_args__ = (UniqueConstraint("subject_id", "assessed_at", name="uq_timed_walk"),)


class Relapse(StudyData, Base):
    """An NMOSD relapse (attack) record (`docs/templates/relapses.csv`; docs/science/neuro-outcomes.md §4):
    onset, phenotype(s), severity, duration ≥ 24 h, fever/infection, objective change, treatment,
    adjudication."""

    __tablename__ = "relapse"
    natural_key = ("subject_id", "onset_date")
    clinical_date_column = "onset_date"

    subject_id: Mapped[str] = _subject_fk()
    onset_date: Mapped[dt.date]
    phenotype: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(String(40))
    lasted_over_24h: Mapped[bool | None]
    fever_or_infection: Mapped[bool | None]
    objective_change: Mapped[bool | None]
    treatment: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(Text)
    adjudicated: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (UniqueConstraint("subject_id", "onset_date", name="uq_relapse"),)


# --------------------------------------------------------------------------------------------------
# Kinetics and pharmacodynamics
# --------------------------------------------------------------------------------------------------


class PkSample(StudyData, Base):
    """A cellular-kinetics sample in the kinetics engine's long format (`docs/templates/pk_samples.csv`):
    one row per analyte — CAR transgene copies/µg gDNA (``car_transgene``, qPCR/ddPCR) or CAR+ T cells/µL
    (``car_t_cells``, flow cytometry) — with the value, its unit, the assay's LLOQ and the BLQ flag
    (value blank when BLQ). Source: `docs/science/cellular-kinetics.md`; docs/science/ct103a-nmosd-trial.md
    §9."""

    __tablename__ = "pk_sample"
    natural_key = ("subject_id", "analyte", "sampled_at")
    clinical_date_column = "sampled_at"

    subject_id: Mapped[str] = _subject_fk()
    analyte: Mapped[str] = mapped_column(String(40))
    assay: Mapped[str | None] = mapped_column(String(40))
    matrix: Mapped[str | None] = mapped_column(String(40))
    nominal_day: Mapped[float | None] = mapped_column(Float)
    actual_day: Mapped[float | None] = mapped_column(Float)
    sampled_at: Mapped[dt.datetime]
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    lloq: Mapped[float | None] = mapped_column(Float)
    blq: Mapped[bool | None]

    __table_args__ = (UniqueConstraint("subject_id", "analyte", "sampled_at", name="uq_pk_sample"),)


class PdSample(StudyData, Base):
    """A pharmacodynamic sample (`docs/templates/pd_samples.csv`): AQP4-IgG end-point titre and assay,
    CD19+ B cells/µL, BCMA+ plasma cells/µL, serum IgG/IgA/IgM (g/L)."""

    __tablename__ = "pd_sample"
    natural_key = ("subject_id", "sampled_at")
    clinical_date_column = "sampled_at"

    subject_id: Mapped[str] = _subject_fk()
    nominal_day: Mapped[float | None] = mapped_column(Float)
    actual_day: Mapped[float | None] = mapped_column(Float)
    sampled_at: Mapped[dt.datetime]
    aqp4_igg_titre: Mapped[str | None] = mapped_column(String(20))
    aqp4_igg_assay: Mapped[str | None] = mapped_column(String(40))
    cd19_b_cells_per_ul: Mapped[float | None] = mapped_column(Float)
    bcma_plasma_cells_per_ul: Mapped[float | None] = mapped_column(Float)
    igg_g_per_l: Mapped[float | None] = mapped_column(Float)
    iga_g_per_l: Mapped[float | None] = mapped_column(Float)
    igm_g_per_l: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("subject_id", "sampled_at", name="uq_pd_sample"),)


# --------------------------------------------------------------------------------------------------
# Study conduct: escalation, queries, derived values, imports, lock
# --------------------------------------------------------------------------------------------------


class EscalationDecision(StudyData, Base):
    """A dose-escalation decision: cohort, outcomes string, design state, decision, who approved it."""

    __tablename__ = "escalation_decision"
    natural_key = ("cohort",)
    clinical_date_column = "decided_on"
    subject_column = None

    cohort: Mapped[int]
    dose_level: Mapped[int]
    decided_on: Mapped[dt.date]
    outcomes: Mapped[str] = mapped_column(Text)
    design: Mapped[str | None] = mapped_column(String(40))
    design_state: Mapped[dict[str, Any] | None]
    decision: Mapped[str] = mapped_column(String(40))
    approved_by: Mapped[str | None] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("cohort", name="uq_escalation_decision"),)


class DataQuery(StudyData, Base):
    """A data query raised by a monitor (or data manager) on one record, and its answer."""

    __tablename__ = "data_query"
    natural_key = ("query_code",)
    clinical_date_column = None

    query_code: Mapped[str] = mapped_column(String(40), unique=True)
    subject_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("subject.subject_id"), index=True)
    table_name: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int | None]
    field: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    raised_by: Mapped[str] = mapped_column(String(80))
    raised_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    answered_at: Mapped[dt.datetime | None]

    __table_args__ = (CheckConstraint("status IN ('open', 'answered', 'closed')", name="ck_query_status"),)


class DerivedValue(StudyData, Base):
    """A value computed by an engine from stored inputs (a grade, an EDSS, an NCA parameter), kept with the
    engine, the cartrial version and the options used (ALCOA+ 'traceable')."""

    __tablename__ = "derived_value"
    natural_key = ("engine", "source_table", "source_record_id", "parameter")
    clinical_date_column = None
    """Not frozen by a lock: derivation is analysis, done after the lock (every change is audited)."""

    subject_id: Mapped[str | None] = mapped_column(String(40), ForeignKey("subject.subject_id"), index=True)
    engine: Mapped[str] = mapped_column(String(80))
    engine_version: Mapped[str] = mapped_column(String(40))
    options: Mapped[dict[str, Any] | None]
    source_table: Mapped[str] = mapped_column(String(60))
    source_record_id: Mapped[int] = mapped_column(Integer, default=0)
    """Record the value was derived from (0 when derived from several records of the subject)."""
    parameter: Mapped[str] = mapped_column(String(80))
    value_number: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    rule: Mapped[str | None] = mapped_column(Text)
    """Which rule fired and its source, as reported by the engine."""
    clinical_date: Mapped[dt.date | None]
    computed_at: Mapped[dt.datetime] = mapped_column(default=utc_now)

    __table_args__ = (
        UniqueConstraint("engine", "source_table", "source_record_id", "parameter", name="uq_derived_value"),
    )


class ImportManifest(StudyData, Base):
    """One imported file: name, SHA-256, row counts per table, who and when (import reconciliation)."""

    __tablename__ = "import_manifest"
    natural_key = ("file_name", "imported_at")
    clinical_date_column = None
    subject_column = None

    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    row_counts: Mapped[dict[str, Any]]
    """Per table: ``{"infusion": {"read": 12, "inserted": 0, "updated": 1, "unchanged": 11}}``."""
    imported_by: Mapped[str] = mapped_column(String(80))
    imported_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    reason: Mapped[str | None] = mapped_column(Text)
    site_id: Mapped[str | None] = mapped_column(String(40))
    """The site the import was made at: the importer's site when a site-restricted user
    (`permissions.SITE_RESTRICTED_ROLES`) imported, None for a study-wide role's import and for every
    manifest written before migration 0009. Recorded at import time, so a later move of the account does
    not move the import; only a site's own investigators read it (D-19.483). No foreign key: a manifest
    is history and outlives its site's record."""

    __table_args__ = (UniqueConstraint("file_name", "imported_at", name="uq_import_manifest"),)


class DataLock(Base):
    """A data cut-off lock. At most one lock is active; unlocking keeps the row (with who, when, why)."""

    __tablename__ = "data_lock"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cutoff: Mapped[dt.date]
    locked_by: Mapped[str] = mapped_column(String(80))
    locked_at: Mapped[dt.datetime] = mapped_column(default=utc_now)
    reason: Mapped[str] = mapped_column(Text)
    snapshot_sha256: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the locked records (canonical JSON), so a locked snapshot can be re-verified."""
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unlocked_by: Mapped[str | None] = mapped_column(String(80))
    unlocked_at: Mapped[dt.datetime | None]
    unlock_reason: Mapped[str | None] = mapped_column(Text)
    audit_head_id: Mapped[int | None] = mapped_column(Integer)
    """Id of the newest audit row when the lock was taken (filled by a trigger, migration 0004)."""
    audit_head_hash: Mapped[str | None] = mapped_column(String(64))
    """`row_hash` of that audit row: anchors the trail as it was at the lock (`cartrial.store.tamper`)."""


class AuditLog(Base):
    """The audit trail (21 CFR 11.10(e), ICH E6(R3) 4.2.2; docs/science/data-standards.md §8.2).

    Append-only: database triggers (created by the migration) refuse UPDATE and DELETE on both backends.
    Hash-chained: `row_hash` = SHA-256 of the canonical serialisation of the row including `prev_hash`
    (see `cartrial.store.audit.row_digest`), and `prev_hash` is the previous row's `row_hash`; ids are
    assigned in chain order under a chain lock, so the chain is linear even with concurrent writers.

    One row per inserted record (`field` = ``*``, `new_value` = canonical JSON of the record) or, for a bulk
    insert, one ``insert-batch`` row per table, subject and run of new ids sealing every record's values
    (`cartrial.store.audit.batch_json`, decisions D-19.10), one row per
    changed field of an update (old and new value, JSON), one row per deleted record (`old_value` = JSON of
    the record), and one row per lock, unlock, user or role change, import and derivation.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recorded_at: Mapped[dt.datetime]
    username: Mapped[str] = mapped_column(String(80))
    user_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    table_name: Mapped[str | None] = mapped_column(String(60))
    record_id: Mapped[int | None]
    subject_id: Mapped[str | None] = mapped_column(String(40))
    field: Mapped[str | None] = mapped_column(String(80))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    software_version: Mapped[str] = mapped_column(String(40))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))
    row_mac: Mapped[str | None] = mapped_column(String(64))
    """Keyed seal: HMAC-SHA256 of `row_hash` with the study's audit key (NULL unkeyed; migration 0004)."""

    __table_args__ = (
        Index("ix_audit_log_subject", "subject_id"),
        Index("ix_audit_log_record", "table_name", "record_id"),
    )


STUDY_TABLES: dict[str, type[StudyData]] = {
    cls.__tablename__: cls
    for cls in (
        Study,
        Site,
        User,
        Subject,
        ScreeningResult,
        LymphodepletionAdministration,
        Infusion,
        CrsAssessment,
        IcansAssessment,
        Therapy,
        AdverseEvent,
        LabResult,
        EdssAssessment,
        VisualAcuity,
        OsisAssessment,
        TimedWalk,
        Relapse,
        PkSample,
        PdSample,
        EscalationDecision,
        DataQuery,
        DerivedValue,
        ImportManifest,
    )
}
"""Every audited table, by table name (what `upsert_rows`, `update_record`, `delete_record` accept)."""


def _locate_stored_dates() -> None:
    """Give each date and date-time column its own type naming its table and column, so that a stored value
    its reader refuses is named by where it is (D-19.556): the annotation map shares one type object."""
    for table in Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, UtcDateTime | StoredDate):
                column.type = type(column.type)(table.name, column.name)
            elif isinstance(column.type, StoredJSON):  # NaN inside a JSON document (D-19.1098)
                column.type = StoredJSON(table.name, column.name)
            elif type(column.type) is Float:  # every number column refuses a non-finite value (D-19.1096)
                column.type = StoredNumber(table.name, column.name)
            elif type(column.type) is Integer and not column.primary_key and table.name in STUDY_TABLES:
                # a study table's whole numbers (not the trail's nor the users': `audit verify` reads these)
                column.type = StoredInteger(table.name, column.name)  # D-19.1097


_locate_stored_dates()
