"""Plain-data views of the study for the web pages (and any other client): what each page shows, computed
through the store services, the analysis layer and the engines — never a rule of its own.

Every function takes the acting user's store handle (`cartrial.store.StudyUser`, which checks the role's
permission on every read) and, for reads of subject data, the sites the user may see (`visible_sites`):
investigators see the subjects of their own site only (the store's site restriction,
`cartrial.store.permissions.SITE_RESTRICTED_ROLES`, applied to reads as it is to writes); every other role
sees all sites. Results are dataclasses and dicts of plain values, so that templates only format them and
tests can check them without HTML.

Where the content comes from: the schedule of assessments is the protocol's (`cartrial.protocol.schedule`);
CRS/ICANS episodes, cytopenias and serious adverse events are `cartrial.analysis` datasets of a snapshot
(`cartrial.store.snapshot.read_snapshot`); the escalation recommendation and decision table come from the
escalation engine with the protocol's design (`design_from_spec`, `decision_table`, `replay_decisions`);
the DLT window and DLT flags of each patient from `cartrial.analysis.core.study_populations`
(both through `cartrial.web.escalation`, shared with the API).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cartrial.allowed import choice_text
from cartrial.columns import checked_site_zones, site_day, site_today, utc_now, utc_today
from cartrial.errors import CartrialError, ConflictError, Problem, StoredValueError, stored_rows_errors
from cartrial.store.permissions import SITE_RESTRICTED_ROLES, Action
from cartrial.store.stored_dates import bounded, leaving_out_unreadable
from cartrial.web.errors import without_database_location

if TYPE_CHECKING:
    from cartrial.store import LockInfo, StudyUser
    from cartrial.store.importing.forms import FormSpec
    from cartrial.web.security import WebUser

Sites = frozenset[str] | None
"""The sites a user may see; None: every site."""

STATUS_TEXT: Mapping[str, str] = {
    "complete": "complete",
    "missing": "missing (window closed)",
    "overdue": "overdue (past the visit day)",
    "due": "due (window open)",
    "upcoming": "upcoming",
    "not_scheduled": "not scheduled (no infusion yet)",
}
"""Casebook cell status → the text shown (the colour is never the only cue)."""


class NotVisible(CartrialError):
    """The record or subject does not exist, or belongs to a site the user may not see (page 404)."""


# ---------------------------------------------------------------------------------------------------------
# who sees what
# ---------------------------------------------------------------------------------------------------------


def visible_sites(role: str, sites: Iterable[str] | None) -> Sites:
    """The sites a user of `role` may see: their own for site-restricted roles (investigators), else all.

    >>> sorted(visible_sites("investigator", ["TJH"]))
    ['TJH']
    >>> visible_sites("monitor", ["TJH"]) is None
    True
    """
    if role in SITE_RESTRICTED_ROLES:
        return frozenset(s for s in (sites or ()) if s)
    return None


def _site_ok(site: str | None, sites: Sites) -> bool:
    return sites is None or (site is not None and site in sites)


def rows_of(handle: StudyUser, table: str, **equals: Any) -> list[dict[str, Any]]:
    """Records of `table` the user may read (`StudyUser.page_records`: READ permission, and only the own
    site's subjects for site-restricted roles), in id order."""
    return handle.page_records(table, equals=equals or None)[0]


def rows_by_table(
    handle: StudyUser,
    tables: Iterable[str],
    columns: Mapping[str, Sequence[str]] | None = None,
    **equals: Any,
) -> dict[str, list[dict[str, Any]]]:
    """`rows_of` for several tables in one read transaction (one permission check, one connection): what
    a casebook needs per request. The same store read (`cartrial.store.reads.page_records`) restricted to
    the sites `StudyUser.read_sites` allows; `columns`: table → the only columns to read (with `id`)."""
    from cartrial.store import reads

    out: dict[str, list[dict[str, Any]]] = {}
    with handle.service.read() as connection:
        hidden = handle._hidden(connection)  # no query on a record the user may not read (D-19.913)
        for table in tables:
            out[table] = reads.page_records(
                connection,
                table,
                equals=equals or None,
                sites=handle._read_sites(connection, table),  # the table's own read action (D-19.906)
                columns=None if columns is None else columns.get(table),
                count=False,
                hidden=hidden,
            )[0]
    return out


def subject_sites(handle: StudyUser) -> dict[str, str]:
    """Subject id → site id of every subject (READ permission): these two columns only, so a subject with a
    stored date no reader reads keeps its site (its queries listed and counted, D-19.564)."""
    rows = rows_by_table(handle, ["subject"], {"subject": ["subject_id", "site_id"]})["subject"]
    return {str(r["subject_id"]): str(r["site_id"]) for r in rows}


def left_out_subjects(handle: StudyUser) -> dict[str, set[str]]:
    """Within `stored_dates.leaving_out_unreadable`: subject id → the tables of its records left out so far
    (a stored date no reader reads; the subject id is readable), {} outside or when none (D-19.563)."""
    from cartrial.store.stored_dates import left_out_now, subjects_left_out

    left_out = left_out_now()
    if not left_out or not left_out.records:
        return {}
    with handle.service.read() as connection:
        return subjects_left_out(connection, left_out)


def visible_subjects(handle: StudyUser, sites: Sites) -> dict[str, str]:
    """Subject id → site id of the subjects the user may see."""
    return {s: site for s, site in subject_sites(handle).items() if _site_ok(site, sites)}


SUBJECT_KEY_COLUMNS = ("subject_id", "site_id")
"""What tells a subject and its site: a subject whose stored date no reader reads keeps them (D-19.564)."""


def require_subject(
    handle: StudyUser, sites: Sites, subject_id: str, *, whole: bool = False
) -> dict[str, Any]:
    """The subject's id, site (and record id), or the whole record with `whole`; `NotVisible` (unknown
    subject or a site the user may not see). Without `whole` only `SUBJECT_KEY_COLUMNS` are read: a
    subject with an unreadable stored date (its consent date) is still found, so its forms open and
    save (D-19.649); a read of the whole record refuses it (D-19.556)."""
    columns = None if whole else {"subject": list(SUBJECT_KEY_COLUMNS)}
    rows = rows_by_table(handle, ["subject"], columns, subject_id=subject_id)["subject"]
    if not rows or not _site_ok(rows[0].get("site_id"), sites):
        raise NotVisible(f"no subject {subject_id!r} that you may see")
    return rows[0]


def site_time_zone(handle: StudyUser, site_id: Any) -> str | None:
    """The IANA time zone of the site `site_id` (None: no such site or no zone set; D-19.285)."""
    if not isinstance(site_id, str) or not site_id:
        return None
    rows = rows_of(handle, "site", site_id=site_id)
    zone = rows[0].get("time_zone") if rows else None
    return str(zone) if zone else None


def subject_time_zone(handle: StudyUser, subject_id: Any) -> str | None:
    """The time zone of the subject's site (None: unknown subject, or the site has none)."""
    if not isinstance(subject_id, str) or not subject_id:
        return None
    rows = rows_by_table(handle, ["subject"], {"subject": list(SUBJECT_KEY_COLUMNS)}, subject_id=subject_id)
    found = rows["subject"]
    return site_time_zone(handle, found[0].get("site_id")) if found else None


def record_time_zone(handle: StudyUser, subject_id: Any, values: Mapping[str, Any]) -> str | None:
    """The clock of a record: its subject's site's zone, or for a record with no subject (a site, the
    subjects form) the zone of the site it names (`values`' ``site_id``); None: neither has a zone. The one
    rule of a form's times and of when its queries were raised (D-19.285, D-19.923, D-19.925)."""
    if subject_id:
        return subject_time_zone(handle, subject_id)
    return site_time_zone(handle, values.get("site_id"))


def checks_left_out(handle: StudyUser, table: str, record_id: int) -> list[str]:
    """The subject's other records the edit checks of record `record_id` of `table` leave out now (a stored
    date no reader reads), as a save names them (`stored_dates.unread_names`: bounded, never a value):
    computed from the stored records for the record page's notice, never carried in a link (D-19.644)."""
    from cartrial.store.edit_checks import CHECKED_TABLES
    from cartrial.store.stored_dates import unread_names

    if table not in CHECKED_TABLES:
        return []
    unchecked: list[Problem] = []
    try:
        handle.preview_write_checks(table, {}, record_id, unchecked)
    except StoredValueError as error:  # past the bound of records left out: named as refused (D-19.565)
        return unread_names(error.problems)
    return unread_names(unchecked)


def record_subject(table: str, record: Mapping[str, Any]) -> str | None:
    """The subject a record belongs to (None for study-level tables)."""
    from cartrial.store.tables import model_of

    column = model_of(table).subject_column
    value = record.get(column) if column else None
    return None if value is None else str(value)


def require_record(handle: StudyUser, sites: Sites, table: str, record_id: int) -> dict[str, Any]:
    """One record the user may see (`StudyUser.visible_record`), else `NotVisible`. Only a record of a
    table with a form of the study (`cartrial.web.forms.forms`): the record page, its audit trail and a
    query on it serve no other table — user accounts, the audit log, locks, import manifests are shown
    by their own pages to the roles that may see them (D-19.343)."""
    from cartrial.errors import InputError, StoredValueError

    require_form_table(table, record_id)
    try:
        return handle.visible_record(table, record_id)
    except StoredValueError:  # the record is there, its stored value is not (409, D-19.556)
        raise
    except InputError as exc:
        raise NotVisible(f"no {table} record {record_id} that you may see") from exc


def require_form_table(table: str, record_id: int) -> None:
    """`NotVisible` unless `table` is the table of a form of the study (`cartrial.web.forms.forms`): the
    one check of `require_record` and `record_trail` (D-19.343)."""
    from cartrial.web.forms import forms

    if not any(candidate.table == table for candidate in forms().values()):
        raise NotVisible(f"no {table} record {record_id} that you may see")


def user_sites(user: WebUser) -> Sites:
    """The sites `user` may see (None: every site): the one reading of the pages and the API."""
    return None if user.sites is None else frozenset(s for s in user.sites if s)


def require_query(handle: StudyUser, query_code: str) -> dict[str, Any]:
    """One data query the user may see (a query of a subject of a site the user may read), else
    `NotVisible`: a query of another site is answered as one that does not exist, on the page and in the
    API alike, before the store's write check (which names the other site) (D-19.345)."""
    rows, _ = handle.page_records("data_query", equals={"query_code": query_code}, limit=1)
    if not rows:
        raise NotVisible(f"no query {query_code} that you may see")
    return rows[0]


# ---------------------------------------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------------------------------------


def display(value: Any) -> str:
    """A stored value as a person reads it (blank for None; ISO dates; UTC date-times with 'Z')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M") + ("Z" if value.tzinfo else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def moment_on_site_clock(value: Any, zone: str | None) -> str:
    """A stored instant (UTC; a naive one is read as UTC, as stored) as a person at the site reads it: on
    the site's clock with the zone and its UTC offset then named (``2021-04-30 18:00 Asia/Shanghai
    (UTC+08:00)``: the offset tells apart the two readings of the hour repeated when the clocks go back,
    D-19.1261), or in UTC said so when the site has no zone (``2021-04-30 10:00 UTC``); blank for anything
    else (D-19.923)."""
    import zoneinfo

    if not isinstance(value, dt.datetime):
        return ""
    moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if zone:
        try:
            local = moment.astimezone(zoneinfo.ZoneInfo(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            offset = local.strftime("%z")  # +0200: written +02:00 as ISO 8601 and CDISC --DTC write it
            return local.strftime("%Y-%m-%d %H:%M") + f" {zone} (UTC{offset[:3]}:{offset[3:]})"
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") + " UTC"


def form_value(value: Any) -> str:
    """A stored value as the text an input field holds (ISO date-times with their offset; true/false)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        moment = value.astimezone(dt.UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if value.tzinfo else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return str(value)


def form_of_table(table: str) -> FormSpec:
    """The import form (template) of a table (`cartrial.store.importing.forms.form_for_table`)."""
    from cartrial.store.importing.forms import form_for_table

    return form_for_table(table)


def lock_of(handle: StudyUser) -> LockInfo | None:
    """The active data lock (None: no lock)."""
    return handle.service.active_lock()


def record_locked(table: str, record: Mapping[str, Any], lock: LockInfo | None) -> bool:
    """Whether the lock freezes this record (`cartrial.store.locking.is_locked`)."""
    from cartrial.store.locking import is_locked
    from cartrial.store.tables import model_of

    return is_locked(model_of(table), record, lock)


# ---------------------------------------------------------------------------------------------------------
# casebook
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCell:
    """One form of one visit in a subject's casebook."""

    table: str
    form: str
    status: str
    record_ids: tuple[int, ...] = ()

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]


@dataclass(frozen=True)
class CaseVisit:
    """One scheduled visit of a subject: nominal date, window and its forms."""

    name: str
    study_day: int
    nominal: dt.date | None
    window_start: dt.date | None
    window_end: dt.date | None
    cells: tuple[CaseCell, ...]


@dataclass(frozen=True)
class Casebook:
    """A subject's casebook: visits from the protocol schedule and every other record by form."""

    subject: dict[str, Any]
    infusion_date: dt.date | None
    dose_level: int | None
    visits: tuple[CaseVisit, ...]
    other: dict[str, dict[str, Any]]
    """Form name → {table, rows: [{id, label}]}: records not matched to a scheduled visit (events,
    unscheduled visits); the label is the natural key without the subject."""
    counts: dict[str, int]
    """Status → number of cells."""
    open_queries: list[dict[str, Any]]
    as_of: dt.date
    infusion_ids: tuple[int, ...] = ()
    """The ids of the subject's infusion records (the protocol allows one: INFUSION-ONCE, D-19.284)."""


def _date_column(table: str) -> str | None:
    from cartrial.store.tables import model_of

    return model_of(table).clinical_date_column


def _visit_tables(assessments: Iterable[str]) -> list[str]:
    """The tables a visit listing `assessments` expects a record of: the protocol's one declaration of
    where each assessment is recorded (`cartrial.protocol.records.visit_forms`, D-19.80)."""
    from cartrial.protocol.records import visit_forms
    from cartrial.store.importing.forms import FORMS_BY_NAME

    return [FORMS_BY_NAME[name].table for name in visit_forms(assessments)]


def _scheduled_tables() -> tuple[str, ...]:
    from cartrial.protocol.records import ASSESSMENT_RECORDS

    return tuple(dict.fromkeys(_visit_tables(ASSESSMENT_RECORDS)))


def subject_tables() -> tuple[str, ...]:
    """The tables of subject data that have an entry form (import templates), in writing order."""
    from cartrial.store.importing.forms import FORMS

    return tuple(f.table for f in FORMS if f.table not in ("site", "escalation_decision"))


def schedule_cells(
    protocol: Any,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    infusion_date: dt.date | None,
    today: dt.date,
    time_zone: str | None = None,
) -> tuple[list[CaseVisit], set[tuple[str, int]]]:
    """The casebook cells of one subject (docs/science/decisions.md D-14.21): for each visit of the
    protocol's schedule, each form its assessments need (`cartrial.protocol.records.ASSESSMENT_RECORDS`),
    with its status on `today` (the records' clinical dates against the visit window, day 0 =
    `infusion_date`); also the (table, id) of the records matched to a visit. `records`: table → the
    subject's records; `time_zone`: the IANA zone of the subject's site, whose calendar a date-time's day
    is read on (`site_day`; D-19.607)."""
    import bisect

    visits: list[CaseVisit] = []
    matched: set[tuple[str, int]] = set()
    dated: dict[str, tuple[list[dt.date], list[int]]] = {}
    for table, rows in records.items():  # each table's records by clinical day, once (bisected per visit)
        column = _date_column(table)
        pairs = sorted(
            (day, int(r["id"]))
            for r in rows
            if column and (day := site_day(r.get(column), time_zone)) is not None
        )
        dated[table] = ([day for day, _ in pairs], [i for _, i in pairs])
    for visit in protocol.schedule.visits:
        tables = _visit_tables(a.value for a in visit.assessments)
        if infusion_date is None:
            start = end = nominal = None
        else:
            nominal = infusion_date + dt.timedelta(days=visit.study_day)
            start = infusion_date + dt.timedelta(days=visit.earliest_day)
            end = infusion_date + dt.timedelta(days=visit.latest_day)
        cells: list[CaseCell] = []
        for table in tables:
            rows = records.get(table, ())
            if table == "subject":
                ids = tuple(int(r["id"]) for r in rows)
                status = "complete" if ids else "missing"
            elif start is None or end is None or nominal is None:
                ids, status = (), "not_scheduled"
            else:
                days, day_ids = dated.get(table, ([], []))
                ids = tuple(sorted(day_ids[bisect.bisect_left(days, start) : bisect.bisect_right(days, end)]))
                if ids:
                    status = "complete"
                elif today > end:
                    status = "missing"
                elif today > nominal:
                    status = "overdue"
                elif today >= start:
                    status = "due"
                else:
                    status = "upcoming"
            matched.update((table, i) for i in ids)
            cells.append(CaseCell(table, form_of_table(table).name, status, ids))
        visits.append(CaseVisit(visit.name, visit.study_day, nominal, start, end, tuple(cells)))
    return visits, matched


def _first_infusion(
    rows: Sequence[Mapping[str, Any]], time_zone: str | None = None
) -> tuple[dt.date | None, int | None]:
    """Day 0 (the first infusion's date on the site's calendar, `time_zone`; D-19.607) and its dose level."""
    dated = [(r["infused_at"], r) for r in rows if r.get("infused_at") is not None]
    if not dated:
        return None, None
    moment, row = min(dated, key=lambda item: item[0])
    return site_day(moment, time_zone), int(row["dose_level"]) if row.get("dose_level") is not None else None


def site_zones(handle: StudyUser) -> dict[str, str]:
    """site_id → the IANA time zone of the sites that record one (`site.time_zone`): their subjects'
    study-day calendar (D-19.607)."""
    from cartrial.store.snapshot import site_time_zones

    with handle.service.read() as connection:
        return dict(checked_site_zones(site_time_zones(connection)))


def subject_zone(connection: Any, subject: Mapping[str, Any]) -> str | None:
    """The IANA time zone of the subject's site (`site.time_zone`; None: UTC), its study-day calendar
    (D-19.607)."""
    from cartrial.store.snapshot import site_time_zones

    return checked_site_zones(site_time_zones(connection)).get(str(subject.get("site_id")))


def study_protocol(handle: StudyUser) -> Any:
    """The protocol stored with the study (`cartrial.store.fields.study_protocol`, parsed once)."""
    from cartrial.store.fields import study_protocol as stored

    with handle.service.read() as connection:
        protocol = stored(connection)
    if protocol is None:
        raise CartrialError("the study database holds no valid protocol (run `cartrial db init`)")
    return protocol


def casebook_columns(table: str) -> tuple[str, ...]:
    """The columns of `table` a casebook shows or places by: the id, the clinical date, the natural key
    (the label of an unscheduled record) and, for infusions, the dose level (day 0 and the cohort); the
    casebook reads only these (a subject has about a thousand records)."""
    from cartrial.store.tables import model_of

    model = model_of(table)
    extra = ("infused_at", "dose_level") if table == "infusion" else ()
    key = tuple(form_of_table(table).key_columns)
    wanted = ("id", model.clinical_date_column, *key, *extra)
    return tuple(dict.fromkeys(c for c in wanted if c))


OTHER_SHOWN = 25
"""Records listed per form under "other records" of a casebook (the first by clinical date); the page
links to the whole list of a form (a subject has hundreds of unscheduled lab results)."""


def casebook(
    handle: StudyUser,
    sites: Sites,
    subject_id: str,
    today: dt.date | None = None,
    *,
    show_all: str | None = None,
    now: dt.datetime | None = None,
) -> Casebook:
    """Every form of a subject by visit (schedule from the protocol), missing/overdue marked, plus the
    records not matched to a visit (events, unscheduled visits: the first `OTHER_SHOWN` of each form, or
    all of the form named `show_all`) and the subject's open queries.

    Reads the id and clinical day of each record (`cartrial.store.reads.record_days`, from the index),
    the infusions, and the labels of the records listed: not the thousand whole records of a subject.

    `today` (default: the site's today at the instant `now`, the current one by default; UTC without a site
    zone; `cartrial.columns.site_today`, D-19.614): the day the visits' windows are read against, on the
    calendar the subject's records are placed on."""
    from cartrial.store import reads

    subject = require_subject(handle, sites, subject_id, whole=True)  # the casebook shows it (D-19.559)
    protocol = study_protocol(handle)
    tables = [t for t in subject_tables() if t != "subject"]
    equals = {"subject_id": subject_id}
    records: dict[str, list[dict[str, Any]]] = {}
    with handle.service.read() as connection:
        allowed = handle._read_sites(connection)
        zone = subject_zone(connection, subject)  # the site's calendar (D-19.607)
        today = today if today is not None else site_today(zone, now)  # the site's today (D-19.614)
        days = reads.record_days_by_table(connection, tables, equals=equals, sites=allowed, time_zone=zone)
        for table in tables:
            column = str(_date_column(table))
            records[table] = [{"id": i, column: day} for i, day in days[table]]
        infusions, _ = reads.page_records(
            connection,
            "infusion",
            equals=equals,
            sites=allowed,
            columns=casebook_columns("infusion"),
            count=False,
        )
        queries, _ = reads.page_records(connection, "data_query", equals=equals, sites=allowed, count=False)
        records["infusion"] = infusions
        records["subject"] = [subject]
        infusion_date, level = _first_infusion(infusions, zone)
        visits, matched = schedule_cells(protocol, records, infusion_date, today, zone)
        other: dict[str, dict[str, Any]] = {}
        for table in tables:
            rest = [r for r in records.get(table, []) if (table, int(r["id"])) not in matched]
            if not rest:
                continue
            if _date_column(table):  # by clinical day (undated first), then id
                day_of = str(_date_column(table))
                rest.sort(key=lambda r: (r.get(day_of) is not None, r.get(day_of) or dt.date.min, r["id"]))
            name = form_of_table(table).name
            shown = rest if name == show_all else rest[:OTHER_SHOWN]
            key = [k for k in form_of_table(table).key_columns if k != "subject_id"]
            labels = reads.records_by_id(connection, table, [int(r["id"]) for r in shown], key)
            other[name] = {
                "table": table,
                "total": len(rest),
                "rows": [
                    {
                        "id": int(r["id"]),
                        "label": " · ".join(display(labels.get(int(r["id"]), {}).get(k)) for k in key)
                        or f"#{r['id']}",
                    }
                    for r in shown
                ],
            }
    counts: dict[str, int] = {}
    for visit in visits:
        for cell in visit.cells:
            counts[cell.status] = counts.get(cell.status, 0) + 1
    open_queries = [q for q in queries if q.get("status") != "closed"]
    return Casebook(
        subject,
        infusion_date,
        level,
        tuple(visits),
        other,
        counts,
        open_queries,
        today,
        tuple(int(r["id"]) for r in infusions),
    )


@dataclass(frozen=True)
class SubjectRow:
    """One subject in the subject list."""

    subject_id: str
    site_id: str
    consent_date: dt.date | None
    infusion_date: dt.date | None
    dose_level: int | None
    open_queries: int
    disposition: str | None
    unreadable: str | None = None
    """Which of the subject's records the list left out (``infusion record unreadable``): its infusion,
    dose level or query count may then be incomplete (D-19.563)."""


def subject_list(handle: StudyUser, sites: Sites, site: str | None = None) -> list[SubjectRow]:
    """The subjects the user may see (optionally of one site), with infusion, dose level and open queries."""
    infusions: dict[str, list[dict[str, Any]]] = {}
    narrow = {"infusion": casebook_columns("infusion")}
    for row in rows_by_table(handle, ["infusion"], narrow)["infusion"]:
        infusions.setdefault(str(row["subject_id"]), []).append(row)
    zones = site_zones(handle)
    queries: dict[str, int] = {}
    for q in rows_of(handle, "data_query"):
        if q.get("status") == "open" and q.get("subject_id"):
            queries[str(q["subject_id"])] = queries.get(str(q["subject_id"]), 0) + 1
    out = []
    subjects = rows_of(handle, "subject")
    flagged = left_out_subjects(handle)  # a left-out record's subject: marked, never "not infused"
    for subject in subjects:
        site_id = str(subject["site_id"])
        if not _site_ok(site_id, sites) or (site and site_id != site):
            continue
        sid = str(subject["subject_id"])
        day0, level = _first_infusion(infusions.get(sid, []), zones.get(site_id))
        tables = sorted(flagged.get(sid, set()) - {"subject"})
        if "infusion" in tables:
            day0, level = None, None
        out.append(
            SubjectRow(
                sid,
                site_id,
                subject.get("consent_date"),
                day0,
                level,
                queries.get(sid, 0),
                subject.get("disposition"),
                " and ".join(f"{t} record" for t in tables) + " unreadable" if tables else None,
            )
        )
    return sorted(out, key=lambda r: r.subject_id)


# ---------------------------------------------------------------------------------------------------------
# study home
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyHome:
    """The study home: enrolment by site and dose level, open queries, data completeness, current lock."""

    study_code: str
    title: str
    dose_levels: tuple[int, ...]
    enrolment: list[dict[str, Any]]
    """Per site: site_id, by_level {level: n}, not_infused, total; the last row is 'all sites'."""
    open_queries: int
    answered_queries: int
    completeness: dict[str, int]
    """Status → number of scheduled form cells over the visible subjects (casebook statuses)."""
    completeness_pct: float | None
    """complete / (complete + missing + overdue) in %, None when nothing was due."""
    lock: str | None
    as_of: dt.date
    unreadable: tuple[Problem, ...] = ()
    """The records left out, each holding a stored date no reader reads (`unreadable_records`, D-19.559)."""
    unreadable_subjects: tuple[str, ...] = ()
    """The subjects of these records: left out of the completeness counts, and of the dose-level and
    not-infused counts when their infusion is left out (D-19.563)."""


SITE_DAY_STEP = dt.timedelta(minutes=15)
"""Every UTC offset in use is a whole number of quarter hours: a site's today changes only at a quarter
hour of UTC, so the study home read at the start of the quarter is right for all of it (D-19.614)."""


def study_home(
    handle: StudyUser, sites: Sites, today: dt.date | None = None, *, now: dt.datetime | None = None
) -> StudyHome:
    """What the study home shows (see `StudyHome`). Cached per (database, data version, day, sites): the
    data version changes with every committed write, so a cached home is never stale; between writes
    the page costs one indexed query. Without `today`, each subject's scheduled forms are due by its site's
    today at `now` (the current instant by default, read at the start of its quarter hour, `SITE_DAY_STEP`;
    D-19.614); `as_of` is then the UTC date of that instant (the page is study-wide)."""
    readable = handle.read_sites()  # the READ permission, checked on every call (also when cached)
    if today is None:
        moment = utc_now() if now is None else now
        at: dt.date | dt.datetime = moment - (moment - dt.datetime.min.replace(tzinfo=dt.UTC)) % SITE_DAY_STEP
    else:
        at = today
    key = ("home", str(handle.engine.url), _audit_head(handle), at, sites, readable)
    home: StudyHome = _cached(key, lambda: _study_home(handle, sites, at))
    return home


def _study_home(handle: StudyUser, sites: Sites, at: dt.date | dt.datetime) -> StudyHome:
    """`at`: the day of every subject, or the instant each subject's site today is read at."""
    with leaving_out_unreadable() as left_out:
        home = _read_study_home(handle, sites, at)
    return replace(home, unreadable=unreadable_records(left_out))


def unreadable_records(left_out: Sequence[Problem]) -> tuple[Problem, ...]:
    """What a list page says of the records it left out (`stored_dates.leaving_out_unreadable`): each by
    ``<table> record <id>, <field>``, never the value, at most `tamper.MAX_FINDINGS` (D-19.559)."""
    return tuple(bounded(list(left_out)))


def _read_study_home(handle: StudyUser, sites: Sites, at: dt.date | dt.datetime) -> StudyHome:
    from cartrial.store import reads
    from cartrial.store.snapshot import site_time_zones

    protocol = study_protocol(handle)
    levels = tuple(int(d.level) for d in protocol.dose_levels)
    subjects = [s for s in rows_of(handle, "subject") if _site_ok(s.get("site_id"), sites)]
    ids = set(visible_subjects(handle, sites))  # with a subject whose record is left out (D-19.564)
    scheduled = [t for t in _scheduled_tables() if t not in ("subject", "infusion")]
    # the schedule needs, per subject and form, only the days that have a record (grouped in the
    # database: a study of a thousand subjects has about a million records)
    by_table: dict[str, dict[str, list[dict[str, Any]]]] = {}
    with handle.service.read() as connection:
        allowed = handle._read_sites(connection)
        site_zone = checked_site_zones(site_time_zones(connection))  # the site's calendar (D-19.607)
        zone_of = {
            str(s["subject_id"]): site_zone[str(s["site_id"])]
            for s in subjects
            if str(s["site_id"]) in site_zone
        }
        for table in scheduled:
            column = _date_column(table)
            grouped: dict[str, list[dict[str, Any]]] = {}
            for sid, day in reads.subject_days(connection, table, sites=allowed, time_zones=zone_of):
                if sid in ids:
                    grouped.setdefault(sid, []).append({"id": 0, str(column): day})
            by_table[table] = grouped
        infusions, _ = reads.page_records(
            connection, "infusion", sites=allowed, columns=casebook_columns("infusion"), count=False
        )
    # a left-out record's subject: its schedule cannot be told; with its infusion left out, neither its
    # level nor whether it was infused (D-19.563)
    left = {s: tables for s, tables in left_out_subjects(handle).items() if s in ids}
    flagged = set(left)
    uninfusable = {s for s, tables in left.items() if "infusion" in tables}
    grouped_infusions: dict[str, list[dict[str, Any]]] = {}
    for row in infusions:
        if str(row["subject_id"]) in ids:
            grouped_infusions.setdefault(str(row["subject_id"]), []).append(row)
    by_table["infusion"] = grouped_infusions
    site_rows: dict[str, dict[str, Any]] = {}
    total: dict[str, Any] = {
        "site_id": "all sites",
        "by_level": dict.fromkeys(levels, 0),
        "not_infused": 0,
        "total": 0,
    }
    counts: dict[str, int] = {}
    for subject in sorted(subjects, key=lambda s: str(s["subject_id"])):
        sid = str(subject["subject_id"])
        site = str(subject["site_id"])
        row = site_rows.setdefault(
            site, {"site_id": site, "by_level": dict.fromkeys(levels, 0), "not_infused": 0, "total": 0}
        )
        day0, level = _first_infusion(by_table["infusion"].get(sid, []), zone_of.get(sid))
        for target in (row, total):
            target["total"] += 1
            if sid in uninfusable:  # enrolled; neither by level nor "not infused"
                continue
            if level is None:
                target["not_infused"] += 1
            else:
                target["by_level"][level] = target["by_level"].get(level, 0) + 1
        if sid in flagged:  # no schedule cells: a left-out record's form cannot be told
            continue
        records = {"subject": [subject], **{t: g.get(sid, []) for t, g in by_table.items()}}
        their_today = site_today(zone_of.get(sid), at) if isinstance(at, dt.datetime) else at  # D-19.614
        visits, _ = schedule_cells(protocol, records, day0, their_today, zone_of.get(sid))
        for visit in visits:
            for cell in visit.cells:
                counts[cell.status] = counts.get(cell.status, 0) + 1
    queries = [q for q in rows_of(handle, "data_query") if _query_visible(q, ids, sites)]
    due = counts.get("complete", 0) + counts.get("missing", 0) + counts.get("overdue", 0)
    study = rows_of(handle, "study")
    lock = lock_of(handle)
    return StudyHome(
        study_code=str(study[0]["study_code"]) if study else "",
        title=str(study[0].get("title") or "") if study else "",
        dose_levels=levels,
        enrolment=[*(site_rows[s] for s in sorted(site_rows)), total],
        open_queries=sum(q.get("status") == "open" for q in queries),
        answered_queries=sum(q.get("status") == "answered" for q in queries),
        completeness=counts,
        completeness_pct=None if not due else round(100.0 * counts.get("complete", 0) / due, 1),
        lock=lock.describe() if lock else None,
        as_of=at.astimezone(dt.UTC).date() if isinstance(at, dt.datetime) else at,
        unreadable_subjects=tuple(sorted(flagged)),
    )


# ---------------------------------------------------------------------------------------------------------
# queries
# ---------------------------------------------------------------------------------------------------------

QUERY_STATUSES = ("open", "answered", "closed")


def _query_visible(query: Mapping[str, Any], subjects: set[str], sites: Sites) -> bool:
    sid = query.get("subject_id")
    return sites is None or (sid is not None and str(sid) in subjects)


def query_list(
    handle: StudyUser,
    sites: Sites,
    *,
    site: str | None = None,
    subject: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Data queries the user may see, filtered by site, subject and status, newest first; each row has the
    query's fields plus `site_id` and `form` (the template name of its table)."""
    known = visible_subjects(handle, sites)
    out = []
    for query in rows_of(handle, "data_query"):
        sid = query.get("subject_id")
        if not _query_visible(query, set(known), sites):
            continue
        row = dict(query)
        row["site_id"] = known.get(str(sid)) if sid is not None else None
        if site and row["site_id"] != site:
            continue
        if subject and str(sid) != subject:
            continue
        if status and query.get("status") != status:
            continue
        try:
            row["form"] = form_of_table(str(query["table_name"])).name
        except KeyError:
            row["form"] = str(query["table_name"])
        out.append(row)
    return sorted(out, key=lambda q: str(q["query_code"]), reverse=True)


def record_queries(handle: StudyUser, table: str, record_id: int) -> list[dict[str, Any]]:
    """Every query on one record, oldest first."""
    return rows_of(handle, "data_query", table_name=table, record_id=record_id)


# ---------------------------------------------------------------------------------------------------------
# audit trail
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditView:
    """Audit rows (who, when, what, old → new, reason) and the chain verification."""

    title: str
    rows: list[dict[str, Any]]
    verified: bool
    rows_checked: int | None
    """None: not the user's to know (a site-restricted user, D-19.411)."""
    message: str
    stored: bool = True
    """False: the trail of a deleted record (no record page to go back to, D-19.1038)."""


def audit_table_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    from cartrial.store.audit import AUDIT_DISPLAY_COLUMNS as keep
    from cartrial.store.audit import batch_ids
    from cartrial.store.importing.forms import FORMS

    rows = list(rows)
    linkable = {f.table for f in FORMS}
    # a record whose deletion is in the rows has no page: none of its rows links to it (D-19.1038)
    deleted = {(row.get("table_name"), row.get("record_id")) for row in rows if row.get("action") == "delete"}
    out = []
    for row in rows:
        item = {k: row.get(k) for k in keep}
        item["linkable"] = (
            item["table_name"] in linkable
            and item["action"] != "delete"
            and (row.get("table_name"), row.get("record_id")) not in deleted
        )
        ids = batch_ids(row) if row.get("field") != "*" else None
        if ids is not None:
            # a batch row as stored (the newest rows): its records are read on each record's own trail
            first, last = ids
            item["new_value"] = (
                f"{last - first + 1} new record(s), ids {first}..{last}, sealed by this row; "
                "open a record or its subject for its values"
            )
        if item["table_name"] == "app_user" and item["field"] in (None, "*", "password_hash"):
            # a user record's JSON carries the password hash: never shown
            item["old_value"] = _without_hash(item["old_value"])
            item["new_value"] = _without_hash(item["new_value"])
        out.append(item)
    return out


def _without_hash(value: Any) -> Any:
    import json

    if not isinstance(value, str) or "password_hash" not in value:
        return value
    try:
        data = json.loads(value)
    except ValueError:
        return "(hidden)"
    if isinstance(data, dict) and "password_hash" in data:
        data["password_hash"] = "(hidden)"
        return json.dumps(data, sort_keys=True)
    return "(hidden)"


def verified(handle: StudyUser, sites: Sites) -> tuple[bool, int | None, str]:
    """The chain's verification as the user may see it: ok, rows checked (None for a site-restricted user,
    who is not told the study-wide count: `StudyUser.verify_audit`, D-19.411), message."""
    result = handle.verify_audit()
    return bool(result.ok), None if sites is not None else int(result.rows_checked), str(result.message)


def subject_audit(handle: StudyUser, sites: Sites, subject_id: str) -> AuditView:
    """The audit trail of one subject (its subject record and all its data), in chain order."""
    require_subject(handle, sites, subject_id)
    ok, n, message = verified(handle, sites)
    rows = audit_table_rows(handle.audit_history(subject_id))
    return AuditView(f"Audit trail of subject {subject_id}", rows, ok, n, message)


def record_trail(handle: StudyUser, table: str, record_id: int) -> tuple[list[dict[str, Any]], bool]:
    """The audit rows of one record the user may see and whether the record is stored now
    (`StudyUser.record_trail`, the store's one rule, which the CLI calls too); `NotVisible` for a table
    without a form (`require_form_table`) and for a record the user may not see — the rule of the
    record's trail page and of ``GET /api/v1/audit/records/{form}/{id}`` (D-19.1038); the store applies the
    user's own sites."""
    from cartrial.errors import InputError

    require_form_table(table, record_id)
    try:
        return handle.record_trail(table, record_id)
    except InputError as exc:
        raise NotVisible(f"no {table} record {record_id} that you may see") from exc


def record_audit(handle: StudyUser, sites: Sites, table: str, record_id: int) -> AuditView:
    """The audit trail of one record: its insert, every changed field, its deletion
    (`record_trail`: site-restricted like every read; a deleted record's trail too)."""
    rows, stored = record_trail(handle, table, record_id)
    ok, n, message = verified(handle, sites)
    title = f"Audit trail of {table} record {record_id}" + ("" if stored else " (deleted)")
    return AuditView(title, audit_table_rows(rows), ok, n, message, stored)


# ---------------------------------------------------------------------------------------------------------
# snapshot and analysis (safety and escalation dashboards)
# ---------------------------------------------------------------------------------------------------------

_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def _cached(key: tuple[Any, ...], make: Any) -> Any:
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = make()
    with _CACHE_LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def _audit_head(handle: StudyUser) -> int:
    """The study's data version (`cartrial.store.reads.data_version`): it changes with every committed
    write of data, and not with logins. A value computed after reading it and cached under it is never
    served after a later write."""
    from cartrial.store.reads import data_version

    with handle.service.read() as connection:
        return data_version(connection)


def snapshot_for(handle: StudyUser, cutoff: dt.date, *, whole_study: bool = False) -> Any:
    """The study snapshot at `cutoff` of the user's view (`cartrial.store.snapshot.read_snapshot` with the
    sites of `cartrial.store.snapshot.view_sites`, which checks the READ permission: the one rule the CLI
    follows too, D-19.457); `whole_study` keeps every subject, for results that need all of them (the
    escalation design) — the caller then shows no other site's subject. A restricted snapshot's `sites`
    (site → country) holds only the user's sites. A cut-off before the study's first infusion gives a
    snapshot without infusions (the safety page still states the adverse events of the enrolled, D-19.106).

    Cached per (database, newest audit row, cut-off, sites): any write adds an audit row, so a cached
    snapshot is never stale."""
    from cartrial.store.snapshot import read_snapshot, view_sites

    readable = view_sites(handle)
    sites = None if whole_study else readable
    key = ("snapshot", str(handle.engine.url), _audit_head(handle), cutoff, sites)

    def make() -> Any:
        return read_snapshot(handle.engine, cutoff, before_first_infusion=True, sites=sites)

    return _cached(key, make)


@dataclass(frozen=True)
class SafetyData:
    """The analysis datasets behind the safety dashboard (names as in `cartrial.analysis.analyse`)."""

    datasets: dict[str, Any]
    snapshot: dict[str, Any]
    notes: list[str]
    time_zones: dict[str, str] = field(default_factory=dict)
    """subject_id → the IANA zone of the subject's study-day calendar (`subject_time_zones`; D-19.607)."""


SAFETY_DATASETS: tuple[tuple[str, str], ...] = (
    ("crs_icans_datasets", "CRS/ICANS episodes"),
    ("lab_datasets", "laboratory grades and ICAHT"),
    ("adverse_event_datasets", "adverse events"),
)
"""The `cartrial.analysis.toxicity` derivations the safety dashboard shows (and what they are)."""


def safety_data(handle: StudyUser, cutoff: dt.date, *, adverse_events_only: bool = False) -> SafetyData:
    """The safety datasets of `snapshot_for` (the user's subjects): the analysis layer's populations and its
    toxicity derivations (`cartrial.analysis.toxicity`), cached like the snapshot. A derivation the analysis
    layer cannot make from this snapshot (e.g. a table it needs is still empty) is left out and named in
    `notes`, so that the rest of the dashboard still shows. `adverse_events_only`: only the adverse-event
    derivation (no patient infused: its `ae_not_infused` statement is then all there is to show, D-19.106).
    The notes end with the analysis layer's statement of the adverse events of the enrolled patients not
    infused (`not_infused_finding`, D-19.88) when there is one."""
    from cartrial.analysis.core import safety_derivations, study_populations, study_tables
    from cartrial.analysis.findings import not_infused_finding
    from cartrial.analysis.model import Dataset
    from cartrial.analysis.populations import ENROLLED, subject_time_zones

    snapshot = snapshot_for(handle, cutoff)
    key = (
        "safety",
        str(handle.engine.url),
        _audit_head(handle),
        cutoff,
        handle.read_sites(),
        adverse_events_only,
    )
    derivations = tuple(
        d for d in SAFETY_DATASETS if d[0] == "adverse_event_datasets" or not adverse_events_only
    )

    def make() -> SafetyData:
        # an engine's refusal of a stored row reaches the page named by its record, without its value: the
        # analysis names the frames of each engine call (D-19.507, D-19.542)
        with stored_rows_errors():
            return _make()

    def _make() -> SafetyData:
        # the analysis' calendar: each subject's days on the site's calendar (D-19.607)
        tables = study_tables(snapshot.tables, snapshot.time_zones)
        study = study_populations(tables, snapshot.protocol, cutoff)
        populations, membership = study.populations, study.membership
        datasets: dict[str, Any] = {
            "populations": Dataset("populations", "populations", membership, ENROLLED, "", ("subjects",))
        }
        notes: list[str] = []
        derive = safety_derivations(tables, snapshot.protocol, study)  # analyse's own wiring (D-19.120)
        for name, what in derivations:
            try:
                datasets |= derive[name]()
            except (KeyError, ValueError, TypeError) as exc:  # an analysis-layer gap, shown on the page
                # named by the exception's class, never its text, which may quote a stored cell
                # (``could not convert string to float: '…'``, a KeyError of a subject id; D-12.2, D-19.1350)
                notes.append(f"{what}: not derivable from this snapshot yet ({type(exc).__name__})")
        left_out = not_infused_finding(datasets, populations)  # D-19.88: the events no table here counts
        if left_out is not None:
            notes.append(left_out.statement)
        return SafetyData(datasets, snapshot.metadata(), notes, subject_time_zones(tables["infusions"]))

    result: SafetyData = _cached(key, make)
    return result


HEATMAP_DAYS = 29
"""Days 0–28 after infusion in the CRS/ICANS heat map (the report's `crs_heatmap_figure` span)."""


@dataclass(frozen=True)
class DatasetTable:
    """An analysis dataset shown on a page as the report shows it: its title, population, header and
    rows (the cells of its CSV, `cartrial.tabular.csv_cells`), its column descriptions and its notes."""

    name: str
    title: str
    population: str
    header: list[str]
    rows: list[list[str]]
    descriptions: dict[str, str]
    notes: tuple[str, ...]


def dataset_table(dataset: Any) -> DatasetTable:
    """`DatasetTable` of an analysis `Dataset` (every column, as the report's table of it)."""
    from cartrial.tabular import csv_cells

    header, rows = csv_cells(dataset.table)
    return DatasetTable(
        dataset.name,
        dataset.title,
        str(dataset.population),
        header,
        rows,
        dict(dataset.columns or {}),
        tuple(dataset.notes),
    )


NO_INFUSED_INFECTIONS = "No infused patient by the cut-off."
NO_INFECTIONS = "No treatment-emergent infection by the cut-off."
NOT_DERIVED_INFECTIONS = "Not derivable from this snapshot (see the notes above)."


@dataclass(frozen=True)
class SafetyView:
    """The safety dashboard: CRS/ICANS grade by patient and day, cytopenias, serious adverse events."""

    cutoff: dt.date
    days: tuple[int, ...]
    heatmap: dict[str, list[dict[str, Any]]]
    """'crs' / 'icans' → one row per safety-set subject: subject_id, dose_level, grades (one per day,
    None = no episode that day), max_grade."""
    cytopenias: list[dict[str, Any]]
    """One row per subject: subject_id, dose_level, early/late ICAHT grade, and per analyte
    {baseline, worst, term} (CTCAE grade)."""
    cytopenia_analytes: list[str]
    serious: list[dict[str, Any]]
    serious_columns: list[str]
    notes: list[str]
    draft: bool
    ungraded: int = field(default_factory=lambda: _ungraded())
    """The grade value of a day of an unresolved episode not graded that day: the analysis layer's
    `cartrial.analysis.toxicity.UNGRADED`, carried by the view so every render of the heat map has it
    (D-19.780)."""
    infections: DatasetTable | None = None
    """The analysis layer's `infections_by_period` (the report's table, D-19.1310); None when it was not
    derived (no infused patient, or the derivation not possible from this snapshot)."""
    infections_none: str = ""
    """A statement under (or instead of) the infection table: none by the cut-off, no infused patient."""


def _ungraded() -> int:
    from cartrial.analysis.toxicity import UNGRADED

    return UNGRADED


def _num(value: Any) -> float | None:
    import math

    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _plain(value: Any) -> Any:
    import math

    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:  # pragma: no cover
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: Any, columns: Sequence[str]) -> list[dict[str, Any]]:
    present = [c for c in columns if c in frame.columns]
    return [{c: _plain(row[c]) for c in present} for _, row in frame[present].iterrows()]


CYTOPENIA_ANALYTES: tuple[str, ...] = ("neutrophils", "platelets", "hemoglobin", "lymphocytes", "wbc")
"""Haematology analytes of the cytopenia table (as graded by `cartrial.grading` CTCAE in `lab_shift`)."""


def _cytopenias(
    analysis: Any, subjects: Sequence[str], levels: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    """One row per safety-set subject: ICAHT early/late grade (`icaht` dataset, EHA/EBMT 2023) and the
    worst post-baseline CTCAE grade of each haematology analyte with its baseline (`lab_shift`)."""
    rows: dict[str, dict[str, Any]] = {s: {"subject_id": s, "dose_level": levels.get(s)} for s in subjects}
    icaht = analysis.datasets.get("icaht")
    if icaht is not None:
        from cartrial.analysis.toxicity import icaht_grade_text

        for r in icaht.table.to_dict("records"):
            if str(r["subject_id"]) in rows:  # "pending", "≥ N (pending)" as the report (D-19.268)
                rows[str(r["subject_id"])]["early_icaht_grade"] = icaht_grade_text(r, "early_icaht_grade")
                rows[str(r["subject_id"])]["late_icaht_grade"] = icaht_grade_text(r, "late_icaht_grade")
    shift = analysis.datasets.get("lab_shift")
    present: list[str] = []
    if shift is not None:
        for _, r in shift.table.iterrows():
            analyte = str(r["analyte"])
            if analyte not in CYTOPENIA_ANALYTES or str(r["subject_id"]) not in rows:
                continue
            if analyte not in present:
                present.append(analyte)
            rows[str(r["subject_id"])][analyte] = {
                "baseline": _plain(r.get("baseline_grade")),
                "worst": _plain(r.get("worst_post_grade")),
                "term": str(r.get("term") or analyte),
            }
    ordered = [a for a in CYTOPENIA_ANALYTES if a in present]
    return list(rows.values()), ordered


def safety_view(handle: StudyUser, sites: Sites, cutoff: dt.date | None = None) -> SafetyView:
    """The safety dashboard from the analysis datasets of a snapshot at `cutoff` (default: the active
    lock's cut-off, else today; a lock's cut-off after today is read as of today, D-19.380). Grades are
    the grading engine's episodes (`crs_episodes`, `icans_episodes`): each episode's peak grade fills its
    calendar days from onset to resolution, or through its last graded assessment while unresolved, as in the
    report's heat map (`episode_grade_days`, D-19.767); cytopenias are the `icaht` grades and the
    haematology CTCAE shifts (`lab_shift`); serious adverse events the treatment-emergent events flagged
    serious (`teae_listing`)."""

    lock = lock_of(handle)
    today = utc_today()
    # a lock as of a planned date (after today) is read as of today: no follow-up after today (D-19.380)
    cutoff = cutoff or (min(lock.cutoff, today) if lock else today)

    def empty(*notes: str) -> SafetyView:
        return SafetyView(
            cutoff,
            tuple(range(HEATMAP_DAYS)),
            {"crs": [], "icans": []},
            [],
            [],
            [],
            [],
            list(notes),
            True,
            infections_none=NO_INFUSED_INFECTIONS,
        )

    try:
        tables = snapshot_for(handle, cutoff).tables
        if not len(tables["infusions"]):
            # no table to show, but the adverse events of the enrolled (e.g. lymphodepleted, then not
            # infused) are stated, from the analysis layer (D-19.88, D-19.106)
            left_out = (
                safety_data(handle, cutoff, adverse_events_only=True).notes
                if len(tables["adverse_events"])
                else []
            )
            return empty("no patient you may see was infused by the cut-off", *left_out)
        analysis = safety_data(handle, cutoff)
    except StoredValueError:
        raise  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
    except CartrialError as exc:  # nothing to analyse yet (no subject, no infusion by the cut-off)
        return empty(without_database_location(str(exc), handle.engine))
    membership = analysis.datasets["populations"].table
    safety = membership[membership["safety"].astype(bool)]
    subjects = [str(s) for s in safety["subject_id"]]
    from cartrial.analysis.toxicity import UNGRADED, episode_grade_days, observed_days

    levels = {str(s): _plain(v) for s, v in zip(safety["subject_id"], safety["dose_level"], strict=True)}
    # days after a patient's follow-up are not observed, not "no episode" (D-19.210, D-19.768)
    observed = {
        str(s): observed_days(v, HEATMAP_DAYS)
        for s, v in zip(safety["subject_id"], safety["follow_up_days"], strict=True)
    }
    heatmap: dict[str, list[dict[str, Any]]] = {}
    for kind in ("crs", "icans"):
        # the analysis layer's days of each episode, as the report's heat map (D-19.767)
        dataset = analysis.datasets.get(f"{kind}_episodes")
        grid = (
            episode_grade_days(dataset.table, subjects, HEATMAP_DAYS, analysis.time_zones, observed)
            if dataset is not None
            else {s: [None] * HEATMAP_DAYS for s in subjects}
        )
        heatmap[kind] = [
            {
                "subject_id": s,
                "dose_level": levels.get(s),
                "grades": grid[s],
                "observed_days": observed[s],
                "max_grade": max((g for g in grid[s] if g is not None and g != UNGRADED), default=None),
            }
            for s in subjects
        ]
    cytopenias, cyto_columns = _cytopenias(analysis, subjects, levels)
    serious_columns: list[str] = []
    serious: list[dict[str, Any]] = []
    dataset = analysis.datasets.get("teae_listing")
    from cartrial.analysis.toxicity import SERIOUS_FLAG

    if dataset is not None and SERIOUS_FLAG in dataset.table.columns:
        table = dataset.table
        flags = table[SERIOUS_FLAG].astype(bool)  # the analysis's one reading (D-19.1084, D-19.1243)
        serious_columns = [
            c
            for c in (
                "subject_id",
                "term",
                "grade",
                # the ICH E2A criteria met, the analysis layer's column the report lists too (D-19.382)
                "seriousness_criteria",
                "started_on",
                "ended_on",
                "relatedness",
                "dlt",
                "outcome",
            )
            if c in table.columns
        ]
        serious = _records(table[flags], serious_columns)
    notes = [
        *analysis.notes,
        *(n for k in ("crs_episodes", "icans_episodes") if (d := analysis.datasets.get(k)) for n in d.notes),
    ]
    # the report's infections by onset period, from the one analysis dataset (D-19.1310, D-19.1350)
    by_period = analysis.datasets.get("infections_by_period")
    infections = dataset_table(by_period) if by_period is not None else None
    if by_period is None:
        infections_none = NOT_DERIVED_INFECTIONS if subjects else NO_INFUSED_INFECTIONS
    elif not int(by_period.table["n_events"].sum()):
        infections_none = NO_INFECTIONS
    else:
        infections_none = ""
    return SafetyView(
        cutoff,
        tuple(range(HEATMAP_DAYS)),
        heatmap,
        cytopenias,
        cyto_columns,
        serious,
        serious_columns,
        notes,
        bool(analysis.snapshot.get("unlocked", True)),
        infections=infections,
        infections_none=infections_none,
    )


# ---------------------------------------------------------------------------------------------------------
# escalation
# ---------------------------------------------------------------------------------------------------------


DECISIONS: tuple[str, ...] = ("escalate", "stay", "de-escalate", "expand", "stop")
"""The recorded-decision vocabulary (`cartrial.escalation.conduct.DECISIONS`)."""


def escalation_view(handle: StudyUser, sites: Sites, today: dt.date | None = None) -> dict[str, Any]:
    """The escalation dashboard: `cartrial.web.escalation.escalation_state` (the one implementation the
    API uses as well) plus, for the page, each cohort's patients with their DLT window and evaluation (the
    cohorts' members as the state assigned them, `cartrial.web.escalation.assign_cohorts`; the pending
    cohort last)."""
    from cartrial.web.escalation import escalation_state

    handle.check(Action.READ, "escalation state")
    state = escalation_state(handle.service, None if sites is None else tuple(sites), today or utc_today())
    if not state.get("available"):
        return state
    patients = list(state["patients"])
    replay = {int(r["cohort"]): r for r in state.get("replay", [])}

    def members_of(number: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A cohort's own patients (the state assigned each its cohort) and another site's counts."""
        own = [p for p in patients if p["cohort"] == number]
        return own, [c for c in state["other_sites"] if c["cohort"] == number]

    cohorts: list[dict[str, Any]] = []
    for cohort in state["cohorts"]:
        members, others = members_of(int(cohort["cohort"]))
        replayed = replay.get(int(cohort["cohort"]), {})
        cohorts.append(
            {
                **cohort,
                "members": members,
                "other_sites": others,
                "design_decision": replayed.get("design_decision"),
                "deviation": replayed.get("deviation") or "",
                "query": replayed.get("query") or "",
                "pending": False,
            }
        )
    pending, others = members_of(int(state["next_cohort"]))
    if pending or others:
        cohorts.append(
            {
                "cohort": state["next_cohort"],
                "dose_level": state["pending"]["dose_level"],
                "outcomes": state["pending"]["outcomes"],
                "members": pending,
                "other_sites": others,
                "pending": True,
            }
        )
    return {
        **state,
        "cohort_rows": cohorts,
        "decisions": DECISIONS,
        # a cohort of replaced patients only has no outcome to decide on (D-19.123)
        "decidable": bool(state["pending"]["outcomes"]) and not state["recommendation"]["provisional"],
        "pending_level": state["pending"]["dose_level"],
    }


# ---------------------------------------------------------------------------------------------------------
# export, import, users
# ---------------------------------------------------------------------------------------------------------


def study_form_names(handle: StudyUser) -> tuple[str, ...]:
    """The forms of this study, in the import's order: every form less the form of an outcome the study
    does not collect — the analysis's rule (`cartrial.analysis.outcomes.collected_forms`: the protocol
    collects its assessment, or the form holds rows, study-wide), so the forms offered are the forms
    analysed (D-19.70). A form left out still takes a write, as `cartrial import` takes its file."""
    from cartrial.analysis.outcomes import collected_forms
    from cartrial.store import reads
    from cartrial.store.fields import study_protocol as stored
    from cartrial.store.importing.forms import FORMS

    with handle.service.read() as connection:
        protocol = stored(connection)
        planned = collected_forms(protocol)
        left_out = [f for f in FORMS if f.name not in planned]  # none for the reference protocol: no read
        filled = reads.tables_with_rows(connection, [f.table for f in left_out])
    return collected_forms(protocol, {f.name for f in left_out if f.table in filled})


def study_fields_left_out(handle: StudyUser, form_name: str) -> frozenset[str]:
    """The fields of `form_name` the entry form does not offer (D-19.82): those of an outcome the study does
    not collect — the analysis's rule (`cartrial.analysis.outcomes.uncollected_fields`: the protocol collects
    its assessment, or its data hold a value, study-wide), read from the protocol's one declaration of where
    each assessment is recorded. The import and the API still take them (D-19.70)."""
    from cartrial.analysis.outcomes import uncollected_fields, unplanned_sources
    from cartrial.store import reads
    from cartrial.store.fields import study_protocol as stored
    from cartrial.store.importing.forms import FORMS_BY_NAME

    with handle.service.read() as connection:
        protocol = stored(connection)
        sources = unplanned_sources(protocol)  # none for the reference protocol: no read
        tables = {(FORMS_BY_NAME[form].table, column): (form, column) for form, column in sources}
        filled = reads.columns_with_values(connection, list(tables)) if sources else set()
    left_out = uncollected_fields(protocol, {tables[key] for key in filled})
    return frozenset(column for form, column in left_out if form == form_name)


def export_forms(handle: StudyUser, role: str | None = None) -> list[FormSpec]:
    """The forms with a CSV template that the export page offers: the study's forms (`study_form_names`).
    `role`: a role that may import is offered only the templates of tables it may write
    (`permissions.write_action`: an investigator is not offered escalation decisions or sites, which the
    import would refuse, D-19.416); a role that imports nothing keeps every export (a read)."""
    from cartrial.store.importing.forms import FORMS
    from cartrial.store.permissions import Action, allowed, write_action

    names = study_form_names(handle)
    forms = [f for f in FORMS if f.name in names]
    if role is None or not allowed(role, Action.IMPORT):
        return forms
    return [f for f in forms if allowed(role, write_action(f.table, Action.ENTER))]


@dataclass(frozen=True)
class ImportOutcome:
    """What an import from the web page did: counts per form (or the problems, nothing written)."""

    ok: bool
    forms: list[dict[str, Any]]
    problems: list[dict[str, Any]]
    message: str
    problems_total: int = 0
    """How many problems the refusal has: `problems` lists at most `MAX_PROBLEMS_SHOWN` of them, as the
    API's ``problems`` / ``problems_total`` (D-19.349, D-19.1352); for `frozen`, how many records the lock
    froze (`ConflictError.records_total`, D-19.1364)."""
    frozen: list[dict[str, Any]] = field(default_factory=list)
    """A data lock's refusal: each frozen record (record id, ``table.column``, message, allowed; never a
    value), `cartrial.errors.conflict_problems` (D-19.1331, D-19.1351)."""
    conflict: bool = False
    """Refused by the study's data (a data lock, a record changed meanwhile): the API's 409."""
    frozen_more: str = ""
    """The store's count of the frozen records not listed one by one: the table's footer (D-19.1364)."""
    edit_checks: list[dict[str, Any]] = field(default_factory=list)
    """The soft edit checks that fired, a data query each (`Finding.as_dict`, the API's ``edit_checks``;
    D-19.1354)."""
    dry_run: bool = False


def upload_names(names: Sequence[str | None], allowed: set[str] | None = None) -> list[str]:
    """The file names an upload is saved under (the base name of each, as the browser sent it): refuses a
    blank or hidden name, a name not in `allowed` (when given) and the same name twice — the second file
    would silently replace the first (`InputError`, field ``files``). The one rule of uploaded file names
    (the import page and the API)."""
    from cartrial.errors import InputError, Problem

    out: list[str] = []
    for name in names:
        base = Path(name or "").name
        if not base or base.startswith(".") or (allowed is not None and base not in allowed):
            raise InputError(
                Problem(
                    "not an import template file name" if allowed is not None else "not a file name",
                    field="files",
                    value=name,
                    allowed=choice_text(sorted(allowed)) if allowed is not None else "a file name",
                )
            )
        if base in out:
            raise InputError(
                Problem(
                    "the same file name twice (the second would replace the first)",
                    field="files",
                    value=base,
                    allowed="each file once",
                )
            )
        out.append(base)
    return out


def without_folder(value: Any, directory: str) -> Any:
    """`value` (an import report as data, or a text) with the server's temporary folder taken out of every
    path: the user sees the file names they uploaded, never where the server kept them (the API's answers
    and the import page, D-19.1353)."""
    if isinstance(value, str):
        return value.replace(directory.rstrip("/") + "/", "")
    if isinstance(value, dict):
        return {k: without_folder(v, directory) for k, v in value.items()}
    if isinstance(value, list):
        return [without_folder(v, directory) for v in value]
    return value


def import_upload(
    handle: StudyUser,
    files: Sequence[tuple[str, bytes]],
    *,
    kind: str = "templates",
    dry_run: bool = False,
    reason: str | None = None,
) -> ImportOutcome:
    """Import uploaded CSV templates (``<form>.csv`` each) or a REDCap export (records, dictionary and
    mapping files, in that order) through the store's atomic import: all files are checked, every problem
    is reported with file, row and field, and nothing is written unless all pass."""
    import tempfile
    from dataclasses import replace

    from cartrial.errors import MAX_PROBLEMS_SHOWN, InputError, Problem, conflict_problems
    from cartrial.store.importing import import_redcap, import_templates

    handle.check(Action.IMPORT, "import")
    with tempfile.TemporaryDirectory(prefix="cartrial-upload-") as folder:
        paths = []
        for base, (_name, content) in zip(upload_names([n for n, _ in files]), files, strict=True):
            path = Path(folder) / base
            path.write_bytes(content)
            paths.append(path)
        try:
            if kind == "redcap":
                if len(paths) != 3:
                    raise InputError(
                        Problem(
                            "a REDCap import needs three files",
                            field="files",
                            value=str(len(paths)),
                            allowed="records export, data dictionary, mapping",
                        )
                    )
                report = import_redcap(
                    handle.engine,
                    paths[0],
                    paths[1],
                    paths[2],
                    handle.username,
                    dry_run=dry_run,
                    reason=reason,
                )
            else:
                report = import_templates(
                    handle.engine, folder, handle.username, dry_run=dry_run, reason=reason
                )
        except StoredValueError:
            raise  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
        except InputError as exc:
            # as the API lists them: at most MAX_PROBLEMS_SHOWN, each value shortened (`Problem.as_dict`)
            problems = [
                {
                    "file": Path(p.file).name if p.file else "",
                    "row": p.row,
                    "field": p.field,
                    # the folder out first, then shortened: the API's order (`_uploaded_import`)
                    "value": replace(p, value=without_folder(p.value, folder)).as_dict()["value"],
                    "message": p.message,
                    "allowed": p.allowed,
                }
                for p in exc.problems[:MAX_PROBLEMS_SHOWN]
            ]
            first = without_folder(str(exc).splitlines()[0], folder) if str(exc) else ""
            return ImportOutcome(False, [], problems, first, problems_total=len(exc.problems))
        except ConflictError as exc:
            listing = conflict_problems(exc)  # each frozen record, as the CLI lists them
            return ImportOutcome(
                False,
                [],
                [],
                str(exc),
                problems_total=listing.total,
                frozen=listing.problems,
                conflict=True,
                frozen_more=listing.more or "",
            )
    forms = [
        {
            "form": f.form,
            "table": f.table,
            "read": getattr(f, "read", None),
            "inserted": getattr(f, "inserted", None),
            "updated": getattr(f, "updated", None),
            "unchanged": getattr(f, "unchanged", None),
            "kept": f.kept,
            "kept_message": f.kept_message(),
        }
        for f in report.forms
    ]
    # the soft edit checks that fired (a data query each), as the API and the CLI list them (D-19.1354)
    checks = [
        {**without_folder(f.as_dict(), folder), "file": Path(f.record.file).name if f.record.file else ""}
        for f in report.edit_checks
    ]
    what = "checked (dry run, nothing written)" if dry_run else "imported"
    return ImportOutcome(True, forms, [], f"{len(forms)} form(s) {what}", edit_checks=checks, dry_run=dry_run)


def user_list(handle: StudyUser) -> list[dict[str, Any]]:
    """Every user without the password hash (`StudyUser.list_users`; the page needs MANAGE_USERS)."""
    handle.check(Action.MANAGE_USERS, "user list")
    return handle.list_users()


def site_ids(handle: StudyUser) -> list[str]:
    """The ids of the sites the user may read, sorted: every site for a study-wide role, the own site only
    for a site-restricted one (the store's read of `site`, D-19.411)."""
    return sorted(str(r["site_id"]) for r in rows_of(handle, "site"))


__all__ = [
    "STATUS_TEXT",
    "AuditView",
    "CaseCell",
    "CaseVisit",
    "Casebook",
    "DatasetTable",
    "ImportOutcome",
    "NotVisible",
    "SafetyView",
    "StudyHome",
    "SubjectRow",
    "casebook",
    "dataset_table",
    "escalation_view",
    "export_forms",
    "import_upload",
    "query_list",
    "record_audit",
    "safety_view",
    "schedule_cells",
    "study_fields_left_out",
    "study_form_names",
    "study_home",
    "subject_audit",
    "subject_list",
    "upload_names",
    "user_list",
    "visible_sites",
    "without_folder",
]
