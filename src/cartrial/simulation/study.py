"""One virtual trial written as the study's CSV import templates (docs/simulation.md §7).

`simulate_study(prepared, seed)` runs one trial through the same code as `simulate_trials` (screened pool,
kinetics, graded toxicity judged by the protocol's DLT rules, the escalation design, the expansion cohort,
relapses and EDSS) and returns one DataFrame per form with the template columns (`cartrial.templates`; the
same files `cartrial import templates` reads): sites, subjects, lymphodepletion (the protocol's regimen,
D-19.223), infusions, crs_assessments, icans_assessments, labs, adverse_events, edss, relapses, pk_samples,
pd_samples, escalation_decisions. Rows after the data cut-off or after a patient's dropout are not written;
the subjects form's disposition says which (withdrawn, completed or ongoing; D-19.92). A CRS of latent grade
5 is a death on the last day of its episode (`trials.death_days`): the adverse event is written fatal (grade
5, outcome fatal, ended on the day of death), nothing of the patient is dated after the death and the
disposition is death on that day (D-19.97).

Representative assessments: a CRS or ICANS episode of latent grade g is recorded daily with the assessment
of `models.crs_assessment(g)` / `models.icans_assessment(g)` (so the grading engine grades it g again);
cytopenias as neutrophil/platelet counts below the CTCAE grade 3/4 limits for the drawn duration; CAR-T
transgene with the Stein 2019 model and a log-normal residual error; AQP4-IgG titres from the PD model on
the cell-based assay grid (`cartrial.kinetics.titre_endpoint`).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cartrial.columns import utc_today
from cartrial.protocol import ToxicityCategory
from cartrial.protocol.seriousness import CRITERIA_FIELDS
from cartrial.simulation import models as m
from cartrial.simulation.population import FS_COLUMNS
from cartrial.simulation.trials import (
    DEATH_HOUR,
    FATAL_GRADE,
    FIXED_DLT_DAY,
    Prepared,
    _calendar,
    _efficacy,
    _escalate,
    consent_date,
    data_cutoff_date,
    death_days,
    decision_days,
    dosing_weight,
    draw_with_reserve,
    edss_visit_days,
    edss_visit_end,
    fs_at_visit,
    fs_changes,
    infusion_instant,
    last_day_followed,
    max_cohorts,
    observed_dlts,
    pd_sample_end,
    relapse_onset_days,
    reserve_slots,
    written_history_days,
)

SITE_ID = "SIM"
PD_DAYS = m.PD_DAYS  # the PD sampling days, the OC's too (D-19.1321)
LAB_DAYS = (-5, 0, 1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270, 365, 545, 730)
CRS_DAYS = 15  # daily CRS/ICANS assessments on days 0-14 (longer while an episode lasts)
LLN = {"neutrophils": 1.8, "platelets": 125.0}  # 10^9/L, typical adult reference limits [assumption]
ICE_ITEMS = {  # ICE total -> (orientation, naming, command, writing, attention)
    10: (4, 3, 1, 1, 1),
    8: (3, 3, 1, 1, 0),
    5: (2, 2, 1, 0, 0),
    1: (1, 0, 0, 0, 0),
}
#: Worse-eye Snellen acuity for each raw visual FS grade 0-6 (Kurtzke 1983 visual FS bands, the middle of
#: each band) [assumption, docs/simulation.md §7]; the better eye sees 20/20 (20/70 at grade 6).
VISUAL_FS_ACUITY = ("20/20", "20/25", "20/40", "20/70", "20/150", "20/400", "20/400")
#: Timed 25-foot walk: 5 s × exp(0.25 · pyramidal FS + 0.2 · ambulation score), unable from ambulation 10
#: [assumption, docs/simulation.md §7].
T25FW_BASE_SECONDS = 5.0

FORMS = (
    "sites",
    "subjects",
    "lymphodepletion",
    "infusions",
    "crs_assessments",
    "icans_assessments",
    "labs",
    "adverse_events",
    "edss",
    "visual_acuity",
    "timed_walk",
    "relapses",
    "pk_samples",
    "pd_samples",
    "escalation_decisions",
)


#: pd_samples columns the simulator models: the AQP4-IgG end-point titre of the PD model and its assay. The
#: other PD analytes a protocol may collect (B cells, BCMA+ plasma cells, IgG/IgA/IgM) are not simulated; a
#: run names them (`SimulatedStudy.summary["not_simulated"]`, D-19.81).
SIMULATED_PD_COLUMNS: tuple[str, ...] = ("aqp4_igg_titre", "aqp4_igg_assay")

#: CRS management is not drawn: no therapies form (tocilizumab, corticosteroids). The reference study does not
#: report its rates (../shared/reference/ct103a-nmosd-trial.md §7: per-patient tocilizumab/steroid use "not
#: retrieved"), so there is nothing to draw it from; an analysis of the imported study reports CRS treatment
#: as not recorded, not 0, when the study is created with the protocol `virtual_study_protocol` writes
#: (`analysis.options.therapies_collected: false`, D-19.476, D-19.434), and the run says so
#: (`SimulatedStudy.summary["crs_management"]`, decisions D-19.393).
CRS_MANAGEMENT_NOT_SIMULATED = (
    "not simulated: no therapies form (tocilizumab, corticosteroids) is written, and the protocol.yaml "
    "written with the forms states analysis.options.therapies_collected: false, so an analysis of this study "
    "reports CRS treatment as not recorded"
)


def virtual_study_protocol(protocol_path: Path) -> str:
    """The YAML text of the protocol a virtual study is to be created with: the scenario's protocol
    (`protocol_path`, already validated) with `analysis.options.therapies_collected: false` — the study does
    not collect the therapies form, CRS management is not simulated (D-19.393, D-19.434). Comments of the
    original are not kept; a header says where it comes from."""
    data = yaml.safe_load(Path(protocol_path).read_text(encoding="utf-8"))
    analysis = data.setdefault("analysis", {}) or {}
    data["analysis"] = analysis
    options = analysis.get("options") or {}
    analysis["options"] = {**options, "therapies_collected": False}
    header = (
        f"# Written by cartrial simulate study from {Path(protocol_path).name}: the same protocol, with\n"
        "# analysis.options.therapies_collected: false (a virtual study does not simulate CRS management).\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _disposition(
    infused_at: dt.datetime,
    dropout_day: float,
    follow_up_days: float,
    days_to_cutoff: float,
    death_day: float = np.inf,
) -> dict[str, str]:
    """The subjects form's disposition and its date for a virtual patient at the cut-off
    (`cartrial.protocol.disposition`, D-19.92): death on the day of death when it came first, by the
    dropout, the end of the follow-up and the cut-off (D-19.97); withdrawn on the last whole day after the
    infusion before the dropout (the day of its last records, the day the escalation's DLT evaluation ends
    it, `trials.observed_dlts`, D-19.132) when it came first, completed on the last day of the protocol's
    follow-up when that was by the cut-off, else ongoing."""
    if death_day <= min(dropout_day, follow_up_days, days_to_cutoff):
        reason, day = "death", death_day
    elif dropout_day < min(follow_up_days, days_to_cutoff):
        reason, day = "withdrawn: simulated dropout", float(np.floor(dropout_day))
    elif follow_up_days <= days_to_cutoff:
        reason, day = "completed", follow_up_days
    else:
        return {"disposition": "ongoing", "disposition_date": ""}
    if reason.startswith("withdrawn"):  # whole days after the infusion day, whatever its time
        return {
            "disposition": reason,
            "disposition_date": (infused_at.date() + dt.timedelta(days=int(day))).isoformat(),
        }
    return {
        "disposition": reason,
        "disposition_date": (infused_at + dt.timedelta(days=day)).date().isoformat(),
    }


def _drop_uncollected(forms: dict[str, pd.DataFrame], collected: frozenset[str]) -> dict[str, list[str]]:
    """Leave out what the protocol does not collect (D-19.62): the form and the columns of an outcome whose
    assessment it does not collect (`analysis.outcomes`, read from the protocol's one declaration of where
    each assessment is recorded, `ASSESSMENT_RECORDS`, D-19.80) — a myasthenia gravis study has no EDSS, no
    visual acuity, no relapse form and no AQP4-IgG. Drawn all the same, so the random stream is unchanged.
    A PD form left with none of the analytes the simulator models (`SIMULATED_PD_COLUMNS`) is not written
    either: sample times without values.

    Returns what the protocol collects and the run does not write, form → columns (empty: the whole form)."""
    from cartrial.analysis.outcomes import COLUMN_OUTCOME, FORM_OUTCOME, OUTCOMES
    from cartrial.protocol.records import ASSESSMENT_RECORDS, form_columns

    left_out = {name for name, (assessment, _sources) in OUTCOMES.items() if assessment not in collected}
    for form, outcome in FORM_OUTCOME.items():
        if outcome in left_out:
            forms.pop(form, None)
    for form in list(forms):
        columns = [c for (f, c), outcome in COLUMN_OUTCOME.items() if f == form and outcome in left_out]
        forms[form] = forms[form].drop(columns=columns, errors="ignore")
    if "pd_samples" in forms and not set(SIMULATED_PD_COLUMNS) & set(forms["pd_samples"].columns):
        forms.pop("pd_samples")  # sample times without any value: no PD form
    not_simulated: dict[str, list[str]] = {}
    for form in dict.fromkeys(r.form for a, r in ASSESSMENT_RECORDS.items() if a in collected):
        wanted = form_columns(form, collected, describing=False)
        if form not in forms:
            not_simulated[form] = list(wanted)  # empty: the whole form
            continue
        missing = [c for c in wanted if c not in forms[form].columns]
        if missing:
            not_simulated[form] = missing
    return not_simulated


@dataclass(frozen=True)
class SimulatedStudy:
    """The forms of one virtual study (one DataFrame per template) and a short summary."""

    forms: dict[str, pd.DataFrame]
    summary: dict[str, Any]


def lymphodepletion_rows(
    protocol: Any, sid: str, infused_local: dt.datetime, weight_kg: float, height_cm: float
) -> list[dict[str, Any]]:
    """The lymphodepletion form of one virtual patient (D-19.223): the protocol's regimen
    (`Protocol.lymphodepletion`), one row per agent and protocol day, dated from the infusion's day on the
    site's calendar (`infused_local`: the infusion instant on the site's clock; the day 0 of the store's
    LYMPHODEPLETION-DAY check, D-19.607, D-19.857), dosed by `cartrial.protocol.lymphodepletion_doses` on
    the weight and height the subjects form records (BSA by the protocol's formula, its cap and each agent's
    daily cap). No creatinine clearance is simulated: the renal tiers are not applied (full dose). Empty for
    a protocol without a regimen. The form carries the dose per m² and in mg to 0.1 mg and the BSA to
    0.01 m², as a pharmacy records them."""
    from cartrial.protocol import lymphodepletion_doses

    if protocol.lymphodepletion is None:
        return []
    plan = lymphodepletion_doses(protocol, weight_kg=weight_kg, height_cm=height_cm)
    day0 = infused_local.date()  # the site's date, not the UTC one (D-19.857)
    return [
        {
            "subject_id": sid,
            "drug": dose.agent,
            "administered_on": (day0 + dt.timedelta(days=dose.day)).isoformat(),
            "day_relative_to_infusion": dose.day,
            "dose_mg_per_m2": dose.dose_mg_per_m2,
            "dose_mg": round(dose.dose_mg, 1),
            "body_surface_area_m2": round(plan.bsa_m2, 2),
        }
        for dose in sorted(plan.doses, key=lambda d: (d.day, d.agent))
        if dose.dose_mg > 0
    ]


def _iso(moment: dt.datetime) -> str:
    """The instant `moment` (timezone-aware) as the templates store it: UTC, ``Z``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


#: The clock hour (site time) of each assessment on its study day; on day 0, an assessment after the
#: infusion (CRS and ICANS monitoring) is after the infusion instant and the pre-infusion baseline labs
#: (the usual SAP baseline is pre-dose; `cartrial.analysis.safety.pre_treatment` counts a lab of the start
#: day as pre-dose) before it (`assessment_time`, D-19.856).
HOURS = {"labs": 7, "edss": 9, "crs": DEATH_HOUR, "icans": 11}
#: The longest gap between the infusion and a day-0 assessment timed by the infusion instant.
DAY0_GAP = dt.timedelta(hours=1)


def assessment_time(
    infused_local: dt.datetime, day: float, hour: int, *, pre_infusion: bool = False
) -> dt.datetime:
    """The instant (timezone-aware, the site's clock) of an assessment on study day `day` (whole days after
    the infusion's site day: the date of infusion + `day` on the site's clock) at `hour` o'clock site time
    (D-19.856). On day 0 an assessment the protocol places after the infusion is after the infusion instant
    (at the latest of `hour` and the infusion + up to an hour, on the infusion's site day) and a
    pre-infusion baseline (`pre_infusion`) before it (at the earliest of `hour` and the infusion − up to an
    hour, on that day): an afternoon infusion no longer has its day-0 CRS assessment timed before it.

    >>> import zoneinfo
    >>> at = dt.datetime(2021, 4, 1, 15, 30, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    >>> assessment_time(at, 0, 10).isoformat(), assessment_time(at, 0, 7, pre_infusion=True).isoformat()
    ('2021-04-01T16:30:00+08:00', '2021-04-01T07:00:00+08:00')
    >>> assessment_time(at, 0, 16, pre_infusion=True).isoformat(), assessment_time(at, 2, 10).isoformat()
    ('2021-04-01T14:30:00+08:00', '2021-04-03T10:00:00+08:00')
    """
    zone = infused_local.tzinfo
    assert zone is not None

    def real(wall: dt.datetime) -> dt.datetime:
        """A wall-clock time of the site as an instant (UTC): a time in a spring-forward gap is read with
        the offset before the change, so it is the first instant after the gap (D-19.860)."""
        return wall.astimezone(dt.UTC)

    date = (infused_local + dt.timedelta(days=float(day))).date()
    moment = real(dt.datetime.combine(date, dt.time(hour), tzinfo=zone))
    if date != infused_local.date():
        return moment.astimezone(zone)
    # day 0: the gap arithmetic on elapsed (UTC) time — wall-clock arithmetic within one zone ignores a DST
    # change, and a baseline 1 hour before 02:20 BST (2021-03-28) was 01:20 GMT, the infusion instant
    infused = real(infused_local)
    start = real(dt.datetime.combine(date, dt.time(0), tzinfo=zone))
    end = real(dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=zone))
    if pre_infusion:
        chosen = moment if moment < infused else infused - min(DAY0_GAP, (infused - start) / 2)
    else:
        chosen = moment if moment > infused else infused + min(DAY0_GAP, (end - infused) / 2)
    return chosen.astimezone(zone)


def _anc(day: float, baseline: float, grade: int, days: int, nadir: dict[int, float], floor: float) -> float:
    """A count course: baseline before infusion, at the grade's nadir for `days` days from day 1, then a
    recovery towards baseline over 30 days (linear) [assumption, docs/simulation.md §4.3]. Day 0 is never
    below the recovery floor unless the baseline is (a grade >= 3 run starts on day 1, D-19.136)."""
    if day < 0:
        return baseline
    low = nadir.get(grade, floor)
    end = 1 + max(days, 0) if grade >= 3 else 1
    if day == 0:
        # before the nadir: not below the recovery floor (nor the baseline), so the run starts on day 1
        return max(baseline * 0.7, low if grade < 3 else min(floor, baseline))
    if 1 <= day < end:
        return low
    start = floor if grade >= 3 else low
    weight = min(1.0, (day - end) / 30.0)
    return start + (baseline - start) * max(weight, 0.0)


COUNT_COURSES = {  # analyte -> (nadir value per CTCAE grade, recovery floor), 10^9/L [assumption, §4.3]
    "neutrophils": ({3: 0.7, 4: 0.3}, 1.2),
    "platelets": ({3: 40.0, 4: 18.0}, 90.0),
}


def lab_course(analyte: str, baseline: float, grade: int, days: int) -> list[tuple[int, float]]:
    """(day, written value) of one analyte's haematology results: the scheduled `LAB_DAYS` and, after a
    cytopenia of grade >= 3 lasting `days` whole days from day 1, the result of the day it ends (day 1 +
    `days`, the first below grade 3). The analysis's run (`cartrial.grading.lab_runs`: from the first
    result at grade >= 3 to the first later result below it) then lasts exactly the `days` the simulator
    judged, whatever the schedule (D-19.136)."""
    nadir, floor = COUNT_COURSES[analyte]
    schedule = sorted({*LAB_DAYS, 1 + days}) if grade >= 3 else list(LAB_DAYS)
    digits = 2 if analyte == "neutrophils" else 0
    return [(day, round(_anc(day, baseline, grade, days, nadir, floor), digits)) for day in schedule]


def history_onsets(infusion_day: dt.date, days_before: list[int]) -> list[dt.date]:
    """The dated pre-treatment relapse history of a virtual patient infused on `infusion_day` (the site's
    calendar): each onset `days_before` (`trials.written_history_days`: the drawn history dated back from
    the consent, then the onsets between the consent and the infusion; D-19.876) that many days before the
    infusion day, oldest first. The eligibility screen judged the drawn history as of the consent, so every
    written patient meets the relapse criteria at its written consent date; the protocol's ARR window (the
    ``pre_window_months`` (24) calendar months before the infusion, `cartrial.neuro.annualised_relapse_rates`)
    holds the drawn onsets of the last 730 − gap days before the consent and the interval's onsets, drawn at
    the patient's rate after selection (× `efficacy.regression_to_mean`), so the analysis estimates the
    OC's `arr_pre` (`trials.expected_pre_arr`; D-19.854, D-19.880).

    >>> [d.isoformat() for d in history_onsets(dt.date(2022, 3, 1), [1, 730])]
    ['2020-03-01', '2022-02-28']
    """
    return [infusion_day - dt.timedelta(days=int(d)) for d in sorted(days_before, reverse=True)]


def simulate_study(prepared: Prepared, seed: int = 0, today: dt.date | None = None) -> SimulatedStudy:
    """One virtual trial as import templates (see the module docstring). Deterministic for `seed`.
    `summary["after_today"]` (`today`: default the UTC date now) says whether the study can be imported
    today (`dates_after_today`)."""
    from cartrial.escalation import design_decision
    from cartrial.grading.ctcae import ctcae_term
    from cartrial.kinetics.models import observed_levels
    from cartrial.kinetics.pd import titre_endpoint

    sc = prepared.scenario
    children = np.random.SeedSequence(seed).spawn(4)
    rng = np.random.default_rng(children[2])
    size = int(prepared.design.cohort_size)
    cohorts = max_cohorts(prepared)
    from cartrial.escalation.behaviours import BehavingDesign

    expansion = prepared.design.expansion if isinstance(prepared.design, BehavingDesign) else None
    slots = cohorts * size + (expansion.n_patients if expansion is not None else 0)
    # replacement patients (D-19.132) from their own stream: the other draws are those of a study without
    draws = draw_with_reserve(
        prepared, rng, np.random.default_rng(children[3]), 1, slots, reserve_slots(prepared, cohorts, size)
    )
    slot_dose, cohort_of, _mtd, _safety, _n, _y, _reason = _escalate(prepared, draws, 1, size, cohorts)
    infusion = _calendar(prepared, draws, slot_dose, cohort_of, cohorts)
    follow = np.minimum(draws.dropout_days, sc.follow_up_days)
    last_infusion = float(np.nanmax(np.where(slot_dose >= 0, infusion, -np.inf)))
    cutoff = sc.data_cutoff_day if sc.data_cutoff_day is not None else last_infusion + sc.follow_up_days
    follow = np.minimum(follow, np.maximum(cutoff - np.nan_to_num(infusion), 0.0))
    follow = np.where(slot_dose >= 0, follow, np.nan)
    start = dt.datetime.combine(dt.date.fromisoformat(sc.accrual.start_date), dt.time(8, 0), tzinfo=dt.UTC)
    # the calendar must stay within dates Python can write (year 9999): 100,000 expansion patients at 2
    # candidates a month ended in an OverflowError traceback after minutes of work
    room = (dt.date.max - start.date()).days - 366
    if not np.isfinite(cutoff) or cutoff + 2 * sc.follow_up_days > room:
        from cartrial.errors import InputError, Problem

        raise InputError(
            Problem(
                "the simulated study runs past the year 9999 (accrual start_date, enrolment and follow-up)",
                field="expansion_patients",
                value=expansion.n_patients if expansion is not None else None,
                allowed="fewer patients (--expansion-patients), a faster accrual (candidates_per_month), "
                "a shorter stagger (protocol escalation.stagger_days) or an earlier accrual start_date",
            )
        )
    # the records are drawn for the patient's follow-up as if alive (so the random stream of every patient
    # is the one without deaths) and those dated after a death are then left out (`_end_at_deaths`, D-19.97)
    death = death_days(draws, slot_dose)
    # the EDSS visits written: by the end of follow-up and the death's site day, the OC's rule (D-19.1223)
    visit_end = edss_visit_end(sc, follow, death, infusion)
    # the PD samples written: by the end of follow-up and, for a death, the last sample before its record
    # (`pd_sample_end`, the OC's rule, D-19.1323)
    pd_end = pd_sample_end(sc, follow, death, infusion)
    eff = _efficacy(prepared, draws, slot_dose, follow, infusion, visit_end, death)
    died_at: dict[str, tuple[float, dt.datetime]] = {}  # subject → (day of death, its moment)
    cov = prepared.eligible
    infused = (slot_dose[0] >= 0) & (np.nan_to_num(infusion[0], nan=np.inf) <= cutoff)
    order = [int(s) for s in np.argsort(np.where(infused, infusion[0], np.inf)) if infused[s]]
    if not order:
        from cartrial.errors import InputError, Problem

        raise InputError(
            Problem(
                "no virtual patient is infused by the data cut-off",
                field="data_cutoff_day",
                value=cutoff,
                allowed="a cut-off after the first infusion",
            )
        )
    width = max(3, len(str(len(order))))
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in FORMS}
    # no regimen (nobody is lymphodepleted), or a form the protocol does not collect (D-19.62): not computed
    # (no random draw, so the stream is the same either way; D-19.314)
    if prepared.protocol.lymphodepletion is None or "lymphodepletion" not in (
        prepared.protocol.collected_assessments
    ):
        rows.pop("lymphodepletion")
    rows["sites"].append(
        {
            "site_id": SITE_ID,
            "name": "Virtual site (simulated data)",
            "country": sc.accrual.site_country,
            "time_zone": sc.accrual.site_time_zone,
        }
    )
    neut_term, plt_term = ctcae_term("neutrophils"), ctcae_term("platelets")
    ids: dict[int, str] = {}
    t_idx = np.zeros(len(order), dtype=np.int64)
    s_idx = np.array(order, dtype=np.int64)
    pools = draws.pool_index[0, s_idx]
    ends = np.array([float(follow[0, s]) for s in order])
    antibody_end = prepared.antibody[pools, slot_dose[0, s_idx], np.clip(ends.astype(np.int64), 0, None)]
    fell = np.log10(antibody_end) <= -sc.pd.titre_fall_steps
    changes = fs_changes(prepared, draws, t_idx, s_idx, fell)
    relapse_counts = eff["relapse_events"][0, s_idx].astype(np.int64)
    # relapse onsets: the OC's own (`relapse_onset_days`, the slot's seed), so the attacks the analysis
    # counts after the infusion are the OC's `relapses` (D-19.858)
    relapse_days = [
        relapse_onset_days(
            prepared.cum_hazard_days[pools[j], slot_dose[0, s]],
            float(ends[j]),
            int(relapse_counts[j]),
            int(draws.relapse_seed[0, s]),
        )
        for j, s in enumerate(order)
    ]
    pk_limited = 0  # PK observations above MAX_CONCENTRATION, written as it (D-19.606)
    for j, s in enumerate(order):
        sid = f"SIM-{j + 1:0{width}d}"
        ids[s] = sid
        p = int(pools[j])
        k = int(slot_dose[0, s])
        day0 = float(infusion[0, s])
        infused_at = start + dt.timedelta(days=day0)
        infused_local = infusion_instant(sc, day0)  # the infusion on the site's clock: study day 0
        follow_end = float(follow[0, s])
        death_day = float(death[0, s])
        died = death_day <= follow_end  # the death is seen: before the dropout, follow-up end and cut-off
        v2v = float(draws.vein_to_vein_days[0, s])
        consent = consent_date(infused_local, v2v)  # the screen's date (D-19.876)
        weight = dosing_weight(cov.weight_kg[p])
        # the protocol's dose for this weight (`dose_for`: rounding, then the level's cap), computed once in
        # `prepare`; the CRF records the delivered cells/kg (templates: "actual dose"), which drives the PK
        cells = float(prepared.delivered_cells_per_kg[p, k])
        total_cells = float(prepared.total_cells[p, k])
        height = round(float(cov.height_cm[p]), 0)
        birth_year = consent.year - int(cov.age_years[p]) - 1
        rows["subjects"].append(
            {
                "subject_id": sid,
                "site_id": SITE_ID,
                "screening_number": f"S-{j + 1:0{width}d}",
                "consent_date": consent.isoformat(),
                "sex": "F" if cov.female[p] else "M",
                "birth_year": birth_year,
                "weight_kg": weight,
                "height_cm": height,
                "aqp4_igg_status": "positive",
                "aqp4_igg_titre": f"1:{int(cov.aqp4_titre[p])}",
                **_disposition(
                    infused_local,
                    float(draws.dropout_days[0, s]),
                    sc.follow_up_days,
                    cutoff - day0,
                    death_day,
                ),
            }
        )
        if "lymphodepletion" in rows:
            rows["lymphodepletion"].extend(
                lymphodepletion_rows(prepared.protocol, sid, infused_local, weight, height)
            )
        rows["infusions"].append(
            {
                "subject_id": sid,
                "dose_level": k + 1,
                "infused_at": _iso(infused_at),
                "weight_kg": weight,
                "cells_per_kg": round(cells),
                "total_car_t_cells": round(total_cells),
                "product_lot": f"SIM-L{j + 1:0{width}d}",
                "viability_pct": 90,
            }
        )

        def when(
            day: float, hour: int = HOURS["crs"], infused_local: dt.datetime = infused_local
        ) -> dt.datetime:
            """An assessment after the infusion on study day `day` at `hour`, site time (D-19.856)."""
            return assessment_time(infused_local, day, hour)

        def visible(day: float, follow_end: float = follow_end) -> bool:
            return day <= follow_end

        # the last day the patient is followed, to the dropout, the end of follow-up, the cut-off or the
        # death (`follow_end` is not to the death), by the OC's one rule (D-19.1026)
        last_day = float(last_day_followed(min(follow_end, death_day)))

        def observed(first_day: int, span: int, last_day: float = last_day) -> tuple[int, bool]:
            """The days of an event from `first_day` lasting `span` days seen by the last day followed, and
            whether it ended by then; one still running is written open and judged on its days so far,
            as the escalation's committee judges it (`trials.judged_dlts`, D-19.161)."""
            return int(min(span, last_day - first_day)), first_day + span <= last_day

        if died:
            died_at[sid] = (death_day, when(death_day))  # the CRS assessment recording the death

        # CRS and ICANS: daily assessments, the latent grade's representative assessment during the episode
        crs_grade = int(draws.crs[0, s, k])
        crs_on, crs_len = int(draws.crs_onset[0, s]), int(draws.crs_duration[0, s])
        icans_grade = int(draws.icans[0, s, k])
        ic_on, ic_len = int(draws.icans_onset[0, s]), int(draws.icans_duration[0, s])
        # the assessment schedule's last day (not `last_day`, the last day followed, which the adverse
        # events below are judged by: reusing the name wrote events starting after a dropout; D-19.877)
        last_scheduled = max(
            CRS_DAYS - 1, crs_on + crs_len if crs_grade else 0, ic_on + ic_len if icans_grade else 0
        )
        crs_fatal = crs_grade >= FATAL_GRADE
        for day in range(0, last_scheduled + 1):
            if not visible(day):
                break
            g = crs_grade if crs_grade and crs_on <= day < crs_on + crs_len else 0
            if crs_fatal and g and day < death_day:
                g = FATAL_GRADE - 1  # a fatal CRS runs its grade-4 course until the day of death
            a = m.crs_assessment(g)
            rows["crs_assessments"].append(
                {
                    "subject_id": sid,
                    "assessed_at": _iso(when(day)),
                    "temperature_c": a["temperature_c"],
                    "fever_masked": "false",
                    "hypotension": str(a["hypotension"]).lower(),
                    "vasopressors": a["vasopressors"],
                    "vasopressin": "false",
                    "oxygen": "none",
                    "oxygen_l_min": "",
                    "death_due_to_crs": str(a["death_due_to_crs"]).lower(),
                    "fever_other_cause": "false",
                    "crs_resolved": str(
                        bool(crs_grade) and not crs_fatal and day == crs_on + crs_len
                    ).lower(),
                }
            )
            gi = icans_grade if icans_grade and ic_on <= day < ic_on + ic_len else 0
            b = m.icans_assessment(gi)
            items = ICE_ITEMS.get(b["ice_total"]) if b["ice_total"] is not None else None
            rows["icans_assessments"].append(
                {
                    "subject_id": sid,
                    "assessed_at": _iso(when(day, HOURS["icans"])),
                    "ice_orientation": items[0] if items else "",
                    "ice_naming": items[1] if items else "",
                    "ice_command": items[2] if items else "",
                    "ice_writing": items[3] if items else "",
                    "ice_attention": items[4] if items else "",
                    "ice_total": "",
                    "consciousness": b["consciousness"],
                    "seizure": "none",
                    "motor": "none",
                    "cerebral_edema": "none",
                }
            )
        related = sc.toxicity.relatedness
        mechanistic = sc.toxicity.fixed_dlt_probability is None

        def is_dlt(
            category: ToxicityCategory,
            term: str,
            grade: int,
            onset: int,
            days: int,
            mechanistic: bool = mechanistic,
        ) -> bool:
            """The protocol's DLT verdict for this event (the same judge the escalation used)."""
            verdict = prepared.judge.judge(
                category, term, np.array([grade]), np.array([onset]), np.array([days])
            )
            return mechanistic and bool(verdict[0])

        flagged = False
        for term, category, grade, first_day, span in (
            (m.CRS_TERM, ToxicityCategory.CRS, crs_grade, crs_on, crs_len),
            (m.ICANS_TERM, ToxicityCategory.ICANS, icans_grade, ic_on, ic_len),
        ):
            if not grade or first_day > last_day:
                continue
            seen_days, over = observed(first_day, span)
            ended: dt.datetime | None = when(first_day + span) if over else None
            outcome = "recovered" if over else "not_recovered"
            if grade >= FATAL_GRADE:
                if died:  # the death: ended on the day of death (its date, D-19.83), outcome fatal
                    ended, outcome = when(death_day), "fatal"
                else:  # a death after the cut-off or the dropout is not seen: grade 4, not recovered
                    grade, ended, outcome = FATAL_GRADE - 1, None, "not_recovered"
            event_dlt = is_dlt(category, term, grade, first_day, seen_days)
            flagged |= event_dlt
            rows["adverse_events"].append(
                _ae(
                    sid,
                    term,
                    category.value,
                    when(first_day),
                    ended,
                    grade,
                    "ASTCT",
                    "2019",
                    related,
                    event_dlt,
                    outcome,
                )
            )
        # labs: neutrophils and platelets
        courses = {
            "neutrophils": (
                float(cov.neutrophils[p]),
                int(draws.cytopenia["neutrophils_grade"][0, s, k]),
                int(draws.cytopenia["neutrophils_days"][0, s, k]),
                neut_term,
            ),
            "platelets": (
                float(cov.platelets[p]),
                int(draws.cytopenia["platelets_grade"][0, s, k]),
                int(draws.cytopenia["platelets_days"][0, s, k]),
                plt_term,
            ),
        }
        for analyte, (baseline, grade, days, term) in courses.items():
            for day, value in lab_course(analyte, baseline, grade, days):
                if not visible(day):
                    break
                rows["labs"].append(
                    {
                        "subject_id": sid,
                        "collected_at": _iso(
                            assessment_time(infused_local, day, HOURS["labs"], pre_infusion=True)
                        ),
                        "analyte": analyte,
                        "value": value,
                        "unit": "10^9/L",
                        "lln": LLN[analyte],
                    }
                )
            if grade >= 3 and last_day >= 1:
                seen_days, over = observed(1, days)
                cyto_dlt = is_dlt(ToxicityCategory.HEMATOLOGIC, term, grade, 1, seen_days)
                flagged |= cyto_dlt
                rows["adverse_events"].append(
                    _ae(
                        sid,
                        term,
                        "hematologic",
                        when(1),
                        when(1 + days) if over else None,
                        grade,
                        "CTCAE",
                        "5.0",
                        related,
                        cyto_dlt,
                        "recovered" if over else "not_recovered",
                    )
                )
        fixed_day, fixed_span = int(FIXED_DLT_DAY), 7
        if bool(draws.dlt[0, s, k]) and not flagged and last_day >= fixed_day:
            # a DLT of the fixed-probability model (no mechanistic event): recorded as such [P]
            over = observed(fixed_day, fixed_span)[1]
            rows["adverse_events"].append(
                _ae(
                    sid,
                    "Dose-limiting toxicity (fixed-probability model)",
                    "non_hematologic",
                    when(fixed_day),
                    when(fixed_day + fixed_span) if over else None,
                    3,
                    "CTCAE",
                    "5.0",
                    related,
                    True,
                    "recovered" if over else "not_recovered",
                )
            )
        # PK: CAR transgene (Stein 2019 with the dose effect and residual error)
        params = draws.kinetic_params[0, s]
        factor = float(m.dose_factor(cells, sc.kinetics.reference_cells_per_kg, sc.kinetics.dose_exponent))
        pk_days = np.array([d for d in m.PK_DAYS if visible(d)], dtype=float)
        if pk_days.size:
            conc = m.stein2019_concentration(
                pk_days, params[0], params[1], params[2] * factor, params[3], params[4], params[5]
            )
            conc, limited = observed_levels(  # the engine's rule: at most MAX_CONCENTRATION (D-19.606)
                np.atleast_1d(conc), sc.kinetics.residual_sd_log, rng, draw_at_zero=True
            )
            pk_limited += limited
            lloq = sc.kinetics.lloq_copies_per_ug
            for day, value in zip(pk_days, conc, strict=True):
                blq = bool(value < lloq)
                rows["pk_samples"].append(
                    {
                        "subject_id": sid,
                        "analyte": "car_transgene",
                        "assay": "ddPCR",
                        "matrix": "peripheral_blood",
                        "nominal_day": int(day),
                        "actual_day": float(day),
                        "sampled_at": _iso(infused_at + dt.timedelta(days=float(day))),  # D-19.229, D-19.861
                        "value": "" if blq else round(float(value), 1),
                        "unit": "copies/ug gDNA",
                        "lloq": lloq,
                        "blq": str(blq).lower(),
                    }
                )
        # PD: AQP4-IgG end-point titre on the assay grid (PD model + assay error)
        course = prepared.antibody[p, k]
        error_sd = 0.15
        for day in PD_DAYS:
            if not visible(day):
                break
            relative = course[max(day, 0)] if day < course.size else course[-1]
            log10_titre = np.log10(cov.aqp4_titre[p] * relative) + rng.normal(0, error_sd)
            if day > pd_end[0, s]:
                continue  # after the death's record: drawn as if alive, not written (D-19.97, D-19.1323)
            rows["pd_samples"].append(
                {
                    "subject_id": sid,
                    "nominal_day": day,
                    "actual_day": float(day),
                    "sampled_at": _iso(infused_at + dt.timedelta(days=float(day))),  # D-19.229, D-19.861
                    "aqp4_igg_titre": str(titre_endpoint([log10_titre])[0]),
                    "aqp4_igg_assay": "fixed_cba",
                }
            )
        # relapses: the pre-treatment history, the drawn onsets dated back from the consent (the screen's
        # date) and those between the consent and the infusion (D-19.876), then the simulated post-infusion
        # attacks
        seen: set[str] = set()
        written = written_history_days(
            cov.relapse_days_before[p],
            int(prepared.pre_attacks_24m[p]),
            infused_local,
            v2v,
            int(draws.relapse_seed[0, s]),
            sc.efficacy.regression_to_mean,
            prepared.protocol,
        )
        for onset in history_onsets(infused_local.date(), written):
            if onset.isoformat() in seen:
                continue
            seen.add(onset.isoformat())
            # the drawn history is before the consent; the interval's onsets are on study (D-19.880)
            note = "pre-treatment history" if onset <= consent else "on study before the infusion"
            rows["relapses"].append(_relapse(sid, onset, rng, note))
        for relapse_day in relapse_days[j]:
            onset = when(relapse_day).date()
            if onset.isoformat() in seen:
                continue
            seen.add(onset.isoformat())
            rows["relapses"].append(_relapse(sid, onset, rng, "post-infusion relapse"))
        # EDSS visits: baseline FS, the improvement from day 90, +1 FS grade per relapse step (`fs_at_visit`,
        # the OC's rule, D-19.1222); drawn as if alive (the random stream), those after the death's site day
        # not written (`edss_visit_end`, the OC's last visit, D-19.1223)
        sub = type(changes)(
            changes.improve[j : j + 1],
            changes.step[j : j + 1],
            changes.step_column[j : j + 1],
        )
        written = edss_visit_days(float(visit_end[0, s]))
        for visit in edss_visit_days(follow_end):
            fs = fs_at_visit(cov.fs[p : p + 1], sub, np.array([float(visit)]), [relapse_days[j]])[0]
            ambulation = int(cov.ambulation[p])
            unable = ambulation >= 10
            walk = T25FW_BASE_SECONDS * np.exp(0.25 * int(fs[2]) + 0.2 * ambulation)
            trials = np.clip(walk * np.exp(rng.normal(0, 0.05, 2)), 2.0, 180.0)
            if visit not in written:
                continue
            rows["edss"].append(
                {
                    "subject_id": sid,
                    "assessed_at": _iso(when(visit, HOURS["edss"])),
                    **{name: int(fs[i]) for i, name in enumerate(FS_COLUMNS)},
                    "ambulation": ambulation,
                }
            )
            worse = VISUAL_FS_ACUITY[int(fs[0])]
            better = "20/70" if int(fs[0]) == 6 else "20/20"
            worse_eye = "OD" if (int(cov.fs[p, 0]) + j) % 2 == 0 else "OS"
            for eye in ("OD", "OS"):
                rows["visual_acuity"].append(
                    {
                        "subject_id": sid,
                        "assessed_at": _iso(when(visit, HOURS["edss"])),
                        "eye": eye,
                        "acuity": worse if eye == worse_eye else better,
                    }
                )
            rows["timed_walk"].append(
                {
                    "subject_id": sid,
                    "assessed_at": _iso(when(visit, HOURS["edss"])),
                    "trial_1_seconds": "" if unable else round(float(trials[0]), 1),
                    "trial_2_seconds": "" if unable else round(float(trials[1]), 1),
                    "unable_to_walk": str(unable).lower(),
                }
            )
    _end_at_deaths(rows, died_at)
    # escalation decisions: the design's own decision after each escalation cohort (escalation engine), on
    # the cohort's DLT-evaluable patients; one who left or died inside the window without a DLT has no letter
    # and was replaced in the same cohort, whose decision waits for the replacement (D-19.123, D-19.132)
    cutoff_date = data_cutoff_date(sc, cutoff)  # on the site's calendar (D-19.878)
    history: list[str] = []
    design = prepared.design
    window = prepared.settings["window_days"]
    dlt_seen, evaluable = observed_dlts(prepared, draws)
    n_dose = np.zeros(prepared.n_doses, dtype=int)
    n_dlt = np.zeros(prepared.n_doses, dtype=int)
    for cohort in range(cohorts):
        members = [s for s in order if cohort_of[0, s] == cohort]
        if not members:
            break
        level = int(slot_dose[0, members[0]])
        outcome = "".join("T" if dlt_seen[0, s, level] else "N" for s in members if evaluable[0, s, level])
        history.append(f"{level + 1}{outcome}")
        n_dose[level] += len(outcome)
        n_dlt[level] += outcome.count("T")
        # every patient of the cohort, those infused after the cut-off too: the decision waits for them
        cohort_slots = np.flatnonzero(cohort_of[0] == cohort)
        last = float(np.nanmax(infusion[0, cohort_slots]))
        # the decision's date on the site's calendar, as the data cut-off's (D-19.878, D-19.881)
        # the window + 1 day counted on the site's calendar (D-19.1318)
        decided = infusion_instant(sc, float(decision_days(sc, np.array([last]), window)[0])).date()
        if decided > cutoff_date:  # the study's data cut-off date (D-19.878)
            break
        fit = design.fit(" ".join(history))
        rows["escalation_decisions"].append(
            {
                "cohort": cohort + 1,
                "dose_level": level + 1,
                "decided_on": decided.isoformat(),
                "outcomes": history[-1],
                "design": design.name,
                "design_state": json.dumps(
                    {
                        "n_treated": {str(i + 1): int(v) for i, v in enumerate(n_dose) if v},
                        "n_dlt": {str(i + 1): int(v) for i, v in enumerate(n_dlt) if n_dose[i]},
                    }
                ),
                "decision": design_decision(fit, level + 1),
                "approved_by": "safety review committee (simulated)",
            }
        )
    if pk_limited:
        _refuse_limited_pk(pk_limited, sc.kinetics, prepared.scenario_file)
    forms = {name: pd.DataFrame(records) for name, records in rows.items()}
    not_simulated = _drop_uncollected(forms, prepared.protocol.collected_assessments)
    summary = {
        "scenario": sc.name,
        "seed": seed,
        "patients": len(order),
        "data_cutoff": cutoff_date.isoformat(),
        "rows": {name: len(frame) for name, frame in forms.items()},
        "not_simulated": not_simulated,
        "crs_management": CRS_MANAGEMENT_NOT_SIMULATED,
    }
    summary["after_today"] = dates_after_today(
        forms["subjects"], dt.date.fromisoformat(sc.accrual.start_date), cutoff_date, today
    )
    return SimulatedStudy(forms, summary)


def _refuse_limited_pk(limited: int, kinetics: Any, scenario_file: str | None) -> None:
    """A simulated study whose PK samples include `limited` levels drawn above `MAX_CONCENTRATION` is
    refused (D-19.670): `observed_levels` writes such a level as the limit (D-19.606), a lower bound, and the
    store's ``pk_samples`` template has no upper-limit flag, so the study database, the analysis NCA, the
    report and CDISC PP would read it as a measured level. The refusal names the scenario file and the key
    the residual SD came from: ``kinetics.residual_sd_log``, or ``kinetics.population_model`` when it is
    that model's ``sigma.a`` (`Kinetics.residual_sd_from`)."""
    from cartrial.allowed import MAX_CONCENTRATION
    from cartrial.errors import InputError, Problem
    from cartrial.wording import count

    sd = kinetics.residual_sd_log
    message = (
        f"{count(limited, 'PK sample')} drawn above {MAX_CONCENTRATION:g} copies/ug, the largest level the "
        "store takes: written as the limit it would be stored and analysed as a measured level (pk_samples "
        "has no upper-limit flag)"
    )
    if kinetics.residual_sd_from is None:
        field, value = "kinetics.residual_sd_log", sd
    else:
        field, value = "kinetics.population_model", kinetics.population_model
        message += f"; the residual SD is sigma.a {sd:g} of the population model {kinetics.residual_sd_from}"
    raise InputError(
        Problem(
            message,
            file=scenario_file,
            field=field,
            value=value,
            allowed="a residual SD of at most 4 (default 0.3, an assay's size): with Stein 2019's kinetics "
            "a 1,000-patient study then stays within the limit (a chance below 1e-5 of any sample above "
            "it); another --seed helps only at a moderate SD (of 1,000-patient studies at 0.5-10 million "
            "cells/kg, about 0.1-0.4 % are refused at an SD of 5, over half at 7)",
        )
    )


def dates_after_today(
    subjects: pd.DataFrame, start_date: dt.date, data_cutoff: dt.date, today: dt.date | None = None
) -> dict[str, Any] | None:
    """None when the virtual study's data cut-off is on or before `today` (UTC today by default); otherwise
    the number of its consents dated after today — each refused by the store (CONSENT-FUTURE, hard; its
    other records after today are queried) — and the latest accrual `start_date` whose study, the same
    calendar moved earlier (the scenario's dates are days from the start date), ends by today (D-19.185)."""
    today = today or utc_today()
    if data_cutoff <= today:
        return None
    consents = subjects["consent_date"].astype(str) if len(subjects) else pd.Series([], dtype=str)
    return {
        "consents_after_today": int((consents > today.isoformat()).sum()),
        "latest_start_date": (start_date - (data_cutoff - today)).isoformat(),
    }


#: The date column of each form with records of a patient after the infusion (`_end_at_deaths`).
RECORD_DATES = {
    "crs_assessments": "assessed_at",
    "icans_assessments": "assessed_at",
    "labs": "collected_at",
    "adverse_events": "started_on",
    "edss": "assessed_at",
    "visual_acuity": "assessed_at",
    "timed_walk": "assessed_at",
    "relapses": "onset_date",
    "pk_samples": "sampled_at",
    "pd_samples": "sampled_at",
}


def _end_at_deaths(
    rows: dict[str, list[dict[str, Any]]], died_at: dict[str, tuple[float, dt.datetime]]
) -> None:
    """Leave out every record of a patient who died dated after the death (D-19.97): a date-time after the
    moment of death (the CRS assessment recording it), a date after the day of death; an adverse event of the
    patient still open at the death (ended after it) is written open, outcome not recovered."""
    if not died_at:
        return
    moments = {sid: (_iso(moment), moment.date().isoformat()) for sid, (_day, moment) in died_at.items()}

    def after(row: dict[str, Any], column: str) -> bool:
        death = moments.get(row["subject_id"])
        if death is None:
            return False
        value = str(row[column])
        return value > (death[1] if len(value) == 10 else death[0])

    for form, column in RECORD_DATES.items():
        rows[form] = [row for row in rows[form] if not after(row, column)]
    for row in rows["adverse_events"]:
        if row["outcome"] != "fatal" and row["ended_on"] and after(row, "ended_on"):
            row["ended_on"], row["outcome"] = "", "not_recovered"


def seriousness_criteria(category: str, grade: int) -> dict[str, bool]:
    """The ICH E2A seriousness criteria a virtual adverse event meets (D-19.227, D-19.328): seriousness is
    not severity (ICH E2A §III.B). A fatal event (grade 5) results in death; a CRS or ICANS of grade ≥ 3
    (ASTCT 2019 grade 3: vasopressor, high-flow oxygen or ICU-level neurological care) requires or prolongs
    hospitalisation, and at grade 4 is also life-threatening; any other event of grade 4 (CTCAE v5.0:
    "life-threatening consequences") is life-threatening, except a laboratory cytopenia (category
    ``hematologic``), whose grade is a count's band and meets no E2A criterion by itself. The virtual study
    has no disability, congenital anomaly or other medically important event. Keys: the store's criterion
    fields (`cartrial.protocol.seriousness.CRITERIA_FIELDS`)."""
    fatal = grade >= FATAL_GRADE
    crs_icans = category in (ToxicityCategory.CRS.value, ToxicityCategory.ICANS.value)
    met = {
        "serious_death": fatal,
        "serious_life_threatening": not fatal
        and grade >= 4
        and (crs_icans or category != ToxicityCategory.HEMATOLOGIC.value),
        "serious_hospitalisation": not fatal and crs_icans and grade >= 3,
    }
    return {name: met.get(name, False) for name in CRITERIA_FIELDS}


def _ae(
    sid: str,
    term: str,
    category: str,
    started: dt.datetime,
    ended: dt.datetime | None,
    grade: int,
    scale: str,
    version: str,
    related: str,
    dlt: bool = False,
    outcome: str = "recovered",
) -> dict[str, Any]:
    criteria = seriousness_criteria(category, grade)
    serious = any(criteria.values())  # serious when it meets an ICH E2A criterion
    return {
        "subject_id": sid,
        "term": term,
        "category": category,
        "started_on": started.date().isoformat(),
        "ended_on": "" if ended is None else ended.date().isoformat(),
        "grade": grade,
        "grading_scale": scale,
        "grading_scale_version": version,
        "serious": str(serious).lower(),
        **{name: (str(met).lower() if serious else "") for name, met in criteria.items()},
        "relatedness": related,
        "dlt": str(dlt).lower(),
        "outcome": outcome,
    }


def _relapse(sid: str, onset: dt.date, rng: np.random.Generator, note: str) -> dict[str, Any]:
    phenotype = ("optic_neuritis", "myelitis", "area_postrema")[int(rng.choice(3, p=[0.4, 0.5, 0.1]))]
    return {
        "subject_id": sid,
        "onset_date": onset.isoformat(),
        "phenotype": phenotype,
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "treatment": "IVMP",
        "notes": note,
    }


__all__ = ["FORMS", "SimulatedStudy", "dates_after_today", "simulate_study", "virtual_study_protocol"]
