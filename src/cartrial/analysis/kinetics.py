"""PK and PD datasets: NCA (`cartrial.kinetics.derive_nca`) per analyte and dose level with geometric
summaries, CAR-T persistence, and the AQP4-IgG titre change (`cartrial.neuro` titre steps).

NCA options: the protocol's ``analysis.options`` (`nca_intervals_days`, `nca_options`); the default is
`NcaOptions(intervals=((0, 28),))` (AUC day 0-28, the reference trial's PK endpoint;
docs/science/ct103a-nmosd-trial.md §4). Persistence: the last day with a quantifiable value (`tlast` of the
NCA) and whether it is beyond ``analysis.options.persistence_day`` (default `PERSISTENCE_DAY`, day 180,
"beyond 6 months"), among the subjects sampled after that day (D-19.87).

Partial AUCs (D-19.95): `nca_by_subject` has ``last_sample_time`` (day of the last post-infusion sample,
quantifiable or BLQ) and per finite interval ``auc_<a>_<b>_covered`` (the samples cover the interval end:
`cartrial.kinetics.nca.interval_coverage`, rule ``nca_options.interval_coverage``); a subject whose samples
stop before the end at a quantifiable value (an early death or withdrawal, an interim cut-off) has an
``auc_<a>_<b>`` that is an AUC to its last sample. `nca_summary` takes the geometric statistics of a partial
AUC over the covered subjects (``analysis.options.nca_interval_summary`` = ``covered``, default) or over all
(``all``), and counts the not-covered in ``n_not_covered`` either way. A sample covers the end by its
``nominal_day`` only when its ``actual_day`` is inside the protocol's visit window of that day (`nca_windows`;
D-19.104): the day-28 visit taken on day 20 does not cover AUC0-28.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.analysis.model import Dataset, Population, stored_record
from cartrial.analysis.populations import (
    ENROLLED,
    SAFETY,
    dose_levels,
    infusion_dates,
    site_date,
    subject_time_zones,
)
from cartrial.analysis.stats import GEOMETRIC_METHOD, geometric_summary
from cartrial.analysis.summaries import by_subject, dose_level_groups, rows_of
from cartrial.columns import TIME_ZONE_COLUMN, iso_instants, typed_site_moment
from cartrial.kinetics.nca import persistence_flags
from cartrial.kinetics.units import conversion_notes, standard_conc_unit, to_standard
from cartrial.wording import count

PERSISTENCE_DAY = 180.0
"""Day after which a quantifiable value counts as persistence (6 months; docs/science/decisions.md D-13.1 and
the press release)."""

PERSISTENCE_EVALUABLE = "persistence_evaluable"
"""Column of the persistence dataset: the subject was sampled after the persistence day (D-19.87)."""

TITRE_COLUMNS = [
    "subject_id",
    "dose_level",
    "baseline_titre",
    "baseline_source",
    "baseline_assay_differs",
    "last_titre",
    "last_titre_day",
    "change_steps",
    "titre_fell",
    "fall_evaluable",
    "evaluable",
    "reason",
]

PD_MARKERS = (
    "cd19_b_cells_per_ul",
    "bcma_plasma_cells_per_ul",
    "igg_g_per_l",
    "iga_g_per_l",
    "igm_g_per_l",
)
"""Numeric PD analytes of the PD form summarised as baseline, post-infusion nadir and last value."""

GEOMETRIC_PARAMETERS = ("cmax", "auclast", "half_life")
"""Summarised as geometric mean and CV, with every partial AUC of the protocol's ``nca_intervals_days``
(`interval_parameters`)."""
MEDIAN_PARAMETERS = ("tmax", "tlast")

COVERED_SUFFIX = "_covered"
"""Suffix of the engine's coverage flag of a partial AUC: ``auc_0_28_covered`` (D-19.95)."""


def summary_values(
    sub: pd.DataFrame, parameter: str, rule: str = "covered"
) -> tuple[list[float], int | None]:
    """The values of `parameter` that `nca_summary` summarises over the rows `sub`, and how many finite
    values come from subjects whose samples do not cover the interval (None for a parameter without a
    coverage flag). ``rule`` ``covered`` (default) leaves those out, ``all`` keeps them (D-19.95).

    >>> sub = pd.DataFrame({"auc_0_28": [100.0, 40.0, float("nan")],
    ...                     "auc_0_28_covered": [True, False, False]})
    >>> summary_values(sub, "auc_0_28"), summary_values(sub, "auc_0_28", "all")
    (([100.0], 1), ([100.0, 40.0, nan], 1))
    """
    values = pd.to_numeric(sub[parameter], errors="coerce")
    flag = parameter + COVERED_SUFFIX
    if flag not in sub:
        return values.tolist(), None
    covered = sub[flag].astype(bool).to_numpy()
    n_not_covered = int((~covered & values.notna().to_numpy()).sum())
    if str(rule) == "covered":
        values = values[covered]
    return values.tolist(), n_not_covered


def interval_parameters(intervals: Any) -> tuple[str, ...]:
    """The partial-AUC columns of the NCA for the protocol's `intervals` (``analysis.options.
    nca_intervals_days``), each once, in the protocol's order: ``auc_0_28`` for the default ``[[0, 28]]``
    (`interval_column`)."""
    from cartrial.kinetics.nca import interval_column

    return tuple(dict.fromkeys(interval_column(float(a), float(b)) for a, b in intervals))


WINDOW_SLACK_DAYS = 0.5
"""Half a day added to each side of a visit window when the analysis compares a sample's ``actual_day`` with
it: the window is in whole study days, ``actual_day`` is days since the infusion's clock time (the day-1
visit, window 0, is sampled at 0.85 to 1.15 days in the example); D-19.104."""


def nca_windows(schedule: Any) -> dict[float, tuple[float, float]]:
    """The visit window of each scheduled study day, as `cartrial.kinetics.derive_nca` takes it
    (``nominal_windows``: ``{study_day: (minus, plus)}`` in days, each side widened by `WINDOW_SLACK_DAYS`):
    a PK sample counts at a partial-AUC end by its ``nominal_day`` only when its ``actual_day`` is inside
    (D-19.104). Empty without a schedule (the nominal day then never counts).

    >>> from cartrial.protocol.schedule import Schedule, Visit
    >>> nca_windows(Schedule(visits=[Visit(name="Day 28", study_day=28, window_minus_days=3,
    ...                                    window_plus_days=2, assessments=["pk"])]))
    {28.0: (3.5, 2.5)}
    """
    visits = getattr(schedule, "visits", None) or []
    return {
        float(v.study_day): (v.window_minus_days + WINDOW_SLACK_DAYS, v.window_plus_days + WINDOW_SLACK_DAYS)
        for v in visits
    }


def sample_actual_days(
    samples: pd.DataFrame, infusions: pd.DataFrame, zones: Mapping[str, str] | None = None
) -> pd.Series:
    """The actual time of each sample from its subject's (first) infusion, in days: the one derivation the
    NCA (`nca_datasets`) and ADaM ADPC.AFRLT read (D-19.304). A sample whose date-time ``sampled_at`` is
    before the infusion's ``infused_at`` is pre-dose: its time is the elapsed time, negative (ADaMIG-NCA
    AFRLT, the elapsed actual time from the reference dose; the NCA leaves it out, D-6.7), even when its
    ``actual_day`` was entered as 0 (the day-0 sample drawn before the infusion). Every other sample keeps its
    stored ``actual_day`` (the NCA's time, checked against ``sampled_at`` by SAMPLE-DAY-MISMATCH, D-19.168);
    one without a stored ``actual_day`` gets the elapsed time too (D-19.1279); a date-time naive of a zone
    is UTC, as the store keeps it. A date typed without a time (exactly 00:00:00Z that the site's clock puts
    on the day before, `cartrial.columns.typed_site_moment`, D-19.947; the site's zone: `zones`, subject_id →
    IANA zone, else the infusions' ``time_zone`` column, else UTC) gives no elapsed time: the stored
    ``actual_day``, else blank (D-19.1282, D-19.1341, D-19.1342).

    >>> s = pd.DataFrame({"subject_id": ["A", "A"], "actual_day": [0.0, 1.0],
    ...                   "sampled_at": ["2021-05-01T09:00:00Z", "2021-05-02T10:00:00Z"]})
    >>> i = pd.DataFrame({"subject_id": ["A"], "infused_at": ["2021-05-01T10:00:00Z"]})
    >>> [round(d, 4) for d in sample_actual_days(s, i)]
    [-0.0417, 1.0]
    """
    stored = pd.to_numeric(samples["actual_day"], errors="coerce").astype(float)
    if not len(samples) or not len(infusions) or "sampled_at" not in samples.columns:
        return stored.reset_index(drop=True)

    def instants(values: pd.Series) -> pd.Series:
        # the one reader of many texts: one without an offset is UTC, whatever the row before it (D-19.777)
        text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
        return iso_instants(text.where(text != "", None))

    first = instants(infusions["infused_at"]).groupby(infusions["subject_id"].astype(str).to_numpy()).min()
    start = samples["subject_id"].astype(str).map(first)
    sampled = instants(samples["sampled_at"])  # read once: the elapsed time and the date-only rule below
    elapsed = (sampled - pd.to_datetime(start, utc=True)) / pd.Timedelta(days=1)
    elapsed = pd.to_numeric(elapsed, errors="coerce").astype(float)
    # a date typed without a time, by the one rule of the site's clock (`typed_site_moment`, D-19.947): an
    # instant at exactly 00:00:00Z the site's clock puts on the day before (west of UTC); at UTC and east of
    # it 00:00:00Z is a real time (08:00 in Wuhan). Such a date gives no elapsed time: a sample with a
    # stored actual_day keeps it (a date cannot show it was drawn before the infusion, D-19.1342); one
    # without stays blank and the NCA refuses it, located (D-19.1282, D-19.1341)
    # the site's zone of each subject: `zones` (subject_id → IANA zone, `subject_zones`), else the infusions'
    # time_zone column (`site_calendar`); absent or blank: UTC
    if zones is None and TIME_ZONE_COLUMN in infusions.columns:
        zones = dict(
            zip(infusions["subject_id"].astype(str), infusions[TIME_ZONE_COLUMN].astype(str), strict=True)
        )
    zones = {str(k): str(v).strip() for k, v in (zones or {}).items() if str(v).strip() not in ("", "nan")}
    moments = pd.to_datetime(sampled, utc=True)
    date_only = np.array(
        [
            not pd.isna(m) and typed_site_moment(m.to_pydatetime(), zones.get(str(s))) != m.to_pydatetime()
            for m, s in zip(moments, samples["subject_id"], strict=True)
        ],
        dtype=bool,
    )
    # a sample without a stored actual_day (optional in the store, sampled_at is not) is timed by its
    # date-time too (D-19.1279)
    timed = elapsed.where(~date_only)
    return stored.where(~(timed < 0) & stored.notna(), timed).reset_index(drop=True)


def has_result(pk: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Whether each stored PK sample has a result: a value or the BLQ flag (the import's reading of it,
    `flagged_blq`). The one rule (D-19.1278, D-19.1280): a sample without one (drawn, the laboratory's
    result not reported yet) is left out of the NCA, the median by day, the expansion figure, the kinetic
    fits from the store and SDTM PC/ADPC.

    >>> has_result(pd.DataFrame({"value": [1.5, None, None], "blq": [None, "true", None]})).tolist()
    [True, True, False]
    """
    blank = pd.Series(float("nan"), index=pk.index)
    value = pd.to_numeric(pk["value"], errors="coerce") if "value" in pk else blank
    return np.asarray(value.notna().to_numpy() | flagged_blq(pk), dtype=bool)


def stored_pk_samples(samples: pd.DataFrame, infusions: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored PK samples at the analysis' time of each (`sample_actual_days` in ``actual_day``, on each
    subject's site clock: the `infusions`' ``time_zone`` column, which every caller's infusions carry — the
    analysis' and `site_calendar`'s; D-19.1346), split by `has_result`: (those with a result, those
    without), each renumbered. The NCA and the kinetic fits from the store read the first and count the
    second (D-19.1278, D-19.1280)."""
    timed = samples.reset_index(drop=True)
    timed = timed.assign(actual_day=sample_actual_days(timed, infusions).to_numpy())
    resulted = has_result(timed)
    return timed[resulted].reset_index(drop=True), timed[~resulted].reset_index(drop=True)


MEDIAN_BY_DAY_COLUMNS = [
    "analyte",
    "unit",
    "dose_level",
    "nominal_day",
    "n",
    "n_blq",
    "n_censored",
    "lloq",
    "median",
    "median_below_lloq",
    "reason",
]


def median_by_day(pk: pd.DataFrame, levels: Mapping[str, int]) -> pd.DataFrame:
    """The median concentration per analyte, unit, dose level and nominal day over every sample with a result,
    the BLQ ones counted (D-19.624, D-19.627): columns `MEDIAN_BY_DAY_COLUMNS`, sorted.

    A sample is BLQ when its ``blq`` flag is true (the import's true/false words,
    `cartrial.columns.parse_bool`) or its value is ≤ 0; a sample with neither a value nor the flag (not
    analysed) is no result and is left out. A BLQ sample is censored: it ranks below every quantifiable one.
    With mixed LLOQs in a group, a quantifiable value below the highest LLOQ of the group's BLQ samples cannot
    be ranked against them and is censored too (``n_censored`` ≥ ``n_blq``); a BLQ sample with no LLOQ can be
    ranked against no measured value: every sample of its group is censored (``reason`` says so; with no
    measured value in the group it changes nothing). The median is estimable only
    when fewer than half the samples are censored (2·n_censored < n: both middle values quantifiable);
    otherwise ``median`` is NaN and ``median_below_lloq`` true, the median is "< LLOQ" (Helsel 2012, ch. 4 and
    6), never a value imputed for the censored ones. ``lloq``: the highest LLOQ of the group's samples;
    ``reason``: why the median is not estimable (blank when it is).

    Recensoring at the highest LLOQ loses information: a measured value below it is treated as censored
    although it is known (the Kaplan-Meier median for multiply censored data keeps it, D-19.627)."""
    if not len(pk):
        return pd.DataFrame(columns=MEDIAN_BY_DAY_COLUMNS)
    # values and LLOQs in the standard unit of their dimension (cells/mL as cells/uL), the one conversion
    # the NCA applies too (D-19.781)
    units = pk["unit"] if "unit" in pk else pd.Series("", index=pk.index)
    converted, standard_units, _ = to_standard(pd.to_numeric(pk["value"], errors="coerce"), units)
    value = pd.Series(converted, index=pk.index)
    lloq = pd.Series(
        to_standard(pd.to_numeric(pk["lloq"], errors="coerce"), units)[0] if "lloq" in pk else float("nan"),
        index=pk.index,
    )
    # the import's reading of the flag; a stored value it refuses was refused by the NCA before (frames)
    flag = pd.Series(flagged_blq(pk), index=pk.index)
    blq = flag | (value <= 0)
    resulted = pd.Series(has_result(pk), index=pk.index)  # the one rule (D-19.1280)
    frame = pd.DataFrame(
        {
            "analyte": pk["analyte"].astype(str),
            # a median is taken over the values of one unit: an analyte reported in two dimensions has a row
            # per standard unit (D-19.758, D-19.781)
            "unit": standard_units,
            "dose_level": pk["subject_id"].astype(str).map(dict(levels)),
            "nominal_day": pd.to_numeric(pk["nominal_day"], errors="coerce"),
            "value": value.where(~blq),
            "lloq": lloq,
            "blq": blq,
        }
    )[resulted & pk["subject_id"].astype(str).isin(list(levels))]
    rows = []
    for (analyte, unit, level, day), part in frame.groupby(
        ["analyte", "unit", "dose_level", "nominal_day"], sort=True
    ):
        limits = part.loc[part["blq"], "lloq"]
        # a BLQ sample with no LLOQ is below a limit no one knows: no measured value can be ranked against
        # it, so every sample of the group is censored (D-19.627)
        unknown_limit = bool(limits.isna().any()) and bool((~part["blq"]).any())
        censored = part["blq"] | (part["value"] < limits.max()) | unknown_limit
        n, n_censored = len(part), int(censored.sum())
        estimable = 2 * n_censored < n
        if unknown_limit:
            reason = "a BLQ sample with no LLOQ: no measured value can be ranked against it"
        elif not estimable:
            reason = "half or more of the samples censored: the median is below the LLOQ"
        else:
            reason = ""
        rows.append(
            {
                "analyte": analyte,
                "unit": unit,
                "dose_level": int(level),
                "nominal_day": float(day),
                "n": n,
                "n_blq": int(part["blq"].sum()),
                "n_censored": n_censored,
                "lloq": float(part["lloq"].max()) if part["lloq"].notna().any() else float("nan"),
                # both middle values quantifiable: the median of the values with the censored ranked lowest
                "median": float(part["value"].where(~censored, 0.0).median()) if estimable else float("nan"),
                "median_below_lloq": not estimable and not unknown_limit,
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=MEDIAN_BY_DAY_COLUMNS)


def flagged_blq(pk: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Each PK sample's BLQ flag as the import reads it (`cartrial.columns.parse_bool`; blank: not
    flagged): the one reading of the flag (`has_result`, SDTM PC; D-19.1345)."""
    from cartrial.columns import RowProblems, parse_bool

    if "blq" not in pk:
        return np.zeros(len(pk), dtype=bool)
    return np.asarray(parse_bool(pk, "blq", RowProblems("pk_samples"), required=False), dtype=bool)


def persistence_column(persistence_day: float) -> str:
    """Name of the persistence flag column: ``detectable_beyond_day_180`` for the default day 180."""
    return f"detectable_beyond_day_{persistence_day:g}"


def nca_datasets(
    tables: Mapping[str, pd.DataFrame],
    populations: dict[str, Population],
    options: Any = None,
    schedule: Any = None,
    protocol_levels: Sequence[int] = (),
) -> dict[str, Dataset]:
    """`nca_by_subject`, `nca_summary` and `persistence`; adds the ``pk`` population (infused with ≥ 1
    PK sample with a result). `schedule` (the protocol's) gives the visit windows of the nominal days
    (`nca_windows`);
    `protocol_levels` lists every protocol dose level in `nca_summary`, dosed or not (D-19.108)."""
    from cartrial.kinetics import derive_nca
    from cartrial.kinetics.templates import PK_NCA_COLUMNS

    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    pk = tables["pk_samples"]
    pk = pk[pk["subject_id"].isin(list(safety_ids))].reset_index(drop=True)
    sampled = set(pk["subject_id"])
    # a sample drawn before the infusion is pre-dose by its date-time, whatever its actual_day (D-19.304);
    # a stored sample without a result (no value, not flagged BLQ: drawn, the lab's result not reported) is
    # no sample of the NCA, as PKNCA drops a missing concentration; counted as the engine counts a sample:
    # n_pre_dose before time 0, n_missing otherwise (D-19.1278, D-19.1281; the reader refuses a blank
    # value not flagged BLQ in a file)
    pk, pending = stored_pk_samples(pk, tables["infusions"])
    with_pk = sorted(set(pk["subject_id"]))
    without = tuple(s for s in safety_ids if s not in sampled)
    without_result = tuple(s for s in safety_ids if s in sampled and s not in with_pk)
    excluded = {"no PK sample": without, "no PK sample with a result": without_result}
    populations["pk"] = Population(
        "pk",
        "infused subjects with at least one PK sample with a result (a value or a BLQ flag)",
        tuple(s for s in safety_ids if s in with_pk),
        {reason: ids for reason, ids in excluded.items() if ids},
    )
    from cartrial.errors import OptionError
    from cartrial.protocol.analysis_spec import AnalysisOptions

    spec = options if isinstance(options, AnalysisOptions) else AnalysisOptions()
    persistence_day = float(spec.persistence_day)
    prefix = "analysis.options.nca_options."
    try:  # the protocol load applied the same rule; only options built without validation fail here
        nca_options = spec.nca()
    except OptionError as exc:  # each bad value named by its protocol key
        raise exc.renamed(
            lambda name: "analysis.options.nca_intervals_days" if name == "intervals" else prefix + name
        ) from None
    if len(pk) == 0:
        return {}
    columns = dict(PK_NCA_COLUMNS)
    # the LLOQ/2 rule needs each sample's LLOQ, the form's lloq column; the other rules read the BLQ flag
    # only, as before (D-19.154)
    if nca_options.needs_lloq and "lloq" in pk:
        columns["lloq_column"] = "lloq"
    from cartrial.analysis.model import stored_rows

    # a refused sample is named by its record id, which `db edit pk_sample` takes (D-19.507, D-19.542)
    with stored_rows({"pk_samples": pk}):
        result = derive_nca(
            pk,
            **columns,
            options=nca_options,
            source="pk_samples",
            nominal_windows=nca_windows(schedule),
        )
    nca = result.table.copy()
    nca_notes = list(result.notes)
    if len(pending):
        keys = list(zip(nca["subject_id"], nca["analyte"], strict=True))
        pre = (pd.to_numeric(pending["actual_day"], errors="coerce") < 0).to_numpy()
        for column, counted in (("n_pre_dose", pending[pre]), ("n_missing", pending[~pre])):
            n_pending = counted.groupby(["subject_id", "analyte"]).size()
            extra = [int(n_pending.get(key, 0)) for key in keys]
            nca[column] = nca[column] + np.asarray(extra, dtype=int)
        # the engine's pre-dose and missing notes counted the samples it saw: one note each from the
        # columns, which count the samples without a result too, and a note of those (D-19.1344)
        nca_notes = [n for n in nca_notes if not n.endswith(("see n_pre_dose", "see n_missing"))]
        n_pre, n_missing = int(nca["n_pre_dose"].sum()), int(nca["n_missing"].sum())
        if n_pre:
            nca_notes.append(
                f"{count(n_pre, 'sample')} before time 0 (pre-infusion) not used, see n_pre_dose"
            )
        if n_missing:
            nca_notes.append(
                f"{count(n_missing, 'missing concentration')} dropped (PKNCA default), see n_missing"
            )
        nca_notes.append(
            f"{count(len(pending), 'PK sample')} without a result (no value, not flagged BLQ) left out "
            f"({int(pre.sum())} pre-dose), counted in n_pre_dose or n_missing (D-19.1278, D-19.1344)"
        )
    nca.insert(1, "dose_level", [levels.get(s) for s in nca["subject_id"]])
    nca["dose_level"] = nca["dose_level"].astype("Int64")
    cmax, auclast, half_life = GEOMETRIC_PARAMETERS
    geometric = (cmax, auclast, *interval_parameters(spec.nca_intervals_days), half_life)
    rows: list[dict[str, Any]] = []
    units_by_conc: dict[str, dict[str, str]] = dict(result.extra.get("units_by_conc_unit", {}))
    rule = str(spec.nca_interval_summary)
    # one summary per analyte and concentration unit: values of two units are never pooled in one geometric
    # mean (an analyte reported in copies/ug gDNA at one site and copies/mL at another; D-19.758); units of
    # one dimension are one, the standard unit the NCA converted them into (cells/mL as cells/uL, D-19.781)
    unit_key = nca["conc_unit"].astype(str) if "conc_unit" in nca else pd.Series("", index=nca.index)
    unit_subjects = nca.groupby([nca["analyte"], unit_key.rename("_unit")], sort=False)[
        "subject_id"
    ].nunique()
    unit_notes: list[str] = []
    for analyte, counts in unit_subjects.groupby(level=0, sort=True):
        if len(counts) > 1:  # the units of most subjects first, then by name
            named = sorted(((u, int(k)) for (_a, u), k in counts.items()), key=lambda uk: (-uk[1], uk[0]))
            unknown = [u for u, _k in named if not standard_conc_unit(u).dimension]
            kind = (
                "of different dimensions"
                if not unknown
                else f"not converted into one another ({', '.join(unknown)} of no known dimension, kept as "
                "recorded)"
            )
            unit_notes.append(
                f"{analyte} is recorded in {len(named)} concentration units {kind}, summarised apart (values "
                "of two such units are never pooled, D-19.758; units of one dimension are converted into its "
                "standard unit, D-19.781): " + "; ".join(f"{u} ({count(k, 'subject')})" for u, k in named)
            )
    for (analyte, conc_unit), part in nca.groupby([nca["analyte"], unit_key.rename("_unit")], sort=True):
        # a protocol level with no profile of the analyte in any unit is an empty group (n = 0: not dosed,
        # D-19.108) under the analyte's main unit (most subjects) only; a unit gets no empty row for a level
        # whose profiles are in another unit (D-19.759)
        counts = unit_subjects.loc[analyte]
        main_unit = sorted(counts.items(), key=lambda uk: (-int(uk[1]), str(uk[0])))[0][0]
        analyte_levels = set(
            pd.to_numeric(nca.loc[nca["analyte"] == analyte, "dose_level"]).dropna().astype(int)
        )
        empty_levels = [lv for lv in protocol_levels if int(lv) not in analyte_levels]
        for group, sub in dose_level_groups(part, empty_levels if conc_unit == main_unit else ()):
            for parameter in (*geometric, *MEDIAN_PARAMETERS):
                if parameter not in sub:
                    continue
                values, n_not_covered = summary_values(sub, parameter, rule)
                summary = geometric_summary(values)
                if parameter in MEDIAN_PARAMETERS:  # Tmax and Tlast: median and range only
                    summary["geometric_mean"] = summary["geometric_cv_pct"] = None
                rows.append(
                    {
                        "analyte": analyte,
                        "group": group,
                        "parameter": parameter,
                        "n_subjects": len(sub),
                        **summary,
                        "n_not_covered": n_not_covered,
                        # the engine's units for this analyte's concentration unit: with two units in
                        # the study its single `units` is empty (D-19.213)
                        "unit": units_by_conc.get(conc_unit, result.units).get(parameter, ""),
                        "conc_unit": conc_unit,
                    }
                )
    summary_frame = pd.DataFrame(rows)
    if "n_not_covered" in summary_frame:
        summary_frame["n_not_covered"] = summary_frame["n_not_covered"].astype("Int64")
    coverage_notes = _coverage_notes(nca, interval_parameters(spec.nca_intervals_days), rule)
    coverage_notes += _left_out_notes(nca, geometric, rule)
    # the engine's persistence_days (nca_options.persistence_rule; default the last quantifiable sample, also
    # when BLQ samples are given LLOQ/2, which Tlast counts) and the measured value of that sample (D-19.155)
    persistence = nca[["subject_id", "dose_level", "analyte", "persistence_days"]].copy()
    persistence = persistence.rename(columns={"persistence_days": "last_quantifiable_day"})
    sample_days = pd.to_numeric(pk["actual_day"], errors="coerce")
    measured = pd.Series(  # in the standard unit of the profile's conc_unit (D-19.781)
        to_standard(
            pd.to_numeric(pk["value"], errors="coerce"), pk["unit"] if "unit" in pk else [""] * len(pk)
        )[0],
        index=pd.MultiIndex.from_arrays([pk["subject_id"], pk["analyte"], sample_days]),
    )
    measured = measured[~measured.index.duplicated()]
    persistence["last_quantifiable_value"] = [
        measured.get((s, a, d)) if pd.notna(d) else None
        for s, a, d in zip(
            persistence["subject_id"],
            persistence["analyte"],
            persistence["last_quantifiable_day"],
            strict=True,
        )
    ]
    persistence["last_quantifiable_value"] = pd.to_numeric(persistence["last_quantifiable_value"])
    # the value's unit, that of its profile: an analyte may be recorded in two units (D-19.761)
    persistence["conc_unit"] = nca["conc_unit"].astype(str) if "conc_unit" in nca else ""
    flag = persistence_column(persistence_day)
    # evaluable: sampled after the persistence day, quantifiable or not; a subject whose samples all precede
    # it (followed for less, or its schedule not yet there at an interim) cannot show persistence and is not
    # counted as a subject without it (D-19.87); the engine's rule, the simulator's too (D-19.855)
    # the engine's last post-infusion sample with a result, quantifiable or BLQ: a sample without a result
    # shows nothing about persistence (D-19.1278)
    persistence["last_sample_day"] = pd.to_numeric(nca["last_sample_time"])
    persisting, evaluable = persistence_flags(
        pd.to_numeric(persistence["last_quantifiable_day"], errors="coerce").to_numpy(float),
        pd.to_numeric(persistence["last_sample_day"], errors="coerce").to_numpy(float),
        persistence_day,
    )
    persistence[flag] = persisting
    persistence[PERSISTENCE_EVALUABLE] = evaluable
    return {
        "nca_by_subject": Dataset(
            "nca_by_subject",
            "NCA parameters per subject and analyte",
            nca,
            "pk",
            "cartrial.kinetics.derive_nca",
            ("pk_samples", "infusions"),
            notes=tuple(nca_notes),
            columns={
                "last_sample_time": "day of the last post-infusion sample with a result, quantifiable or BLQ",
                **{
                    column + COVERED_SUFFIX: f"the samples cover the end of {column} (a sample at or after "
                    "it by actual day, or by nominal day when taken inside that visit's window, or a BLQ "
                    "last sample before it; nca_options.interval_coverage = "
                    f"{nca_options.interval_coverage}, nominal_coverage = {nca_options.nominal_coverage}); "
                    f"otherwise {column} "
                    "is an AUC to the last sample (D-19.95, D-19.104)"
                    for column in interval_parameters(spec.nca_intervals_days)
                    if column + COVERED_SUFFIX in nca
                },
            },
        ),
        "nca_summary": Dataset(
            "nca_summary",
            "NCA summaries per analyte, concentration unit and dose level: n, geometric mean, "
            "geometric CV %, median, range",
            summary_frame,
            "pk",
            "cartrial.analysis.stats.geometric_summary of nca_by_subject",
            ("nca_by_subject",),
            notes=(
                GEOMETRIC_METHOD,
                "Tmax and Tlast: median and range",
                *unit_notes,
                *conversion_notes(pk.get("unit", [])),
                *coverage_notes,
            ),
            columns={
                "n_subjects": "subjects in the group (PK population); n: those with a value summarised",
                "n_nonpositive": "values of 0 (e.g. an AUC over BLQ samples only): in n, median and range, "
                "not in the geometric mean and CV % (D-19.105)",
                "n_not_covered": "partial AUCs: subjects with a value whose samples stop before the interval "
                f"end (an AUC to the last sample), {'left out of' if rule == 'covered' else 'included in'} n "
                "(analysis.options.nca_interval_summary; D-19.95)",
            },
        ),
        "pk_median_by_day": Dataset(
            "pk_median_by_day",
            "Median concentration per analyte, unit, dose level and nominal day over every sample with a "
            "result, BLQ counted (the expansion figure's median line)",
            median_by_day(pk, levels),
            "pk",
            "cartrial.analysis.kinetics.median_by_day (Helsel 2012: estimable when fewer than half the "
            "samples are censored; D-19.624, D-19.627)",
            ("pk_samples", "infusions"),
            columns={
                "unit": "the samples' concentration unit, the standard unit of its dimension (values "
                "recorded in another unit of that dimension converted, D-19.781; a row per dimension, values "
                "of two are never pooled, D-19.758)",
                "n": "samples with a result, quantifiable or BLQ",
                "n_blq": "samples flagged BLQ (or with a value <= 0)",
                "n_censored": "samples ranked below the quantifiable ones: the BLQ, and a value below the "
                "highest LLOQ of the group's BLQ samples (mixed LLOQs); every sample when a BLQ sample has "
                "no LLOQ",
                "median": "median with the censored ranked lowest; blank when 2 x n_censored >= n",
                "median_below_lloq": "half or more of the samples censored: the median is below the LLOQ, "
                "not estimable as a value (D-19.627; false when a BLQ sample has no LLOQ: see `reason`)",
                "reason": "why the median is blank: half or more censored, or a BLQ sample with no LLOQ "
                "(every sample of the group then censored)",
            },
        ),
        "persistence": Dataset(
            "persistence",
            "CAR-T persistence: last quantifiable day per subject and analyte",
            persistence,
            "pk",
            "cartrial.kinetics.derive_nca (persistence_days)",
            ("nca_by_subject",),
            columns={
                "last_quantifiable_day": "day of the last quantifiable sample (nca_options.persistence_rule "
                f"{nca_options.persistence_rule}; never a BLQ sample given LLOQ/2, D-19.155)",
                flag: f"quantifiable after day {persistence_day:g} (analysis.options.persistence_day)",
                "last_sample_day": "day of the subject's last sample of the analyte, quantifiable or not",
                "conc_unit": "the concentration unit of last_quantifiable_value (the standard unit of the "
                "profile's dimension, D-19.781; units of two dimensions are kept apart, D-19.761)",
                PERSISTENCE_EVALUABLE: f"sampled after day {persistence_day:g}: in the denominator",
            },
        ),
    }


def _coverage_notes(nca: pd.DataFrame, columns: tuple[str, ...], rule: str) -> list[str]:
    """One note per partial AUC with subjects not covered: the rule and each such subject (id, analyte, last
    sample day); none when every subject is covered."""
    notes = []
    for column in columns:
        flag = column + COVERED_SUFFIX
        if flag not in nca:
            continue
        values = pd.to_numeric(nca[column], errors="coerce")
        hit = nca[~nca[flag].astype(bool) & values.notna()]
        if not len(hit):
            continue
        who = ", ".join(
            f"{r.subject_id} ({r.analyte}, last sample day {float(r.last_sample_time):g})"
            for r in hit.itertuples()
        )
        use = (
            "left out of its geometric statistics"
            if rule == "covered"
            else "included in n (nca_interval_summary=all)"
        )
        notes.append(
            f"{column}: {count(len(hit), 'subject-analyte profile')} sampled only to before the "
            f"interval end, their {column} an AUC to the last sample, {use} (D-19.95): {who}"
        )
    return notes


def _left_out_notes(nca: pd.DataFrame, geometric: tuple[str, ...], rule: str) -> list[str]:
    """What the geometric statistics of `nca_summary` leave out, beyond the coverage notes (D-19.105): the
    profiles whose every sample is BLQ (no Cmax or AUC: not estimable, D-6.3, so in no n), and per parameter
    the values of 0 (in n, median and range, not in the geometric mean and CV %); none when there are none."""
    notes = []
    samples = pd.to_numeric(nca.get("n_samples"), errors="coerce")
    blq = pd.to_numeric(nca.get("n_blq"), errors="coerce")
    all_blq = nca[(samples > 0) & (blq == samples)]
    if len(all_blq):
        who = ", ".join(f"{r.subject_id} ({r.analyte})" for r in all_blq.itertuples())
        notes.append(
            f"{count(len(all_blq), 'subject-analyte profile')} with every sample BLQ: no Cmax, Tmax or "
            "AUC (not estimable, see nca_by_subject not_estimable), so in no n of this summary "
            f"(D-19.105): {who}"
        )
    for parameter in geometric:
        if parameter not in nca:
            continue
        values = pd.to_numeric(nca[parameter], errors="coerce")
        zero = values <= 0
        flag = parameter + COVERED_SUFFIX
        if flag in nca and rule == "covered":
            zero &= nca[flag].astype(bool)
        hit = nca[zero]
        if not len(hit):
            continue
        who = ", ".join(f"{r.subject_id} ({r.analyte})" for r in hit.itertuples())
        notes.append(
            f"{parameter}: {count(len(hit), 'value')} of 0, counted in n, median and range but not in "
            f"the geometric mean and CV % (the log of 0 is undefined; n_nonpositive, D-19.105): {who}"
        )
    return notes


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value).strip()


TITRE_SAMPLE_COLUMNS = [
    "record_id",
    "subject_id",
    "dose_level",
    "nominal_day",
    "actual_day",
    "sampled_at",
    "titre",
    "step",
    "reciprocal",
    "at_top",
    "standard",
    "standard_numeric",
]
"""Columns of the per-sample dataset ``aqp4_titres`` (`titre_samples`, D-19.631)."""

NEGATIVE_TITRE = "NEGATIVE"
"""The standardised text of every negative titre (index 0, below the first dilution; D-19.629)."""


def titre_standard(titre: Any) -> tuple[str, float]:
    """The standardised text and number of a parsed titre (`cartrial.neuro.Titre`; D-19.629): a positive
    end-point titre its reciprocal dilution ("320", 320); negative `NEGATIVE_TITRE`, no number; positive at
    the top dilution ">=1000", no number (right-censored: not an exact result).

    >>> from cartrial.neuro import parse_titre_step
    >>> [titre_standard(parse_titre_step(t)) for t in ("1/320", "nd", ">=1:1000")]
    [('320', 320.0), ('NEGATIVE', nan), ('>=1000', nan)]
    """
    if not titre.positive:
        return NEGATIVE_TITRE, float("nan")
    from cartrial.neuro import titre_reciprocal

    if titre.at_top:
        return f">={titre.denominator}", float("nan")
    return str(titre.denominator), titre_reciprocal(titre)


def titre_samples(pdt: pd.DataFrame, levels: Mapping[str, int]) -> tuple[pd.DataFrame, dict[Any, Any]]:
    """Every stored PD sample with an AQP4-IgG titre, each titre read once by the titre rule
    (`cartrial.neuro.parse_titre_step`; D-19.631): the rows of the dataset ``aqp4_titres``
    (`TITRE_SAMPLE_COLUMNS`: ``step`` the dilution-series index, 0 negative; ``reciprocal`` the reciprocal
    dilution, 0 for a negative titre, `cartrial.neuro.titre_reciprocal`; ``standard`` / ``standard_numeric``
    by `titre_standard`), and the parsed titre of each row by the index of `pdt`.

    A stored titre the rule refuses (off the assay series, e.g. "1:7" put in with SQL or by an older
    version) is an `InputError` naming ``pd_sample record <id>, aqp4_igg_titre`` without the value (D-12.2,
    D-19.542), every such titre at once: the analysis is refused, never run without the sample, as for an
    unreadable stored date (D-19.543)."""
    from cartrial.errors import InputError
    from cartrial.neuro import parse_titre_step, titre_reciprocal

    rows: list[dict[str, Any]] = []
    parsed: dict[Any, Any] = {}
    problems = []
    records = pdt.to_dict("records") if "aqp4_igg_titre" in pdt else []
    for index, sample in zip(pdt.index, records, strict=False):
        text = _text(sample["aqp4_igg_titre"])
        if not text:
            continue
        record_id = sample.get("record_id")
        try:
            with stored_record("pd_sample", record_id, "aqp4_igg_titre"):
                titre = parse_titre_step(text)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        parsed[index] = titre
        standard, number = titre_standard(titre)
        rows.append(
            {
                "record_id": record_id,
                "subject_id": str(sample["subject_id"]),
                "dose_level": levels.get(str(sample["subject_id"])),
                "nominal_day": pd.to_numeric(sample.get("nominal_day"), errors="coerce"),
                "actual_day": pd.to_numeric(sample.get("actual_day"), errors="coerce"),
                "sampled_at": sample.get("sampled_at"),
                "titre": text,
                "step": titre.index,
                "reciprocal": titre_reciprocal(titre),
                "at_top": titre.at_top,
                "standard": standard,
                "standard_numeric": number,
            }
        )
    if problems:
        raise InputError(problems)
    frame = pd.DataFrame(rows, columns=TITRE_SAMPLE_COLUMNS)
    frame["dose_level"] = frame["dose_level"].astype("Int64")
    for name in ("nominal_day", "actual_day", "reciprocal", "standard_numeric"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    return frame, parsed


def pd_datasets(
    tables: Mapping[str, pd.DataFrame],
    populations: dict[str, Population],
    aqp4_baseline: str = "pd_samples_then_screening",
) -> dict[str, Dataset]:
    """`aqp4_titre_change`: baseline (last on or before day 0) and last AQP4-IgG titre, change in dilution
    steps (`cartrial.neuro.titre_steps`) and fell yes/no; `pd_markers`: every numeric PD analyte
    (`PD_MARKERS`) at baseline, post-infusion nadir and last.

    The baseline titre (`aqp4_baseline`, protocol ``analysis.options.aqp4_igg_baseline``, D-19.233): the last
    PD-sample titre on or before day 0; with ``pd_samples_then_screening`` (default), when the PD samples
    have none, the screening titre (``subjects.aqp4_igg_titre``, taken before the infusion by the schedule):
    ``baseline_source`` says which, ``baseline_assay_differs`` flags a screening assay recorded and different
    from the PD samples' (titres of different assays are not pooled without a flag, neuro-outcomes.md §6);
    ``pd_samples``: the PD samples only."""
    from cartrial.neuro import parse_titre_step, titre_can_fall, titre_fell, titre_steps

    rule = str(getattr(aqp4_baseline, "value", aqp4_baseline))
    safety_ids = populations[SAFETY].subject_ids
    levels = dose_levels(tables["infusions"])
    day0 = infusion_dates(tables["infusions"])
    zones = subject_time_zones(tables["infusions"])  # the sample's day on the site's calendar (D-19.607)
    pdt = tables["pd_samples"].reset_index(drop=True)
    # every stored titre read once, here: the figure and SDTM LB read this dataset (D-19.631)
    titre_table, parsed = titre_samples(pdt, levels)
    subjects = tables.get("subjects")
    screening: dict[str, tuple[str, str]] = {}
    screening_records: dict[str, Any] = {}
    if subjects is not None and "aqp4_igg_titre" in subjects.columns:
        assays = subjects["aqp4_igg_assay"] if "aqp4_igg_assay" in subjects.columns else [""] * len(subjects)
        screening = {
            str(s): (_text(t), _text(a))
            for s, t, a in zip(subjects["subject_id"], subjects["aqp4_igg_titre"], assays, strict=True)
        }
        if "record_id" in subjects.columns:
            screening_records = dict(
                zip(subjects["subject_id"].astype(str), subjects["record_id"], strict=True)
            )
    rows: list[dict[str, Any]] = []
    markers: list[dict[str, Any]] = []
    excluded: dict[str, list[str]] = {}
    from_screening: list[str] = []
    other_assay: list[str] = []
    groups = by_subject(pdt)
    for sid in safety_ids:
        own = rows_of(groups, pdt, sid).sort_values("sampled_at", kind="mergesort")
        start = day0[sid]
        zone = zones.get(sid)
        days = own["sampled_at"].map(lambda s, start=start, zone=zone: (site_date(s, zone) - start).days)
        has_titre = own["aqp4_igg_titre"].map(_text) != ""  # the rows `titre_samples` read
        titres = own[has_titre]
        tdays = days[has_titre]
        base = titres[(tdays <= 0).to_numpy()]
        post = titres[(tdays > 0).to_numpy()]
        row: dict[str, Any] = {"subject_id": sid, "dose_level": levels.get(sid)}
        baseline_text, source, differs = "", "", None
        # the stored record each titre is read from, to name a refused one (D-19.542)
        baseline_record: tuple[str, Any] = ("", None)
        if len(base):
            baseline_text, source = str(base["aqp4_igg_titre"].iloc[-1]), "pd_samples"
            baseline_record = ("pd_sample", base["record_id"].iloc[-1] if "record_id" in base else None)
        elif rule == "pd_samples_then_screening" and screening.get(sid, ("", ""))[0]:
            baseline_text, screening_assay = screening[sid]
            source = "screening"
            baseline_record = ("subject", screening_records.get(sid))
            pd_assays = (
                {_text(a) for a in own["aqp4_igg_assay"]} - {""} if "aqp4_igg_assay" in own.columns else set()
            )
            differs = bool(screening_assay and pd_assays and pd_assays != {screening_assay})
            from_screening.append(sid)
            if differs:
                other_assay.append(sid)
        if baseline_text and len(post):
            if source == "pd_samples":
                before = parsed[base.index[-1]]
            else:
                with stored_record(*baseline_record, "aqp4_igg_titre"):
                    before = parse_titre_step(baseline_text)
            after = parsed[post.index[-1]]
            row |= {
                "baseline_titre": before.native,
                "baseline_source": source,
                "baseline_assay_differs": differs if differs is not None else False,
                "last_titre": after.native,
                "last_titre_day": int(tdays[(tdays > 0).to_numpy()].iloc[-1]),
                "change_steps": titre_steps(before, after),
                "titre_fell": titre_fell(before, after),
                "fall_evaluable": titre_can_fall(before),
                "evaluable": True,
            }
        else:
            reason = "no baseline AQP4-IgG titre" if not baseline_text else "no post-baseline AQP4-IgG titre"
            excluded.setdefault(reason, []).append(sid)
            row |= {"evaluable": False, "reason": reason}
        rows.append(row)
        for marker in PD_MARKERS:
            values = pd.to_numeric(own[marker], errors="coerce")
            b = values[(days <= 0).to_numpy()].dropna()
            after_values = values[(days > 0).to_numpy()].dropna()
            markers.append(
                {
                    "subject_id": sid,
                    "dose_level": levels.get(sid),
                    "marker": marker,
                    "baseline": float(b.iloc[-1]) if len(b) else None,
                    "nadir": float(after_values.min()) if len(after_values) else None,
                    "last": float(after_values.iloc[-1]) if len(after_values) else None,
                }
            )
    populations["efficacy:aqp4_titre"] = Population(
        "efficacy:aqp4_titre",
        "infused subjects with a baseline and >= 1 post-baseline AQP4-IgG titre",
        tuple(r["subject_id"] for r in rows if r["evaluable"]),
        {k: tuple(v) for k, v in excluded.items()},
    )
    titre = pd.DataFrame(rows).reindex(columns=TITRE_COLUMNS)
    titre["dose_level"] = titre["dose_level"].astype("Int64")
    return {
        "aqp4_titre_change": Dataset(
            "aqp4_titre_change",
            "AQP4-IgG titre: baseline, last, change in dilution steps",
            titre,
            "efficacy:aqp4_titre",
            "cartrial.neuro.titre_steps / titre_fell / titre_can_fall (fall_evaluable, D-19.625)",
            ("pd_samples", "infusions", *(("subjects",) if rule == "pd_samples_then_screening" else ())),
            columns={
                "change_steps": "change in dilution-series steps "
                "(negative = fall; docs/science/neuro-outcomes.md §6)",
                "baseline_source": "pd_samples: last PD-sample titre on or before day 0; screening: "
                "subjects.aqp4_igg_titre, no PD titre before the infusion "
                "(analysis.options.aqp4_igg_baseline, D-19.233)",
                "fall_evaluable": "the baseline titre can fall by a dilution step (not negative): the "
                "denominator of the 'titre fell' finding (D-19.625)",
                "baseline_assay_differs": "screening baseline whose recorded assay (subjects.aqp4_igg_assay) "
                "differs from the PD samples' (neuro-outcomes.md §6: flagged, not silently pooled)",
            },
            notes=(
                f"baseline: the last AQP4-IgG titre on or before day 0 ({rule}, D-19.233)",
                *(
                    (
                        f"baseline from the screening titre (no PD titre before the infusion): "
                        f"{', '.join(from_screening)}",
                    )
                    if from_screening
                    else ()
                ),
                *(
                    (f"screening titre of another assay than the PD samples': {', '.join(other_assay)}",)
                    if other_assay
                    else ()
                ),
            ),
        ),
        "aqp4_titres": Dataset(
            "aqp4_titres",
            "AQP4-IgG titre of every PD sample, read by the titre rule (reciprocal dilution, standardised)",
            titre_table,
            ENROLLED,
            "cartrial.analysis.kinetics.titre_samples (cartrial.neuro.parse_titre_step; D-19.631)",
            ("pd_samples", "infusions"),
            columns={
                "titre": "the titre as stored",
                "step": "dilution-series index: 0 negative (below 1:10), 1 = 1:10, ... "
                "(docs/science/neuro-outcomes.md §6)",
                "reciprocal": "reciprocal dilution; 0 for a negative titre; a titre positive at the top "
                "dilution (at_top) is its top dilution, a lower bound",
                "at_top": "positive at the highest dilution tested (>=1:1000): right-censored",
                "standard": "standardised result: the reciprocal as text, NEGATIVE, or >=<top> (SDTM LB "
                "LBSTRESC, D-19.629)",
                "standard_numeric": "the exact reciprocal; blank for a negative or a top titre (LBSTRESN)",
            },
        ),
        "pd_markers": Dataset(
            "pd_markers",
            "PD analytes (B cells, plasma cells, immunoglobulins): baseline, post-infusion nadir, last",
            pd.DataFrame(markers),
            SAFETY,
            "baseline/nadir/last of pd_samples",
            ("pd_samples", "infusions"),
        ),
    }


__all__ = [
    "PERSISTENCE_DAY",
    "WINDOW_SLACK_DAYS",
    "median_by_day",
    "nca_datasets",
    "nca_windows",
    "pd_datasets",
    "persistence_column",
    "titre_samples",
    "titre_standard",
]
