"""Configure a design from the protocol's escalation section (`cartrial.protocol.EscalationSpec`).

Field names are the interface contract with the protocol area: design, variant, target, skeleton,
prior_var, model, method, cutoff_eliminate, cohort_size, max_n, stop_n_at_dose, no_skip, dlt_window_days,
stagger_days, dlt_rules (and, when present, tite_scheme, phi1, phi2, eps1, eps2, start_level). Any object
with these attributes works (duck typing).
"""

from __future__ import annotations

from typing import Any

from cartrial.errors import InputError, Problem
from cartrial.escalation.behaviours import (
    BehavingDesign,
    Behaviour,
    DontSkipDoses,
    ExpansionCohort,
    StopAtN,
    StopWhenNAtDose,
)
from cartrial.escalation.crm import Crm, TiteCrm
from cartrial.escalation.design import Design
from cartrial.escalation.interval import Boin, I3plus3, Mtpi2
from cartrial.escalation.three_plus_three import ThreePlusThree

DESIGNS: tuple[str, ...] = ("3+3", "boin", "mtpi2", "i3+3", "crm", "tite-crm")


def _value(spec: Any, name: str, default: Any = None) -> Any:
    value = getattr(spec, name, default)
    return getattr(value, "value", value)


def build_design(
    design: str,
    n_doses: int,
    *,
    variant: str | None = None,
    target: float | None = None,
    skeleton: list[float] | None = None,
    prior_var: float | None = None,
    model: str | None = None,
    method: str | None = None,
    cutoff_eliminate: float | None = None,
    cohort_size: int | None = None,
    start_dose: int = 1,
    phi1: float | None = None,
    phi2: float | None = None,
    eps1: float | None = None,
    eps2: float | None = None,
    tite_scheme: str | None = None,
    window_days: float | None = None,
) -> Design:
    """The bare design named `design` with the given options (None = the design's documented default)."""
    name = str(design).lower()
    if name not in DESIGNS:
        raise InputError(Problem("unknown design", field="design", value=design, allowed=", ".join(DESIGNS)))

    def need_target() -> float:
        if target is None:
            raise InputError(
                Problem(
                    f"design {name!r} needs a target DLT probability",
                    field="target",
                    allowed="0 < target < 1",
                )
            )
        return target

    size = 3 if cohort_size is None else cohort_size
    cut = 0.95 if cutoff_eliminate is None else cutoff_eliminate
    if name == "3+3":
        if cohort_size not in (None, 3):
            raise InputError(
                Problem(
                    "a 3+3 design treats cohorts of 3", field="cohort_size", value=cohort_size, allowed="3"
                )
            )
        chosen: Any = variant or "deescalation"
        return ThreePlusThree(n_doses, variant=chosen, start_dose=start_dose)
    if name == "boin":
        return Boin(
            n_doses,
            need_target(),
            phi1=phi1,
            phi2=phi2,
            start_dose=start_dose,
            cohort_size=size,
            cutoff_eliminate=cut,
        )
    if name in ("mtpi2", "i3+3"):
        cls = Mtpi2 if name == "mtpi2" else I3plus3
        return cls(
            n_doses,
            need_target(),
            eps1=0.05 if eps1 is None else eps1,
            eps2=0.05 if eps2 is None else eps2,
            start_dose=start_dose,
            cohort_size=size,
            cutoff_eliminate=cut,
        )
    if skeleton is None:
        raise InputError(
            Problem(
                f"design {name!r} needs a skeleton",
                field="skeleton",
                allowed="strictly increasing probabilities in (0, 1), one per dose",
            )
        )
    if len(skeleton) != n_doses:
        raise InputError(
            Problem(
                "the skeleton needs one value per dose level",
                field="skeleton",
                value=len(skeleton),
                allowed=f"{n_doses} values",
            )
        )
    crm_options: dict[str, Any] = {
        "start_dose": start_dose,
        "cohort_size": 1 if cohort_size is None else size,
    }
    if prior_var is not None:
        crm_options["prior_var"] = prior_var
    if model is not None:
        crm_options["model"] = model
    if method is not None:
        crm_options["method"] = method
    if name == "crm":
        return Crm(skeleton, need_target(), **crm_options)
    if window_days is None:
        raise InputError(
            Problem("TITE-CRM needs the DLT observation window", field="window", allowed="days > 0")
        )
    scheme: Any = tite_scheme or "linear"
    return TiteCrm(skeleton, need_target(), window_days=window_days, scheme=scheme, **crm_options)


def design_from_spec(spec: Any, n_doses: int, *, expansion: Any = None) -> Design:
    """The design the protocol's escalation section describes, with its behaviours.

    `max_n` -> `StopAtN`; `stop_n_at_dose` -> `StopWhenNAtDose(dose="recommended")`, with `requires_stay=True`
    for BOIN (BOIN 2.7.2 ``n.earlystop``, ``dose-escalation.md`` 4.3); `no_skip` -> `DontSkipDoses()`;
    `expansion` (an object with `dose_level` and `n_patients`, e.g. `cartrial.protocol.ExpansionSpec`) ->
    `ExpansionCohort`. 3+3 with the protocol's `variant`; TITE-CRM window = `dlt_window_days`.
    """
    design_name = str(_value(spec, "design"))
    bare = build_design(
        design_name,
        n_doses,
        variant=_value(spec, "variant"),
        target=_value(spec, "target"),
        skeleton=_value(spec, "skeleton"),
        prior_var=_value(spec, "prior_var"),
        model=_value(spec, "model"),
        method=_value(spec, "method"),
        cutoff_eliminate=_value(spec, "cutoff_eliminate"),
        cohort_size=_value(spec, "cohort_size"),
        start_dose=int(_value(spec, "start_level", 1) or 1),
        phi1=_value(spec, "phi1"),
        phi2=_value(spec, "phi2"),
        eps1=_value(spec, "eps1"),
        eps2=_value(spec, "eps2"),
        tite_scheme=_value(spec, "tite_scheme"),
        window_days=_value(spec, "dlt_window_days"),
    )
    behaviours: list[Behaviour] = []
    max_n = _value(spec, "max_n")
    if max_n is not None:
        behaviours.append(StopAtN(int(max_n)))
    stop_n = _value(spec, "stop_n_at_dose")
    if stop_n is not None:
        behaviours.append(StopWhenNAtDose(int(stop_n), "recommended", requires_stay=bare.name == "boin"))
    if _value(spec, "no_skip", False):
        behaviours.append(DontSkipDoses())
    if expansion is not None:
        behaviours.append(ExpansionCohort(int(expansion.n_patients), int(expansion.dose_level)))
    return BehavingDesign(bare, tuple(behaviours)) if behaviours else bare


__all__ = ["DESIGNS", "build_design", "design_from_spec"]
