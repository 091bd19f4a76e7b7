"""Validated grading inputs from the CSV forms (DataFrames of strings as read by `cartrial.tabular.read_csv`).

Pure functions shared by the `grade` commands and the study-data import, so both validate the forms
identically: each `parse_*_frame(frame, problems)` checks every row, records each bad value in `problems`
(row, column, value, what is allowed) and returns the parsed columns. Values of bad rows are placeholders
(the caller grades only rows where ``problems.bad_mask(n)`` is false). Column names are the contract of the
templates in ``docs/templates/`` (described in ``docs/templates/grading.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, Context, Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import (
    RowProblems,
    distinct,
    parse_bool,
    parse_choice,
    parse_datetime,
    parse_float,
    parse_int,
    parse_text,
    parse_time_zones,
    site_cell_moment,
    text_frame,
)
from cartrial.errors import InputError
from cartrial.grading.crs import (
    FLOW_WITHOUT_OXYGEN,
    FLOW_WITHOUT_OXYGEN_ALLOWED,
    MAX_OXYGEN_L_MIN,
    MAX_VASOPRESSORS,
    OXYGEN_CODES,
    OXYGEN_DEVICES,
    SBP_RANGE_MMHG,
    TEMPERATURE_RANGE_C,
    OxygenDevice,
    celsius_from_fahrenheit,
)
from cartrial.grading.ctcae import ANALYTES, CANONICAL_UNIT, Analyte, allowed_units, to_canonical, unit_factor
from cartrial.grading.icans import (
    CONSCIOUSNESS_LEVELS,
    EDEMA_TYPES,
    ICE_ITEM_MAXIMA,
    MOTOR_FINDINGS,
    SCORED_UNAROUSABLE,
    SCORED_UNAROUSABLE_ALLOWED,
    SEIZURE_TYPES,
    Consciousness,
)
from cartrial.rounding import exact_text

MAX_LAB_CANONICAL = 1e6
"""Largest haematology value or LLN accepted, in the canonical unit (10^9/L for counts, g/L for
haemoglobin): a million times the top of any human range, far above a unit slip (which is a warning, see
`check_lab_plausibility`); a larger number is a typing error, and ICAHT's cells/µL would overflow."""

CRS_REQUIRED = (
    "subject_id",
    "assessed_at",
    "fever_masked",
    "vasopressors",
    "vasopressin",
    "oxygen",
    "oxygen_l_min",
)
CRS_ONE_OF = (("temperature_c", "temperature_f"), ("hypotension", "systolic_bp_mmhg"))
CRS_OPTIONAL = (
    "death_due_to_crs",
    "fever_other_cause",
    "crs_resolved",
    "fio2_pct",
    "norepinephrine_ug_min",
    "dopamine_ug_kg_min",
    "phenylephrine_ug_min",
    "epinephrine_ug_min",
    "organ_toxicity_grade",
    "transaminase_grade",
    "life_threatening_hypotension",
)
ICE_ITEM_COLUMNS = tuple(f"ice_{name}" for name in ICE_ITEM_MAXIMA)
ICANS_REQUIRED = ("subject_id", "assessed_at", "consciousness", "seizure", "motor", "cerebral_edema")
ICANS_OPTIONAL = (*ICE_ITEM_COLUMNS, "ice_total", "consciousness_other_cause")
LABS_REQUIRED = ("subject_id", "collected_at", "analyte", "value", "unit", "lln")
LABS_OPTIONAL = ("uln", "life_threatening_anemia")
INFUSIONS_REQUIRED = ("subject_id", "infused_at")
THERAPIES_REQUIRED = ("subject_id", "given_at", "therapy")
THERAPIES_OPTIONAL = ("agent", "dose", "unit")
THERAPY_CATEGORIES = ("tocilizumab", "corticosteroid", "vasopressor", "antipyretic", "anakinra", "other")


@dataclass(frozen=True)
class CrsInputs:
    """Parsed CRS assessment columns (one entry per row)."""

    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    temperature_c: npt.NDArray[np.float64]
    fever_masked: npt.NDArray[np.bool_]
    hypotension: npt.NDArray[np.bool_]
    vasopressors: npt.NDArray[np.float64]
    vasopressin: npt.NDArray[np.bool_]
    oxygen_code: npt.NDArray[np.int8]
    oxygen_l_min: npt.NDArray[np.float64]
    death_due_to_crs: npt.NDArray[np.bool_]
    fever_other_cause: npt.NDArray[np.bool_]
    crs_resolved: npt.NDArray[np.bool_]
    fio2_pct: npt.NDArray[np.float64]
    norepinephrine_ug_min: npt.NDArray[np.float64]
    dopamine_ug_kg_min: npt.NDArray[np.float64]
    phenylephrine_ug_min: npt.NDArray[np.float64]
    epinephrine_ug_min: npt.NDArray[np.float64]
    doses_recorded: npt.NDArray[np.bool_]
    organ_toxicity_grade: npt.NDArray[np.float64]
    transaminase_grade: npt.NDArray[np.float64]
    life_threatening_hypotension: npt.NDArray[np.object_]


def _optional_bool(frame: pd.DataFrame, column: str, problems: RowProblems) -> npt.NDArray[np.object_]:
    """A true/false column where blank means not recorded (None)."""
    out = np.full(len(frame), None, dtype=object)
    if column not in frame.columns:
        return out
    parsed = parse_bool(frame, column, problems, required=False)
    blank = (frame[column] == "").to_numpy()
    out[~blank] = parsed[~blank]
    return out


ROOM_AIR_FIO2_PCT = 21.0
"""The inspired oxygen fraction of room air (the atmosphere's 20.9%, charted as 21%): the lowest `fio2_pct`,
and the only one with ``oxygen=none`` (D-19.647)."""


FIO2_WITHOUT_OXYGEN = "FiO2 above room air given with oxygen=none"
FIO2_WITHOUT_OXYGEN_ALLOWED = (
    f"blank or {ROOM_AIR_FIO2_PCT:g} (room air) when oxygen=none; oxygen given: its device in oxygen"
)


LIFE_THREATENING_WITHOUT_HYPOTENSION = "life-threatening hypotension given with hypotension=false"
"""The problem of ``life_threatening_hypotension=true`` (CARTOX grade 4) on an assessment that says
``hypotension=false``: the row contradicts itself, as a vasopressor with hypotension=false does (D-19.938)."""
LIFE_THREATENING_WITHOUT_HYPOTENSION_ALLOWED = "false or blank when hypotension=false"


def fio2_without_oxygen(oxygen: object, fio2_pct: object) -> bool:
    """Whether a CRS assessment's `fio2_pct` is above room air while `oxygen` (its device) is ``none``: the
    row contradicts itself (D-19.647). The one rule: `parse_crs_frame` (the engine's validator: ``grade
    crs``, the import, a whole record's save) and the store's record rule of the live check (D-19.705).

    >>> fio2_without_oxygen("none", 40.0), fio2_without_oxygen("none", 21.0)
    (True, False)
    """
    return (
        oxygen == OxygenDevice.NONE.value
        and isinstance(fio2_pct, int | float)
        and math.isfinite(fio2_pct)
        and fio2_pct > ROOM_AIR_FIO2_PCT
    )


def parse_crs_frame(
    frame: pd.DataFrame, problems: RowProblems, *, sbp_threshold_mmhg: float = 90.0
) -> CrsInputs:
    """Validate and parse a CRS assessments form (``docs/templates/crs_assessments.csv``).

    Checks per row: temperature within 30-45 °C (86-113 °F; `temperature_c` or `temperature_f`, which must
    agree within 0.2 °C when both are given); `oxygen` one of the devices; `oxygen_l_min` ≥ 0 and ≤ 100,
    required for nasal cannula and not allowed (> 0) with ``oxygen=none``; `vasopressors` a whole number
    0-10, and vasopressors or vasopressin only with ``hypotension=true``; true/false flags. `hypotension`
    may be blank when `systolic_bp_mmhg` is given (then hypotension = SBP < `sbp_threshold_mmhg`, ASTCT
    ambiguity A4). Optional legacy-scale columns (FiO2, vasopressor doses, organ toxicity grades) are
    range-checked; `fio2_pct` above room air (21%) is refused with ``oxygen=none`` (D-19.647).

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> problems = RowProblems("crs.csv")
    >>> inputs = parse_crs_frame(pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2024-01-11T08:00Z"],
    ...     "temperature_c": [50.0], "hypotension": [False], "fever_masked": [False], "vasopressors": [0],
    ...     "vasopressin": [False], "oxygen": ["none"], "oxygen_l_min": [None]}), problems)
    >>> [(p.row, p.field, p.message) for p in problems.all()]
    [(2, 'temperature_c', 'out of range')]
    """
    frame = text_frame(frame)  # typed frames (numbers, booleans, datetimes) as CSV text
    n = len(frame)
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    low_c, high_c = TEMPERATURE_RANGE_C
    temp_c = np.full(n, np.nan)
    has_c = "temperature_c" in frame.columns
    has_f = "temperature_f" in frame.columns
    if has_c:
        temp_c = parse_float(
            frame, "temperature_c", problems, required=not has_f, minimum=low_c, maximum=high_c, unit="°C"
        )
    if has_f:
        low_f, high_f = low_c * 9 / 5 + 32, high_c * 9 / 5 + 32
        temp_f = parse_float(
            frame, "temperature_f", problems, required=not has_c, minimum=low_f, maximum=high_f, unit="°F"
        )
        from_f = celsius_from_fahrenheit(temp_f)
        if has_c:
            blank_c = (frame["temperature_c"] == "").to_numpy()
            blank_f = (frame["temperature_f"] == "").to_numpy()
            for i in np.flatnonzero(blank_c & blank_f):
                problems.add(
                    i, "temperature_c", "", "a temperature is required", "temperature_c or temperature_f"
                )
            with np.errstate(invalid="ignore"):
                disagree = np.abs(temp_c - from_f) > 0.2
            for i in np.flatnonzero(disagree):
                problems.add(
                    i,
                    "temperature_f",
                    frame["temperature_f"].iat[i],
                    "disagrees with temperature_c by more than 0.2 °C",
                    "one temperature, or both agreeing within 0.2 °C",
                )
            temp_c = np.where(blank_c, from_f, temp_c)
        else:
            temp_c = from_f
    fever_masked = parse_bool(frame, "fever_masked", problems)
    if "hypotension" in frame.columns:
        hyp_blank = (frame["hypotension"] == "").to_numpy()
        hypotension = parse_bool(frame, "hypotension", problems, required=False)
    else:
        hyp_blank = np.ones(n, dtype=bool)
        hypotension = np.zeros(n, dtype=bool)
    derive = np.zeros(n, dtype=bool)  # hypotension blank, taken from the systolic pressure (A4)
    if "systolic_bp_mmhg" in frame.columns:
        sbp = parse_float(
            frame,
            "systolic_bp_mmhg",
            problems,
            required=False,
            minimum=SBP_RANGE_MMHG[0],
            maximum=SBP_RANGE_MMHG[1],
            unit="mmHg",
        )
        derive = hyp_blank & ~np.isnan(sbp)
        hypotension = np.where(derive, sbp < sbp_threshold_mmhg, hypotension)
        hyp_blank = hyp_blank & np.isnan(sbp)
    for i in np.flatnonzero(hyp_blank):
        problems.add(i, "hypotension", "", "value is required", "true or false (or a systolic_bp_mmhg)")
    vasopressors = parse_int(frame, "vasopressors", problems, minimum=0, maximum=MAX_VASOPRESSORS)
    vasopressin = parse_bool(frame, "vasopressin", problems)
    devices = parse_choice(frame, "oxygen", [d.value for d in OXYGEN_DEVICES], problems)
    oxygen_code = np.zeros(n, dtype=np.int8)  # 0 where the device is blank or unknown
    for device_choice in OXYGEN_DEVICES:
        oxygen_code[devices == device_choice.value] = OXYGEN_CODES[device_choice]
    flow = parse_float(
        frame, "oxygen_l_min", problems, required=False, minimum=0, maximum=MAX_OXYGEN_L_MIN, unit="L/min"
    )
    flow_cells = (
        frame["oxygen_l_min"].to_numpy(dtype=object)
        if "oxygen_l_min" in frame.columns
        else np.full(n, "", dtype=object)
    )
    # (one device per row: at most one of these two problems per row)
    for row in np.flatnonzero((devices == OxygenDevice.NASAL_CANNULA.value) & (flow_cells == "")):
        problems.add(
            row, "oxygen_l_min", "", "flow is required for oxygen=nasal_cannula", "a number ≥ 0 L/min"
        )
    with np.errstate(invalid="ignore"):
        flow_without_oxygen = (devices == OxygenDevice.NONE.value) & np.isfinite(flow) & (flow > 0)
    for row in np.flatnonzero(flow_without_oxygen):
        problems.add(
            row,
            "oxygen_l_min",
            flow_cells[row],
            FLOW_WITHOUT_OXYGEN,
            FLOW_WITHOUT_OXYGEN_ALLOWED,
        )
    with np.errstate(invalid="ignore"):
        pressor_without_hypotension = ~hypotension & ~hyp_blank & (vasopressors > 0)
    # with hypotension blank and a systolic pressure ≥ the threshold the row never said hypotension=false:
    # name the pressure and what to enter (a vasopressor keeps the pressure up; D-19.679)
    from_sbp = (
        f"with hypotension blank and systolic_bp_mmhg ≥ {sbp_threshold_mmhg:g} mmHg (no hypotension)",
        f"hypotension=true when the agent treats hypotension (systolic_bp_mmhg measured on it may be "
        f"≥ {sbp_threshold_mmhg:g})",
    )
    for i in np.flatnonzero(pressor_without_hypotension):
        problems.add(
            i,
            "vasopressors",
            frame["vasopressors"].iat[i],
            f"vasopressors given {from_sbp[0]}" if derive[i] else "vasopressors given with hypotension=false",
            f"{from_sbp[1]}, else 0" if derive[i] else "0 when hypotension=false",
        )
    for i in np.flatnonzero(~hypotension & ~hyp_blank & vasopressin):
        problems.add(
            i,
            "vasopressin",
            frame["vasopressin"].iat[i],
            f"vasopressin given {from_sbp[0]}" if derive[i] else "vasopressin given with hypotension=false",
            f"{from_sbp[1]}, else false" if derive[i] else "false when hypotension=false",
        )
    death = parse_bool(frame, "death_due_to_crs", problems, required=False)
    other = parse_bool(frame, "fever_other_cause", problems, required=False)
    resolved = parse_bool(frame, "crs_resolved", problems, required=False)
    fio2 = parse_float(
        frame, "fio2_pct", problems, required=False, minimum=ROOM_AIR_FIO2_PCT, maximum=100, unit="%"
    )
    # oxygen=none is room air: an inspired fraction above the atmosphere's says oxygen is given (D-19.647);
    # the rule is asked of the rows it can refuse, those with oxygen=none and a FiO2 (D-19.917)
    asked = (devices == OxygenDevice.NONE.value) & ~np.isnan(fio2)
    for at in np.flatnonzero(asked).tolist():
        if fio2_without_oxygen(devices[at], fio2[at]):
            problems.add(
                at, "fio2_pct", frame["fio2_pct"].iat[at], FIO2_WITHOUT_OXYGEN, FIO2_WITHOUT_OXYGEN_ALLOWED
            )
    doses = {
        name: parse_float(frame, name, problems, required=False, minimum=0, maximum=limit, unit=unit)
        for name, limit, unit in (
            ("norepinephrine_ug_min", 500.0, "µg/min"),
            ("dopamine_ug_kg_min", 100.0, "µg/kg/min"),
            ("phenylephrine_ug_min", 2000.0, "µg/min"),
            ("epinephrine_ug_min", 500.0, "µg/min"),
        )
    }
    dose_columns = [c for c in doses if c in frame.columns]
    doses_recorded = np.zeros(n, dtype=bool)
    for column in dose_columns:
        doses_recorded |= (frame[column] != "").to_numpy()
    organ = parse_int(frame, "organ_toxicity_grade", problems, required=False, minimum=0, maximum=5)
    transaminase = parse_int(frame, "transaminase_grade", problems, required=False, minimum=0, maximum=5)
    life = _optional_bool(frame, "life_threatening_hypotension", problems)
    # CARTOX grade 4 is life-threatening hypotension: flagged on a row without hypotension it contradicts
    # the row, as a vasopressor does (D-19.938); never graded as no hypotension
    life_without_hypotension = ~hypotension & ~hyp_blank & (life == True)  # noqa: E712 (None, True, False)
    for i in np.flatnonzero(life_without_hypotension):
        problems.add(
            i,
            "life_threatening_hypotension",
            frame["life_threatening_hypotension"].iat[i],
            f"life-threatening hypotension given {from_sbp[0]}"
            if derive[i]
            else LIFE_THREATENING_WITHOUT_HYPOTENSION,
            f"{from_sbp[1]}, else false or blank"
            if derive[i]
            else LIFE_THREATENING_WITHOUT_HYPOTENSION_ALLOWED,
        )
    return CrsInputs(
        subject_id=subject,
        assessed_at=assessed,
        temperature_c=temp_c,
        fever_masked=fever_masked,
        hypotension=hypotension.astype(bool),
        vasopressors=np.nan_to_num(vasopressors, nan=0.0),
        vasopressin=vasopressin,
        oxygen_code=oxygen_code,
        oxygen_l_min=flow,
        death_due_to_crs=death,
        fever_other_cause=other,
        crs_resolved=resolved,
        fio2_pct=fio2,
        norepinephrine_ug_min=np.nan_to_num(doses["norepinephrine_ug_min"]),
        dopamine_ug_kg_min=np.nan_to_num(doses["dopamine_ug_kg_min"]),
        phenylephrine_ug_min=np.nan_to_num(doses["phenylephrine_ug_min"]),
        epinephrine_ug_min=np.nan_to_num(doses["epinephrine_ug_min"]),
        doses_recorded=doses_recorded,
        organ_toxicity_grade=organ,
        transaminase_grade=transaminase,
        life_threatening_hypotension=life,
    )


@dataclass(frozen=True)
class IcansInputs:
    """Parsed ICANS assessment columns; `ice_total` is NaN where ICE was not assessable."""

    subject_id: npt.NDArray[np.object_]
    assessed_at: list[datetime | None]
    ice_total: npt.NDArray[np.float64]
    consciousness_code: npt.NDArray[np.int8]
    seizure_code: npt.NDArray[np.int8]
    motor_code: npt.NDArray[np.int8]
    edema_code: npt.NDArray[np.int8]
    consciousness_other_cause: npt.NDArray[np.bool_]


def _codes(values: npt.NDArray[np.object_], choices: tuple[str, ...]) -> npt.NDArray[np.int8]:
    """The position of each value among `choices` (0 for None or a value not among them)."""
    out = np.zeros(len(values), dtype=np.int8)
    for code, choice in enumerate(choices):
        out[values == choice] = code
    return out


def parse_icans_frame(frame: pd.DataFrame, problems: RowProblems) -> IcansInputs:
    """Validate and parse an ICANS assessments form (``docs/templates/icans_assessments.csv``).

    ICE: the five items (orientation 0-4, naming 0-3, command 0-1, writing 0-1, attention 0-1), all or
    none, or `ice_total` 0-10 (which must equal the item sum when both are given); blank only with
    ``consciousness=unarousable`` (not assessable), and an unarousable patient cannot score above 0.
    Categories: `consciousness` (alert | awakens_spontaneously | awakens_to_voice | awakens_to_tactile |
    unarousable), `seizure`, `motor`, `cerebral_edema`.

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> inputs = parse_icans_frame(pd.DataFrame({"subject_id": ["S1"], "assessed_at": ["2024-01-11T08:00Z"],
    ...     "consciousness": ["alert"], "seizure": ["none"], "motor": ["none"], "cerebral_edema": ["none"],
    ...     "ice_orientation": [4], "ice_naming": [3], "ice_command": [1], "ice_writing": [0],
    ...     "ice_attention": [1]}), RowProblems("icans.csv"))
    >>> inputs.ice_total.tolist()  # the items summed
    [9.0]
    """
    frame = text_frame(frame)  # typed frames (numbers, booleans, datetimes) as CSV text
    n = len(frame)
    subject = parse_text(frame, "subject_id", problems)
    assessed = parse_datetime(frame, "assessed_at", problems)
    items = {
        column: parse_int(frame, column, problems, required=False, minimum=0, maximum=maximum)
        for column, maximum in zip(ICE_ITEM_COLUMNS, ICE_ITEM_MAXIMA.values(), strict=True)
    }
    total = parse_int(frame, "ice_total", problems, required=False, minimum=0, maximum=10)
    consciousness = parse_choice(frame, "consciousness", [c.value for c in CONSCIOUSNESS_LEVELS], problems)
    seizure = parse_choice(frame, "seizure", [s.value for s in SEIZURE_TYPES], problems)
    motor = parse_choice(frame, "motor", [m.value for m in MOTOR_FINDINGS], problems)
    edema = parse_choice(frame, "cerebral_edema", [e.value for e in EDEMA_TYPES], problems)
    other = parse_bool(frame, "consciousness_other_cause", problems, required=False)
    present = np.zeros((n, len(ICE_ITEM_COLUMNS)), dtype=bool)
    for j, column in enumerate(ICE_ITEM_COLUMNS):
        if column in frame.columns:
            present[:, j] = (frame[column] != "").to_numpy()
    item_sum = np.sum(np.column_stack([np.nan_to_num(v) for v in items.values()]), axis=1)
    total_given = (frame["ice_total"] != "").to_numpy() if "ice_total" in frame.columns else np.zeros(n, bool)
    ice = np.full(n, np.nan)
    allowed_ice = "all five ICE items or ice_total (0-10); blank only when consciousness=unarousable"
    n_items = present.sum(axis=1)
    unarousable = consciousness == Consciousness.UNAROUSABLE.value
    incomplete = (n_items > 0) & (n_items < len(ICE_ITEM_COLUMNS))
    for i in np.flatnonzero(incomplete):
        missing = [c for j, c in enumerate(ICE_ITEM_COLUMNS) if not present[i, j]]
        problems.add(i, missing[0], "", f"incomplete ICE items (missing {', '.join(missing)})", allowed_ice)
    all_items = n_items == len(ICE_ITEM_COLUMNS)
    ice[all_items] = item_sum[all_items]
    with np.errstate(invalid="ignore"):
        differs = all_items & total_given & np.isfinite(total) & (total != item_sum)
    for i in np.flatnonzero(differs):
        problems.add(
            i,
            "ice_total",
            frame["ice_total"].iat[i],
            "does not equal the sum of the five ICE items",
            allowed_ice,
        )
    total_only = (n_items == 0) & total_given
    ice[total_only] = total[total_only]
    assessed_consciousness = np.asarray(consciousness != None, dtype=bool)  # noqa: E711 (elementwise)
    ice_missing = (n_items == 0) & ~total_given & ~unarousable & assessed_consciousness
    for i in np.flatnonzero(ice_missing):
        problems.add(i, "ice_total", "", "ICE score missing for an arousable patient", allowed_ice)
    with np.errstate(invalid="ignore"):
        scored_unarousable = ~incomplete & unarousable & np.isfinite(ice) & (ice > 0)
    for i in np.flatnonzero(scored_unarousable):  # after the row's ICE problem above, as one row is read
        problems.add(
            i,
            "consciousness",
            "unarousable",
            SCORED_UNAROUSABLE,
            SCORED_UNAROUSABLE_ALLOWED,
        )
    return IcansInputs(
        subject_id=subject,
        assessed_at=assessed,
        ice_total=ice,
        consciousness_code=_codes(consciousness, tuple(c.value for c in CONSCIOUSNESS_LEVELS)),
        seizure_code=_codes(seizure, tuple(s.value for s in SEIZURE_TYPES)),
        motor_code=_codes(motor, tuple(m.value for m in MOTOR_FINDINGS)),
        edema_code=_codes(edema, tuple(e.value for e in EDEMA_TYPES)),
        consciousness_other_cause=other,
    )


@dataclass(frozen=True)
class LabInputs:
    """Parsed haematology results; values, LLNs and ULNs converted to the canonical unit of the analyte."""

    subject_id: npt.NDArray[np.object_]
    collected_at: list[datetime | None]
    analyte_code: npt.NDArray[np.int8]
    value_canonical: npt.NDArray[np.float64]
    lln_canonical: npt.NDArray[np.float64]
    life_threatening_anemia: npt.NDArray[np.bool_]
    unit: npt.NDArray[np.object_] | None = None
    """The unit each result was reported in (CTCAE states the anaemia thresholds in mmol/L as well, and those
    apply to a mmol/L result: `cartrial.grading.ctcae.grade_labs_arrays`); None: not known."""
    uln_canonical: npt.NDArray[np.float64] | None = None
    """The optional upper limit of normal (`uln`) in the canonical unit; NaN when blank (not graded with:
    CTCAE's haematology decreases are graded against the LLN); None: not given."""


def parse_labs_frame(frame: pd.DataFrame, problems: RowProblems) -> LabInputs:
    """Validate and parse a haematology results form (``docs/templates/labs.csv``).

    `analyte` one of neutrophils | platelets | hemoglobin | lymphocytes | wbc; `value` and `lln` numbers
    ≥ 0 in `unit` (an LLN of 0 bounds no CTCAE grade: `derive_lab_grades` does not grade it, D-19.959;
    optional `uln`, a number ≥ 0 in the same unit), which must be a known unit of the analyte (counts:
    10^9/L, 10^3/µL, /mm³, cells/µL, …; haemoglobin: g/dL, g/L, mmol/L). A blank or unknown unit
    is an error, never guessed. Optional `life_threatening_anemia` (true/false, default false): see
    `cartrial.grading.ctcae.grade_lab`.

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> inputs = parse_labs_frame(pd.DataFrame({"subject_id": ["S1"], "collected_at": ["2024-01-11"],
    ...     "analyte": ["neutrophils"], "value": [450], "unit": ["cells/µL"], "lln": [1800]}),
    ...     RowProblems("labs"))
    >>> inputs.value_canonical.tolist()  # in 10^9/L
    [0.45]
    """
    frame = text_frame(frame)  # typed frames (numbers, booleans, datetimes) as CSV text
    n = len(frame)
    subject = parse_text(frame, "subject_id", problems)
    collected = parse_datetime(frame, "collected_at", problems)
    analytes = parse_choice(frame, "analyte", [a.value for a in ANALYTES], problems)
    value = parse_float(frame, "value", problems, minimum=0)
    # an LLN of 0 is kept: the row is a count for ICAHT; CTCAE grading names it as not gradable
    # (`derive_lab_grades`, D-19.959)
    lln = parse_float(frame, "lln", problems, minimum=0)
    uln = parse_float(frame, "uln", problems, minimum=0, required=False)
    units = frame["unit"].to_numpy(dtype=object) if "unit" in frame.columns else np.full(n, "", dtype=object)
    factor = np.full(n, np.nan)
    # each distinct (analyte, unit) pair is looked up once: a study has a handful, and a million rows
    analyte_codes, analyte_texts = pd.factorize(analytes, sort=False)  # None (blank or unknown): -1
    unit_codes, unit_texts = distinct(units)  # a NaN keeps its own code
    n_units = max(len(unit_texts), 1)
    given = analyte_codes >= 0
    pair_keys = analyte_codes.astype(np.int64) * n_units + unit_codes
    pairs, pair_of_given = np.unique(pair_keys[given], return_inverse=True)
    found = [
        _unit_lookup(str(analyte_texts[key // n_units]), str(unit_texts[key % n_units]))
        for key in pairs.tolist()
    ]
    pair_of_row = np.full(n, -1, dtype=np.intp)
    pair_of_row[given] = pair_of_given.reshape(-1)
    factor[given] = np.array([f[0] for f in found], dtype=float)[pair_of_row[given]]
    refused = np.array([f[1] is not None for f in found] + [False], dtype=bool)[pair_of_row]  # -1: the False
    for i in np.flatnonzero(refused):
        _, message, allowed = found[pair_of_row[i]]
        problems.add(i, "unit", units[i], message, allowed)
    codes = _codes(analytes, tuple(a.value for a in ANALYTES))
    # a power of ten moves the decimal point (D-19.846): 450 cells/µL is the double of 0.45 ×10^9/L
    value_canonical, lln_canonical = to_canonical(value, factor), to_canonical(lln, factor)
    for column, canonical in (("value", value_canonical), ("lln", lln_canonical)):
        for i in np.flatnonzero(np.abs(canonical) > MAX_LAB_CANONICAL):  # NaN (blank, bad unit): False
            problems.add(
                i, column, frame[column].iat[i], "out of range", _lab_limit_text(analytes[i], factor[i])
            )
            canonical[i] = np.nan  # never carried into a grade, a rounding or ICAHT's cells/µL
    return LabInputs(
        subject_id=subject,
        collected_at=collected,
        analyte_code=codes,
        value_canonical=value_canonical,
        lln_canonical=lln_canonical,
        uln_canonical=to_canonical(uln, factor),
        life_threatening_anemia=parse_bool(frame, "life_threatening_anemia", problems, required=False),
        unit=units,
    )


def _lab_limit_text(analyte: str, factor: float) -> str:
    """The allowed text of a haematology value above `MAX_LAB_CANONICAL`: the limit in the analyte's
    canonical unit and, exactly (`rounding.exact_text`; 15 significant digits, rounded down so the number
    shown is itself allowed), in "the row's unit" — the unit cell is the row's value, never quoted (D-12.2,
    D-19.909)."""
    limit = Context(prec=15, rounding=ROUND_DOWN).divide(
        Decimal(repr(MAX_LAB_CANONICAL)), Decimal(repr(float(factor)))
    )
    canonical = CANONICAL_UNIT[Analyte(analyte)]
    return (
        f"a number ≥ 0 and at most {exact_text(MAX_LAB_CANONICAL)} {canonical} once converted "
        f"(at most {exact_text(limit)} in the row's unit)"
    )


def _unit_lookup(analyte: str, unit: str) -> tuple[float, str | None, str]:
    """(factor to the canonical unit, problem message or None, allowed units) of one analyte and unit."""
    allowed = choice_text(allowed_units(analyte))
    if unit == "":
        return np.nan, "unit is required", allowed
    try:
        return unit_factor(analyte, unit), None, allowed
    except InputError:
        return np.nan, f"unknown unit for {analyte}", allowed


def parse_infusions_frame(frame: pd.DataFrame, problems: RowProblems) -> dict[str, datetime]:
    """Infusion time of each subject (columns `subject_id`, `infused_at`, optional `time_zone`; other
    columns ignored). With a `time_zone` (IANA, the subject's site's) the time is read on that zone's clock
    (`cartrial.columns.on_site_clock`): the same instant, its date the site's calendar date — day 0 of the
    subject's study days (D-19.607); blank or absent is UTC. A date typed without a time is that date on
    the site's calendar, from its 00:00 there (`cartrial.columns.site_cell_moment`, D-19.721).

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> frame = pd.DataFrame({"subject_id": ["S1"], "infused_at": ["2024-01-10"]})
    >>> parse_infusions_frame(frame, RowProblems("infusions"))
    {'S1': datetime.datetime(2024, 1, 10, 0, 0, tzinfo=datetime.timezone.utc)}
    """
    frame = text_frame(frame)  # typed frames (numbers, booleans, datetimes) as CSV text
    subject = parse_text(frame, "subject_id", problems)
    infused = parse_datetime(frame, "infused_at", problems)
    zones = parse_time_zones(frame, problems)
    out: dict[str, datetime] = {}
    for i, (sid, moment, zone) in enumerate(zip(subject, infused, zones, strict=True)):
        if sid in out:
            problems.add(i, "subject_id", sid, "subject listed twice", "one infusion row per subject")
        elif sid and moment is not None:
            # a date typed without a time is that date on the site's calendar: day 0 starts at its 00:00
            # there (D-19.721); a date-time is its instant on the site's clock
            out[str(sid)] = site_cell_moment(frame["infused_at"].iat[i], moment, zone)
    return out


@dataclass(frozen=True)
class TherapyRecord:
    """One therapy administration (``docs/templates/therapies.csv``)."""

    subject_id: str
    given_at: datetime
    therapy: str
    agent: str
    dose: float | None
    unit: str


def parse_therapies_frame(frame: pd.DataFrame, problems: RowProblems) -> list[TherapyRecord]:
    """Therapies given: `therapy` one of tocilizumab | corticosteroid | vasopressor | antipyretic | anakinra
    | other; `dose` ≥ 0 (optional, in `unit`).

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> records = parse_therapies_frame(pd.DataFrame({"subject_id": ["S1"], "given_at": ["2024-01-12T10:00Z"],
    ...     "therapy": ["tocilizumab"], "dose": [8]}), RowProblems("therapies"))
    >>> records[0].therapy, records[0].dose
    ('tocilizumab', 8.0)
    """
    frame = text_frame(frame)  # typed frames (numbers, booleans, datetimes) as CSV text
    subject = parse_text(frame, "subject_id", problems)
    given = parse_datetime(frame, "given_at", problems)
    therapy = parse_choice(frame, "therapy", THERAPY_CATEGORIES, problems)
    agent = parse_text(frame, "agent", problems, required=False)
    dose = parse_float(frame, "dose", problems, required=False, minimum=0)
    unit = parse_text(frame, "unit", problems, required=False)
    kept = np.flatnonzero(~problems.bad_mask(len(frame))).tolist()
    # plain lists: one record per good row without numpy scalar indexing
    subject_l, therapy_l, agent_l, dose_l, unit_l = (
        a.tolist() for a in (subject, therapy, agent, dose, unit)
    )
    return [
        TherapyRecord(
            subject_id=str(subject_l[i]),
            given_at=given[i],  # type: ignore[arg-type]
            therapy=str(therapy_l[i]),
            agent=str(agent_l[i]),
            dose=None if math.isnan(dose_l[i]) else float(dose_l[i]),
            unit=str(unit_l[i]),
        )
        for i in kept
    ]


__all__ = [
    "CRS_ONE_OF",
    "CRS_OPTIONAL",
    "CRS_REQUIRED",
    "ICANS_OPTIONAL",
    "ICANS_REQUIRED",
    "INFUSIONS_REQUIRED",
    "LABS_OPTIONAL",
    "LABS_REQUIRED",
    "TEMPERATURE_RANGE_C",
    "THERAPIES_OPTIONAL",
    "THERAPIES_REQUIRED",
    "THERAPY_CATEGORIES",
    "CrsInputs",
    "IcansInputs",
    "LabInputs",
    "TherapyRecord",
    "parse_crs_frame",
    "parse_icans_frame",
    "parse_infusions_frame",
    "parse_labs_frame",
    "parse_therapies_frame",
]
