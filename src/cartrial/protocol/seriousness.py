"""The seriousness criteria of an adverse event (ICH E2A §II.B; SDTMIG 3.4 AE), declared once (D-19.328).

An adverse event is serious when it results in death, is life-threatening, requires or prolongs inpatient
hospitalisation, results in persistent or significant disability/incapacity, is a congenital
anomaly/birth defect, or is another medically important event. The store keeps one yes/no field per
criterion on the adverse event (`cartrial.store.models.AdverseEvent`, its field rules, template, web form
and API follow from the table); SDTM AE carries them as AESDTH … AESMIE (`cartrial.cdisc.sdtm`); the
store's edit check `AE-SERIOUSNESS-CRITERIA` (`criteria_disagreement`) queries a serious event without a
criterion and a criterion on an event that is not serious; the simulator writes them with its E2A rule
(`cartrial.simulation.study.seriousness_criteria`). Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cartrial.columns import FALSE_WORDS, TRUE_WORDS, trim_blanks
from cartrial.protocol.death import is_fatal


@dataclass(frozen=True)
class Criterion:
    """One seriousness criterion: the store's field, the SDTM AE variable and its words (ICH E2A)."""

    field: str
    sdtm: str
    words: str
    label: str
    """The criterion as a form labels it after "Serious:" (D-19.332)."""


SERIOUSNESS_CRITERIA: tuple[Criterion, ...] = (
    Criterion("serious_death", "AESDTH", "results in death", "results in death"),
    Criterion("serious_life_threatening", "AESLIFE", "is life-threatening", "life-threatening"),
    Criterion(
        "serious_hospitalisation",
        "AESHOSP",
        "requires or prolongs inpatient hospitalisation",
        "hospitalisation (new or prolonged)",
    ),
    Criterion(
        "serious_disability",
        "AESDISAB",
        "results in persistent or significant disability/incapacity",
        "disability/incapacity",
    ),
    Criterion(
        "serious_congenital_anomaly",
        "AESCONG",
        "is a congenital anomaly/birth defect",
        "congenital anomaly/birth defect",
    ),
    Criterion(
        "serious_medically_important",
        "AESMIE",
        "is another medically important serious event",
        "other medically important event",
    ),
)
"""The six criteria in the order of SDTMIG 3.4 AE."""

CRITERIA_FIELDS: tuple[str, ...] = tuple(c.field for c in SERIOUSNESS_CRITERIA)
SERIOUSNESS_SOURCE = "ICH E2A §II.B (serious adverse event); SDTMIG 3.4 AE (AESDTH … AESMIE)"


def flag(value: Any) -> bool | None:
    """A yes/no value (a boolean, or a yes/no word the import reads, `cartrial.columns.TRUE_WORDS` /
    `FALSE_WORDS`, in any case; a number 1.0/0.0 as a frame holds it) as True/False; None when blank or
    anything else (not known)."""
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = trim_blanks(str(value)).lower()
    if text in TRUE_WORDS or text == "1.0":
        return True
    if text in FALSE_WORDS or text == "0.0":
        return False
    return None


def criteria_disagreement(serious: Any, criteria: dict[str, Any]) -> str | None:
    """Why an event's seriousness and its criteria disagree (None: they agree, or seriousness is not
    recorded): serious with no criterion ticked, or a criterion ticked on an event recorded not serious.
    `criteria` maps the criterion fields to their values (a missing field is blank).

    >>> criteria_disagreement(True, {"serious_death": True}) is None
    True
    >>> criteria_disagreement("true", {})
    'serious with no seriousness criterion'
    >>> criteria_disagreement(False, {"serious_hospitalisation": "true"})
    'a seriousness criterion on an event that is not serious'
    """
    is_serious = flag(serious)
    ticked = any(flag(criteria.get(name)) for name in CRITERIA_FIELDS)
    if is_serious is True and not ticked:
        return "serious with no seriousness criterion"
    if is_serious is False and ticked:
        return "a seriousness criterion on an event that is not serious"
    return None


RECOVERED_OUTCOMES = ("recovered", "recovering", "recovered_with_sequelae", "not_recovered")
"""Outcomes of an adverse event that say the patient is alive (the store's AE outcome choices)."""


def fatal_disagreement(
    serious: Any, death: Any, outcome: Any, grade: Any, category: Any = None
) -> tuple[str, str] | None:
    """(field, why) where a fatal event's seriousness disagrees with its death (None: it agrees, or what
    would disagree is blank). An event is fatal as `cartrial.protocol.death.is_fatal` reads one: grade 5
    (CTCAE v5.0: death related to the AE), category ``death`` or outcome ``fatal``; ICH E2A §II.B makes
    such an event serious by the criterion "results in death" (D-19.333): recorded not serious →
    ``serious``; the death criterion recorded "no" → ``serious_death``; the death criterion on an event
    whose outcome says the patient is alive → ``serious_death``.

    >>> fatal_disagreement("false", None, "fatal", 5)
    ('serious', 'a fatal event recorded not serious')
    >>> fatal_disagreement(True, True, "recovered", 3)
    ('serious_death', 'the death criterion on an event whose outcome says the patient is alive')
    >>> fatal_disagreement(True, None, "fatal", 5) is None
    True
    """
    text = trim_blanks(str(outcome)).lower() if outcome is not None else ""
    fatal = is_fatal(grade, category, outcome)
    if fatal and flag(serious) is False:
        return "serious", "a fatal event recorded not serious"
    if fatal and flag(death) is False:
        return "serious_death", "a fatal event with the death criterion recorded no"
    if flag(death) is True and text in RECOVERED_OUTCOMES:
        return "serious_death", "the death criterion on an event whose outcome says the patient is alive"
    return None


def sdtm_flags(serious: Any, criteria: dict[str, Any]) -> dict[str, str]:
    """AESDTH … AESMIE of one event: Y or N for each criterion of a serious event (AESER = Y), blank when
    the criterion is not recorded; every one blank when the event is not serious or its seriousness is not
    known (SDTMIG 3.4 AE: the criteria are expected when AESER = Y, null otherwise).

    >>> sdtm_flags("true", {"serious_death": "true", "serious_hospitalisation": "false"})["AESDTH"]
    'Y'
    >>> set(sdtm_flags("false", {"serious_death": "true"}).values())
    {''}
    """
    out: dict[str, str] = {}
    for criterion in SERIOUSNESS_CRITERIA:
        value = flag(criteria.get(criterion.field)) if flag(serious) is True else None
        out[criterion.sdtm] = "" if value is None else ("Y" if value else "N")
    return out


__all__ = [
    "CRITERIA_FIELDS",
    "SERIOUSNESS_CRITERIA",
    "SERIOUSNESS_SOURCE",
    "Criterion",
    "criteria_disagreement",
    "fatal_disagreement",
    "flag",
    "sdtm_flags",
]
