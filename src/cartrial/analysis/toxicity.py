"""Safety datasets: CRS/ICANS per subject and per dose level, treatment-emergent AEs, CTCAE haematology
worst grade and shift from baseline, ICAHT. Grades come from the grading engine via `analysis.safety`.

Treatment-emergent (default, docs/analysis.md): an adverse event starting on or after the first
lymphodepletion dose (or the infusion day when no lymphodepletion is recorded) and on or before the cut-off
(ICH E9 glossary: "emergent during treatment"; lymphodepletion is study treatment in CAR-T trials).

The adverse events of enrolled subjects outside the safety set (not infused by the cut-off, lymphodepleted
or not) are in no safety table; they are listed apart (``ae_not_infused``, D-19.88), never dropped.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from itertools import pairwise
from typing import Any

import pandas as pd

from cartrial.analysis import safety
from cartrial.analysis.model import Dataset, Population
from cartrial.analysis.populations import (
    ENROLLED,
    SAFETY,
    dose_levels,
    lymphodepletion_starts,
    treatment_start_days,
)
from cartrial.analysis.summaries import by_subject as group_by_subject
from cartrial.analysis.summaries import distribution, dose_level_groups, incidence, rows_of
from cartrial.columns import calendar_days, typed_site_moment, utc_moment
from cartrial.errors import OptionError, Problem
from cartrial.protocol.disposition import STUDY_ENDED
from cartrial.protocol.organs import term_key
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA, flag
from cartrial.wording import count, verb

NOT_RELATED = ("unrelated", "unlikely")
"""The investigator's assessments that make an adverse event not related; any other — possible, probable,
definite or a relatedness not recorded (blank) — counts as related in the related-TEAE count: the
conservative convention of safety analysis plans (D-19.707)."""

IMPUTED_RELATED_NOTE = "{events} in {subjects} had no relatedness recorded; counted as related (D-19.707)"


def related_flag(relatedness: pd.Series) -> pd.Series:
    """True where an adverse event counts as related: its relatedness is not `NOT_RELATED` (a blank one
    counts as related, D-19.707).

    >>> related_flag(pd.Series(["possible", "unlikely", None, "", "Unrelated"])).tolist()
    [True, False, True, True, False]
    """
    text = relatedness.astype("string").fillna("").str.strip().str.lower()
    return ~text.isin(NOT_RELATED)


TREATMENT_EMERGENT_TEXT = {
    "lymphodepletion": "onset on or after the first lymphodepletion dose (infusion day without one)",
    "infusion": "onset on or after the infusion day",
}
"""The treatment-emergence rule in words, per `cartrial.protocol.TreatmentEmergentStart` value."""


def treatment_emergent_rule(analysis: Any) -> str:
    """The `TreatmentEmergentStart` value an `Analysis` was derived with (its ``treatment_emergent`` option
    in words, `TREATMENT_EMERGENT_TEXT`); ``lymphodepletion``, the default, when it carries none: what a
    renderer grading the labs again hands `safety.graded_labs` (D-19.710)."""
    words = dict(getattr(analysis, "options", {}) or {}).get("treatment_emergent")
    return next((k for k, v in TREATMENT_EMERGENT_TEXT.items() if v == words), "lymphodepletion")


def analysis_ctcae_version(analysis: Any) -> str:
    """The CTCAE version an `Analysis` graded its labs by (its ``ctcae_version`` option, the protocol's
    ``analysis.options.ctcae_version``); ``5.0``, the default, when it carries none: what a renderer grading
    the labs again hands `safety.graded_labs` (D-19.988)."""
    version = dict(getattr(analysis, "options", {}) or {}).get("ctcae_version")
    return str(version) if version else "5.0"


THERAPIES_NOT_RECORDED = (
    "not recorded: the study does not collect the therapies form (protocol analysis.options."
    "therapies_collected: false; a virtual study does not simulate CRS management)"
)
"""Why CRS/ICANS treatment (tocilizumab, corticosteroids) is missing, not 0, in a study that does not collect
the therapies form (D-19.476, D-19.434)."""

THERAPY_MEASURES = ("tocilizumab", "corticosteroid")
"""The per-subject treatment flags of `crs_icans_datasets` (``crs_tocilizumab`` …) and, with ``_doses``,
the episode columns they are read from."""


ELAPSED_DAYS = "elapsed days from the infusion instant (not the calendar study day, D-19.607)"
"""What the ``*_day`` columns of the episode datasets count: fractional days since the infusion's clock
time."""

EPISODE_COLUMNS: dict[str, str] = {
    "onset_day": "onset, " + ELAPSED_DAYS,
    "max_grade_day": "first positive assessment of the first day (unit) at the peak grade, " + ELAPSED_DAYS,
    "duration_days": "onset to resolution, elapsed days (fractional); blank while unresolved",
    "ongoing_at_day": "unresolved episode: the subject's last assessment, " + ELAPSED_DAYS,
    "last_assessed_at": "instant of the subject's last assessment of any kind (ADTTE TTCRSRES censoring, "
    "D-19.588)",
    "last_ongoing_at": "unresolved episode: instant of its last graded assessment (never an ICANS 'not "
    "assessable' row, D-19.675); the heat map and swimmer plot fill through its calendar day (D-19.767)",
}
"""Descriptions of the episode datasets' day columns (``crs_episodes``, ``icans_episodes``): elapsed days, not
the calendar days of the heat map and swimmer plot (`episode_span`)."""


def _episode_subjects(
    kind: str,
    graded: safety.GradedEpisodes,
    safety_ids: Sequence[str],
    levels: Mapping[str, int],
    assessed: set[str],
    treated_known: bool = True,
) -> pd.DataFrame:
    episodes = graded.table
    rows: list[dict[str, Any]] = []
    graded_episodes = episodes[episodes["max_grade"].fillna(0) >= 1] if len(episodes) else episodes
    groups = group_by_subject(graded_episodes)
    for sid in safety_ids:
        own = rows_of(groups, graded_episodes, sid)
        grades = [int(g) for g in own["max_grade"].dropna()] if len(own) else []
        onset = pd.to_numeric(own["onset_day"], errors="coerce").dropna() if len(own) else pd.Series([])
        duration = (
            pd.to_numeric(own["duration_days"], errors="coerce").dropna() if len(own) else pd.Series([])
        )
        worst = max(grades) if grades else 0
        # an episode still unresolved has no duration yet: the subject's total is not known (at least the
        # resolved part), so blank, never the sum of the resolved episodes alone (D-19.589)
        ongoing = bool(len(own) and own["resolved_at"].isna().any())
        rows.append(
            {
                "subject_id": sid,
                "dose_level": levels.get(sid),
                f"{kind}_assessed": sid in assessed,
                f"{kind}_any": worst >= 1,
                f"{kind}_max_grade": worst if sid in assessed else None,
                f"{kind}_grade_1_2": 1 <= worst <= 2,
                f"{kind}_grade_ge3": worst >= 3,
                f"{kind}_episodes": len(own),
                f"{kind}_first_onset_day": float(onset.min()) if len(onset) else None,
                f"{kind}_total_duration_days": float(duration.sum())
                if len(duration) and not ongoing
                else None,
                f"{kind}_ongoing": ongoing,
                **{
                    f"{kind}_{m}": bool(len(own) and own[f"{m}_doses"].sum() > 0) if treated_known else pd.NA
                    for m in THERAPY_MEASURES
                },
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("dose_level", f"{kind}_max_grade"):
        frame[column] = frame[column].astype("Int64")
    for m in THERAPY_MEASURES:
        frame[f"{kind}_{m}"] = frame[f"{kind}_{m}"].astype("boolean")
    return frame


def _not_recorded(graded: safety.GradedEpisodes) -> safety.GradedEpisodes:
    """`graded` with its tocilizumab and corticosteroid doses missing (not recorded, D-19.476)."""
    table = graded.table.copy()
    for m in THERAPY_MEASURES:
        if f"{m}_doses" in table.columns:
            table[f"{m}_doses"] = pd.Series(pd.NA, index=table.index, dtype="Int64")
    return dataclasses.replace(graded, table=table)


def crs_icans_datasets(
    tables: Mapping[str, pd.DataFrame],
    populations: Mapping[str, Population],
    episodes: tuple[safety.GradedEpisodes, safety.GradedEpisodes] | None = None,
    protocol_levels: Sequence[int] = (),
    therapies_collected: bool = True,
    crs_masking: str = "after_fever",
) -> dict[str, Dataset]:
    """`crs_episodes`, `crs_assessment_grades`, `icans_episodes`, `crs_icans_by_subject`,
    `crs_icans_summary`, `crs_icans_timing` (`episodes`: the CRS and ICANS episodes of `analysis.safety`,
    when already derived; `protocol_levels`: the protocol's dose levels, each a group of the summaries,
    n = 0 when not dosed, D-19.108).
    `therapies_collected` (the protocol's `analysis.options.therapies_collected`): True, an episode without a
    tocilizumab or corticosteroid dose is "not given" even when the therapies form has no row at all (a real
    0); False, the treatment is not recorded — flags and dose counts missing, never 0 (D-19.476, D-19.434).
    `crs_masking` (``analysis.options.crs_masking``, D-19.1356): the fever-masking rule of the CRS episodes
    and row grades when `episodes` is not given (given episodes carry their own)."""
    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    crs, icans = (
        episodes
        if episodes is not None
        else (safety.crs_episodes(tables, crs_masking), safety.icans_episodes(tables))
    )
    # each assessment's grade from the same run of the episode grader (one rule, D-19.1355, D-19.1356)
    crs_rows = crs.assessments
    if crs_rows is None:  # episodes derived without their row grades
        crs_rows = safety.crs_assessment_grades(tables, crs_masking)
    known = bool(therapies_collected)
    if not known:  # therapies not collected: treatment not recorded, never 0 doses (D-19.476, D-19.434)
        crs, icans = _not_recorded(crs), _not_recorded(icans)
    crs_subj = _episode_subjects(
        "crs", crs, safety_ids, levels, set(tables["crs_assessments"]["subject_id"]), known
    )
    icans_subj = _episode_subjects(
        "icans", icans, safety_ids, levels, set(tables["icans_assessments"]["subject_id"]), known
    )
    by_subject = crs_subj.merge(icans_subj.drop(columns=["dose_level"]), on="subject_id", how="left")
    flags = [
        f"{k}_{m}"
        for k in ("crs", "icans")
        for m in ("any", "grade_1_2", "grade_ge3", "tocilizumab", "corticosteroid")
    ]
    labels = {
        f"{k}_{m}": f"{k.upper()} {text}"
        for k in ("crs", "icans")
        for m, text in (
            ("any", "any grade"),
            ("grade_1_2", "maximum grade 1-2"),
            ("grade_ge3", "grade >= 3"),
            ("tocilizumab", "treated with tocilizumab"),
            ("corticosteroid", "treated with corticosteroids"),
        )
    }
    treated = [f"{k}_{m}" for k in ("crs", "icans") for m in THERAPY_MEASURES]
    summary = incidence(  # not recorded: k, percent and CI empty with the reason (D-19.476, D-19.528)
        by_subject,
        flags,
        SAFETY,
        labels,
        protocol_levels,
        not_recorded=None if known else dict.fromkeys(treated, THERAPIES_NOT_RECORDED),
    )
    timing = distribution(
        by_subject,
        [
            "crs_first_onset_day",
            "crs_total_duration_days",
            "icans_first_onset_day",
            "icans_total_duration_days",
        ],
        SAFETY,
        protocol_levels,
    )
    # a total duration is blank both without an episode and while one is ongoing (D-19.589): n_ongoing
    # counts the latter, for the duration measures only (an onset is known while ongoing)
    ongoing = {
        (group, f"{kind}_total_duration_days"): int(part[f"{kind}_ongoing"].astype(bool).sum())
        for group, part in dose_level_groups(by_subject, protocol_levels)
        for kind in ("crs", "icans")
    }
    timing["n_ongoing"] = pd.array(
        [ongoing.get((g, m)) for g, m in zip(timing["group"], timing["measure"], strict=True)], dtype="Int64"
    )
    # blank tocilizumab / corticosteroid cells say why in every dataset that carries them (D-19.434)
    untreated = () if known else (f"treated with tocilizumab / corticosteroids: {THERAPIES_NOT_RECORDED}",)
    grades = []
    for kind in ("crs", "icans"):
        for group, part in dose_level_groups(by_subject, protocol_levels):
            counts = part[f"{kind}_max_grade"].value_counts(dropna=False)
            row: dict[str, Any] = {"kind": kind, "group": group, "n": len(part)}
            for grade in range(6):
                row[f"max_grade_{grade}"] = int(counts.get(grade, 0))
            row["not_assessed"] = int(part[f"{kind}_max_grade"].isna().sum())
            grades.append(row)
    return {
        "crs_episodes": Dataset(
            "crs_episodes",
            "CRS episodes (one row per episode)",
            crs.table,
            SAFETY,
            "cartrial.grading.derive_crs_episodes (via cartrial.analysis.safety)",
            ("crs_assessments", "infusions", "therapies"),
            notes=(f"scale: {crs.scale}", *safety.method_notes(crs.metadata), *crs.problems, *untreated),
            engine=(crs.metadata,),
            columns=EPISODE_COLUMNS,
        ),
        "crs_assessment_grades": Dataset(
            "crs_assessment_grades",
            "CRS grade of each assessment (ASTCT 2019, the episodes' fever-masking rule)",
            crs_rows.table,
            SAFETY,
            "cartrial.grading.derive_crs_assessment_grades (via cartrial.analysis.safety)",
            ("crs_assessments", "infusions", "therapies"),
            notes=(f"scale: {crs.scale}", *safety.method_notes(crs_rows.metadata), *crs_rows.notes),
            engine=(crs_rows.metadata,),
            columns=safety.CRS_ASSESSMENT_COLUMNS,
        ),
        "icans_episodes": Dataset(
            "icans_episodes",
            "ICANS episodes (one row per episode)",
            icans.table,
            SAFETY,
            "cartrial.grading.derive_icans_episodes (via cartrial.analysis.safety)",
            ("icans_assessments", "infusions", "therapies"),
            notes=(
                f"scale: {icans.scale}",
                *safety.method_notes(icans.metadata),
                *icans.problems,
                *untreated,
            ),
            engine=(icans.metadata,),
            columns=EPISODE_COLUMNS,
        ),
        "crs_icans_by_subject": Dataset(
            "crs_icans_by_subject",
            "CRS and ICANS per subject: maximum grade, onset, duration, episodes, therapy",
            by_subject,
            SAFETY,
            "per-subject summary of the grading engine's episodes",
            ("crs_assessments", "icans_assessments", "infusions", "therapies"),
            engine=(crs.metadata, icans.metadata),
            notes=untreated,
            columns={
                "crs_max_grade": "maximum ASTCT 2019 CRS grade over all episodes "
                "(0 = none; blank = not assessed)",
                "crs_first_onset_day": "onset of the first CRS episode, " + ELAPSED_DAYS,
                "icans_first_onset_day": "onset of the first ICANS episode, " + ELAPSED_DAYS,
                "crs_total_duration_days": "sum of the CRS episodes' durations, days; blank while an episode "
                "is ongoing (crs_ongoing: its duration is not known yet, D-19.589)",
            },
        ),
        "crs_icans_summary": Dataset(
            "crs_icans_summary",
            "CRS and ICANS incidence per dose level and overall (exact 95 % CI)",
            summary,
            SAFETY,
            "cartrial.analysis.summaries.incidence",
            ("crs_icans_by_subject",),
            notes=untreated,
        ),
        "crs_icans_grades": Dataset(
            "crs_icans_grades",
            "Subjects by maximum CRS / ICANS grade per dose level",
            pd.DataFrame(grades),
            SAFETY,
            "count of crs_icans_by_subject",
            ("crs_icans_by_subject",),
        ),
        "crs_icans_timing": Dataset(
            "crs_icans_timing",
            "CRS / ICANS onset day and duration (median, range)",
            timing,
            SAFETY,
            "cartrial.analysis.summaries.distribution",
            ("crs_icans_by_subject",),
            columns={
                "n_missing": "subjects without a value: no episode, or (a total duration) one still ongoing",
                "n_ongoing": "of n_missing, subjects with an episode still ongoing: a total duration "
                "not known yet (D-19.589); blank for an onset day",
            },
        ),
    }


def _teae_start(tables: Mapping[str, pd.DataFrame], from_: str = "lymphodepletion") -> dict[str, dt.date]:
    """The day from which a subject's adverse events are treatment-emergent
    (`cartrial.analysis.populations.treatment_start_days`, the start the labs' baseline reads too)."""
    return treatment_start_days(tables, from_)


NOT_INFUSED_AE_COLUMNS = {
    "lymphodepletion_start": "date of the subject's first lymphodepletion dose (blank: none recorded)",
    "after_lymphodepletion": "onset on or after the first lymphodepletion dose",
    "treatment_emergent": "treatment-emergent by the study's rule "
    "(analysis.options.treatment_emergent_start; never under the rule 'infusion': no infusion)",
}
"""The columns `not_infused_adverse_events` adds to the adverse event records."""


def not_infused_adverse_events(
    tables: Mapping[str, pd.DataFrame],
    populations: Mapping[str, Population],
    treatment_emergent_start: str = "lymphodepletion",
) -> pd.DataFrame:
    """Every adverse event of an enrolled subject outside the safety set (not infused by the cut-off), by
    subject and onset, with the columns `NOT_INFUSED_AE_COLUMNS` (D-19.88). These events are in no safety
    table, which counts the infused; listed here so that none is dropped silently (ICH E3 §12.2.4 and
    §16.2.7: every adverse event listed by patient, whatever the analysis sets).

    >>> from cartrial.analysis.model import Population
    >>> tables = {"infusions": pd.DataFrame(columns=["subject_id", "infused_at"]),
    ...           "lymphodepletion": pd.DataFrame({"subject_id": ["B"], "administered_on": ["2022-01-20"]}),
    ...           "adverse_events": pd.DataFrame({"subject_id": ["B", "B"], "term": ["Headache", "Fever"],
    ...                                           "started_on": ["2022-01-10", "2022-01-21"]})}
    >>> pops = {"enrolled": Population("enrolled", "", ("A", "B")), "safety": Population("safety", "", ())}
    >>> not_infused_adverse_events(tables, pops)[["term", "after_lymphodepletion"]].values.tolist()
    [['Headache', False], ['Fever', True]]
    """
    rule = str(getattr(treatment_emergent_start, "value", treatment_emergent_start))
    safety_ids = set(populations[SAFETY].subject_ids)
    outside = {str(s) for s in populations[ENROLLED].subject_ids} - safety_ids
    ae = tables["adverse_events"]
    own = ae[ae["subject_id"].astype(str).isin(outside)].copy()
    sids = [str(s) for s in own["subject_id"]]
    onset = [dt.date.fromisoformat(str(s)[:10]) for s in own["started_on"]]
    ld = lymphodepletion_starts(tables["lymphodepletion"])
    start = _teae_start(tables, rule)
    own["lymphodepletion_start"] = [ld[s].isoformat() if s in ld else "" for s in sids]
    own["after_lymphodepletion"] = pd.Series(
        [s in ld and d >= ld[s] for s, d in zip(sids, onset, strict=True)], index=own.index, dtype=bool
    )
    own["treatment_emergent"] = pd.Series(
        [s in start and d >= start[s] for s, d in zip(sids, onset, strict=True)], index=own.index, dtype=bool
    )
    own["_onset"] = [d.isoformat() for d in onset]
    own = own.sort_values(["subject_id", "_onset"], kind="mergesort")
    return own.drop(columns="_onset").reset_index(drop=True)


LYMPHOPENIA_TERMS: tuple[str, ...] = ("lymphocyte count decreased", "lymphopenia")
"""CTCAE v5.0 term and its MedDRA synonym of lymphopenia (compared case-insensitively)."""
CYTOPENIA_TERMS: tuple[str, ...] = (
    *LYMPHOPENIA_TERMS,
    "neutrophil count decreased",
    "neutropenia",
    "white blood cell decreased",
    "leukopenia",
    "platelet count decreased",
    "thrombocytopenia",
    "anaemia",
    "anemia",
)
"""Every cytopenia term: the haematology CTCAE terms (and synonyms) of the ICAHT and shift tables. Febrile
neutropenia is a clinical event (fever), not a count: never left out."""
EXPECTED_TERMS: dict[str, tuple[str, ...]] = {"lymphopenia": LYMPHOPENIA_TERMS, "cytopenias": CYTOPENIA_TERMS}
"""`analysis.options.teae_expected_cytopenias` → the adverse-event terms the companion grade ≥ 3 count
(`teae_grade_ge3_unexpected`) leaves out as the expected effect of lymphodepletion (D-19.269)."""
EXPECTED_TEXT: dict[str, str] = {
    "lymphopenia": "lymphopenia (lymphocyte count decreased)",
    "cytopenias": "a cytopenia (lymphocyte, neutrophil, white blood cell or platelet count decreased, "
    "anaemia)",
}
"""The words of the left-out terms, in the summary's label and the key finding."""

TEAE_BY_SUBJECT_COLUMNS: tuple[str, ...] = (
    "subject_id",
    "dose_level",
    "n_teae",
    "worst_grade",
    "any_teae",
    "teae_grade_ge3",
    "teae_grade_ge3_unexpected",
    "serious_teae",
    "related_teae",
    "infection",
    "infection_grade_ge3",
)
"""The columns of `teae_by_subject` (one row per safety-set subject)."""


TEAE_BY_TERM_COLUMNS: dict[str, str] = {
    "worst_grade_not_known": "subjects with the term none of whose events of the term has a grade at the "
    "cut-off (an event open at it whose grade is known only at its end, D-19.85): with worst_grade_1 … "
    "worst_grade_5 they add up to n_subjects (D-19.1241)",
}
"""Descriptions of the `teae_by_term` columns that need one."""


SERIOUS_FLAG = "serious_flag"
"""The column of `teae_listing` holding the analysis's one reading of ``serious`` (True: stored ``true``;
blank or ``false``: not serious), the flag the TEAE tables count and the report's serious listing and the web
safety page select by (D-19.1084, D-19.1243)."""


SERIOUSNESS_CRITERIA_COLUMN = "seriousness_criteria"
"""The column of `teae_listing` that names the ICH E2A seriousness criteria an event meets, in words."""


def with_seriousness_criteria(table: pd.DataFrame) -> pd.DataFrame:
    """`table` (adverse events with the store's six seriousness-criterion fields, ``serious_death`` …,
    D-19.328) with the column `SERIOUSNESS_CRITERIA_COLUMN` before the first of them: the labels of the
    criteria met (`cartrial.protocol.seriousness.SERIOUSNESS_CRITERIA`, ICH E2A §II.B), "; "-separated,
    empty when none. The one derivation the report's listings and the web safety page show (D-19.211,
    D-19.382); a table without any criterion field is returned unchanged."""
    present = [c for c in SERIOUSNESS_CRITERIA if c.field in table.columns]
    if not present:
        return table
    met = [table[c.field].map(flag).eq(True).to_numpy() for c in present]
    labels = [
        "; ".join(c.label for c, yes in zip(present, row, strict=True) if yes)
        for row in zip(*met, strict=True)
    ]
    out = table.copy()
    out.insert(list(table.columns).index(present[0].field), SERIOUSNESS_CRITERIA_COLUMN, labels)
    return out


def _all_caps(text: str) -> bool:
    return text.upper() == text and text.lower() != text


def ae_term_groups(adverse_events: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(the term group, its display spelling) of each adverse event of `adverse_events` (a snapshot table):
    the one rule by which the analysis counts an adverse-event term (`teae_by_term`) and the CDISC export
    codes it (AE.AEDECOD, ADAE's first-occurrence-per-term flag), so that both read one grouping (D-19.932).

    The group is the recorded MedDRA code (``meddra_code``, AE.AEPTCD) when there is one; an event without a
    code is grouped by its text folded by `cartrial.protocol.organs.term_key` (case, spaces, British
    spellings, D-19.927) — and joins the code of the events of that text when they carry exactly one code.
    The display spelling is the group's most frequent verbatim text in the table; on a tie, a spelling not
    all in capitals first, then the first by code point (D-19.933).

    >>> ae = pd.DataFrame({"term": ["ANAEMIA", "Anaemia", "anemia", "Fever", "Pyrexia"],
    ...                    "meddra_code": ["", "", "", "10037660", "10037660"]})
    >>> ae_term_groups(ae)[1]
    ['Anaemia', 'Anaemia', 'anemia', 'Fever', 'Fever']
    """
    terms = ["" if pd.isna(t) else str(t) for t in adverse_events["term"]]
    column = adverse_events["meddra_code"] if "meddra_code" in adverse_events.columns else [""] * len(terms)
    codes = ["" if pd.isna(c) else str(c).strip() for c in column]
    folded = [term_key(t) for t in terms]
    coded: dict[str, set[str]] = {}
    for key, code in zip(folded, codes, strict=True):
        if code:
            coded.setdefault(key, set()).add(code)
    groups = []
    for key, code in zip(folded, codes, strict=True):
        if not code and len(coded.get(key, ())) == 1:
            (code,) = coded[key]
        groups.append(f"meddra:{code}" if code else f"term:{key}")
    spellings: dict[str, dict[str, int]] = {}
    for group, term in zip(groups, terms, strict=True):
        counts = spellings.setdefault(group, {})
        counts[term] = counts.get(term, 0) + 1
    display = {
        group: min(counts, key=lambda t: (-counts[t], _all_caps(t), t)) for group, counts in spellings.items()
    }
    return groups, [display[g] for g in groups]


def _not_treatment_emergent_note(
    tables: Mapping[str, pd.DataFrame], before: pd.DataFrame, start: Mapping[str, dt.date], rule: str
) -> str:
    """The note of `teae_listing` counting the adverse events `before` their subject's treatment-emergent
    `start` (`treatment_start_days`), by that start: the first lymphodepletion dose, or the infusion day (rule
    ``infusion``, or a subject with no lymphodepletion dose recorded on or before it)."""
    n = len(before)
    tail = f"{verb(n, 'is', 'are')} not treatment-emergent"
    if rule != "lymphodepletion":
        return f"{count(n, 'adverse event')} before the infusion day {tail}"
    ld = lymphodepletion_starts(tables.get("lymphodepletion"))
    by_ld = sum(sid in ld and ld[sid] <= start[sid] for sid in before["subject_id"])
    by_infusion = n - by_ld
    no_ld = "(no lymphodepletion dose recorded before it)"
    if not by_infusion:
        counted = f"{count(n, 'adverse event')} before the first lymphodepletion dose"
    elif not by_ld:
        counted = f"{count(n, 'adverse event')} before the infusion day {no_ld}"
    else:
        counted = (
            f"{count(by_ld, 'adverse event')} before the first lymphodepletion dose and {by_infusion} before "
            f"the infusion day {no_ld}"
        )
    return f"{counted} {tail}"


INFECTION_PERIODS = (28, 90)
"""Last day of each closed period of `infections_by_period` (days after the infusion, day 0 the infusion
day): days 0-28, 29-90, then after day 90 — Hill 2018's periods (D-19.1310, D-19.1313); the protocol's
``analysis.options.infection_periods`` sets others."""

INFECTIONS_BY_PERIOD_COLUMNS = {
    "period": "onset period of the infection, in days after the infusion (day 0: the infusion day); "
    "'before the infusion': treatment-emergent before day 0 (from lymphodepletion)",
    "first_day": "first day of the period (blank: open)",
    "last_day": "last day of the period (blank: open)",
    "n_at_risk": "safety subjects followed into the period (follow-up reaching its first day)",
    "n_subjects": "subjects with at least one infection of onset in the period",
    "n_events": "infections of onset in the period",
    "n_subjects_grade_ge3": "subjects with an infection of grade >= 3 of onset in the period",
}
"""The columns of `infections_by_period`."""


def infections_by_period(
    teae: pd.DataFrame, membership: pd.DataFrame, periods: Sequence[int] = INFECTION_PERIODS
) -> pd.DataFrame:
    """Treatment-emergent infections (AE category ``infection``) of the safety set by onset period after the
    infusion: before the infusion (from lymphodepletion), days 0-28, 29-90 and after day 90 (default
    `INFECTION_PERIODS`; `periods`: the last day of each closed period, strictly increasing whole days >= 0,
    ``analysis.options.infection_periods``, D-19.1313), the onset day the ``started_on`` date less the
    subject's infusion date
    (``membership.infusion_date``). A subject counted once per period; at risk: the safety subjects whose
    follow-up (``membership.follow_up_days``) reaches the period's first day. Source: CAR-T infection
    reporting by period (Hill JA et al., Blood 2018;131:121-130, days 0-28 and 29-90; Kampouri E et al.,
    review of CAR-T infections, days 0-30, 31-100, > 100 [U: journal not re-read]); D-19.1310.

    >>> m = pd.DataFrame({"subject_id": ["A"], "safety": [True], "infusion_date": ["2021-01-10"],
    ...                   "follow_up_days": [40]})
    >>> ae = pd.DataFrame({"subject_id": ["A"], "started_on": ["2021-02-15"], "category": ["infection"],
    ...                    "grade": ["3"]})
    >>> infections_by_period(ae, m)[["period", "n_at_risk", "n_subjects"]].values.tolist()
    [['days 0-28', 1, 0], ['days 29-90', 1, 1], ['days > 90', 0, 0]]
    """
    cuts = [int(p) for p in periods]
    if not cuts or cuts[0] < 0 or any(b <= a for a, b in pairwise(cuts)):
        raise OptionError(
            Problem(
                "infection periods must be strictly increasing whole days >= 0",
                field="infection_periods",
                allowed="e.g. [28, 90]",
            )
        )
    safety_rows = membership[membership["safety"].astype(bool)]
    day0 = {
        str(s): dt.date.fromisoformat(str(d)[:10])
        for s, d in zip(safety_rows["subject_id"], safety_rows["infusion_date"], strict=True)
    }
    followed = {
        str(s): int(f) for s, f in zip(safety_rows["subject_id"], safety_rows["follow_up_days"], strict=True)
    }
    infections = teae[
        teae["category"].astype("string").str.lower().eq("infection").fillna(False).astype(bool)
    ]
    infections = infections[infections["subject_id"].astype(str).isin(list(day0))]
    onset = [
        (dt.date.fromisoformat(str(d)[:10]) - day0[str(s)]).days
        for s, d in zip(infections["subject_id"], infections["started_on"], strict=True)
    ]
    grade = pd.to_numeric(infections["grade"], errors="coerce")
    bounds: list[tuple[str, int | None, int | None]] = [("before the infusion", None, -1)]
    first = 0
    for last in cuts:
        bounds.append((f"days {first}-{last}", first, last))
        first = last + 1
    bounds.append((f"days > {first - 1}", first, None))
    rows = []
    for label, low, high in bounds:
        inside = pd.Series(
            [(low is None or d >= low) and (high is None or d <= high) for d in onset],
            index=infections.index,
            dtype=bool,
        )
        part = infections[inside]
        rows.append(
            {
                "period": label,
                "first_day": low,
                "last_day": high,
                "n_at_risk": sum(1 for f in followed.values() if low is None or f >= low),
                "n_subjects": int(part["subject_id"].nunique()),
                "n_events": len(part),
                "n_subjects_grade_ge3": int(part.loc[grade[inside].ge(3), "subject_id"].nunique()),
            }
        )
    table = pd.DataFrame(rows, columns=list(INFECTIONS_BY_PERIOD_COLUMNS))
    for column in ("first_day", "last_day"):
        table[column] = table[column].astype("Int64")
    # the row before the infusion only when an infection is in it (treatment-emergent from lymphodepletion)
    return table[(table["period"] != "before the infusion") | (table["n_events"] > 0)].reset_index(drop=True)


def adverse_event_datasets(
    tables: Mapping[str, pd.DataFrame],
    populations: Mapping[str, Population],
    treatment_emergent_start: str = "lymphodepletion",
    protocol_levels: Sequence[int] = (),
    expected_cytopenias: str = "lymphopenia",
    membership: pd.DataFrame | None = None,
    infection_periods: Sequence[int] = INFECTION_PERIODS,
) -> dict[str, Dataset]:
    """`teae_listing`, `teae_by_subject`, `teae_summary`, `teae_by_term`, and with the populations'
    `membership` `infections_by_period` (D-19.1310; its `infection_periods`, D-19.1313); treatment-emergent
    from the first
    lymphodepletion dose (default) or the infusion day (protocol ``analysis.options``). Plus
    `ae_not_infused` (`not_infused_adverse_events`) when an enrolled subject not infused has an adverse
    event: absent otherwise, so that a study that infused everyone enrolled shows nothing more (D-19.88).

    `expected_cytopenias` (protocol ``analysis.options.teae_expected_cytopenias``: lymphopenia | cytopenias)
    names the terms `teae_grade_ge3_unexpected` leaves out, as lymphodepletion's expected effect (D-19.269);
    `teae_grade_ge3` counts every event."""
    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    rule = str(getattr(treatment_emergent_start, "value", treatment_emergent_start))
    start = _teae_start(tables, rule)
    ae = tables["adverse_events"].copy()
    # one term however its verbatim text is cased or spelt, or by its MedDRA code (D-19.927, D-19.932): the
    # group and its display spelling over the whole table, as the CDISC export reads them
    ae["term_group"], ae["term_display"] = ae_term_groups(ae)
    ae = ae[ae["subject_id"].isin(safety_ids)]
    started = ae["started_on"].map(lambda s: dt.date.fromisoformat(s[:10]))
    ae["treatment_emergent"] = pd.Series(
        [d >= start[s] for s, d in zip(ae["subject_id"], started, strict=True)], index=ae.index, dtype=bool
    )
    ae["grade_int"] = pd.to_numeric(ae["grade"], errors="coerce").astype("Int64")
    ae[SERIOUS_FLAG] = ae["serious"].astype("string").str.lower().eq("true").fillna(False).astype(bool)
    ae["related_flag"] = related_flag(ae["relatedness"])
    ae["infection_flag"] = ae["category"].str.lower().eq("infection")
    expected = str(getattr(expected_cytopenias, "value", expected_cytopenias))
    # the expected cytopenias by their text (`term_key`, D-19.927)
    expected_keys = {term_key(e) for e in EXPECTED_TERMS[expected]}
    ae["expected_flag"] = pd.Series(
        [term_key(str(t)) in expected_keys for t in ae["term"]], index=ae.index, dtype=bool
    )
    teae = ae[ae["treatment_emergent"]].reset_index(drop=True)
    teae_groups = group_by_subject(teae)
    # the TEAEs whose relatedness was not recorded, counted as related (D-19.707)
    unassessed = teae[teae["relatedness"].astype("string").fillna("").str.strip().eq("")]
    imputed_related = (
        (
            IMPUTED_RELATED_NOTE.format(
                events=count(len(unassessed), "TEAE"),
                subjects=count(unassessed["subject_id"].nunique(), "subject"),
            ),
        )
        if len(unassessed)
        else ()
    )
    rows = []
    for sid in safety_ids:
        own = rows_of(teae_groups, teae, sid)
        worst = own["grade_int"].max() if len(own) else None
        rows.append(
            {
                "subject_id": sid,
                "dose_level": levels.get(sid),
                "n_teae": len(own),
                "worst_grade": None if worst is None or pd.isna(worst) else int(worst),
                "any_teae": len(own) > 0,
                "teae_grade_ge3": bool((own["grade_int"] >= 3).any()) if len(own) else False,
                "teae_grade_ge3_unexpected": bool(((own["grade_int"] >= 3) & ~own["expected_flag"]).any())
                if len(own)
                else False,
                "serious_teae": bool(own[SERIOUS_FLAG].any()),
                "related_teae": bool(own["related_flag"].any()),
                "infection": bool(own["infection_flag"].any()),
                "infection_grade_ge3": bool((own["infection_flag"] & (own["grade_int"] >= 3)).any())
                if len(own)
                else False,
            }
        )
    by_subject = pd.DataFrame(rows, columns=TEAE_BY_SUBJECT_COLUMNS)  # the columns too when nobody is infused
    by_subject["dose_level"] = by_subject["dose_level"].astype("Int64")
    by_subject["worst_grade"] = by_subject["worst_grade"].astype("Int64")
    labels = {
        "any_teae": "any treatment-emergent AE",
        "teae_grade_ge3": "TEAE grade >= 3",
        "teae_grade_ge3_unexpected": f"TEAE grade >= 3 other than {EXPECTED_TEXT[expected]}, expected after "
        "lymphodepletion",
        "serious_teae": "serious TEAE",
        "related_teae": "TEAE possibly, probably or definitely related (relatedness not recorded: related)",
        "infection": "infection (AE category 'infection')",
        "infection_grade_ge3": "infection grade >= 3",
    }
    summary = incidence(by_subject, list(labels), SAFETY, labels, protocol_levels)
    term_rows = []
    n_safety = len(safety_ids)
    # a subject counted once per term at its worst grade, however the term's text is cased or spelt, or by
    # its MedDRA code (`ae_term_groups`): shown in the group's display spelling (D-19.927, D-19.932-933)
    # one row per term group, whatever the categories of its records (the store requires none): a subject
    # counted once per term as ADaM ADAE's AOCCPFL; the row's category is the term's most frequent
    # recorded one, on a tie the one whose stored code is first alphabetically (not the first recorded: the
    # row does not depend on the records' order), blank when none is recorded (D-19.1242)
    several = 0
    grouped = []
    for _, part in teae.groupby("term_group", sort=False):
        recorded = part["category"].astype("string").fillna("").str.strip()
        counts = recorded[recorded != ""].value_counts()
        several += int(len(counts) > 1)
        category = min(counts.index, key=lambda c: (-counts[c], c)) if len(counts) else ""
        grouped.append((str(category), str(part["term_group"].iloc[0]), part))
    # the infection incidence reads each event's own category, the row its term's: the subjects on whom the
    # two differ are said (D-19.1242)
    into_infection: set[str] = set()
    out_of_infection: set[str] = set()
    for category, _, part in sorted(grouped, key=lambda g: (g[0], g[1])):
        term = str(part["term_display"].iloc[0])
        recorded_infection = part.groupby("subject_id")["infection_flag"].any()
        if category.lower() == "infection":
            into_infection.update(str(s) for s in recorded_infection.index[~recorded_infection])
        else:
            out_of_infection.update(str(s) for s in recorded_infection.index[recorded_infection])
        worst = part.groupby("subject_id")["grade_int"].max()
        row: dict[str, Any] = {
            "category": category,
            "term": term,
            "n_subjects": int(part["subject_id"].nunique()),
            "n_safety": n_safety,
            "n_events": len(part),
            "n_subjects_grade_ge3": int((worst >= 3).sum()),
            "n_subjects_serious": int(part.loc[part[SERIOUS_FLAG], "subject_id"].nunique()),
        }
        for grade in range(1, 6):
            row[f"worst_grade_{grade}"] = int((worst == grade).sum())
        # no grade on any of the subject's events of the term (a grade 5 open at the cut-off, D-19.85): a
        # column of its own, so that the grade columns add up to n_subjects (D-19.1241)
        row["worst_grade_not_known"] = int(worst.isna().sum())
        term_rows.append(row)
    listing = with_seriousness_criteria(
        teae.drop(
            columns=[
                "grade_int",
                "related_flag",
                "infection_flag",
                "expected_flag",
                "term_group",
                "term_display",
            ]
        )
    )
    infection_differs = [
        *(
            (
                f"{count(len(into_infection), 'subject')} in a row of category infection without an event "
                "of the term recorded as an infection",
            )
            if into_infection
            else ()
        ),
        *(
            (
                f"{count(len(out_of_infection), 'subject')} with an event of the term recorded as an "
                "infection in a row of another category",
            )
            if out_of_infection
            else ()
        ),
    ]
    infection_note = (
        (
            f"{'; '.join(infection_differs)}: the infection counts of teae_by_subject and teae_summary read "
            "each event's own category, not its term's row (D-19.1242)",
        )
        if infection_differs
        else ()
    )
    ungraded = teae[teae["grade_int"].isna()]
    ungraded_note = (
        (
            f"{count(len(ungraded), 'TEAE')} in {count(ungraded['subject_id'].nunique(), 'subject')} "
            f"{verb(len(ungraded), 'has', 'have')} no grade at the cut-off (open at it, its grade known only "
            "at its end, D-19.85): its subject counted at the subject's highest recorded grade of the term "
            "when it has one, else in worst_grade_not_known (D-19.1241)",
        )
        if len(ungraded)
        else ()
    )
    not_teae_note = _not_treatment_emergent_note(tables, ae[~ae["treatment_emergent"]], start, rule)
    not_infused = not_infused_adverse_events(tables, populations, rule)
    extra: dict[str, Dataset] = {}
    if len(not_infused):
        extra["ae_not_infused"] = Dataset(
            "ae_not_infused",
            "Adverse events of enrolled subjects not infused (listing; in no safety table)",
            not_infused,
            ENROLLED,
            "cartrial.analysis.toxicity.not_infused_adverse_events",
            ("adverse_events", "lymphodepletion", "infusions"),
            columns=NOT_INFUSED_AE_COLUMNS,
            notes=(
                "the safety set is the subjects infused by the cut-off: these events are listed apart, not "
                "counted in the safety tables (D-19.88)",
            ),
        )
    if membership is not None:
        extra["infections_by_period"] = Dataset(
            "infections_by_period",
            "Treatment-emergent infections by onset period after the infusion",
            infections_by_period(teae, membership, infection_periods),
            SAFETY,
            "cartrial.analysis.toxicity.infections_by_period",
            ("teae_listing", "populations"),
            columns=INFECTIONS_BY_PERIOD_COLUMNS,
            notes=(
                "periods after the infusion ending on days "
                f"{', '.join(str(int(p)) for p in infection_periods)}"
                " (default 28, 90: Hill 2018; analysis.options.infection_periods; D-19.1310, D-19.1313); an "
                "infection is an adverse event of category infection; at risk: followed into the period",
            ),
        )
    datasets = {
        "teae_listing": Dataset(
            "teae_listing",
            "Treatment-emergent adverse events (listing)",
            listing,
            SAFETY,
            "cartrial.analysis.toxicity (treatment-emergent filter)",
            ("adverse_events", "lymphodepletion", "infusions"),
            columns={
                SERIOUS_FLAG: "the analysis's reading of serious (true: recorded serious; false: not "
                "serious or not recorded), the one the TEAE tables count and the report and web page list "
                "(D-19.1243)",
                SERIOUSNESS_CRITERIA_COLUMN: "ICH E2A seriousness criteria met, in words ('; '-separated; "
                "empty: none recorded)",
            },
            notes=(not_teae_note,),
        ),
        "teae_by_subject": Dataset(
            "teae_by_subject",
            "TEAEs per subject: worst grade, grade >= 3, serious, related, infections",
            by_subject,
            SAFETY,
            "per-subject summary of teae_listing",
            ("teae_listing",),
            columns={
                "teae_grade_ge3_unexpected": f"a TEAE of grade >= 3 other than {EXPECTED_TEXT[expected]}, "
                "expected after lymphodepletion (analysis.options.teae_expected_cytopenias = "
                f"{expected}; terms: {', '.join(EXPECTED_TERMS[expected])}; D-19.269)",
            },
        ),
        "teae_summary": Dataset(
            "teae_summary",
            "TEAE incidence per dose level and overall (exact 95 % CI)",
            summary,
            SAFETY,
            "cartrial.analysis.summaries.incidence",
            ("teae_by_subject",),
            notes=imputed_related,
        ),
        "teae_by_term": Dataset(
            "teae_by_term",
            "TEAEs by category and term: subjects, events, worst grade",
            pd.DataFrame(term_rows),
            SAFETY,
            "count of teae_listing",
            ("teae_listing",),
            columns=TEAE_BY_TERM_COLUMNS,
            notes=(
                "system organ class is not captured (no MedDRA dictionary); the AE category stands in for it",
                *ungraded_note,
                *(
                    (
                        f"{count(several, 'term')} recorded under more than one category: one row each, "
                        "under the term's most frequent category (D-19.1242)",
                    )
                    if several
                    else ()
                ),
                *infection_note,
            ),
        ),
    }
    return datasets | extra


EARLY_ICAHT_PENDING = "early_icaht_pending"
"""Column of `icaht`: the early window (days 0-30) is not complete at the cut-off (D-19.188)."""


def early_icaht_pending(icaht: pd.DataFrame, membership: pd.DataFrame | None) -> pd.DataFrame:
    """`icaht` with `EARLY_ICAHT_PENDING`: True for a subject on study and alive at the cut-off who has not
    been followed to the last day of the early window (``follow_up_days`` < `cartrial.grading` day 30); the
    early ICAHT and T-ICAHT grades of such a subject are blank and the rule says why. Counts to day 7 below
    500/µL are not a neutropenia that "never recovered" when day 8 is after the cut-off (D-19.188). A subject
    whose follow-up ended inside the window (death, end of study) keeps the grade of the counts seen."""
    from cartrial.grading.icaht import EARLY_LAST_DAY

    out = icaht.copy()
    out[EARLY_ICAHT_PENDING] = False
    if membership is None or not len(out):
        return out
    for index, days in _open_windows(out, membership, EARLY_LAST_DAY):
        out.loc[index, EARLY_ICAHT_PENDING] = True
        out.loc[index, "early_icaht_grade"] = pd.NA
        out.loc[index, "t_early_grade"] = pd.NA
        if EARLY_LOWER_BOUND in out:
            out.loc[index, EARLY_LOWER_BOUND] = False
        reason = (
            f"pending: early window (days 0-{EARLY_LAST_DAY}) not complete at the cut-off (followed to day "
            f"{days})"
        )
        out.loc[index, "early_icaht_rule"] = reason
        out.loc[index, "t_early_reason"] = reason
    return out


LATE_ICAHT_PENDING = "late_icaht_pending"
"""Column of `icaht`: the late window (days 31-100) is not complete at the cut-off (D-19.230)."""
LATE_AT_LEAST = {"late_icaht_grade": "late_icaht_at_least", "t_late_grade": "t_late_at_least"}
"""Columns of `icaht`: the late ICAHT / T-ICAHT grade the counts of an open late window already reach (a lower
bound; blank when none, and for a complete window, whose grade is in the grade column) (D-19.230)."""


EARLY_LOWER_BOUND = "early_icaht_lower_bound"
"""Column of `icaht`: the early grade is a lower bound, the neutrophil counts stopping with ANC ≤ 500/µL
before the end of the subject's follow-up (more days could raise it;
`cartrial.grading.IcahtGrade.early_lower_bound`, D-19.717)."""
LATE_LOWER_BOUND = {"late_icaht_grade": "late_icaht_lower_bound", "t_late_grade": "t_late_lower_bound"}
"""Columns of `icaht`: the late ICAHT / T-ICAHT grade of a complete (not pending) late window is a lower
bound, the counts stopping inside days 31-100 before the end of follow-up at a level that would raise it
(`cartrial.grading.IcahtGrade.late_lower_bound`, `TIcahtGrade.late_lower_bound`; D-19.788)."""
LOWER_BOUND = {"early_icaht_grade": EARLY_LOWER_BOUND, **LATE_LOWER_BOUND}
"""Grade column of `icaht` → its lower-bound flag (the grade shown as "≥ N", D-19.717, D-19.788)."""


ICAHT_GRADE_STATE: dict[str, tuple[str, str | None]] = {
    "early_icaht_grade": (EARLY_ICAHT_PENDING, None),
    "t_early_grade": (EARLY_ICAHT_PENDING, None),
    "late_icaht_grade": (LATE_ICAHT_PENDING, "late_icaht_at_least"),
    "t_late_grade": (LATE_ICAHT_PENDING, "t_late_at_least"),
}
"""Grade column of `icaht` → (its pending flag, its lower-bound column or None)."""


def icaht_grade_text(row: Mapping[str, Any], column: str) -> str | None:
    """A grade of the `icaht` dataset as a reader should see it (D-19.268): the grade ("2"); "pending" for a
    window not complete at the cut-off; "≥ N (pending)" for an open late window whose counts already reach
    grade N (a lower bound, `LATE_AT_LEAST`); "≥ N" for an early grade that is a lower bound, the counts
    stopping ≤ 500/µL before the end of follow-up (`LOWER_BOUND`, D-19.717), and for a late grade whose counts
    stop inside days 31-100 before the end of follow-up at a level that would raise it (D-19.788); None when
    the subject is not
    gradable (no count). Read from the dataset's columns, nothing recomputed: the one wording of the report's
    table and the web safety page.

    >>> icaht_grade_text({"late_icaht_grade": 2, "late_icaht_pending": False}, "late_icaht_grade")
    '2'
    >>> row = {"late_icaht_grade": None, "late_icaht_pending": True, "late_icaht_at_least": 1}
    >>> icaht_grade_text(row, "late_icaht_grade")
    '≥ 1 (pending)'
    >>> icaht_grade_text({"early_icaht_grade": None, "early_icaht_pending": True}, "early_icaht_grade")
    'pending'
    >>> row = {"early_icaht_grade": 2, "early_icaht_pending": False, "early_icaht_lower_bound": True}
    >>> icaht_grade_text(row, "early_icaht_grade")
    '≥ 2'
    """
    flag, bound = ICAHT_GRADE_STATE[column]
    pending = row.get(flag)
    if pending is not None and not pd.isna(pending) and bool(pending):
        reached = row.get(bound) if bound is not None else None
        if reached is None or pd.isna(reached) or int(reached) <= 0:  # never "≥ 0" (D-19.790)
            return "pending"
        return f"≥ {int(reached)} (pending)"
    grade = row.get(column)
    if grade is None or pd.isna(grade):
        return None
    flag_column = LOWER_BOUND.get(column)
    lower = row.get(flag_column) if flag_column is not None else None
    if lower is not None and not pd.isna(lower) and bool(lower) and int(grade) > 0:  # never "≥ 0"
        return f"≥ {int(grade)}"
    return str(int(grade))


def _day(value: Any) -> float | None:
    number = pd.to_numeric(value, errors="coerce")
    return None if pd.isna(number) else float(number)


def _instant(value: Any) -> dt.datetime | None:
    if value is None or pd.isna(value):  # blank, NaN or NaT
        return None
    text = value if isinstance(value, dt.datetime) else str(value).strip()
    return utc_moment(text) if text else None


def episode_span(episode: Mapping[str, Any], zone: str | None) -> tuple[int, int] | None:
    """(first, last) whole calendar days after the infusion on which an episode of ``crs_episodes`` or
    ``icans_episodes`` is shown, both counted on the site's calendar (`calendar_days` from the date of
    ``infused_at`` in the subject's IANA `zone`, None: UTC; day 0 = the infusion's date, D-19.607), as the
    follow-up (`observed_days`) is: from the day of its onset (``onset_at``) through the day of its
    resolution (``resolved_at``); an episode unresolved at its last assessment through the day of the last
    assessment that graded it (``last_ongoing_at``: it lasted at least that long; never a later ICANS "not
    assessable" row, D-19.675, which ``last_assessed_at`` may be), not its onset day alone, and its onset
    day alone only when neither is known (D-19.767). Unclamped: a day may be < 0 or past the figure's span.
    None without an infusion or onset instant. The one rule of the report's heat map and swimmer plot and
    of the web safety page.

    >>> episode = {"infused_at": "2021-04-26T23:30:00Z", "onset_at": "2021-04-28T20:00:00Z",
    ...            "resolved_at": None, "last_ongoing_at": "2021-05-04T22:00:00Z"}
    >>> episode_span(episode, "Asia/Shanghai"), episode_span(episode, None)
    ((2, 8), (2, 8))
    """
    infused, onset = _instant(episode.get("infused_at")), _instant(episode.get("onset_at"))
    if infused is None or onset is None:
        return None
    day0 = typed_site_moment(infused, zone)  # a date typed without a time: that date (D-19.947)
    end = _instant(episode.get("resolved_at")) or _instant(episode.get("last_ongoing_at")) or onset
    first = calendar_days(onset, day0)
    return first, max(calendar_days(end, day0), first)


UNGRADED = -1
"""A day of `episode_grade_days` after an unresolved episode's last graded day, through the end of the
observed follow-up or the next episode's onset: unresolved, not graded. Not a grade (below grade 0), not
"no episode" (unobserved is not absent, D-19.768): the heat maps hatch it or show "?" (D-19.767)."""


def episode_grade_days(
    episodes: pd.DataFrame,
    subjects: Sequence[str],
    n_days: int,
    zones: Mapping[str, str] | None = None,
    observed: Mapping[str, int] | None = None,
) -> dict[str, list[int | None]]:
    """Each subject's grade on days 0 … `n_days` - 1 after the infusion (whole calendar days on the site's
    calendar, `zones`: subject_id → IANA zone, a subject not listed: UTC; D-19.607), from the episodes of
    ``crs_episodes`` or ``icans_episodes``: each episode's peak grade (``max_grade``) fills every day of its
    `episode_span` (onset to resolution, or through its last graded assessment while unresolved; a display
    convention, not that day's grade; D-19.767); an episode that ended before day 0 is not shown; two
    episodes on one day keep the higher grade. An episode unresolved at its last assessment is `UNGRADED`
    ("unresolved, not graded") on each day after its last graded day through the subject's last observed
    day (`observed`: subject_id → `observed_days`; a subject not listed: all `n_days` observed) or until the
    next episode's onset, whichever is first: it had not resolved, and no assessment graded it (D-19.767).
    None = no episode that day. The one rule of the report's heat map and the web safety page.

    >>> frame = pd.DataFrame({"subject_id": ["A"], "max_grade": [2], "infused_at": ["2021-04-27T02:00:00Z"],
    ...                       "onset_at": ["2021-04-28T14:00:00Z"], "resolved_at": [None],
    ...                       "last_ongoing_at": ["2021-04-30T10:00:00Z"]})
    >>> episode_grade_days(frame, ["A"], 6, observed={"A": 5})
    {'A': [None, 2, 2, 2, -1, None]}
    """
    zones = zones or {}
    observed = observed or {}
    grid: dict[str, list[int | None]] = {str(s): [None] * n_days for s in subjects}
    shown: list[tuple[str, int, tuple[int, int], bool]] = []
    for episode in episodes.to_dict("records"):
        subject = str(episode["subject_id"])
        grade = _day(episode.get("max_grade"))
        if subject not in grid or grade is None:
            continue
        span = episode_span(episode, zones.get(subject))
        if span is None:
            continue
        shown.append((subject, int(grade), span, _instant(episode.get("resolved_at")) is None))
    for subject, grade, span, unresolved in shown:
        days = grid[subject]
        if span[1] >= 0:  # over before day 0: nothing to show
            for day in range(max(span[0], 0), min(span[1] + 1, n_days)):
                current = days[day]
                days[day] = grade if current is None else max(current, grade)
        if unresolved:  # after its last graded day: unresolved, not graded, until the next onset
            later = [s[0] for other, _, s, _ in shown if other == subject and s[0] > span[0]]
            stop = min([observed.get(subject, n_days), n_days, *later])
            for day in range(max(span[1] + 1, 0), stop):
                if days[day] is None:
                    days[day] = UNGRADED
    return grid


def observed_days(follow_up_days: Any, n_days: int) -> int:
    """How many of days 0 … `n_days` - 1 after the infusion a subject was observed: through the cut-off, the
    death or the end-of-study day (populations ``follow_up_days``, whole calendar days, D-19.607); the later
    days are not observed, not "no episode" (D-19.210, D-19.768). Unknown follow-up (no safety subject has
    one): none observed, never all.

    >>> observed_days(8, 29), observed_days(8.7, 29), observed_days(40, 29), observed_days(None, 29)
    (9, 9, 29, 0)
    """
    days = _day(follow_up_days)
    return 0 if days is None else max(0, min(math.floor(days) + 1, n_days))


def icaht_shown(icaht: pd.DataFrame) -> pd.DataFrame:
    """`icaht` as the report shows it: each grade column as `icaht_grade_text` (blank when not gradable),
    the lower-bound columns folded into it (D-19.268). The dataset and its CSV keep every column."""
    folded = [*LATE_AT_LEAST.values(), *LOWER_BOUND.values()]
    out = icaht.drop(columns=[c for c in folded if c in icaht])
    for column in ICAHT_GRADE_STATE:
        if column in out:
            texts = [icaht_grade_text(r, column) for r in icaht.to_dict("records")]
            out[column] = pd.Series([t or "" for t in texts], index=out.index, dtype=object)
    return out


def _open_windows(icaht: pd.DataFrame, membership: pd.DataFrame, last_day: int) -> Iterator[tuple[Any, int]]:
    """(row index of `icaht`, follow-up days) of each subject on study and alive at the cut-off and followed
    to before `last_day`: its window may still fill. A subject whose follow-up is unknown or ended (a death,
    an end of study) is left out: the counts seen are all there are."""
    followed = membership.set_index("subject_id")
    for index, subject in icaht["subject_id"].items():
        if subject not in followed.index:
            continue
        row = followed.loc[subject]
        ended = bool(row["died"]) or str(row["study_status"]) in STUDY_ENDED
        if pd.isna(row["follow_up_days"]) or ended or int(row["follow_up_days"]) >= last_day:
            continue
        yield index, int(row["follow_up_days"])


def late_icaht_pending(icaht: pd.DataFrame, membership: pd.DataFrame | None) -> pd.DataFrame:
    """`icaht` with `LATE_ICAHT_PENDING` and the `LATE_AT_LEAST` columns: a subject on study and alive at the
    cut-off who has not been followed to the last day of the late window (``follow_up_days`` <
    `cartrial.grading` day 100) has its late ICAHT and T-ICAHT grades blank, the rule saying why, and the
    grade the counts seen so far reach as ``late_icaht_at_least`` / ``t_late_at_least`` when ≥ 1: the late
    grade is that of the k-th lowest count of days 31-100 (T-ICAHT: counts and days below), which more counts
    can only raise, so a grade reached is a lower bound, never a grade 0 (D-19.230). A subject whose
    follow-up ended (death, end of study) keeps the grade of the counts seen, as for the early window
    (D-19.188)."""
    from cartrial.grading.icaht import EARLY_LAST_DAY, LATE_LAST_DAY

    out = icaht.copy()
    out[LATE_ICAHT_PENDING] = False
    for column in LATE_AT_LEAST.values():
        out[column] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    if membership is None or not len(out):
        return out
    window = f"late window (days {EARLY_LAST_DAY + 1}-{LATE_LAST_DAY})"
    for index, days in _open_windows(out, membership, LATE_LAST_DAY):
        out.loc[index, LATE_ICAHT_PENDING] = True
        for bound_flag in LATE_LOWER_BOUND.values():  # a pending grade is blank: its bound is `LATE_AT_LEAST`
            if bound_flag in out:
                out.loc[index, bound_flag] = False
        for grade, rule in (("late_icaht_grade", "late_icaht_rule"), ("t_late_grade", "t_late_reason")):
            seen = out.loc[index, grade]
            reached = not pd.isna(seen) and int(seen) >= 1
            so_far = (
                f"at least grade {int(seen)} by the counts so far ({out.loc[index, rule]})"
                if reached
                else "no grade reached by the counts so far"
            )
            out.loc[index, LATE_AT_LEAST[grade]] = int(seen) if reached else pd.NA
            out.loc[index, grade] = pd.NA
            out.loc[index, rule] = (
                f"pending: {window} not complete at the cut-off (followed to day {days}); {so_far}"
            )
    return out


def lab_datasets(
    tables: Mapping[str, pd.DataFrame],
    populations: Mapping[str, Population],
    ctcae_version: str = "5.0",
    graded_labs: safety.Graded | None = None,
    membership: pd.DataFrame | None = None,
    treatment_emergent_start: Any = "lymphodepletion",
) -> dict[str, Dataset]:
    """`lab_shift` (CTCAE haematology worst post-baseline grade and shift from baseline) and `icaht`. The
    baseline is the last value before the treatment-emergent period of the study's
    `treatment_emergent_start` rule, the graded labs' ``pre_treatment`` (`safety.pre_treatment`), the
    column ADaM ADLB's ABLFL and ONTRTFL read too (D-19.710).

    With `membership` (the `populations` dataset: ``follow_up_days``, ``study_status``, ``died``), a subject
    on study and alive who has not been followed to day 30 at the cut-off has its early ICAHT and T-ICAHT
    grades pending (`EARLY_ICAHT_PENDING`, grade blank): the grader's "lasting to the end of follow-up"
    rule reads a follow-up that ended, never the cut-off (D-19.188); one not followed to day 100 has its late
    grades pending, with the grade already reached as a lower bound (`late_icaht_pending`, D-19.230)."""
    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    rule = str(getattr(treatment_emergent_start, "value", treatment_emergent_start))
    labs = graded_labs if graded_labs is not None else safety.graded_labs(tables, ctcae_version, rule)
    graded = labs.table
    graded_version = (labs.metadata.get("options") or {}).get("ctcae_version", ctcae_version)
    own = graded[graded["subject_id"].isin(set(safety_ids))]
    keys = ["subject_id", "analyte"]
    if len(own):
        grouped = own.groupby(keys, sort=True)
        # the last pre-treatment value in time order (site study day, instant, record id), never the
        # table's order (a text sort of collected_at; D-19.986): the one order ADLB and SDTM read too
        pre = own[own["pre_treatment"]]
        last = safety.last_in_site_order(
            [pre["subject_id"], pre["analyte"]],
            pre["study_day"],
            safety.lab_instants(pre["collected_at"]),
            pre.get("record_id"),
        )
        before = pre.iloc[last].set_index(keys)["grade"].sort_index()
        after = own[~own["pre_treatment"]].groupby(keys, sort=True)["grade"]
        table = pd.DataFrame({"term": grouped["term"].first().astype(str)})
        table["baseline_grade"] = before.reindex(table.index)
        table["worst_post_grade"] = after.max().reindex(table.index)
        table["n_post_values"] = after.size().reindex(table.index).fillna(0).astype(int)
        table = table.reset_index()
        table.insert(1, "dose_level", [levels.get(s) for s in table["subject_id"]])
        rows = table[
            [
                "subject_id",
                "dose_level",
                "analyte",
                "term",
                "baseline_grade",
                "worst_post_grade",
                "n_post_values",
            ]
        ].to_dict("records")
    else:
        rows = []
    shift = pd.DataFrame(rows)
    if len(shift):
        for column in ("dose_level", "baseline_grade", "worst_post_grade"):
            shift[column] = shift[column].astype("Int64")
        shift["shift"] = [
            "" if pd.isna(b) or pd.isna(w) else f"{int(b)}->{int(w)}"
            for b, w in zip(shift["baseline_grade"], shift["worst_post_grade"], strict=True)
        ]
        shift["worst_grade_ge3"] = shift["worst_post_grade"].fillna(0) >= 3
    # the last day followed ends the early ICAHT window when the counts stop before it (D-19.717)
    followed = (
        {
            str(s): int(f)
            for s, f in zip(membership["subject_id"], membership["follow_up_days"], strict=True)
            if not pd.isna(f) and int(f) >= 0
        }
        if membership is not None and "follow_up_days" in membership
        else None
    )
    graded_icaht = safety.graded_icaht(tables, followed)
    icaht = graded_icaht.table
    no_anc = sorted(set(safety_ids) - set(icaht["subject_id"]))
    icaht.insert(1, "dose_level", [levels.get(s) for s in icaht["subject_id"]])
    icaht["dose_level"] = icaht["dose_level"].astype("Int64")
    icaht = late_icaht_pending(early_icaht_pending(icaht, membership), membership)
    return {
        "lab_shift": Dataset(
            "lab_shift",
            # the version the labs were graded by (analysis.options.ctcae_version, D-19.984)
            f"CTCAE v{graded_version} haematology: baseline grade, worst post-baseline grade and shift",
            shift,
            SAFETY,
            "cartrial.grading.derive_lab_grades (via cartrial.analysis.safety)",
            ("labs", "infusions", "lymphodepletion"),
            notes=(
                safety.PRE_TREATMENT_RULE.format(start=safety.START_WORDS[rule]),
                *safety.method_notes(labs.metadata),
                *labs.notes,
            ),
            engine=(labs.metadata,),
        ),
        "icaht": Dataset(
            "icaht",
            "ICAHT early (day 0-30) and late (> day 30) grade per subject",
            icaht,
            SAFETY,
            "cartrial.grading.derive_icaht (via cartrial.analysis.safety)",
            ("labs", "infusions"),
            columns={
                EARLY_ICAHT_PENDING: "early window (days 0-30) not complete at the cut-off, the subject on "
                "study and alive: early ICAHT and T-ICAHT grades blank (D-19.188)",
                EARLY_LOWER_BOUND: "early ICAHT grade is a lower bound: the neutrophil counts stop with "
                "ANC ≤ 500/µL before the end of follow-up (day 30, death, end of study or cut-off) and more "
                "days below would give a higher grade; shown as ≥ N (D-19.717)",
                LATE_ICAHT_PENDING: "late window (days 31-100) not complete at the cut-off, the subject on "
                "study and alive: late ICAHT and T-ICAHT grades blank (D-19.230)",
                "late_icaht_lower_bound": "late ICAHT grade is a lower bound: the neutrophil counts stop "
                "inside days 31-100 before the end of follow-up (day 100, death, end of study or cut-off) "
                "and one more count at the last count's level would give a higher grade; shown as ≥ N "
                "(D-19.788)",
                "t_late_lower_bound": "late T-ICAHT grade is a lower bound: the platelet counts stop inside "
                "days 31-100 before the end of follow-up and platelets staying at the last count's level "
                "would give a higher grade; shown as ≥ N (D-19.788)",
                "late_icaht_at_least": "late window pending: the late ICAHT grade the counts so far "
                "already reach (a lower bound: more counts only raise it); blank when none, or when the "
                "window is complete (D-19.230)",
                "t_late_at_least": "late window pending: the late T-ICAHT grade the counts so far "
                "already reach (lower bound, D-19.230)",
            },
            notes=(
                *((f"no neutrophil count: {', '.join(no_anc)}",) if no_anc else ()),
                *safety.method_notes(graded_icaht.metadata),
                *graded_icaht.notes,
            ),
            engine=(graded_icaht.metadata,),
        ),
    }


__all__ = [
    "EARLY_ICAHT_PENDING",
    "EARLY_LOWER_BOUND",
    "LATE_AT_LEAST",
    "LATE_ICAHT_PENDING",
    "LATE_LOWER_BOUND",
    "NOT_INFUSED_AE_COLUMNS",
    "UNGRADED",
    "adverse_event_datasets",
    "ae_term_groups",
    "crs_icans_datasets",
    "early_icaht_pending",
    "episode_grade_days",
    "episode_span",
    "icaht_grade_text",
    "icaht_shown",
    "lab_datasets",
    "late_icaht_pending",
    "not_infused_adverse_events",
    "observed_days",
]
