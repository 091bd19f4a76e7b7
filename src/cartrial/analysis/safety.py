"""THE adapter between the analysis and the grading engine (the one place that calls `cartrial.grading`).

It calls only grading's frame-level derivations — `derive_crs_episodes`, `derive_icans_episodes`,
`derive_lab_grades`, `derive_icaht` — the same functions the command line, the store and the demo call, so
every rule (ASTCT 2019 CRS/ICANS grades, episode rules, CTCAE v5.0 haematology, EHA/EBMT ICAHT 2023 with
its lowest-count-of-the-day, interpolation and late-window rules) exists once, in grading. This module only
selects the snapshot's rows (infused subjects, haematology analytes), keeps the column names the analysis
datasets use, and turns the located problems of rows left out into notes naming subject and reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cartrial.results import Result


@dataclass(frozen=True)
class GradedEpisodes:
    """One row per CRS or ICANS episode (grading's `EpisodeSummary.as_record`), with the options used."""

    table: pd.DataFrame
    options: dict[str, Any]
    scale: str
    problems: tuple[str, ...] = ()
    """Rows left out (and why), naming the subject; plus grading's notes (e.g. identical duplicates)."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """The grading `Result.metadata()` (derivation, options, sources, cartrial version)."""


@dataclass(frozen=True)
class Graded:
    """A graded table of the analysis with its notes and the grading `Result.metadata()` it comes from."""

    table: pd.DataFrame
    notes: tuple[str, ...]
    metadata: Mapping[str, Any]


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


def _problem_notes(result: Result, frame: pd.DataFrame, what: str) -> list[str]:
    """Grading's notes plus one note per row left out (``keep_going``), naming the subject, the record id
    (the snapshot's ``record_id``; the problem's row number counts the rows handed to grading) and the
    reason."""
    notes = list(result.notes)
    for problem in result.problems:
        row = problem.row
        subject = ""
        if row is not None and 2 <= row < len(frame) + 2:
            subject = f" of {frame['subject_id'].iloc[row - 2]}"
            if "record_id" in frame:
                subject += f" (record {frame['record_id'].iloc[row - 2]})"
        notes.append(f"{what}{subject} left out: {problem}")
    return notes


def _episodes(result: Result, frame: pd.DataFrame, scale: str, notes: list[str], what: str) -> GradedEpisodes:
    metadata = result.metadata()
    return GradedEpisodes(
        result.table,
        dict(metadata["options"]),
        scale,
        tuple(notes + _problem_notes(result, frame, what)),
        metadata,
    )


def crs_episodes(tables: Mapping[str, pd.DataFrame]) -> GradedEpisodes:
    """CRS episodes (ASTCT 2019, default `CrsOptions` and `EpisodeOptions`) of every infused subject
    (`cartrial.grading.derive_crs_episodes`)."""
    from cartrial.grading import CRS_SCALE, derive_crs_episodes

    frame, notes = _known(tables["crs_assessments"], _infused(tables), "CRS assessments")
    result = derive_crs_episodes(
        frame, tables["infusions"], therapies=_therapies(tables), keep_going=True, file="crs_assessments"
    )
    return _episodes(result, frame, CRS_SCALE, notes, "CRS assessment")


def icans_episodes(tables: Mapping[str, pd.DataFrame]) -> GradedEpisodes:
    """ICANS episodes (ASTCT 2019 with ICE) of every infused subject
    (`cartrial.grading.derive_icans_episodes`)."""
    from cartrial.grading import derive_icans_episodes
    from cartrial.grading.icans import ICANS_SCALE

    frame, notes = _known(tables["icans_assessments"], _infused(tables), "ICANS assessments")
    result = derive_icans_episodes(
        frame, tables["infusions"], therapies=_therapies(tables), keep_going=True, file="icans_assessments"
    )
    return _episodes(result, frame, ICANS_SCALE, notes, "ICANS assessment")


LAB_COLUMNS = [
    "subject_id",
    "analyte",
    "collected_at",
    "collected_before_infusion",
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


def graded_labs(tables: Mapping[str, pd.DataFrame], ctcae_version: str = "5.0") -> Graded:
    """CTCAE grade of every haematology result of the infused subjects (`cartrial.grading.derive_lab_grades`
    with the infusions, so each row has its ``study_day`` and ``collected_before_infusion``); columns
    `LAB_COLUMNS` (``rule`` = grading's ``grade_reason``) plus grading's ``lln_canonical``, ``grade_reason``
    and ``scale``. Rows left out are named in the notes."""
    from cartrial.grading import derive_lab_grades

    frame, notes = _haematology(tables)
    result = derive_lab_grades(
        frame, ctcae_version=ctcae_version, infusions=tables["infusions"], keep_going=True, file="labs"
    )
    table = result.table
    if "error" in table:
        table = table[table["error"].fillna("") == ""]
    table = table.rename(columns={"grade_reason": "rule"}).assign(grade_reason=lambda t: t["rule"])
    extra = ["lln_canonical", "grade_reason", "scale"]
    out = table.reindex(columns=[*LAB_COLUMNS, *extra]).reset_index(drop=True)
    if len(out):
        out["grade"] = out["grade"].astype(int)
        out["study_day"] = out["study_day"].astype("Int64")
        out["collected_before_infusion"] = out["collected_before_infusion"].astype(bool)
        out["subject_id"] = out["subject_id"].astype(str)
    return Graded(out, tuple(notes + _problem_notes(result, frame, "lab result")), result.metadata())


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


def graded_icaht(tables: Mapping[str, pd.DataFrame]) -> Graded:
    """Early and late ICAHT grade per subject from the neutrophil counts (`cartrial.grading.derive_icaht`,
    default `IcahtOptions`: lowest count of a day, unsampled days interpolated, late window days 31-100);
    subjects without a neutrophil count are absent (the caller names them). Columns `ICAHT_COLUMNS` plus
    grading's ``early_days_anc_le_500``, ``early_days_anc_le_100``, ``late_nadir_per_ul`` and T-ICAHT
    (platelets) columns. No new-therapy censoring: the snapshot has no new-therapy dates (noted)."""
    from cartrial.grading import derive_icaht

    frame, notes = _haematology(tables)
    result = derive_icaht(frame, tables["infusions"], keep_going=True, file="labs")
    table = result.table.rename(
        columns={
            "early_grade": "early_icaht_grade",
            "early_reason": "early_icaht_rule",
            "late_grade": "late_icaht_grade",
            "late_reason": "late_icaht_rule",
        }
    )
    if "n_anc_values" in table:
        table = table[table["n_anc_values"].notna()]
    extra = [
        "early_days_anc_le_500",
        "early_days_anc_le_100",
        "late_nadir_per_ul",
        "t_early_grade",
        "t_early_reason",
        "t_late_grade",
        "t_late_reason",
        "n_platelet_values",
    ]
    out = table.reindex(columns=[*ICAHT_COLUMNS, *extra]).reset_index(drop=True)
    for column in ("early_icaht_grade", "late_icaht_grade", "t_early_grade", "t_late_grade"):
        out[column] = out[column].astype("Int64")
    for column in ("n_anc_values", "n_platelet_values", "early_days_anc_le_500", "early_days_anc_le_100"):
        out[column] = out[column].astype("Int64")
    notes += _problem_notes(result, frame, "lab result")
    notes.append("method: no censoring at new therapy (the snapshot records no new-therapy dates)")
    return Graded(out, tuple(notes), result.metadata())


def icaht(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The table of `graded_icaht`."""
    return graded_icaht(tables).table


GRADED_EVENT_COLUMNS = [
    "subject_id",
    "category",
    "term",
    "grade",
    "scale",
    "onset_day",
    "duration_days",
    "ongoing_at_day",
]


def graded_events(
    tables: Mapping[str, pd.DataFrame],
    ctcae_version: str = "5.0",
    *,
    crs: GradedEpisodes | None = None,
    icans: GradedEpisodes | None = None,
    labs: Graded | None = None,
) -> Graded:
    """The graded events the protocol's DLT rules evaluate, from the grading engine
    (`cartrial.grading.derive_graded_events`): one per CRS and ICANS episode of grade >= 1 (ASTCT 2019,
    default options, the same episodes as `crs_episodes`/`icans_episodes`) and one per run of haematology
    results at CTCAE grade >= `MIN_LAB_GRADE` (`cartrial.grading.lab_runs`), days after the infusion;
    infused subjects only. Columns: the `cartrial.protocol.GradedEvent` fields.

    Given the episodes and lab grades already derived (`crs`, `icans`, `labs`), only the records that can
    give an event are handed to the engine — the assessments of subjects with an episode of grade >= 1 and
    the series (subject, analyte) with a result at grade >= `MIN_LAB_GRADE`: events are built per subject
    (episodes) and per series (runs), so the events are the same, for a fraction of the work."""
    from cartrial.grading import derive_graded_events

    infused = _infused(tables)
    crs_frame, crs_notes = _known(tables["crs_assessments"], infused, "CRS assessments")
    icans_frame, icans_notes = _known(tables["icans_assessments"], infused, "ICANS assessments")
    lab_frame, lab_notes = _haematology(tables)
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
    lab_frame, refused = _gradable_labs(lab_frame, ctcae_version)
    if labs is None:
        lab_notes += refused
    result = derive_graded_events(
        tables["infusions"],
        crs=crs_frame,
        icans=icans_frame,
        labs=lab_frame,
        therapies=_therapies(tables),
        ctcae_version=ctcae_version,
        min_lab_grade=MIN_LAB_GRADE,
    )
    table = result.table
    if not len(table):
        table = pd.DataFrame(columns=GRADED_EVENT_COLUMNS)
    return Graded(table.reset_index(drop=True), tuple(crs_notes + icans_notes + lab_notes), result.metadata())


def _gradable_labs(frame: pd.DataFrame, ctcae_version: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows of `frame` the lab grading accepts (`derive_lab_grades` with ``keep_going``), and a note per
    row left out: a value that is not a number (e.g. "<0.1") is named, not allowed to stop the analysis.
    (`graded_labs` names the same rows in its own notes.)"""
    from cartrial.grading import derive_lab_grades

    if not len(frame):
        return frame, []
    checked = derive_lab_grades(frame, ctcae_version=ctcae_version, keep_going=True, file="labs")
    if not checked.problems:
        return frame, []
    errors = checked.table["error"].fillna("").astype(str) if "error" in checked.table else None
    if errors is None or len(errors) != len(frame):
        bad = {p.row - 2 for p in checked.problems if p.row is not None}
        keep = pd.Series([i not in bad for i in range(len(frame))], index=frame.index, dtype=bool)
    else:
        keep = pd.Series(errors.eq("").to_numpy(), index=frame.index, dtype=bool)
    return frame[keep].reset_index(drop=True), _problem_notes(checked, frame, "lab result")


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
    "crs_episodes",
    "graded_events",
    "graded_icaht",
    "graded_labs",
    "icaht",
    "icans_episodes",
    "is_method_note",
    "lab_grades",
    "method_notes",
]
