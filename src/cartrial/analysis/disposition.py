"""The disposition summary (ICH E3 §10.1, CONSORT flow): per dose level and overall, how many subjects were
enrolled, lymphodepleted, infused (safety set), DLT-evaluable, their study status at the cut-off with the
reason a study was discontinued, and the deaths — counts and percent of the enrolled of the group (D-19.129).

Counted from the populations dataset (`cartrial.analysis.populations.derive_populations`) only: every rule
(who is infused, lymphodepleted, DLT-evaluable, the end-of-study status and reason, a death) is the
populations'; this module counts its flags. The groups are `cartrial.analysis.summaries.dose_level_groups`
with the protocol's levels (an undosed level shown with n = 0, D-19.108). A subject's dose level is that of
the infusion, so a subject not infused counts in the ``not infused`` group (always listed, n = 0 when everyone
enrolled was infused) and in ``all``. A group shows only the measures that can count someone in it
(`SCOPE`): a dose level has no "not infused" rows, the ``not infused`` group no "infused" or "DLT-evaluable"
row (D-19.266).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from cartrial.analysis.model import Dataset
from cartrial.analysis.populations import ENROLLED
from cartrial.analysis.summaries import ALL, dose_level_groups
from cartrial.protocol.disposition import DEATH, DISPOSITIONS, StudyStatus
from cartrial.rounding import round_half_away

_DISCONTINUED = StudyStatus.DISCONTINUED.value
_NAMED_REASONS = tuple(
    d.decoded for d in DISPOSITIONS.values() if d.status is StudyStatus.DISCONTINUED
)  # WITHDRAWAL BY SUBJECT, LOST TO FOLLOW-UP, DEATH


def _flag(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda t: t[name].astype("boolean").fillna(False).astype(bool)


def _status(value: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda t: t["study_status"].astype(str).eq(value)


def _reason(decoded: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda t: _status(_DISCONTINUED)(t) & t["discontinuation_reason"].astype(str).eq(decoded)


MEASURES: tuple[tuple[str, str, Callable[[pd.DataFrame], pd.Series]], ...] = (
    ("enrolled", "enrolled (consented by the cut-off)", lambda t: pd.Series(True, index=t.index)),
    ("lymphodepleted", "lymphodepleted", _flag("lymphodepleted")),
    ("infused", "infused with CAR-T cells (safety set)", _flag("safety")),
    (
        "lymphodepleted_not_infused",
        "lymphodepleted, not infused by the cut-off",
        lambda t: _flag("lymphodepleted")(t) & ~_flag("safety")(t),
    ),
    (
        "not_treated",
        "neither lymphodepleted nor infused by the cut-off",
        lambda t: ~_flag("lymphodepleted")(t) & ~_flag("safety")(t),
    ),
    ("dlt_evaluable", "DLT-evaluable", _flag("dlt_evaluable")),
    (
        "ongoing",
        "on study at the cut-off (ongoing)",
        # a disposition not read (stored before its vocabulary) counts as ongoing, as the populations'
        # note says
        lambda t: (
            ~t["study_status"].astype(str).isin([StudyStatus.COMPLETED.value, StudyStatus.DISCONTINUED.value])
        ),
    ),
    ("completed", "completed the study", _status(StudyStatus.COMPLETED.value)),
    ("discontinued", "discontinued the study", _status(_DISCONTINUED)),
    ("discontinued_withdrawal", "discontinued: withdrawal by subject", _reason("WITHDRAWAL BY SUBJECT")),
    ("discontinued_lost", "discontinued: lost to follow-up", _reason("LOST TO FOLLOW-UP")),
    ("discontinued_death", "discontinued: death", _reason(DEATH.decoded)),
    (
        "discontinued_other",
        "discontinued: other reason",
        lambda t: _status(_DISCONTINUED)(t) & ~t["discontinuation_reason"].astype(str).isin(_NAMED_REASONS),
    ),
    ("deaths", "deaths by the cut-off (any time after consent)", _flag("died")),
)
"""(measure, description, the subjects it counts) in display order."""

NOT_INFUSED = "not infused"
"""The group of the enrolled subjects without an infusion by the cut-off (no dose level), D-19.266."""

SCOPE: dict[str, str] = {
    "infused": "infused",
    "dlt_evaluable": "infused",
    "lymphodepleted_not_infused": NOT_INFUSED,
    "not_treated": NOT_INFUSED,
}
"""Measures that can count a subject of one kind of group only: "infused" (shown in the dose-level groups
and ``all``), `NOT_INFUSED` (shown in the ``not infused`` group and ``all``); every other measure in every
group."""

COLUMNS: dict[str, str] = {
    "group": "dose level N (of the subject's infusion; every protocol level, n = 0 if undosed), not infused "
    "(enrolled, no infusion by the cut-off) or all",
    "measure": "what is counted (enrolled, lymphodepleted, infused, ..., deaths)",
    "description": "the measure in words",
    "n": "subjects counted",
    "n_enrolled": "enrolled subjects of the group (the denominator)",
    "percent_of_enrolled": "100 × n / n_enrolled, one decimal rounded half away from zero (`stats.fixed`, "
    "D-19.234; blank when the group has no subject)",
    "subjects": "the subjects counted (;-separated)",
}


def disposition_summary(membership: pd.DataFrame, levels: Sequence[int] = ()) -> Dataset:
    """The disposition summary of the populations dataset `membership`, by dose level (`levels`: the
    protocol's) and overall.

    >>> t = pd.DataFrame({"subject_id": ["A", "B"], "dose_level": [1, None], "lymphodepleted": [True, True],
    ...     "safety": [True, False], "dlt_evaluable": [True, False], "study_status": ["ONGOING", "ONGOING"],
    ...     "discontinuation_reason": ["", ""], "died": [False, False]})
    >>> s = disposition_summary(t, (1, 2)).table
    >>> s[s["measure"] == "infused"][["group", "n", "n_enrolled", "percent_of_enrolled"]].values.tolist()
    [['dose level 1', 1, 1, 100.0], ['dose level 2', 0, 0, nan], ['all', 1, 2, 50.0]]
    >>> s[s["measure"] == "lymphodepleted_not_infused"][["group", "n", "n_enrolled"]].values.tolist()
    [['not infused', 1, 1], ['all', 1, 2]]
    """
    rows: list[dict[str, Any]] = []
    groups = dose_level_groups(membership, levels)
    infused = _flag("safety")(membership).to_numpy(dtype=bool)
    groups.insert(len(groups) - 1, (NOT_INFUSED, membership[~infused]))
    for group, part in groups:
        enrolled = len(part)
        kind = None if group == ALL else NOT_INFUSED if group == NOT_INFUSED else "infused"
        for measure, description, counted in MEASURES:
            if kind is not None and SCOPE.get(measure, kind) != kind:
                continue  # a row that could only be 0 here (D-19.266)
            mask = counted(part).to_numpy(dtype=bool) if enrolled else []
            ids = sorted(str(s) for s in part.loc[mask, "subject_id"]) if enrolled else []
            rows.append(
                {
                    "group": group,
                    "measure": measure,
                    "description": description,
                    "n": len(ids),
                    "n_enrolled": enrolled,
                    # shown as it is (report): a tie rounded half away from zero, as every table (D-19.234)
                    "percent_of_enrolled": round_half_away(100.0 * len(ids) / enrolled, 1)
                    if enrolled
                    else None,
                    "subjects": ";".join(ids),
                }
            )
    return Dataset(
        "disposition_summary",
        "Disposition of subjects by dose level and overall: n (% of enrolled)",
        pd.DataFrame(rows, columns=list(COLUMNS)),
        ENROLLED,
        "cartrial.analysis.disposition.disposition_summary (counts of the populations dataset)",
        ("subjects", "lymphodepletion", "infusions", "adverse_events"),
        columns=COLUMNS,
        notes=(
            "a subject's dose level is that of the infusion: a subject not infused counts in 'not infused' "
            "and 'all'; a dose level shows no not-infused rows, 'not infused' no infused or DLT-evaluable "
            "row (D-19.266)",
            "deaths: every death by the cut-off (a fatal adverse event or the disposition death), also "
            "one after the study had ended for another reason; discontinued: death — the study ended by "
            "the death",
        ),
    )


__all__ = ["MEASURES", "NOT_INFUSED", "SCOPE", "disposition_summary"]
