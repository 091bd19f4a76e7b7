"""THE adapter between the analysis and the grading engine (the one place that calls `cartrial.grading`).

Today it calls grading's public value/array API (``parse_*_frame``, ``crs_episodes``, ``icans_episodes``,
``grade_labs_arrays``, ``grade_icaht``); when grading's frame-level ``derive_*`` functions land, only this
module changes. Every rule (ASTCT 2019 CRS/ICANS grades, episode rules, CTCAE v5.0 haematology, EHA/EBMT
ICAHT 2023) is grading's; this module only moves data in and out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from cartrial.columns import RowProblems


@dataclass(frozen=True)
class GradedEpisodes:
    """One row per CRS or ICANS episode (grading's `EpisodeSummary.as_record`), with the options used."""

    table: pd.DataFrame
    options: dict[str, Any]
    scale: str
    problems: tuple[str, ...] = ()


def _infusions(infusions: pd.DataFrame) -> dict[str, datetime]:
    from cartrial.grading import parse_infusions_frame

    problems = RowProblems("infusions")
    out = parse_infusions_frame(infusions, problems)
    problems.raise_if_any(False)
    return out


def _therapies(therapies: pd.DataFrame) -> list[Any]:
    from cartrial.grading import parse_therapies_frame

    problems = RowProblems("therapies")
    if len(therapies) == 0:
        return []
    records = parse_therapies_frame(therapies, problems)
    problems.raise_if_any(False)
    return list(records)


def _known(frame: pd.DataFrame, infused: dict[str, datetime]) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Rows of subjects with an infusion (others cannot be placed on the study-day axis)."""
    keep = frame["subject_id"].isin(list(infused))
    dropped = tuple(sorted(set(frame.loc[~keep, "subject_id"])))
    return frame[keep].reset_index(drop=True), dropped


def _episode_frame(episodes: list[Any]) -> pd.DataFrame:
    frame = pd.DataFrame([ep.as_record() for ep in episodes])
    if len(frame):
        frame["max_grade"] = frame["max_grade"].astype("Int64")
        frame["episode"] = frame["episode"].astype("Int64")
    return frame


def crs_episodes(tables: dict[str, pd.DataFrame]) -> GradedEpisodes:
    """CRS episodes (ASTCT 2019, default `CrsOptions` and `EpisodeOptions`) of every infused subject."""
    from cartrial.grading import CRS_SCALE, CrsOptions, EpisodeOptions, parse_crs_frame
    from cartrial.grading import crs_episodes as grade_episodes

    infused = _infusions(tables["infusions"])
    frame, dropped = _known(tables["crs_assessments"], infused)
    options, ep_options = CrsOptions(), EpisodeOptions()
    problems = RowProblems("crs_assessments")
    inputs = parse_crs_frame(frame, problems, sbp_threshold_mmhg=options.sbp_threshold_mmhg)
    good = ~problems.bad_mask(len(frame))
    result = grade_episodes(
        inputs,
        infused,
        good=good,
        therapies=_therapies(tables["therapies"]),
        options=options,
        episode_options=ep_options,
    )
    notes = [str(p) for p in problems.all()]
    notes += [f"CRS assessments of {sid} left out: no infusion" for sid in dropped]
    return GradedEpisodes(
        _episode_frame(result.episodes),
        {**options.as_dict(), **ep_options.as_dict()},
        CRS_SCALE,
        tuple(notes),
    )


def icans_episodes(tables: dict[str, pd.DataFrame]) -> GradedEpisodes:
    """ICANS episodes (ASTCT 2019 with ICE) of every infused subject."""
    from cartrial.grading import EpisodeOptions, parse_icans_frame
    from cartrial.grading import icans_episodes as grade_episodes
    from cartrial.grading.icans import ICANS_SCALE

    infused = _infusions(tables["infusions"])
    frame, dropped = _known(tables["icans_assessments"], infused)
    ep_options = EpisodeOptions()
    problems = RowProblems("icans_assessments")
    inputs = parse_icans_frame(frame, problems)
    good = ~problems.bad_mask(len(frame))
    episodes = grade_episodes(
        inputs, infused, good=good, therapies=_therapies(tables["therapies"]), episode_options=ep_options
    )
    notes = [str(p) for p in problems.all()]
    notes += [f"ICANS assessments of {sid} left out: no infusion" for sid in dropped]
    return GradedEpisodes(_episode_frame(episodes), ep_options.as_dict(), ICANS_SCALE, tuple(notes))


def lab_grades(
    tables: dict[str, pd.DataFrame], ctcae_version: str = "5.0"
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """CTCAE grade of every haematology result (neutrophils, platelets, haemoglobin, lymphocytes, WBC), with
    the study day; other analytes are not graded here. Columns: subject_id, analyte, collected_at, study_day,
    value_canonical, canonical_unit, grade, term, rule."""
    from cartrial.grading import ANALYTES, grade_labs_arrays, parse_labs_frame

    infused = _infusions(tables["infusions"])
    labs = tables["labs"]
    names = [a.value for a in ANALYTES]
    frame, dropped = _known(labs[labs["analyte"].isin(names)].reset_index(drop=True), infused)
    columns = ["subject_id", "analyte", "collected_at", "study_day", "value_canonical", "canonical_unit"]
    if len(frame) == 0:
        return pd.DataFrame(columns=[*columns, "grade", "term", "rule"]), ()
    problems = RowProblems("labs")
    inputs = parse_labs_frame(frame, problems)
    bad = problems.bad_mask(len(frame))
    graded = grade_labs_arrays(
        inputs.analyte_code,
        np.where(bad, 0.0, inputs.value_canonical),
        np.where(bad, 0.0, inputs.lln_canonical),
        ctcae_version=ctcae_version,
        lln_required_for_higher_grades=False,
        life_threatening_anemia=inputs.life_threatening_anemia,
    )
    analytes = [ANALYTES[int(c)].value for c in inputs.analyte_code]
    days = [
        (m.date() - infused[str(s)].date()).days if m is not None else None
        for s, m in zip(inputs.subject_id, inputs.collected_at, strict=True)
    ]
    out = pd.DataFrame(
        {
            "subject_id": inputs.subject_id.astype(str),
            "analyte": analytes,
            "collected_at": frame["collected_at"].to_numpy(),
            "collected_before_infusion": [
                m is not None and m < infused[str(s)]
                for s, m in zip(inputs.subject_id, inputs.collected_at, strict=True)
            ],
            "study_day": pd.array(days, dtype="Int64"),
            "value_canonical": np.round(inputs.value_canonical, 6),
            "canonical_unit": ["g/L" if a == "hemoglobin" else "10^9/L" for a in analytes],
            "grade": graded.grade.astype(int),
            "term": graded.term,
            "rule": graded.rule,
        }
    )[~bad].reset_index(drop=True)
    notes = tuple(
        [str(p) for p in problems.all()] + [f"labs of {sid} left out: no infusion" for sid in dropped]
    )
    return out, notes


def icaht(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Early and late ICAHT grade per subject from the neutrophil counts (grading's `grade_icaht`, default
    `IcahtOptions`); subjects without a neutrophil count are absent (the caller names them)."""
    from cartrial.grading import IcahtOptions, grade_icaht
    from cartrial.grading.icaht import ICAHT_SCALE

    graded, _ = lab_grades(tables)
    anc = graded[(graded["analyte"] == "neutrophils") & graded["study_day"].notna()]
    options = IcahtOptions()
    rows = []
    for sid, part in anc.groupby("subject_id", sort=True):
        days = [int(d) for d in part["study_day"]]
        values = [float(v) * 1000.0 for v in part["value_canonical"]]  # 10^9/L -> cells/µL
        result = grade_icaht(days, values, options=options)
        rows.append(
            {
                "subject_id": sid,
                "early_icaht_grade": result.early_grade,
                "early_icaht_rule": result.early_rule,
                "late_icaht_grade": result.late_grade,
                "late_icaht_rule": result.late_rule,
                "n_anc_values": len(days),
                "scale": ICAHT_SCALE,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "subject_id",
            "early_icaht_grade",
            "early_icaht_rule",
            "late_icaht_grade",
            "late_icaht_rule",
            "n_anc_values",
            "scale",
        ],
    )
    for column in ("early_icaht_grade", "late_icaht_grade"):
        frame[column] = frame[column].astype("Int64")
    return frame


__all__ = ["GradedEpisodes", "crs_episodes", "icaht", "icans_episodes", "lab_grades"]
