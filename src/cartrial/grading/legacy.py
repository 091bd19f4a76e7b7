"""Legacy CRS grades (Lee 2014 and CARTOX) from the same observations, for regrading older data.

Sources: Lee DW et al. *Blood* 2014;124:188 (CRS grading); Neelapu SS et al. *Nat Rev Clin Oncol* 2018;15:47
(CARTOX); both as tabulated in PMC7006459 Table 2 and *Exp Hematol Oncol* doi:10.1186/s40164-020-00171-5
Table 2 (docs/science/toxicity-grading.md §3.1). Lee 2014 "high-dose vasopressor" definition: §3.2 [U:
awaiting
confirmation against Lee 2014 Table 2], so its thresholds are parameters (`HighDoseVasopressorThresholds`).

These scales grade oxygen by FiO2 (40% cut), hypotension by vasopressor dose, and include organ toxicity,
which ASTCT observations need not contain. Each criterion is therefore evaluated to a range of possible
grades: a grade is returned only when the known criteria decide it (the worst known criterion is at least
as severe as anything the missing inputs could give); otherwise the result is "not gradable" and names the
missing inputs. Regraded values are stored alongside the ASTCT grade, never over it (§3.4).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from cartrial.allowed import Allowed, check_argument, check_flag, check_instance, enum_member
from cartrial.errors import InputError, Problem
from cartrial.grading.crs import (
    _TEMPERATURE,
    _VASOPRESSORS,
    FEVER_THRESHOLD_C,
    OxygenDevice,
    pressor_without_hypotension,
)
from cartrial.grading.tables import (
    FIO2_WITHOUT_OXYGEN,
    FIO2_WITHOUT_OXYGEN_ALLOWED,
    LIFE_THREATENING_WITHOUT_HYPOTENSION,
    LIFE_THREATENING_WITHOUT_HYPOTENSION_ALLOWED,
    ROOM_AIR_FIO2_PCT,
    fio2_without_oxygen,
)

LEE_2014_SOURCE = "Lee DW et al. Blood 2014;124:188, CRS grading (as tabulated in PMC7006459 Table 2)"
CARTOX_SOURCE = "Neelapu SS et al. Nat Rev Clin Oncol 2018;15:47, CARTOX CRS grading (PMC7006459 Table 2)"
FIO2_CUT_PCT = 40.0
_DOSE = Allowed(low=0, label="a finite dose ≥ 0 (0: not given)")
_FIO2 = Allowed(low=ROOM_AIR_FIO2_PCT, high=100, unit="%")
_ORGAN_GRADE = Allowed(low=0, high=5, integer=True)
"""A CTCAE grade 0-5, as the CRS form's `organ_toxicity_grade` and `transaminase_grade`
(`parse_crs_frame`)."""


class LegacyScale(StrEnum):
    LEE_2014 = "Lee 2014"
    CARTOX = "CARTOX"


@dataclass(frozen=True)
class HighDoseVasopressorThresholds:
    """Lee 2014 "high-dose vasopressor" thresholds (docs/science/toxicity-grading.md §3.2).

    Awaiting confirmation: the values are from recollection of Lee 2014 Table 2 [U]; they are parameters so
    that a verified table can replace them. Single agents: noradrenaline ≥ 20 µg/min, dopamine ≥ 10
    µg/kg/min, phenylephrine ≥ 200 µg/min, adrenaline ≥ 10 µg/min; with vasopressin: noradrenaline-
    equivalent ≥ 10 µg/min; combination without vasopressin: noradrenaline-equivalent ≥ 20 µg/min, where
    noradrenaline-equivalent = noradrenaline + dopamine/2 + adrenaline + phenylephrine/10 (mixed units as
    published).
    """

    norepinephrine_ug_min: float = 20.0
    dopamine_ug_kg_min: float = 10.0
    phenylephrine_ug_min: float = 200.0
    epinephrine_ug_min: float = 10.0
    with_vasopressin_ne_equivalent_ug_min: float = 10.0
    combination_ne_equivalent_ug_min: float = 20.0


@dataclass(frozen=True)
class VasopressorDoses:
    """Vasopressor doses of one assessment (0 where the agent is not given)."""

    norepinephrine_ug_min: float = 0.0
    dopamine_ug_kg_min: float = 0.0
    phenylephrine_ug_min: float = 0.0
    epinephrine_ug_min: float = 0.0
    vasopressin: bool = False

    def __post_init__(self) -> None:
        # a NaN or negative dose would read as "not given" (D-19.79)
        for name in (
            "norepinephrine_ug_min",
            "dopamine_ug_kg_min",
            "phenylephrine_ug_min",
            "epinephrine_ug_min",
        ):
            check_argument(name, getattr(self, name), _DOSE)
        object.__setattr__(self, "vasopressin", check_flag("vasopressin", self.vasopressin))

    def ne_equivalent_ug_min(self) -> float:
        """Noradrenaline-equivalent dose (µg/min), §3.2 formula."""
        return (
            self.norepinephrine_ug_min
            + self.dopamine_ug_kg_min / 2.0
            + self.epinephrine_ug_min
            + self.phenylephrine_ug_min / 10.0
        )


def is_high_dose(doses: VasopressorDoses, thresholds: HighDoseVasopressorThresholds | None = None) -> bool:
    """Lee 2014 high-dose vasopressor test (§3.2 [U], thresholds are parameters; see the class).

    >>> is_high_dose(VasopressorDoses(norepinephrine_ug_min=20.0)), is_high_dose(VasopressorDoses())
    (True, False)
    """
    check_instance("doses", doses, VasopressorDoses)
    t = thresholds or HighDoseVasopressorThresholds()
    agents = {
        "norepinephrine": doses.norepinephrine_ug_min,
        "dopamine": doses.dopamine_ug_kg_min,
        "phenylephrine": doses.phenylephrine_ug_min,
        "epinephrine": doses.epinephrine_ug_min,
    }
    given = [name for name, dose in agents.items() if dose > 0]
    if doses.vasopressin:
        return doses.ne_equivalent_ug_min() >= t.with_vasopressin_ne_equivalent_ug_min
    if len(given) >= 2:
        return doses.ne_equivalent_ug_min() >= t.combination_ne_equivalent_ug_min
    if not given:
        return False
    single = {
        "norepinephrine": t.norepinephrine_ug_min,
        "dopamine": t.dopamine_ug_kg_min,
        "phenylephrine": t.phenylephrine_ug_min,
        "epinephrine": t.epinephrine_ug_min,
    }
    name = given[0]
    return agents[name] >= single[name]


def _agent_dosed(doses: VasopressorDoses) -> bool:
    """Whether a dose > 0 of a vasopressor other than vasopressin is recorded."""
    return any(
        dose > 0
        for dose in (
            doses.norepinephrine_ug_min,
            doses.dopamine_ug_kg_min,
            doses.phenylephrine_ug_min,
            doses.epinephrine_ug_min,
        )
    )


@dataclass(frozen=True)
class LegacyObservation:
    """What the legacy scales need; None means not recorded.

    `organ_toxicity_grade`: worst CTCAE grade of CRS-associated organ toxicity other than transaminases;
    `transaminase_grade`: worst CTCAE grade of transaminase elevation; `fio2_pct`: inspired oxygen fraction
    (%); `doses`: vasopressor doses; `life_threatening_hypotension` (CARTOX grade 4).
    """

    temperature_c: float | None
    hypotension: bool | None
    vasopressors: int | None
    vasopressin: bool | None
    oxygen: OxygenDevice | None
    fio2_pct: float | None = None
    doses: VasopressorDoses | None = None
    organ_toxicity_grade: int | None = None
    transaminase_grade: int | None = None
    life_threatening_hypotension: bool | None = None
    death_due_to_crs: bool = False

    def __post_init__(self) -> None:
        # a notebook's observation is checked as the CRS form checks a row (`parse_crs_frame`): a
        # temperature of 138.5 °C, -2 vasopressors or an organ toxicity grade 9 is never graded (grade 9 was
        # returned), and a device given as text is the device (D-19.939); None stays "not recorded"
        for name, rule in (
            ("temperature_c", _TEMPERATURE),
            ("vasopressors", _VASOPRESSORS),
            ("fio2_pct", _FIO2),
            ("organ_toxicity_grade", _ORGAN_GRADE),
            ("transaminase_grade", _ORGAN_GRADE),
        ):
            if getattr(self, name) is not None:
                check_argument(name, getattr(self, name), rule)
        for name in ("hypotension", "vasopressin", "life_threatening_hypotension"):
            if getattr(self, name) is not None:
                object.__setattr__(self, name, check_flag(name, getattr(self, name)))
        object.__setattr__(self, "death_due_to_crs", check_flag("death_due_to_crs", self.death_due_to_crs))
        if self.oxygen is not None:
            object.__setattr__(self, "oxygen", enum_member(OxygenDevice, self.oxygen, "oxygen"))
        if self.doses is not None:
            check_instance("doses", self.doses, VasopressorDoses)
        if self.hypotension is False:
            # contradictions with hypotension=false are refused, never graded as no hypotension (D-19.938)
            problem = pressor_without_hypotension(False, self.vasopressors or 0, bool(self.vasopressin))
            if problem is None and self.life_threatening_hypotension:
                problem = Problem(
                    LIFE_THREATENING_WITHOUT_HYPOTENSION,
                    field="life_threatening_hypotension",
                    allowed=LIFE_THREATENING_WITHOUT_HYPOTENSION_ALLOWED,
                )
            if problem is not None:
                raise InputError(problem)


@dataclass(frozen=True)
class LegacyGrade:
    """A legacy CRS grade, or None (not gradable) with the inputs that would be needed."""

    scale: LegacyScale
    grade: int | None
    rule: str
    missing_inputs: tuple[str, ...]
    thresholds: HighDoseVasopressorThresholds = field(default_factory=HighDoseVasopressorThresholds)
    noninvasive_is_ventilator_support: bool = True
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "scale": self.scale.value,
            "grade": self.grade,
            "rule": self.rule,
            "missing_inputs": list(self.missing_inputs),
            "thresholds": asdict(self.thresholds),
            "noninvasive_is_ventilator_support": self.noninvasive_is_ventilator_support,
        }


@dataclass(frozen=True)
class _Criterion:
    name: str
    low: int
    high: int
    text: str
    missing: tuple[str, ...] = ()


def _criteria(
    obs: LegacyObservation,
    scale: LegacyScale,
    thresholds: HighDoseVasopressorThresholds,
    noninvasive_is_ventilator_support: bool,
) -> list[_Criterion]:
    out: list[_Criterion] = []
    # constitutional symptoms / fever: Lee grade 1 "fever, nausea, ..."; CARTOX grade 1 "T >= 38 °C"
    if obs.temperature_c is None:
        out.append(_Criterion("fever", 0, 1, "fever unknown", ("temperature_c",)))
    elif obs.temperature_c >= FEVER_THRESHOLD_C:
        out.append(_Criterion("fever", 1, 1, f"fever ≥ {FEVER_THRESHOLD_C:.1f} °C"))
    else:
        out.append(_Criterion("fever", 0, 0, "no fever"))
    # oxygen: ventilator support grade 4, otherwise FiO2 < 40% grade 2, ≥ 40% grade 3
    ventilator = {OxygenDevice.MECHANICAL_VENTILATION}
    if noninvasive_is_ventilator_support:
        ventilator |= {OxygenDevice.CPAP, OxygenDevice.BIPAP}
    if obs.oxygen is None:
        out.append(_Criterion("oxygen", 0, 4, "oxygen unknown", ("oxygen",)))
    elif obs.oxygen is OxygenDevice.NONE:
        out.append(_Criterion("oxygen", 0, 0, "no oxygen"))
    elif obs.oxygen in ventilator:
        out.append(_Criterion("oxygen", 4, 4, f"ventilator support ({obs.oxygen.value})"))
    elif obs.fio2_pct is None:
        out.append(_Criterion("oxygen", 2, 3, "oxygen with FiO2 unknown", ("fio2_pct",)))
    elif obs.fio2_pct >= FIO2_CUT_PCT:
        out.append(_Criterion("oxygen", 3, 3, f"FiO2 ≥ {FIO2_CUT_PCT:g}%"))
    else:
        out.append(_Criterion("oxygen", 2, 2, f"FiO2 < {FIO2_CUT_PCT:g}%"))
    # hypotension: fluids / low-dose single vasopressor 2; high-dose or multiple 3; CARTOX life-threatening 4
    top = 4 if scale is LegacyScale.CARTOX else 3
    if obs.hypotension is None:
        out.append(_Criterion("hypotension", 0, top, "hypotension unknown", ("hypotension",)))
    elif not obs.hypotension:
        out.append(_Criterion("hypotension", 0, 0, "no hypotension"))
    else:
        pressors = obs.vasopressors
        vaso = obs.vasopressin
        if pressors is None or vaso is None:
            low, high, text = 2, 3, "hypotension, vasopressors unknown"
            missing: tuple[str, ...] = ("vasopressors",)
        else:
            total = pressors + (1 if vaso else 0)  # Lee/CARTOX count vasopressin as a pressor
            if total == 0:
                low, high, text, missing = 2, 2, "hypotension responsive to fluids", ()
            elif total >= 2:
                low, high, text, missing = 3, 3, "hypotension needing multiple vasopressors", ()
            elif obs.doses is None or (pressors >= 1 and not _agent_dosed(obs.doses)):
                # one vasopressor with no agent's dose recorded (all 0 or blank): low or high dose unknown
                # (D-19.677)
                low, high, text, missing = 2, 3, "one vasopressor, dose unknown", ("vasopressor doses",)
            elif is_high_dose(obs.doses, thresholds):
                low, high, text, missing = 3, 3, "hypotension needing a high-dose vasopressor", ()
            else:
                low, high, text, missing = 2, 2, "hypotension needing a low-dose vasopressor", ()
        if scale is LegacyScale.CARTOX and low >= 2:
            if obs.life_threatening_hypotension is None:
                high = 4
                missing = (*missing, "life_threatening_hypotension")
            elif obs.life_threatening_hypotension:
                low, high, text = 4, 4, "life-threatening hypotension"
        out.append(_Criterion("hypotension", low, high, text, missing))
    # organ toxicity: grade g organ toxicity → CRS grade g (grade 1 organ toxicity: CRS grade 1 [D]);
    # transaminases: grade 4 transaminase elevation counts as grade 3, so transaminase grade g → min(g, 3)
    if obs.organ_toxicity_grade is None:
        out.append(_Criterion("organ toxicity", 0, 4, "organ toxicity unknown", ("organ_toxicity_grade",)))
    else:
        g = obs.organ_toxicity_grade
        out.append(_Criterion("organ toxicity", g, g, f"grade {g} organ toxicity"))
    if obs.transaminase_grade is None:
        out.append(_Criterion("transaminases", 0, 3, "transaminases unknown", ("transaminase_grade",)))
    else:
        g = min(obs.transaminase_grade, 3)
        out.append(
            _Criterion("transaminases", g, g, f"grade {obs.transaminase_grade} transaminase elevation")
        )
    return out


def grade_legacy_crs(
    obs: LegacyObservation,
    scale: LegacyScale | str,
    *,
    thresholds: HighDoseVasopressorThresholds | None = None,
    noninvasive_is_ventilator_support: bool = True,
) -> LegacyGrade:
    """Lee 2014 or CARTOX CRS grade where the inputs suffice, else None naming the missing inputs.

    Criteria (PMC7006459 Table 2; docs/science/toxicity-grading.md §3.1): grade 1 fever (Lee:
    non-life-threatening
    symptoms; only fever is observed here) or grade 1 organ toxicity; grade 2 FiO2 < 40%, hypotension
    responsive to fluids or a low dose of one vasopressor, grade 2 organ toxicity; grade 3 FiO2 ≥ 40%,
    hypotension needing high-dose or multiple vasopressors, grade 3 organ toxicity or grade 4 transaminase
    elevation; grade 4 ventilator support, grade 4 organ toxicity (transaminases excluded), and for CARTOX
    life-threatening hypotension; grade 5 death. Neither scale requires fever at grades 2-4.

    An FiO2 above room air (21%) with ``oxygen=none`` contradicts itself (oxygen is given): an `InputError`
    naming `fio2_pct`, as the form refuses it (D-19.647), never graded as "no oxygen" (D-19.958).

    `noninvasive_is_ventilator_support` [U], awaiting confirmation: whether CPAP/BiPAP count as the
    "ventilator support" of grade 4; default True (positive-pressure support), False grades them by
    FiO2. `thresholds`: Lee 2014 high-dose vasopressor thresholds (awaiting confirmation [U]).

    >>> obs = LegacyObservation(temperature_c=38.5, hypotension=True, vasopressors=0, vasopressin=False,
    ...     oxygen=OxygenDevice.NONE, organ_toxicity_grade=0, transaminase_grade=0,
    ...     life_threatening_hypotension=False)
    >>> grade_legacy_crs(obs, LegacyScale.CARTOX).grade  # hypotension without vasopressor: grade 2
    2
    >>> grade_legacy_crs(LegacyObservation(38.5, True, 0, False, OxygenDevice.NONE), "CARTOX").rule[:14]
    'not gradable: '
    """
    kind = LegacyScale(scale)
    if fio2_without_oxygen(obs.oxygen, obs.fio2_pct):
        # FiO2 < 40% is grade 2, ≥ 40% grade 3: oxygen given with the device "none" is refused, the form's
        # one rule (D-19.647), not read as room air (D-19.958)
        raise InputError(Problem(FIO2_WITHOUT_OXYGEN, field="fio2_pct", allowed=FIO2_WITHOUT_OXYGEN_ALLOWED))
    limits = thresholds or HighDoseVasopressorThresholds()
    source = LEE_2014_SOURCE if kind is LegacyScale.LEE_2014 else CARTOX_SOURCE
    common: dict[str, Any] = {
        "scale": kind,
        "thresholds": limits,
        "noninvasive_is_ventilator_support": noninvasive_is_ventilator_support,
        "source": source,
    }
    if obs.death_due_to_crs:
        return LegacyGrade(grade=5, rule="grade 5: death due to CRS", missing_inputs=(), **common)
    criteria = _criteria(obs, kind, limits, noninvasive_is_ventilator_support)
    low = max(c.low for c in criteria)
    high = max(c.high for c in criteria)
    if low == high:
        deciding = [c.text for c in criteria if c.low == low and c.high == low] if low else []
        rule = f"grade {low}: " + (" and ".join(deciding) if deciding else "no criterion met")
        return LegacyGrade(grade=low, rule=rule, missing_inputs=(), **common)
    missing = tuple(dict.fromkeys(m for c in criteria if c.high > low for m in c.missing))
    rule = f"not gradable: grade {low}-{high} depending on missing inputs: {', '.join(missing)}"
    return LegacyGrade(grade=None, rule=rule, missing_inputs=missing, **common)


__all__ = [
    "CARTOX_SOURCE",
    "LEE_2014_SOURCE",
    "HighDoseVasopressorThresholds",
    "LegacyGrade",
    "LegacyObservation",
    "LegacyScale",
    "VasopressorDoses",
    "grade_legacy_crs",
    "is_high_dose",
]
