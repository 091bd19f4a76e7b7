"""Analysis populations: enrolled, safety set, DLT-evaluable (efficacy-evaluable sets come from the engines'
per-subject evaluability, see `cartrial.analysis.efficacy`).

The protocol has no ``analysis:`` section yet; these are the documented defaults (docs/analysis.md):

- **enrolled**: every subject in the snapshot (consented on or before the cut-off);
- **safety**: enrolled subjects with a CAR-T infusion on or before the cut-off (ICH E9 "all treated");
  the subjects left out are named by reason, those lymphodepleted but not infused apart from those never
  lymphodepleted (`LYMPHODEPLETED_NOT_INFUSED`, `NOT_INFUSED`; their adverse events are listed in
  ``ae_not_infused``, D-19.88);
- **dlt_evaluable**: safety-set subjects who completed the protocol's DLT window by the cut-off
  (infusion day + `escalation.dlt_window_days` ≤ cut-off, and alive on that day: a death on the window's last
  day does not complete it, `cartrial.protocol.dlt.dlt_followed_days`, D-19.231) or had a DLT inside the
  window by the protocol's DLT rules (`escalation.dlt_rules` on the graded events, `cartrial.analysis.dlt`)
  — the usual 3+3 rule (Storer 1989; the protocol's `escalation` section). A subject not evaluable only
  because the window is not complete at the cut-off (on study, alive, no DLT yet) is ``dlt_window_pending``:
  evaluable later; one who died or left the study inside the window without a DLT never will be (replaced
  in a 3+3; the escalation dashboard's rule, D-19.123).

A subject's follow-up ends at the death (`death_dates`) when it comes before the cut-off (D-19.83), and at
the last contact when the subjects form records that the study ended (completed, withdrawn, lost to
follow-up; `end_of_study`, `follow_up_ends`, D-19.92). The populations dataset gives each subject's
end-of-study status and reason (ADSL EOSSTT/DCSREAS, DS disposition events).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartrial.analysis.model import Population, stored_rows
from cartrial.columns import (
    TIME_ZONE_COLUMN,
    checked_site_zones,
    iso_instants,
    site_cell_date,
    time_zone_of,
    utc_moment,
)
from cartrial.protocol.death import DEATH_SOURCE, death_day, is_fatal
from cartrial.protocol.disposition import (
    DEATH,
    Disposition,
    StudyStatus,
    ended_before_death,
    parse_disposition,
)
from cartrial.protocol.dlt import dlt_evaluable, dlt_followed_days

ENROLLED = "enrolled"
SAFETY = "safety"
DLT_EVALUABLE = "dlt_evaluable"
FULL_ANALYSIS = "full_analysis"
"""The full analysis set (ADSL.FASFL): every subject infused, the subjects of the safety set (D-19.1435)."""
NOT_INFUSED = "not infused by the cut-off"
"""Why an enrolled subject who had no lymphodepletion dose either is not in the safety set."""
LYMPHODEPLETED_NOT_INFUSED = "lymphodepleted, not infused by the cut-off"
"""Why an enrolled subject who had lymphodepleting chemotherapy but no CAR-T infusion by the cut-off is not in
the safety set (D-19.88): told apart from `NOT_INFUSED`, since they received study treatment."""


def site_calendar(
    tables: Mapping[str, pd.DataFrame], time_zones: Mapping[str, str] | None
) -> dict[str, pd.DataFrame]:
    """The one place the analysis decides the study-day calendar (D-19.607): `tables` with the infusions'
    `time_zone` column (`cartrial.columns.TIME_ZONE_COLUMN`) — the IANA zone of each subject's site
    (`time_zones`: site_id → zone, `StudySnapshot.time_zones`), blank for a site without one. The engines
    read it (day 0 = the infusion's date on the site's calendar, the study day of a date-time its date
    there); `site_date` reads it for the analysis' own day numbers. A site without a zone keeps the UTC
    calendar. Infusions that already carry the column (tables this function returned) keep it when
    `time_zones` is None. A stored zone the zoneinfo database does not know is refused here, once, located
    by its site (`cartrial.columns.checked_site_zones`), never counted as UTC.

    >>> t = {"subjects": pd.DataFrame({"subject_id": ["A", "B"], "site_id": ["TJH", "X"]}),
    ...      "infusions": pd.DataFrame({"subject_id": ["A", "B"], "infused_at": ["", ""]})}
    >>> site_calendar(t, {"TJH": "Asia/Shanghai"})["infusions"]["time_zone"].tolist()
    ['Asia/Shanghai', '']
    """
    out = dict(tables)
    infusions = out["infusions"]
    if time_zones is None and TIME_ZONE_COLUMN in infusions.columns:
        return out
    subjects = out.get("subjects")
    site_of = (
        {}
        if subjects is None or "site_id" not in subjects.columns
        else {str(s): str(site) for s, site in zip(subjects["subject_id"], subjects["site_id"], strict=True)}
    )
    zones = checked_site_zones(time_zones or {})
    column = [zones.get(site_of.get(str(s), ""), "") for s in infusions["subject_id"]]
    out["infusions"] = infusions.assign(
        **{TIME_ZONE_COLUMN: pd.Series(column, index=infusions.index, dtype=object)}
    )
    return out


def subject_time_zones(infusions: pd.DataFrame) -> dict[str, str]:
    """subject_id → the IANA zone of the subject's study-day calendar (`site_calendar`'s column; subjects of
    a site without a zone are not listed: UTC)."""
    if TIME_ZONE_COLUMN not in infusions.columns:
        return {}
    return {
        str(s): str(z)
        for s, z in zip(infusions["subject_id"], infusions[TIME_ZONE_COLUMN], strict=True)
        if isinstance(z, str) and z
    }


def site_date(value: Any, zone: str | None) -> dt.date | None:
    """The date of a date or date-time value on the site's calendar (D-19.607): a date as recorded (a date
    field is the site's calendar date); a date-time's instant read in the IANA `zone` (None: UTC). None for
    a blank value. The one per-cell rule `cartrial.columns.site_cell_date`, of the value's text (D-19.779).

    >>> site_date("2021-04-26T23:30:00Z", "Asia/Shanghai"), site_date("2021-04-26T23:30:00Z", None)
    (datetime.date(2021, 4, 27), datetime.date(2021, 4, 26))
    >>> site_date("2021-04-26", "Asia/Shanghai")
    datetime.date(2021, 4, 26)
    """
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()
    if not text:
        return None
    return site_cell_date(text, utc_moment(text), zone)


def site_date_texts(frame: pd.DataFrame, column: str, zones: Mapping[str, str]) -> pd.Series:
    """`frame[column]` with each date-time replaced by its date on its subject's site calendar (`site_date`,
    ISO text; `zones`: `subject_time_zones`): what the analysis hands an engine that counts whole days. A
    blank, a date or a text that is no date-time is kept as it is (the engine names a bad one).

    >>> f = pd.DataFrame({"subject_id": ["A", "B"], "at": ["2021-04-26T23:30:00Z", "2021-04-26T23:30:00Z"]})
    >>> site_date_texts(f, "at", {"A": "Asia/Shanghai"}).tolist()
    ['2021-04-27', '2021-04-26']
    """

    def one(sid: Any, value: Any) -> Any:
        if not isinstance(value, str) or len(value.strip()) <= 10:
            return value
        try:
            day = site_date(value, zones.get(str(sid)))
        except ValueError:
            return value
        return value if day is None else day.isoformat()

    values = frame[column].reset_index(drop=True)
    subject_zone = frame["subject_id"].astype(str).map(zones).fillna("").reset_index(drop=True)
    # one pass: each text stripped (a cell that is no text: blank), then which hold more than a date
    stripped = [v.strip() if isinstance(v, str) else "" for v in values.tolist()]
    texts = pd.Series(stripped, index=values.index, dtype=object)
    timed = pd.Series(
        np.fromiter(map(len, stripped), dtype=np.int64, count=len(stripped)) > 10, index=values.index
    )
    # vectorised (pandas' conversion with the zoneinfo object `site_days` hands it: the instants `site_date`
    # reads); a text pandas does not read goes through `site_date` (the one rule)
    # a text without offset is UTC (`utc_moment`), whatever the row before it (`iso_instants`, D-19.777)
    when = iso_instants(texts.where(timed, ""))
    fast = (timed & when.notna()).to_numpy(dtype=bool)
    out = values.to_numpy(dtype=object).copy()
    if fast.any():
        days = site_days(when[fast], subject_zone[fast])
        # ISO dates (YYYY-MM-DD) of the naive midnights, as strftime("%Y-%m-%d") writes them
        out[fast] = np.datetime_as_string(days.to_numpy(dtype="datetime64[D]"), unit="D").astype(object)
    slow = (timed.to_numpy(dtype=bool)) & ~fast
    if slow.any():
        ids = frame["subject_id"].reset_index(drop=True)
        out[slow] = [one(s, v) for s, v in zip(ids[slow], values[slow], strict=True)]
    return pd.Series(out, index=frame.index, dtype=object)


def subject_zones(analysis: Any) -> dict[str, str]:
    """subject_id → the IANA zone of the subject's study-day calendar as an `Analysis` decided it
    (``intermediates['time_zones']``; a subject of a site without a zone is not listed: UTC): what the CDISC
    export and the report read, never deciding again (D-19.607)."""
    zones = getattr(analysis, "intermediates", {}).get("time_zones") or {}
    return {str(k): str(v) for k, v in zones.items()}


def site_days(when: pd.Series, zones: pd.Series) -> pd.Series:
    """`site_date` of many instants at once: the calendar day (naive datetime64 at midnight; NaT stays) of
    timezone-aware UTC instants `when` on the calendar of each row's IANA zone (`zones`, aligned by
    position; '' or missing: UTC), by `cartrial.columns.typed_site_moment` (exactly 00:00:00Z: that date,
    a date typed without a time; D-19.947). Each zone is handed to pandas as its zoneinfo object
    (`time_zone_of`), never by name, which pandas would read from pytz's own copy of the database: one
    database, the one `on_site_clock` reads (D-19.607).

    >>> when = pd.to_datetime(pd.Series(["2021-04-26T23:30:00Z", "2021-04-26T23:30:00Z"]), utc=True)
    >>> site_days(when, pd.Series(["Asia/Shanghai", ""])).dt.strftime("%Y-%m-%d").tolist()
    ['2021-04-27', '2021-04-26']
    >>> bare = pd.to_datetime(pd.Series(["2021-08-02T00:00:00Z"]), utc=True)
    >>> site_days(bare, pd.Series(["America/Los_Angeles"])).dt.strftime("%Y-%m-%d").tolist()
    ['2021-08-02']
    """
    utc = when.dt.tz_convert("UTC").dt.tz_localize(None)
    days = utc.dt.normalize().to_numpy(dtype="datetime64[ns]").copy()
    untimed = typed_without_time(when, zones)  # that date, the date typed (`typed_site_moment`)
    zones = pd.Series(zones.to_numpy(dtype=object), index=when.index).fillna("").astype(str)
    for zone in (z for z in pd.unique(zones) if z):
        rows = (zones == zone).to_numpy(dtype=bool) & ~untimed
        local = when[rows].dt.tz_convert(_zone(zone)).dt.tz_localize(None).dt.normalize()
        days[rows] = local.to_numpy(dtype="datetime64[ns]")
    return pd.Series(days, index=when.index, dtype="datetime64[ns]")


def typed_without_time(when: pd.Series, zones: pd.Series) -> np.ndarray:
    """Which of the timezone-aware instants `when` (`zones` as for `site_days`) `cartrial.columns.
    typed_site_moment` takes for a date typed without a time: exactly 00:00:00Z where the site's clock would
    put it on the day before (west of UTC at that instant). At UTC and east of it 00:00:00Z is a time (a
    real 08:00:00 in Wuhan), its date the same either way (D-19.947). NaT: False.

    >>> when = pd.to_datetime(pd.Series(["2021-08-02T00:00:00Z"] * 3 + ["2021-08-02T00:00:01Z"]), utc=True)
    >>> zones = pd.Series(["America/Los_Angeles", "Asia/Shanghai", "", "America/Los_Angeles"])
    >>> typed_without_time(when, zones)
    array([ True, False, False, False])
    """
    utc = when.dt.tz_convert("UTC").dt.tz_localize(None)
    midnight = (utc == utc.dt.normalize()).to_numpy(dtype=bool)
    out = np.zeros(len(when), dtype=bool)
    zones = pd.Series(zones.to_numpy(dtype=object), index=when.index).fillna("").astype(str)
    for zone in (z for z in pd.unique(zones) if z):
        rows = (zones == zone).to_numpy(dtype=bool) & midnight
        if rows.any():
            local = when[rows].dt.tz_convert(_zone(zone)).dt.tz_localize(None).dt.normalize()
            out[rows] = (local != utc[rows].dt.normalize()).to_numpy(dtype=bool)
    return out


def _zone(name: str) -> Any:
    tz = time_zone_of(name)
    if tz is None:
        raise ValueError("not an IANA time zone")
    return tz


def infusion_dates(infusions: pd.DataFrame) -> dict[str, dt.date]:
    """Day 0 per subject (the date of ``infused_at`` on the site's calendar, the infusions' ``time_zone``
    column `site_calendar` adds; UTC without it, D-19.607): the neuro engine's
    `cartrial.neuro.derive.infusion_days`, the one implementation the analysis uses (a subject infused twice
    is an error there, as in grading)."""
    from cartrial.neuro.derive import infusion_days

    if len(infusions) == 0:
        return {}
    with stored_rows({"infusions": infusions}):  # a refused record named by its id (D-19.542)
        columns = ["subject_id", "infused_at"] + (
            [TIME_ZONE_COLUMN] if TIME_ZONE_COLUMN in infusions.columns else []
        )
    return infusion_days(infusions[columns], source="infusions")


def lymphodepletion_starts(lymphodepletion: pd.DataFrame | None) -> dict[str, dt.date]:
    """The date of the first lymphodepletion dose per subject (``administered_on``; a row without a date is
    skipped). As for the infusions, the snapshot holds the records dated on or before the cut-off. The one
    derivation the populations (lymphodepleted, not infused) and the treatment-emergence start read.

    >>> ld = pd.DataFrame({"subject_id": ["A", "A", "B"],
    ...                    "administered_on": ["2021-05-29", "2021-05-28", ""]})
    >>> lymphodepletion_starts(ld)
    {'A': datetime.date(2021, 5, 28)}
    """
    out: dict[str, dt.date] = {}
    if lymphodepletion is None or not len(lymphodepletion):
        return out
    for sid, day in zip(lymphodepletion["subject_id"], lymphodepletion["administered_on"], strict=True):
        text = "" if pd.isna(day) else str(day).strip()
        if not text:
            continue
        d = dt.date.fromisoformat(text[:10])
        key = str(sid)
        if key not in out or d < out[key]:
            out[key] = d
    return out


def treatment_start_days(
    tables: Mapping[str, pd.DataFrame], rule: Any = "lymphodepletion"
) -> dict[str, dt.date]:
    """The day the treatment-emergent period starts per subject, by the study's
    ``analysis.options.treatment_emergent_start`` `rule`: the infusion day (`infusion_dates`), or the first
    lymphodepletion dose when earlier (rule ``lymphodepletion``; also for a subject lymphodepleted but not
    infused). The one start the adverse events (treatment-emergent) and the labs (baseline, on treatment)
    read (D-19.710).

    >>> t = {"infusions": pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-06-01T08:00:00Z"]}),
    ...      "lymphodepletion": pd.DataFrame({"subject_id": ["A"], "administered_on": ["2021-05-28"]})}
    >>> treatment_start_days(t), treatment_start_days(t, "infusion")
    ({'A': datetime.date(2021, 5, 28)}, {'A': datetime.date(2021, 6, 1)})
    """
    start = dict(infusion_dates(tables["infusions"]))
    if str(getattr(rule, "value", rule)) == "infusion":
        return start
    for sid, day in lymphodepletion_starts(tables.get("lymphodepletion")).items():
        if sid not in start or day < start[sid]:
            start[sid] = day
    return start


def protocol_levels(protocol: Any) -> tuple[int, ...]:
    """The protocol's dose levels (numbers), each a group of every by-dose-level table, with n = 0 while
    nobody has received it (D-19.108); () for a protocol-like object without dose levels."""
    return tuple(int(d.level) for d in getattr(protocol, "dose_levels", None) or ())


def dose_levels(infusions: pd.DataFrame) -> dict[str, int]:
    """Dose level of each subject's first infusion."""
    out: dict[str, int] = {}
    if len(infusions) == 0:
        return out
    ordered = infusions.sort_values("infused_at", kind="mergesort")
    for sid, level in zip(ordered["subject_id"], ordered["dose_level"], strict=True):
        out.setdefault(str(sid), int(level))
    return out


def death_dates(adverse_events: pd.DataFrame, cutoff: dt.date) -> dict[str, dt.date]:
    """Date of death per subject who died on or before `cutoff`: the earliest `DEATH_SOURCE` date of the
    subject's fatal adverse events (grade 5, category ``death`` or outcome ``fatal``). The one derivation of
    a death that the populations (follow-up, DLT evaluability) and the CDISC export (DM.DTHFL/DTHDTC) read;
    which event is a death and its date are the protocol layer's rule (`cartrial.protocol.death`, D-19.93),
    which the store's edit checks call too.

    >>> ae = pd.DataFrame({"subject_id": ["S1", "S2"], "category": ["crs", "death"], "grade": ["5", "5"],
    ...                    "outcome": ["fatal", "fatal"], "started_on": ["2021-06-01", "2021-06-03"],
    ...                    "ended_on": ["2021-06-04", ""]})
    >>> death_dates(ae, dt.date(2021, 12, 31))
    {'S1': datetime.date(2021, 6, 4), 'S2': datetime.date(2021, 6, 3)}
    """
    out: dict[str, dt.date] = {}
    if len(adverse_events) == 0:
        return out
    columns = adverse_events.columns
    n = len(adverse_events)

    def text(name: str) -> list[str]:
        if name not in columns:
            return [""] * n
        return [("" if pd.isna(v) else str(v)).strip() for v in adverse_events[name]]

    for sid, grade, category, outcome, started, ended in zip(
        text("subject_id"),
        text("grade"),
        text("category"),
        text("outcome"),
        text("started_on"),
        text("ended_on"),
        strict=True,
    ):
        if not is_fatal(grade, category, outcome):
            continue
        day = death_day(started, ended)
        if day is not None and day <= cutoff and (sid not in out or day < out[sid]):
            out[sid] = day
    return out


CONTACT_COLUMNS: dict[str, str] = {
    "edss": "assessed_at",
    "visual_acuity": "assessed_at",
    "osis": "assessed_at",
    "timed_walk": "assessed_at",
    "crs_assessments": "assessed_at",
    "icans_assessments": "assessed_at",
    "labs": "collected_at",
    "pk_samples": "sampled_at",
    "pd_samples": "sampled_at",
}
"""Dated forms whose records count as a contact with the subject (the end of follow-up of a subject whose
study ended, and of the relapse follow-up)."""


@contextmanager
def _contact_columns() -> Iterator[None]:
    """The engine reads each contact form's date as ``assessed_at`` (`last_contact`): a problem it finds
    names the form's own column (``labs, collected_at``; ``infused_at``), which the table has (D-19.542)."""
    from dataclasses import replace

    from cartrial.errors import InputError

    columns = {"infusions": "infused_at", **CONTACT_COLUMNS}
    try:
        yield
    except InputError as exc:
        raise exc.with_problems(
            replace(p, field=columns[p.file]) if p.field == "assessed_at" and p.file in columns else p
            for p in exc.problems
        ) from None


def last_contact(
    tables: Mapping[str, pd.DataFrame], ids: Sequence[str], cutoff: dt.date | None = None
) -> dict[str, dt.date]:
    """Last contact per subject: the latest date of any record of `CONTACT_COLUMNS` (all on or before the
    cut-off in a snapshot), never before the infusion day (the infusion is itself a contact) — computed by
    the neuro engine's `cartrial.neuro.end_of_follow_up` (rule 1: last assessment per subject), the one
    implementation of the end of follow-up — and never after the subject's death (`death_dates`) or dated
    end of study (`end_of_study`): a record dated after it is data the store queries (edit checks
    RECORD-AFTER-DEATH, RECORD-AFTER-END-OF-STUDY), not a contact (D-19.94, D-19.110)."""
    from cartrial.neuro.derive import end_at_death, end_of_follow_up

    wanted = set(ids)
    infusions = tables["infusions"]
    infusions = infusions[infusions["subject_id"].isin(wanted)]
    zones = subject_time_zones(infusions)  # each contact's date on the site's calendar (D-19.607)
    forms = [
        pd.DataFrame(
            {
                "subject_id": infusions["subject_id"],
                "assessed_at": site_date_texts(infusions, "infused_at", zones),
            }
        )
    ]
    names = ["infusions"]
    given = {"infusions": infusions}  # each form's rows, with their record_id, as handed (D-19.542)
    for name, column in CONTACT_COLUMNS.items():
        frame = tables[name]
        frame = frame[frame["subject_id"].isin(wanted) & (frame[column] != "")]
        forms.append(
            pd.DataFrame(
                {"subject_id": frame["subject_id"], "assessed_at": site_date_texts(frame, column, zones)}
            )
        )
        names.append(name)
        given[name] = frame
    day0 = infusion_dates(infusions)
    with stored_rows(given), _contact_columns():
        end = end_of_follow_up(day0, assessments=forms, cutoff=cutoff, assessment_sources=names)
    events = tables.get("adverse_events")
    died = {} if events is None else death_dates(events, cutoff or dt.date.max)
    subjects = tables.get("subjects")
    ends = {} if subjects is None else end_of_study(subjects, died)
    # the dated end of study (a death, or the disposition_date of a completion, withdrawal or loss) caps the
    # last contact as the death does: a record after it is data the store queries (RECORD-AFTER-END-OF-STUDY,
    # D-19.101), not a contact (D-19.110)
    last = dated_ends(ends)
    # a death dated before the infusion (impossible data, queried by RECORD-AFTER-DEATH) ends the follow-up
    # at the infusion day, never before it: the infusion is a contact (a negative follow-up failed the
    # relapse analysis, review of D-19.94)
    return end_at_death({sid: end.last_assessment[sid] for sid in ids}, died, day0, last)


ALIVE_COLUMNS: dict[str, tuple[str, ...]] = {
    "adverse_events": ("started_on", "ended_on"),
    "relapses": ("onset_date",),
}
"""Dated records that show the subject alive besides the contacts (`last_known_alive`): an adverse event's
onset and end, a relapse's onset (D-19.1437)."""


def _recorded_day(text: Any, days: dict[Any, dt.date | None]) -> dt.date | None:
    """The date of a cell already on its site's calendar (`site_date_texts`), by the one per-cell rule
    `site_date` (D-19.779), read once per distinct text in `days`; None for a blank, a partial date
    (``2021-06``) or a text that is no date: it shows no day the subject was alive."""
    if text not in days:
        try:
            days[text] = site_date(text, None)  # a date is as recorded, whatever the zone
        except ValueError:
            days[text] = None
    return days[text]


def last_known_alive(
    tables: Mapping[str, pd.DataFrame], contacts: Mapping[str, dt.date], cutoff: dt.date
) -> dict[str, dt.date]:
    """Date last known alive (ADSL.LSTALVDT) per subject of `contacts` (the `last_contact` of the infused
    subjects): the latest of the last contact and every complete `ALIVE_COLUMNS` date of the subject, a
    date-time's date on the site calendar (`site_date`, as `last_contact`) (an
    adverse event's onset or end, a relapse onset) on or before `cutoff`, never after the subject's date of
    death (`death_dates`). Not the end of the relapse follow-up (`last_contact`, extended to a later relapse
    onset by the relapse engine, D-19.587): a different concept, every dated record that shows the subject
    alive (D-19.1437)."""
    events = tables.get("adverse_events")
    died = {} if events is None else death_dates(events, cutoff)
    infusions = tables.get("infusions")
    zones = {} if infusions is None else subject_time_zones(infusions)
    out = dict(contacts)
    days: dict[Any, dt.date | None] = {}
    for name, columns in ALIVE_COLUMNS.items():
        frame = tables.get(name)
        if frame is None or not len(frame):
            continue
        ids = frame["subject_id"].astype(str).to_numpy()
        for column in columns:
            if column not in frame.columns:
                continue
            # a date-time's date on the subject's site calendar (D-19.607), as `last_contact` reads contacts
            texts = site_date_texts(frame, column, zones)
            for sid, value in zip(ids, texts.to_numpy(), strict=True):
                if sid not in out:
                    continue
                day = _recorded_day(value, days)
                if day is not None and day <= cutoff and day > out[sid]:
                    out[sid] = day
    return {sid: min(day, died[sid]) if sid in died else day for sid, day in out.items()}


def with_last_contact(
    membership: pd.DataFrame, contacts: Mapping[str, dt.date], alive: Mapping[str, dt.date]
) -> pd.DataFrame:
    """`membership` (the populations dataset) with ``last_contact_date`` (`contacts`: the `last_contact` of
    each infused subject, `StudyPopulations.last_contact`, computed once) and ``last_known_alive_date``
    (`alive`: `last_known_alive`) as ISO dates, blank for another subject (never infused: the analysis starts
    no follow-up without an infusion). ADSL.LSTALVDT reads ``last_known_alive_date`` (D-19.1435,
    D-19.1437)."""
    ids = membership["subject_id"].astype(str)
    out = membership.copy()
    at = out.columns.get_loc("follow_up_days") + 1
    out.insert(at, "last_contact_date", [contacts[s].isoformat() if s in contacts else "" for s in ids])
    out.insert(at + 1, "last_known_alive_date", [alive[s].isoformat() if s in alive else "" for s in ids])
    return out


@dataclass(frozen=True)
class EndOfStudy:
    """A subject's end of study at the cut-off (`end_of_study`)."""

    disposition: Disposition | None
    """The disposition (``ongoing`` while on study); None: a text stored before the field had its vocabulary
    (named in the populations dataset, read as ongoing)."""
    date: dt.date | None = None
    """The date the study ended: the death's (`death_dates`), else the form's ``disposition_date``; None while
    on study, or for an end stored undated before D-19.92 (the last contact is then used)."""

    @property
    def ended(self) -> bool:
        return self.disposition is not None and self.disposition.ends_study


def end_of_study(subjects: pd.DataFrame, died: Mapping[str, dt.date]) -> dict[str, EndOfStudy]:
    """Each subject's end of study at the cut-off (D-19.92): the subjects form's ``disposition`` read by the
    one parser `cartrial.protocol.disposition.parse_disposition` (blank: ongoing) and its
    ``disposition_date``; a recorded death (`death_dates`, D-19.83) outranks the form — unless the form dates
    an end of study (completed, withdrawn, lost) before the death: the study ended first, and a death learnt
    of later (long-term follow-up) does not move that end (the death is still a death: DM.DTHFL). The
    snapshot has already read an end dated after the cut-off as ongoing
    (`cartrial.store.snapshot.open_at_cutoff`)."""
    out: dict[str, EndOfStudy] = {}
    n = len(subjects)
    texts = subjects["disposition"] if "disposition" in subjects.columns else [""] * n
    dates = subjects["disposition_date"] if "disposition_date" in subjects.columns else [""] * n
    for sid, text, day in zip(subjects["subject_id"], texts, dates, strict=True):
        sid = str(sid)
        disposition = parse_disposition(None if pd.isna(text) else str(text))
        day_text = "" if pd.isna(day) else str(day).strip()
        when = dt.date.fromisoformat(day_text[:10]) if day_text else None
        form = EndOfStudy(disposition, when if disposition is not None else None)
        if sid in died and not ended_before_death(form.disposition, form.date, died[sid]):
            form = EndOfStudy(DEATH, died[sid])
        out[sid] = form
    return out


def dated_ends(ends: Mapping[str, EndOfStudy]) -> dict[str, dt.date]:
    """The date each subject's study ended, for the ends `end_of_study` dates (a death, or the form's
    ``disposition_date`` of a completion, withdrawal or loss, D-19.92): what caps the last contact, as a
    death does (`last_contact`, D-19.110; the `relapses` command's ``--subjects``, D-19.133). An end stored
    undated before D-19.92 is left out (its end is the last contact itself).

    >>> from cartrial.protocol.disposition import DISPOSITIONS
    >>> dated_ends({"S1": EndOfStudy(DISPOSITIONS["withdrawn"], dt.date(2021, 1, 31)),
    ...             "S2": EndOfStudy(DISPOSITIONS["ongoing"]), "S3": EndOfStudy(DISPOSITIONS["lost"])})
    {'S1': datetime.date(2021, 1, 31)}
    """
    return {sid: end.date for sid, end in ends.items() if end.ended and end.date is not None}


def study_ends(ends: Mapping[str, EndOfStudy]) -> dict[str, dt.date | None]:
    """Each subject whose study ended (`end_of_study`) with the date it ended, or None for an end stored
    undated before D-19.92, whose end is the subject's last contact: what `cartrial.neuro.derive_relapses`
    takes as ``ends_of_study`` (it reads None as the last assessment it is given or finds) — the one mapping
    `cartrial analyse` and the `relapses` command's ``--subjects`` hand it, so a relapse after that end
    extends no follow-up in either (D-19.587, D-19.133).

    >>> from cartrial.protocol.disposition import DISPOSITIONS
    >>> study_ends({"S1": EndOfStudy(DISPOSITIONS["withdrawn"], dt.date(2021, 1, 31)),
    ...             "S2": EndOfStudy(DISPOSITIONS["ongoing"]), "S3": EndOfStudy(DISPOSITIONS["lost"])})
    {'S1': datetime.date(2021, 1, 31), 'S3': None}
    """
    return {sid: end.date for sid, end in ends.items() if end.ended}


def deaths_ending_study(ends: Mapping[str, EndOfStudy], cutoff: dt.date) -> dict[str, dt.date]:
    """The date of each death that ended the study on or before `cutoff` (`end_of_study`: a fatal adverse
    event, or the form's disposition ``death`` alone; not a death after a dated completion, withdrawal or
    loss, which stays that end, D-19.92): the deaths censored in the reverse Kaplan-Meier median follow-up
    (D-19.90, D-19.112), of `cartrial analyse` and of the `relapses` command (D-19.133).

    >>> dead = EndOfStudy(DEATH, dt.date(2021, 2, 10))
    >>> deaths_ending_study({"S1": dead, "S2": EndOfStudy(DEATH, dt.date(2022, 1, 1))}, dt.date(2021, 6, 30))
    {'S1': datetime.date(2021, 2, 10)}
    """
    return {
        sid: end.date
        for sid, end in ends.items()
        if end.disposition is DEATH and end.date is not None and end.date <= cutoff
    }


def follow_up_ends(
    tables: Mapping[str, pd.DataFrame], ids: Sequence[str], cutoff: dt.date
) -> dict[str, dt.date]:
    """The end of follow-up of each infused subject of `ids`: the death (`death_dates`, D-19.83) unless a
    dated end of study came first (`end_of_study`); the end of study of a subject whose study ended —
    completed, withdrawn, lost to follow-up, or a death the adverse events do not date — on its
    ``disposition_date``, or at the last contact (`last_contact`) when the end is undated (`end_of_study`,
    D-19.92); else the cut-off. The one rule the populations (follow-up, DLT evaluability) and the relapse
    follow-up to the cut-off read. Never before the infusion day (the infusion is a contact): an end dated
    before it — a death or a disposition date before the infusion, data the store queries or should — is the
    infusion day, a follow-up of 0 days."""
    died = death_dates(tables["adverse_events"], cutoff)
    day0 = infusion_dates(tables["infusions"])
    ends = end_of_study(tables["subjects"], died)
    undated = [sid for sid in ids if sid in ends and ends[sid].ended and ends[sid].date is None]
    contact = last_contact(tables, undated, cutoff) if undated else {}
    out: dict[str, dt.date] = {}
    for sid in ids:
        end = ends.get(sid)
        out[sid] = max(
            min(cutoff, (end.date if end is not None and end.ended else None) or contact.get(sid) or cutoff),
            day0.get(sid, dt.date.min),
        )
    return out


def derive_populations(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    cutoff: dt.date,
    dlt_days: Mapping[str, Sequence[float]],
    investigator_dlt_days: Mapping[str, Sequence[float]] | None = None,
) -> tuple[dict[str, Population], pd.DataFrame]:
    """(populations by name, one row per enrolled subject with membership flags and reasons).

    `dlt_days`: onset days of the DLTs inside the window by the protocol's DLT rules, per subject
    (`cartrial.analysis.dlt.evaluate_dlts`); `investigator_dlt_days`: the same for the investigator's flag
    (shown beside it, not used for membership)."""
    subjects = sorted(str(s) for s in tables["subjects"]["subject_id"])
    day0 = infusion_dates(tables["infusions"])
    levels = dose_levels(tables["infusions"])
    window = int(protocol.escalation.dlt_window_days)
    flagged = investigator_dlt_days or {}
    died = death_dates(tables["adverse_events"], cutoff)
    status = end_of_study(tables["subjects"], died)
    ends = follow_up_ends(tables, [sid for sid in subjects if sid in day0], cutoff)
    lymphodepleted = lymphodepletion_starts(tables.get("lymphodepletion"))
    rows: list[dict[str, Any]] = []
    safety: list[str] = []
    evaluable: list[str] = []
    not_infused: dict[str, list[str]] = {}
    dlt_excluded: dict[str, list[str]] = {}
    for sid in subjects:
        infused = sid in day0
        end = ends.get(sid, cutoff)
        study_end = status.get(sid, EndOfStudy(None))
        disposition = study_end.disposition
        follow_up = (end - day0[sid]).days if infused else None
        in_window = list(dlt_days.get(sid, ()))
        reason = ""
        pending = False
        if not infused:
            reason = LYMPHODEPLETED_NOT_INFUSED if sid in lymphodepleted else NOT_INFUSED
            not_infused.setdefault(reason, []).append(sid)
        else:
            safety.append(sid)
            assert follow_up is not None
            # the day of a death that ended the follow-up is not a day followed through (D-19.231)
            died_on_end = study_end.disposition is DEATH and study_end.date == end
            followed = dlt_followed_days(day0[sid], end, died=died_on_end)
            if dlt_evaluable(followed, bool(in_window), window):
                evaluable.append(sid)
            else:
                if study_end.disposition is DEATH and sid in died:
                    reason = f"died before completing the DLT window ({window} days) without a DLT"
                elif study_end.ended and (study_end.date is None or study_end.date <= cutoff):
                    # the study ended (D-19.92), the cut-off day included: followed until its end only
                    assert disposition is not None
                    reason = (
                        f"left the study ({disposition.decoded.lower()}) before completing the DLT window "
                        f"({window} days) without a DLT"
                    )
                else:
                    reason = f"DLT window ({window} days) not complete at the cut-off"
                    pending = True  # on study and alive: evaluable once the window is complete (D-19.123)
                dlt_excluded.setdefault(reason, []).append(sid)
        rows.append(
            {
                "subject_id": sid,
                "dose_level": levels.get(sid),
                "infusion_date": day0[sid].isoformat() if infused else "",
                "lymphodepleted": sid in lymphodepleted,
                "follow_up_days": follow_up,
                "enrolled": True,
                "safety": infused,
                "dlt_evaluable": sid in evaluable,
                "dlt_in_window": bool(in_window),
                "investigator_dlt_in_window": bool(flagged.get(sid)),
                "reason_not_dlt_evaluable": reason,
                "dlt_window_pending": pending,
                "study_status": "" if disposition is None else disposition.status.value,
                "discontinuation_reason": (
                    disposition.decoded
                    if disposition is not None and disposition.status is StudyStatus.DISCONTINUED
                    else ""
                ),
                "end_of_study_date": study_end.date.isoformat() if study_end.date is not None else "",
                # a death by the cut-off: a fatal adverse event (`death_dates`), or the form's disposition
                # death (D-19.112) — also after an end of study that came first (`end_of_study`)
                "died": sid in died or disposition is DEATH,
            }
        )
    populations = {
        ENROLLED: Population(ENROLLED, "every subject consented on or before the cut-off", tuple(subjects)),
        SAFETY: Population(
            SAFETY,
            "enrolled subjects infused with CAR-T cells on or before the cut-off",
            tuple(safety),
            {k: tuple(v) for k, v in not_infused.items()},
        ),
        FULL_ANALYSIS: Population(
            FULL_ANALYSIS,
            "enrolled subjects infused with CAR-T cells on or before the cut-off (the full analysis set of a "
            "non-randomised single-arm trial: every subject treated, ICH E9 section 5.2.1)",
            tuple(safety),
            {k: tuple(v) for k, v in not_infused.items()},
        ),
        DLT_EVALUABLE: Population(
            DLT_EVALUABLE,
            f"safety-set subjects who completed the {window}-day DLT window by the cut-off (alive at its "
            "end) or had a DLT in it",
            tuple(evaluable),
            {k: tuple(v) for k, v in dlt_excluded.items()},
        ),
    }
    frame = pd.DataFrame(rows)
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    frame["follow_up_days"] = frame["follow_up_days"].astype("Int64")
    return populations, frame


__all__ = [
    "ALIVE_COLUMNS",
    "DEATH_SOURCE",
    "DLT_EVALUABLE",
    "ENROLLED",
    "FULL_ANALYSIS",
    "LYMPHODEPLETED_NOT_INFUSED",
    "NOT_INFUSED",
    "SAFETY",
    "EndOfStudy",
    "death_dates",
    "derive_populations",
    "dose_levels",
    "end_of_study",
    "follow_up_ends",
    "infusion_dates",
    "last_contact",
    "last_known_alive",
    "lymphodepletion_starts",
    "treatment_start_days",
    "with_last_contact",
]
