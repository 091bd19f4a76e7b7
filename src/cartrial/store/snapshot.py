"""The study snapshot as of a data cut-off: the one read function behind `cartrial analyse`
(docs/science/decisions.md D-13.1).

`read_snapshot(url_or_service, cutoff)` reads, in one read-only transaction, every study-data table the
analysis needs and returns plain pandas tables in the column layout of the CSV import templates
(``docs/templates/*.csv``), as all-string frames exactly as `cartrial.tabular.read_csv` would give them
(blank cells ``''``, booleans ``true``/``false``, date-times ISO 8601 UTC with ``Z``), so that the engines'
``derive_*`` functions take them as if read from files.

- Records whose clinical date (the table's `clinical_date_column`, the same column the data lock compares)
  falls after the cut-off — a date as typed, a date-time by its date on the calendar of its subject's site
  (`on_or_before_cutoff`, D-19.729) — are left out, and counted per table in `StudySnapshot.after_cutoff`
  — never silently; the subjects concerned are listed in `StudySnapshot.after_cutoff_subjects`.
- A subject consented after the cut-off is not in the snapshot, nor is any record of theirs dated before it
  (a relapse before enrolment; `of_subjects_enrolled`, D-19.1147): counted per table in
  `StudySnapshot.not_enrolled_at_cutoff`.
- A record that started on or before the cut-off but ended after it (its model's `end_date_column`: an
  adverse event's `ended_on`, a therapy's `stopped_at`, a subject's `disposition_date`) is read as ongoing at
  the cut-off (`open_at_cutoff`, decisions D-19.85): its end is blank, and what only its end told is not known
  yet — an adverse event's outcome recovered / recovered_with_sequelae / fatal is ``not_recovered``, a grade
  5 (death, CTCAE v5.0) and the category death are blank (D-19.117), a subject's disposition is blank (on
  study; D-19.92). Counted per table in `StudySnapshot.ended_after_cutoff`, stated in every output. This is
  the one place the cut is made, so the analysis, the report, the CDISC export and the web all read the
  same.
- The active data lock whose cut-off equals the requested cut-off is recorded (`lock_id`), with the
  audit-chain head the lock recorded when it was taken (`lock_audit_head_id`, `lock_audit_head_hash`: its
  checkpoint, D-19.1054); otherwise the snapshot is `unlocked` (allowed, flagged in every output).
- The protocol stored in the study row is parsed and checked against the database (SHA-256 of the stored
  text, study id, dose levels of the infusions); a mismatch is a `CartrialError` (CLI exit 2).
- A value stored by an earlier release in another case than its one spelling (a lab result `Neutrophils`)
  is read in its spelling (`cartrial.store.spellings.read_spellings`) and counted per table and field in
  `StudySnapshot.read_in_spelling`, stated in every output (decisions D-19.76).
- The audit-chain head (id and row hash of the last audit row) at the snapshot is recorded.

No writes: the transaction is read-only on PostgreSQL (``SET TRANSACTION READ ONLY``, REPEATABLE READ, so
every table is read at the same instant) and rolled back on every backend.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, String, func, inspect, select, text, type_coerce
from sqlalchemy.exc import OperationalError, ProgrammingError

from cartrial.errors import CartrialError, InputError, PermissionDeniedError, Problem
from cartrial.store import models
from cartrial.store.database import DatabaseError
from cartrial.store.spellings import read_spellings
from cartrial.store.stored_dates import stored_raw, unreadable_values

if TYPE_CHECKING:
    from cartrial.protocol import Protocol
    from cartrial.store.permissions import Action
    from cartrial.store.service import StudyUser

SNAPSHOT_TABLES: dict[str, type[models.StudyData]] = {
    "subjects": models.Subject,
    "infusions": models.Infusion,
    "lymphodepletion": models.LymphodepletionAdministration,
    "crs_assessments": models.CrsAssessment,
    "icans_assessments": models.IcansAssessment,
    "therapies": models.Therapy,
    "labs": models.LabResult,
    "adverse_events": models.AdverseEvent,
    "edss": models.EdssAssessment,
    "visual_acuity": models.VisualAcuity,
    "osis": models.OsisAssessment,
    "timed_walk": models.TimedWalk,
    "relapses": models.Relapse,
    "pk_samples": models.PkSample,
    "pd_samples": models.PdSample,
    "escalation_decisions": models.EscalationDecision,
}
"""Snapshot table (the CSV template's name) → ORM model."""

DATABASE_ONLY_COLUMNS = frozenset({"id", "version", "created_at", "updated_at"})
"""Columns the database fills itself (not in any template); `id` is kept as ``record_id`` for provenance."""

SUBJECT_ID = "subject_id"
"""The column that ties a snapshot record to its subject (and so to the subject's site)."""

SITE_VIEW_EMPTY = frozenset({"escalation_decisions"})
"""Tables without a subject that a site-restricted view (`read_snapshot`'s `sites`) holds no row of: the
study-level cohorts span every site, and a site's subset cannot replay them (moved from the web's
`snapshot_for`, D-19.457)."""

RECORD_ID = "record_id"
"""Last column of every snapshot table: the database id of the record (traceability of derived values)."""


def tables_sha256(tables: Mapping[str, pd.DataFrame]) -> str:
    """SHA-256 of snapshot tables (every table, in name order, as CSV text without the database ids): what
    `StudySnapshot.tables_sha256` records in `metadata()`, and what the report and the CDISC export compare
    the tables they are given with (D-19.1291)."""
    digest = hashlib.sha256()
    for name in sorted(tables):
        frame = tables[name].drop(columns=[RECORD_ID], errors="ignore")
        digest.update(name.encode("utf-8") + b"\n")
        digest.update(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True)
class StudySnapshot:
    """The study as of `cutoff`: template-layout tables, what was left out, lock, protocol and audit head."""

    cutoff: dt.date
    tables: Mapping[str, pd.DataFrame]
    protocol: Protocol
    protocol_yaml: str
    protocol_sha256: str
    study_code: str
    after_cutoff: Mapping[str, int]
    """Records left out because dated after the cut-off, per table (every table listed, 0 included)."""
    after_cutoff_subjects: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Subjects with at least one record left out, per table (tables with none omitted)."""
    ended_after_cutoff: Mapping[str, int] = field(default_factory=dict)
    """Records that ended after the cut-off, read as ongoing at it (`open_at_cutoff`, D-19.85), per table
    (tables with none omitted)."""
    not_enrolled_at_cutoff: Mapping[str, int] = field(default_factory=dict)
    """Records dated on or before the cut-off of a subject consented after it, left out with that subject
    (`of_subjects_enrolled`, D-19.1147; e.g. the relapses before enrolment), per table (tables with none
    omitted). The subjects are named in `after_cutoff_subjects` (their `subjects` row is dated after it)."""
    read_in_spelling: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """Stored values read in their one spelling, per table and field (tables with none omitted): values a
    release before decisions D-19.42 stored in another case (`cartrial.store.spellings`, D-19.76)."""
    lock_id: int | None = None
    lock_audit_head_id: int | None = None
    """The audit-chain head the lock recorded when it was taken (`data_lock.audit_head_id`, migration 0004):
    the checkpoint of the locked data every report of the lock carries (D-19.1054); None without a lock or
    for a lock taken before migration 0004."""
    lock_audit_head_hash: str | None = None
    """That audit row's `row_hash` as the lock recorded it (`data_lock.audit_head_hash`)."""
    audit_head_id: int | None = None
    audit_head_hash: str | None = None
    backend: str = ""
    sites: Mapping[str, str] = field(default_factory=dict)
    """site_id → country of the study's sites, read in the same transaction (DM.COUNTRY of the CDISC export,
    which reads it when no `sites` are given; D-19.383)."""
    time_zones: Mapping[str, str] = field(default_factory=dict)
    """site_id → IANA time zone (`site.time_zone`, D-19.285) of the study's sites that have one, read in the
    same transaction: the calendar of their subjects' study days (day 0 and the date of every date-time;
    D-19.607). A site not listed counts its days in UTC."""
    allow_future_cutoff: bool = False
    """The named opt-in to a cut-off after today (`read_snapshot`'s; D-19.380): recorded in `metadata`."""
    view_sites: tuple[str, ...] | None = None
    """The sites whose subjects the snapshot holds (`read_snapshot`'s `sites`, sorted): None is the whole
    study; a site-restricted user's view names their sites, recorded in `metadata` and stated in every
    output (D-19.457)."""
    read_by: str | None = None
    """The authenticated user whose view this is (`snapshot_for_user`), None for a direct database read:
    recorded in `metadata` (D-19.458)."""
    read_at_cutoff: dt.date | None = None
    """The cut-off the tables were read at (`read_snapshot`'s; the snapshot's own cut-off when not given):
    a `dataclasses.replace(snapshot, cutoff=...)` may move the cut-off back, never past it (D-19.1289)."""

    def __post_init__(self) -> None:
        # a notebook's dataclasses.replace(snapshot, cutoff=...) is checked like read_snapshot's (D-19.67),
        # a cut-off after today too unless the snapshot was read with the opt-in (D-19.380)
        from cartrial.columns import cutoff_date

        cutoff = cutoff_date(self.cutoff, allow_future=self.allow_future_cutoff)
        object.__setattr__(self, "cutoff", cutoff)
        read = self.read_at_cutoff
        if read is None:
            object.__setattr__(self, "read_at_cutoff", cutoff)
            return
        read = cutoff_date(read, "read_at_cutoff", allow_future=True)
        object.__setattr__(self, "read_at_cutoff", read)
        if cutoff > read:  # the records between the two dates were never read (D-19.1289)
            raise InputError(
                Problem(
                    "after the cut-off the snapshot's tables were read at",
                    field="cutoff",
                    allowed=f"on or before {read.isoformat()}; a later cut-off is a new read: "
                    "cartrial.store.snapshot.read_snapshot(url, cutoff)",
                )
            )
        if cutoff < read:  # the lock read with the tables is the lock at the read date, not at this cut-off
            for name in ("lock_id", "lock_audit_head_id", "lock_audit_head_hash"):
                object.__setattr__(self, name, None)

    @property
    def unlocked(self) -> bool:
        """True when no active data lock exists at this cut-off (results are a draft)."""
        return self.lock_id is None

    def table(self, name: str) -> pd.DataFrame:
        """One snapshot table (a copy, so callers cannot change the snapshot); an unknown name is an
        `InputError` naming the snapshot's tables."""
        if name not in self.tables:
            from cartrial.allowed import choice_text

            raise InputError(
                Problem("unknown snapshot table", field="table", value=name, allowed=choice_text(self.tables))
            )
        return self.tables[name].copy()

    def tables_sha256(self) -> str:
        """SHA-256 of the snapshot's content (every table, in order, as CSV text without the database ids):
        equal for the same records on any backend, whatever was written to the audit trail since."""
        cached = self.__dict__.get("_tables_sha256")
        if cached is not None:
            return str(cached)
        digest = tables_sha256(self.tables)
        self.__dict__["_tables_sha256"] = digest  # computed once per snapshot (tables are fixed)
        return digest

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description of the snapshot (what every analysis output records)."""
        return {
            "study": self.study_code,
            "cutoff": self.cutoff.isoformat(),
            "cutoff_after_today_allowed": self.allow_future_cutoff,
            "lock_id": self.lock_id,
            "lock_audit_head_id": self.lock_audit_head_id,
            "lock_audit_head_hash": self.lock_audit_head_hash,
            "unlocked": self.unlocked,
            "protocol_version": self.protocol.study.protocol_version,
            "protocol_sha256": self.protocol_sha256,
            "audit_head_id": self.audit_head_id,
            "audit_head_hash": self.audit_head_hash,
            "tables_sha256": self.tables_sha256(),
            # another cut-off than the read one (D-19.1289): the counts below are the read's (D-19.1293)
            **(
                {"read_at_cutoff": self.read_at_cutoff.isoformat()}
                if self.read_at_cutoff is not None and self.read_at_cutoff != self.cutoff
                else {}
            ),
            "records": {name: len(frame) for name, frame in self.tables.items()},
            "records_after_cutoff": dict(self.after_cutoff),
            "subjects_with_records_after_cutoff": {k: list(v) for k, v in self.after_cutoff_subjects.items()},
            "records_ended_after_cutoff": dict(self.ended_after_cutoff),
            "records_of_subjects_consented_after_cutoff": dict(self.not_enrolled_at_cutoff),
            "values_read_in_spelling": {k: dict(v) for k, v in self.read_in_spelling.items()},
            "view": self.view(),
            # site → IANA zone: the calendar of each site's study days (UTC: not listed; D-19.607)
            "site_time_zones": dict(self.time_zones),
        }

    def view(self) -> dict[str, Any]:
        """Whose view of the study this is (D-19.457, D-19.458): ``whole_study`` (bool), ``sites`` (the
        sites included; every site of the study for the whole study), ``read_by`` (the authenticated user,
        None for a direct database read) and ``statement``, the sentence every output prints."""
        sites = sorted(self.sites) if self.view_sites is None else list(self.view_sites)
        if self.view_sites is None:
            statement = "whole study (every site)"
        else:
            named = ", ".join(sites) if sites else "none"
            statement = f"RESTRICTED VIEW: only the subjects of site(s) {named}, not the whole study"
        if self.read_by is not None:
            statement += f"; read by {self.read_by}"
        return {
            "whole_study": self.view_sites is None,
            "sites": sites,
            "read_by": self.read_by,
            "statement": statement,
        }


def _cell(value: Any) -> str:
    """A stored value as the CSV template cell that would have produced it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def on_or_before_cutoff(
    values: Iterable[Any],
    owners: Iterable[Any],
    zones: Mapping[str, str],
    cutoff: dt.date,
    *,
    _exact: bool = False,
) -> np.ndarray:
    """Whether each of `values` (a table's clinical or end dates: stored dates, UTC date-times, or their
    template cells) is on or before the calendar date `cutoff` — the one cut-off rule (D-19.729): a date as
    typed; a date-time's date on the calendar of its subject's site (`owners`: the subject of each value;
    `zones`: subject_id → IANA zone of the subject's site, `subject_site_zones`; a subject not listed, or a
    record without a subject, counts in UTC), the calendar the analysis dates it on (`site_date`,
    D-19.607); exactly 00:00:00Z, a date typed without a time, is that date (`typed_site_date`,
    D-19.947). Blank: True (nothing dated after the cut-off). Only an instant whose UTC date is the cut-off
    date or the day after can fall on either side (every zone is within a day of UTC): only those are read
    on the site's clock.

    >>> at = [dt.datetime(2021, 8, 1, 21, tzinfo=dt.UTC), dt.datetime(2021, 8, 2, 3, tzinfo=dt.UTC)]
    >>> zones = {"W": "Asia/Shanghai", "N": "America/New_York"}
    >>> on_or_before_cutoff(at, ["W", "N"], zones, dt.date(2021, 8, 1)).tolist()
    [False, True]
    >>> cells = ["2021-08-01T21:00:00Z", "2021-08-02"]
    >>> on_or_before_cutoff(cells, ["", "N"], zones, dt.date(2021, 8, 1)).tolist()
    [True, False]
    """
    from cartrial.columns import typed_site_date

    day = cutoff.isoformat()
    near = {day, (cutoff + dt.timedelta(days=1)).isoformat()} if cutoff < dt.date.max else {day}
    values = list(values)
    # text cells (SQLite's stored text, a snapshot frame; no padding): compared as text, only the instants
    # near the cut-off read on the site's clock
    if not _exact and all(v is None or isinstance(v, str) for v in values):
        days = ["" if v is None else v[:10] for v in values]
        fast = np.array([d <= day for d in days], dtype=bool)
        exact = [i for i, d in enumerate(days) if d in near] if zones else []
        if exact:
            owners = list(owners)
            fast[exact] = on_or_before_cutoff(
                [values[i] for i in exact], [owners[i] for i in exact], zones, cutoff, _exact=True
            )
        return fast
    out: list[bool] = []
    for value, owner in zip(values, owners, strict=True):
        moment: dt.datetime | None = None
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(True)
            continue
        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
            utc_day = moment.astimezone(dt.UTC).date().isoformat()
        elif isinstance(value, dt.date):
            out.append(value <= cutoff)
            continue
        else:
            text = str(value).strip()
            utc_day = text[:10]
            if len(text) > 10 and utc_day in near:  # a date-time cell (UTC, `_cell`'s ...Z)
                try:
                    moment = dt.datetime.fromisoformat(text)
                except ValueError:  # no date-time: compared as text, as before (its reader names it)
                    moment = None
                else:
                    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        zone = zones.get(str(owner)) if moment is not None and owner is not None else None
        if moment is None or not zone or utc_day not in near:
            out.append(utc_day <= day)
        else:
            day_on_site = typed_site_date(moment, zone)  # 00:00:00Z: the date typed (D-19.947)
            out.append(day_on_site is not None and day_on_site <= cutoff)
    return np.array(out, dtype=bool)


def _cells(values: list[Any]) -> list[str]:
    """`_cell` of every value of one column, vectorised for the column types the store returns (text,
    integers, floats, booleans, UTC date-times, dates); any other mix falls back to `_cell` per value."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return [""] * len(values)
    if kinds <= {str, _IsoText}:
        return ["" if v is None else str(v) for v in values]
    if kinds == {bool}:
        return ["" if v is None else ("true" if v else "false") for v in values]
    if kinds == {int}:
        return ["" if v is None else str(v) for v in values]
    if kinds <= {float, int}:
        array = np.array([np.nan if v is None else float(v) for v in values], dtype=float)
        whole = np.isfinite(array) & (np.mod(array, 1.0) == 0.0) & (np.abs(array) < 1e15)
        out = np.where(np.isnan(array), "", "").astype(object)
        if whole.any():
            out[whole] = array[whole].astype(np.int64).astype(str)
        other = ~whole & ~np.isnan(array)
        if other.any():
            out[other] = [repr(v) for v in array[other].tolist()]
        return [str(v) for v in out]
    if kinds == {dt.datetime}:
        aware = [v for v in values if v is not None]
        if all(v.tzinfo is not None for v in aware) and all(v.year >= 1970 for v in aware):
            stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True).dt.tz_localize(None)
            text = np.datetime_as_string(stamps.to_numpy(dtype="datetime64[s]"), unit="s")
            return ["" if t == "NaT" else f"{t}Z" for t in text.tolist()]
    if kinds == {dt.date}:
        return ["" if v is None else v.isoformat() for v in values]
    return [_cell(v) for v in values]


class _IsoText(str):
    """A date or UTC date-time read from SQLite as its stored text (``YYYY-MM-DD`` or
    ``YYYY-MM-DD HH:MM:SS[.ffffff]``, UTC by `cartrial.store.models.UtcDateTime`), already formatted as the
    template cell would be (``YYYY-MM-DD`` / ``YYYY-MM-DDTHH:MM:SSZ``)."""

    __slots__ = ()


_SQLITE_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?")
_SQLITE_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _raw_sqlite_columns(
    connection: Connection, table: Any, columns: list[Any]
) -> tuple[list[tuple[Any, ...]], list[tuple[str, int, Any]]] | None:
    """SQLite only: (the columns with dates and date-times read as their stored text (no per-value type
    processing), converted to the template cells in bulk; the (column, record id) of each stored value no
    reader of the column reads, by its position), or None when the table has no date column.

    SQLite keeps any text in a date column: a value the store never writes (a direct change, ``zzzz`` or
    ``2021-13-45``) was an uncaught ``ValueError`` quoting it from SQLAlchemy's parser, or went on as a
    date to fail in the analysis. Such a cell is read as empty here and its record returned, for
    `_read_table` to refuse it by its id (`_unreadable_dates`, D-19.543). A readable value in another
    spelling than SQLAlchemy writes is converted as the column's type reads it (``fromisoformat``)."""
    kinds: list[str] = []
    selected: list[Any] = []
    for column in columns:
        if isinstance(column.type, models.UtcDateTime):
            kinds.append("datetime")
            selected.append(type_coerce(column, String).label(column.name))
        elif isinstance(column.type, models.StoredDate):
            kinds.append("date")
            selected.append(type_coerce(column, String).label(column.name))
        else:
            kinds.append("")
            selected.append(_raw_number(column))
    if not any(kinds):
        return None
    rows = connection.execute(select(*selected, table.c.id).order_by(table.c.id)).all()
    data = list(zip(*rows, strict=False)) or [() for _ in range(len(columns) + 1)]
    out: list[tuple[Any, ...]] = []
    unreadable: list[tuple[str, int, Any]] = []
    for column, kind, values in zip([*columns, None], [*kinds, ""], data, strict=True):
        if not kind:
            out.append(values)
            continue
        pattern = _SQLITE_DATETIME if kind == "datetime" else _SQLITE_DATE
        cells: list[_IsoText | None] = []
        for position, value in enumerate(values):
            cell = None if value is None else _iso_cell(value, kind, pattern)
            if value is not None and cell is None:
                unreadable.append((column.name, position, value))
            cells.append(cell)
        out.append(tuple(cells))
    return out, unreadable


def _raw_number(column: Any) -> Any:
    """`column` as selected by the snapshot: a number column as the driver gives it, without its type's
    per-value refusal (`models.StoredNumber`): `_unreadable_numbers` checks the whole column at once."""
    if isinstance(column.type, models.StoredNumber | models.StoredInteger | models.StoredJSON):
        return stored_raw(column, "")
    return column


def _unreadable_numbers(columns: list[Any], data: list[tuple[Any, ...]]) -> list[tuple[str, int, Any]]:
    """(column, position) of each stored number cartrial never writes (NaN, an infinity, text: the one rule,
    `stored_dates.non_finite_cells`, D-19.1096), one vectorised check per number column; each is read as
    empty in `data` (the read is refused by its record, as an unreadable date is); each with its stored
    reading (what its problem is, `StoredJSON.stored_problem`, D-19.1161)."""
    out: list[tuple[str, int, Any]] = []
    for index, (column, values) in enumerate(zip(columns, data, strict=False)):
        if hasattr(column.type, "stored_cells") and len(values):
            bad = np.flatnonzero(column.type.stored_cells(values))
            if len(bad):
                out += [(column.name, int(i), values[i]) for i in bad]
                cells = list(values)
                for i in bad:
                    cells[i] = None
                data[index] = tuple(cells)
    return out


def _iso_cell(value: Any, kind: str, pattern: re.Pattern[str]) -> _IsoText | None:
    """Stored `value` of a date (`kind` "date") or UTC date-time column as its template cell, None when the
    column's reader (``fromisoformat``, as `models.UtcDateTime` and SQLite's ``DATE`` read) cannot read
    it."""
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value) if kind == "datetime" else dt.date.fromisoformat(value)
    except ValueError:
        return None
    if pattern.fullmatch(value):  # as SQLAlchemy writes it: the text itself (the common case)
        return _IsoText(f"{value[:10]}T{value[11:19]}Z" if kind == "datetime" else value)
    if isinstance(parsed, dt.datetime):
        utc = parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
        return _IsoText(utc.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return _IsoText(parsed.isoformat())


def _unreadable_date_problems(
    table: Any, columns: list[Any], cells: Iterable[tuple[str, int, Any]]
) -> list[Problem]:
    """The stored dates and date-times of one table no reader can read: each named by its record,
    ``infusion record 12, infused_at``, and what is allowed, never the value (D-12.2, D-19.543; the one
    text, `cartrial.store.stored_dates`, D-19.556)."""
    kinds = {c.name: c.type for c in columns}
    return [kinds[name].stored_problem(table.name, record_id, value) for name, record_id, value in cells]


def _unreadable_dates(problems: list[Problem]) -> InputError:
    """The one refusal of every unreadable stored date of the tables read (all tables at once: no
    fix-and-rerun loop, D-19.543), bounded as every such refusal is (`stored_dates.bounded`)."""
    return unreadable_values(problems)


def _read_table(
    connection: Connection,
    model: type[models.StudyData],
    cutoff: dt.date,
    subjects: frozenset[str] | None = None,
    name: str = "",
    unreadable_out: list[Problem] | None = None,
    zones: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, int, tuple[str, ...], dict[str, int]]:
    """(template-layout frame of records dated on or before `cutoff`, n left out, subjects left out, values
    read in their one spelling per field).

    `subjects` (a site-restricted view, `read_snapshot`'s `sites`): only the records of these subjects are
    read and counted (a table without a subject keeps its rows, except the `SITE_VIEW_EMPTY` snapshot
    table `name`); None: every record. A stored date no reader reads is read as empty and its problem
    appended to `unreadable_out` (`read_snapshot` refuses them all at once; without it, raised here).
    `zones` (subject_id → IANA zone of the subject's site, `subject_site_zones`): the calendar a date-time is
    compared with the cut-off on (`on_or_before_cutoff`, D-19.729); None: UTC for every subject.

    Read with SQLAlchemy Core (no ORM objects) and converted column by column."""
    own_problems = unreadable_out is None
    unreadable_out = [] if unreadable_out is None else unreadable_out
    table = model.__table__  # type: ignore[attr-defined]
    columns = [c for c in table.columns if c.name not in DATABASE_ONLY_COLUMNS]
    names = [c.name for c in columns]
    date_column = model.clinical_date_column
    subject_column = model.subject_column
    raw = _raw_sqlite_columns(connection, table, columns) if connection.dialect.name == "sqlite" else None
    data, unreadable = raw if raw is not None else (None, [])
    if data is None:
        result = connection.execute(select(*map(_raw_number, columns), table.c.id).order_by(table.c.id))
        data = list(zip(*result.all(), strict=False)) or [() for _ in range(len(names) + 1)]
    unreadable = [*unreadable, *_unreadable_numbers(columns, data)]  # NaN, an infinity (D-19.1096)
    mine = np.ones(len(data[0]), dtype=bool)
    if subjects is not None:
        if SUBJECT_ID in names:
            owner = data[names.index(SUBJECT_ID)]
            mine = np.array([v is not None and str(v) in subjects for v in owner], dtype=bool)
        elif name in SITE_VIEW_EMPTY:
            mine = np.zeros(len(data[0]), dtype=bool)
    if refused := [(column, data[-1][i], value) for column, i, value in unreadable if mine[i]]:
        # a record of this view only, refused with every other table's once all are read (D-19.543)
        unreadable_out.extend(_unreadable_date_problems(table, columns, refused))
        if own_problems:
            raise _unreadable_dates(unreadable_out)
    keep = mine.copy()
    left_out_subjects: set[str] = set()
    if date_column:
        dates = data[names.index(date_column)]
        owned = subject_column is not None and subject_column in names
        owners = data[names.index(subject_column)] if owned else [None] * len(dates)
        # on the subject's site calendar, as the analysis dates the record (D-19.729, D-19.607)
        keep &= on_or_before_cutoff(dates, owners, zones or {}, cutoff)
        dropped = mine & ~keep
        if subject_column and subject_column in names and dropped.any():
            owners = data[names.index(subject_column)]
            left_out_subjects = {str(owners[i]) for i in np.flatnonzero(dropped) if owners[i] is not None}
    left_out = int((mine & ~keep).sum())
    index = np.flatnonzero(keep)
    frame = pd.DataFrame(
        {
            name: pd.Series(
                _cells(list(column) if keep.all() else [column[i] for i in index]) if len(index) else [],
                dtype=object,
            )
            for name, column in zip([*names, RECORD_ID], data, strict=True)
        },
        columns=[*names, RECORD_ID],
    )
    # a value stored by an earlier release in another case is read in its one spelling and counted (never
    # left out of a selection by name; D-19.76), before the sort so that the order is the respelled one's
    frame, respelled = read_spellings(table.name, frame)
    return _in_snapshot_order(frame, model).astype(str), left_out, tuple(sorted(left_out_subjects)), respelled


ANY_VALUE = "*"
"""In `KNOWN_AT_THE_END`: every value of the field (other than those listed)."""

KNOWN_AT_THE_END: dict[str, dict[str, dict[str, str]]] = {
    "adverse_events": {
        "outcome": {
            "recovered": "not_recovered",
            "recovered_with_sequelae": "not_recovered",
            "fatal": "not_recovered",
        },
        "grade": {"5": "", "5.0": ""},
        "category": {"death": ""},
        "serious_death": {"true": ""},
    },
    "subjects": {"disposition": {ANY_VALUE: ""}},
}
"""Per snapshot table, the values that only the record's end tells, and what they are at a cut-off before
the end (D-19.85): an adverse event open at the cut-off has not recovered (SDTMIG 3.4 AEOUT NOT
RECOVERED/NOT RESOLVED, with AEENDTC null and AEENRTPT ONGOING) and has not caused a death (CTCAE v5.0
grade 5 is death, dated at the end: its grade at the cut-off is not recorded; nor is the category ``death``,
which `cartrial.protocol.death.is_fatal` reads as a death too, D-19.117, nor its seriousness criterion
``serious_death``, D-19.328, nor the ``serious`` of an event serious only by that death, D-19.334); a
subject whose study ended
after the cut-off was on study at it (disposition blank: ongoing; D-19.92)."""


def open_at_cutoff(
    name: str, frame: pd.DataFrame, cutoff: dt.date, zones: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, int]:
    """(`frame` with every record that ended after `cutoff` read as ongoing at it, how many): its end
    (`end_date_column` of the table's model) blank and the values of `KNOWN_AT_THE_END` replaced (decisions
    D-19.85: `datacutr`'s principle, nothing after the cut-off, applied to end dates, which `datacutr` itself
    keeps). Records that ended on or before the cut-off are unchanged. An end that is a date-time (a
    therapy's `stopped_at`) is compared on its subject's site calendar (`zones`: subject_id → IANA zone,
    `subject_site_zones`; None: UTC), the one cut-off rule `on_or_before_cutoff` (D-19.729).

    >>> ae = pd.DataFrame({"ended_on": ["2021-07-17", "2021-09-11", ""], "grade": ["1", "5", "2"],
    ...                    "outcome": ["recovered", "fatal", "recovering"]})
    >>> cut, n = open_at_cutoff("adverse_events", ae, dt.date(2021, 8, 1))
    >>> n, cut.to_dict("records")[1]
    (1, {'ended_on': '', 'grade': '', 'outcome': 'not_recovered'})
    """
    model = SNAPSHOT_TABLES[name]
    column = model.end_date_column
    if column is None or column not in frame.columns or not len(frame):
        return frame, 0
    ended = frame[column].astype(str)
    owners = frame[SUBJECT_ID] if SUBJECT_ID in frame.columns else [None] * len(frame)
    after = ~on_or_before_cutoff(ended, owners, zones or {}, cutoff)
    if not after.any():
        return frame, 0
    frame = frame.copy()
    frame.loc[after, column] = ""
    serious_by_death = _serious_only_by_death(frame) & after if name == "adverse_events" else None
    for field_name, replace in KNOWN_AT_THE_END.get(name, {}).items():
        if field_name in frame.columns:
            values = frame.loc[after, field_name].astype(str)
            frame.loc[after, field_name] = [
                replace.get(v.strip().lower(), replace.get(ANY_VALUE, v)) for v in values
            ]
    if serious_by_death is not None and serious_by_death.any():
        frame.loc[serious_by_death, "serious"] = ""  # its seriousness is known only at its end too
    return frame, int(after.sum())


def of_subjects_enrolled(
    tables: Mapping[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """(`tables` holding only the records of the subjects in its ``subjects`` table, how many records of other
    subjects were left out per table — tables with none omitted).

    A subject consented after the cut-off is not in the snapshot (their `subjects` row is dated after it);
    their records dated before it — the relapses before enrolment, a screening record — are left out with
    them (decisions D-19.1147): pharmaverse `datacutr`'s date cut keeps only the patients of the cut and then
    removes the records dated after the cut-off, and SDTMIG 3.4 §5.1 DM holds every subject of the other
    domains. A record without a subject is kept.

    >>> subjects = pd.DataFrame({"subject_id": ["A"]})
    >>> relapses = pd.DataFrame({"subject_id": ["A", "B", "B"], "onset_date": ["2020-01-02"] * 3})
    >>> kept, n = of_subjects_enrolled({"subjects": subjects, "relapses": relapses})
    >>> kept["relapses"]["subject_id"].tolist(), n
    (['A'], {'relapses': 2})
    """
    # both sides trimmed alike (D-19.1150): a stored id with a space is the same subject's in every table
    enrolled = set(_subject_ids(tables["subjects"])) if "subjects" in tables else set()
    out: dict[str, pd.DataFrame] = {}
    left: dict[str, int] = {}
    for name, frame in tables.items():
        if name == "subjects" or SUBJECT_ID not in frame.columns or not len(frame):
            out[name] = frame
            continue
        owner = _subject_ids(frame)
        other = ((owner != "") & ~owner.isin(enrolled)).to_numpy()
        if other.any():
            left[name] = int(other.sum())
            frame = frame.loc[~other].reset_index(drop=True)
        out[name] = frame
    return out, left


def subject_ids(frame: pd.DataFrame) -> pd.Series:
    """`frame`'s ``subject_id`` as text without surrounding spaces, a blank (None, NaN) as "" — no subject's
    (`of_subjects_enrolled`'s comparison, and the analysis's, `refuse_records_of_other_subjects`;
    D-19.1294: ``astype(str)`` read NaN as the subject "nan")."""
    ids = frame[SUBJECT_ID]
    return ids.astype(str).str.strip().where(ids.notna(), "")


_subject_ids = subject_ids


def _serious_only_by_death(frame: pd.DataFrame) -> np.ndarray:
    """The adverse events whose one seriousness criterion met is death (`serious_death` true, no other true):
    at a cut-off before their end, not yet known serious (D-19.334; else AESER = Y with no criterion Y)."""
    from cartrial.protocol.seriousness import CRITERIA_FIELDS, flag

    if "serious_death" not in frame.columns or "serious" not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    death = np.array([flag(v) is True for v in frame["serious_death"]], dtype=bool)
    other = np.zeros(len(frame), dtype=bool)
    for name in CRITERIA_FIELDS:
        if name != "serious_death" and name in frame.columns:
            other |= np.array([flag(v) is True for v in frame[name]], dtype=bool)
    return death & ~other


def _in_snapshot_order(frame: pd.DataFrame, model: Any) -> pd.DataFrame:
    """A stable, backend-independent order: natural key, then id (the given order without one)."""
    key = [c for c in [*model.natural_key, RECORD_ID] if c in frame.columns]
    if _ordered(frame, key):
        return frame if _plain_index(frame) else frame.reset_index(drop=True)
    return frame.sort_values(key, key=_sort_key, kind="mergesort").reset_index(drop=True)


def _plain_index(frame: pd.DataFrame) -> bool:
    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _ordered(frame: pd.DataFrame, key: list[str]) -> bool:
    """Whether the rows are already in the order `sort_values(key, key=_sort_key)` gives (one pass over the
    adjacent rows; a snapshot read from the store always is)."""
    if len(frame) < 2:
        return True
    undecided = np.ones(len(frame) - 1, dtype=bool)
    for column in key:
        values = _sort_key(frame[column]).to_numpy()  # text (every snapshot column) or numbers
        before, after = values[:-1], values[1:]
        if (undecided & (before > after)).any():
            return False
        undecided &= ~(before < after)
        if not undecided.any():
            break
    return True


def _sort_key(series: pd.Series) -> pd.Series:
    if series.name == RECORD_ID or series.name == "cohort":
        return pd.to_numeric(series, errors="coerce")
    return series


def _engine_of(url_or_service: Any) -> Engine:
    from cartrial.store.database import connect

    if isinstance(url_or_service, Engine):
        return url_or_service
    engine = getattr(url_or_service, "engine", None)
    if isinstance(engine, Engine):
        return engine
    if url_or_service is None or isinstance(url_or_service, str | os.PathLike):
        return connect(url_or_service)
    raise InputError(
        Problem(
            f"not a database: a {type(url_or_service).__name__}",
            field="url_or_service",
            allowed="a database URL | a pathlib.Path of a SQLite file | an Engine | a StudyService",
        )
    )


def _check_protocol(study: Any, protocol: Protocol, infusions: pd.DataFrame, source: str) -> None:
    """The stored protocol must be the study's: same text hash, same study id, and every infused dose
    level defined."""
    actual = hashlib.sha256(study.protocol_yaml.encode("utf-8")).hexdigest()
    if actual != study.protocol_sha256:
        raise CartrialError(
            f"{source}: the stored protocol text does not match its recorded SHA-256 "
            f"({actual[:12]}… != {study.protocol_sha256[:12]}…); the study row has been altered"
        )
    if protocol.study.id != study.study_code:
        raise CartrialError(
            f"{source}: the stored protocol is for study {protocol.study.id!r} but the database holds study "
            f"{study.study_code!r}"
        )
    defined = {str(level.level) for level in protocol.dose_levels}
    used = set(infusions["dose_level"]) if len(infusions) else set()
    unknown = sorted(used - defined)
    if unknown:
        raise CartrialError(
            f"{source}: infusions at dose level(s) {', '.join(unknown)} that the protocol does not define "
            f"(protocol levels: {', '.join(sorted(defined))}); the protocol does not match the database"
        )


def read_snapshot(
    url_or_service: Any,
    cutoff: dt.date,
    *,
    protocol_text: str | None = None,
    before_first_infusion: bool = False,
    allow_future_cutoff: bool = False,
    sites: Iterable[str] | None = None,
    read_by: str | None = None,
) -> StudySnapshot:
    """The study as of `cutoff` (see the module docstring).

    The Python API reads as the holder of the database URL, with no user and no permission check: it is
    for statisticians with direct database access, the equivalent of an SQL client on the same URL
    (docs/security.md section 5). The commands read a user's view through `snapshot_for_user`.
    `sites`: only the subjects of these sites (and their records) are read, counted and listed — also in
    `after_cutoff` and `after_cutoff_subjects` —, `StudySnapshot.sites` holds only these sites and the
    escalation decisions none (`SITE_VIEW_EMPTY`); None (default): the whole study. `read_by`: the user
    whose view it is, recorded in `metadata` (D-19.457, D-19.458).

    `url_or_service`: a database URL, a SQLAlchemy `Engine` or a `StudyService`. `protocol_text`
    (optional): a protocol YAML the caller expects; it must be the one stored (same SHA-256), else a
    `CartrialError`. Raises `CartrialError` (CLI exit 2) for an empty database (no study, or no subject),
    a cut-off before the first infusion, or a protocol that does not match the database.
    `before_first_infusion`: a cut-off before the first infusion gives a snapshot without infusions instead
    (for a reader that shows what there is before any infusion, e.g. the adverse events of the enrolled
    patients on the web safety page, D-19.106; `analyse` needs an infusion).
    `allow_future_cutoff`: a cut-off after today is an `InputError` (as on the command line: follow-up after
    today has not happened, D-19.380) unless this named opt-in is given, for a reader that computes no
    follow-up (a selection of samples) or a virtual study simulated into the future; the snapshot carries
    it, so `analyse` accepts it, and every output records it (`metadata`).
    """
    from cartrial.columns import cutoff_date
    from cartrial.protocol import parse_protocol

    cutoff = cutoff_date(cutoff, allow_future=allow_future_cutoff)
    engine = _engine_of(url_or_service)
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        transaction = connection.begin()
        try:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION READ ONLY"))
            if not inspect(connection).has_table(models.Study.__tablename__):
                # checked first: the engine turns a failed query into a generic DatabaseError
                raise CartrialError(
                    f"{where}: not a cartrial study database (no study table; run `cartrial db init`)"
                )
            try:
                study_rows = connection.execute(
                    select(
                        models.Study.study_code,
                        models.Study.protocol_yaml,
                        models.Study.protocol_sha256,
                        models.Study.protocol_version,
                    ).order_by(models.Study.id)
                ).all()
            except (OperationalError, ProgrammingError, DatabaseError) as exc:
                raise CartrialError(
                    f"{where}: not a cartrial study database (no study table; run `cartrial db init`)"
                ) from exc
            if not study_rows:
                raise CartrialError(f"{where}: the database is empty (no study; run `cartrial db init`)")
            study = study_rows[0]
            n_subjects = connection.execute(select(func.count()).select_from(models.Subject)).scalar_one()
            if n_subjects == 0:
                raise CartrialError(f"{where}: the database holds no subject (nothing to analyse)")
            given = (sites,) if isinstance(sites, str) else sites  # one site named as text
            view = None if given is None else tuple(sorted({str(s) for s in given}))
            view_subjects = None
            if view is not None:
                view_subjects = frozenset(
                    str(s)
                    for s in connection.execute(
                        select(models.Subject.subject_id).where(models.Subject.site_id.in_(view))
                    ).scalars()
                )
            tables: dict[str, pd.DataFrame] = {}
            after: dict[str, int] = {}
            after_subjects: dict[str, tuple[str, ...]] = {}
            respelled: dict[str, dict[str, int]] = {}
            ended: dict[str, int] = {}
            unreadable: list[Problem] = []
            # the calendar of each subject's site: what a date-time is cut on (D-19.729, D-19.607)
            calendar = subject_site_zones(connection)
            for name, model in SNAPSHOT_TABLES.items():
                frame, left_out, subjects, counts = _read_table(
                    connection, model, cutoff, view_subjects, name, unreadable, calendar
                )
                frame, n_ended = open_at_cutoff(name, frame, cutoff, calendar)  # D-19.85
                if n_ended:
                    ended[name] = n_ended
                if counts:
                    respelled[name] = counts
                tables[name] = frame
                after[name] = left_out
                if subjects:
                    after_subjects[name] = subjects
            if unreadable:  # every table's at once (D-19.543)
                raise _unreadable_dates(unreadable)
            tables, not_enrolled = of_subjects_enrolled(tables)  # D-19.1147
            lock = connection.execute(
                select(models.DataLock.id, models.DataLock.audit_head_id, models.DataLock.audit_head_hash)
                .where(models.DataLock.active.is_(True), models.DataLock.cutoff == cutoff)
                .order_by(models.DataLock.id.desc())
            ).first()
            head = connection.execute(
                select(models.AuditLog.id, models.AuditLog.row_hash)
                .order_by(models.AuditLog.id.desc())
                .limit(1)
            ).first()
            countries = site_countries(connection)
            zones = site_time_zones(connection)
            if view is not None:  # a site-restricted view names no other site (D-19.383)
                countries = {site: c for site, c in countries.items() if site in view}
                zones = {site: z for site, z in zones.items() if site in view}
        finally:
            transaction.rollback()
    first_infusion = _first_infusion(tables["infusions"])
    if first_infusion is None and not before_first_infusion and view is not None:
        # about the view's sites only: the study's first infusion may be at another site (D-19.459)
        raise CartrialError(
            f"{where}: the site(s) {', '.join(view) or 'none'} of your view hold no subject infused on or "
            f"before the cut-off {cutoff.isoformat()} ({len(view_subjects or ())} subject(s) at these "
            f"site(s), {after['infusions']} infusion(s) after the cut-off): nothing to analyse in this view"
        )
    if first_infusion is None and not before_first_infusion:
        raise CartrialError(
            f"{where}: no infusion on or before the cut-off {cutoff.isoformat()} "
            f"({after['infusions']} infusion(s) after it): the cut-off is before the first infusion"
        )
    try:
        protocol = parse_protocol(study.protocol_yaml, source=f"{where} (stored protocol)")
    except CartrialError as exc:
        raise CartrialError(f"{where}: the stored protocol does not load: {exc}") from exc
    _check_protocol(study, protocol, tables["infusions"], where)
    if protocol_text is not None:
        given = hashlib.sha256(protocol_text.encode("utf-8")).hexdigest()
        if given != study.protocol_sha256:
            raise CartrialError(
                f"{where}: the protocol given (sha256 {given[:12]}…) is not the study's stored protocol "
                f"(sha256 {study.protocol_sha256[:12]}…, version {study.protocol_version})"
            )
    return StudySnapshot(
        cutoff=cutoff,
        tables=tables,
        protocol=protocol,
        protocol_yaml=study.protocol_yaml,
        protocol_sha256=study.protocol_sha256,
        study_code=study.study_code,
        after_cutoff=after,
        after_cutoff_subjects=after_subjects,
        ended_after_cutoff=ended,
        not_enrolled_at_cutoff=not_enrolled,
        read_in_spelling=respelled,
        lock_id=None if lock is None else int(lock[0]),
        lock_audit_head_id=None if lock is None or lock[1] is None else int(lock[1]),
        lock_audit_head_hash=None if lock is None or lock[2] is None else str(lock[2]),
        audit_head_id=None if head is None else int(head[0]),
        audit_head_hash=None if head is None else str(head[1]),
        backend=engine.dialect.name,
        allow_future_cutoff=allow_future_cutoff,
        sites=countries,
        time_zones=zones,
        view_sites=view,
        read_by=read_by,
    )


def view_sites(user: StudyUser) -> frozenset[str] | None:
    """The sites whose subjects `user` may read (`StudyUser.read_sites`, which checks the READ permission and
    raises `PermissionDeniedError` without it): None for the whole study, else the user's sites (an
    investigator without a site reads none). The one rule of a user's view, for the web and the CLI."""
    readable = user.read_sites()
    return None if readable is None else frozenset(s for s in readable if s)


def snapshot_for_user(
    user: StudyUser,
    cutoff: dt.date,
    *,
    whole_study_for: str | None = None,
    require: Action | None = None,
    **options: Any,
) -> StudySnapshot:
    """`read_snapshot` of the user's view (`view_sites`): a site-restricted investigator's snapshot holds
    only their sites' subjects and says so (`StudySnapshot.view`); a user without the READ permission is
    refused (`PermissionDeniedError`). `options`: those of `read_snapshot` (not `sites`, `read_by`).
    The caller has authenticated the user (`cartrial.commands.auth_commands.acting_user`; D-19.457).

    Before anything is read: `require` is a further permission the output needs (`--persist`: DERIVE);
    `whole_study_for` names an output that describes the whole study (a CDISC submission, stored derived
    values), refused to a site-restricted user (D-19.461, D-19.462)."""
    if require is not None:
        user.check(require, whole_study_for or "")
    sites = view_sites(user)
    if whole_study_for is not None and sites is not None:
        raise PermissionDeniedError(
            f"{whole_study_for} describes the whole study, and user {user.username} reads only site(s) "
            f"{', '.join(sorted(sites)) or 'none'}: ask a data manager or statistician (a role that reads "
            "every site) to run it"
        )
    return read_snapshot(user.service.engine, cutoff, sites=sites, read_by=user.username, **options)


def site_countries(connection: Connection) -> dict[str, str]:
    """site_id → country ("" when not recorded) of the study's sites, in site_id order: the one query of
    the sites that `read_snapshot` (`StudySnapshot.sites`) and `cartrial.cdisc.export.read_sites` share
    (DM.COUNTRY; D-19.383)."""
    rows = connection.execute(
        select(models.Site.site_id, models.Site.country).order_by(models.Site.site_id)
    ).all()
    return {str(site): str(country or "") for site, country in rows}


def site_time_zones(connection: Connection) -> dict[str, str]:
    """site_id → IANA time zone of the study's sites that record one (`site.time_zone`, D-19.285), in
    site_id order: the study-day calendar of their subjects (`StudySnapshot.time_zones`, D-19.607)."""
    rows = connection.execute(
        select(models.Site.site_id, models.Site.time_zone).order_by(models.Site.site_id)
    ).all()
    return {str(site): str(zone) for site, zone in rows if zone}


def subject_site_zones(connection: Connection, *, strict: bool = True) -> dict[str, str]:
    """subject_id → IANA time zone of the subject's site (`site_time_zones`), for the subjects of the sites
    that record one: the calendar a subject's date-times are compared with a cut-off on (D-19.729, the
    study-day calendar of D-19.607). A stored zone the zoneinfo database does not know is refused, located
    by its site (`cartrial.columns.checked_site_zones`), never counted as UTC; `strict` False leaves it out
    instead (the data lock's reader, `cartrial.store.locking.lock_zones`, D-19.730)."""
    from cartrial.columns import checked_site_zones, time_zone_of

    zones = site_time_zones(connection)
    if strict:
        checked_site_zones(zones)
    else:
        zones = {site: zone for site, zone in zones.items() if time_zone_of(zone) is not None}
    if not zones:
        return {}
    rows = connection.execute(select(models.Subject.subject_id, models.Subject.site_id)).all()
    return {str(sid): zones[str(site)] for sid, site in rows if str(site) in zones}


def _first_infusion(infusions: pd.DataFrame) -> str | None:
    """The earliest `infused_at` of a snapshot's infusions table (ISO text), or None when there is none."""
    values = [v for v in infusions.get("infused_at", pd.Series(dtype=str)) if v]
    return min(values) if values else None


# -- a snapshot table given by a caller (a notebook's own frames), checked against the template layout ------


@dataclass(frozen=True)
class TableLayout:
    """The columns a snapshot table may hold, from the one declaration of the form fields
    (`cartrial.store.importing.forms.FORMS`, whose columns are the `cartrial.store.fields` rules): the
    template's required columns, its groups of which one is needed, and every column it or its database
    table has (with the kind of each), plus `record_id`."""

    name: str
    required: tuple[str, ...]
    one_of: tuple[tuple[str, ...], ...]
    kinds: Mapping[str, str]
    """Every allowed column → its field kind (`cartrial.store.fields.FieldKind` value; ``text`` for a template
    column the database has no place for, ``integer`` for `record_id`)."""

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.kinds if c not in self.required)


_LAYOUTS: dict[str, TableLayout] = {}


def table_layout(name: str) -> TableLayout:
    """The layout of snapshot table `name` (one of `SNAPSHOT_TABLES`; `KeyError` otherwise)."""
    if name in _LAYOUTS:
        return _LAYOUTS[name]
    if name not in SNAPSHOT_TABLES:
        raise KeyError(name)
    from cartrial.store.fields import field_rules
    from cartrial.store.importing.forms import FORMS_BY_NAME

    form = FORMS_BY_NAME[name]
    kinds: dict[str, str] = {c.name: c.kind.value for c in form.columns()}
    for column, rule in field_rules(form.table).items():
        kinds.setdefault(column, rule.kind.value)
    kinds[RECORD_ID] = "integer"
    required = tuple(c.name for c in form.columns() if c.required)
    layout = TableLayout(name, required, tuple(form.one_of_groups()), kinds)
    _LAYOUTS[name] = layout
    return layout


_KIND_ALLOWED = {
    "text": "text | blank (None or NaN); read a CSV file as text: pandas.read_csv(path, dtype=str, "
    "keep_default_na=False)",
    "integer": "a whole number | its text | blank (None or NaN)",
    "number": "a finite number | its text | blank (None or NaN)",
    "boolean": "True | False | the text true | false (also t/f, yes/no, y/n, 1/0; any case) | blank (None or "
    "NaN)",
    "date": "a datetime.date | ISO 8601 date text YYYY-MM-DD | blank (None, NaN or NaT); a date-time is "
    "refused (pass its .date())",
    "datetime": "a datetime or pandas Timestamp with a time zone | ISO 8601 text with Z or an offset | blank "
    "(None, NaN or NaT)",
    "json": "JSON text | a list | a dict | blank (None or NaN)",
}


def _is_blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float | np.floating | np.datetime64 | np.timedelta64):
        return bool(pd.isna(value))
    return False


def _template_cell(value: Any, kind: str) -> str:
    """One cell of a caller's table as the template text the store's snapshot would hold (`_cell`); a value
    of a type the column cannot hold is a `TypeError` saying why (never showing the value)."""
    if isinstance(value, str):
        return value
    if _is_blank(value):
        return ""
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    elif isinstance(value, np.generic):
        value = value.item()
    what = type(value).__name__
    if kind == "text" and isinstance(value, bool | int | float):  # "5.0" read as 5.0, "05" as 5: not the text
        raise TypeError(
            f"a {what} in a text column (text read as a number may not be its text: 05 is read as 5)"
        )
    if isinstance(value, bool):
        if kind == "boolean":
            return _cell(value)
        raise TypeError(f"a {what} in a {kind} column")
    if isinstance(value, int | float):
        if kind not in ("integer", "number"):
            raise TypeError(f"a number in a {kind} column")
        if isinstance(value, float) and not np.isfinite(value):
            raise TypeError("a number that is not finite")
        if kind == "integer" and isinstance(value, float) and not value.is_integer():
            raise TypeError("a number that is not whole in an integer column")
        return _cell(value)
    if isinstance(value, dt.datetime):
        if kind == "date":
            raise TypeError(f"a date-time ({what}) where a date is expected")
        if kind != "datetime":
            raise TypeError(f"a date-time ({what}) in a {kind} column")
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError(f"a date-time ({what}) without a time zone")
        return _cell(value.to_pydatetime() if isinstance(value, pd.Timestamp) else value)
    if isinstance(value, dt.date):
        if kind != "date":
            raise TypeError(f"a date (datetime.date) in a {kind} column")
        return _cell(value)
    if isinstance(value, list | dict) and kind == "json":
        return _cell(value)
    raise TypeError(f"a {what}, which a {kind} column cannot hold")


def _text_column(series: pd.Series, kind: str) -> tuple[pd.Series | None, str | None, int | None]:
    """`series` as template text: (the text column or None when already text, None, None), or (None, why
    it cannot be read, the 1-based row of the first such value). A boolean column's text is read by the
    import's one vocabulary (`_boolean_text`, D-19.1078)."""
    if series.dtype == object and pd.api.types.infer_dtype(series, skipna=False) == "string":
        return _boolean_text(series) if kind == "boolean" else (None, None, None)
    cells: list[str] = []
    for row, value in enumerate(series.tolist(), start=1):
        try:
            cells.append(_template_cell(value, kind))
        except TypeError as exc:
            return None, str(exc), row
    column = pd.Series(cells, index=series.index, dtype=object)
    if kind == "boolean":
        text, why, bad_row = _boolean_text(column)
        if why is not None:
            return None, why, bad_row
        return (column if text is None else text), None, None
    return column, None, None


def _boolean_text(series: pd.Series) -> tuple[pd.Series | None, str | None, int | None]:
    """A boolean column of text as the snapshot holds it (``true``, ``false``, blank): each word of the
    import's vocabulary (`cartrial.columns.TRUE_WORDS` / `FALSE_WORDS`, any case, the import's blanks
    (`cartrial.columns.BLANKS`) at its edges ignored, no other space: ``Yes``, ``N``, ``1`` …) read as
    the import reads it, so that a caller's table and a stored one give the same flags — the analysis
    compares these cells with ``true``. Each distinct word is read once (D-19.1083). (None, None, None)
    when the text is already so; (None, why, 1-based row) for a word that is neither (never its value, D-12.2;
    D-19.1078)."""
    from cartrial.columns import FALSE_WORDS, TRUE_WORDS, distinct, trim_blanks

    if bool(series.isin(("true", "false", "")).all()):  # the store's own tables: no per-cell work
        return None, None, None
    cells = series.fillna("").to_numpy(dtype=object)
    codes, texts = distinct(cells)
    # once per distinct word, trimmed as the import trims a cell (`trim_blanks`: space, tab, line ends;
    # a no-break or ideographic space at an edge is no blank and the word is refused, D-19.1082)
    words = [trim_blanks(str(text)).lower() for text in texts.tolist()]
    read = np.array(
        [
            "true" if w in TRUE_WORDS else "false" if w in FALSE_WORDS else "" if not w else None
            for w in words
        ],
        dtype=object,
    )
    refused = np.flatnonzero(pd.isna(read[codes]))
    if len(refused):
        return None, "a text that is not a true/false word", int(refused[0]) + 1
    return pd.Series(read[codes], index=series.index, dtype=object), None, None


def snapshot_table(name: str, frame: Any) -> pd.DataFrame:
    """`given_snapshot_table` without the given rows' index."""
    return given_snapshot_table(name, frame)[0]


def given_snapshot_table(name: str, frame: Any) -> tuple[pd.DataFrame, list[int] | None]:
    """(`snapshot_table`, the position (0-based) in the caller's frame of each of its rows, None when the
    rows are the caller's as given): what a refusal of a caller's own row names, the row they can find
    (``frame.iloc[position]``), never its position after the snapshot's sort, nor its index label (a
    caller may index a frame by a record value, D-12.2; D-19.929).

    A caller's snapshot table `name` checked against the template layout (`table_layout`) and returned
    in the layout `read_snapshot` gives (decisions D-19.73): every required column present (and one of each
    `one_of` group), no column the template or its table does not have, each column readable as template
    text (numbers, booleans, dates and zoned date-times as `read_snapshot` writes them; blanks as ``''``).
    An absent optional column is added blank, as the import stores a template file without it; the rows
    are put in the snapshot's order (natural key, then `record_id`, else as given: the engines read each
    subject's records in time order). A new frame (the caller's is not changed; a frame already in that
    layout, as `read_snapshot` gives, is returned as it is). Every problem is an
    `InputError` naming the table and the column and saying what is allowed — never a record's value."""
    from cartrial.allowed import choice_text

    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            Problem(
                f"not a pandas DataFrame: a {type(frame).__name__}",
                field=f"tables[{name!r}]",
                allowed="a DataFrame in the layout of the CSV template (docs/templates)",
            )
        )
    layout = table_layout(name)
    problems: list[Problem] = []
    names = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in names if names.count(c) > 1})
    if duplicated:
        problems.append(
            Problem(
                f"column(s) given twice in snapshot table {name!r}", field=name, value=", ".join(duplicated)
            )
        )
    unknown = [str(c) for c in frame.columns if not isinstance(c, str) or c not in layout.kinds]
    if unknown:
        problems.append(
            Problem(
                f"unknown column(s) in snapshot table {name!r}",
                field=name,
                value=", ".join(unknown),
                allowed=choice_text(layout.kinds),
            )
        )
    optional = f" (optional: {choice_text(layout.optional)})"
    for column in layout.required:
        if column not in frame.columns:
            problems.append(
                Problem(
                    f"required column {column!r} missing from snapshot table {name!r}",
                    field=f"{name}.{column}",
                    allowed=f"the columns of the {name} template: required {choice_text(layout.required)}"
                    + optional,
                )
            )
    for group in layout.one_of:
        if not any(column in frame.columns for column in group):
            problems.append(
                Problem(
                    f"none of the columns {' | '.join(group)} in snapshot table {name!r}",
                    field=f"{name}.{group[0]}",
                    allowed=f"at least one of {choice_text(group)}",
                )
            )
    if problems:
        raise InputError(problems)
    changed: dict[str, pd.Series] = {}
    for column in frame.columns:
        kind = layout.kinds[column]
        text_column, why, row = _text_column(frame[column], kind)
        if why is not None:
            problems.append(
                Problem(
                    f"column {column!r} of snapshot table {name!r} cannot be read: {why}",
                    field=f"{name}.{column}",
                    row=row,
                    allowed=_KIND_ALLOWED[kind],
                )
            )
        else:
            if text_column is not None:
                changed[column] = text_column
            if (name, column) in FIELD_RULE_COLUMNS:
                read, found = _field_rule_column(name, column, frame, changed.get(column, frame[column]))
                problems.extend(found)
                if read is not None:
                    changed[column] = read
    if problems:
        raise InputError(problems)
    absent = [c for c in layout.kinds if c not in frame.columns and c != RECORD_ID]
    if not changed and not absent and _plain_index(frame) and _ordered(frame, _order_key(name, frame)):
        return frame, None  # already in the snapshot's layout (read_snapshot's own tables)
    out = frame.assign(**changed) if changed else frame.copy()
    for column in absent:
        out[column] = ""
    out = out.reset_index(drop=True)
    ordered = _in_snapshot_order(out.assign(**{_GIVEN_ROW: range(len(out))}), SNAPSHOT_TABLES[name])
    given = [int(position) for position in ordered[_GIVEN_ROW]]
    return ordered.drop(columns=[_GIVEN_ROW]), given


FIELD_RULE_COLUMNS = frozenset({("adverse_events", "grade")})
"""(snapshot table, column) read by the import's own field rule (`validate_form` of the form's column:
bounds, whole number, edge characters) where a caller's table enters the analysis: the adverse event's
CTCAE grade, which every count reads (D-19.1080)."""


def _field_rule_column(
    name: str, column: str, frame: pd.DataFrame, text: pd.Series
) -> tuple[pd.Series | None, list[Problem]]:
    """(the column as the import stores it — a whole number's plain text, ``3`` for ``3.0``, ``+3`` or
    ``3e0`` — or None when it already is, the problems): column `column` of the caller's snapshot table
    `name` (`text`, its template text in the caller's row order) read by the import's validator of that
    form column (`cartrial.store.importing.validation.validate_form`, the one rule `cartrial db import`
    and `validate_record` apply). Each problem names ``table.column``, the caller's 1-based row (its
    position in the frame given, never the snapshot's sorted position) and, when the row has a
    `record_id`, the store's record, else that row as the record (``row 3 of the given table``) — never the
    value (D-12.2; D-19.1080, D-19.1081, D-19.1085)."""
    from cartrial.columns import FIRST_DATA_ROW, distinct
    from cartrial.store.importing.forms import FORMS_BY_NAME
    from cartrial.store.importing.validation import FormData, validate_form

    form = FORMS_BY_NAME[name]
    cells = text.fillna("").to_numpy(dtype=object)
    # a blank cell is kept blank, never "required": a fatal event that ended after the cut-off is read
    # with its grade blank (`open_at_cutoff`, D-19.85)
    filled = np.flatnonzero(cells != "")
    # each distinct text validated once (a million rows repeat a few grades), mapped back to its rows
    codes, texts = distinct(cells[filled])
    data = FormData(
        spec=form, frame=pd.DataFrame({column: texts}, dtype=object), file="", sha256="", source_rows=None
    )
    validated, found = validate_form(data, partial=True, check_keys=False)
    ids = frame[RECORD_ID].tolist() if RECORD_ID in frame.columns else None
    problems = []
    for problem in found:
        rows = (
            [None]
            if problem.row is None
            else (filled[codes == problem.row - FIRST_DATA_ROW] + 1).tolist()  # the caller's 1-based rows
        )
        for row in rows:
            record_id = str(ids[row - 1]).strip() if ids is not None and row is not None else ""
            own_row = None if row is None else f"row {row} of the given table (1 = its first row)"
            problems.append(
                Problem(
                    f"column {column!r} of snapshot table {name!r} cannot be read: {problem.message}",
                    field=f"{name}.{column}",
                    row=row,
                    allowed=problem.allowed,
                    record=f"{form.table} record {record_id}"
                    if record_id.isascii() and record_id.isdigit()
                    # the caller's own row, as `refuse_records_after_cutoff` names one (D-19.929): `analyse`
                    # drops a bare row number (`stored_rows_errors`), a record name it keeps
                    else own_row,
                )
            )
    if validated is None:
        return None, problems
    # each distinct number's plain text (``3`` for ``3.0``, ``+3``, ``3e0``), as the import stores it
    plain_texts = np.array([str(int(v)) for v in validated.columns[column]], dtype=object)
    plain = np.full(len(cells), "", dtype=object)
    plain[filled] = plain_texts[codes]
    if np.array_equal(plain, cells):
        return None, problems
    return pd.Series(plain, index=text.index, dtype=object), problems


_GIVEN_ROW = "\x00given_row"
"""A column no template has: the position in the caller's frame, carried through the snapshot's sort."""


def _order_key(name: str, frame: pd.DataFrame) -> list[str]:
    return [c for c in [*SNAPSHOT_TABLES[name].natural_key, RECORD_ID] if c in frame.columns]


def lock_checkpoint_text(meta: Mapping[str, Any]) -> str:
    """The audit-chain head the data lock recorded when it was taken (`data_lock.audit_head_id` /
    `audit_head_hash`, read into `StudySnapshot.metadata()`): the checkpoint of the locked data that
    `cartrial audit verify` checks the trail against (issue 19 §3b, D-19.1054). Every output of one lock
    (the report's title page, the analysis README; D-19.1059) prints the same; an unlocked snapshot has
    none, a lock taken before migration 0004 recorded none.

    >>> lock_checkpoint_text({"lock_id": 2, "lock_audit_head_id": 41, "lock_audit_head_hash": "ab12"})
    'id 41, ab12'
    >>> lock_checkpoint_text({"unlocked": True, "lock_id": None})
    'none (unlocked data)'
    """
    if meta.get("unlocked") or meta.get("lock_id") is None:
        return "none (unlocked data)"
    if meta.get("lock_audit_head_id") is None:
        return f"not recorded by lock {meta.get('lock_id')} (taken before the lock recorded the audit head)"
    return f"id {meta.get('lock_audit_head_id')}, {meta.get('lock_audit_head_hash')}"


__all__ = [
    "RECORD_ID",
    "SNAPSHOT_TABLES",
    "StudySnapshot",
    "lock_checkpoint_text",
    "read_snapshot",
    "snapshot_table",
    "table_layout",
]
