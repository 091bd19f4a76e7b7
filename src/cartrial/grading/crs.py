"""Cytokine release syndrome (CRS) grade of one assessment by the ASTCT 2019 consensus.

Source: Lee DW, Santomasso BD, Locke FL, et al. ASTCT consensus grading for cytokine release syndrome and
neurologic toxicity associated with immune effector cells. *Biol Blood Marrow Transplant* 2019;25:625-638,
Table (CRS grading); renderings PMC8021214 Table 1 and PMC9327779 Table 2. Rule ids (CRS-1 … CRS-9) and
ambiguity ids (A1 … A6) refer to docs/science/toxicity-grading.md §1.

Two layers that must agree (tested with hypothesis): `grade_crs` grades one assessment and returns a
`CrsGrade` naming the rule that decided it; `grade_crs_arrays` grades columns (numpy arrays) for batch use.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import (
    Allowed,
    allowed,
    check_argument,
    check_fields,
    check_flag,
    enum_member,
    gap_to_none,
)
from cartrial.errors import InputError, Problem
from cartrial.grading.choices import MaskingClasses

ASTCT_SOURCE = "Lee DW et al. ASTCT consensus grading, Biol Blood Marrow Transplant 2019;25:625-638"
CRS_SOURCE = f"{ASTCT_SOURCE}, CRS table (PMC8021214 Table 1; PMC9327779 Table 2)"
CRS_SCALE = "ASTCT 2019"

FEVER_THRESHOLD_C = 38.0
"""Fever is a temperature ≥ 38.0 °C (ASTCT 2019 CRS table, fever row)."""

LOW_FLOW_MAX_L_MIN = 6.0
"""Nasal cannula at ≤ 6 L/min is low flow (grade 2), > 6 L/min high flow (grade 3) (CRS-5)."""

TEMPERATURE_RANGE_C = (30.0, 45.0)
"""Plausible body temperature; values outside are data errors (docs/science/decisions.md D-3.1)."""
SBP_RANGE_MMHG = (20.0, 300.0)
"""Plausible systolic blood pressure; values outside are data errors."""
MAX_OXYGEN_L_MIN = 100.0
"""Largest oxygen flow accepted (L/min)."""
MAX_VASOPRESSORS = 10
"""Largest number of vasopressors accepted for one assessment."""
_TEMPERATURE = Allowed(low=TEMPERATURE_RANGE_C[0], high=TEMPERATURE_RANGE_C[1], unit="°C")
_SBP = Allowed(low=SBP_RANGE_MMHG[0], high=SBP_RANGE_MMHG[1], unit="mmHg")
_VASOPRESSORS = Allowed(low=0, high=MAX_VASOPRESSORS, integer=True)
_OXYGEN_FLOW = Allowed(low=0, high=MAX_OXYGEN_L_MIN, unit="L/min", optional=True)
FLOW_WITHOUT_OXYGEN = "oxygen flow given with oxygen=none"
"""The problem of a flow above 0 L/min with the device ``none``: oxygen is given, so the row contradicts
itself (the form's rule, `cartrial.grading.tables.parse_crs_frame`, and `grade_crs`'s; D-19.958)."""
FLOW_WITHOUT_OXYGEN_ALLOWED = "blank or 0 when oxygen=none"


class OxygenDevice(StrEnum):
    """How oxygen is delivered; the ASTCT hypoxia grade depends on the device (and flow for nasal cannula)."""

    NONE = "none"
    BLOW_BY = "blow_by"
    NASAL_CANNULA = "nasal_cannula"
    HIGH_FLOW_NASAL_CANNULA = "high_flow_nasal_cannula"
    FACEMASK = "facemask"
    NON_REBREATHER = "non_rebreather"
    VENTURI = "venturi"
    CPAP = "cpap"
    BIPAP = "bipap"
    MECHANICAL_VENTILATION = "mechanical_ventilation"

    @property
    def code(self) -> int:
        return OXYGEN_CODES[self]


OXYGEN_DEVICES: tuple[OxygenDevice, ...] = tuple(OxygenDevice)
OXYGEN_CODES: dict[OxygenDevice, int] = {device: i for i, device in enumerate(OXYGEN_DEVICES)}
# Grade of each device whatever the flow (CRS-6); nasal cannula (graded by flow, CRS-5) is set per row.
_DEVICE_GRADE: dict[OxygenDevice, int] = {
    OxygenDevice.NONE: 0,
    OxygenDevice.BLOW_BY: 2,
    OxygenDevice.NASAL_CANNULA: 2,
    OxygenDevice.HIGH_FLOW_NASAL_CANNULA: 3,
    OxygenDevice.FACEMASK: 3,
    OxygenDevice.NON_REBREATHER: 3,
    OxygenDevice.VENTURI: 3,
    OxygenDevice.CPAP: 4,
    OxygenDevice.BIPAP: 4,
    OxygenDevice.MECHANICAL_VENTILATION: 4,
}
_DEVICE_GRADE_TABLE = np.array([_DEVICE_GRADE[d] for d in OXYGEN_DEVICES], dtype=np.int8)


class HypotensionReason(IntEnum):
    """Which hypotension criterion applied (codes of the vectorised layer)."""

    NONE = 0
    NO_VASOPRESSOR = 1
    VASOPRESSIN_ALONE = 2
    ONE_VASOPRESSOR = 3
    MULTIPLE_VASOPRESSORS = 4


class FeverState(IntEnum):
    """Whether the fever requirement of ASTCT CRS is met, and how."""

    ABSENT = 0
    PRESENT = 1
    MASKED = 2
    OTHER_CAUSE = 3  # ≥ 38.0 °C but attributed to another cause (CRS-1), not masked


@dataclass(frozen=True)
class CrsOptions:
    """The choices where the ASTCT 2019 sources are silent or disagree (docs/science/toxicity-grading.md
    §1.4).

    - `post_masking_grade` (A1): grade of a time point after masking therapy with no fever, hypotension or
      hypoxia. Default **1**: CRS grade 1 continues until a resolution is recorded; 0 treats CRS as
      resolved at such a time point. Sources are silent [U]: awaiting confirmation.
    - `masking_classes` (A2): which drugs mask fever. Default the broader PMC8021214 rule (antipyretics,
      anti-cytokine therapy, corticosteroids). Used where therapies are known (episodes with a therapies
      file); per-row grading takes the recorded `fever_masked` flag.
    - `vasopressin_alone_grade` (A3): hypotension on vasopressin without any other vasopressor. Default
      **3** (the table: grade 3 needs "a vasopressor with or without vasopressin", so any vasopressor
      requirement is at least grade 3); 2 counts only non-vasopressin drugs [D].
    - `sbp_threshold_mmhg` (A4): systolic blood pressure below which hypotension is present, used only when
      hypotension is derived from a recorded SBP. Default **90** mmHg (adults);
      paediatric thresholds are age-specific [U]: awaiting confirmation.
    """

    post_masking_grade: int = field(default=1, metadata=allowed(values=(0, 1)))
    masking_classes: MaskingClasses = MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID
    vasopressin_alone_grade: int = field(default=3, metadata=allowed(values=(2, 3)))
    sbp_threshold_mmhg: float = field(default=90.0, metadata=allowed(low=40, high=140, unit="mmHg"))

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(
            self, "masking_classes", enum_member(MaskingClasses, self.masking_classes, "masking_classes")
        )

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["masking_classes"] = self.masking_classes.value
        return values


@dataclass(frozen=True)
class CrsGrade:
    """ASTCT 2019 CRS grade of one assessment, with the rule that decided it."""

    grade: int
    rule: str
    hypotension_grade: int
    hypoxia_grade: int
    fever: FeverState
    options: CrsOptions = field(default_factory=CrsOptions)
    scale: str = CRS_SCALE
    source: str = CRS_SOURCE


def celsius_from_fahrenheit(temperature_f: float | npt.NDArray[np.float64]) -> Any:
    """Temperature in °C from °F: (F − 32) × 5/9.

    >>> round(float(celsius_from_fahrenheit(101.3)), 2)  # (101.3 - 32) x 5/9
    38.5
    """
    return (temperature_f - 32.0) * 5.0 / 9.0


def hypotension_from_sbp(systolic_bp_mmhg: float, options: CrsOptions | None = None) -> bool:
    """Hypotension as systolic BP < `options.sbp_threshold_mmhg` (default 90 mmHg, adults; CRS-7, A4 [U]).

    >>> hypotension_from_sbp(84), hypotension_from_sbp(90)  # SBP < 90 mmHg (A4 default)
    (True, False)

    An SBP that is not a number from 20 to 300 mmHg (NaN included) is an `InputError` (D-19.79).
    """
    check_argument("systolic_bp_mmhg", systolic_bp_mmhg, _SBP)
    return bool(systolic_bp_mmhg < (options or CrsOptions()).sbp_threshold_mmhg)


_HYPOTENSION_TEXT = {
    HypotensionReason.NO_VASOPRESSOR: "hypotension not needing a vasopressor",
    HypotensionReason.VASOPRESSIN_ALONE: "hypotension on vasopressin alone (vasopressin_alone_grade={va})",
    HypotensionReason.ONE_VASOPRESSOR: "one vasopressor (with or without vasopressin)",
    HypotensionReason.MULTIPLE_VASOPRESSORS: "multiple vasopressors (vasopressin not counted)",
}
_OXYGEN_TEXT = {
    OxygenDevice.BLOW_BY: "blow-by oxygen",
    OxygenDevice.NASAL_CANNULA: "nasal cannula ≤ 6 L/min",
    OxygenDevice.HIGH_FLOW_NASAL_CANNULA: "high-flow nasal cannula",
    OxygenDevice.FACEMASK: "facemask",
    OxygenDevice.NON_REBREATHER: "non-rebreather mask",
    OxygenDevice.VENTURI: "Venturi mask",
    OxygenDevice.CPAP: "positive pressure (CPAP)",
    OxygenDevice.BIPAP: "positive pressure (BiPAP)",
    OxygenDevice.MECHANICAL_VENTILATION: "positive pressure (mechanical ventilation)",
}
_NASAL_HIGH_TEXT = "nasal cannula > 6 L/min"


def crs_rule_text(
    grade: int,
    fever: FeverState,
    hypotension_reason: HypotensionReason,
    hypotension_grade: int,
    oxygen: OxygenDevice,
    hypoxia_grade: int,
    options: CrsOptions,
    death: bool = False,
) -> str:
    """Human text of the rule that decided an ASTCT CRS grade (shared by both layers)."""
    if death:
        return "grade 5: death due to CRS"
    if fever is FeverState.ABSENT:
        return f"grade 0: no fever (< {FEVER_THRESHOLD_C:.1f} °C) and fever not masked"
    if fever is FeverState.OTHER_CAUSE:
        return "grade 0: fever attributed to another cause and not masked (CRS-1)"
    if grade <= 1:
        if fever is FeverState.PRESENT:
            return f"grade 1: fever ≥ {FEVER_THRESHOLD_C:.1f} °C without hypotension or hypoxia"
        return (
            f"grade {grade}: fever masked by therapy, no hypotension or hypoxia "
            f"(post_masking_grade={options.post_masking_grade})"
        )
    parts: list[str] = []
    if hypotension_grade == grade:
        parts.append(_HYPOTENSION_TEXT[hypotension_reason].format(va=options.vasopressin_alone_grade))
    if hypoxia_grade == grade:
        high_nasal = oxygen is OxygenDevice.NASAL_CANNULA and hypoxia_grade == 3
        parts.append(_NASAL_HIGH_TEXT if high_nasal else _OXYGEN_TEXT[oxygen])
    masked = " (fever masked)" if fever is FeverState.MASKED else ""
    return f"grade {grade}: {' and '.join(parts)}{masked}"


def pressor_without_hypotension(hypotension: bool, vasopressors: int, vasopressin: bool) -> Problem | None:
    """The problem of a vasopressor (or vasopressin) given with ``hypotension=False``, else None.

    A vasopressor means hypotension needing one (ASTCT grade 3/4; Lee 2014 and CARTOX grade 2/3): with
    hypotension=false the inputs contradict each other, as the forms refuse them (D-3.2), and are never graded
    as no hypotension (D-19.674). One rule for `grade_crs` and `grade_legacy_crs` (D-19.938).

    >>> pressor_without_hypotension(False, 1, False).message
    'vasopressors given with hypotension=false'
    """
    if hypotension or not (vasopressors > 0 or vasopressin):
        return None
    name = "vasopressors" if vasopressors > 0 else "vasopressin"
    return Problem(
        f"{name} given with hypotension=false",
        field=name,
        allowed="0 when hypotension=false" if vasopressors > 0 else "false when hypotension=false",
    )


def grade_crs(
    *,
    temperature_c: float,
    fever_masked: bool,
    hypotension: bool,
    vasopressors: int,
    vasopressin: bool,
    oxygen: OxygenDevice | str,
    oxygen_l_min: float | None = None,
    death_due_to_crs: bool = False,
    fever_other_cause: bool = False,
    options: CrsOptions | None = None,
) -> CrsGrade:
    """ASTCT 2019 CRS grade of one assessment.

    Inputs: `temperature_c` (°C); `fever_masked`: antipyretic or anti-cytokine therapy given since fever
    onset (CRS-2); `hypotension`; `vasopressors`: number of vasopressors other than vasopressin;
    `vasopressin`: vasopressin given; `oxygen`: delivery device; `oxygen_l_min`: flow in L/min (needed for
    nasal cannula); `death_due_to_crs`; `fever_other_cause`: fever attributed to another cause (CRS-1).
    A temperature outside 30-45 °C or NaN, a vasopressor count that is not a whole number 0-10, a flow
    outside 0-100 L/min and a flag that is not a boolean are an `InputError` naming the argument; a NaN
    flow (a gap in a column) is no flow recorded (D-19.79). Vasopressors or vasopressin with
    ``hypotension=False`` contradict each other (a vasopressor is given for hypotension): an `InputError`, as
    the forms refuse them (D-3.2, D-19.674); so does a flow above 0 L/min with ``oxygen="none"`` (oxygen is
    given: D-19.958).

    Rules (ASTCT 2019 CRS table; docs/science/toxicity-grading.md §1.2-1.3): death due to CRS is grade 5
    (CRS-9);
    without fever (≥ 38.0 °C, not attributed elsewhere) or masking the grade is 0; otherwise the worse of
    the hypotension grade (2 without vasopressor, 3 with one vasopressor with or without vasopressin, 4 with
    two or more vasopressors, vasopressin not counted: CRS-4; vasopressin alone: option A3) and the hypoxia
    grade (blow-by or nasal cannula ≤ 6 L/min 2; nasal cannula > 6 L/min, high-flow nasal cannula,
    facemask, non-rebreather, Venturi 3; CPAP, BiPAP, mechanical ventilation 4: CRS-5, CRS-6); with
    neither, grade 1 with fever, or `options.post_masking_grade` when masked without fever (A1).

    >>> g = grade_crs(temperature_c=38.9, fever_masked=False, hypotension=True, vasopressors=1,
    ...               vasopressin=False, oxygen="none")
    >>> g.grade, g.hypotension_grade  # one vasopressor: grade 3
    (3, 3)
    """
    opts = options or CrsOptions()
    device = enum_member(OxygenDevice, oxygen, "oxygen")
    check_argument("temperature_c", temperature_c, _TEMPERATURE)
    check_argument("vasopressors", vasopressors, _VASOPRESSORS)
    oxygen_l_min = gap_to_none(oxygen_l_min)  # a NaN flow (a gap in a column) is no flow recorded
    check_argument("oxygen_l_min", oxygen_l_min, _OXYGEN_FLOW)
    hypotension, vasopressin, fever_masked, death_due_to_crs, fever_other_cause = (
        check_flag(name, value)
        for name, value in (
            ("hypotension", hypotension),
            ("vasopressin", vasopressin),
            ("fever_masked", fever_masked),
            ("death_due_to_crs", death_due_to_crs),
            ("fever_other_cause", fever_other_cause),
        )
    )
    if device is OxygenDevice.NASAL_CANNULA and oxygen_l_min is None:
        raise InputError(
            Problem(
                "a flow is required for oxygen by nasal cannula (≤ 6 L/min is low flow)",
                field="oxygen_l_min",
                allowed=_OXYGEN_FLOW.text().removesuffix(" or none"),
            )
        )
    if device is OxygenDevice.NONE and oxygen_l_min is not None and oxygen_l_min > 0:
        # oxygen flowing is an oxygen requirement (the hypoxia row): with oxygen=none the inputs contradict
        # each other, as the form refuses them; never graded as no hypoxia (D-19.958, as D-19.674)
        raise InputError(
            Problem(FLOW_WITHOUT_OXYGEN, field="oxygen_l_min", allowed=FLOW_WITHOUT_OXYGEN_ALLOWED)
        )
    pressor_problem = pressor_without_hypotension(hypotension, vasopressors, vasopressin)
    if pressor_problem is not None:
        raise InputError(pressor_problem)
    # hypotension grade (CRS-4, A3)
    if not hypotension:
        reason, hyp = HypotensionReason.NONE, 0
    elif vasopressors >= 2:
        reason, hyp = HypotensionReason.MULTIPLE_VASOPRESSORS, 4
    elif vasopressors == 1:
        reason, hyp = HypotensionReason.ONE_VASOPRESSOR, 3
    elif vasopressin:
        reason, hyp = HypotensionReason.VASOPRESSIN_ALONE, opts.vasopressin_alone_grade
    else:
        reason, hyp = HypotensionReason.NO_VASOPRESSOR, 2
    # hypoxia grade (CRS-5, CRS-6)
    if device is OxygenDevice.NASAL_CANNULA:
        assert oxygen_l_min is not None
        oxy = 2 if oxygen_l_min <= LOW_FLOW_MAX_L_MIN else 3
    else:
        oxy = _DEVICE_GRADE[device]
    # fever requirement (CRS-1, CRS-2)
    febrile = temperature_c >= FEVER_THRESHOLD_C
    if febrile and not fever_other_cause:
        fever = FeverState.PRESENT
    elif fever_masked:
        fever = FeverState.MASKED
    elif febrile:
        fever = FeverState.OTHER_CAUSE
    else:
        fever = FeverState.ABSENT
    if death_due_to_crs:
        grade = 5
    elif fever in (FeverState.ABSENT, FeverState.OTHER_CAUSE):
        grade = 0
    else:
        grade = max(hyp, oxy)
        if grade == 0:
            grade = 1 if fever is FeverState.PRESENT else opts.post_masking_grade
    rule = crs_rule_text(grade, fever, reason, hyp, device, oxy, opts, death=death_due_to_crs)
    return CrsGrade(
        grade=grade, rule=rule, hypotension_grade=hyp, hypoxia_grade=oxy, fever=fever, options=opts
    )


@dataclass(frozen=True)
class CrsGradeArrays:
    """Column-wise ASTCT CRS grades; `rule_texts()` gives the same texts as `grade_crs(...).rule`."""

    grade: npt.NDArray[np.int8]
    hypotension_grade: npt.NDArray[np.int8]
    hypotension_reason: npt.NDArray[np.int8]
    hypoxia_grade: npt.NDArray[np.int8]
    fever: npt.NDArray[np.int8]
    oxygen_code: npt.NDArray[np.int8]
    death: npt.NDArray[np.bool_]
    options: CrsOptions

    def rule_texts(self) -> npt.NDArray[np.object_]:
        """The rule text of every row, built once per distinct combination of the decisive codes."""
        keys = (
            self.grade.astype(np.int64) * 10_000
            + self.fever.astype(np.int64) * 1_000
            + self.hypotension_reason.astype(np.int64) * 100
            + self.oxygen_code.astype(np.int64) * 10
            + self.hypoxia_grade.astype(np.int64)
        )
        keys = np.where(self.death, -1, keys)
        unique, inverse = np.unique(keys, return_inverse=True)
        texts = np.empty(len(unique), dtype=object)
        for j, key in enumerate(unique):
            i = int(np.flatnonzero(keys == key)[0])
            texts[j] = crs_rule_text(
                int(self.grade[i]),
                FeverState(int(self.fever[i])),
                HypotensionReason(int(self.hypotension_reason[i])),
                int(self.hypotension_grade[i]),
                OXYGEN_DEVICES[int(self.oxygen_code[i])],
                int(self.hypoxia_grade[i]),
                self.options,
                death=bool(self.death[i]),
            )
        return texts[inverse.reshape(-1)]


def oxygen_codes(devices: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Integer codes (positions in `OXYGEN_DEVICES`) of an array of device names.

    >>> oxygen_codes(["none", "nasal_cannula"]).tolist()  # positions in OXYGEN_DEVICES
    [0, 2]
    """
    lookup = {d.value: c for d, c in OXYGEN_CODES.items()}
    return np.array([lookup[str(d)] for d in np.asarray(devices, dtype=object)], dtype=np.int8)


def grade_crs_arrays(
    *,
    temperature_c: npt.NDArray[np.float64],
    fever_masked: npt.NDArray[np.bool_],
    hypotension: npt.NDArray[np.bool_],
    vasopressors: npt.NDArray[np.integer[Any]] | npt.NDArray[np.float64],
    vasopressin: npt.NDArray[np.bool_],
    oxygen_code: npt.NDArray[np.integer[Any]],
    oxygen_l_min: npt.NDArray[np.float64],
    death_due_to_crs: npt.NDArray[np.bool_] | None = None,
    fever_other_cause: npt.NDArray[np.bool_] | None = None,
    options: CrsOptions | None = None,
) -> CrsGradeArrays:
    """ASTCT 2019 CRS grades of many assessments at once (same rules and options as `grade_crs`).

    `oxygen_code` holds positions in `OXYGEN_DEVICES` (see `oxygen_codes`); `oxygen_l_min` is NaN where not
    applicable (a NaN flow with nasal cannula grades as high flow, so validate inputs first, as
    `cartrial.grading.tables.parse_crs_frame` does). Source: as `grade_crs`.

    >>> import numpy as np
    >>> graded = grade_crs_arrays(temperature_c=np.array([38.9, 37.0]), fever_masked=np.array([False, False]),
    ...     hypotension=np.array([False, False]), vasopressors=np.array([0, 0]),
    ...     vasopressin=np.array([False, False]), oxygen_code=oxygen_codes(["nasal_cannula", "none"]),
    ...     oxygen_l_min=np.array([4.0, np.nan]))
    >>> graded.grade.tolist()  # low-flow nasal cannula: 2; afebrile without hypotension or oxygen: 0
    [2, 0]
    """
    opts = options or CrsOptions()
    n = len(temperature_c)
    death = np.zeros(n, dtype=bool) if death_due_to_crs is None else np.asarray(death_due_to_crs, bool)
    other = np.zeros(n, dtype=bool) if fever_other_cause is None else np.asarray(fever_other_cause, bool)
    hyp_flag = np.asarray(hypotension, dtype=bool)
    pressors = np.asarray(vasopressors)
    vaso = np.asarray(vasopressin, dtype=bool)
    reason = np.where(
        pressors >= 2,
        HypotensionReason.MULTIPLE_VASOPRESSORS,
        np.where(
            pressors >= 1,
            HypotensionReason.ONE_VASOPRESSOR,
            np.where(vaso, HypotensionReason.VASOPRESSIN_ALONE, HypotensionReason.NO_VASOPRESSOR),
        ),
    ).astype(np.int8)
    reason[~hyp_flag] = HypotensionReason.NONE
    hyp_grade_of_reason = np.array([0, 2, opts.vasopressin_alone_grade, 3, 4], dtype=np.int8)
    hyp = hyp_grade_of_reason[reason]
    code = np.asarray(oxygen_code, dtype=np.int8)
    oxy = _DEVICE_GRADE_TABLE[code]
    with np.errstate(invalid="ignore"):
        nasal_high = (code == OXYGEN_CODES[OxygenDevice.NASAL_CANNULA]) & ~(
            oxygen_l_min <= LOW_FLOW_MAX_L_MIN
        )
    oxy = np.where(nasal_high, np.int8(3), oxy).astype(np.int8)
    febrile = np.asarray(temperature_c) >= FEVER_THRESHOLD_C
    masked = np.asarray(fever_masked, dtype=bool)
    present = febrile & ~other
    fever = np.where(
        present,
        FeverState.PRESENT,
        np.where(masked, FeverState.MASKED, np.where(febrile, FeverState.OTHER_CAUSE, FeverState.ABSENT)),
    ).astype(np.int8)
    worst = np.maximum(hyp, oxy)
    floor = np.where(present, np.int8(1), np.int8(opts.post_masking_grade))
    grade = np.where(worst == 0, floor, worst)
    grade = np.where(present | masked, grade, np.int8(0))
    grade = np.where(death, np.int8(5), grade).astype(np.int8)
    return CrsGradeArrays(
        grade=grade,
        hypotension_grade=hyp,
        hypotension_reason=reason,
        hypoxia_grade=oxy,
        fever=fever,
        oxygen_code=code,
        death=death,
        options=opts,
    )


__all__ = [
    "CRS_SCALE",
    "CRS_SOURCE",
    "FEVER_THRESHOLD_C",
    "FLOW_WITHOUT_OXYGEN",
    "FLOW_WITHOUT_OXYGEN_ALLOWED",
    "LOW_FLOW_MAX_L_MIN",
    "OXYGEN_DEVICES",
    "CrsGrade",
    "CrsGradeArrays",
    "CrsOptions",
    "FeverState",
    "HypotensionReason",
    "MaskingClasses",
    "OxygenDevice",
    "celsius_from_fahrenheit",
    "grade_crs",
    "grade_crs_arrays",
    "hypotension_from_sbp",
    "oxygen_codes",
    "pressor_without_hypotension",
]
