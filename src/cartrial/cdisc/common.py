"""Shared helpers of the SDTM and ADaM builders: ISO 8601 text, study days, epochs, visits, ASCII text.

No scientific rule lives here; these are the SDTMIG 3.4 representation conventions, each cited.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cartrial.analysis.populations import site_days, subject_zones
from cartrial.cdisc.spec import DatasetSpec
from cartrial.columns import on_site_clock, time_zone_of, typed_site_moment
from cartrial.protocol.dlt import in_dlt_window
from cartrial.rounding import fixed


class SnapshotAtCutoff:
    """A snapshot whose `tables` are read as the analysis reads them at its cut-off
    (`cartrial.analysis.core.tables_at_cutoff`: an end after the cut-off read as ongoing, D-19.85, D-19.990);
    every other attribute is the snapshot's own. The SDTM and ADaM builders read the records through it,
    never re-deciding what the analysis decided."""

    def __init__(self, snapshot: Any) -> None:
        from cartrial.analysis.core import tables_at_cutoff

        self.source = snapshot
        self.tables: Mapping[str, pd.DataFrame] = tables_at_cutoff(snapshot)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


def read_at_cutoff(snapshot: Any) -> Any:
    """`snapshot` read at its cut-off as the analysis reads it (`SnapshotAtCutoff`; once: a snapshot already
    read is returned as it is)."""
    return snapshot if isinstance(snapshot, SnapshotAtCutoff) else SnapshotAtCutoff(snapshot)


# Transliteration of the non-ASCII characters the protocol and the templates use (FDA Study Data Technical
# Conformance Guide: ASCII only). Anything not listed stays as it is and the validator then refuses it —
# a documented representation, never a silent deletion.
ASCII_MAP: Mapping[str, str] = {
    "≥": ">=",
    "≤": "<=",
    "×": "x",
    "µ": "u",
    "μ": "u",
    "–": "-",
    "—": "-",
    "−": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "°": " deg ",
    "²": "2",
    "³": "3",
    "·": ".",
    "…": "...",
    "→": "->",
    "é": "e",
    "è": "e",
    "ü": "u",
    "ö": "o",
    "ä": "a",
    "\u00a0": " ",
}


# Collected unit texts that CDISC UNIT (C71620) lists as synonyms of another submission value: the submission
# value goes to --ORRESU/--STRESU (SEND CT 2025-03-28 UNIT rows: 's' has synonym 'sec'; '10^6/L' has '/mm3'
# and '/uL'; 'ng/L' has 'pg/mL'; 'ug/L' has 'ng/mL'). Same quantity, so the numbers are unchanged (D-15.7).
UNIT_SYNONYMS: Mapping[str, str] = {
    "sec": "s",
    "/mm3": "10^6/L",
    "/uL": "10^6/L",
    "pg/mL": "ng/L",
    "ng/mL": "ug/L",
}


#: standard wording of a diagnosis condition (the protocol's diagnosis rule) in MH; any other condition
#: is named by the protocol's own ``study.indication`` text
DIAGNOSIS_TERMS: dict[str, str] = {"nmosd": "Neuromyelitis optica spectrum disorder"}
#: TS RLPSCRIT wording by condition; another condition gets "<LABEL> attack per protocol endpoints"
RELAPSE_CRITERIA: dict[str, str] = {"nmosd": "NMOSD attack per protocol endpoints (Wingerchuk 2015 IPND)"}


@dataclass(frozen=True)
class Disease:
    """How the exports name the study's disease, read from the protocol (D-19.63): `label` (short, upper
    case, e.g. NMOSD, GMG — the diagnosis rule's condition) in attack, relapse and indication texts,
    `term` the MH primary diagnosis, `relapse_criteria` the TS RLPSCRIT value, `decod` its dictionary term
    (MHDECOD): the standard term of a known condition (`DIAGNOSIS_TERMS`), else empty — the protocol's
    free-text indication is a verbatim term, not a dictionary-derived one (D-19.205)."""

    label: str
    term: str
    relapse_criteria: str
    decod: str = ""


def reference_range_indicator(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """--NRIND (codelist C78736 NRIND) of results `value` against reference limits `low` and `high` in the
    same unit (NaN: none): ``LOW`` below `low`, ``HIGH`` above `high`, else ``NORMAL`` (a missing limit is
    not checked); empty without a result or without either limit. Source: SDTMIG 3.4 LB, LBNRIND ("where
    the value falls with respect to the reference range"); the rule of admiral 1.x ``derive_var_anrind``
    without A1LO/A1HI. The limits and results cartrial compares are rounded alike (6 decimals, the grading
    engine's canonical values), so a result equal to a limit is NORMAL (D-19.474)."""
    value, low, high = (np.asarray(a, dtype=float) for a in (value, low, high))
    ranged = ~np.isnan(value) & ~(np.isnan(low) & np.isnan(high))
    out = np.where(ranged, "NORMAL", "").astype(object)
    out[ranged & (value > high)] = "HIGH"  # NaN compares False: a missing limit is not checked
    out[ranged & (value < low)] = "LOW"
    return out


def disease_of(protocol: Any) -> Disease:
    """The `Disease` of `protocol`: its diagnosis rule's condition, else its ``study.indication``."""
    condition = next(
        (
            str(c.rule.condition)
            for c in protocol.eligibility.criteria
            if getattr(c.rule, "type", "") == "diagnosis"
        ),
        None,
    )
    indication = ascii_text(protocol.study.indication)
    label = ascii_text(condition).upper() if condition else indication.upper()
    key = (condition or "").lower()
    return Disease(
        label,
        DIAGNOSIS_TERMS.get(key, indication),
        RELAPSE_CRITERIA.get(key, f"{label} attack per protocol endpoints"),
        DIAGNOSIS_TERMS.get(key, ""),
    )


def analysis_table(analysis: Any, name: str) -> pd.DataFrame:
    """An analysis dataset's table, empty when the analysis has no such dataset (an indication-specific
    outcome the study does not collect, `cartrial.analysis.outcomes`, D-19.61): no records, no crash."""
    dataset = analysis.datasets.get(name)
    return dataset.table if dataset is not None else pd.DataFrame()


#: dataset → the indication-specific outcomes (`cartrial.analysis.outcomes.OUTCOME_ASSESSMENT`) whose
#: records it holds and nothing else: left out of the export when it has no record and the study collects
#: none of them (D-19.203), as QS is when the EDSS goes to RS (D-15.11)
DATASET_OUTCOMES: Mapping[str, frozenset[str]] = {
    "QS": frozenset({"edss", "osis"}),
    "SUPPQS": frozenset({"edss", "osis"}),
    "RS": frozenset({"edss"}),
    "OE": frozenset({"visual_acuity"}),
    "FT": frozenset({"timed_walk"}),
    "CE": frozenset({"relapses"}),
    "ADEDSS": frozenset({"edss"}),
    "ADRS": frozenset({"edss", "visual_acuity", "timed_walk"}),
}


def uncollected_empty_datasets(frames: Mapping[str, pd.DataFrame], analysis: Any) -> tuple[str, ...]:
    """The datasets of `frames` that hold no record and only outcomes the study does not collect
    (`DATASET_OUTCOMES`; the analysis's collected outcomes, D-19.61): an empty dataset of an assessment
    the protocol never made is not part of the submission (D-19.203). Without the analysis's outcomes
    (an analysis object that does not carry them) nothing is left out."""
    outcomes = getattr(analysis, "intermediates", {}).get("outcomes")
    if outcomes is None:
        return ()
    return tuple(
        name
        for name, frame in frames.items()
        if name in DATASET_OUTCOMES and len(frame) == 0 and not DATASET_OUTCOMES[name] & outcomes
    )


def cdisc_unit(values: pd.Series | np.ndarray) -> np.ndarray:
    """Unit texts as CDISC UNIT submission values (`UNIT_SYNONYMS`); any other text unchanged."""
    texts = np.array(values, dtype=object)  # a copy: the synonyms are replaced in place
    synonym = pd.Series(texts).isin(list(UNIT_SYNONYMS)).to_numpy()  # one hash pass; few rows match
    texts[synonym] = [UNIT_SYNONYMS[u] for u in texts[synonym]]
    return texts


LATIN_LETTERS: Mapping[str, str] = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "TH",
    "ı": "i",
}
"""Latin letters without a canonical decomposition, spelt as their usual ASCII transcription (D-19.166)."""


def _latin(char: str) -> str:
    """One character of `ascii_text`'s second step: a Latin letter with diacritics as its base letter (the
    Unicode compatibility decomposition, NFKD, without its combining marks: ü, Ü, ñ, ç, å → u, U, n, c, a),
    one of `LATIN_LETTERS` as its transcription; any other character unchanged (a script without an ASCII
    spelling — Chinese, Cyrillic — is kept, and the validator then refuses it: never a silent deletion)."""
    if char.isascii():
        return char
    if char in LATIN_LETTERS:
        return LATIN_LETTERS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base and base.isascii() else char


def ascii_text(text: object) -> str:
    """`text` with the characters of `ASCII_MAP` transliterated, then each Latin letter with diacritics
    as its base letter (`_latin`; documented in docs/cdisc.md, D-19.166)."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    out = str(text)
    if out.isascii():
        return out
    for char, repl in ASCII_MAP.items():
        out = out.replace(char, repl)
    if not out.isascii():
        out = "".join(map(_latin, out))
    return " ".join(out.split()) if "deg" in out else out


def parse_instant(text: str) -> dt.datetime | None:
    """A snapshot date-time cell (ISO 8601 UTC with ``Z``) or date cell as a naive UTC datetime."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


UTC_ZONES = frozenset(
    {
        *("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "Etc/GMT"),
        *(
            "GMT",
            "Etc/GMT0",
            "Etc/GMT+0",
            "Etc/GMT-0",
            "GMT0",
            "GMT+0",
            "GMT-0",
            "Etc/Greenwich",
            "Greenwich",
        ),
    }
)
"""IANA names of UTC itself: a site there writes --DTC as a site without a zone (UTC, no designator)."""


def dtc(text: str, zone: str | None = None) -> str:
    """SDTM --DTC of a snapshot cell: dates stay ``YYYY-MM-DD`` (a date field is the site's calendar date);
    date-times become ``YYYY-MM-DDTHH:MM`` (seconds dropped when zero; SDTMIG 3.4 §4.4.2) — in UTC without a
    designator for a subject whose site has no time zone (as before), else on the site's clock (`zone`, its
    IANA name) with its UTC offset, ``2021-04-27T07:30+08:00`` (ISO 8601), ``+00:00`` at a zero offset (a
    London winter time: one style for all of a subject's date-times; a site in UTC itself, `UTC_ZONES`, as
    without a zone): the date a reviewer reads is the date the study day counts (D-19.607). An offset that is
    no whole number of minutes (a local mean time, such as Monrovia's -00:44:30 before 1972) has no ISO 8601
    designator (±hh:mm): such an instant is written in UTC with ``Z``, exact, never a rounded offset.
    Partial dates (``YYYY``, ``YYYY-MM``) stay partial (ISO 8601 right truncation), never imputed. At a site
    west of UTC an instant at exactly 00:00:00Z, the store's form of a date typed without a time, is that
    date (``YYYY-MM-DD``, no time: `cartrial.columns.typed_site_moment`, D-19.947); at UTC and east of it
    (the same date either way) it keeps its time, a real 08:00 in Wuhan included.

    >>> dtc("2021-08-02T00:00:00Z", "America/Los_Angeles"), dtc("2021-08-02T00:00:00Z", "Asia/Shanghai")
    ('2021-08-02', '2021-08-02T08:00+08:00')
    >>> dtc("2021-04-26T23:30:00Z"), dtc("2021-04-26T23:30:00Z", "Asia/Shanghai")
    ('2021-04-26T23:30', '2021-04-27T07:30+08:00')
    >>> dtc("2021-01-05T10:00:00Z", "Europe/London"), dtc("2021-01-05T10:00:00Z", "Etc/UTC")
    ('2021-01-05T10:00+00:00', '2021-01-05T10:00')
    """
    text = (text or "").strip()
    if not text:
        return ""
    if "T" not in text:
        return text
    value = parse_instant(text)
    assert value is not None
    shape = "%Y-%m-%dT%H:%M" if value.second == 0 else "%Y-%m-%dT%H:%M:%S"
    local = on_site_clock(value.replace(tzinfo=dt.UTC), zone)
    if typed_site_moment(value.replace(tzinfo=dt.UTC), zone) != local:
        return value.date().isoformat()  # 00:00:00Z west of UTC: a date typed without a time (D-19.947)
    if zone and zone not in UTC_ZONES:  # a zoned site: always its offset, +00:00 too (one style per subject)
        designator = _offset_designator(local.utcoffset())
        if designator is None:  # an offset of seconds (a local mean time): the UTC time, with Z
            return value.strftime(shape) + "Z"
        return local.strftime(shape) + designator
    return value.strftime(shape)


def result_text(value: float, decimals: int | None = None) -> str:
    """--STRESC of a computed number, the text its --STRESN is read from (``float(text) == --STRESN``,
    SDTMIG 3.4 §4.5.1; D-19.142): with `decimals` the value rounded to them, a tie half away from zero
    (`cartrial.rounding.fixed`, D-19.737), else the shortest text that reads back as the value exactly (never
    exponent notation); never a negative zero.

    >>> result_text(1198.8090195976451), result_text(3.0), result_text(-0.0001, 2), result_text(0.17609, 2)
    ('1198.8090195976451', '3', '0.00', '0.18')
    >>> result_text(0.845, 2), result_text(0.125, 2)
    ('0.85', '0.13')
    """
    number = float(value)
    if decimals is not None:
        return fixed(number, decimals)
    return str(np.format_float_positional(number + 0.0, unique=True, trim="-"))


def date_of(text: str) -> dt.date | None:
    """The calendar date of a complete --DTC (None for blank or partial dates)."""
    text = (text or "").strip()
    if len(text) < 10:
        return None
    return dt.date.fromisoformat(text[:10])


def study_day(value: str | dt.date | None, reference: dt.date | None) -> float:
    """--DY: (date − reference) + 1 on or after the reference date, (date − reference) before it; there is no
    day 0 (SDTMIG 3.4 §4.4.4). NaN when either date is missing or partial."""
    day = value if isinstance(value, dt.date) else date_of(value or "")
    if day is None or reference is None:
        return math.nan
    delta = (day - reference).days
    return float(delta + 1 if delta >= 0 else delta)


@dataclass(frozen=True)
class Visit:
    number: float
    name: str
    protocol_day: int
    minus: int
    plus: int

    @property
    def visitdy(self) -> int:
        """Planned study day in SDTM numbering (protocol day 0 = infusion = SDTM day 1)."""
        return self.protocol_day + 1 if self.protocol_day >= 0 else self.protocol_day


def protocol_visits(protocol: Any) -> tuple[Visit, ...]:
    """The scheduled visits of the protocol (`schedule.visits`), numbered 1..n in protocol order."""
    out = []
    for i, v in enumerate(protocol.schedule.visits, start=1):
        out.append(
            Visit(
                float(i),
                ascii_text(v.name),
                int(v.study_day),
                int(getattr(v, "window_minus_days", 0) or 0),
                int(getattr(v, "window_plus_days", 0) or 0),
            )
        )
    return tuple(out)


def is_scheduled_visit(visitnum: Any, visits: Sequence[Visit]) -> np.ndarray:
    """True where VISITNUM (any array-like; text or blank is not a number) is the number of one of the
    protocol's scheduled `visits` (`protocol_visits`): the one rule of 'scheduled' in the export (SV.SVUPDES,
    ADLB.AVISITN), never the visit's name — a protocol visit may be named 'UNSCHEDULED ...' (D-19.1363,
    D-19.1367)."""
    numbers = pd.to_numeric(pd.Series(np.asarray(visitnum, dtype=object)), errors="coerce")
    return numbers.isin({v.number for v in visits}).to_numpy(dtype=bool)


def site_date_of(instant: dt.datetime, zone: str | None) -> dt.date:
    """The date of `instant` (naive UTC, `parse_instant`) on the calendar of the IANA `zone` (None: UTC), by
    `typed_site_moment` (exactly 00:00:00Z, a date typed without a time: that date; D-19.947)."""
    return typed_site_moment(instant.replace(tzinfo=dt.UTC), zone).date()


def site_wall_clock(instant: dt.datetime | None, zone: str | None) -> dt.datetime | None:
    """`instant` (naive UTC, `parse_instant`) as the site's wall-clock time (naive; the IANA `zone`, None:
    UTC as it is): an ADaM numeric date-time (*DTM), whose date part is then the date on the site's calendar
    the matching *DT holds (D-19.607; exactly 00:00:00Z west of UTC, a date typed without a time, is 00:00 of
    that date, `typed_site_moment`, D-19.947). None stays None.

    >>> site_wall_clock(dt.datetime(2021, 4, 26, 23, 30), "Asia/Shanghai")
    datetime.datetime(2021, 4, 27, 7, 30)
    """
    if instant is None:
        return None
    return typed_site_moment(instant.replace(tzinfo=dt.UTC), zone).replace(tzinfo=None)


@dataclass
class SubjectTimeline:
    """Reference dates of one subject: CAR-T infusion (RFSTDTC, day 1) and lymphodepletion start."""

    infusion: dt.datetime | None = None
    ld_start: dt.date | None = None
    dlt_window_days: int = 28
    zone: str | None = None
    """The IANA time zone of the subject's site (None: UTC): the calendar of the subject's study days and
    the clock of its --DTC date-times (`Analysis.intermediates['time_zones']`, D-19.607)."""
    consent: dt.date | None = None
    """The informed consent date (DM.RFICDTC, the start of SE's screening element): a record dated before it
    is pre-study and has no EPOCH (D-19.1211)."""

    @property
    def reference(self) -> dt.date | None:
        """RFSTDTC's date, day 1: the infusion's date on the site's calendar (D-19.607)."""
        return self.site_date(self.infusion) if self.infusion else None

    def site_date(self, instant: dt.datetime) -> dt.date:
        """The date of `instant` (naive UTC, `parse_instant`) on the site's calendar."""
        return site_date_of(instant, self.zone)

    def dtc(self, text: str) -> str:
        """`dtc` of a snapshot or analysis cell of this subject, on the site's clock."""
        return dtc(text, self.zone)

    def epoch(self, value: str) -> str:
        """EPOCH (SDTMIG 3.4 §4.1.3.1): SCREENING before lymphodepletion (or before the infusion without
        one), TREATMENT from lymphodepletion to the end of the DLT window after the infusion (through day
        `dlt_window_days`, the DLT assessment's one rule `in_dlt_window`: a DLT on day 28 of a 28-day window
        is in TREATMENT; D-19.1019), FOLLOW-UP after; blank for partial dates or subjects never infused, and
        for a record dated before the informed consent (pre-study: SDTMIG 3.4 §4.1.3.1; D-19.1211)."""
        day = date_of(value)
        if day is None or self.infusion is None or (self.consent is not None and day < self.consent):
            return ""
        reference = self.site_date(self.infusion)
        start = self.ld_start or reference
        if day < start:
            return "SCREENING"
        if day < reference or bool(in_dlt_window((day - reference).days, self.dlt_window_days)):
            return "TREATMENT"
        return "FOLLOW-UP"


@dataclass
class VisitAssigner:
    """VISITNUM/VISIT from the protocol schedule: a record belongs to the scheduled visit whose window
    (target day ± window, protocol days relative to the infusion) holds its date, the nearest target first;
    otherwise it is an unscheduled visit numbered after the last scheduled visit before it (x.01, x.02, …
    per subject and date). A record dated before the subject's informed consent is pre-study: no visit
    (D-19.1213)."""

    visits: Sequence[Visit]
    _unscheduled: dict[tuple[str, float], list[dt.date]] = field(default_factory=dict)

    def assign(self, subject: str, value: str, timeline: SubjectTimeline) -> tuple[float, str]:
        day = date_of(value)
        if day is None or timeline.infusion is None:
            return math.nan, ""
        if timeline.consent is not None and day < timeline.consent:
            return math.nan, ""  # pre-study: in no visit, as it has no EPOCH (D-19.1211, D-19.1213)
        pday = (day - timeline.site_date(timeline.infusion)).days
        best = None
        for v in self.visits:
            if v.protocol_day - v.minus <= pday <= v.protocol_day + v.plus:
                distance = abs(pday - v.protocol_day)
                if best is None or distance < best[0]:
                    best = (distance, v)
        if best is not None:
            return best[1].number, best[1].name
        before = [v for v in self.visits if v.protocol_day < pday]
        base = before[-1].number if before else 0.0
        dates = self._unscheduled.setdefault((subject, base), [])
        if day not in dates:
            dates.append(day)
            dates.sort()
        k = dates.index(day) + 1
        number = round(base + k / 100, 2)
        return number, f"UNSCHEDULED {number:.2f}"


FAST_INSTANT_RE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z"
"""The snapshot's usual date-time cell (UTC, whole seconds): its --DTC is a plain slice of the text."""


def by_distinct(values: pd.Series | np.ndarray, function: Any) -> np.ndarray:
    """`function` (array of distinct values → array of results) applied once per distinct value and spread
    back to every row (pandas factorize: the hashing runs in C). Missing values count as ``''``."""
    array = pd.Series(values).fillna("").to_numpy(dtype=object)
    codes, uniques = pd.factorize(array)
    if not len(codes):
        return np.asarray(function(pd.Series([], dtype=object)))[:0]
    results = np.asarray(function(pd.Series(uniques, dtype=object)))
    return results[codes]


def date_part(values: pd.Series | np.ndarray) -> np.ndarray:
    """The first ten characters (the date of an ISO 8601 value) of every value, once per distinct value."""
    return by_distinct(values, lambda u: u.astype(str).str.slice(0, 10).to_numpy(dtype=object))


def _dtc_distinct(text: pd.Series) -> np.ndarray:
    text = text.astype(str).str.strip()
    out = text.to_numpy(dtype=object).copy()
    fast = text.str.match(FAST_INSTANT_RE).to_numpy(dtype=bool)
    if fast.any():
        part = text[fast]
        zero = (part.str.slice(17, 19) == "00").to_numpy(dtype=bool)
        out[fast] = np.where(zero, part.str.slice(0, 16), part.str.slice(0, 19))
    timed = ~fast & text.str.contains("T", regex=False).to_numpy(dtype=bool)
    if timed.any():
        out[timed] = [dtc(v) for v in text[timed]]
    return out


def dtc_column(values: pd.Series, zones: pd.Series | None = None) -> pd.Series:
    """`dtc` of every cell of a column, vectorised: once per distinct cell; ``YYYY-MM-DDTHH:MM:SSZ`` cells
    are sliced (seconds dropped when zero), other date-times go through `dtc`. `zones` (aligned with
    `values`): each cell's site time zone ('' none) — the cells of a zoned subject are written as `dtc`
    writes them with it, vectorised once per distinct zone (`_dtc_in_zone`; D-19.607)."""
    values = values.reset_index(drop=True)
    out = pd.Series(by_distinct(values, _dtc_distinct), dtype=object)
    if zones is None:
        return out
    zoned = zones.reset_index(drop=True).fillna("").astype(str)
    timed = (zoned != "").to_numpy(dtype=bool) & values.astype(str).str.contains("T", regex=False).to_numpy(
        dtype=bool
    )
    if timed.any():
        cells, cell_zones = values[timed].astype(str), zoned[timed]
        utc = out[timed].astype(str)  # `dtc` without a zone: the UTC text of each instant
        written = pd.Series(index=cells.index, dtype=object)
        for zone in pd.unique(cell_zones):
            rows = (cell_zones == zone).to_numpy(dtype=bool)
            written[rows] = (
                utc[rows].to_numpy(dtype=object)  # UTC itself: as without a zone
                if zone in UTC_ZONES
                else _dtc_in_zone(cells[rows], utc[rows], str(zone))
            )
        out[timed] = written.to_numpy(dtype=object)
    return out


def _dtc_in_zone(cells: pd.Series, utc: pd.Series, zone: str) -> np.ndarray:
    """`dtc(cell, zone)` of date-time cells of one site's zone (`utc`: their `dtc` without a zone), at once:
    pandas' zone conversion gives each instant's UTC offset, the local time is the UTC time plus it, each
    distinct offset is formatted once; exactly 00:00:00Z west of UTC is the date typed, ``YYYY-MM-DD``; a
    cell pandas does not read goes through `dtc`. The zone is handed to
    pandas as its zoneinfo object (`time_zone_of`), never by name (pytz's own copy of the database): the
    offsets `dtc` reads."""
    tz = time_zone_of(zone)
    if tz is None:
        raise ValueError("not an IANA time zone")
    parsed = pd.to_datetime(utc, format="ISO8601", errors="coerce")
    offsets = parsed.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None) - parsed
    local = (parsed + offsets).to_numpy(dtype="datetime64[s]")
    minutes = np.datetime_as_string(local, unit="m")
    seconds = np.datetime_as_string(local, unit="s")
    text = np.where(utc.str.len().to_numpy() > 16, seconds, minutes).astype(object)
    designator = {
        o: _offset_designator(o)
        for o in pd.unique(offsets.dropna())  # a handful of offsets per zone
    }
    out = text + offsets.map(designator).fillna("").to_numpy(dtype=object)
    seconds_offset = offsets.map(lambda o: designator.get(o, "") is None).to_numpy(dtype=bool)
    if seconds_offset.any():  # no ±hh:mm designator: the UTC time, with Z (as `dtc`)
        out[seconds_offset] = utc[seconds_offset].to_numpy(dtype=object) + "Z"
    untimed = ((parsed == parsed.dt.normalize()) & (offsets < pd.Timedelta(0))).to_numpy(dtype=bool)
    if untimed.any():  # 00:00:00Z west of UTC, a date typed without a time: that date (as `dtc`; D-19.947)
        out[untimed] = parsed[untimed].dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    unread = parsed.isna().to_numpy(dtype=bool)
    if unread.any():
        out[unread] = [dtc(c, zone) for c in cells[unread]]
    return out


def _offset_designator(offset: Any) -> str | None:
    """The ISO 8601 designator `dtc` writes for a UTC offset of a zoned site (``+08:00``, ``+00:00``); None
    for an offset that is no whole number of minutes (ISO 8601 has ±hh:mm only; D-19.607).

    >>> _offset_designator(dt.timedelta(hours=-7)), _offset_designator(dt.timedelta(minutes=-44, seconds=-30))
    ('-07:00', None)
    """
    seconds = int(pd.Timedelta(offset).total_seconds())
    if seconds % 60:
        return None
    sign, minutes = ("-" if seconds < 0 else "+"), abs(seconds) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _day_distinct(dtcs: pd.Series) -> np.ndarray:
    dtcs = dtcs.astype(str)
    head = dtcs.str.slice(0, 10)
    parsed = pd.to_datetime(head.where(dtcs.str.len() >= 10), format="%Y-%m-%d", errors="coerce")
    return parsed.to_numpy(dtype="datetime64[ns]")


def day_column(dtcs: pd.Series) -> pd.Series:
    """The calendar date (datetime64, NaT for blank, partial or impossible dates) of --DTC values."""
    return pd.Series(by_distinct(dtcs, _day_distinct), dtype="datetime64[ns]")


def study_day_column(days: pd.Series, reference: pd.Series) -> np.ndarray:
    """`study_day` vectorised: (date − reference) + 1 on or after the reference, (date − reference) before
    it, never 0 (SDTMIG 3.4 §4.4.4); NaN when either is missing. Both arguments datetime64."""
    delta = (days.to_numpy(dtype="datetime64[ns]") - reference.to_numpy(dtype="datetime64[ns]")).astype(
        "timedelta64[D]"
    )
    missing = np.isnat(delta)
    number = delta.astype("int64").astype(float)
    number = np.where(number >= 0, number + 1, number)
    number[missing] = np.nan
    return number


def _as_day(value: dt.date | None) -> Any:
    return pd.NaT if value is None else pd.Timestamp(value)


@dataclass
class TimingTables:
    """Per-subject reference dates of the timelines as lookup Series (subject_id → datetime64; `zone`:
    subject_id → the site's IANA zone, '' none)."""

    infusion_day: pd.Series
    ld_start: pd.Series
    window: pd.Series
    zone: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    consent: pd.Series = field(default_factory=lambda: pd.Series(dtype="datetime64[ns]"))
    """subject_id → informed consent date (NaT: none recorded; D-19.1211)."""

    @classmethod
    def of(cls, timelines: Mapping[str, SubjectTimeline]) -> TimingTables:
        ids = list(timelines)
        return cls(
            pd.Series([_as_day(t.reference) for t in timelines.values()], index=ids, dtype="datetime64[ns]"),
            pd.Series([_as_day(t.ld_start) for t in timelines.values()], index=ids, dtype="datetime64[ns]"),
            pd.Series([t.dlt_window_days for t in timelines.values()], index=ids, dtype=float),
            pd.Series([t.zone or "" for t in timelines.values()], index=ids, dtype=object),
            pd.Series([_as_day(t.consent) for t in timelines.values()], index=ids, dtype="datetime64[ns]"),
        )


def timing_columns(
    subjects: pd.Series,
    values: pd.Series,
    prefix: str,
    tables: TimingTables,
    visits: Sequence[Visit] | None,
) -> pd.DataFrame:
    """--DTC, --DY, EPOCH and (with `visits`) VISITNUM/VISIT of many records at once (the vectorised form of
    `dtc`, `study_day`, `SubjectTimeline.epoch` and the visit windows of `VisitAssigner`). A record outside
    every visit window gets VISIT ``UNSCHEDULED`` and, as VISITNUM, the number of the last scheduled visit
    before it: `number_unscheduled` numbers those visits once all domains are built."""
    subjects = subjects.astype(str).reset_index(drop=True)
    zones = subjects.map(tables.zone).fillna("") if len(tables.zone) else None
    text = dtc_column(values, zones)  # a zoned subject's date-times on the site's clock (D-19.607)
    day = pd.Series(by_distinct(text, _day_distinct), dtype="datetime64[ns]")
    reference = subjects.map(tables.infusion_day)
    out = pd.DataFrame({f"{prefix}DTC": text, f"{prefix}DY": study_day_column(day, reference)})
    day_ns = day.to_numpy(dtype="datetime64[ns]")
    ref_ns = reference.to_numpy(dtype="datetime64[ns]")
    known = ~np.isnat(day_ns) & ~np.isnat(ref_ns)
    start = subjects.map(tables.ld_start).to_numpy(dtype="datetime64[ns]")
    start = np.where(np.isnat(start), ref_ns, start)
    pday = np.where(known, (day_ns - ref_ns).astype("timedelta64[D]").astype("int64"), 0)
    window = subjects.map(tables.window).fillna(28).to_numpy(dtype=float)
    # TREATMENT from lymphodepletion through the last day of the DLT window (`in_dlt_window`; D-19.1019)
    treatment = (day_ns < ref_ns) | in_dlt_window(pday, window)
    epoch = np.where(day_ns < start, "SCREENING", np.where(treatment, "TREATMENT", "FOLLOW-UP"))
    # a record dated before the informed consent is pre-study: no EPOCH (SDTMIG 3.4 §4.1.3.1; D-19.1211)
    consent = subjects.map(tables.consent).to_numpy(dtype="datetime64[ns]")
    pre_study = ~np.isnat(consent) & ~np.isnat(day_ns) & (day_ns < consent)
    # a pre-study record is in no visit either: the visits (and SV) are the in-study ones (D-19.1213)
    in_study = known & ~pre_study
    out["EPOCH"] = np.where(in_study, epoch, "")
    if visits is not None:
        n = len(out)
        best = np.full(n, -1)
        distance = np.full(n, np.iinfo(np.int64).max)
        base = np.zeros(n, dtype=float)
        for i, v in enumerate(visits):
            inside = in_study & (pday >= v.protocol_day - v.minus) & (pday <= v.protocol_day + v.plus)
            d = np.abs(pday - v.protocol_day)
            better = inside & (d < distance)
            best = np.where(better, i, best)
            distance = np.where(better, d, distance)
            base = np.where(in_study & (v.protocol_day < pday), v.number, base)
        numbers = np.array([v.number for v in visits] + [math.nan], dtype=float)
        names = np.array([v.name for v in visits] + [""], dtype=object)
        scheduled = best >= 0
        out["VISITNUM"] = np.where(scheduled, numbers[best], np.where(in_study, base, math.nan))
        out["VISIT"] = np.where(scheduled, names[best], np.where(in_study, UNSCHEDULED, ""))
    return out


UNSCHEDULED = "UNSCHEDULED"
"""Placeholder VISIT of a record outside every visit window until `number_unscheduled` numbers it."""


def number_unscheduled(frames: Mapping[str, pd.DataFrame], dtc_columns: Mapping[str, str]) -> None:
    """Number the unscheduled visits of every domain at once (in place): per subject and last scheduled
    visit before it (VISITNUM x), the distinct dates of unscheduled records in any domain get x.01, x.02, …
    in date order, VISIT ``UNSCHEDULED x.0k`` — the same date is the same visit in every domain. A base with
    n >= 100 such dates uses d = len(str(n)) decimals instead of 2 (x.001 … x.150 for 150): every number
    stays strictly between x and x+1, never a protocol visit's number, distinct and in date order
    (D-19.1375)."""
    parts = []
    for name, column in dtc_columns.items():
        frame = frames.get(name)
        if frame is None or not len(frame) or "VISIT" not in frame.columns:
            continue
        mask = frame["VISIT"] == UNSCHEDULED
        if mask.any():
            parts.append(
                pd.DataFrame(
                    {
                        "USUBJID": frame.loc[mask, "USUBJID"],
                        "BASE": frame.loc[mask, "VISITNUM"],
                        "DAY": date_part(frame.loc[mask, column]),
                    }
                )
            )
    if not parts:
        return
    days = pd.concat(parts, ignore_index=True).drop_duplicates().sort_values(["USUBJID", "BASE", "DAY"])
    groups = days.groupby(["USUBJID", "BASE"], sort=False)
    k = groups.cumcount() + 1
    count = groups["DAY"].transform("size")
    digits = np.maximum(2, np.floor(np.log10(count.to_numpy(dtype=float))).astype(int) + 1)
    days["NUMBER"] = [round(b + i / 10.0**d, d) for b, i, d in zip(days["BASE"], k, digits, strict=True)]
    days["LABEL"] = [f"UNSCHEDULED {x:.{d}f}" for x, d in zip(days["NUMBER"], digits, strict=True)]
    lookup = days.set_index(["USUBJID", "BASE", "DAY"])[["NUMBER", "LABEL"]]
    for name, column in dtc_columns.items():
        frame = frames.get(name)
        if frame is None or not len(frame) or "VISIT" not in frame.columns:
            continue
        mask = (frame["VISIT"] == UNSCHEDULED).to_numpy()
        if not mask.any():
            continue
        keys = pd.MultiIndex.from_arrays(
            [frame["USUBJID"][mask], frame["VISITNUM"][mask], date_part(frame[column][mask])]
        )
        found = lookup.reindex(keys)
        frame.loc[mask, "VISITNUM"] = found["NUMBER"].to_numpy(dtype=float)
        frame.loc[mask, "VISIT"] = found["LABEL"].to_numpy(dtype=object)


def finalize(frame: pd.DataFrame, spec: DatasetSpec, sort: Sequence[str] | None = None) -> pd.DataFrame:
    """Columns in spec order (variables the builder did not produce are left out), rows sorted by `sort`
    (default: the keys without --SEQ), the dataset's own --SEQ (<domain>SEQ of an SDTM domain) assigned 1..n
    per subject in that order, character blanks as ``''`` and numeric blanks as NaN. The --SEQ of another
    dataset (ADaM's AESEQ, LBSEQ, PCSEQ, PPSEQ: the SDTM record a value comes from) is kept as built
    (D-19.259).

    Built column by column into one new frame (one block consolidation, not one per column)."""
    seq = next((v.name for v in spec.variables if v.name == f"{spec.name}SEQ"), None)
    order = [k for k in (sort or spec.keys) if k in frame.columns and k != seq]
    perm: np.ndarray | None = None
    if order and len(frame):
        keys = frame[order].reset_index(drop=True)
        perm = keys.sort_values(order, kind="mergesort", key=_sort_key).index.to_numpy()
    present = set(frame.columns)

    def column(name: str) -> pd.Series:
        values = frame[name].to_numpy()
        # a new array either way: the result never shares memory with `frame`
        return pd.Series(values.copy() if perm is None else values[perm])

    out: dict[str, Any] = {}
    seq_values: np.ndarray | None = None
    if seq is not None and "USUBJID" in present:
        seq_values = (column("USUBJID").groupby(column("USUBJID"), sort=False).cumcount() + 1).to_numpy(
            dtype=float
        )
    for v in spec.variables:
        if v.name == seq and seq_values is not None:
            out[v.name] = seq_values
            continue
        if v.name not in present:
            continue
        values = column(v.name)
        if v.type == "Char":
            # already text (the usual case): checked on the distinct values only
            if values.dtype != object or pd.api.types.infer_dtype(values, skipna=False) != "string":
                values = values.where(values.notna(), "").astype(str)
            out[v.name] = values.to_numpy()
        elif v.date is None:
            out[v.name] = pd.to_numeric(values, errors="coerce").astype(float).to_numpy()
        else:
            dates = np.empty(len(values), dtype=object)
            dates[:] = [x if isinstance(x, dt.date) else None for x in values]
            out[v.name] = dates
    # copy=False: the arrays are new; no block consolidation (one pass less over every cell)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)), copy=False)


def _sort_key(series: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(series.to_numpy(dtype=object), use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=object)
    numeric = pd.to_numeric(distinct, errors="coerce")
    filled = distinct.replace("", pd.NA).notna()
    if numeric.notna().sum() == filled.sum():
        return pd.Series(numeric.to_numpy(dtype=float)[codes], index=series.index)
    # the rank of each row's text among the distinct texts: sorts as ``series.astype(str)`` does, without
    # comparing every row's text
    rank, _ = pd.factorize(distinct.astype(str).to_numpy(dtype=object), sort=True)
    return pd.Series(rank[codes], index=series.index)


def empty_frame(spec: DatasetSpec) -> pd.DataFrame:
    return pd.DataFrame(
        {v.name: pd.Series(dtype=object if v.type == "Char" else float) for v in spec.variables}
    )


__all__ = [
    "ASCII_MAP",
    "UNIT_SYNONYMS",
    "UNSCHEDULED",
    "SubjectTimeline",
    "TimingTables",
    "Visit",
    "VisitAssigner",
    "ascii_text",
    "by_distinct",
    "cdisc_unit",
    "date_of",
    "date_part",
    "day_column",
    "dtc",
    "dtc_column",
    "empty_frame",
    "finalize",
    "is_scheduled_visit",
    "number_unscheduled",
    "parse_instant",
    "protocol_visits",
    "result_text",
    "site_date_of",
    "site_days",
    "site_wall_clock",
    "study_day",
    "study_day_column",
    "subject_zones",
    "timing_columns",
]
