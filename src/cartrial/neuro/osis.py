"""Opticospinal Impairment Scale (OSIS): visual (per eye), motor, sensory and sphincter subscales.

Source: Wingerchuk DM et al., *Neurology* 1999;53:1107, Table 1 ("quantification of optic nerve and spinal
cord impairment"), as summarised in docs/science/neuro-outcomes.md §3. No total score is defined; subscales
are kept
separately.
"""

from __future__ import annotations

from dataclasses import dataclass

from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.neuro.visual_acuity import OffChart, VisualAcuity

#: Maximum grade of each OSIS subscale (Wingerchuk 1999 Table 1).
OSIS_MAX: dict[str, int] = {"visual_od": 7, "visual_os": 7, "motor": 6, "sensory": 4, "sphincter": 4}
OSIS_SOURCE = "Wingerchuk DM et al. Neurology 1999;53:1107, Table 1 (OSIS)"

#: Grade texts (Wingerchuk 1999 Table 1, paraphrased in docs/science/neuro-outcomes.md §3).
OSIS_GRADES: dict[str, tuple[str, ...]] = {
    "visual": (
        "normal",
        "scotoma but corrected VA better than 20/30",
        "VA 20/30 to 20/59",
        "VA 20/60 to 20/199",
        "VA 20/200 to 20/800",
        "counts fingers only",
        "light perception only",
        "no light perception",
    ),
    "motor": (
        "normal",
        "abnormal signs (hyperreflexia, Babinski) without weakness",
        "mild weakness (MRC 5- or 4+) in at least one limb",
        "moderate weakness (MRC 3 or 4) in at least one limb",
        "severe weakness (MRC 2) in at least one limb",
        "some plegic muscles (MRC 0-1) in at least one limb",
        "plegia of all muscles in at least one limb",
    ),
    "sensory": (
        "normal",
        "mild decrease in vibration",
        "mild decrease in pinprick, temperature or proprioception, or moderate decrease in vibration",
        "moderate decrease in touch, pinprick or proprioception, or essentially lost vibration",
        "loss of all sensory modalities",
    ),
    "sphincter": (
        "normal",
        "mild urgency or hesitancy, constipation",
        "moderate urgency, hesitancy or retention of bladder or bowel, or infrequent incontinence (< 1/week)",
        "frequent incontinence, or retention needing intermittent catheterisation or manual bowel assistance",
        "indwelling catheter or absent sphincter control",
    ),
}


@dataclass(frozen=True)
class OsisScores:
    """One OSIS assessment: visual grade per eye (right OD, left OS) and the three spinal subscales."""

    visual_od: int
    visual_os: int
    motor: int
    sensory: int
    sphincter: int

    def __post_init__(self) -> None:
        problems = []
        for name, top in OSIS_MAX.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
                problems.append(
                    Problem("OSIS grade out of range", field=name, value=value, allowed=f"0-{top}")
                )
        if problems:
            raise InputError(problems)

    @property
    def visual_worse_eye(self) -> int:
        return max(self.visual_od, self.visual_os)

    def describe(self) -> dict[str, str]:
        """Grade text of each subscale (Wingerchuk 1999 Table 1)."""
        return {
            "visual_od": OSIS_GRADES["visual"][self.visual_od],
            "visual_os": OSIS_GRADES["visual"][self.visual_os],
            "motor": OSIS_GRADES["motor"][self.motor],
            "sensory": OSIS_GRADES["sensory"][self.sensory],
            "sphincter": OSIS_GRADES["sphincter"][self.sphincter],
        }


def osis_visual_from_acuity(acuity: VisualAcuity, *, hand_motion_grade: int = 5) -> int:
    """OSIS visual grade implied by corrected acuity alone (Wingerchuk 1999 Table 1).

    0 if better than 20/30 (grade 1 needs a scotoma, which acuity cannot show: a lower bound); 2 for
    20/30-20/59; 3 for 20/60-20/199; 4 for 20/200-20/800; a chart acuity worse than 20/800 is 5 (no
    better than counting fingers); CF 5; LP 6; NLP 7. Hand motion is not named in the table: it lies
    between CF (5) and LP (6); ``hand_motion_grade`` default **5** ("counts fingers only" is the last
    level above light perception only) [P, awaiting confirmation], option 6.
    Bands use the Snellen 20-ft denominator rounded to a whole number.

    >>> from cartrial.neuro.visual_acuity import parse_acuity
    >>> osis_visual_from_acuity(parse_acuity("20/200")), osis_visual_from_acuity(parse_acuity("LP"))
    (4, 6)
    """
    if hand_motion_grade not in (5, 6):
        raise ConfigurationError(f"hand_motion_grade must be 5 or 6, got {hand_motion_grade}")
    if acuity.off_chart is not None:
        return {OffChart.CF: 5, OffChart.HM: hand_motion_grade, OffChart.LP: 6, OffChart.NLP: 7}[
            acuity.off_chart
        ]
    assert acuity.snellen_20 is not None
    denominator = round(acuity.snellen_20)
    if denominator < 30:
        return 0
    if denominator < 60:
        return 2
    if denominator < 200:
        return 3
    if denominator <= 800:
        return 4
    return 5


__all__ = ["OSIS_GRADES", "OSIS_MAX", "OSIS_SOURCE", "OsisScores", "osis_visual_from_acuity"]
