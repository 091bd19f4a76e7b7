"""A JSON-ready summary of a protocol with worked examples (what ``cartrial protocol show`` prints).

Worked doses for standard weights (default 50, 70 and 90 kg) at every dose level, and lymphodepletion
doses for a reference patient (default BSA 1.7 m², or computed from weight and height).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cartrial.errors import InputError
from cartrial.protocol.dosing import BsaMethod, dose_for, lymphodepletion_doses
from cartrial.protocol.model import Protocol

#: Weights (kg) used for worked doses in protocol summaries (docs/science/decisions.md D-2.1: 50, 70 and 90
# kg).
WORKED_WEIGHTS_KG: tuple[float, ...] = (50.0, 70.0, 90.0)
#: Reference BSA (m²) for worked lymphodepletion doses (docs/science/decisions.md D-2.1: a 1.7 m² patient).
REFERENCE_BSA_M2 = 1.7


def worked_doses(protocol: Protocol, weights_kg: Sequence[float] = WORKED_WEIGHTS_KG) -> list[dict[str, Any]]:
    """One row per dose level and weight; a weight outside a level's bounds gets ``error`` instead.

    Reference protocol, 70 kg: 0.5×10^6 and 1.0×10^6 cells/kg × 70 kg = 3.5×10^7 and 7.0×10^7 cells.

    >>> from cartrial.protocol import load_protocol
    >>> rows = worked_doses(load_protocol("examples/ct103a-nmosd/protocol.yaml"), weights_kg=[70.0])
    >>> [(row["level"], row["total_cells"]) for row in rows]
    [(1, 35000000.0), (2, 70000000.0)]
    """
    rows: list[dict[str, Any]] = []
    for level in protocol.dose_levels:
        for weight in weights_kg:
            try:
                calculation = dose_for(protocol, weight, level=level.level)
            except InputError as exc:
                rows.append(
                    {"level": level.level, "label": level.label, "weight_kg": weight, "error": str(exc)}
                )
                continue
            rows.append(calculation.to_dict())
    return rows


def protocol_summary(
    protocol: Protocol,
    weights_kg: Sequence[float] = WORKED_WEIGHTS_KG,
    bsa_m2: float | None = None,
    weight_kg: float | None = None,
    height_cm: float | None = None,
    bsa_method: BsaMethod | str | None = None,
    creatinine_clearance_ml_min: float | None = None,
) -> dict[str, Any]:
    """The protocol as data plus worked doses and a lymphodepletion example.

    The lymphodepletion example uses `weight_kg` and `height_cm` when both are given (BSA by
    `bsa_method`, default the protocol's), else `bsa_m2` (default 1.7 m²); with
    `creatinine_clearance_ml_min` (mL/min) the agents' renal tiers apply. For the reference protocol
    and the default 1.7 m² patient: cyclophosphamide 300 × 1.7 = 510 mg, fludarabine 30 × 1.7 = 51 mg a day.

    >>> from cartrial.protocol import load_protocol
    >>> summary = protocol_summary(load_protocol("examples/ct103a-nmosd/protocol.yaml"))
    >>> [(d["agent"], d["day"], d["dose_mg"]) for d in summary["lymphodepletion_example"]["doses"][:2]]
    [('cyclophosphamide', -4, 510.0), ('fludarabine', -4, 51.0)]
    """
    data = protocol.model_dump(mode="json")
    summary: dict[str, Any] = {
        "study": data["study"],
        "dose_levels": data["dose_levels"],
        "dose_rounding": {**data["dose_rounding"], "rule": protocol.dose_rounding.describe()},
        "worked_doses": worked_doses(protocol, weights_kg),
        "lymphodepletion": data["lymphodepletion"],
        "lymphodepletion_example": None,
        "escalation": {
            "parameters": protocol.escalation.parameters(),
            "dlt_rules": data["escalation"]["dlt_rules"],
        },
        "expansion": data["expansion"],
        "schedule": data["schedule"],
        "eligibility": data["eligibility"],
        "endpoints": data["endpoints"],
    }
    if protocol.lymphodepletion is not None:
        if weight_kg is not None and height_cm is not None:
            plan = lymphodepletion_doses(
                protocol,
                weight_kg,
                height_cm,
                method=bsa_method,
                creatinine_clearance_ml_min=creatinine_clearance_ml_min,
            )
        else:
            plan = lymphodepletion_doses(
                protocol,
                bsa_m2=bsa_m2 if bsa_m2 is not None else REFERENCE_BSA_M2,
                creatinine_clearance_ml_min=creatinine_clearance_ml_min,
            )
        # each agent's course total, summed in decimal by the plan (D-19.1018): what `protocol show` prints
        totals = {agent.name: plan.total_mg(agent.name) for agent in protocol.lymphodepletion.agents}
        summary["lymphodepletion_example"] = {**plan.to_dict(), "course_total_mg": totals}
    return summary


__all__ = ["REFERENCE_BSA_M2", "WORKED_WEIGHTS_KG", "protocol_summary", "worked_doses"]
