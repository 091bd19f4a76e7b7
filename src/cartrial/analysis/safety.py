"""THE adapter between the analysis and the grading engine (the one place that calls `cartrial.grading`).

It calls only grading's frame-level derivations — `derive_crs_episodes`, `derive_icans_episodes`,
`derive_lab_grades`, `derive_icaht` — the same functions the command line, the store and the demo call, so
every rule (ASTCT 2019 CRS/ICANS grades, episode rules, CTCAE v5.0 haematology, EHA/EBMT ICAHT 2023 with
its lowest-count-of-the-day, interpolation and late-window rules) exists once, in grading. This module only
selects the snapshot's rows (infused subjects, haematology analytes), keeps the column names the analysis
datasets use, and turns the located problems of rows left out into notes naming subject and reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cartrial.analysis.model import stored_rows
from cartrial.errors import InputError, Problem
from cartrial.grading.choices import RowMasking
from cartrial.results import Result

CRS_FORM = "crs_assessments"
ICANS_FORM = "icans_assessments"
LAB_FORM = "labs"
REFUSED_WHAT = {CRS_FORM: "CRS assessment", ICANS_FORM: "ICANS assessment", LAB_FORM: "lab result"}
"""How a refused record of each form is named in the notes."""


@dataclass(frozen=True)
class GradedEpisodes:
    """One row per CRS or ICANS episode (grading's `EpisodeSummary.as_record`), with the options used."""

    table: pd.DataFrame
    options: dict[str, Any]
    scale: str
    problems: tuple[str, ...] = ()
    """Rows left out (and why), naming the subject; plus grading's notes (e.g. implausible lab values)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The grading `Result.metadata()` (derivation, options, sources, cartrial version)."""
    refused: tuple[RefusedRow, ...] = ()
    """Assessments the grading refused (left out of every episode; also named in `problems`)."""
    assessments: Graded | None = None
    """CRS only: the grade of each assessment from the same run of the episode grader
    (`crs_assessment_grades`; D-19.1355, D-19.1356)."""


@dataclass(frozen=True)
class Graded:
    """A graded table of the analysis with its notes and the grading `Result.metadata()` it comes from."""

    table: pd.DataFrame
    notes: tuple[str, ...]
    metadata: Mapping[str, Any]
    refused: tuple[RefusedRow, ...] = ()
    """Records the grading refused, left out of `table` (also named in `notes`)."""


METHOD_NOTE_PREFIXES = ("derivation: ", "source: ", "options: ", "method: ")
"""How notes that describe the method (not a subject or a row) begin; see `is_method_note`."""


def is_method_note(note: str) -> bool:
    """Whether a dataset note describes the method (derivation, source, options) rather than data left out.

    >>> is_method_note("options: unsampled_days=linear"), is_method_note("labs of S9 left out: no infusion")
    (True, False)
    """
    return note.startswith(METHOD_NOTE_PREFIXES)


def method_notes(metadata: Mapping[str, Any]) -> tuple[str, ...]:
    """The derivation, its sources and its option values as note lines (for the report's methods section).

    >>> method_notes({"derivation": "cartrial.grading.derive_icaht", "sources": ["EHA/EBMT 2023"],
    ...               "options": {"unsampled_days": "linear"}})
    ('derivation: cartrial.grading.derive_icaht', 'source: EHA/EBMT 2023', 'options: unsampled_days=linear')
    """
    options = metadata.get("options") or {}
    lines = [f"derivation: {metadata.get('derivation', '')}"]
    lines += [f"source: {s}" for s in metadata.get("sources", [])]
    if options:
        lines.append("options: " + ", ".join(f"{k}={v}" for k, v in options.items()))
    return tuple(lines)


def _infused(tables: Mapping[str, pd.DataFrame]) -> set[str]:
    return {str(s) for s in tables["infusions"]["subject_id"]}


def _known(frame: pd.DataFrame, infused: set[str], what: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows of subjects with an infusion (others cannot be placed on the study-day axis), and a note per
    subject left out."""
    keep = frame["subject_id"].astype(str).isin(infused)
    dropped = sorted({str(s) for s in frame.loc[~keep, "subject_id"]})
    return frame[keep].reset_index(drop=True), [f"{what} of {sid} left out: no infusion" for sid in dropped]


def _therapies(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    therapies = tables["therapies"]
    return therapies if len(therapies) else None


@dataclass(frozen=True)
class RefusedRow:
    """A record the grading refused (``keep_going``): left out of the graded table, named by form, subject,
    record id, spreadsheet row, field and the rule it breaks — never the record's values."""

    form: str
    subject_id: str
    record_id: str
    row: int | None
    field: str
    rule: str

    def note(self, what: str) -> str:
        """One line for the dataset notes and the report, e.g. "CRS assessment of CT-004
        (crs_assessments record 47) left out: vasopressors — vasopressors given with hypotension=false;
        allowed: 0 when hypotension=false" (the record id when the snapshot has one, else the form's row)."""
        if self.record_id:
            where = f"{self.form} record {self.record_id}"
        elif self.row is not None:
            where = f"{self.form} row {self.row}"
        else:
            where = self.form
        subject = f" of {self.subject_id}" if self.subject_id else ""
        return f"{what}{subject} ({where}) left out: {self.field or 'record'} — {self.rule}"


def refused_rows(problems: Iterable[Problem], frame: pd.DataFrame, form: str) -> list[RefusedRow]:
    """The located problems of the grading as `RefusedRow`s: the subject and record id are read from the row
    of `frame` the problem's spreadsheet row points at (row 2 = the first row handed to grading); the rule is
    the problem's message and what is allowed (grading's messages never quote a cell: the value given is
    only in `Problem.value`, which is not used here)."""
    out: list[RefusedRow] = []
    for problem in problems:
        row = problem.row
        subject = record = ""
        if row is not None and 2 <= row < len(frame) + 2:
            subject = str(frame["subject_id"].iloc[row - 2])
            if "record_id" in frame:
                record = str(frame["record_id"].iloc[row - 2])
        rule = problem.message
        if problem.allowed:
            rule += f"; allowed: {problem.allowed}"
        field_name = str(problem.field or "")
        out.append(RefusedRow(str(problem.file or form), subject, record, row, field_name, rule))
    return out


def _metadata(result: Result) -> dict[str, Any]:
    """The grading `Result.metadata()` for the analysis datasets (``analysis.json``, the report's methods),
    with the located problems' values removed: a refused record is described by its form, row, field and
    rule, never by its values (`RefusedRow`)."""
    metadata = result.metadata()
    metadata["problems"] = [{**p, "value": None} for p in metadata.get("problems", [])]
    return metadata


def _problem_notes(result: Result, frame: pd.DataFrame, what: str, form: str) -> list[str]:
    """Grading's notes plus one note per row left out (``keep_going``), naming the subject, the record id
    (the snapshot's ``record_id``), the form's row (counting the rows handed to grading), the field and the
    rule (`RefusedRow`; no values)."""
    return list(result.notes) + [r.note(what) for r in refused_rows(result.problems, frame, form)]


def _episodes(
    result: Result, frame: pd.DataFrame, scale: str, notes: list[str], what: str, form: str
) -> GradedEpisodes:
    metadata = _metadata(result)
    table = result.table
    if "max_grade" not in table:  # no assessment could be graded (each refused, named in the notes): no
        table = table.iloc[0:0]  # episode, rather than rows of refused subjects without any grade column
    return GradedEpisodes(
        table,
        dict(metadata["options"]),
        scale,
        tuple(notes + _problem_notes(result, frame, what, form)),
        metadata,
        tuple(refused_rows(result.problems, frame, form)),
    )


def crs_episodes(
    tables: Mapping[str, pd.DataFrame], masking: RowMasking | str = RowMasking.AFTER_FEVER
) -> GradedEpisodes:
    """CRS episodes (ASTCT 2019, default `CrsOptions` and `EpisodeOptions`) of every infused subject
    (`cartrial.grading.derive_crs_episodes_and_grades`), with the grade of each assessment of the same run
    (`GradedEpisodes.assessments`, `crs_assessment_grades`). `masking`: the protocol's
    ``analysis.options.crs_masking`` (`RowMasking`: ``after_fever`` default, D-19.1308; ``recorded``,
    D-19.1356), for the episodes and the row grades alike."""
    from cartrial.grading import CRS_SCALE, derive_crs_episodes_and_grades

    frame, notes = _known(tables["crs_assessments"], _infused(tables), "CRS assessments")
    with stored_rows({CRS_FORM: frame, "infusions": tables["infusions"], "therapies": tables["therapies"]}):
        result, rows = derive_crs_episodes_and_grades(
            frame,
            tables["infusions"],
            therapies=_therapies(tables),
            masking=masking,
            keep_going=True,
            file=CRS_FORM,
        )
    episodes = _episodes(result, frame, CRS_SCALE, notes, "CRS assessment", CRS_FORM)
    return dataclasses.replace(episodes, assessments=_assessment_grades(rows, frame, notes))


CRS_ASSESSMENT_COLUMNS = {
    "subject_id": "subject",
    "record_id": "the CRS assessment's record id",
    "assessed_at": "when assessed (as recorded)",
    "grade": "ASTCT 2019 CRS grade of the assessment under the episode's fever-masking rule (`masking`); "
    "blank before the infusion (not CRS, D-19.1356)",
    "grade_reason": "the ASTCT rule that decided the grade",
    "fever_masked": "fever_masked as the investigator recorded it",
    "fever_masked_used": "the fever masking the grade used: after_fever, a flag or masking drug counts only "
    "after a CRS fever recorded after the infusion (D-19.1308); recorded, the flag as recorded (D-19.1356)",
    "masking": "the fever-masking option of the episodes and the rows (analysis.options.crs_masking: "
    "after_fever | recorded; default after_fever, D-19.1355, D-19.1356)",
    "episode": "the subject's CRS episode (crs_episodes.episode) whose span holds the assessment; 0 none",
}
"""Columns of `crs_assessment_grades` and what they hold."""


def crs_assessment_grades(
    tables: Mapping[str, pd.DataFrame], masking: RowMasking | str = RowMasking.AFTER_FEVER
) -> Graded:
    """The ASTCT 2019 CRS grade of every assessment of the infused subjects, as `crs_episodes` grades it
    (`cartrial.grading.derive_crs_assessment_grades`, default options; D-19.1355): with the default
    ``masking=after_fever`` a recorded ``fever_masked`` flag counts only after a CRS fever recorded after the
    infusion (D-19.1308), so each episode's ``max_grade`` is at least the largest ``grade`` of its
    assessments (equal with per-assessment grading units); ``recorded`` takes the flag as recorded, for the
    episodes too (D-19.1356). A row before the infusion has no grade ("before the infusion: not CRS").
    Columns: `CRS_ASSESSMENT_COLUMNS`."""
    graded = crs_episodes(tables, masking).assessments
    assert graded is not None
    return graded


def _assessment_grades(result: Result, frame: pd.DataFrame, notes: list[str]) -> Graded:
    table = result.table
    refused = tuple(refused_rows(result.problems, frame, CRS_FORM))
    if refused:
        table = table[table["error"].fillna("").astype(str) == ""] if "error" in table else table
    wanted = [c for c in CRS_ASSESSMENT_COLUMNS if c in table.columns]
    out = table[wanted].reset_index(drop=True)
    if not len(out):
        out = pd.DataFrame(columns=list(CRS_ASSESSMENT_COLUMNS))
    return Graded(
        out,
        tuple(notes + _problem_notes(result, frame, "CRS assessment", CRS_FORM)),
        _metadata(result),
        refused,
    )


def icans_episodes(tables: Mapping[str, pd.DataFrame]) -> GradedEpisodes:
    """ICANS episodes (ASTCT 2019 with ICE) of every infused subject
    (`cartrial.grading.derive_icans_episodes`)."""
    from cartrial.grading import derive_icans_episodes
    from cartrial.grading.icans import ICANS_SCALE

    frame, notes = _known(tables["icans_assessments"], _infused(tables), "ICANS assessments")
    with stored_rows({ICANS_FORM: frame, "infusions": tables["infusions"], "therapies": tables["therapies"]}):
        result = derive_icans_episodes(
            frame, tables["infusions"], therapies=_therapies(tables), keep_going=True, file=ICANS_FORM
        )
    return _episodes(result, frame, ICANS_SCALE, notes, "ICANS assessment", ICANS_FORM)


LAB_COLUMNS = [
    "subject_id",
    "analyte",
    "collected_at",
    "collected_before_infusion",
    "pre_treatment",
    "study_day",
    "value_canonical",
    "canonical_unit",
    "grade",
    "term",
    "rule",
]


def _haematology(tables: Mapping[str, pd.DataFrame]) -> tuple[pd.DataFrame, list[str]]:
    from cartrial.grading import ANALYTES

    labs = tables["labs"]
    names = [a.value for a in ANALYTES]
    return _known(labs[labs["analyte"].isin(names)].reset_index(drop=True), _infused(tables), "labs")


def graded_labs(
    tables: Mapping[str, pd.DataFrame],
    ctcae_version: str = "5.0",
    treatment_emergent_start: Any = "lymphodepletion",
    zones: Mapping[str, str] | None = None,
) -> Graded:
    """CTCAE grade of every haematology result of the infused subjects (`cartrial.grading.derive_lab_grades`
    with the infusions, so each row has its ``study_day`` and ``collected_before_infusion``) and
    ``pre_treatment`` (`pre_treatment`: collected before the treatment-emergent period of the study's
    `treatment_emergent_start` rule, a baseline value; the one column `lab_shift` and ADaM ADLB read,
    D-19.710); columns `LAB_COLUMNS` (``rule`` = grading's ``grade_reason``) plus grading's
    ``lln_canonical``, ``grade_reason`` and ``scale``, and grading's ``uln_canonical``: the result's ULN
    (when the store holds one) in the canonical unit, converted and rounded by the grading engine like the
    LLN (SDTM LBSTNRHI, D-19.385).
    Rows left out are named in the notes. `zones`: subject_id → the IANA zone of the subject's study-day
    calendar as the analysis decided it (`cartrial.analysis.populations.subject_zones`), for tables that do
    not carry it (a snapshot's, which `study_tables` has not given the infusions' ``time_zone``): the
    infusions take it, so study days and ``pre_treatment`` are on the site's calendar as the analysis's
    and ADT are (D-19.607, D-19.714); None: the infusions' ``time_zone`` column as it is."""
    from cartrial.columns import TIME_ZONE_COLUMN
    from cartrial.grading import derive_lab_grades

    if zones is not None:
        infusions = tables["infusions"]
        named = infusions["subject_id"].astype(str).map(dict(zones)).fillna("")
        tables = {**tables, "infusions": infusions.assign(**{TIME_ZONE_COLUMN: named.to_numpy(dtype=object)})}
    frame, notes = _haematology(tables)
    with stored_rows({LAB_FORM: frame, "infusions": tables["infusions"]}):  # D-19.542
        result = derive_lab_grades(
            frame, ctcae_version=ctcae_version, infusions=tables["infusions"], keep_going=True, file=LAB_FORM
        )
    table = result.table
    if "error" in table:
        table = table[table["error"].fillna("") == ""]
    table = table.rename(columns={"grade_reason": "rule"}).assign(grade_reason=lambda t: t["rule"])
    extra = ["lln_canonical", "grade_reason", "scale", "uln_canonical", "record_id"]
    out = table.reindex(columns=[*LAB_COLUMNS, *extra]).reset_index(drop=True)
    if len(out):
        out["grade"] = out["grade"].astype(int)
        out["study_day"] = out["study_day"].astype("Int64")
        out["collected_before_infusion"] = out["collected_before_infusion"].astype(bool)
        out["subject_id"] = out["subject_id"].astype(str)
        out["pre_treatment"] = pre_treatment(out, tables, treatment_emergent_start)
    else:
        out["pre_treatment"] = out["pre_treatment"].astype(bool)
    return Graded(
        out,
        tuple(notes + _problem_notes(result, frame, "lab result", LAB_FORM)),
        _metadata(result),
        tuple(refused_rows(result.problems, frame, LAB_FORM)),
    )


def site_order(keys: Iterable[Any], study_day: Any, instant: Any, record: Any | None = None) -> np.ndarray:
    """Row positions in time order within each group of `keys` (arrays of one length, e.g. subject and
    analyte): by the site study day (`study_day`, the day on the site's calendar by the one rule of
    `cartrial.columns.typed_site_moment`: a date typed without a time is that date, west of UTC too), then
    the parsed instant (`instant`, datetime64; a text's order is not time order: mixed offsets, fractional
    seconds), then the record id (`record`, by its trailing digits, ``12`` and ``LB-12`` alike, then as
    text; None: the row order).
    A missing day or instant sorts last. The one order of "the last value before …" of a subject's labs:
    `lab_shift`'s baseline, ADaM ADLB's ABLFL and SDTM --LOBXFL (D-19.986).

    >>> day = [-2, -3, -2]
    >>> when = pd.to_datetime(["2024-03-08T00:00Z", "2024-03-08T04:00Z", "2024-03-08T01:00Z"])
    >>> site_order([["A", "A", "A"]], day, when).tolist()
    [1, 0, 2]
    """
    columns = {f"k{i}": np.asarray(k, dtype=object) for i, k in enumerate(keys)}
    n = len(next(iter(columns.values()))) if columns else len(np.asarray(study_day))
    days = pd.to_numeric(pd.Series(np.asarray(study_day, dtype=object)), errors="coerce").to_numpy(
        dtype=float
    )
    moments = pd.Series(pd.to_datetime(pd.Series(instant).reset_index(drop=True), utc=True))
    ids = pd.Series(np.arange(n) if record is None else np.asarray(record, dtype=object)).astype(str)
    frame = pd.DataFrame(
        {
            **columns,
            "_day": days,
            "_instant": moments.to_numpy(),
            "_number": pd.to_numeric(ids.str.extract(r"(\d+)$")[0], errors="coerce").to_numpy(dtype=float),
            "_text": ids.to_numpy(dtype=object),
            "_row": np.arange(n),
        }
    )
    by = [*columns, "_day", "_instant", "_number", "_text", "_row"]
    return frame.sort_values(by, kind="mergesort", na_position="last")["_row"].to_numpy(dtype=int)


def last_in_site_order(
    keys: Iterable[Any], study_day: Any, instant: Any, record: Any | None = None
) -> np.ndarray:
    """Positions of the last row of each group of `keys` in `site_order` (the baseline row when the rows
    given are the group's values before the treatment; D-19.986)."""
    key_arrays = [np.asarray(k, dtype=object) for k in keys]
    order = site_order(key_arrays, study_day, instant, record)
    groups = pd.DataFrame({f"k{i}": k[order] for i, k in enumerate(key_arrays)})
    return order[groups.groupby(list(groups.columns), sort=False, dropna=False).tail(1).index.to_numpy()]


def lab_instants(texts: pd.Series) -> pd.Series:
    """Collection date-time texts as UTC instants (`cartrial.columns.iso_instants`, a text without an offset
    UTC; a text it leaves NaT read by `cartrial.columns.utc_moment`, the one reader, which raises for no
    date), by position."""
    from cartrial.columns import iso_instants, utc_moment

    stripped = texts.astype(str).str.strip().reset_index(drop=True)
    when = iso_instants(stripped)
    for row in np.flatnonzero(when.isna().to_numpy()):
        when.iat[row] = pd.Timestamp(utc_moment(stripped.iat[row]))
    return when


PRE_TREATMENT_RULE = (
    "baseline = last value before the treatment-emergent period (analysis.options.treatment_emergent_start: "
    "{start}): a value dated before the start day, or on it unless both it and the infusion have a time "
    "and it was collected at or after the infusion (a value dated on the day of the first dose without a "
    "time, or on the first lymphodepletion day, which has no time, is pre-dose; D-19.710)"
)
"""The rule of `pre_treatment` in words (the `lab_shift` note), by the start's words."""
START_WORDS = {
    "lymphodepletion": "the first lymphodepletion dose, the infusion when none",
    "infusion": "the infusion",
}


def pre_treatment(graded: pd.DataFrame, tables: Mapping[str, pd.DataFrame], rule: Any) -> pd.Series:
    """Whether each graded lab (``subject_id``, ``collected_at``) was collected before the treatment-emergent
    period (D-19.710): the period starts on `cartrial.analysis.populations.treatment_start_days` (the day
    the adverse events are treatment-emergent from, by the study's `rule`). A value on a day before it is
    pre-treatment, one on a day after it is not; one on the start day is pre-dose (the usual SAP baseline:
    the last value on or before the first dose date, labs drawn before dosing; ADaMIG v1.3 ABLFL and
    ONTRTFL follow the SAP's definition) unless both it and the subject's infusion on that day have a
    time and it was collected at or after the infusion (instants compared). The first lymphodepletion dose
    has a date only (``administered_on``), so on that day only the date is compared. Days are the site's
    calendar dates (`cartrial.columns.typed_site_date`, the infusions' ``time_zone``; D-19.607, D-19.618).

    >>> t = {"infusions": pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-06-01T08:00:00Z"]}),
    ...      "lymphodepletion": pd.DataFrame({"subject_id": ["A"], "administered_on": ["2021-05-28"]})}
    >>> g = pd.DataFrame({"subject_id": ["A"] * 4, "collected_at": ["2021-05-27T07:00:00Z", "2021-05-28",
    ...                   "2021-05-31", "2021-06-01T07:00:00Z"]})
    >>> pre_treatment(g, t, "lymphodepletion").tolist(), pre_treatment(g, t, "infusion").tolist()
    ([True, True, False, False], [True, True, True, True])
    """
    from cartrial.analysis.populations import site_days, treatment_start_days
    from cartrial.columns import TIME_ZONE_COLUMN, utc_moment

    start = treatment_start_days(tables, rule)
    infusions = tables["infusions"]
    zones: dict[str, str] = {}
    infused: dict[str, Any] = {}
    for i, sid in enumerate(infusions["subject_id"].astype(str)):
        named = str(infusions[TIME_ZONE_COLUMN].iat[i]) if TIME_ZONE_COLUMN in infusions.columns else ""
        zones[sid] = "" if named in ("", "nan", "None") else named
        text = str(infusions["infused_at"].iat[i]).strip()
        if text and text not in ("nan", "None"):
            infused[sid] = utc_moment(text)
    sids = graded["subject_id"].astype(str).reset_index(drop=True)
    texts = graded["collected_at"].astype(str).str.strip().reset_index(drop=True)
    # vectorised (review 2 of D-19.710: 7 s per million labs row by row): the instants parsed at once (a
    # text pandas' ISO 8601 reader refuses, e.g. an ISO week date, by `utc_moment`, the one reader, which
    # raises for no date), each on its site's calendar
    when = lab_instants(texts)  # a text without an offset is UTC, whatever the row before it
    day = site_days(when, sids.map(zones).fillna(""))
    starts = pd.Series(pd.to_datetime(list(start.values())), index=list(start.keys()), dtype="datetime64[ns]")
    first = starts[~starts.index.duplicated()].reindex(sids).reset_index(drop=True)
    infusions_at = pd.Series(
        pd.to_datetime(list(infused.values()), utc=True),
        index=list(infused.keys()),
        dtype="datetime64[ns, UTC]",
    )
    infusion = infusions_at.reindex(sids).reset_index(drop=True)
    infusion_day = site_days(infusion, sids.map(zones).fillna(""))
    # on the start day, exactly 00:00:00Z counts as without a time at every zone (D-19.710, D-19.948): for
    # the pre-dose question a date typed without a time must stay pre-dose, and the store cannot tell it from
    # a real 00:00:00Z (08:00 in Wuhan)
    timed = (when != when.dt.normalize()).to_numpy(dtype=bool)
    infusion_timed = (infusion.notna() & (infusion != infusion.dt.normalize())).to_numpy(dtype=bool)
    # on the start day a lab is pre-dose unless both it and the subject's infusion that day are timed and it
    # was collected at or after the infusion (instants compared)
    after_infusion = (
        infusion_timed
        & timed
        & (infusion_day == first).to_numpy(dtype=bool)
        & (when >= infusion).to_numpy(dtype=bool)
    )
    before = (day < first).to_numpy(dtype=bool)
    on_start = (day == first).to_numpy(dtype=bool)
    flags = before | (on_start & ~after_infusion)
    return pd.Series(flags, index=graded.index, dtype=bool)


def lab_grades(
    tables: Mapping[str, pd.DataFrame], ctcae_version: str = "5.0"
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """`graded_labs` as (table, notes): the CTCAE grade of every haematology result (neutrophils, platelets,
    haemoglobin, lymphocytes, WBC) with the study day; other analytes are not graded here."""
    graded = graded_labs(tables, ctcae_version)
    return graded.table, graded.notes


ICAHT_COLUMNS = [
    "subject_id",
    "early_icaht_grade",
    "early_icaht_rule",
    "late_icaht_grade",
    "late_icaht_rule",
    "n_anc_values",
    "scale",
]


def graded_icaht(
    tables: Mapping[str, pd.DataFrame], follow_up_days: Mapping[str, int] | None = None
) -> Graded:
    """Early and late ICAHT grade per subject from the neutrophil counts (`cartrial.grading.derive_icaht`,
    default `IcahtOptions`: lowest count of a day, unsampled days interpolated, late window days 31-100);
    subjects without a neutrophil count are absent (the caller names them). Columns `ICAHT_COLUMNS` plus
    grading's ``early_days_anc_le_500``, ``early_days_anc_le_100``, ``early_icaht_lower_bound`` (the early
    grade is a lower bound: the counts stop ≤ 500/µL before the end of follow-up, D-19.717),
    ``late_icaht_lower_bound`` and ``t_late_lower_bound`` (the late grade is a lower bound: the counts stop
    inside days 31-100 before the end of follow-up at a level that would raise it, D-19.788),
    ``late_nadir_per_ul`` and T-ICAHT
    (platelets) columns. No new-therapy censoring: the snapshot has no new-therapy dates (noted).
    `follow_up_days` (subject → days followed at the cut-off, from `populations`) ends the early window
    when the counts stop before it (D-19.717); without it a method note says the last count is read as the
    end of follow-up."""
    from cartrial.grading import derive_icaht

    frame, notes = _haematology(tables)
    with stored_rows({LAB_FORM: frame, "infusions": tables["infusions"]}):  # D-19.542
        result = derive_icaht(
            frame, tables["infusions"], follow_up_days=follow_up_days, keep_going=True, file=LAB_FORM
        )
    table = result.table.rename(
        columns={
            "early_grade": "early_icaht_grade",
            "early_reason": "early_icaht_rule",
            "early_lower_bound": "early_icaht_lower_bound",
            "late_grade": "late_icaht_grade",
            "late_reason": "late_icaht_rule",
            "late_lower_bound": "late_icaht_lower_bound",
        }
    )
    if "n_anc_values" in table:
        table = table[table["n_anc_values"].notna()]
    extra = [
        "early_days_anc_le_500",
        "early_days_anc_le_100",
        "early_icaht_lower_bound",
        "late_icaht_lower_bound",
        "late_nadir_per_ul",
        "t_early_grade",
        "t_early_reason",
        "t_late_grade",
        "t_late_reason",
        "t_late_lower_bound",
        "n_platelet_values",
    ]
    out = table.reindex(columns=[*ICAHT_COLUMNS, *extra]).reset_index(drop=True)
    for column in ("early_icaht_grade", "late_icaht_grade", "t_early_grade", "t_late_grade"):
        out[column] = out[column].astype("Int64")
    for column in ("n_anc_values", "n_platelet_values", "early_days_anc_le_500", "early_days_anc_le_100"):
        out[column] = out[column].astype("Int64")
    for column in ("early_icaht_lower_bound", "late_icaht_lower_bound", "t_late_lower_bound"):
        out[column] = out[column].astype("boolean").fillna(False).astype(bool)
    notes += _problem_notes(result, frame, "lab result", LAB_FORM)
    notes.append("method: no censoring at new therapy (the snapshot records no new-therapy dates)")
    if follow_up_days is None:
        notes.append(
            "method: no follow-up days given: the last neutrophil count of days 0-30 of a subject without a "
            "later count is read as the end of follow-up (D-19.682, D-19.717)"
        )
    return Graded(out, tuple(notes), _metadata(result))


def icaht(
    tables: Mapping[str, pd.DataFrame], follow_up_days: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """The table of `graded_icaht`. Without `follow_up_days` (subject → days followed, e.g. the
    `populations` dataset's ``follow_up_days``) the last count of days 0-30 of a subject without a later
    count is read as the end of follow-up (D-19.682); the analysis passes them (D-19.717)."""
    return graded_icaht(tables, follow_up_days).table


GRADED_EVENT_COLUMNS = [
    "subject_id",
    "category",
    "term",
    "grade",
    "scale",
    "onset_day",
    "duration_days",
    "ongoing_at_day",
    "graded_to_day",
    "pre_existing",
]


def graded_events(
    tables: Mapping[str, pd.DataFrame],
    ctcae_version: str = "5.0",
    *,
    crs: GradedEpisodes | None = None,
    icans: GradedEpisodes | None = None,
    labs: Graded | None = None,
    treatment_emergent_start: Any = "lymphodepletion",
    lab_min_recovery_days: int = 3,
    crs_masking: RowMasking | str = RowMasking.AFTER_FEVER,
) -> Graded:
    """The graded events the protocol's DLT rules evaluate, from the grading engine
    (`cartrial.grading.derive_graded_events`): one per CRS and ICANS episode of grade >= 1 (ASTCT 2019,
    default `CrsOptions`/`EpisodeOptions`, the fever-masking rule `crs_masking` — the protocol's
    ``analysis.options.crs_masking``, D-19.1356 — the same episodes as `crs_episodes(tables, crs_masking)`/
    `icans_episodes`, D-19.1371; `crs` handed in must have been derived with the same `crs_masking`) and
    one per run of haematology results at CTCAE grade >= `MIN_LAB_GRADE` (`cartrial.grading.lab_runs`),
    days after the infusion;
    infused subjects only. Columns: the `cartrial.protocol.GradedEvent` fields. A run of haematology results
    that begins before the treatment-emergent period of the study's `treatment_emergent_start` rule
    (`pre_treatment`, a baseline value, D-19.710) is pre-existing: not split at the infusion (D-19.1195).

    Given the episodes and lab grades already derived (`crs`, `icans`, `labs`), only the records that can
    give an event are handed to the engine — the assessments of subjects with an episode of grade >= 1 and
    the series (subject, analyte) with a result at grade >= `MIN_LAB_GRADE`: events are built per subject
    (episodes) and per series (runs), so the events are the same, for a fraction of the work."""
    from cartrial.grading import (
        derive_crs_episodes,
        derive_graded_events,
        derive_icans_episodes,
        derive_lab_grades,
    )

    infused = _infused(tables)
    infusions, therapies = tables["infusions"], _therapies(tables)
    crs_frame, crs_notes = _known(tables["crs_assessments"], infused, "CRS assessments")
    icans_frame, icans_notes = _known(tables["icans_assessments"], infused, "ICANS assessments")
    lab_frame, lab_notes = _haematology(tables)
    # first the rows the grading refuses (those of the episodes and lab grades handed in, which were derived
    # from these very frames, or found by the grading here), then the rows that can give an event
    # a refusal of an infusion or therapy record is named by its id (D-19.542); the forms' own refused
    # records are the notes' (`RefusedRow`)
    with stored_rows({"infusions": infusions, "therapies": tables["therapies"]}):
        crs_frame, crs_refused = gradable(
            crs_frame,
            lambda f: derive_crs_episodes(f, infusions, therapies=therapies, keep_going=True, file=CRS_FORM),
            CRS_FORM,
            None if crs is None else crs.refused,
        )
        icans_frame, icans_refused = gradable(
            icans_frame,
            lambda f: derive_icans_episodes(
                f, infusions, therapies=therapies, keep_going=True, file=ICANS_FORM
            ),
            ICANS_FORM,
            None if icans is None else icans.refused,
        )
        lab_frame, lab_refused = gradable(
            lab_frame,
            lambda f: derive_lab_grades(f, ctcae_version=ctcae_version, keep_going=True, file=LAB_FORM),
            LAB_FORM,
            None if labs is None else labs.refused,
        )
    if crs is not None:
        crs_frame = crs_frame[crs_frame["subject_id"].isin(_with_episode(crs))].reset_index(drop=True)
    if icans is not None:
        icans_frame = icans_frame[icans_frame["subject_id"].isin(_with_episode(icans))].reset_index(drop=True)
    if labs is not None:
        table = labs.table
        series = table.loc[table["grade"] >= MIN_LAB_GRADE, ["subject_id", "analyte"]].drop_duplicates()
        wanted = set(zip(series["subject_id"], series["analyte"], strict=True))
        pairs = zip(lab_frame["subject_id"].astype(str), lab_frame["analyte"], strict=True)
        # a boolean Series, not a list: an empty list would select no *columns* of an empty frame
        mask = pd.Series([pair in wanted for pair in pairs], index=lab_frame.index, dtype=bool)
        lab_frame = lab_frame[mask].reset_index(drop=True)
    refused = (*crs_refused, *icans_refused, *lab_refused)
    refused_notes = [r.note(REFUSED_WHAT[r.form]) for r in refused]
    given = {CRS_FORM: crs_frame, ICANS_FORM: icans_frame, LAB_FORM: lab_frame, "infusions": infusions}
    with stored_rows({**given, "therapies": tables["therapies"]}):
        result = derive_graded_events(
            infusions,
            crs=crs_frame,
            icans=icans_frame,
            labs=lab_frame,
            therapies=therapies,
            ctcae_version=ctcae_version,
            min_lab_grade=MIN_LAB_GRADE,
            # the study's recovery length (analysis.options.lab_min_recovery_days, D-19.1312)
            lab_min_recovery_days=lab_min_recovery_days,
            # a run begun before the treatment-emergent period is pre-existing, not split (D-19.1195)
            pre_treatment=pre_treatment(lab_frame, tables, treatment_emergent_start).to_numpy(dtype=bool),
            # the study's CRS fever-masking rule, as its crs_episodes (D-19.1371)
            masking=crs_masking,
        )
    table = result.table
    if not len(table):
        table = pd.DataFrame(columns=GRADED_EVENT_COLUMNS)
    notes = tuple(crs_notes + icans_notes + lab_notes + refused_notes)
    return Graded(table.reset_index(drop=True), notes, _metadata(result), refused)


def gradable(
    frame: pd.DataFrame,
    check: Callable[[pd.DataFrame], Result],
    form: str,
    known: tuple[RefusedRow, ...] | None = None,
) -> tuple[pd.DataFrame, tuple[RefusedRow, ...]]:
    """The rows of `frame` the grading accepts, and the rows it refuses (`RefusedRow`). One rule for every
    form: a record the grading refuses (a lab value "<0.1", CRS vasopressors recorded without hypotension,
    an ICE total that is not the sum of its items) is left out of the graded events and named, never
    allowed to stop the analysis.

    `check` runs the grading's own derivation with ``keep_going`` (`derive_lab_grades`,
    `derive_crs_episodes`, `derive_icans_episodes`), whose located problems name the refused rows; `known`
    (the refused rows of a derivation already run on this very `frame`, e.g. `crs_episodes`) saves that
    run. A problem without a row (a missing column) is not a row to leave out: it is raised."""
    if not len(frame):
        return frame, ()
    if known is None:
        checked = check(frame)
        unlocated = [p for p in checked.problems if p.row is None or not 2 <= p.row < len(frame) + 2]
        if unlocated:
            raise InputError(unlocated)
        known = tuple(refused_rows(checked.problems, frame, form))
    if not known:
        return frame, ()
    bad = {int(r.row) - 2 for r in known if r.row is not None}
    keep = pd.Series([i not in bad for i in range(len(frame))], index=frame.index, dtype=bool)
    return frame[keep].reset_index(drop=True), known


MIN_LAB_GRADE = 3
"""Haematology results at this CTCAE grade or above form the lab events of the DLT rules
(`cartrial.grading.derive_graded_events` default)."""


def _with_episode(episodes: GradedEpisodes) -> set[str]:
    table = episodes.table
    if not len(table):
        return set()
    return {str(s) for s in table.loc[table["max_grade"].fillna(0) >= 1, "subject_id"]}


__all__ = [
    "GRADED_EVENT_COLUMNS",
    "ICAHT_COLUMNS",
    "LAB_COLUMNS",
    "METHOD_NOTE_PREFIXES",
    "Graded",
    "GradedEpisodes",
    "RefusedRow",
    "crs_episodes",
    "gradable",
    "graded_events",
    "graded_icaht",
    "graded_labs",
    "icaht",
    "icans_episodes",
    "is_method_note",
    "lab_grades",
    "method_notes",
    "pre_treatment",
    "refused_rows",
]
