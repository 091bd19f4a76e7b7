"""Edit checks across forms, as an EDC runs them: each with an id, its rule, a severity and its source.

*Hard* checks refuse the data (a located error; nothing is written): the record is impossible (an infusion
before the subject was born or consented, a second infusion of a subject, a consent dated in the future, a
relapse before birth). *Soft*
checks accept it and raise a data query that the study database records (`data_query`, raised by the
system user `EDIT_CHECK_USER`, audited like every write) for the site to confirm or correct: the value is
implausible (ten times the protocol's dose, a total that does not match the protocol's dose for the recorded
cells/kg and weight — cells/kg × weight, capped at the level's maximum —, an adult under 30 kg, a lab value
far outside any physiological range, a lab test name that misspells a known one, an assessment long before
the infusion, a record dated after the subject's death or end of study, a disposition or its date that
does not match the recorded death).

The checks work on the records of one subject across forms (`SubjectRecords`), whatever they come from: an
import (rows of the validated files, located by file and row, merged with what the database already holds)
or a single-record write (the record being written and the subject's stored records). Only findings on the
records being written are reported (a stored record is not re-checked by every later write).

One soft check looks across the study rather than one subject: a recorded escalation decision taken before
every patient of its cohort completed the protocol's DLT window (`DECISION_BEFORE_DLT_WINDOW`, a protocol
deviation). It calls the escalation engine's replay (`cartrial.escalation.replay_decisions`), the one
implementation of the cohort and window rule, on the stored and imported decisions and infusions.

Three soft checks reconcile a death (D-19.93): a dated record of the subject after the date of death
(`RECORD-AFTER-DEATH`), a disposition ``death`` without a fatal adverse event (`DEATH-WITHOUT-FATAL-AE`), and
a fatal adverse event with another disposition (`FATAL-AE-DISPOSITION`); a fourth, two fatal adverse events
dating the death on different days (`DEATH-DATES-DIFFER`, D-19.794). Which adverse event is a death and
its date is the protocol layer's rule (`cartrial.protocol.death`), the one the analysis reads too. Two more
reconcile the end of study (D-19.101): a disposition ``death`` whose ``disposition_date`` is not the date of
death (`DEATH-DATE-MISMATCH`), and a dated record after the ``disposition_date`` of a subject who completed,
withdrew or was lost (`RECORD-AFTER-END-OF-STUDY`; a fatal adverse event is exempt: a death learnt in
follow-up, which `FATAL-AE-DISPOSITION` does not query either, D-19.124).

Two soft checks query what the analysis takes once a day (D-19.1101, D-19.1102): a second EDSS assessment
of a subject on the same day on its site's calendar (`EDSS-SAME-DAY`) and a second visual acuity of the same
eye that day (`ACUITY-SAME-DAY`), grouped by the analysis' one rule (`cartrial.columns.same_site_day_groups`,
the day by `SubjectRecords.day`); the analysis refuses the later record of such a day, so `analyse`,
`report` and `export cdisc` stop.

No check's message (the hard refusal, the data query's text, the dry-run listing) quotes a record's value,
this record's or another's (D-12.2, D-19.102): it names the table, the field, the other record involved by
its location (file and row, or table and record id; `_where`) and the rule with its protocol constants (the
dose of a level, a plausible range, a window in days); the value is carried only in `Finding.value`
(`Problem.value`, shown as "(got …)" for the user's own file).

`cartrial import templates DIR --dry-run` lists what would fire (`ImportReport.edit_checks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, partial
from typing import TYPE_CHECKING, Any

from cartrial.columns import (
    TIME_ZONE_COLUMN,
    after_site_today,
    checked_site_zones,
    same_site_day_groups,
    site_day,
    site_today,
    time_zone_of,
    typed_site_date,
    typed_site_moment,
    utc_now,
)
from cartrial.errors import InputError, Problem
from cartrial.protocol.birth import before_birth, earliest_birth
from cartrial.protocol.calendar import completed_years
from cartrial.protocol.death import DEATH_SOURCE, death_day, is_fatal
from cartrial.protocol.disposition import DEATH, DISPOSITIONS, ended_before_death, parse_disposition
from cartrial.protocol.lab_tests import LAB_TESTS
from cartrial.protocol.seriousness import (
    CRITERIA_FIELDS,
    SERIOUSNESS_SOURCE,
    criteria_disagreement,
    fatal_disagreement,
)
from cartrial.store.tables import restates, same_value

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from cartrial.protocol.dosing import DoseCalculation
    from cartrial.protocol.model import Protocol
    from cartrial.store.stored_dates import LeftOut

EDIT_CHECK_USER = "cartrial-edit-checks"
"""The system user that raises the data queries of soft checks (recorded as such in the audit trail)."""
EDIT_CHECK_ROLE = "data_manager"
"""The role under which those queries are audited (a data manager may raise queries; no site limit)."""


class Severity(StrEnum):
    HARD = "hard"
    """Refused with a located error."""
    SOFT = "soft"
    """Accepted; a data query is raised and recorded."""


@dataclass(frozen=True)
class EditCheck:
    """One edit check: id, the rule in words, severity and source."""

    id: str
    rule: str
    severity: Severity
    source: str
    reads: tuple[str, ...] = ()
    """A hard check's tables: those whose records it compares (the table it fires on among them). A new
    record of one of them whose checks left out a record of another (or of its own with `among`) is
    refused, as the check could not run (`blind_hard_checks`, D-19.651); every hard check declares them
    (tests/store/test_edit_check_reads.py)."""
    among: bool = False
    """The check compares the records of one table among themselves (INFUSION-ONCE: another infusion)."""


@dataclass
class Record:
    """One record of a subject: its table, typed values and where it comes from (`file` and spreadsheet
    `row` for an imported row, `record_id` for a stored one); `new` marks the records being written."""

    table: str
    values: Mapping[str, Any]
    new: bool
    file: str | None = None
    row: int | None = None
    record_id: int | None = None

    def get(self, name: str) -> Any:
        return self.values.get(name)


@dataclass(frozen=True)
class Finding:
    """A check that fired on one record."""

    check: EditCheck
    record: Record
    field: str
    value: Any
    message: str

    @property
    def subject_id(self) -> str | None:
        value = self.record.get("subject_id")
        return None if value is None else str(value)

    def problem(
        self, written: tuple[str, int | None] | None = None, typed: Collection[str] | None = None
    ) -> Problem:
        """The located problem (hard checks refuse with it; soft ones are listed with it). The value is
        shown only for a record being written (the user's own entry); a hard finding on a stored record
        (a new consent date after the stored infusion) names the record's field, never its value (D-12.2).
        `written`: (table, record id or None for a new record) of the one record a single write writes —
        its checks see the subject's stored records as `new` too, so only that record's value is shown
        (D-19.820). `typed`: the fields that write types (an edit's changed fields; None: every field, a
        new record): a finding on another field of the record shows no value, its stored one (D-19.820)."""
        record = self.record
        where_field = self.field if record.file is not None else f"{record.table}.{self.field}"
        shown = (
            record.new
            and (written is None or (record.table, record.record_id) == written)
            and (typed is None or self.field in typed)
        )
        return Problem(
            f"[{self.check.id}, {self.check.severity.value}] {self.message}",
            file=record.file,
            row=record.row,
            field=where_field,
            value=_text(self.value) if shown else None,
            allowed=self.check.rule,
        )

    def query_text(self) -> str:
        return f"Edit check {self.check.id} ({self.check.source}): {self.message}. Please confirm or correct."

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check.id,
            "severity": self.check.severity.value,
            "rule": self.check.rule,
            "source": self.check.source,
            "subject_id": self.subject_id,
            "table": self.record.table,
            "file": self.record.file,
            "row": self.record.row,
            "record_id": self.record.record_id,
            "field": self.field,
            "value": _text(self.value) if self.record.new else None,
            "message": self.message,
        }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass
class SubjectRecords:
    """Every record of one subject that the checks look at, by table."""

    subject_id: str
    by_table: dict[str, list[Record]] = field(default_factory=dict)
    time_zone: str | None = None
    """The IANA time zone of the subject's site (`site.time_zone`; None: UTC): the calendar the subject's
    study days are counted on (`day`, `infusion_day`; D-19.607)."""
    _death: tuple[tuple[dt.date, Record] | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    """The date of death held for one run of the checks (`run_edit_checks`: the records do not change
    during it, and four checks ask), as a 1-tuple; None when not held."""

    def of(self, table: str) -> list[Record]:
        return self.by_table.get(table, [])

    @property
    def subject(self) -> Record | None:
        """The subject row (the new one when the subject is being written)."""
        rows = self.of("subject")
        new = [r for r in rows if r.new]
        chosen = new or rows
        return chosen[0] if chosen else None

    def birth(self) -> tuple[dt.date | None, str]:
        """The earliest possible birth date (birth date, or 1 January of the birth year) and its field."""
        subject = self.subject
        if subject is None:
            return None, ""
        # the one rule of the earliest birth (`cartrial.protocol.birth`, D-19.1206)
        if isinstance(subject.get("birth_date"), dt.date):
            return earliest_birth(birth_date=subject.get("birth_date")), "birth_date"
        year = subject.get("birth_year")
        if isinstance(year, int) and 1 <= year <= 9999:
            return earliest_birth(birth_year=year), "birth_year"
        return None, ""

    def death(self) -> tuple[dt.date, Record] | None:
        """(date of death, the fatal adverse event giving it): the earliest `death_day` of the subject's
        fatal adverse events (`cartrial.protocol.death`, the analysis's rule); None when none is recorded."""
        if self._death is not None:
            return self._death[0]
        found: tuple[dt.date, Record] | None = None
        for event in self.of("adverse_event"):
            if not is_fatal(event.get("grade"), event.get("category"), event.get("outcome")):
                continue
            day = death_day(event.get("started_on"), event.get("ended_on"))
            if day is not None and (found is None or day < found[0]):
                found = (day, event)
        return found

    def end_of_study(self) -> tuple[dt.date, Record] | None:
        """(date of the end of study, the subject row): the ``disposition_date`` of a subject whose
        disposition ends the study other than by death (`ENDED_BY`: completed, withdrawn, lost; a death is
        dated by the fatal adverse event, `death`); None otherwise (ongoing, blank, undated, unparsed)."""
        subject = self.subject
        if subject is None:
            return None
        text = subject.get("disposition")
        day = _day(subject.get("disposition_date"))
        if day is None or text is None or parse_disposition(str(text)) not in ENDED_BY:
            return None
        return day, subject

    def end_day(self) -> dt.date | None:
        """The earlier of the date of death and the end of study: no dated record is expected after it."""
        days = [found[0] for found in (self.death(), self.end_of_study()) if found is not None]
        return min(days) if days else None

    def day(self, value: Any) -> dt.date | None:
        """The date of a date or date-time value on the subject's site calendar (a date as recorded; a
        date-time's instant read in `time_zone`, UTC without one, exactly 00:00:00Z being the date typed;
        `cartrial.columns.site_day`, D-19.607, D-19.947: the same day as `typed_day`)."""
        return site_day(value, self.time_zone)

    def typed_day(self, value: Any) -> dt.date | None:
        """The date the site meant by a stored date or date-time, compared with a date typed at the site
        (consent, birth, death, end of study): a date as recorded; 00:00:00Z, what a date typed without a
        time becomes, that date; any other instant its date on the site's clock
        (`cartrial.columns.typed_site_date`). The one rule of the store's date-comparison checks
        (INFUSION-, PROCEDURE- and AE-BEFORE-CONSENT, INFUSION-BEFORE-BIRTH, RECORD-AFTER-DEATH,
        RECORD-AFTER-END-OF-STUDY; D-19.618, D-19.622); study days are counted by `day` (D-19.607)."""
        return typed_site_date(value, self.time_zone)

    def infusion_day(self) -> dt.date | None:
        """The day of the (first) CAR-T infusion on the site's calendar (day 0; D-19.607)."""
        days = [self.day(r.get("infused_at")) for r in self.of("infusion")]
        known = [d for d in days if d is not None]
        return min(known) if known else None


def _day(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).date() if value.tzinfo else value.date()
    if isinstance(value, dt.date):
        return value
    return None


# -------------------------------------------------------------------------------------------------------
# The checks
# -------------------------------------------------------------------------------------------------------

ICH_CONSENT = "ICH E6(R3) 2.8 and 21 CFR 50.20: informed consent before any trial procedure"
PROTOCOL_DOSE = "the protocol's dose_levels (cells/kg of the level)"
PK_LLOQ_SOURCE = (
    "bioanalytical method validation: no concentration is reported below the LLOQ, the lowest quantified "
    "with acceptable accuracy and precision (ICH M10; FDA BMV guidance 2018); SDTMIG 3.4 PC (PCLLOQ); the "
    "BLQ rules of the NCA (cartrial.kinetics, D-19.154) (D-19.165)"
)
EDC_PRACTICE = "EDC edit-check practice (plausibility; ALCOA+ accurate, docs/science/data-standards.md §8.3)"

DOSE_FACTOR = 10.0
"""Cells/kg at least this many times the protocol dose of the level fire DOSE-10X."""
TOTAL_TOLERANCE = 0.10
"""Relative tolerance of total cells against cells/kg × weight."""
WEIGHT_CHANGE_FACTOR = 1.25
"""Largest ratio between the infusion's weight and the subject's weight at enrolment before
`INFUSION-WEIGHT-CHANGE` asks (project choice: weeks between screening and infusion; a weight in pounds is
2.2 times the weight in kilograms)."""
LD_DOSE_TOLERANCE = 0.10
"""Relative tolerance of a recorded lymphodepletion dose per m² against the protocol's (LD-DOSE-PROTOCOL,
D-19.993; project choice, as `TOTAL_TOLERANCE`: a site's rounding of the BSA and of the vial, not a slip)."""
ADULT_AGE_YEARS = 18
MIN_ADULT_WEIGHT_KG = 30.0
LAB_SLIP_FACTOR = 10.0
"""A haematology value more than this many times the plausible maximum (canonical unit) is a unit slip:
the usual slips (per µL vs per nL, g/L vs g/dL) are factors of 10 to 1000."""
PLAUSIBLE_LAB_RANGE: Mapping[str, tuple[float, float]] = {
    "neutrophils": (0.0, 100.0),
    "lymphocytes": (0.0, 500.0),
    "wbc": (0.0, 1000.0),
    "platelets": (0.0, 3000.0),
    "hemoglobin": (20.0, 250.0),
}
"""Widest physiologically possible values in the canonical unit (10^9/L for counts, g/L for haemoglobin):
project choice, wider than any reference range (leukaemic counts, polycythaemia) so that only a unit slip
falls outside by a factor of ten."""
LAB_TEST_SIMILARITY = 0.8
"""An analyte outside the lab dictionary whose similarity to a known test name (`difflib` ratio: twice
the matched characters over both lengths) is at least this is a likely misspelling (``neutrophil``,
``haemoglobin``: 0.95); distinct tests of the dictionary stay below it (``iga``/``igg``, ``alt``/``ast``:
0.67)."""
ASSESSMENT_TABLES: Mapping[str, str] = {
    "crs_assessment": "assessed_at",
    "icans_assessment": "assessed_at",
    "therapy": "given_at",
    "lab_result": "collected_at",
    "edss_assessment": "assessed_at",
    "visual_acuity": "assessed_at",
    "osis_assessment": "assessed_at",
    "timed_walk": "assessed_at",
    "pk_sample": "sampled_at",
    "pd_sample": "sampled_at",
}
"""Dated assessments of a subject (table → its date column)."""
DATED_TABLES: Mapping[str, str] = {
    "lymphodepletion_administration": "administered_on",
    "infusion": "infused_at",
    **ASSESSMENT_TABLES,
    "adverse_event": "started_on",
    "relapse": "onset_date",
}
"""Every dated record of a subject that `RECORD-AFTER-DEATH` compares with the date of death and
`RECORD-AFTER-END-OF-STUDY` with the end of study (table → its date column: an adverse event by its
onset)."""
END_DATES_AFTER_DEATH: Mapping[str, str] = {"adverse_event": "ended_on", "therapy": "stopped_at"}
"""The end dates of a subject's records that `RECORD-AFTER-DEATH` also compares with the date of death
(table → its end column): an adverse event or a therapy cannot end after the subject died (D-19.727). Not
`RECORD-AFTER-END-OF-STUDY`: an adverse event followed up after the end of study may end later."""
ENDED_BY = tuple(d for d in DISPOSITIONS.values() if d.ends_study and d is not DEATH)
"""The dispositions whose ``disposition_date`` ends the subject's records (`RECORD-AFTER-END-OF-STUDY`):
completed, withdrawn, lost (a death is dated by its fatal adverse event, `RECORD-AFTER-DEATH`)."""
SAMPLE_TABLES = ("pk_sample", "pd_sample")
"""Samples with an ``actual_day`` counted from the infusion (`SAMPLE-DAY-MISMATCH`)."""
SAMPLE_DAY_TOLERANCE = 0.5
"""Largest difference (days) between a sample's ``actual_day`` and its ``sampled_at`` counted from the
infusion's clock time: project choice, the analysis's half-day slack of a visit window (D-19.104); a time
rounded to the hour or a sample drawn a few hours early stays inside, a wrong day or month does not."""
DEFAULT_EARLIEST_DAY = -42
"""Earliest study day of an assessment when no protocol is known (the reference schedule's screening
visit, day -28 with its 14-day window)."""
SAME_DAY_TABLES: Mapping[str, str | None] = {"edss_assessment": None, "visual_acuity": "eye"}
"""Assessments the analysis takes once per subject and day on the site's calendar (table → the further key
within the day: the eye of an acuity; `EDSS-SAME-DAY`, `ACUITY-SAME-DAY`, D-19.1101): the EDSS visit
(`neuro.tables.check_one_edss_a_day`, D-19.1009) and each eye's acuity (`neuro.tables._check_one_eye_a_day`,
D-19.778). Their date column is ``assessed_at``; the visual-acuity form records no chart or correction,
so an eye's acuity is keyed by the eye alone."""
SAME_DAY_SPAN = dt.timedelta(days=2)
"""Longer than any two instants of one site day can be apart (a 25-hour day at a change of clock, and a
00:00:00Z read as the date typed up to 12 hours later west of UTC, `typed_site_moment`): the import's
vectorised pre-filter of `_same_day_rows` keeps the rows of a subject (and eye) within it of another."""


CheckFunction = Callable[
    ["SubjectRecords", "Protocol | None", dt.date], Iterator[tuple[Record, str, Any, str]]
]


def _dates_in_future(columns: Mapping[str, Sequence[str]], what: str) -> CheckFunction:
    """The check that each date (or date-time, by its date on the site's calendar) of `columns` (table → its
    date columns; the subject table: the subject row) is on or before today (`what`: why it cannot be
    later). `today` is the subject's site's today (`run_edit_checks`); the comparison is
    `cartrial.columns.after_site_today` (D-19.613)."""

    def check(
        records: SubjectRecords, protocol: Protocol | None, today: dt.date
    ) -> Iterator[tuple[Record, str, Any, str]]:
        for table, names in columns.items():
            if table == "subject":
                subject = records.subject
                rows = [] if subject is None else [subject]
            else:
                rows = records.of(table)
            for record in rows:
                for name in names:
                    if after_site_today(record.get(name), records.time_zone, today):
                        message = f"{table}.{name} ({_where(record)}) is after today: {what}"
                        yield record, name, record.get(name), message

    return check


def _subject_date_in_future(field: str, what: str) -> CheckFunction:
    """The check that the subject row's date `field` is on or before today (`what`: why it cannot be
    later)."""
    return _dates_in_future({"subject": (field,)}, what)


_consent_in_future = _subject_date_in_future("consent_date", "a consent cannot be dated in the future")
_end_of_study_in_future = _subject_date_in_future(
    "disposition_date",
    "the end of a subject's study cannot be dated in the future; give the date it happened, or leave the "
    "subject on study until then",
)
FUTURE_DATED: Mapping[str, tuple[str, ...]] = {
    "subject": ("birth_date", "diagnosis_date"),
    "screening_result": ("screened_on",),
    "lymphodepletion_administration": ("administered_on",),
    "infusion": ("infused_at", "leukapheresis_on"),
    **{table: (column,) for table, column in ASSESSMENT_TABLES.items() if table != "therapy"},
    "therapy": ("given_at", "stopped_at"),
    "adverse_event": ("started_on", "ended_on"),
    "relapse": ("onset_date",),
}
"""Every date of a subject's records that `DATE-FUTURE` compares with today (table → its date columns): all
but the consent (`CONSENT-FUTURE`, hard) and the end of study (`END-OF-STUDY-FUTURE`)."""
_date_in_future = _dates_in_future(
    FUTURE_DATED, "a record is entered once it happened; give the date it happened (a typing slip?)"
)


def _dated_before_consent(columns: Sequence[tuple[str, str]], why: str = "") -> CheckFunction:
    """The check that each date (or date-time, by its date on the site's calendar) of `columns` ((table,
    column) pairs) is on or after the subject's consent (`why`: what a date before it means, appended to
    the message)."""

    def check(
        records: SubjectRecords, protocol: Protocol | None, today: dt.date
    ) -> Iterator[tuple[Record, str, Any, str]]:
        subject = records.subject
        consent = None if subject is None else subject.get("consent_date")
        if subject is None or not isinstance(consent, dt.date):
            return
        for table, column in columns:
            for record in records.of(table):
                day = records.typed_day(record.get(column))  # the date the site meant (D-19.618)
                if day is not None and day < consent:
                    yield (
                        record,
                        column,
                        record.get(column),
                        f"{table}.{column} is before the subject's consent ({_where(subject)}, "
                        f"subject.consent_date){why}",
                    )

    return check


_infusion_before_consent = _dated_before_consent([("infusion", "infused_at")])
_procedure_before_consent = _dated_before_consent(
    [("infusion", "leukapheresis_on"), ("lymphodepletion_administration", "administered_on")],
    ": a trial procedure before consent is a protocol deviation; correct the date, or confirm it",
)
_adverse_event_before_consent = _dated_before_consent(
    [("adverse_event", "started_on")],
    ": adverse events are collected from consent; a condition that began before it is medical history (or "
    "the onset is mistyped)",
)


def _seriousness_criteria(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for event in records.of("adverse_event"):
        serious = event.get("serious")
        why = criteria_disagreement(serious, {name: event.get(name) for name in CRITERIA_FIELDS})
        if why is not None:
            yield (
                event,
                "serious",
                serious,
                "adverse_event.serious and its seriousness criteria "
                f"({', '.join(CRITERIA_FIELDS)}) disagree: {why}; tick each criterion the event meets, "
                "or correct serious",
            )


def _fatal_serious(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for event in records.of("adverse_event"):
        found = fatal_disagreement(
            event.get("serious"),
            event.get("serious_death"),
            event.get("outcome"),
            event.get("grade"),
            event.get("category"),
        )
        if found is not None:
            field, why = found
            yield (
                event,
                field,
                event.get(field),
                f"adverse_event.{field} disagrees with the event's outcome and grade: {why}; an event that "
                "results in death is serious by that criterion (ICH E2A): correct serious, serious_death, "
                "outcome or grade",
            )


def _lymphodepletion_day(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    infused = records.infusion_day()
    if infused is None:
        return
    first = next(r for r in records.of("infusion") if records.day(r.get("infused_at")) == infused)
    for dose in records.of("lymphodepletion_administration"):
        day = _day(dose.get("administered_on"))
        relative = dose.get("day_relative_to_infusion")
        if day is None:
            continue
        if day > infused:
            yield (
                dose,
                "administered_on",
                dose.get("administered_on"),
                "lymphodepletion_administration.administered_on is after the subject's infusion "
                f"({_where(first)}, infusion.infused_at): lymphodepletion precedes the CAR-T infusion; "
                "dates swapped?",
            )
        elif isinstance(relative, int) and (day - infused).days != relative:
            yield (
                dose,
                "day_relative_to_infusion",
                relative,
                "lymphodepletion_administration.day_relative_to_infusion does not match "
                "lymphodepletion_administration.administered_on counted from the subject's infusion "
                f"({_where(first)}, infusion.infused_at, its day on the site's calendar = day 0): "
                "correct either",
            )


def _protocol_agent(protocol: Protocol | None, drug: Any) -> Any:
    """The protocol's lymphodepletion agent a recorded `drug` is (None: no regimen, or a drug it does not
    name): its name, case and surrounding spaces aside, or one word of the recorded text (``fludarabine
    phosphate`` is fludarabine)."""
    regimen = None if protocol is None else protocol.lymphodepletion
    if regimen is None or not isinstance(drug, str):
        return None
    text = drug.strip().lower()
    for agent in regimen.agents:
        name = agent.name.strip().lower()
        if text == name or name in text.split():
            return agent
    return None


def _positive_number(value: Any) -> float | None:
    """`value` as a float when it is a number above 0 (a bool is not a dose), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return None
    return float(value)


def _near_any(value: float, allowed: Iterable[float]) -> bool:
    """`value` within `LD_DOSE_TOLERANCE` (inclusive) of one of the `allowed` doses."""
    return any(abs(value - a) <= LD_DOSE_TOLERANCE * a * (1 + 1e-9) for a in allowed)


def _lymphodepletion_dose(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    """LD-DOSE-PROTOCOL: the dose per m² against the protocol's (the full dose, each renal tier's share, and
    with a BSA recorded the capped daily dose over that BSA); with a BSA recorded, the dose in mg against
    the daily doses `Lymphodepletion.allowed_daily_doses_mg` allows (the BSA and daily caps applied, the one
    rule of `lymphodepletion_doses`; D-19.996). One query a record: the dose per m² first."""
    regimen = None if protocol is None else protocol.lymphodepletion
    for dose in records.of("lymphodepletion_administration"):
        agent = _protocol_agent(protocol, dose.get("drug"))
        if agent is None or regimen is None:
            continue
        per_m2 = _positive_number(dose.get("dose_mg_per_m2"))
        mg = _positive_number(dose.get("dose_mg"))
        bsa = _positive_number(dose.get("body_surface_area_m2"))
        nominal = agent.allowed_doses_mg_per_m2()
        allowed_mg = () if bsa is None else regimen.allowed_daily_doses_mg(agent, bsa)
        doses = " or ".join(f"{a:g}" for a in nominal)
        renal = " (the renal tiers' reduced doses included)" if len(nominal) > 1 else ""
        caps = (
            " or its capped daily dose on the recorded body_surface_area_m2"
            if regimen.max_bsa_m2 is not None or agent.max_daily_dose_mg is not None
            else ""
        )
        capped = ", within the protocol's caps" if caps else ""
        protocol_dose = f"the protocol's {agent.name} dose of {doses} mg/m² per day{renal}{caps}"
        if per_m2 is not None:
            effective = () if bsa is None else tuple(a / bsa for a in allowed_mg)
            if not _near_any(per_m2, (*nominal, *effective)):
                yield (
                    dose,
                    "dose_mg_per_m2",
                    dose.get("dose_mg_per_m2"),
                    f"lymphodepletion_administration.dose_mg_per_m2 differs by more than "
                    f"{LD_DOSE_TOLERANCE:.0%} from {protocol_dose}: a unit or a digit slipped?",
                )
                continue
        if mg is not None and bsa is not None and not _near_any(mg, allowed_mg):
            yield (
                dose,
                "dose_mg",
                dose.get("dose_mg"),
                f"lymphodepletion_administration.dose_mg differs by more than {LD_DOSE_TOLERANCE:.0%} from "
                f"the protocol's {agent.name} daily dose in mg for the recorded body_surface_area_m2 "
                f"({doses} mg/m² per day × the body surface area{renal}{capped}): a unit or a digit slipped?",
            )


def _infusion_weight_change(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    subject = records.subject
    baseline = None if subject is None else _weight_of(subject)
    if subject is None or baseline is None:
        return
    for infusion in records.of("infusion"):
        weight = _weight_of(infusion)
        if weight is None:
            continue
        if not 1 / WEIGHT_CHANGE_FACTOR <= weight / baseline <= WEIGHT_CHANGE_FACTOR:
            yield (
                infusion,
                "weight_kg",
                infusion.get("weight_kg"),
                f"infusion.weight_kg differs from the subject's weight at enrolment ({_where(subject)}, "
                f"subject.weight_kg) by a factor above {WEIGHT_CHANGE_FACTOR:g}: the dose is computed from "
                "it; a weight in pounds (× 2.2)?",
            )


def _infusion_before_birth(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    born, what = records.birth()
    subject = records.subject
    if born is None or subject is None:
        return
    for infusion in records.of("infusion"):
        day = records.typed_day(infusion.get("infused_at"))  # the date the site meant (D-19.622)
        if day is not None and before_birth(day, born):  # strictly before (D-19.1206)
            yield (
                infusion,
                "infused_at",
                infusion.get("infused_at"),
                f"infusion.infused_at is before the subject's birth ({_where(subject)}, subject.{what})",
            )


def _second_infusion(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    infusions = records.of("infusion")
    if len(infusions) < 2:
        return
    for infusion in infusions:
        others = [_where(other) for other in infusions if other is not infusion]
        yield (
            infusion,
            "infused_at",
            infusion.get("infused_at"),
            f"a second infusion of this subject (the other infusion: {', '.join(others)})",
        )


def _relapse_before_birth(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    born, what = records.birth()
    subject = records.subject
    if born is None or subject is None:
        return
    for relapse in records.of("relapse"):
        onset = _day(relapse.get("onset_date"))
        if onset is not None and before_birth(onset, born):  # strictly before (D-19.1206)
            yield (
                relapse,
                "onset_date",
                onset,
                f"relapse.onset_date is before the subject's birth ({_where(subject)}, subject.{what})",
            )


def _dose_ten_times(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    if protocol is None:
        return
    levels = {level.level: level for level in protocol.dose_levels}
    for infusion in records.of("infusion"):
        level = levels.get(infusion.get("dose_level"))
        cells = infusion.get("cells_per_kg")
        if level is None or not isinstance(cells, int | float):
            continue
        if cells >= DOSE_FACTOR * level.cells_per_kg:
            yield (
                infusion,
                "cells_per_kg",
                cells,
                f"infusion.cells_per_kg is at least {DOSE_FACTOR:g}× the protocol dose of dose level "
                f"{level.level} ({level.cells_per_kg:g} CAR+ cells/kg)",
            )


def _weight_of(record: Record) -> float | None:
    weight = record.get("weight_kg")
    return float(weight) if isinstance(weight, int | float) and weight > 0 else None


def _weight(records: SubjectRecords, infusion: Record) -> float | None:
    own = _weight_of(infusion)
    if own is not None:
        return own
    subject = records.subject
    weight = None if subject is None else subject.get("weight_kg")
    return float(weight) if isinstance(weight, int | float) and weight > 0 else None


def _protocol_dose(
    protocol: Protocol | None, infusion: Record, per_kg: float, weight: float
) -> DoseCalculation | None:
    """The total the protocol derives for this infusion's recorded cells/kg and weight: `dose_for` (the one
    derivation: the protocol's ``dose_rounding``, then the ``max_total_cells`` cap) on the infusion's dose
    level with the recorded cells/kg. The level's weight bounds are left out (they say which patients the
    level is for, not how the total follows from the weight); without a protocol or a known level, a level
    without a cap. None when the numbers give no dose (a weight outside 1-500 kg, cells/kg out of range)."""
    from pydantic import ValidationError

    from cartrial.errors import CartrialError
    from cartrial.protocol.dosing import DoseLevel, dose_for

    levels = {} if protocol is None else {level.level: level for level in protocol.dose_levels}
    level = levels.get(infusion.get("dose_level"))
    described = {"level": 1, "label": "as recorded"} if level is None else level.model_dump()
    try:
        recorded = DoseLevel(
            **{**described, "cells_per_kg": per_kg, "min_weight_kg": None, "max_weight_kg": None}
        )
        return dose_for(recorded, weight, rounding=None if protocol is None else protocol.dose_rounding)
    except (ValidationError, CartrialError):
        return None


def _total_mismatch(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for infusion in records.of("infusion"):
        per_kg, total = infusion.get("cells_per_kg"), infusion.get("total_car_t_cells")
        weight = _weight(records, infusion)
        if not isinstance(per_kg, int | float) or not isinstance(total, int | float) or weight is None:
            continue
        dose = _protocol_dose(protocol, infusion, float(per_kg), weight)
        if dose is None:
            continue
        expected = dose.total_cells
        if expected > 0 and abs(total - expected) > TOTAL_TOLERANCE * expected * (
            1 + 1e-9
        ):  # ±10 % inclusive
            weight_from = "infusion.weight_kg" if _weight_of(infusion) is not None else "subject.weight_kg"
            derivation = f"infusion.cells_per_kg × {weight_from}"
            if dose.cap_applied:
                # the cap is the protocol's constant of the level (not a record value)
                derivation += (
                    f", capped at max_total_cells of dose level {infusion.get('dose_level')} = {expected:g}"
                )
            elif expected != dose.uncapped_total_cells:
                derivation += ", rounded by the protocol's dose_rounding"
            yield (
                infusion,
                "total_car_t_cells",
                total,
                f"infusion.total_car_t_cells differs by more than {TOTAL_TOLERANCE:.0%} from the protocol "
                f"dose ({derivation})",
            )


def _adult_under_30_kg(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    subject = records.subject
    if subject is None:
        return
    consent, year = subject.get("consent_date"), subject.get("birth_year")
    born = subject.get("birth_date")
    if isinstance(born, dt.date) and isinstance(consent, dt.date):
        if before_birth(consent, born):  # refused at import (a row rule of the subjects form)
            return
        # completed years by the one rule of the screening (a 29 February birthday is reached on 28 February
        # in a common year, `completed_years`; D-19.1016)
        age = completed_years(born, consent)
        born_field = "birth_date"
    elif isinstance(year, int) and isinstance(consent, dt.date):
        age = consent.year - year - 1  # at least this old
        born_field = "birth_year"
    else:
        return
    if age < ADULT_AGE_YEARS:
        return
    for record in (subject, *records.of("infusion")):
        weight = record.get("weight_kg")
        if isinstance(weight, int | float) and 0 < weight < MIN_ADULT_WEIGHT_KG:
            yield (
                record,
                "weight_kg",
                weight,
                f"{record.table}.weight_kg is under {MIN_ADULT_WEIGHT_KG:g} kg for an adult (at least "
                f"{ADULT_AGE_YEARS} years at consent by subject.consent_date and subject.{born_field}, "
                f"{_where(subject)})",
            )


@cache
def _canonical_factor(analyte: str, unit: str) -> tuple[float, str] | None:
    """(factor to the canonical unit, canonical unit) of a haematology analyte, None when not graded."""
    from cartrial.grading.ctcae import CANONICAL_UNIT, Analyte, unit_factor

    if analyte not in PLAUSIBLE_LAB_RANGE:
        return None
    try:
        return unit_factor(analyte, unit), CANONICAL_UNIT[Analyte(analyte)]
    except InputError:
        return None


def lab_slip(analyte: Any, value: Any, unit: Any) -> str | None:
    """The LAB-UNIT-SLIP message for one lab value, or None."""
    if not isinstance(value, int | float) or not isinstance(unit, str) or not isinstance(analyte, str):
        return None
    found = _canonical_factor(analyte.lower(), unit)
    if found is None:
        return None
    factor, target = found
    canonical = value * factor
    low, high = PLAUSIBLE_LAB_RANGE[analyte.lower()]
    if not _plausible(analyte, canonical):
        # the dictionary's name of the analyte and its range are facts of the lab dictionary, not values
        return (
            f"lab_result.value in lab_result.unit, converted to {target}, is far outside the plausible range "
            f"of {analyte.lower()} ({low:g}–{high:g} {target}): a unit slip?"
        )
    return None


def _plausible(analyte: str, canonical: float) -> bool:
    low, high = PLAUSIBLE_LAB_RANGE[analyte.lower()]
    return not (canonical > LAB_SLIP_FACTOR * high or (low > 0 and 0 <= canonical < low))


def _lab_unit_slip(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for lab in records.of("lab_result"):
        message = lab_slip(lab.get("analyte"), lab.get("value"), lab.get("unit"))
        if message is not None:
            yield lab, "value", lab.get("value"), message


@cache
def likely_lab_test(analyte: str) -> str | None:
    """The known lab test (`cartrial.protocol.lab_tests.LAB_TESTS`) that `analyte`, not itself a known
    test, most likely misspells (similarity at least `LAB_TEST_SIMILARITY`), or None."""
    import difflib

    if analyte in LAB_TESTS:
        return None
    close = difflib.get_close_matches(analyte.lower(), LAB_TESTS, n=1, cutoff=LAB_TEST_SIMILARITY)
    return close[0] if close else None


def _lab_test_misspelt(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for lab in records.of("lab_result"):
        analyte = lab.get("analyte")
        known = likely_lab_test(analyte) if isinstance(analyte, str) else None
        if known is not None:
            yield (
                lab,
                "analyte",
                analyte,
                "lab_result.analyte is not a lab test of the dictionary but close to one: did you mean "
                f"{known!r}? As entered it is stored but not graded, and exported with a test code made from "
                "its name",
            )


def _flagged(value: Any) -> bool:
    """Whether a BLQ flag is set (True; blank and False are not)."""
    return value is not None and bool(value)


def pk_value_below_lloq(value: Any, lloq: Any, blq: Any) -> bool:
    """A quantified PK value (not flagged BLQ) below the sample's LLOQ (`PK-VALUE-BELOW-LLOQ`)."""
    return (
        not _flagged(blq)
        and isinstance(value, int | float)
        and isinstance(lloq, int | float)
        and value < lloq
    )


def pk_blq_without_lloq(lloq: Any, blq: Any) -> bool:
    """A PK sample flagged BLQ without its LLOQ (`PK-BLQ-WITHOUT-LLOQ`)."""
    return _flagged(blq) and lloq is None


def _pk_value_below_lloq(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for sample in records.of("pk_sample"):
        if pk_value_below_lloq(sample.get("value"), sample.get("lloq"), sample.get("blq")):
            yield (
                sample,
                "value",
                sample.get("value"),
                "pk_sample.value is below the sample's pk_sample.lloq but the sample is not flagged BLQ "
                "(pk_sample.blq): the analysis reads it as a concentration, or as BLQ under the LLOQ/2 rule; "
                "set blq, or correct the value or the LLOQ",
            )


def _pk_blq_without_lloq(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for sample in records.of("pk_sample"):
        if pk_blq_without_lloq(sample.get("lloq"), sample.get("blq")):
            yield (
                sample,
                "lloq",
                None,
                "pk_sample.blq flags the sample below the LLOQ but pk_sample.lloq is blank: the LLOQ/2 rule "
                "cannot be applied and the CDISC export has no PCLLOQ; give the assay's LLOQ",
            )


def pk_unit_dimension(analyte: Any, unit: Any) -> str | None:
    """Why a PK sample's unit is queried (`PK-UNIT-DIMENSION`), None when it is not: the unit of a known
    analyte (`PK_ANALYTE_UNITS`) is of no dimension the analysis converts, or of a dimension the analyte
    is not accepted in (`cartrial.kinetics.units.accepted_dimensions`: its declared unit's, and copies per
    volume for the transgene, which the analysis summarises apart and the CDISC export gives its own
    parameter; D-19.781, D-19.783, D-19.784). A unit of an accepted dimension (cells/mL for CAR-T cells,
    copies/ng gDNA or copies/mL for the transgene) is not queried; a blank unit, or an analyte without a
    declared unit, is not judged here.

    >>> pk_unit_dimension("car_t_cells", "cells/mL") is None, pk_unit_dimension("car_t_cells", "cells/µL")
    (True, None)
    >>> pk_unit_dimension("car_transgene", "copies/mL") is None
    True
    >>> pk_unit_dimension("car_t_cells", "copies/mL")
    'of a dimension not accepted for the analyte (copies per volume)'
    """
    from cartrial.kinetics.units import accepted_dimensions, standard_conc_unit

    accepted = accepted_dimensions(analyte)
    if not accepted:
        return None
    if not isinstance(unit, str) or not unit.strip():
        return None
    dimension = standard_conc_unit(unit).dimension
    if dimension in accepted:
        return None
    if dimension:
        return f"of a dimension not accepted for the analyte ({dimension})"
    return "of no dimension the analysis converts"


def pk_unit_allowed(analyte: str) -> str:
    """What a PK sample's unit may be for a known `analyte`, for the query (`PK-UNIT-DIMENSION`): each
    accepted dimension with its spellings (`cartrial.kinetics.units.unit_spellings`)."""
    from cartrial.kinetics.units import STANDARD_CONC_UNITS, accepted_dimensions, unit_spellings

    parts = []
    for i, dimension in enumerate(accepted_dimensions(analyte)):
        spellings = [u for u in unit_spellings(dimension) if "^" not in u and not u.endswith("l")]
        apart = "" if i == 0 else ", summarised apart"
        parts.append(
            f"{dimension}: {', '.join(spellings[:-1])} or {spellings[-1]} (converted by the analysis into "
            f"{STANDARD_CONC_UNITS[dimension]}{apart})"
        )
    return "; or ".join(parts)


def _pk_unit_dimension(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    for sample in records.of("pk_sample"):
        analyte = sample.get("analyte")
        why = pk_unit_dimension(analyte, sample.get("unit"))
        if why is not None:
            yield (
                sample,
                "unit",
                sample.get("unit"),
                f"pk_sample.unit of this sample is {why}, not that of the analyte's declared unit: "
                "the analysis summarises it apart from the study's other samples of the analyte, and the "
                "CDISC export refuses it beside them; allowed for the analyte: "
                f"{pk_unit_allowed(str(analyte))}; confirm the unit (another assay or matrix) or correct it",
            )


def _first_infusion(records: SubjectRecords) -> Record | None:
    """The subject's first infusion with a date-time (day 0 and the clock time days are counted from)."""
    dated = [r for r in records.of("infusion") if isinstance(r.get("infused_at"), dt.datetime)]
    return min(dated, key=lambda r: _aware(r.get("infused_at"))) if dated else None


def _zone(name: str | None) -> dt.tzinfo:
    """The tzinfo of an IANA zone name (UTC for None or a name the zoneinfo database does not know)."""
    return (time_zone_of(name) if name else None) or dt.UTC


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _sample_span_days(moment: dt.datetime, zone: dt.tzinfo, infused: dt.datetime) -> tuple[float, float]:
    """The days from `infused` (aware) to the first and the last moment a sample's ``sampled_at`` stands
    for (`SAMPLE-DAY-MISMATCH`, D-19.1347): a date typed without a time by the one rule
    (`cartrial.columns.typed_site_moment` reads the instant as another: 00:00:00Z west of UTC) is any moment
    of that date on the site's clock (`zone`), its 00:00 to the next day's 00:00 (23 or 25 hours at a
    change of clock); any other instant is itself (both ends equal)."""
    instant = _aware(moment)
    typed = typed_site_moment(instant, zone)
    day = dt.timedelta(days=1)
    if typed == instant:  # aware datetimes compare as instants: the same moment, a real time
        elapsed = (instant - infused) / day
        return elapsed, elapsed
    start = typed.astimezone(dt.UTC)
    end = dt.datetime.combine(typed.date() + day, dt.time(0), zone).astimezone(dt.UTC)
    return (start - infused) / day, (end - infused) / day


def _sample_day_mismatch(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    first = _first_infusion(records)
    if first is None:
        return
    infused = _aware(first.get("infused_at"))
    zone = _zone(records.time_zone)
    for table in SAMPLE_TABLES:
        for sample in records.of(table):
            actual, moment = sample.get("actual_day"), sample.get("sampled_at")
            if not isinstance(actual, int | float) or not isinstance(moment, dt.datetime):
                continue
            earliest, latest = _sample_span_days(moment, zone, infused)
            if actual < earliest - SAMPLE_DAY_TOLERANCE or actual > latest + SAMPLE_DAY_TOLERANCE:
                yield sample, "actual_day", actual, _sample_day_text(table, first, earliest != latest)


def _sample_day_text(table: str, infusion: Record, date_only: bool) -> str:
    """The SAMPLE-DAY-MISMATCH query text, no value quoted: a real time is compared as that instant, a date
    typed without a time (`_sample_span_days`: a span) as its whole date on the site's clock (D-19.1347,
    D-19.1369)."""
    where = f"counted from the subject's infusion ({_where(infusion)}, infusion.infused_at)"
    if date_only:
        return (
            f"{table}.actual_day is more than {SAMPLE_DAY_TOLERANCE:g} day outside {table}.sampled_at's date "
            "on the site's clock (a date without a time: from its 00:00 to the next day's 00:00), "
            f"{where}: the NCA and ADaM read the day, SDTM the date; correct either"
        )
    return (
        f"{table}.actual_day differs by more than {SAMPLE_DAY_TOLERANCE:g} day from {table}.sampled_at "
        f"{where}: the NCA and ADaM read the day, SDTM the date-time; correct either"
    )


def earliest_assessment_day(protocol: Protocol | None) -> int:
    """The earliest study day an assessment may have: the protocol's earliest visit minus its window."""
    if protocol is None:
        return DEFAULT_EARLIEST_DAY
    return min(visit.earliest_day for visit in protocol.schedule.visits)


def _assessment_long_before_infusion(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    infused = records.infusion_day()
    if infused is None:
        return
    first = next(r for r in records.of("infusion") if records.day(r.get("infused_at")) == infused)
    earliest = earliest_assessment_day(protocol)
    limit = infused + dt.timedelta(days=earliest)
    for table, column in ASSESSMENT_TABLES.items():
        for record in records.of(table):
            day = records.day(record.get(column))
            if day is not None and day < limit:
                yield (
                    record,
                    column,
                    record.get(column),
                    f"{table}.{column} is before the protocol's earliest visit, day {earliest} (its day and "
                    f"window) of the subject's infusion ({_where(first)}, infusion.infused_at)",
                )


def _same_site_day(table: str, what: str, why: str) -> CheckFunction:
    """The check that the subject has one record of `table` (`SAME_DAY_TABLES`: and of its further key,
    the eye) per day on the site's calendar (`SubjectRecords.day`, the site day of the analysis' readers:
    `cartrial.columns.typed_site_moment`), grouped by the one rule of the analysis
    (`cartrial.columns.same_site_day_groups`; D-19.1101). Each record of a day with two or more is found
    at its ``assessed_at``, naming the earliest other record of the day by its location (`_where`), never
    a value; `run_edit_checks` reports the records being written (every row of the day in one import, the
    new record of a later import or a single write), so a stored partner is named, not queried again.
    Which of them is wrong is the site's answer, and the query stays open while the day holds two
    (`reconcile_queries` re-judges it on the subject's stored records of `table`). `what`: the other
    record in words; `why`: what the analysis does with the day."""
    within_name = SAME_DAY_TABLES[table]

    def check(
        records: SubjectRecords, protocol: Protocol | None, today: dt.date
    ) -> Iterator[tuple[Record, str, Any, str]]:
        # the dated records by instant, as `_first_infusion` orders infusions (an undated one has no day):
        # the earliest other, whatever order they come in
        dated = [r for r in records.of(table) if isinstance(r.get("assessed_at"), dt.datetime)]
        if len(dated) < 2:
            return
        ordered = sorted(dated, key=lambda r: _aware(r.get("assessed_at")))
        groups = same_site_day_groups(
            [records.subject_id] * len(ordered),
            [records.day(r.get("assessed_at")) for r in ordered],
            None if within_name is None else [r.get(within_name) for r in ordered],
        )
        for group in groups:
            for i in group:
                record, other = ordered[i], ordered[group[1] if i == group[0] else group[0]]
                yield (
                    record,
                    "assessed_at",
                    record.get("assessed_at"),
                    f"{table}.assessed_at is on the same day on the site's calendar as {what} "
                    f"({_where(other)}): {why}; correct the date or delete one of them",
                )

    return check


_edss_same_day = _same_site_day(
    "edss_assessment",
    "another EDSS assessment of the subject",
    "the analysis takes one EDSS per subject and day (baseline, follow-up and confirmation compare days) "
    "and refuses the day's later record, so analyse, report and export cdisc stop",
)
_acuity_same_day = _same_site_day(
    "visual_acuity",
    "another acuity of the same eye of the subject",
    "the analysis pairs both eyes once per day (the visual FS from acuity, the acuity outcomes) and "
    "refuses the day's later record of the eye, so analyse, report and export cdisc stop",
)


def _where(record: Record) -> str:
    """Where a record is, without its values: file and row of an imported one, table and id of a stored
    one."""
    if record.file is not None:
        return f"{record.file} row {record.row}"
    if record.record_id is not None:
        return f"{record.table} record {record.record_id}"
    return f"the {record.table} record being written"


def _death_field(event: Record) -> str:
    """The date field of a fatal adverse event that gives the date of death (`death_day`)."""
    return "ended_on" if event.get("ended_on") not in (None, "") else "started_on"


def _dated_after(
    records: SubjectRecords, last: dt.date, ends: Mapping[str, str] | None = None
) -> Iterator[tuple[Record, str]]:
    """(record, its date column) of every dated record of the subject (`DATED_TABLES`) on a day after
    `last` (by the date the site meant, `SubjectRecords.typed_day`: a bare date, 00:00:00Z, as typed, any
    other instant on the site's clock; D-19.607, D-19.618): the one scan of
    `RECORD-AFTER-DEATH` and `RECORD-AFTER-END-OF-STUDY`. `ends`: also these end columns (table → column,
    `END_DATES_AFTER_DEATH`), after the record's date column (D-19.727)."""
    for table, column in DATED_TABLES.items():
        columns = (column,) if ends is None or table not in ends else (column, ends[table])
        for record in records.of(table):
            for name in columns:
                day = records.typed_day(record.get(name))  # the date the site meant (D-19.618)
                if day is not None and day > last:
                    yield record, name


def _record_after_death(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    death = records.death()
    if death is None:
        return
    died, fatal = death
    for record, column in _dated_after(records, died, END_DATES_AFTER_DEATH):
        if (
            column == END_DATES_AFTER_DEATH["adverse_event"]
            and record.table == "adverse_event"
            and is_fatal(record.get("grade"), record.get("category"), record.get("outcome"))
        ):
            continue  # a fatal event's end is a date of death (D-19.83), not a record after it (D-19.727)
        yield (
            _as_checked(record, fatal),
            column,
            record.get(column),
            f"{record.table}.{column} is after the subject's date of death (the fatal adverse event at "
            f"{_where(fatal)}, adverse_event.{_death_field(fatal)}): correct the record's date or "
            "the fatal adverse event",
        )


def _record_after_end_of_study(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    ended = records.end_of_study()
    if ended is None:
        return
    last, subject = ended
    for record, column in _dated_after(records, last):
        if record.table == "adverse_event" and is_fatal(
            record.get("grade"), record.get("category"), record.get("outcome")
        ):
            continue  # a death learnt in follow-up after the end of study (D-19.101, D-19.124)
        yield (
            _as_checked(record, subject),
            column,
            record.get(column),
            f"{record.table}.{column} is after the subject's end of study ({_where(subject)}, "
            "subject.disposition_date): correct the record's date, the disposition date, or the "
            "disposition",
        )


def _death_date_mismatch(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    subject, death = records.subject, records.death()
    if subject is None or death is None or parse_disposition(subject.get("disposition")) is not DEATH:
        return
    ended = _day(subject.get("disposition_date"))
    if ended is None or ended == death[0]:
        return
    fatal = death[1]
    # also when an adverse event written now moves the date of death (another event becomes the earliest)
    written = fatal if fatal.new else next((e for e in records.of("adverse_event") if e.new), subject)
    yield (
        _as_checked(subject, written),
        "disposition_date",
        subject.get("disposition_date"),
        f"subject.disposition_date of the death differs from the date of death of the fatal adverse event "
        f"({_where(fatal)}, adverse_event.{_death_field(fatal)}): the two records of one death disagree "
        "(the analysis and the CDISC export date the death by the adverse event); correct either",
    )


def _death_dates_differ(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    """Each fatal adverse event whose date of death (`death_day`) is not the subject's (the earliest,
    `SubjectRecords.death`): one subject dies once (D-19.794). When the earliest is dated by its onset only
    (no end date), its missing end date is queried instead, once: a fatal event's end is the date of death,
    and the later dates may well be right. A fatal event whose onset after the death dates it (no end) is
    left to `RECORD-AFTER-DEATH`, which queries that field already (one query per field)."""
    death = records.death()
    if death is None:
        return
    died, first = death
    for event in records.of("adverse_event"):
        if event is first or not is_fatal(event.get("grade"), event.get("category"), event.get("outcome")):
            continue
        day = death_day(event.get("started_on"), event.get("ended_on"))
        if day is None or day == died:
            continue
        column = _death_field(event)
        if _death_field(first) == "started_on":  # the earliest has no end date: that is what to query
            yield (
                _as_checked(first, event),
                "ended_on",
                None,
                "this fatal adverse event has no end date, so its onset dates the subject's death (the "
                "earliest; the analysis and the CDISC export date the death by it), while the fatal adverse "
                f"event at {_where(event)} (adverse_event.{column}) gives a later date of death: a subject "
                "dies once; record this event's end date (the date of death), or correct the other event",
            )
            return
        if column == "started_on":
            typed = records.typed_day(event.get("started_on"))
            if typed is not None and typed > died:
                continue  # RECORD-AFTER-DEATH queries this onset after the death (one query per field)
        yield (
            _as_checked(event, first),
            column,
            event.get(column),
            f"adverse_event.{column} of this fatal adverse event gives another date of death than the fatal "
            f"adverse event at {_where(first)} (adverse_event.{_death_field(first)}), the subject's date of "
            "death (the earliest; the analysis and the CDISC export date the death by it): a subject dies "
            "once; correct the date of either, or the outcome of the event that was not fatal",
        )


def _as_checked(record: Record, cause: Record) -> Record:
    """`record`, reported when it or the record that makes the check fire (`cause`) is new: a stored
    record is reported as written (located by table and id), as a partial re-import restates records."""
    if record.new or not cause.new:
        return record
    return Record(record.table, record.values, True, record_id=record.record_id)


def _history_date(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    """The dates of a subject's histories that are no history date (`neuro.tables.history_date_faults`, the
    one reader; a history that is no list of entries is the JSON field's problem): entry and key named, never
    the value (a whole history; D-19.1216, D-19.1218)."""
    from cartrial.neuro.tables import HISTORY_DATE_ALLOWED, HISTORY_DATE_KEYS
    from cartrial.store.fields import history_faults

    subject = records.subject
    if subject is None:
        return
    for column in HISTORY_DATE_KEYS:
        for k, key in history_faults(subject.get(column), column):
            yield (
                subject,
                column,
                None,
                f"{column} entry {k}: {key} is no date (allowed: {HISTORY_DATE_ALLOWED}); the analysis skips "
                "it and the CDISC export refuses it: correct it on the subject's record",
            )


def _death_without_fatal_ae(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    subject = records.subject
    if subject is None or records.death() is not None:
        return
    if parse_disposition(subject.get("disposition")) is DEATH:
        # also when an adverse event written now leaves the subject without a fatal one (made non-fatal)
        written = next((event for event in records.of("adverse_event") if event.new), subject)
        yield (
            _as_checked(subject, written),
            "disposition",
            subject.get("disposition"),
            "subject.disposition is death but no fatal adverse event is recorded for the subject (grade 5, "
            "category death or outcome fatal): record the fatal adverse event, which dates the death "
            "(without it the analysis has no date of death and DM.DTHFL stays blank)",
        )


def _fatal_ae_disposition(
    records: SubjectRecords, protocol: Protocol | None, today: dt.date
) -> Iterator[tuple[Record, str, Any, str]]:
    subject, death = records.subject, records.death()
    if subject is None or death is None:
        return
    text = subject.get("disposition")
    if text is None or not str(text).strip():
        return
    disposition = parse_disposition(str(text))
    if disposition is DEATH:
        return
    if ended_before_death(disposition, _day(subject.get("disposition_date")), death[0]):
        return  # the study ended first; the death was learnt in follow-up (D-19.92, D-19.124)
    fatal = death[1]
    yield (
        _as_checked(subject, fatal),
        "disposition",
        text,
        f"a fatal adverse event is recorded ({_where(fatal)}, adverse_event.{_death_field(fatal)}) but "
        "subject.disposition is not death and no end of study is dated (subject.disposition_date) before "
        "the date of death: the death ends the subject's study in the analysis and the CDISC export; "
        "record the disposition death, or correct the disposition date or the adverse event",
    )


EDIT_CHECKS: tuple[tuple[EditCheck, CheckFunction], ...] = (
    (
        EditCheck(
            "CONSENT-FUTURE",
            "consent_date on or before today at the subject's site",
            Severity.HARD,
            ICH_CONSENT,
            reads=("subject",),
        ),
        _consent_in_future,
    ),
    (
        EditCheck(
            "END-OF-STUDY-FUTURE",
            "disposition_date on or before today at the subject's site",
            Severity.SOFT,
            "logical date order (an end of study is recorded once it happened; SDTM DS.DSSTDTC, ADSL.EOSDT); "
            + EDC_PRACTICE
            + " (D-19.162)",
        ),
        _end_of_study_in_future,
    ),
    (
        EditCheck(
            "DATE-FUTURE",
            "every other date of a subject's records ("
            + ", ".join(f"{t}.{c}" for t, cs in FUTURE_DATED.items() for c in cs)
            + ") on or before today at the subject's site (a date-time by its date on the site's calendar, "
            "a date typed without a time (00:00:00Z) by that date; UTC without a site time zone)",
            Severity.SOFT,
            "logical date order (a record is entered once it happened); " + EDC_PRACTICE + " (D-19.163)",
        ),
        _date_in_future,
    ),
    (
        EditCheck(
            "INFUSION-BEFORE-CONSENT",
            "infusion on or after the consent date",
            Severity.HARD,
            ICH_CONSENT,
            reads=("subject", "infusion"),
        ),
        _infusion_before_consent,
    ),
    (
        EditCheck(
            "PROCEDURE-BEFORE-CONSENT",
            "leukapheresis_on and lymphodepletion administered_on on or after the consent date",
            Severity.SOFT,
            ICH_CONSENT + " (D-19.167)",
        ),
        _procedure_before_consent,
    ),
    (
        EditCheck(
            "LYMPHODEPLETION-DAY",
            "lymphodepletion administered_on on or before the infusion's day (on the site's calendar, UTC "
            "for a site without a time zone), and equal to it plus day_relative_to_infusion when that is "
            "given",
            Severity.SOFT,
            "logical date order (lymphodepletion precedes the CAR-T infusion, day 0); "
            + EDC_PRACTICE
            + " (D-19.167, D-19.607)",
        ),
        _lymphodepletion_day,
    ),
    (
        EditCheck(
            "LD-DOSE-PROTOCOL",
            f"a lymphodepletion dose within ±{LD_DOSE_TOLERANCE:.0%} of the protocol's dose of that agent "
            "(lymphodepletion.agents: dose_mg_per_m2_per_day, or a renal tier's share of it): dose_mg_per_m2 "
            "against it (or, with body_surface_area_m2, the capped daily dose over that BSA), and dose_mg "
            "with body_surface_area_m2 against the daily dose in mg (max_bsa_m2, max_daily_dose_mg applied as"
            " lymphodepletion_doses); one query a record, dose_mg_per_m2 first; a drug the protocol does not "
            "name, or a protocol without a regimen, is not checked",
            Severity.SOFT,
            "the protocol's lymphodepletion regimen (cartrial.protocol.dosing.LymphodepletionAgent."
            "allowed_doses_mg_per_m2, Lymphodepletion.allowed_daily_doses_mg); "
            + EDC_PRACTICE
            + " (D-19.993, D-19.996)",
        ),
        _lymphodepletion_dose,
    ),
    (
        EditCheck(
            "INFUSION-BEFORE-BIRTH",
            "infusion on or after birth (birth_date, or the birth year)",
            Severity.HARD,
            "logical date order",
            reads=("subject", "infusion"),
        ),
        _infusion_before_birth,
    ),
    (
        EditCheck(
            "INFUSION-ONCE",
            "one CAR-T infusion per subject",
            Severity.HARD,
            "the protocol's single infusion (one dose level per subject; day 0 of every derivation, "
            "cartrial.analysis.populations.infusion_dates)",
            reads=("infusion",),
            among=True,
        ),
        _second_infusion,
    ),
    (
        EditCheck(
            "RELAPSE-BEFORE-BIRTH",
            "relapse onset on or after birth (birth_date, or the birth year)",
            Severity.HARD,
            "logical date order (as cartrial.neuro.tables.parse_relapse_table)",
            reads=("subject", "relapse"),
        ),
        _relapse_before_birth,
    ),
    (
        EditCheck(
            "DOSE-10X",
            f"cells_per_kg below {DOSE_FACTOR:g}× the protocol dose of the dose level",
            Severity.SOFT,
            PROTOCOL_DOSE,
        ),
        _dose_ten_times,
    ),
    (
        EditCheck(
            "TOTAL-CELLS-MISMATCH",
            f"total_car_t_cells within ±{TOTAL_TOLERANCE:.0%} of the protocol dose for cells_per_kg and "
            "weight_kg: cells_per_kg × weight_kg, rounded by the protocol's dose_rounding and capped at the "
            "dose level's max_total_cells (cartrial.protocol.dosing.dose_for, the one derivation)",
            Severity.SOFT,
            "dose arithmetic of a weight-based dose (protocol dose_levels); " + EDC_PRACTICE,
        ),
        _total_mismatch,
    ),
    (
        EditCheck(
            "AE-BEFORE-CONSENT",
            "adverse event onset (started_on) on or after the consent date",
            Severity.SOFT,
            "ICH E6(R3) and ICH E2A: adverse events of a trial participant are collected from informed "
            "consent (an earlier condition is medical history); " + EDC_PRACTICE + " (D-19.169)",
        ),
        _adverse_event_before_consent,
    ),
    (
        EditCheck(
            "AE-SERIOUSNESS-CRITERIA",
            "an adverse event with serious = true has at least one seriousness criterion ticked, and one "
            "with serious = false has none (blank seriousness: not yet assessed, not checked)",
            Severity.SOFT,
            SERIOUSNESS_SOURCE
            + "; FDA expects the criteria whenever AESER = Y; "
            + EDC_PRACTICE
            + " (D-19.328)",
        ),
        _seriousness_criteria,
    ),
    (
        EditCheck(
            "AE-FATAL-SERIOUS",
            "an adverse event with outcome fatal, category death or grade 5 is serious and its death "
            "criterion is not 'no'; the death criterion is not ticked on an event whose outcome says the "
            "patient is alive (blanks: not yet known, not checked)",
            Severity.SOFT,
            SERIOUSNESS_SOURCE
            + "; CTCAE v5.0 (grade 5: death related to the AE); "
            + EDC_PRACTICE
            + " (D-19.333)",
        ),
        _fatal_serious,
    ),
    (
        EditCheck(
            "INFUSION-WEIGHT-CHANGE",
            f"the infusion's weight_kg within a factor {WEIGHT_CHANGE_FACTOR:g} of the subject's weight_kg "
            "(either way)",
            Severity.SOFT,
            "the weight-based dose (cells/kg × weight_kg, cartrial.protocol.dosing.dose_for); unit slip "
            "kg/lb (× 2.2046); " + EDC_PRACTICE + " (D-19.169)",
        ),
        _infusion_weight_change,
    ),
    (
        EditCheck(
            "ADULT-WEIGHT-UNDER-30KG",
            f"an adult (≥ {ADULT_AGE_YEARS} years at consent) weighs at least {MIN_ADULT_WEIGHT_KG:g} kg",
            Severity.SOFT,
            EDC_PRACTICE,
        ),
        _adult_under_30_kg,
    ),
    (
        EditCheck(
            "LAB-UNIT-SLIP",
            f"a haematology value at most {LAB_SLIP_FACTOR:g}× the top of its plausible range (and not below "
            "its bottom), in the canonical unit",
            Severity.SOFT,
            EDC_PRACTICE + "; units of cartrial.grading.ctcae.unit_factor",
        ),
        _lab_unit_slip,
    ),
    (
        EditCheck(
            "LAB-TEST-MISSPELT",
            "a lab result's analyte is a test of the lab dictionary, or not close to one (similarity below "
            f"{LAB_TEST_SIMILARITY:g})",
            Severity.SOFT,
            EDC_PRACTICE + "; the lab dictionary cartrial.protocol.lab_tests (SDTM CT LBTESTCD)",
        ),
        _lab_test_misspelt,
    ),
    (
        EditCheck(
            "PK-VALUE-BELOW-LLOQ",
            "a PK value not flagged BLQ is at or above the sample's lloq",
            Severity.SOFT,
            PK_LLOQ_SOURCE,
        ),
        _pk_value_below_lloq,
    ),
    (
        EditCheck(
            "PK-UNIT-DIMENSION",
            "a PK sample of a known analyte has a unit of its declared dimension (car_t_cells: cells per "
            "volume, e.g. cells/uL or cells/mL; car_transgene: copies per mass of genomic DNA, e.g. "
            "copies/ug gDNA or copies/ng gDNA), which the analysis converts into one unit, or of an accepted "
            "second dimension (car_transgene: copies per volume, e.g. copies/mL by ddPCR, summarised apart); "
            "a unit of another dimension or of none is queried",
            Severity.SOFT,
            "one standard unit per analyte (SDTMIG 3.4 PC: PCSTRESU the standard unit of PCSTRESN; PKNCA's "
            "preferred units); the units and factors of cartrial.kinetics.units (D-19.781, D-19.784)",
        ),
        _pk_unit_dimension,
    ),
    (
        EditCheck(
            "PK-BLQ-WITHOUT-LLOQ",
            "a PK sample flagged BLQ has its lloq",
            Severity.SOFT,
            PK_LLOQ_SOURCE,
        ),
        _pk_blq_without_lloq,
    ),
    (
        EditCheck(
            "SAMPLE-DAY-MISMATCH",
            f"a PK or PD sample's actual_day within ±{SAMPLE_DAY_TOLERANCE:g} day of sampled_at minus the "
            "subject's infusion (infused_at), in days; a sampled_at typed as a date without a time: within "
            "it of any moment of that date on the site's clock",
            Severity.SOFT,
            "the day of a sample counted from the infusion's clock time (cartrial.kinetics.templates."
            "PK_NCA_COLUMNS time = actual_day; SDTM PC.PCDTC from sampled_at, ADaM ADPC.AFRLT from "
            "actual_day or, with no stored actual_day, the elapsed time from sampled_at (D-19.1279), a "
            "sample before the infusion from sampled_at, D-19.304); "
            + EDC_PRACTICE
            + " (D-19.168, D-19.1347)",
        ),
        _sample_day_mismatch,
    ),
    (
        EditCheck(
            "ASSESSMENT-LONG-BEFORE-INFUSION",
            "assessments no earlier than the protocol's earliest visit (day and window) before the infusion",
            Severity.SOFT,
            "the protocol's schedule (visits and windows)",
        ),
        _assessment_long_before_infusion,
    ),
    (
        EditCheck(
            "EDSS-SAME-DAY",
            "one EDSS assessment per subject and day on the site's calendar (assessed_at: a date-time by its "
            "date on the site's clock, a date typed without a time (00:00:00Z) by that date; UTC without a "
            "site time zone); the records being written on a day with another are queried, a stored one "
            "named, not queried again",
            Severity.SOFT,
            "Kurtzke 1983 and Neurostatus: an EDSS scores one examination; the analysis refuses a second "
            "EDSS of a subject's day (cartrial.neuro.tables.check_one_edss_a_day, D-19.1009); "
            + EDC_PRACTICE
            + " (D-19.1101)",
        ),
        _edss_same_day,
    ),
    (
        EditCheck(
            "ACUITY-SAME-DAY",
            "one visual acuity per subject, eye and day on the site's calendar (assessed_at as "
            "EDSS-SAME-DAY; the form records no chart or correction); the records being written on an eye's "
            "day with another are queried, a stored one named, not queried again",
            Severity.SOFT,
            "the visual FS from both eyes' acuity at one examination (docs/science/neuro-outcomes.md §1.2); "
            "the analysis refuses a second acuity of an eye's day (cartrial.neuro.tables.parse_va_table, "
            "D-19.778); " + EDC_PRACTICE + " (D-19.1102)",
        ),
        _acuity_same_day,
    ),
    (
        EditCheck(
            "RECORD-AFTER-DEATH",
            "no dated record of a subject (infusion, lymphodepletion, assessment, lab, sample, therapy "
            "start or stop, adverse event onset or end, relapse onset) after the subject's date of death",
            Severity.SOFT,
            "logical date order; the date of death is "
            + DEATH_SOURCE
            + " (cartrial.protocol.death, D-19.93, D-19.727)",
        ),
        _record_after_death,
    ),
    (
        EditCheck(
            "RECORD-AFTER-END-OF-STUDY",
            "no dated record of a subject (infusion, lymphodepletion, assessment, lab, sample, therapy, "
            "adverse event onset, relapse onset) after the disposition_date of a subject whose disposition "
            "is " + " or ".join(d.word for d in ENDED_BY) + "; a fatal adverse event is exempt (a death "
            "learnt in follow-up after the end of study: the study ended first, and neither record is "
            "wrong)",
            Severity.SOFT,
            "logical date order; the end of study is subject.disposition_date (SDTM DS.DSSTDTC, ADSL.EOSDT; "
            "cartrial.protocol.disposition, D-19.92, D-19.101)",
        ),
        _record_after_end_of_study,
    ),
    (
        EditCheck(
            "DEATH-DATE-MISMATCH",
            f"a subject whose disposition is {DEATH.word} has disposition_date equal to the date of death "
            "of the fatal adverse event",
            Severity.SOFT,
            "reconciliation of the end of study (SDTM DS.DSSTDTC, ADSL.EOSDT) with "
            + DEATH_SOURCE
            + " (D-19.93, D-19.101)",
        ),
        _death_date_mismatch,
    ),
    (
        EditCheck(
            "DEATH-WITHOUT-FATAL-AE",
            f"a subject whose disposition is {DEATH.word} has a fatal adverse event recorded",
            Severity.SOFT,
            "the death is dated by "
            + DEATH_SOURCE
            + "; disposition vocabulary cartrial.protocol.disposition "
            "(D-19.92, D-19.93)",
        ),
        _death_without_fatal_ae,
    ),
    (
        EditCheck(
            "FATAL-AE-DISPOSITION",
            f"a subject with a fatal adverse event has the disposition {DEATH.word} (or none yet), or an "
            "end of study ("
            + ", ".join(d.word for d in ENDED_BY)
            + ") whose disposition_date is before the date of death (a death learnt in follow-up after "
            "the end of study); not ongoing, nor an end undated or dated on or after the death",
            Severity.SOFT,
            "reconciliation of the disposition with "
            + DEATH_SOURCE
            + "; a dated end of study before the death is the end (cartrial.protocol.disposition."
            "ended_before_death, as the analysis reads it) (SDTM DS DEATH, DM.DTHFL; D-19.92, D-19.93, "
            "D-19.124)",
        ),
        _fatal_ae_disposition,
    ),
    (
        EditCheck(
            "DEATH-DATES-DIFFER",
            "the fatal adverse events of a subject (grade 5, category death or outcome fatal) give one date "
            "of death: each fatal event's end date, else its onset, is the subject's date of death (the "
            "earliest of them); when the earliest is dated by its onset only, its missing ended_on is "
            "queried instead, and an onset after the death is left to RECORD-AFTER-DEATH",
            Severity.SOFT,
            "reconciliation of the records of one death, dated by "
            + DEATH_SOURCE
            + " (cartrial.protocol.death; SDTM DM.DTHDTC is one date; D-19.93, D-19.794)",
        ),
        _death_dates_differ,
    ),
    (
        EditCheck(
            "HISTORY-DATE",
            "every date of a subject's treatment_history (started_on, stopped_on) and relapse_history "
            "(onset_date) is a date of the one form the store, the analysis and the CDISC export read "
            "(cartrial.neuro.tables.onset_period): a record stored before the store's rule refused it is "
            "queried by history entry and key",
            Severity.SOFT,
            "SDTMIG v3.4 §4.4.2 (ISO 8601 --DTC); the analysis skips such an onset with a note (D-19.711) "
            "and the CDISC export refuses it (D-19.1212); D-19.1216",
        ),
        _history_date,
    ),
)
"""Every edit check of one subject's records with the function that finds it."""

DECISION_BEFORE_DLT_WINDOW = EditCheck(
    "DECISION-BEFORE-DLT-WINDOW",
    "an escalation decision is taken once every patient of its cohort without a DLT has completed the DLT "
    "window (decided_on ≥ the infusion day of the cohort's last patient without a DLT + "
    "escalation.dlt_window_days; day 0 = infusion): a patient with a DLT (its outcome letter, or a DLT "
    "the assessment dates on or before the decision) is DLT-evaluable already, one who died or left the "
    "study inside the window without an adverse event "
    "flagged dlt is replaced (no outcome letter). Not for a TITE-CRM protocol (escalation.design tite-crm), "
    "which decides while patients are inside the window, each weighed by the follow-up at the decision",
    Severity.SOFT,
    "the protocol's escalation.dlt_window_days; docs/science/dose-escalation.md (DLT observation window "
    "before the next dose decision); docs/science/decisions.md D-12.1 (deviations listed, never silently "
    "accepted); rule of cartrial.escalation.replay_decisions and cartrial.protocol.dlt.dlt_evaluable "
    "(D-19.123, D-19.248); TITE-CRM: docs/science/dose-escalation.md §8 (D-19.697)",
)
"""Study-level check (decisions and infusions of every subject), run by `decision_window_findings`."""
STUDY_CHECKS: tuple[EditCheck, ...] = (DECISION_BEFORE_DLT_WINDOW,)

CHECKS_LEFT_OUT = EditCheck(
    "CHECKS-LEFT-OUT",
    "every edit check of a record reads the subject's records it compares with (a record holding a date "
    "cartrial never stores is left out of a single write's checks and named)",
    Severity.SOFT,
    "ICH E6(R3) 3.16 (data checked before it is relied on); raised on the written record when its checks "
    "left out another record of the subject, closed by the next write of the subject that leaves none out "
    "(its repair), which runs the skipped checks (D-19.652)",
)
"""Not a check over the records (not in `EDIT_CHECKS`): a single write whose checks left records out
raises it (`left_out_finding`); `reconcile_queries` closes it once no record of the subject is left out."""

CHECKS: tuple[EditCheck, ...] = (*(check for check, _ in EDIT_CHECKS), *STUDY_CHECKS, CHECKS_LEFT_OUT)
CHECKS_BY_ID: dict[str, EditCheck] = {check.id: check for check in CHECKS}


def _site_time_zones(connection: Connection) -> dict[str, str]:
    from cartrial.store.snapshot import site_time_zones

    return site_time_zones(connection)


def site_zones_of_records(subjects: Iterable[SubjectRecords], zones: Mapping[str, str] | None) -> None:
    """Give each subject its site's time zone (`SubjectRecords.time_zone`) from its subject row's site_id and
    `zones` (site_id → IANA zone; an unknown one refused, located by its site: `checked_site_zones`;
    D-19.607)."""
    if not zones:
        return
    checked_site_zones(zones)
    for records in subjects:
        subject = records.subject
        site = None if subject is None else subject.get("site_id")
        records.time_zone = zones.get(str(site)) if site is not None else None


def site_zones_of(
    connection: Connection, subjects: Iterable[SubjectRecords], zones: Mapping[str, str] | None = None
) -> None:
    """Give each subject its site's time zone (`SubjectRecords.time_zone`, from its subject row's site_id
    and the stored `site.time_zone`, or `zones` already read; D-19.607): the calendar the checks count its
    days on."""
    from cartrial.store.snapshot import site_time_zones

    site_zones_of_records(subjects, site_time_zones(connection) if zones is None else zones)


def today_at(zone: str | None, today: dt.date | None, now: dt.datetime) -> dt.date:
    """`today` when given (an as-of day: that day at every site), else today at the site in `zone` at the
    instant `now` (`cartrial.columns.site_today`; D-19.613)."""
    return today if today is not None else site_today(zone, now)


def check_clock() -> dt.datetime:
    """The instant an import or a write reads once and hands to every edit check it runs (each chunk of a
    streamed file, the rows of a bulk write, the reconciliation of the queries; D-19.621): one now, so one
    today at each site for the whole import or write (`run_edit_checks`)."""
    return utc_now()


def run_edit_checks(
    subjects: Iterable[SubjectRecords],
    protocol: Protocol | None,
    today: dt.date | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """Every finding on a new record (`Record.new`) of the given subjects; a hard finding on a stored
    record too when the subject row itself is new (a consent date moved after the stored infusion).

    Today is each subject's site's today at the instant `now` (default the current one;
    `cartrial.columns.site_today` with `SubjectRecords.time_zone`, UTC without a zone; D-19.613); an
    explicit `today` is that day at every site (an as-of day, as given)."""
    now = utc_now() if now is None else now
    findings: list[Finding] = []
    for records in subjects:
        subject_today = today_at(records.time_zone, today, now)
        subject = records.subject
        subject_new = subject is not None and subject.new
        records._death = None
        records._death = (records.death(),)  # found once per run (D-19.512)
        try:
            for check, function in EDIT_CHECKS:
                hard = check.severity is Severity.HARD
                for record, field_name, value, message in function(records, protocol, subject_today):
                    if record.new or (hard and subject_new):
                        findings.append(Finding(check, record, field_name, value, message))
        finally:
            records._death = None
    return findings


DECISION_COLUMNS = ("cohort", "dose_level", "decided_on", "outcomes", "decision")
"""Columns of an `escalation_decision` record that the replay reads."""
INFUSION_COLUMNS = ("subject_id", "dose_level", "infused_at")
"""Columns of an `infusion` record that the replay reads."""


def decision_dlts(
    infusions: Sequence[Record],
    adverse_events: Sequence[Record],
    subjects: Sequence[Record],
    window_days: int,
    time_zones: Mapping[str, str] | None = None,
) -> list[dict[str, str]]:
    """The replay's DLT assessment of each infused subject (rows subject_id, dlt, evaluable, dlt_onset_day;
    D-19.248): `dlt` an adverse event flagged ``dlt`` by the investigator with its onset inside the DLT
    window (the window rule of `cartrial.escalation.assess_dlt`, as the analysis's investigator flag), and
    `dlt_onset_day` the first one's day (day 0 = infusion; a TITE-CRM's replay counts it from then,
    D-19.696); `followup_end_day` the day a replaced patient's study ended (D-19.700); `evaluable` false for a
    subject who died (`cartrial.protocol.death`) or whose study ended (the disposition date) before
    completing the window without such a DLT (`cartrial.protocol.dlt.dlt_evaluable`): replaced, no outcome
    letter (D-19.123). A subject still inside the window, or not yet ended, is counted (pending). Day 0 is
    the infusion's day on the calendar of the subject's site (`time_zones`: site_id → IANA zone; D-19.607).
    """
    from cartrial.escalation.dlt import assess_dlt
    from cartrial.protocol.dlt import GradedEvent, ToxicityCategory, dlt_evaluable, dlt_window_complete

    by_subject: dict[str, dict[str, list[Record]]] = {}
    for table, given in (("infusion", infusions), ("adverse_event", adverse_events), ("subject", subjects)):
        for record in given:
            if record.get("subject_id") is not None:
                by_subject.setdefault(str(record.get("subject_id")), {}).setdefault(table, []).append(record)
    rows: list[dict[str, str]] = []
    for subject_id, tables in sorted(by_subject.items()):
        records = SubjectRecords(subject_id, tables)
        site_zones_of_records([records], time_zones)
        day0 = records.infusion_day()
        if day0 is None:
            continue
        had_dlt = False
        onsets: list[int] = []
        for event in records.of("adverse_event"):
            onset = _day(event.get("started_on"))
            if onset is None or event.get("dlt") is not True:
                continue
            probe = GradedEvent(
                subject_id,
                ToxicityCategory.NON_HEMATOLOGIC,
                "investigator DLT flag",
                1,
                "",
                float((onset - day0).days),
            )
            if assess_dlt(probe, [], window_days).in_window:
                had_dlt = True
                onsets.append((onset - day0).days)
        end = records.end_day()
        counted = (
            had_dlt
            or end is None
            or bool(dlt_evaluable(dlt_window_complete(day0, end, window_days)[0], False, window_days))
        )
        rows.append(
            {
                "subject_id": subject_id,
                "dlt": str(had_dlt).lower(),
                "evaluable": str(counted).lower(),
                "dlt_onset_day": str(min(onsets)) if onsets else "",
                # the day a replaced patient left: counted at a decision before it (D-19.700)
                "followup_end_day": ""
                if counted or end is None
                else str(min(max((end - day0).days, 0), window_days)),
            }
        )
    return rows


def decision_window_findings(
    decisions: Sequence[Record],
    infusions: Sequence[Record],
    protocol: Protocol | None,
    adverse_events: Sequence[Record] = (),
    subjects: Sequence[Record] = (),
    time_zones: Mapping[str, str] | None = None,
) -> list[Finding]:
    """`DECISION_BEFORE_DLT_WINDOW` on every new (`Record.new`) escalation decision whose replay row has
    `window_complete` False where the window rule applies (`window_rule`: not for a TITE-CRM; D-19.697),
    given every decision and infusion of the study (stored and new), and its adverse events and subject
    rows (the DLT evaluability of each infused patient, `decision_dlts`).

    The cohorts, the patients without a DLT whose window the decision waits for, the replaced ones and the
    window come from `cartrial.escalation.replay_decisions` (not re-implemented here; D-19.248). When the
    replay cannot run (no protocol, no infusions yet, fewer infusions than the decisions' cohorts hold),
    nothing fires: `cartrial escalate replay` and the analysis report the inconsistency itself. Each
    infusion's day is on its subject's site calendar (`time_zones`: site_id → IANA zone, read from the
    subject rows' site_id; D-19.607), as the analysis hands the replay."""
    if protocol is None or not infusions or not any(r.new for r in decisions):
        return []
    import pandas as pd

    from cartrial.errors import InputError
    from cartrial.escalation import replay_decisions

    decision_frame = pd.DataFrame([{c: r.get(c) for c in DECISION_COLUMNS} for r in decisions])
    infusion_frame = pd.DataFrame([{c: r.get(c) for c in INFUSION_COLUMNS} for r in infusions])
    site_of = {str(r.get("subject_id")): str(r.get("site_id")) for r in subjects}
    zones = checked_site_zones(time_zones or {})
    infusion_frame[TIME_ZONE_COLUMN] = [
        zones.get(site_of.get(str(r.get("subject_id")), ""), "") for r in infusions
    ]
    window = int(protocol.escalation.dlt_window_days)
    dlts = decision_dlts(infusions, adverse_events, subjects, window, zones)
    dlt_frame = (
        pd.DataFrame(dlts, columns=["subject_id", "dlt", "evaluable", "dlt_onset_day", "followup_end_day"])
        if dlts
        else None
    )
    try:
        replay = replay_decisions(decision_frame, infusion_frame, dlt_frame, protocol).table
    except InputError:
        return []
    new_by_cohort = {r.get("cohort"): r for r in decisions if r.new}
    findings: list[Finding] = []
    for row in replay.to_dict("records"):
        record = new_by_cohort.get(row["cohort"])
        days = row["days_after_last_infusion"]
        # the replay says whether the window rule applies: not to a TITE-CRM, which decides inside the
        # window (docs/science/dose-escalation.md §8; D-19.697)
        if record is None or not bool(row["window_rule"]) or bool(row["window_complete"]):
            continue
        if days is None or pd.isna(days):
            continue
        window = int(row["dlt_window_days"])
        message = (
            f"escalation_decision.decided_on ({_where(record)}) is before every patient of the decision's "
            f"cohort without a DLT completed the {window}-day DLT window (escalation.dlt_window_days) after "
            "their infusion (infusion.infused_at): a protocol deviation"
        )
        findings.append(
            Finding(DECISION_BEFORE_DLT_WINDOW, record, "decided_on", record.get("decided_on"), message)
        )
    return findings


def blind_hard_checks(table: str, tables_left_out: Iterable[str]) -> list[EditCheck]:
    """The hard checks of a write of `table` that could not run because a record of a table they compare
    (`EditCheck.reads`) was left out of the write's checks (`tables_left_out`): such a write is refused
    until the record is repaired (D-19.651); soft ones skipped raise `CHECKS_LEFT_OUT` instead."""
    left_out = set(tables_left_out)
    return [
        check
        for check, _ in EDIT_CHECKS
        if check.severity is Severity.HARD and table in check.reads and left_out & compared(check, table)
    ]


def compared(check: EditCheck, table: str) -> set[str]:
    """The tables whose records `check` compares a record of `table` with (`EditCheck.reads`: the others,
    and its own with `EditCheck.among`); none when it does not read `table`."""
    if table not in check.reads:
        return set()
    return {name for name in check.reads if name != table or check.among}


def left_out_finding(
    table: str, values: Mapping[str, Any], record_id: int, names: Sequence[str], hard: Sequence[str] = ()
) -> Finding:
    """The `CHECKS_LEFT_OUT` finding on the written record `record_id` of `table` naming the records its
    checks left out (`names`: ``<table> record <id>, <field>``, never a value) and, for an edit, the hard
    checks skipped (`hard`: a hard rule may be broken; D-19.652)."""
    skipped = (
        f" — among them the hard check(s) {', '.join(hard)}, which would refuse a record breaking them: "
        "the record may break them"
        if hard
        else ""
    )
    return Finding(
        CHECKS_LEFT_OUT,
        Record(table, values, new=True, record_id=record_id),
        "id",
        None,
        f"the edit checks of this {table} record could not read {'; '.join(names)} (a date cartrial never "
        f"stores): the checks comparing with them did not run{skipped}; repair these records (cartrial db "
        "edit or the API's record update, setting each date, with a reason): the repair closes this query "
        "and runs the checks",
    )


def hard_problems(
    findings: Sequence[Finding],
    written: tuple[str, int | None] | None = None,
    typed: Collection[str] | None = None,
) -> list[Problem]:
    """The problems of the hard findings (`Finding.problem`; `written`: the record a single write writes,
    `typed`: the fields it types)."""
    return [f.problem(written, typed) for f in findings if f.check.severity is Severity.HARD]


# -------------------------------------------------------------------------------------------------------
# Stored records and queries
# -------------------------------------------------------------------------------------------------------

CONTEXT_TABLES = ("subject", "infusion", "adverse_event")
"""Tables whose stored records every check of a subject needs (the adverse events give the death)."""


def stored_records(
    connection: Connection,
    subject_ids: Iterable[str],
    tables: Iterable[str] = CONTEXT_TABLES,
    written: tuple[str, int] | None = None,
) -> dict[str, dict[str, list[Record]]]:
    """Stored records of `tables` for `subject_ids`: subject → table → records (not new), each table's in
    id order (not the database's plan-dependent order: the records of a subject come out alike whether
    read alone or with other subjects', D-19.433). `written`: (table, id) of the record a write replaces,
    not read (the checks put its new values in its place; a repair of its unreadable date, D-19.560)."""
    from sqlalchemy import select

    from cartrial.store.fields import DATABASE_COLUMNS
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import read_leaving_out

    wanted = sorted({str(s) for s in subject_ids})
    out: dict[str, dict[str, list[Record]]] = {s: {} for s in wanted}
    if not wanted:
        return out
    for table in tables:
        model_table = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            query = select(model_table).where(model_table.c.subject_id.in_(chunk)).order_by(model_table.c.id)
            if written is not None and written[0] == table:
                query = query.where(model_table.c.id != written[1])
            # a stored date no reader reads: refused by its record (D-19.556); within a repair left out
            # and named (`writes.update_record`, D-19.562)
            rows = read_leaving_out(connection, query, partial(_fetch_rows, connection, query))
            for row in rows:
                values = {k: v for k, v in row.items() if k not in DATABASE_COLUMNS or k == "id"}
                record = Record(table, values, new=False, record_id=int(row["id"]))
                out[str(row["subject_id"])].setdefault(table, []).append(record)
    return out


def _fetch_rows(connection: Connection, query: Any, left_out: Sequence[Any]) -> Sequence[Any]:
    """The row mappings of `query` narrowed by `left_out` (`stored_dates.read_leaving_out`'s fetch)."""
    return connection.execute(query.where(*left_out)).mappings().all()


def stored_table_records(connection: Connection, table: str) -> list[Record]:
    """Every stored record of `table` (not new), whatever its subject."""
    from sqlalchemy import select

    from cartrial.store.fields import DATABASE_COLUMNS
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import locating

    model_table = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
    query = select(model_table)
    with locating(connection, query):  # a stored date no reader reads: named by record (D-19.556)
        rows = connection.execute(query).mappings().all()
    return [
        Record(
            table,
            {k: v for k, v in row.items() if k not in DATABASE_COLUMNS or k == "id"},
            new=False,
            record_id=int(row["id"]),
        )
        for row in rows
    ]


def _merged(stored: Sequence[Record], new: Sequence[Record], keys: Sequence[str]) -> list[Record]:
    """Stored records with the new ones on top: a new record with a stored natural key replaces the stored
    one (keeping its id and the values it does not give)."""
    by_key = {tuple(r.get(k) for k in keys): r for r in stored}
    out = list(stored)
    for record in new:
        old = by_key.get(tuple(record.get(k) for k in keys))
        if old is not None:
            out.remove(old)
            record.values = {**old.values, **record.values}
            record.record_id = old.record_id
        out.append(record)
    return out


@dataclass(frozen=True)
class RaisedQuery:
    """A data query an edit check raised on a write (D-19.130): its code, the check and where — never the
    value (D-12.2)."""

    code: str
    check: str
    table: str
    field: str | None
    record_id: int | None

    def text(self) -> str:
        """``raised data query Q-000012 (DOSE-10X on infusion.cells_per_kg of infusion record 3)``: the
        record by its id, as a write may raise queries on several records of the subject (D-19.150)."""
        where = f"{self.table}.{self.field}" if self.field else self.table
        if self.record_id is not None:
            where += f" of {self.table} record {self.record_id}"
        return f"raised data query {self.code} ({self.check} on {where})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "check": self.check,
            "table": self.table,
            "field": self.field,
            "record_id": self.record_id,
        }


def record_queries(tx: Any, findings: Sequence[Finding]) -> list[str]:
    """Raise one data query per soft finding, in the open transaction `tx`, as the system user
    `EDIT_CHECK_USER` (audited as such); returns the query codes, and adds each as a `RaisedQuery` to the
    transaction's ``raised_queries`` (what a single-record write tells its user, D-19.130). Records must be
    stored (a `record_id`, or a natural key to find it by)."""
    from sqlalchemy import func, select

    from cartrial.store.models import STUDY_TABLES, utc_now

    soft = [f for f in findings if f.check.severity is Severity.SOFT]
    if not soft:
        return []
    queries = STUDY_TABLES["data_query"].__table__  # type: ignore[attr-defined]
    count = int(tx.connection.execute(select(func.count()).select_from(queries)).scalar_one())
    raised = raised_query_keys(tx.connection)
    rows: list[dict[str, Any]] = []
    raised_now: list[RaisedQuery] = []
    for finding in soft:
        record_id = finding.record.record_id or _find_id(tx.connection, finding.record)
        key = (finding.record.table, record_id, finding.field, finding.check.id)
        if key in raised:
            closed_at = raised[key]
            if closed_at is None or not _changed_since(
                tx.connection, finding.record.table, record_id, finding.field, closed_at
            ):
                continue  # open, or closed on this value: a re-import or an unrelated edit raises nothing
        raised[key] = None
        count += 1
        rows.append(
            {
                "query_code": f"Q-{count:06d}",
                "subject_id": finding.subject_id,
                "table_name": finding.record.table,
                "record_id": record_id,
                "field": finding.field,
                "text": finding.query_text(),
                "status": "open",
                "raised_by": EDIT_CHECK_USER,
                "raised_at": utc_now(),
            }
        )
        raised_now.append(
            RaisedQuery(
                f"Q-{count:06d}",
                finding.check.id,
                finding.record.table,
                finding.field,
                None if record_id is None else int(record_id),
            )
        )
    actor, source = tx.actor, tx.source
    if not rows:
        return []
    tx.actor = type(actor)(username=EDIT_CHECK_USER, role=EDIT_CHECK_ROLE, site_id=None)
    tx.source = f"edit checks ({source})"
    try:
        from cartrial.store.bulk import upsert_rows

        upsert_rows(tx, "data_query", rows)  # the store's own rows: no form checks (D-19.430)
    finally:
        tx.actor, tx.source = actor, source
    collected = getattr(tx, "raised_queries", None)
    if isinstance(collected, list):
        collected.extend(raised_now)
    return [str(r["query_code"]) for r in rows]


def _find_id(connection: Connection, record: Record) -> int | None:
    from sqlalchemy import and_, select

    from cartrial.store.models import STUDY_TABLES

    model = STUDY_TABLES[record.table]
    table = model.__table__  # type: ignore[attr-defined]
    keys = model.natural_key
    if any(record.get(k) is None for k in keys):
        return None
    found = connection.execute(
        select(table.c.id).where(and_(*(table.c[k] == record.get(k) for k in keys)))
    ).first()
    return None if found is None else int(found[0])


CHECKED_TABLES = frozenset({*CONTEXT_TABLES, "relapse", *ASSESSMENT_TABLES, *DATED_TABLES, *FUTURE_DATED})
"""Tables whose writes run the edit checks."""
AFTER_DEATH_TABLES = tuple(t for t in DATED_TABLES if t not in CONTEXT_TABLES)
"""Dated tables outside the context: read for a subject whose death a written adverse event records, or
whose end of study a written subject row records."""


def _key(finding: Finding) -> tuple[Any, ...]:
    record = finding.record
    identity = record.record_id if record.record_id is not None else id(record.values)
    return (finding.check.id, record.table, identity, finding.field, _text(finding.value))


def check_single_write(
    tx: Any,
    table: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    record_id: int | None,
    context: WriteContext | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """The edit checks of one record being inserted (`before` None) or edited, with the subject's stored
    records: a finding that the write creates (absent before it) refuses the write when hard (`InputError`;
    the caller's transaction rolls back) and raises a data query when soft (in the same transaction).
    Returns the findings the write created. `context`: the stored records read once for the rows of one
    bulk write (`write_context`). `now`: the write's one instant (`check_clock`), which its reconciliation
    reads too (`reconcile_write`; D-19.621)."""
    from cartrial.errors import InputError

    if table == "escalation_decision":
        return _check_decision_write(tx, before, after, record_id)
    created = write_findings(tx.connection, table, before, after, record_id, context, now=now)
    # a stored record's value never shown, nor the stored value of a field an edit did not type (D-19.820)
    typed = None if before is None else {k for k, v in after.items() if k not in before or before[k] != v}
    hard = hard_problems(created, (table, record_id), typed)
    if hard:
        where = f"{table} record {record_id}" if before is not None else f"new {table} record"
        raise InputError(hard, header=f"{where}: refused by {len(hard)} edit check(s); nothing was written")
    record_queries(tx, created)
    return created


def reconcile_write(
    tx: Any,
    table: str,
    *values: Mapping[str, Any] | None,
    now: dt.datetime | None = None,
    raised_from: int = 0,
) -> list[str]:
    """`reconcile_queries` after a single-record write of `table` (stored in `tx`): the subjects of its
    old and new values (an edit may move a record to another subject). `now`: the write's instant (a bulk
    write's `WriteContext.now`; D-19.621). `raised_from`: the number of queries in ``tx.raised_queries``
    when the write began (those after it are the write's own)."""
    if table not in CHECKED_TABLES:
        return []
    subjects = {v.get("subject_id") for v in values if v is not None} - {None}
    return reconcile_queries(tx, subjects, now=now, raised_from=raised_from)


def check_delete(
    tx: Any,
    table: str,
    before: Mapping[str, Any],
    record_id: int,
    created: Sequence[Finding] | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """The edit checks a delete of record `record_id` of `table` (`before`: its values, already deleted in
    the open transaction `tx`) makes fire on the subject's remaining records (D-19.103): the reconciling
    checks across records (a disposition ``death`` left without its fatal adverse event, a record now after
    a later date of death, an assessment now long before a later first infusion). Each soft finding that
    the delete creates (absent with the record) raises a data query in the same transaction, once
    (`record_queries` skips a check already queried on the same record and field). A hard finding never
    refuses a delete: removing a record cannot make a remaining one impossible (the hard checks compare a
    record with the subject row, which a remaining record's foreign key keeps), and a refusal would trap a
    user whose correction starts with the delete; the next write of that record is checked as usual.
    Returns the findings the delete created. `created`: these findings computed before the delete
    (`write_findings` of the delete; the record is not read either way: the same findings), as
    `writes.delete_record` does to name what its checks could not read in the audit row (D-19.562)."""
    if created is None:
        created = write_findings(tx.connection, table, before, None, record_id, now=now)
    record_queries(tx, created)
    return list(created)


@dataclass
class WriteContext:
    """What the edit checks of the rows of one bulk write read, read once for all of them (`write_context`):
    the study protocol and the stored records, of `tables`, of every subject the rows write (D-19.433).
    `write_findings` with it finds what it finds reading them per row, provided that nothing but data
    queries is written between the rows' checks (`writes.upsert_checked_rows` writes every row first)."""

    protocol: Protocol | None
    tables: tuple[str, ...]
    stored: dict[str, dict[str, list[Record]]]
    earlier: dict[tuple[str, tuple[str, ...]], set[tuple[Any, ...]]] = field(default_factory=dict)
    """Per (subject, tables read): the findings of the subject's stored records alone, the state before
    every insert into a table not among them (the same for each such row)."""
    now: dt.datetime = field(default_factory=lambda: check_clock())
    """The one instant every row's checks and the write's reconciliation read today from (D-19.621)."""

    def records(self, subject_id: str, tables: tuple[str, ...]) -> dict[str, list[Record]] | None:
        """The subject's stored records of `tables`, in the order `stored_records` gives them when asked
        for these tables alone; None when not read here."""
        by_table = self.stored.get(subject_id)
        if by_table is None or not set(tables) <= set(self.tables):
            return None
        return {name: rows for name, rows in by_table.items() if name in tables}


def _write_tables(table: str, deleting: bool) -> tuple[str, ...]:
    """The tables of a subject's stored records that the edit checks of a write of `table` read: an
    adverse event may date a death, a subject row the end of study, an infusion day 0 (the lymphodepletion
    and assessments are counted from it, D-19.167), and a delete may move the date of death, the end of
    study or the first infusion: then the subject's other dated records are compared with it too. An EDSS
    or an acuity reads the subject's stored records of its own table (`SAME_DAY_TABLES`, D-19.1101)."""
    ending = table in ("adverse_event", "subject", "infusion") or deleting
    if ending:
        return (*CONTEXT_TABLES, *AFTER_DEATH_TABLES)
    # an EDSS or acuity is compared with the subject's others of its table (EDSS-SAME-DAY, ACUITY-SAME-DAY)
    return (*CONTEXT_TABLES, table) if table in SAME_DAY_TABLES else CONTEXT_TABLES


def write_context(
    connection: Connection,
    table: str,
    writes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
    protocol: Protocol | None,
) -> WriteContext:
    """The `WriteContext` of the (before, after) writes of `table` already stored in the open transaction:
    the study's `protocol` (as the caller read it), and the stored records of their subjects (before and
    after) of every table a row's checks read (`_write_tables`; a row moving a record to another subject
    reads the old subject's as for a delete), in one query per table and 500 subjects (`stored_records`)."""
    subjects: set[str] = set()
    deleting = False
    if table in CHECKED_TABLES:
        for before, after in writes:
            values = [v.get("subject_id") for v in (before, after) if v is not None]
            subjects.update(str(s) for s in values if s is not None)
            moved = before is not None and before.get("subject_id") != after.get("subject_id")
            deleting = deleting or moved
    tables = _write_tables(table, deleting)
    return WriteContext(protocol, tables, stored_records(connection, subjects, tables))


def write_findings(
    connection: Connection,
    table: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    record_id: int | None,
    context: WriteContext | None = None,
    *,
    now: dt.datetime | None = None,
) -> list[Finding]:
    """The findings that writing `after` over `before` (None: a new record; `record_id` None: not yet
    stored) would create, with the subject's stored records; nothing is written. `after` None: the delete of
    record `record_id` (`before`, D-19.103): the findings on the subject's remaining records. The one
    computation of `check_single_write`, `check_delete` and of the web forms' check while typing
    (`preview_write_checks`). `context`: the protocol and stored records read once for the rows of one
    bulk write (`write_context`, D-19.433); the same findings as reading them here."""
    from cartrial.store.fields import study_protocol

    if (
        before is not None
        and after is not None
        and table in CHECKED_TABLES
        and before.get("subject_id") != after.get("subject_id")
    ):
        # an edit of the subject moves the record: a delete from the old subject's records and an insert
        # among the new subject's, each compared with that subject's records alone (D-19.146)
        return [
            *write_findings(connection, table, before, None, record_id, context, now=now),
            *write_findings(connection, table, None, after, record_id, context, now=now),
        ]
    values = after if after is not None else before
    subject_id = values.get("subject_id") if values is not None and table in CHECKED_TABLES else None
    if subject_id is None:
        return []
    tables = _write_tables(table, after is None)
    read = None if context is None else context.records(str(subject_id), tables)
    if read is None or context is None:
        replaced = None if record_id is None or before is None else (table, record_id)
        stored = stored_records(connection, [str(subject_id)], tables, replaced).get(str(subject_id), {})
        protocol = study_protocol(connection)
    else:
        stored, protocol = read, context.protocol
    from cartrial.store.snapshot import site_time_zones

    zones = site_time_zones(connection)  # the site's calendar (D-19.607)

    def state(values: Mapping[str, Any] | None) -> SubjectRecords:
        by_table: dict[str, list[Record]] = {}
        for name, rows in stored.items():
            by_table[name] = [
                Record(r.table, r.values, True, record_id=r.record_id)
                for r in rows
                if not (name == table and record_id is not None and r.record_id == record_id)
            ]
        if values is not None:
            by_table.setdefault(table, []).append(Record(table, dict(values), True, record_id=record_id))
        records = SubjectRecords(str(subject_id), by_table)
        site_zones_of(connection, [records], zones)
        return records

    # one instant for the states before and after the write, and for every row of a bulk write: one site
    # today (D-19.613, D-19.621)
    if now is None:
        now = context.now if context is not None else check_clock()
    found = run_edit_checks([state(after)], protocol, now=now)
    if not found:  # nothing fires after the write: it creates nothing, whatever fired before (D-19.512)
        return []
    if context is not None and before is None and table not in stored:
        # no stored record of the table to leave out: the state before is the same for every new record
        memo = (str(subject_id), tables)
        if memo not in context.earlier:
            context.earlier[memo] = {_key(f) for f in run_edit_checks([state(None)], protocol, now=now)}
        earlier = context.earlier[memo]
    else:
        earlier = {_key(f) for f in run_edit_checks([state(before)], protocol, now=now)}
    created = [f for f in found if _key(f) not in earlier]
    # a check that fires on the record written is reported there only: the same conflict seen from a stored
    # record (INFUSION-ONCE fires on both infusions) would lead the refusal with a value the user did not give
    written = {f.check.id for f in created if f.record.record_id == record_id and f.record.table == table}
    return [
        f
        for f in created
        if f.check.id not in written or (f.record.record_id == record_id and f.record.table == table)
    ]


def _check_decision_write(
    tx: Any, before: Mapping[str, Any] | None, after: Mapping[str, Any], record_id: int | None
) -> list[Finding]:
    """`DECISION_BEFORE_DLT_WINDOW` of one escalation decision being inserted or edited, with every stored
    decision and infusion: a finding the write creates raises a data query (same transaction)."""
    created = decision_write_findings(tx.connection, before, after, record_id)
    record_queries(tx, created)
    return created


def decision_write_findings(
    connection: Connection,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    record_id: int | None,
) -> list[Finding]:
    """The findings that writing escalation decision `after` over `before` would create (nothing written):
    the one computation of the write (`_check_decision_write`) and of its check while typing
    (`writes.preview_write_checks`, D-19.822)."""
    from cartrial.store.fields import study_protocol

    protocol = study_protocol(connection)
    infusions = stored_table_records(connection, "infusion")
    events = stored_table_records(connection, "adverse_event")
    subjects = stored_table_records(connection, "subject")
    zones = _site_time_zones(connection)  # the site's calendar (D-19.607)
    stored = [
        r
        for r in stored_table_records(connection, "escalation_decision")
        if record_id is None or r.record_id != record_id
    ]

    def state(values: Mapping[str, Any] | None) -> list[Finding]:
        if values is None:
            return []
        record = Record("escalation_decision", dict(values), True, record_id=record_id)
        return decision_window_findings([*stored, record], infusions, protocol, events, subjects, zones)

    earlier = {_key(f) for f in state(before)}
    return [f for f in state(after) if _key(f) not in earlier]


SMALL_TABLES = frozenset({*CONTEXT_TABLES, "relapse", "lymphodepletion_administration", "screening_result"})
"""Checked tables read whole (one record per row); the large assessment tables are pre-filtered by column
(a row becomes a `Record` only when a check could fire on it), so a million-row import stays fast."""


def import_findings(
    connection: Connection,
    forms: Sequence[Any],
    protocol: Protocol | None,
    today: dt.date | None = None,
    restated: Mapping[str, Mapping[str, Sequence[Record]]] | None = None,
    *,
    now: dt.datetime | None = None,
    written: Callable[[Sequence[Record]], Sequence[int]] | None = None,
) -> list[Finding]:
    """The edit checks of an import: every validated form's rows (`ValidatedForm`) of the checked tables,
    merged with the stored records of their subjects (an imported row with a stored natural key replaces
    the stored record's values it gives). Findings are located by file and spreadsheet row.

    `restated`: subject -> table -> stored records checked as if imported (`new`), located by table and
    record id: the rows of a byte-identical file that a partial re-import does not read again
    (`cartrial.store.importing.pipeline`), for the subjects whose context records it changes.

    A subject's site calendar is its site's `time_zone` as the import leaves it: the stored sites' with the
    imported sites' rows laid over them (`import_site_zones`; D-19.619). `now`: the import's one instant
    (default the current one; every chunk of a streamed import is given the same, D-19.621).

    `written`: a chunk of a streamed file (the one form given): for stored records of its table, the
    spreadsheet row of the file's earlier chunk that wrote each (0: none). Such a record is one of the
    file's rows, checked and located as imported (new, by file and row) as it is when the file is checked
    whole: a check comparing a row with the file's others (EDSS-SAME-DAY, SECOND-INFUSION) queries both
    rows and names the other by its row, whichever chunk each is in (D-19.1104)."""
    from cartrial.store.models import STUDY_TABLES

    # one instant for the whole import: each subject's site today is read from it (D-19.613)
    now = check_clock() if now is None else now
    zones = import_site_zones(connection, forms)
    imported: dict[str, dict[str, list[Record]]] = {}
    for form in forms:
        table = form.spec.table
        if table not in SMALL_TABLES:
            continue
        numbers = form.row_numbers()
        for position, values in enumerate(form.rows()):
            subject_id = values.get("subject_id")
            if subject_id is None:
                continue
            record = Record(table, values, True, file=form.file, row=int(numbers[position]))
            imported.setdefault(str(subject_id), {}).setdefault(table, []).append(record)
    large = [f for f in forms if f.spec.table in CHECKED_TABLES and f.spec.table not in SMALL_TABLES]
    subject_ids = set(imported) | set(restated or {})
    for form in large:
        subject_ids.update(str(s) for s in set(form.columns.get("subject_id", ())) if s is not None)
    if not subject_ids:
        return _import_decision_findings(connection, forms, protocol, zones)
    stored = stored_records(connection, subject_ids)
    subjects: dict[str, SubjectRecords] = {}
    changed: dict[str, set[str]] = {}  # subject -> its context tables whose records this import changes
    for subject_id in sorted(subject_ids):
        by_table: dict[str, list[Record]] = {t: list(r) for t, r in stored.get(subject_id, {}).items()}
        for table, rows in imported.get(subject_id, {}).items():
            keys = STUDY_TABLES[table].natural_key
            existing = {tuple(r.get(k) for k in keys): r for r in by_table.get(table, [])}
            kept = by_table.setdefault(table, [])
            for record in rows:
                old = existing.get(tuple(record.get(k) for k in keys))
                if table in CONTEXT_TABLES and (
                    old is None or not all(same_value(old.get(n), v) for n, v in record.values.items())
                ):
                    changed.setdefault(subject_id, set()).add(table)
                if old is not None:
                    kept.remove(old)
                    record.values = {**old.values, **record.values}
                    record.record_id = old.record_id
                kept.append(record)
        for table, again in (restated or {}).get(subject_id, {}).items():
            by_table.setdefault(table, []).extend(again)
        subjects[subject_id] = SubjectRecords(subject_id, by_table)
    site_zones_of(connection, subjects.values(), zones)  # the site's calendar (D-19.607, D-19.619)
    _add_stored_after_end(connection, subjects, {form.spec.table for form in forms})
    earliest = dt.timedelta(days=earliest_assessment_day(protocol))
    limits = {  # 00:00 of the limit day on the site's clock (UTC without a zone)
        s: dt.datetime.combine(day + earliest, dt.time(0), _zone(records.time_zone))
        for s, records in subjects.items()
        if (day := records.infusion_day())
    }
    # a moment at or after 00:00 of the day after the death or the end of study, on the site's clock (UTC
    # without a zone; was UTC for every site: D-19.617), is on a later day (RECORD-AFTER-DEATH,
    # RECORD-AFTER-END-OF-STUDY); the first such instant, as `tomorrows` below
    # and 00:00Z of that day, a date typed without a time, when earlier (`SubjectRecords.typed_day`, D-19.618)
    ends = {
        s: min(
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), _zone(records.time_zone)),
            dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), dt.UTC),
        )
        for s, records in subjects.items()
        if (end := records.end_day())
    }
    # a moment at or after 00:00 of the day after the site's today, on the site's clock, is on a later
    # day (DATE-FUTURE; an explicit `today` is that day at every site; D-19.613): the first such instant
    # (fold 0), so a clock set back across midnight only adds candidates that the check itself drops; and
    # 00:00Z of that day, a date typed without a time (D-19.618), when earlier (a site west of UTC)
    tomorrows = {
        s: min(
            dt.datetime.combine(tomorrow, dt.time(0), _zone(records.time_zone)),
            dt.datetime.combine(tomorrow, dt.time(0), dt.UTC),
        )
        for s, records in subjects.items()
        if (tomorrow := today_at(records.time_zone, today, now) + dt.timedelta(days=1))
    }
    zones_of = {s: records.time_zone for s, records in subjects.items()}  # SAMPLE-DAY-MISMATCH's clock
    infused = {  # the moment day 0 starts from, per subject (SAMPLE-DAY-MISMATCH; PK and PD alike)
        s: _aware(first.get("infused_at"))
        for s, records in subjects.items()
        if (first := _first_infusion(records)) is not None
    }
    for form in large:
        table = form.spec.table
        columns = form.columns
        date_column = ASSESSMENT_TABLES[table]
        # stored date-times are aware UTC: before 00:00 UTC of the limit day = an earlier day
        future = FUTURE_DATED.get(table, ())
        # the date column against each of its limits with one factorisation of the column (a million
        # rows): before the first day, at or after the end, and (DATE-FUTURE) at or after tomorrow
        candidates = _before_limits(
            columns["subject_id"],
            columns[date_column],
            [(limits, False), (ends, True), *([(tomorrows, True)] if future[:1] == (date_column,) else [])],
        )
        # no import form carries an end compared with the death (`END_DATES_AFTER_DEATH`): a therapy's
        # stop is written only by a single write, the API or a bulk upsert, and an adverse event is not a
        # large form (D-19.727)
        for name in future[1:] if future[:1] == (date_column,) else future:
            if name in columns:
                candidates += _before_limit(columns["subject_id"], columns[name], tomorrows, after=True)
        if table == "lab_result" and "analyte" in columns:
            analytes = _factorised(columns["analyte"])  # once for both lab checks (D-19.1092)
            if "value" in columns and "unit" in columns:
                candidates += _implausible_labs(analytes, columns["value"], columns["unit"])
            candidates += _misspelt_labs(analytes)
        if table == "pk_sample":
            candidates += _pk_lloq_rows(columns.get("value"), columns.get("lloq"), columns.get("blq"))
            if "analyte" in columns and "unit" in columns:
                candidates += _pk_unit_rows(columns["analyte"], columns["unit"])
        if table in SAMPLE_TABLES and "actual_day" in columns:
            candidates += _day_mismatch_rows(
                columns["subject_id"], columns["sampled_at"], columns["actual_day"], infused, zones_of
            )
        if table in SAME_DAY_TABLES:
            # the subject's stored records of the table, the imported rows over them (D-19.1101)
            within_name = SAME_DAY_TABLES[table]
            held = [
                record
                for by_table in stored_records(
                    connection, set(_objects(columns["subject_id"])) - {None}, (table,)
                ).values()
                for record in by_table.get(table, [])
            ]
            same_day, partners = _same_day_rows(
                columns["subject_id"],
                columns["assessed_at"],
                None
                if within_name is None
                else columns.get(within_name, [None] * len(columns["subject_id"])),
                held,
                within_name,
            )
            candidates += same_day
            for record in partners:
                subjects[str(record.get("subject_id"))].by_table.setdefault(table, []).append(record)
        numbers = form.row_numbers()
        for i in sorted(set(candidates)):
            values = form.rows(i, i + 1)[0]
            record = Record(table, values, True, file=form.file, row=int(numbers[i]))
            subjects[str(values["subject_id"])].by_table.setdefault(table, []).append(record)
    if written is not None and len(forms) == 1:
        _as_file_rows(subjects.values(), forms[0].spec.table, forms[0].file, written)
    found = run_edit_checks(subjects.values(), protocol, today, now=now)
    imported_tables = {form.spec.table for form in forms}
    return [
        *found,
        *_stored_side_findings(
            connection, subjects, stored, changed, imported_tables, protocol, today, found, now
        ),
        *_import_decision_findings(connection, forms, protocol, zones),
    ]


def _as_file_rows(
    subjects: Iterable[SubjectRecords],
    table: str,
    file: str,
    written: Callable[[Sequence[Record]], Sequence[int]],
) -> None:
    """Relocate the stored records of `table` that an earlier chunk of the streamed `file` wrote (`written`:
    each one's row of the file, 0 for none) as the file's imported rows (`import_findings`, D-19.1104)."""
    held = [
        (records, i)
        for records in subjects
        for i, r in enumerate(records.by_table.get(table, ()))
        if not r.new
    ]
    if not held:
        return
    rows = written([records.by_table[table][i] for records, i in held])
    for (records, i), row in zip(held, rows, strict=True):
        if row:
            old = records.by_table[table][i]
            records.by_table[table][i] = Record(table, old.values, True, file, int(row), old.record_id)


OTHER_SIDE_TABLES = ("lymphodepletion_administration", "relapse", "screening_result")
"""Checked tables outside the context whose records a check compares with a context record (the consent,
the birth, the infusion day): read for a subject whose context records an import changes (D-19.246). The
assessment tables are compared with the infusion only (ASSESSMENT-LONG-BEFORE-INFUSION,
SAMPLE-DAY-MISMATCH): read when the import changes the subject's infusion."""


def _as_new(record: Record) -> Record:
    return Record(record.table, record.values, True, record.file, record.row, record.record_id)


def _stored_side_findings(
    connection: Connection,
    subjects: Mapping[str, SubjectRecords],
    stored: Mapping[str, Mapping[str, Sequence[Record]]],
    changed: Mapping[str, set[str]],
    imported: set[str],
    protocol: Protocol | None,
    today: dt.date | None,
    found: Sequence[Finding],
    now: dt.datetime,
) -> list[Finding]:
    """The findings an import creates on stored records that it does not give (D-19.246): for each subject
    whose context records (`changed`: subject -> the context tables changed or added) the import changes,
    the stored records of the other forms that the checks compare with them (`OTHER_SIDE_TABLES`, the
    assessment tables when the infusion changes; the stored context records not imported) are checked with
    the imported records and without them (the stored state), as a single-record write is
    (`write_findings`): a finding in the first state and not in the second is created by the import,
    located by table and record id. A check that fires on an imported row of the subject is reported there
    only (INFUSION-ONCE fires on both infusions); one already in `found` is not repeated."""
    # a subject with nothing stored (new in this import) has no stored record for the import to act on:
    # the checks of `found` saw all its records (a first import reads and re-checks nothing more)
    changed = {s: tables for s, tables in changed.items() if stored.get(s)}
    wanted: dict[tuple[str, ...], list[str]] = {}
    for subject_id, tables in changed.items():
        # a table restated by a partial re-import is held already (its stored records, checked as imported)
        held = subjects[subject_id].by_table
        restated = {t for t, rows in held.items() if any(r.new and r.file is None for r in rows)}
        other = [t for t in OTHER_SIDE_TABLES if t not in imported and t not in restated]
        if "infusion" in tables:
            other += [t for t in ASSESSMENT_TABLES if t not in imported and t not in restated]
        wanted.setdefault(tuple(other), []).append(subject_id)
    extra: dict[str, dict[str, list[Record]]] = {}
    for other_side, subject_ids in wanted.items():
        if other_side:
            extra.update(stored_records(connection, subject_ids, other_side))
    seen = {_key(f) for f in found}
    imported_checks: dict[str, set[str]] = {}  # subject -> the checks that fired on its imported rows
    for f in found:
        if f.record.file is not None and f.subject_id is not None:
            imported_checks.setdefault(f.subject_id, set()).add(f.check.id)
    out: list[Finding] = []
    for subject_id in sorted(changed):
        held = subjects[subject_id].by_table
        known = {(t, r.record_id) for t, rows in held.items() for r in rows if r.record_id is not None}
        added = {
            t: [r for r in rows if (t, r.record_id) not in known]
            for t, rows in extra.get(subject_id, {}).items()
        }
        # every stored record known of the subject: the context as stored, the stored records held besides
        # (restated by a partial re-import, added after a death or an end of study), the other side read here
        before: dict[str, list[Record]] = {
            t: [_as_new(r) for r in rows] for t, rows in stored.get(subject_id, {}).items()
        }
        after: dict[str, list[Record]] = {}
        stored_only: set[int] = set()
        for table, rows in held.items():
            for record in rows:
                if record.file is not None:  # an imported row
                    after.setdefault(table, []).append(record)
                    continue
                copy = _as_new(record)
                after.setdefault(table, []).append(copy)
                if table not in CONTEXT_TABLES:
                    before.setdefault(table, []).append(_as_new(record))
                if not record.new:
                    stored_only.add(id(copy))
        for table, rows in added.items():
            for record in rows:
                copy = _as_new(record)
                after.setdefault(table, []).append(copy)
                before.setdefault(table, []).append(_as_new(record))
                stored_only.add(id(copy))
        if not stored_only:
            continue
        on_imported = imported_checks.get(subject_id, set())
        zone = subjects[subject_id].time_zone  # the site's calendar (D-19.607)
        earlier = {
            _key(f)
            for f in run_edit_checks([SubjectRecords(subject_id, before, zone)], protocol, today, now=now)
        }
        for finding in run_edit_checks([SubjectRecords(subject_id, after, zone)], protocol, today, now=now):
            key = _key(finding)
            if (
                id(finding.record) in stored_only
                and key not in earlier
                and key not in seen
                and finding.check.id not in on_imported
            ):
                seen.add(key)
                out.append(finding)
    return out


def _objects(values: Sequence[Any]) -> Any:
    """A 1-D numpy object array of scalar `values` (text, numbers, date-times, None)."""
    import numpy as np

    # fromiter: each value kept as one cell, several times faster than assigning a list to a slice
    return np.fromiter(values, dtype=object, count=len(values))


def _add_stored_after_end(
    connection: Connection, subjects: Mapping[str, SubjectRecords], imported: set[str]
) -> None:
    """For each subject whose date of death a new (imported) adverse event gives, or whose end of study a
    new subject row gives: the stored records of the dated tables outside the context that this import does
    not read (`AFTER_DEATH_TABLES`), dated after the earlier of the two, added as stored records
    (`RECORD-AFTER-DEATH` and `RECORD-AFTER-END-OF-STUDY` report them, located by table and id)."""
    died: dict[str, dt.date] = {}
    for s, records in subjects.items():
        found = [f for f in (records.death(), records.end_of_study()) if f is not None and f[1].new]
        if found:
            died[s] = min(day for day, _ in found)
    tables = [t for t in AFTER_DEATH_TABLES if t not in imported]
    if not died or not tables:
        return
    for subject_id, by_table in stored_records(connection, died, tables).items():
        for table, rows in by_table.items():
            held = subjects[subject_id].by_table.setdefault(table, [])
            known = {r.record_id for r in held if r.record_id is not None}  # restated by a partial import
            held.extend(
                r
                for r in rows
                if r.record_id not in known
                and any(
                    (day := subjects[subject_id].typed_day(r.get(column))) is not None
                    and day > died[subject_id]
                    for column in (DATED_TABLES[table], END_DATES_AFTER_DEATH.get(table))
                    if column is not None
                )
            )


def _before_limit(
    subject_ids: Sequence[Any],
    moments: Sequence[Any],
    limits: Mapping[str, dt.datetime],
    *,
    after: bool = False,
) -> list[int]:
    """Positions of the rows whose moment is before their subject's limit (`after`: at or after it; a row
    without a moment or whose subject has no limit: never). Each distinct (subject, moment) pair is
    compared once."""
    return _before_limits(subject_ids, moments, [(limits, after)])


def _before_limits(
    subject_ids: Sequence[Any],
    moments: Sequence[Any],
    bounds: Sequence[tuple[Mapping[str, dt.datetime], bool]],
) -> list[int]:
    """`_before_limit` of the same rows for each (limits, after) of `bounds` in turn, the positions of
    each appended in that order; the subjects and moments are factorised once for all of them."""
    import numpy as np
    import pandas as pd

    subject_codes, subject_texts = pd.factorize(_objects(subject_ids), sort=False)  # None: -1
    moment_codes, moment_values = pd.factorize(_objects(moments), sort=False)
    # exact instants as whole microseconds since 1970 UTC (aware date-times: the order of `<`)
    moment_us = np.array([_microseconds(m) for m in moment_values.tolist()] + [0], dtype=np.int64)
    moment_of_row = moment_us[moment_codes]
    dated = moment_codes >= 0
    subjects = subject_texts.tolist()
    found: list[int] = []
    for limits, after in bounds:
        # a subject without a limit: no moment is before it (at or after it, with `after`)
        never = np.iinfo(np.int64).max if after else np.iinfo(np.int64).min
        limit_us = np.array(
            [never if (limit := limits.get(s)) is None else _microseconds(limit) for s in subjects]
            + [never],  # code -1: no subject
            dtype=np.int64,
        )
        limit_of_row = limit_us[subject_codes]
        chosen = moment_of_row >= limit_of_row if after else moment_of_row < limit_of_row
        found += np.flatnonzero(chosen & dated).tolist()
    return found


def _same_day_rows(
    subject_ids: Sequence[Any],
    moments: Sequence[Any],
    within: Sequence[Any] | None,
    stored: Sequence[Record],
    within_name: str | None,
) -> tuple[list[int], list[Record]]:
    """The imported rows (positions) and the stored records (`stored`: of the same table and subjects; one
    whose natural key an imported row gives is replaced by it, so not compared) that `EDSS-SAME-DAY` or
    `ACUITY-SAME-DAY` could group (D-19.1101): those of a subject (and `within`, the eye) whose
    ``assessed_at`` is within `SAME_DAY_SPAN` of another's. Vectorised over the rows (one sort), as the
    other pre-filters of a large form: the check itself places the few kept on the site's calendar."""
    import numpy as np
    import pandas as pd

    n = len(subject_ids)
    every_subject = np.concatenate([_objects(subject_ids), _objects([r.get("subject_id") for r in stored])])
    every_moment = np.concatenate([_objects(moments), _objects([r.get("assessed_at") for r in stored])])
    subject_codes, _ = pd.factorize(every_subject, sort=False)  # None: -1
    moment_codes, moment_values = pd.factorize(every_moment, sort=False)
    moment_us = np.array(
        [_microseconds(_aware(m)) if isinstance(m, dt.datetime) else 0 for m in moment_values.tolist()] + [0],
        dtype=np.int64,
    )
    timed = np.array([isinstance(m, dt.datetime) for m in moment_values.tolist()] + [False], dtype=bool)
    if within is None:
        within_codes = np.zeros(len(every_subject), dtype=np.intp)
    else:
        every_within = np.concatenate(
            [_objects(within), _objects([r.get(within_name or "") for r in stored])]
        )
        within_codes, _ = pd.factorize(every_within, sort=False)
    us = moment_us[moment_codes]
    keep = (subject_codes >= 0) & timed[moment_codes] & (within_codes >= 0)
    # a stored record whose natural key (subject, instant, eye) an imported row gives is replaced by it
    if stored:
        keys = pd.DataFrame({"s": subject_codes, "w": within_codes, "t": us})
        imported_keys = keys.iloc[:n][keep[:n]].drop_duplicates()
        matched = keys.iloc[n:].merge(imported_keys, how="left", indicator=True)["_merge"] == "both"
        keep[n:] &= ~matched.to_numpy()
    chosen = np.flatnonzero(keep)
    order = chosen[np.lexsort((us[chosen], within_codes[chosen], subject_codes[chosen]))]
    s, w, t = subject_codes[order], within_codes[order], us[order]
    span = SAME_DAY_SPAN // dt.timedelta(microseconds=1)
    close = (s[1:] == s[:-1]) & (w[1:] == w[:-1]) & (t[1:] - t[:-1] < span)
    near = np.zeros(len(order), dtype=bool)
    near[1:] |= close
    near[:-1] |= close
    found = order[near]
    return sorted(int(i) for i in found if i < n), [stored[int(i) - n] for i in found if i >= n]


def _microseconds(moment: dt.datetime) -> int:
    """Whole microseconds from 1970-01-01T00:00Z to an aware date-time."""
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _day_mismatch_rows(
    subject_ids: Sequence[Any],
    moments: Sequence[Any],
    days: Sequence[Any],
    infused: Mapping[str, dt.datetime],
    zones: Mapping[str, str | None],
) -> list[int]:
    """Positions of the sample rows whose ``actual_day`` differs from their moment counted from their
    subject's infusion by more than `SAMPLE_DAY_TOLERANCE` (`SAMPLE-DAY-MISMATCH`; a row without a day, a
    moment or an infused subject: never). A moment at exactly 00:00:00Z is read on the clock of its subject's
    site (`zones`: subject → IANA zone, None: UTC) as the check reads it, `_sample_span_days` (a date typed
    without a time west of UTC: the span of that date; D-19.1347), so the rows kept are the check's own."""
    import numpy as np
    import pandas as pd

    subject_codes, subject_texts = pd.factorize(_objects(subject_ids), sort=False)  # None: -1
    moment_codes, moment_values = pd.factorize(_objects(moments), sort=False)
    infused_us = np.array(
        [
            np.nan if (when := infused.get(s)) is None else float(_microseconds(when))
            for s in subject_texts.tolist()
        ]
        + [np.nan],
        dtype=float,
    )
    moment_us = np.array(
        [
            float(_microseconds(_aware(m))) if isinstance(m, dt.datetime) else np.nan
            for m in moment_values.tolist()
        ]
        + [np.nan],
        dtype=float,
    )
    actual = np.array(days, dtype=float)  # None: NaN
    elapsed = (moment_us[moment_codes] - infused_us[subject_codes]) / 86_400e6
    earliest, latest = elapsed, elapsed.copy()
    # 00:00:00Z, perhaps a date typed without a time: each (subject, moment) pair of such rows through the
    # check's own reading (`_sample_span_days`) with the subject's zone
    midnight = np.array(
        [
            isinstance(m, dt.datetime) and _aware(m).astimezone(dt.UTC).timetz() == _MIDNIGHT
            for m in moment_values.tolist()
        ]
        + [False],
        dtype=bool,
    )
    rows = np.flatnonzero(midnight[moment_codes] & (subject_codes >= 0))
    spans: dict[tuple[int, int], tuple[float, float]] = {}
    for i in rows.tolist():
        key = (int(subject_codes[i]), int(moment_codes[i]))
        if key not in spans:
            subject = subject_texts[key[0]]
            when = infused.get(subject)
            spans[key] = (
                (np.nan, np.nan)
                if when is None
                else _sample_span_days(moment_values[key[1]], _zone(zones.get(subject)), when)
            )
        earliest[i], latest[i] = spans[key]
    with np.errstate(invalid="ignore"):  # NaN compares False
        off = (actual < earliest - SAMPLE_DAY_TOLERANCE) | (actual > latest + SAMPLE_DAY_TOLERANCE)
    return np.flatnonzero(off).tolist()


_MIDNIGHT = dt.time(0, tzinfo=dt.UTC)


def _pk_lloq_rows(values: Any, lloqs: Any, blqs: Any) -> list[int]:
    """Positions of the PK rows `PK-VALUE-BELOW-LLOQ` or `PK-BLQ-WITHOUT-LLOQ` fires on (a column the form
    does not give: blank in every row)."""
    import numpy as np

    n = len(next(c for c in (values, lloqs, blqs, ()) if c is not None))
    value = np.full(n, np.nan) if values is None else np.array(values, dtype=float)  # None: NaN
    lloq = np.full(n, np.nan) if lloqs is None else np.array(lloqs, dtype=float)
    flagged = (
        np.zeros(n, dtype=bool)
        if blqs is None
        else np.fromiter((_flagged(b) for b in blqs), dtype=bool, count=n)
    )
    with np.errstate(invalid="ignore"):
        below = ~flagged & (value < lloq)  # NaN (blank) compares False
    return np.flatnonzero(below | (flagged & np.isnan(lloq))).tolist()


def _pk_unit_rows(analytes: Sequence[Any], units: Sequence[Any]) -> list[int]:
    """Positions of the PK rows `PK-UNIT-DIMENSION` fires on, each distinct (analyte, unit) judged once."""
    judged: dict[tuple[Any, Any], bool] = {}
    out: list[int] = []
    for i, pair in enumerate(zip(analytes, units, strict=True)):
        if pair not in judged:
            judged[pair] = pk_unit_dimension(*pair) is not None
        if judged[pair]:
            out.append(i)
    return out


def _factorised(values: Sequence[Any]) -> tuple[Any, Any]:
    """(code of each value's distinct value, the distinct values) of scalar `values`; None: code -1
    (``pandas.factorize``, in the order first seen)."""
    import pandas as pd

    return pd.factorize(_objects(values), sort=False)


def _misspelt_labs(analytes: tuple[Any, Any]) -> list[int]:
    """Positions of the lab rows whose analyte likely misspells a known test (`likely_lab_test`), each
    distinct analyte looked at once; `analytes`: the analyte column `_factorised`."""
    import numpy as np

    codes, texts = analytes
    misspelt = np.array(
        [isinstance(t, str) and likely_lab_test(t) is not None for t in texts.tolist()] + [False], dtype=bool
    )
    return np.flatnonzero(misspelt[codes]).tolist()


def _implausible_labs(analytes: tuple[Any, Any], values: Sequence[Any], units: Sequence[Any]) -> list[int]:
    """Positions of the lab rows whose value, in the canonical unit of a graded analyte, is implausible
    (`_plausible`); the unit factor of each distinct (analyte, unit) pair is looked up once. `analytes`:
    the analyte column `_factorised`."""
    import numpy as np

    analyte_codes, analyte_texts = analytes  # None: -1
    unit_codes, unit_texts = _factorised(units)
    n_units = max(len(unit_texts), 1)
    given = (analyte_codes >= 0) & (unit_codes >= 0)
    keys = analyte_codes[given].astype(np.int64) * n_units + unit_codes[given]
    if len(analyte_texts) * n_units <= 4 * len(keys) + 4096:
        # few pairs possible (a lab file's analytes × units): counted in place of `np.unique`'s sort of
        # every row (the same pairs, in the same order, D-19.1092)
        pairs = np.flatnonzero(np.bincount(keys, minlength=len(analyte_texts) * n_units))
        index_of_key = np.zeros(len(analyte_texts) * n_units, dtype=np.intp)
        index_of_key[pairs] = np.arange(len(pairs))
        pair_of_given = index_of_key[keys]
    else:
        pairs, pair_of_given = np.unique(keys, return_inverse=True)
    factor_of_pair = np.full(len(pairs) + 1, np.nan)  # the last: rows without an analyte or a unit
    low_of_pair = np.full(len(pairs) + 1, np.nan)
    high_of_pair = np.full(len(pairs) + 1, np.nan)
    for k, key in enumerate(pairs.tolist()):
        analyte, unit = analyte_texts[key // n_units], unit_texts[key % n_units]
        if isinstance(analyte, str) and isinstance(unit, str):
            found = _canonical_factor(analyte.lower(), unit)
            if found is not None:
                factor_of_pair[k] = found[0]
                low_of_pair[k], high_of_pair[k] = PLAUSIBLE_LAB_RANGE[analyte.lower()]
    pair_of_row = np.full(len(analyte_codes), len(pairs), dtype=np.intp)
    pair_of_row[given] = pair_of_given.reshape(-1)
    numbers = np.array(values, dtype=float)  # None: NaN
    factor, low, high = factor_of_pair[pair_of_row], low_of_pair[pair_of_row], high_of_pair[pair_of_row]
    with np.errstate(invalid="ignore"):
        canonical = numbers * factor
        implausible = (canonical > LAB_SLIP_FACTOR * high) | (
            (low > 0) & (canonical >= 0) & (canonical < low)
        )
    return np.flatnonzero(implausible & ~np.isnan(factor) & ~np.isnan(numbers)).tolist()


def import_site_zones(connection: Connection, forms: Sequence[Any]) -> dict[str, str]:
    """site_id → IANA time zone as an import leaves the sites: the stored `site.time_zone` values
    (`site_time_zones`) with the validated ``site`` forms' rows laid over them — a new site's zone, a
    changed one, a blank cell clearing it (a file without the column leaves it as stored). What the
    import's checks count a subject's days and read its today on (D-19.607, D-19.613, D-19.619)."""
    zones = _site_time_zones(connection)
    for form in forms:
        if form.spec.table != "site":
            continue
        for values in form.rows():
            site = values.get("site_id")
            if site is None or TIME_ZONE_COLUMN not in values:
                continue
            zone = values[TIME_ZONE_COLUMN]
            if zone:
                zones[str(site)] = str(zone)
            else:
                zones.pop(str(site), None)
    return zones


def _import_decision_findings(
    connection: Connection,
    forms: Sequence[Any],
    protocol: Protocol | None,
    zones: Mapping[str, str] | None = None,
) -> list[Finding]:
    """`DECISION_BEFORE_DLT_WINDOW` of the imported escalation decisions that are new or changed (a row
    restating its stored record unchanged gets nothing, D-19.836), with every stored and imported infusion
    and the stored decisions (an imported row with a stored natural key replaces it)."""
    from cartrial.store.models import STUDY_TABLES

    if protocol is None or not any(form.spec.table == "escalation_decision" for form in forms):
        return []
    new: dict[str, list[Record]] = {
        "escalation_decision": [],
        "infusion": [],
        "adverse_event": [],
        "subject": [],
    }
    for form in forms:
        table = form.spec.table
        if table not in new:
            continue
        numbers = form.row_numbers()
        new[table] += [
            Record(table, values, True, file=form.file, row=int(numbers[position]))
            for position, values in enumerate(form.rows())
        ]
    if not new["escalation_decision"]:
        return []
    # a decision row restating its stored record unchanged is not written and gets nothing, as a single
    # write changing nothing (D-19.796, D-19.836): when every row is such, the study's infusions, adverse
    # events and subjects are not read (a stored date no reader reads among them refused the whole import)
    decisions = stored_table_records(connection, "escalation_decision")
    keys = STUDY_TABLES["escalation_decision"].natural_key
    by_key = {tuple(r.get(k) for k in keys): r for r in decisions}
    new["escalation_decision"] = [
        record
        for record in new["escalation_decision"]
        if not restates(by_key.get(tuple(record.get(k) for k in keys)), record.values)
    ]
    if not new["escalation_decision"]:
        return []
    merged = {
        table: _merged(
            decisions if table == "escalation_decision" else stored_table_records(connection, table),
            rows,
            STUDY_TABLES[table].natural_key,
        )
        for table, rows in new.items()
    }
    return decision_window_findings(
        merged["escalation_decision"],
        merged["infusion"],
        protocol,
        merged["adverse_event"],
        merged["subject"],
        # the site's calendar as the import leaves it (D-19.607, D-19.619)
        _site_time_zones(connection) if zones is None else zones,
    )


_NO_CLOSURE = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
"""The closure time of a closed edit-check query the trail does not know (`raised_query_keys`)."""


def raised_query_keys(connection: Connection) -> dict[tuple[Any, ...], dt.datetime | None]:
    """The edit-check queries already raised, by (table, record id, field, check id): None while one is open
    or answered (the check is not raised again on that field), else the latest closure (D-19.122: a closed
    query stands for the value it was closed on; `record_queries` raises the check anew once the field has
    changed after it). The closure's time is the trail's (the query's newest audit row), as the change
    it is compared with (`_changed_since`): the query's own `updated_at` is a housekeeping column outside
    the trail, which a direct database write could move without `audit verify` noticing (D-19.412)."""
    from sqlalchemy import func, select

    from cartrial.store.models import STUDY_TABLES, AuditLog

    queries = STUDY_TABLES["data_query"].__table__  # type: ignore[attr-defined]
    audit = AuditLog.__table__
    by_system = system_closed(connection)
    closed_ids = select(queries.c.id).where(
        queries.c.raised_by == EDIT_CHECK_USER, queries.c.status == "closed"
    )
    closed_at: dict[int, dt.datetime] = {
        int(record_id): when
        for record_id, when in connection.execute(
            select(audit.c.record_id, func.max(audit.c.recorded_at))
            .where(audit.c.table_name == "data_query", audit.c.record_id.in_(closed_ids))
            .group_by(audit.c.record_id)
        )
    }
    rows = connection.execute(
        select(
            queries.c.id,
            queries.c.table_name,
            queries.c.record_id,
            queries.c.field,
            queries.c.text,
            queries.c.status,
        ).where(queries.c.raised_by == EDIT_CHECK_USER)
    )
    out: dict[tuple[Any, ...], dt.datetime | None] = {}
    for query_id, table, record_id, field_name, text, status in rows:
        # a closed query without a trail row of its own was written behind cartrial's back (`audit verify`
        # reports it): its closure stands for nothing, so any change raises the check again
        closure = closed_at.get(int(query_id), _NO_CLOSURE)
        check_id = check_of({"text": text})
        key = (table, record_id, field_name, check_id)
        if status == "closed" and query_id in by_system:
            continue  # closed by the system when the check no longer fired: a new firing is a new query
        previous = out.get(key, _NO_CLOSURE)
        if status != "closed":
            out[key] = None
        elif key not in out or (previous is not None and closure > previous):
            out[key] = closure  # a closed query's last update is its closure (closed is final, D-19.29)
    return out


def system_closed(connection: Connection) -> set[int]:
    """Ids of the data queries the system closed (`reconcile_queries`: their check no longer fired), read
    from the audit trail (the status update by `EDIT_CHECK_USER`)."""
    from sqlalchemy import select

    from cartrial.store.models import AuditLog

    audit = AuditLog.__table__
    rows = connection.execute(
        select(audit.c.record_id).where(
            audit.c.table_name == "data_query",
            audit.c.field == "status",
            audit.c.action == "update",
            audit.c.username == EDIT_CHECK_USER,
        )
    )
    return {int(r[0]) for r in rows if r[0] is not None}


SYSTEM_CLOSURE = "closed by the system: edit check {check} no longer fires on {where} after {write}"
"""The audit reason of a query `reconcile_queries` closes (the check, the record and field, the write)."""

DELETED_CLOSURE = "closed by the system: the record was found deleted — edit check {check} on {where}"
"""The audit reason of an edit check's query `reconcile_queries` closes because its record was deleted
(D-19.731): the record no longer exists, so the question asked about it has no object. It names no write:
the reconciling write found the record gone, which an earlier write may have deleted."""


def reconcile_queries(
    tx: Any,
    subject_ids: Iterable[Any],
    protocol: Protocol | None = None,
    today: dt.date | None = None,
    *,
    now: dt.datetime | None = None,
    raised_from: int = 0,
) -> list[str]:
    """Close the open or answered data queries that the edit checks raised on the records of `subject_ids`
    and whose check no longer fires on the stored records after the write in the open transaction `tx`
    (D-19.164): a disposition set back to ongoing or dated later, a date corrected, a dose fixed. Each
    closure is an audited update by `EDIT_CHECK_USER` whose reason names the check, the record and the
    write. Only subject-level checks (`EDIT_CHECKS`) on a record that still exists are judged; the open
    queries of a deleted record are closed with the reason "the record was found deleted"
    (`DELETED_CLOSURE`, D-19.731); a query a person raised is never touched. Within
    `stored_dates.leaving_out_unreadable` a record no reader reads is left out (the records with open
    queries too) and no query of its subject is closed (D-19.562).
    `now`: the instant of the import or write whose findings raised the queries (default the current one),
    so that a query it raised is judged at the same site today (D-19.621). A query the write raised
    (``tx.raised_queries`` from `raised_from`, the count when the write began) is never closed by it; one an
    earlier write of the same transaction raised is judged (D-19.652). Returns the codes closed."""
    from sqlalchemy import select

    from cartrial.store.bulk import apply_update
    from cartrial.store.fields import DATABASE_COLUMNS, study_protocol
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import left_out_now, read_leaving_out, subjects_left_out

    wanted = sorted({str(s) for s in subject_ids if s is not None})
    if not wanted:
        return []
    queries = STUDY_TABLES["data_query"].__table__  # type: ignore[attr-defined]
    subject_checks = {check.id for check, _ in EDIT_CHECKS} | {CHECKS_LEFT_OUT.id}  # never firing here
    open_rows: list[Any] = []
    for start in range(0, len(wanted), 500):
        open_rows += [
            row
            for row in tx.connection.execute(
                select(queries).where(
                    queries.c.raised_by == EDIT_CHECK_USER,
                    queries.c.status != "closed",
                    queries.c.subject_id.in_(wanted[start : start + 500]),
                )
            ).mappings()
            if check_of(row) in subject_checks
        ]
    if not open_rows:
        return []
    subjects = {str(row["subject_id"]) for row in open_rows}
    stored = stored_records(tx.connection, subjects)
    ids: dict[str, set[int]] = {}
    for row in open_rows:
        if row["table_name"] not in CONTEXT_TABLES and row["record_id"] is not None:
            ids.setdefault(str(row["table_name"]), set()).add(int(row["record_id"]))
    for table, wanted_ids in ids.items():
        model_table = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
        chosen = sorted(wanted_ids)
        for start in range(0, len(chosen), 500):
            query = select(model_table).where(model_table.c.id.in_(chosen[start : start + 500]))
            # through the one skip-and-note read: within a write's leaving-out a record no reader reads
            # is left out and named, its queries kept open below (D-19.562)
            for found in read_leaving_out(tx.connection, query, partial(_fetch_rows, tx.connection, query)):
                values = {k: v for k, v in found.items() if k not in DATABASE_COLUMNS or k == "id"}
                record = Record(table, values, new=False, record_id=int(found["id"]))
                stored.setdefault(str(found["subject_id"]), {}).setdefault(table, []).append(record)
    # a queried EDSS or acuity is judged with the subject's others of its table (EDSS-SAME-DAY,
    # ACUITY-SAME-DAY compare them; D-19.1101)
    for table in ids.keys() & SAME_DAY_TABLES.keys():
        queried = {str(row["subject_id"]) for row in open_rows if row["table_name"] == table}
        for subject_id, by_table in stored_records(tx.connection, queried, (table,)).items():
            held = stored.setdefault(subject_id, {}).setdefault(table, [])
            known = {r.record_id for r in held}
            held.extend(r for r in by_table.get(table, []) if r.record_id not in known)
    present = {
        (table, record.record_id)
        for by_table in stored.values()
        for table, rows in by_table.items()
        for record in rows
    }
    states = [
        SubjectRecords(
            subject_id,
            {
                table: [Record(r.table, r.values, True, record_id=r.record_id) for r in rows]
                for table, rows in by_table.items()
            },
        )
        for subject_id, by_table in stored.items()
    ]
    # the checks of a subject with records left out (`stored_dates.leaving_out_unreadable`) are partial:
    # a check that does not fire may not fire only because a record was not read, so none of its queries
    # is closed while records are left out (they stay open; the write names them, D-19.562)
    left_out = left_out_now()
    partial_subjects = set(subjects_left_out(tx.connection, left_out)) if left_out else set()
    # a subject with an open CHECKS-LEFT-OUT query: its left-out record may be in any checked table, which
    # the read above (the context tables, the queried records) need not touch; every checked table is read
    # (leaving out, D-19.562), and the subject is partial while any record is still left out (D-19.652)
    partial_subjects |= _still_left_out(
        tx.connection,
        {str(row["subject_id"]) for row in open_rows if check_of(row) == CHECKS_LEFT_OUT.id},
        CHECKED_TABLES - set(CONTEXT_TABLES),  # the context tables' left out are in `left_out` (read above)
    )
    # a queried record not read above: deleted when its id is no longer in its table (D-19.731); only its
    # id is read, so an unreadable date of a record that still exists never counts as a deletion
    absent: dict[str, set[int]] = {}
    for row in open_rows:
        if row["record_id"] is not None and (str(row["table_name"]), int(row["record_id"])) not in present:
            absent.setdefault(str(row["table_name"]), set()).add(int(row["record_id"]))
    deleted: set[tuple[str, int]] = set()
    for table, gone in absent.items():
        model_table = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
        chosen = sorted(gone)
        for start in range(0, len(chosen), 500):
            found_ids = tx.connection.execute(
                select(model_table.c.id).where(model_table.c.id.in_(chosen[start : start + 500]))
            ).scalars()
            gone -= {int(i) for i in found_ids}
        deleted |= {(table, i) for i in gone}
    raised_now = {str(getattr(q, "code", "")) for q in list(getattr(tx, "raised_queries", ()))[raised_from:]}
    if protocol is None:
        protocol = study_protocol(tx.connection)
    site_zones_of(tx.connection, states)  # the site's calendar (D-19.607)
    firing = {
        (f.check.id, f.record.table, f.record.record_id, f.field)
        for f in run_edit_checks(states, protocol, today, now=now)
    }
    closed: list[str] = []
    actor, source, reason = tx.actor, tx.source, tx.reason
    write = f"the write ({source})"
    tx.actor = type(actor)(username=EDIT_CHECK_USER, role=EDIT_CHECK_ROLE, site_id=None)
    tx.source = f"edit checks ({source})"
    try:
        for row in open_rows:
            check_id = check_of(row)
            table, record_id = str(row["table_name"]), row["record_id"]
            if str(row["subject_id"]) in partial_subjects:
                continue  # its subject's checks could not read every record: kept open (D-19.562)
            if str(row["query_code"]) in raised_now:
                continue  # raised by this very write: never closed by it (D-19.652)
            if record_id is None:
                continue
            where = f"{table}.{row['field']} of {table} record {record_id}"
            if (table, int(record_id)) not in present:
                if (table, int(record_id)) not in deleted:
                    continue  # not read here (moved to a subject not read): not judged
                closure = DELETED_CLOSURE.format(check=check_id, where=where)  # record deleted (D-19.731)
            elif (check_id, table, int(record_id), row["field"]) in firing:
                continue
            else:
                closure = SYSTEM_CLOSURE.format(check=check_id, where=where, write=write)
            queries, version = STUDY_TABLES["data_query"], int(row["version"])
            apply_update(tx, queries, "data_query", row, {"status": "closed"}, version, closure)
            closed.append(str(row["query_code"]))
    finally:
        tx.actor, tx.source, tx.reason = actor, source, reason
    return closed


def check_of(query: Mapping[str, Any]) -> str:
    """The edit check id a system data query's text names (``Edit check <ID> ...``)."""
    return str(query["text"]).removeprefix("Edit check ").split(" ", 1)[0]


def _still_left_out(
    connection: Connection, subject_ids: set[str], tables: Iterable[str] = CHECKED_TABLES
) -> set[str]:
    """The subjects of `subject_ids` whose `tables` (the checked tables, `CHECKED_TABLES`) a read leaving
    out (`left_out_of`) cannot read whole. Their CHECKS-LEFT-OUT queries stay open (D-19.652)."""
    if not subject_ids:
        return set()
    found = left_out_of(connection, subject_ids, tables)
    if found is None:
        return set(subject_ids)
    from cartrial.store.stored_dates import subjects_left_out

    return set(subjects_left_out(connection, found)) & subject_ids if found.records else set()


def left_out_of(
    connection: Connection, subject_ids: Iterable[str], tables: Iterable[str] = CHECKED_TABLES
) -> LeftOut | None:
    """The records of `subject_ids` in `tables` that a read leaving out (`stored_dates.read_leaving_out`,
    a leaving-out of its own: a write's answer names only what its checks left out) leaves out, with their
    problems (names, never values); None if the read is refused outright (an unlocated problem, past
    `stored_dates.LEAVE_OUT_BOUND`). Only the id and the columns a reader can refuse are read (stored dates,
    numbers, whole numbers and JSON documents: a column type with ``stored_readable``, D-19.1096–1099), never
    the whole records (D-19.652)."""
    from sqlalchemy import select

    from cartrial.errors import StoredValueError
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import leaving_out_unreadable, read_leaving_out

    wanted = sorted({str(s) for s in subject_ids})
    with leaving_out_unreadable() as unseen:
        for table in sorted(tables):
            model_table = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
            dates = [c for c in model_table.c if hasattr(c.type, "stored_readable")]  # and numbers
            if not dates:
                continue
            for start in range(0, len(wanted), 500):
                query = select(model_table.c.id, *dates).where(
                    model_table.c.subject_id.in_(wanted[start : start + 500])
                )
                try:
                    read_leaving_out(connection, query, partial(_fetch_rows, connection, query))
                except StoredValueError:
                    return None
    return unseen


def _changed_since(
    connection: Connection, table: str, record_id: Any, field_name: str, when: dt.datetime
) -> bool:
    """Whether the audit trail records a change of `field_name` of the record after `when` (an update's row
    per changed field; the record's insertion is older than a query raised on it)."""
    from sqlalchemy import select

    from cartrial.store.models import AuditLog

    audit = AuditLog.__table__
    found = connection.execute(
        select(audit.c.id)
        .where(
            audit.c.table_name == table,
            audit.c.record_id == record_id,
            audit.c.field == field_name,
            audit.c.recorded_at > when,
        )
        .limit(1)
    ).first()
    return found is not None


__all__ = [
    "CHECKS",
    "CHECKS_BY_ID",
    "CHECKS_LEFT_OUT",
    "DATED_TABLES",
    "DECISION_BEFORE_DLT_WINDOW",
    "EDIT_CHECKS",
    "EDIT_CHECK_USER",
    "END_DATES_AFTER_DEATH",
    "EditCheck",
    "Finding",
    "RaisedQuery",
    "Record",
    "Severity",
    "SubjectRecords",
    "WriteContext",
    "blind_hard_checks",
    "check_delete",
    "check_of",
    "check_single_write",
    "decision_dlts",
    "decision_window_findings",
    "hard_problems",
    "import_findings",
    "left_out_finding",
    "left_out_of",
    "reconcile_queries",
    "reconcile_write",
    "record_queries",
    "run_edit_checks",
    "stored_records",
    "stored_table_records",
    "write_context",
    "write_findings",
]
