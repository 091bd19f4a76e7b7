"""ICE score and ICANS grade of one assessment by the ASTCT 2019 consensus.

Source: Lee DW et al. ASTCT consensus grading, *Biol Blood Marrow Transplant* 2019;25:625-638: ICE score
(PMC8153820 Table 2; PMC9327779 Table 2) and ICANS grading table (PMC9327779 Table 2). Rule ids ICANS-1 …
ICANS-5 refer to docs/science/toxicity-grading.md §2.

Two layers that must agree: `grade_icans` (one assessment, returns an `IcansGrade` naming the deciding
domain) and `grade_icans_arrays` (columns, for batch use).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from cartrial.allowed import Allowed, check_argument, check_flag, enum_member, gap_to_none
from cartrial.errors import InputError, Problem
from cartrial.grading.crs import ASTCT_SOURCE

ICE_SOURCE = f"{ASTCT_SOURCE}, ICE score (PMC8153820 Table 2; PMC9327779 Table 2)"
ICANS_SOURCE = f"{ASTCT_SOURCE}, ICANS grading table (PMC9327779 Table 2)"
ICANS_SCALE = "ASTCT 2019"

ICE_ITEM_MAXIMA: dict[str, int] = {
    "orientation": 4,
    "naming": 3,
    "command": 1,
    "writing": 1,
    "attention": 1,
}
"""Maximum points of each ICE item: orientation to year, month, city, hospital (4); naming three objects
(3); following a simple command (1); writing a standard sentence (1); counting back from 100 by ten (1)."""
ICE_TOTAL = Allowed(low=0, high=sum(ICE_ITEM_MAXIMA.values()), integer=True, optional=True)
"""An ICE score: a whole number 0-10, or None when not assessable (an unarousable patient)."""


class Consciousness(StrEnum):
    """Level of consciousness. ``alert`` (not depressed) is grade 0; the others are the ASTCT
    depressed-level-of-consciousness grades 1-4 (awakens spontaneously, to voice, only to tactile stimulus,
    unarousable / needs vigorous or repetitive stimuli)."""

    ALERT = "alert"
    AWAKENS_SPONTANEOUSLY = "awakens_spontaneously"
    AWAKENS_TO_VOICE = "awakens_to_voice"
    AWAKENS_TO_TACTILE = "awakens_to_tactile"
    UNAROUSABLE = "unarousable"


class Seizure(StrEnum):
    """Seizure domain: any rapidly resolving clinical seizure or non-convulsive seizure on EEG resolving
    with intervention is grade 3; a prolonged (> 5 min) or repetitive seizure without return to baseline is
    grade 4."""

    NONE = "none"
    RAPIDLY_RESOLVING = "rapidly_resolving"
    PROLONGED_OR_REPETITIVE = "prolonged_or_repetitive"


class MotorFinding(StrEnum):
    """Motor domain: deep focal motor weakness (hemiparesis, paraparesis) is grade 4."""

    NONE = "none"
    DEEP_FOCAL_WEAKNESS = "deep_focal_weakness"


class CerebralEdema(StrEnum):
    """Raised ICP / cerebral oedema domain: focal oedema on imaging grade 3; diffuse oedema (or posturing,
    cranial nerve VI palsy, papilloedema, Cushing's triad) grade 4."""

    NONE = "none"
    FOCAL = "focal"
    DIFFUSE = "diffuse"


CONSCIOUSNESS_LEVELS: tuple[Consciousness, ...] = tuple(Consciousness)
SEIZURE_TYPES: tuple[Seizure, ...] = tuple(Seizure)
MOTOR_FINDINGS: tuple[MotorFinding, ...] = tuple(MotorFinding)
EDEMA_TYPES: tuple[CerebralEdema, ...] = tuple(CerebralEdema)
_CONSCIOUSNESS_GRADE = np.array([0, 1, 2, 3, 4], dtype=np.int8)
_SEIZURE_GRADE = np.array([0, 3, 4], dtype=np.int8)
_MOTOR_GRADE = np.array([0, 4], dtype=np.int8)
_EDEMA_GRADE = np.array([0, 3, 4], dtype=np.int8)
DOMAINS = ("ICE", "consciousness", "seizure", "motor", "cerebral_edema")


def ice_score(orientation: int, naming: int, command: int, writing: int, attention: int) -> int:
    """ICE score (0-10) as the sum of its five items; each item is a whole number within 0..its maximum
    (anything else, NaN, 2.5 or True included, is an `InputError` naming the item; D-19.79).

    Source: ASTCT 2019 ICE score (PMC8153820 Table 2).

    >>> ice_score(4, 3, 1, 1, 1), ice_score(2, 1, 0, 1, 0)  # the five items summed
    (10, 4)
    """
    items = {
        "orientation": orientation,
        "naming": naming,
        "command": command,
        "writing": writing,
        "attention": attention,
    }
    for name, value in items.items():
        check_argument(name, value, Allowed(low=0, high=ICE_ITEM_MAXIMA[name], integer=True))
    return int(sum(items.values()))


SCORED_UNAROUSABLE = "an unarousable patient cannot score ICE above 0"
"""The problem of an ICE above 0 with ``consciousness=unarousable``: an unarousable patient cannot perform
the ICE (ICANS-1), so the row contradicts itself (the form's rule,
`cartrial.grading.tables.parse_icans_frame`, and `grade_icans`'s; D-19.963)."""
SCORED_UNAROUSABLE_ALLOWED = "ICE blank or 0 when unarousable"


def ice_domain_grade(ice: int | None, unarousable: bool) -> int:
    """ICANS grade of the ICE domain: 10 → 0, 7-9 → 1, 3-6 → 2, 0-2 → 3; 4 when the patient is unarousable
    and ICE cannot be performed (ICE missing or 0 with an unarousable patient, ICANS-1)."""
    if unarousable and (ice is None or ice == 0):
        return 4
    if ice is None:
        raise InputError(
            Problem(
                "an ICE score is required unless the patient is unarousable",
                field="ice_total",
                allowed=ICE_TOTAL.text().removesuffix(" or none"),
            )
        )
    if ice >= 10:
        return 0
    if ice >= 7:
        return 1
    if ice >= 3:
        return 2
    return 3


@dataclass(frozen=True)
class IcansGrade:
    """ASTCT 2019 ICANS grade of one assessment with the grade of each domain and the deciding rule."""

    grade: int
    rule: str
    ice_score: int | None
    domain_grades: dict[str, int]
    scale: str = ICANS_SCALE
    source: str = ICANS_SOURCE


_SEDATED_ICE_TEXT = "ICE not assessable (unarousable, attributed to another cause)"


def icans_rule_text(
    grade: int, domain_grades: dict[str, int], ice: int | None, other_cause_unarousable: bool = False
) -> str:
    """Text naming the domain(s) that decided the ICANS grade (shared by both layers)."""
    if grade == 0:
        if other_cause_unarousable:
            return f"grade 0: {_SEDATED_ICE_TEXT}; no seizure, motor finding or cerebral oedema"
        return "grade 0: ICE 10 and no depressed consciousness, seizure, motor finding or cerebral oedema"
    parts = []
    for domain in DOMAINS:
        if domain_grades[domain] == grade:
            if domain == "ICE":
                parts.append("ICE not assessable, unarousable" if ice is None else f"ICE {ice}")
            else:
                parts.append(domain.replace("_", " "))
    return f"grade {grade}: {' and '.join(parts)}"


def grade_icans(
    *,
    consciousness: Consciousness | str,
    seizure: Seizure | str = Seizure.NONE,
    motor: MotorFinding | str = MotorFinding.NONE,
    cerebral_edema: CerebralEdema | str = CerebralEdema.NONE,
    ice_total: int | None = None,
    consciousness_other_cause: bool = False,
) -> IcansGrade:
    """ASTCT 2019 ICANS grade: the worst of the ICE, consciousness, seizure, motor and oedema domains.

    `ice_total` is the ICE score 0-10 (None when not assessable, allowed only for an unarousable patient).
    An ICE of 0 is grade 3 in an arousable patient, grade 4 only when unarousable (ICANS-1).
    `consciousness_other_cause`: the depressed consciousness is attributable to another cause such as
    sedating medication, so that domain does not count (ICANS-5); nor does an ICE of 0 (or not assessable)
    that is due only to that unarousability (the ICE grade 4 is "because the patient is unarousable"; ICANS
    grades only findings not attributable to another cause). Source: PMC9327779 Table 2.
    A NaN `ice_total` (a gap in a column) is None, not assessable; one that is not a whole number 0-10
    (5.5, 11) and a domain value not of its scale are an `InputError` naming the argument (D-19.79); so is an
    ICE above 0 with ``consciousness="unarousable"`` (the form's rule, D-19.963).

    >>> grade_icans(consciousness="awakens_spontaneously", ice_total=6).grade  # ICE 3-6: grade 2
    2
    """
    level = enum_member(Consciousness, consciousness, "consciousness")
    seizure = enum_member(Seizure, seizure, "seizure")
    motor = enum_member(MotorFinding, motor, "motor")
    cerebral_edema = enum_member(CerebralEdema, cerebral_edema, "cerebral_edema")
    consciousness_other_cause = check_flag("consciousness_other_cause", consciousness_other_cause)
    unarousable = level is Consciousness.UNAROUSABLE
    ice_total = gap_to_none(ice_total)  # a NaN ICE (a gap in a column) is "not assessable"
    check_argument("ice_total", ice_total, ICE_TOTAL)
    ice_total = None if ice_total is None else int(ice_total)
    if unarousable and ice_total is not None and ice_total > 0:
        # an unarousable patient cannot perform the ICE: a score above 0 contradicts the level, as the form
        # refuses it; never graded (with consciousness_other_cause it read ICE 1 as grade 3; D-19.963)
        raise InputError(
            Problem(SCORED_UNAROUSABLE, field="consciousness", allowed=SCORED_UNAROUSABLE_ALLOWED)
        )
    sedated = unarousable and consciousness_other_cause and (ice_total is None or ice_total == 0)
    grades = {
        "ICE": 0 if sedated else ice_domain_grade(ice_total, unarousable),
        "consciousness": 0 if consciousness_other_cause else int(CONSCIOUSNESS_LEVELS.index(level)),
        "seizure": int(_SEIZURE_GRADE[SEIZURE_TYPES.index(Seizure(seizure))]),
        "motor": int(_MOTOR_GRADE[MOTOR_FINDINGS.index(MotorFinding(motor))]),
        "cerebral_edema": int(_EDEMA_GRADE[EDEMA_TYPES.index(CerebralEdema(cerebral_edema))]),
    }
    grade = max(grades.values())
    return IcansGrade(
        grade=grade,
        rule=icans_rule_text(grade, grades, ice_total, sedated),
        ice_score=ice_total,
        domain_grades=grades,
    )


@dataclass(frozen=True)
class IcansGradeArrays:
    """Column-wise ICANS grades; `rule_texts()` gives the texts of `grade_icans(...).rule`."""

    grade: npt.NDArray[np.int8]
    domain_grades: dict[str, npt.NDArray[np.int8]]
    ice_total: npt.NDArray[np.float64]
    other_cause_unarousable: npt.NDArray[np.bool_] | None = None

    def rule_texts(self) -> npt.NDArray[np.object_]:
        out = np.empty(len(self.grade), dtype=object)
        cache: dict[tuple[Any, ...], str] = {}
        sedated = (
            np.zeros(len(self.grade), dtype=bool)
            if self.other_cause_unarousable is None
            else self.other_cause_unarousable
        )
        for i in range(len(self.grade)):
            ice = None if np.isnan(self.ice_total[i]) else int(self.ice_total[i])
            domains = {d: int(self.domain_grades[d][i]) for d in DOMAINS}
            key = (int(self.grade[i]), ice, bool(sedated[i]), *domains.values())
            if key not in cache:
                cache[key] = icans_rule_text(int(self.grade[i]), domains, ice, bool(sedated[i]))
            out[i] = cache[key]
        return out


def grade_icans_arrays(
    *,
    ice_total: npt.NDArray[np.float64],
    consciousness_code: npt.NDArray[np.integer[Any]],
    seizure_code: npt.NDArray[np.integer[Any]],
    motor_code: npt.NDArray[np.integer[Any]],
    edema_code: npt.NDArray[np.integer[Any]],
    consciousness_other_cause: npt.NDArray[np.bool_] | None = None,
) -> IcansGradeArrays:
    """ICANS grades of many assessments (same rules as `grade_icans`).

    Codes are positions in `CONSCIOUSNESS_LEVELS`, `SEIZURE_TYPES`, `MOTOR_FINDINGS`, `EDEMA_TYPES`;
    `ice_total` is NaN where not assessable (valid only for unarousable patients; rows with NaN ICE in an
    arousable patient are graded as ICE 0-2, so validate first). Source: as `grade_icans`.

    >>> import numpy as np
    >>> zeros = np.zeros(2, dtype=np.int8)
    >>> grade_icans_arrays(ice_total=np.array([10.0, 2.0]), consciousness_code=zeros, seizure_code=zeros,
    ...     motor_code=zeros, edema_code=zeros).grade.tolist()  # ICE 10: grade 0; ICE 0-2: grade 3
    [0, 3]
    """
    ice = np.asarray(ice_total, dtype=float)
    level = np.asarray(consciousness_code, dtype=np.int8)
    unarousable = level == CONSCIOUSNESS_LEVELS.index(Consciousness.UNAROUSABLE)
    with np.errstate(invalid="ignore"):
        ice_grade = np.select([ice >= 10, ice >= 7, ice >= 3], [0, 1, 2], default=3).astype(np.int8)
    ice_grade[unarousable & (np.isnan(ice) | (ice == 0))] = 4
    conscious_grade = _CONSCIOUSNESS_GRADE[level]
    sedated = np.zeros(len(ice), dtype=bool)
    if consciousness_other_cause is not None:
        other = np.asarray(consciousness_other_cause, dtype=bool)
        conscious_grade = np.where(other, np.int8(0), conscious_grade).astype(np.int8)
        sedated = other & unarousable & (np.isnan(ice) | (ice == 0))
        ice_grade[sedated] = 0
    domains = {
        "ICE": ice_grade,
        "consciousness": conscious_grade,
        "seizure": _SEIZURE_GRADE[np.asarray(seizure_code, dtype=np.int8)],
        "motor": _MOTOR_GRADE[np.asarray(motor_code, dtype=np.int8)],
        "cerebral_edema": _EDEMA_GRADE[np.asarray(edema_code, dtype=np.int8)],
    }
    grade = np.maximum.reduce(list(domains.values())).astype(np.int8)
    return IcansGradeArrays(
        grade=grade, domain_grades=domains, ice_total=ice, other_cause_unarousable=sedated
    )


__all__ = [
    "CONSCIOUSNESS_LEVELS",
    "EDEMA_TYPES",
    "ICANS_SCALE",
    "ICANS_SOURCE",
    "ICE_ITEM_MAXIMA",
    "ICE_SOURCE",
    "MOTOR_FINDINGS",
    "SCORED_UNAROUSABLE",
    "SCORED_UNAROUSABLE_ALLOWED",
    "SEIZURE_TYPES",
    "CerebralEdema",
    "Consciousness",
    "IcansGrade",
    "IcansGradeArrays",
    "MotorFinding",
    "Seizure",
    "grade_icans",
    "grade_icans_arrays",
    "ice_domain_grade",
    "ice_score",
]
