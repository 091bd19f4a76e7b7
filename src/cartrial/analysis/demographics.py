"""Demographics and baseline disease characteristics of the safety set, per dose level and overall.

Two datasets (population: safety set; denominator: the subjects of the group):

- `demographics_by_subject`: one row per infused subject with the value of every characteristic and where
  it comes from (no rule beyond arithmetic on the captured values; the relapse count and the baseline EDSS
  are the neuro engine's, taken from the analysis datasets `relapses_by_subject` and `edss_change`).
- `demographics`: the summary table of a clinical study report (ICH E3 §11.2): continuous characteristics
  as n, mean (SD), median (min-max); categorical ones as n (%) of the subjects with a value; for every
  characteristic the number missing, naming the subjects; a characteristic the store does not hold for
  anyone is shown as "not captured" (never dropped).

Characteristics (`CHARACTERISTICS`):

- age at infusion, completed years (`cartrial.protocol.completed_years`; from ``subjects.birth_date``, or
  1 January of ``birth_year`` when only the year is captured, which gives the year difference);
- sex (``subjects.sex``); weight at screening, kg (``subjects.weight_kg``);
- disease duration at infusion, years (day 0 − ``subjects.diagnosis_date``, days / 365.25);
- prior immunosuppressants: entries of ``subjects.treatment_history`` whose ``therapy_classes`` include
  ``immunosuppressant`` (`cartrial.protocol.TherapyClass`), count and any/none;
- relapses in the pre-infusion window (`cartrial.neuro.RelapseOptions.pre_window_months`, 24 calendar months
  by default; `relapses_by_subject.pre_attacks`);
- baseline EDSS (`edss_change.baseline_edss`, last EDSS on or before day 0 not during a relapse (D-19.864),
  Neurostatus scoring);
- AQP4-IgG titre at screening (``subjects.aqp4_igg_titre``; categories in dilution order, and the median
  and range of the reciprocal titre, `cartrial.neuro.parse_titre_step`, each stored titre read once and
  an unreadable one refused by its record, D-19.631; a titre positive at the top dilution, ">=1:1000" or
  the series' last "1:10000", is a lower bound: a minimum, median or maximum it can raise is written "≥",
  `_lower_bounds`, D-19.632) and serostatus.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset, Population, stored_record
from cartrial.analysis.populations import SAFETY, dose_levels, infusion_dates, protocol_levels
from cartrial.analysis.stats import category_counts, continuous_summary, fixed
from cartrial.analysis.summaries import ALL, dose_level_groups

YEAR_DAYS = 365.25
"""Days per year for durations in years (Julian year)."""


@dataclass(frozen=True)
class Characteristic:
    """One row group of the table: the per-subject column, its kind, label, unit and source."""

    column: str
    label: str
    kind: str  # "continuous" | "categorical"
    source: str
    levels: tuple[str, ...] = ()
    decimals: int = 0
    """Decimals the data carry (age in whole years: 0; weight to 0.1 kg: 1): minimum and maximum are written
    with them, mean, SD and median with one more (D-19.232)."""
    show_mean: bool = True
    lower_bound_column: str = ""
    """Per-subject column flagging a value that is only a lower bound (a titre positive at the top dilution,
    ">=1:1000"): a minimum, median or maximum it can raise is written "≥" (`_lower_bounds`, D-19.632)."""


def _age(subjects: pd.DataFrame, day0: Mapping[str, dt.date]) -> dict[str, int | None]:
    from cartrial.errors import InputError, Problem
    from cartrial.protocol import completed_years

    out: dict[str, int | None] = {}
    for row in subjects.to_dict("records"):
        sid = str(row["subject_id"])
        field = "birth_date" if str(row.get("birth_date") or "") else "birth_year"
        # a stored birth the age cannot use (after the infusion, or no year: a record the store's checks
        # never let in) is named by its record, not by the infusion date the engine compares it with, nor
        # its value (D-12.2, D-19.542)
        with stored_record("subject", row.get("record_id"), field):
            born: dt.date | None = None
            try:
                if field == "birth_date":
                    born = dt.date.fromisoformat(str(row["birth_date"])[:10])
                elif str(row.get("birth_year") or ""):
                    born = dt.date(int(float(row["birth_year"])), 1, 1)
            except (TypeError, ValueError, OverflowError):
                raise InputError(Problem("not a date" if field == "birth_date" else "not a year")) from None
            if born is not None and sid in day0 and born > day0[sid]:
                raise InputError(Problem("after the infusion day", allowed="on or before the infusion day"))
        out[sid] = completed_years(born, day0[sid]) if born is not None and sid in day0 else None
    return out


def _float(value: Any) -> float | None:
    text = str(value if value is not None else "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _immunosuppressants(text: str) -> int | None:
    """Number of entries of a stored treatment history (JSON list of `TreatmentRecord`-like dicts) that are
    immunosuppressants; None when no history was captured."""
    if not text.strip():
        return None
    try:
        history = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(history, list):
        return None
    agents = {
        str(item.get("agent", "")).strip().lower()
        for item in history
        if isinstance(item, dict) and "immunosuppressant" in (item.get("therapy_classes") or [])
    }
    return len(agents)


def _screening_titres(subjects: pd.DataFrame) -> dict[str, Any]:
    """Each subject's screening titre (``subjects.aqp4_igg_titre``) read once by the titre rule
    (`cartrial.neuro.parse_titre_step`, D-19.631): a `cartrial.neuro.Titre` by subject id, None when blank.
    A stored titre the rule refuses ("1:7", off the series; "<1:32", not a titre: put in with SQL or by an
    older version) is an `InputError` naming ``subject record <id>, aqp4_igg_titre`` without the value
    (`stored_record`; D-12.2, D-19.542), every such titre at once: the analysis is refused, never run with the
    titre counted as missing (D-19.543)."""
    from cartrial.errors import InputError
    from cartrial.neuro import parse_titre_step

    out: dict[str, Any] = {}
    problems = []
    for row in subjects.to_dict("records"):
        sid = str(row["subject_id"])
        text = str(row.get("aqp4_igg_titre") or "")
        out[sid] = None
        if not text.strip():
            continue
        try:
            with stored_record("subject", row.get("record_id"), "aqp4_igg_titre"):
                out[sid] = parse_titre_step(text)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return out


def _titre_levels(per_subject: pd.DataFrame) -> tuple[str, ...]:
    """Distinct screening titres as stored, in dilution order (negative first; at one dilution the exact
    titre before the one positive at the top, ">=1:1000"), from the titres `_screening_titres` read."""
    known = {
        (float(r), bool(t), str(v))
        for v, r, t in zip(
            per_subject["aqp4_igg_titre"],
            per_subject["aqp4_igg_titre_reciprocal"],
            per_subject["aqp4_igg_titre_at_top"],
            strict=True,
        )
        if v is not None and not pd.isna(v)
    }
    return tuple(v for _, _, v in sorted(known))


def demographics_by_subject(
    tables: Mapping[str, pd.DataFrame],
    populations: Mapping[str, Population],
    datasets: Mapping[str, Dataset],
) -> pd.DataFrame:
    """One row per safety-set subject: dose level and the value of every characteristic (None = missing)."""
    from cartrial.neuro import titre_reciprocal

    safety_ids = list(populations[SAFETY].subject_ids)
    day0 = infusion_dates(tables["infusions"])
    levels = dose_levels(tables["infusions"])
    subjects = tables["subjects"]
    subjects = subjects[subjects["subject_id"].isin(safety_ids)]
    record = {str(r["subject_id"]): r for r in subjects.to_dict("records")}
    age = _age(subjects, day0)
    screening = _screening_titres(subjects)

    def column(frame_name: str, name: str) -> dict[str, Any]:
        dataset = datasets.get(frame_name)
        if dataset is None or name not in dataset.table:
            return {}
        table = dataset.table.drop_duplicates("subject_id")
        return {str(s): v for s, v in zip(table["subject_id"], table[name], strict=True)}

    relapses = column("relapses_by_subject", "pre_attacks")
    edss = column("edss_change", "baseline_edss")
    rows: list[dict[str, Any]] = []
    for sid in safety_ids:
        own = record.get(sid, {})
        diagnosed = str(own.get("diagnosis_date") or "")
        duration = (
            round((day0[sid] - dt.date.fromisoformat(diagnosed[:10])).days / YEAR_DAYS, 4)
            if diagnosed
            else None
        )
        n_immuno = _immunosuppressants(str(own.get("treatment_history") or ""))
        titre = screening.get(sid)
        rel = relapses.get(sid)
        base_edss = _float(edss.get(sid))
        rows.append(
            {
                "subject_id": sid,
                "dose_level": levels.get(sid),
                "infusion_date": day0[sid].isoformat(),
                "age_years": age.get(sid),
                "sex": str(own.get("sex") or "") or None,
                "weight_kg": _float(own.get("weight_kg")),
                "disease_duration_years": duration,
                "prior_immunosuppressants": n_immuno,
                "any_prior_immunosuppressant": None if n_immuno is None else ("yes" if n_immuno else "no"),
                "relapses_pre_window": None if rel is None or pd.isna(rel) else int(rel),
                "baseline_edss": base_edss,
                "aqp4_igg_status": str(own.get("aqp4_igg_status") or "") or None,
                "aqp4_igg_titre": None if titre is None else str(own.get("aqp4_igg_titre")),
                "aqp4_igg_titre_reciprocal": None if titre is None else titre_reciprocal(titre),
                "aqp4_igg_titre_at_top": None if titre is None else titre.at_top,
            }
        )
    frame = pd.DataFrame(rows)
    for name in ("dose_level", "age_years", "prior_immunosuppressants", "relapses_pre_window"):
        frame[name] = frame[name].astype("Int64")
    return frame


def characteristics(pre_window_months: int, titre_levels: tuple[str, ...]) -> tuple[Characteristic, ...]:
    """The rows of the table, in display order, with their sources."""
    return (
        Characteristic(
            "age_years",
            "Age at infusion, years",
            "continuous",
            "subjects.birth_date or birth_year (1 January) to day 0; cartrial.protocol.completed_years",
        ),
        Characteristic("sex", "Sex", "categorical", "subjects.sex", ("F", "M")),
        Characteristic(
            "weight_kg", "Weight at screening, kg", "continuous", "subjects.weight_kg", decimals=1
        ),
        Characteristic(
            "disease_duration_years",
            "Disease duration at infusion, years",
            "continuous",
            "day 0 minus subjects.diagnosis_date, days / 365.25",
            decimals=1,
        ),
        Characteristic(
            "prior_immunosuppressants",
            "Prior immunosuppressants, number of agents",
            "continuous",
            "subjects.treatment_history entries with therapy class immunosuppressant",
        ),
        Characteristic(
            "any_prior_immunosuppressant",
            "Any prior immunosuppressant",
            "categorical",
            "subjects.treatment_history entries with therapy class immunosuppressant",
            ("yes", "no"),
        ),
        Characteristic(
            "relapses_pre_window",
            f"Relapses in the {pre_window_months} months before infusion",
            "continuous",
            "relapses_by_subject.pre_attacks (cartrial.neuro.derive_relapses, pre_window_months="
            f"{pre_window_months})",
        ),
        Characteristic(
            "baseline_edss",
            "Baseline EDSS",
            "continuous",
            "edss_change.baseline_edss (cartrial.neuro: last EDSS on or before day 0, outside a relapse "
            "unless analysis.options.edss_baseline_visit is last; D-19.864)",
            decimals=1,
        ),
        Characteristic(
            "aqp4_igg_status", "AQP4-IgG serostatus at screening", "categorical", "subjects.aqp4_igg_status"
        ),
        Characteristic(
            "aqp4_igg_titre",
            "AQP4-IgG titre at screening",
            "categorical",
            "subjects.aqp4_igg_titre (dilution order)",
            titre_levels,
        ),
        Characteristic(
            "aqp4_igg_titre_reciprocal",
            "AQP4-IgG titre at screening, reciprocal dilution",
            "continuous",
            "subjects.aqp4_igg_titre (cartrial.neuro.parse_titre_step)",
            decimals=0,
            show_mean=False,
            lower_bound_column="aqp4_igg_titre_at_top",
        ),
    )


def _fmt(value: float | None, decimals: int) -> str:
    return "" if value is None else fixed(value, decimals)


def _lower_bounds(values: pd.Series, flags: pd.Series | None) -> dict[str, str]:
    """ "≥" for the minimum, median and maximum that are only lower bounds (D-19.632), else "". A value
    flagged in `flags` is only a lower bound of its true value, which may exceed every exact value. Sorted by
    value, a lower bound after an exact value equal to it: the minimum is a lower bound when the smallest
    value is one; the maximum when any value is one (its true value may be the largest); the median when a
    lower bound sorts at or before the upper middle position and its true value can move the middle values:
    with every lower bound raised without limit the middle values differ (a lower bound after the upper
    middle, or one whose rise only an equal exact value takes its place, leaves the median exact)."""
    marks = {"minimum": "", "median": "", "maximum": ""}
    if flags is None:
        return marks
    items = sorted(
        (float(v), bool(f) if f is not None and not pd.isna(f) else False)
        for v, f in zip(values, flags, strict=True)
        if v is not None and not pd.isna(v)
    )
    if not items:
        return marks
    n = len(items)
    middle = slice((n - 1) // 2, n // 2 + 1)
    raised = sorted(float("inf") if f else v for v, f in items)
    marks["minimum"] = "≥" if items[0][1] else ""
    marks["maximum"] = "≥" if any(f for _, f in items) else ""
    marks["median"] = "≥" if [v for v, _ in items[middle]] != raised[middle] else ""
    return marks


def _cells(spec: Characteristic, part: pd.DataFrame) -> list[tuple[str, str]]:
    """(statistic, text) rows of one characteristic in one group."""
    values = part[spec.column]
    missing = sorted(
        str(s) for s, v in zip(part["subject_id"], values, strict=True) if v is None or pd.isna(v)
    )
    missing_text = f"{len(missing)}" + (f" ({', '.join(missing)})" if missing else "")
    if spec.kind == "continuous":
        summary = continuous_summary(None if pd.isna(v) else float(v) for v in values)
        # the data's decimals for minimum and maximum, one more for mean, SD and median (D-19.232)
        d = spec.decimals
        bound = _lower_bounds(values, part.get(spec.lower_bound_column) if spec.lower_bound_column else None)
        sd = _fmt(summary.sd, d + 1) if summary.sd is not None else "-"
        rows = [("n", str(summary.n))]
        if summary.n:
            if spec.show_mean:
                rows.append(("mean (SD)", f"{_fmt(summary.mean, d + 1)} ({sd})"))
            rows += [
                (
                    "median (min-max)",
                    f"{bound['median']}{_fmt(summary.median, d + 1)} "
                    f"({bound['minimum']}{_fmt(summary.minimum, d)}"
                    f"-{bound['maximum']}{_fmt(summary.maximum, d)})",
                ),
            ]
        return [*rows, ("missing", missing_text)]
    present = [None if v is None or pd.isna(v) else str(v) for v in values]
    counts = category_counts(present, spec.levels)
    n = sum(k for _, k, _ in counts)
    rows = [("n", str(n))]
    rows += [(level, f"{k} ({fixed(pct, 1)} %)" if n else "0") for level, k, pct in counts]
    return [*rows, ("missing", missing_text)]


def demographics_table(
    per_subject: pd.DataFrame, specs: Sequence[Characteristic], levels: Sequence[int] = ()
) -> pd.DataFrame:
    """The summary table: columns characteristic, statistic, one column per dose level, ``all``, source.

    The first row gives N (subjects in the group, the denominator). A characteristic missing for every
    subject of the safety set has a single row "not captured" naming the store field."""
    groups = dose_level_groups(per_subject, levels)  # every level of `levels`, N = 0 if undosed (D-19.108)
    names = [g for g, _ in groups]
    rows: list[dict[str, Any]] = [
        {
            "characteristic": "Subjects (safety set)",
            "statistic": "N",
            **{g: str(len(p)) for g, p in groups},
            "source": "infusions",
        }
    ]
    for spec in specs:
        values = per_subject[spec.column]
        if len(per_subject) and all(v is None or pd.isna(v) for v in values):
            rows.append(
                {
                    "characteristic": spec.label,
                    "statistic": "not captured",
                    **{g: f"not captured for any of {len(p)}" for g, p in groups},
                    "source": f"{spec.source} (blank for every subject)",
                }
            )
            continue
        per_group = {g: _cells(spec, p) for g, p in groups}
        statistics = [s for s, _ in per_group[ALL]]
        for position, statistic in enumerate(statistics):
            row: dict[str, Any] = {"characteristic": spec.label, "statistic": statistic}
            for g in names:
                cells = dict(per_group[g])
                row[g] = cells.get(statistic, "0" if position else "")
            row["source"] = spec.source
            rows.append(row)
    return pd.DataFrame(rows, columns=["characteristic", "statistic", *names, "source"])


def demographics_datasets(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    populations: Mapping[str, Population],
    datasets: Mapping[str, Dataset],
    outcomes: Collection[str] | None = None,
) -> dict[str, Dataset]:
    """`demographics_by_subject` and `demographics` (see the module docstring); the disease
    characteristics of an outcome the study does not collect (`outcomes`, D-19.61) are left out."""
    from cartrial.analysis.outcomes import CHARACTERISTIC_OUTCOME, DATASET_OUTCOME
    from cartrial.neuro.derive import relapse_options_from_protocol

    per_subject = demographics_by_subject(tables, populations, datasets)
    months = int(relapse_options_from_protocol(protocol).pre_window_months)
    specs = characteristics(months, _titre_levels(per_subject))
    if outcomes is not None:
        dropped = [c for c, o in CHARACTERISTIC_OUTCOME.items() if o not in outcomes]
        specs = tuple(s for s in specs if s.column not in dropped)
        per_subject = per_subject.drop(columns=dropped)
    table = demographics_table(per_subject, specs, protocol_levels(protocol))
    not_captured = [
        s.label
        for s in specs
        if (table["characteristic"] == s.label).any()
        and (table.loc[table["characteristic"] == s.label, "statistic"] == "not captured").all()
    ]
    notes = tuple(f"not captured in the store: {label}" for label in not_captured)
    sources = [
        d
        for d in ("relapses_by_subject", "edss_change")
        if outcomes is None or DATASET_OUTCOME[d] in outcomes
    ]
    describe: Callable[[str], str] = lambda c: next((s.source for s in specs if s.column == c), "")  # noqa: E731
    return {
        "demographics_by_subject": Dataset(
            "demographics_by_subject",
            "Demographics and baseline disease per subject (safety set)",
            per_subject,
            SAFETY,
            "cartrial.analysis.demographics.demographics_by_subject",
            ("subjects", "infusions", *sources),
            columns={c: describe(c) for c in per_subject.columns if describe(c)},
            notes=notes,
        ),
        "demographics": Dataset(
            "demographics",
            "Demographics and baseline disease characteristics per dose level and overall (safety set)",
            table,
            SAFETY,
            "cartrial.analysis.demographics.demographics_table (n, mean (SD), median (min-max); n (%))",
            ("demographics_by_subject",),
            columns={"source": "store field or analysis dataset the characteristic comes from"},
            notes=(
                "denominator of each percentage: subjects of the group with a value (missing shown apart)",
                *notes,
            ),
        ),
    }


__all__ = [
    "YEAR_DAYS",
    "Characteristic",
    "characteristics",
    "demographics_by_subject",
    "demographics_datasets",
    "demographics_table",
]
