"""The one place a design is assembled: from option values (`assemble_design`) or from the protocol's
escalation section (`design_from_spec`, which reads the same options from the spec's fields).

Options are declared once in `cartrial.protocol.design_options.DESIGN_OPTIONS` (name, type, allowed values,
designs) and checked there (`check_design_options`: declaration, design they apply to; the protocol's
escalation section calls the same check when it is loaded) before anything is allocated; here they are
turned into the bare design plus its behaviours. BOIN's ``n.earlystop`` stopping policy
(`StopWhenNAtDose(requires_stay=True)`, BOIN 2.7.2 `get.oc`) is written here only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cartrial.errors import InputError, Problem
from cartrial.escalation.behaviours import (
    BehavingDesign,
    Behaviour,
    CoherentEscalation,
    DontSkipDoses,
    ExpansionCohort,
    StopAtN,
    StopWhenNAtDose,
    StopWhenTooToxic,
)
from cartrial.escalation.crm import Crm, TiteCrm
from cartrial.escalation.design import Design
from cartrial.escalation.interval import Boin, I3plus3, Mtpi2
from cartrial.escalation.three_plus_three import ThreePlusThree
from cartrial.protocol.design_options import (
    DESIGNS,
    OPTIONS,
    PROBABILITY,
    SAFETY_STOP_MIN_N,
    TARGET,
    check_design_options,
    spec_options,
)


def _need(name: str, design: str, values: Mapping[str, Any], allowed: str) -> Any:
    if values.get(name) is None:
        raise InputError(Problem(f"design {design!r} needs {name}", field=name, allowed=allowed))
    return values[name]


def _bare(name: str, n_doses: int, v: Mapping[str, Any]) -> Design:
    start = int(v.get("start_dose", 1))
    if name == "3+3":
        if v.get("cohort_size") not in (None, 3):
            raise InputError(
                Problem(
                    "a 3+3 design treats cohorts of 3",
                    field="cohort_size",
                    value=v["cohort_size"],
                    allowed="3",
                )
            )
        return ThreePlusThree(
            n_doses,
            variant=v.get("variant", "deescalation"),
            require_six_at_top=bool(v.get("require_six_at_top", False)),
            start_dose=start,
            incomplete_cohort=v.get("incomplete_cohort", "decide"),
        )
    size = int(v.get("cohort_size", 3))
    if name in ("boin", "mtpi2", "i3+3"):
        target = _need("target", name, v, TARGET.text())
        cutoff = float(v.get("cutoff_eliminate", 0.95))
        if name == "boin":
            return Boin(
                n_doses,
                target,
                phi1=v.get("phi1"),
                phi2=v.get("phi2"),
                start_dose=start,
                cohort_size=size,
                cutoff_eliminate=cutoff,
                extrasafe=bool(v.get("extrasafe", False)),
                offset=float(v.get("offset", 0.05)),
                deescalate_inequality=v.get("deescalate_inequality", "strict"),
                bound_mtd=bool(v.get("bound_mtd", False)),
            )
        cls = Mtpi2 if name == "mtpi2" else I3plus3
        return cls(
            n_doses,
            target,
            eps1=float(v.get("eps1", 0.05)),
            eps2=float(v.get("eps2", 0.05)),
            start_dose=start,
            cohort_size=size,
            cutoff_eliminate=cutoff,
            exclusion_min_n=int(v.get("exclusion_min_n", 3)),
        )
    skeleton = [
        float(s)
        for s in _need(
            "skeleton", name, v, f"strictly increasing values, one per dose, each {PROBABILITY.text()}"
        )
    ]
    if len(skeleton) != n_doses:
        raise InputError(
            Problem(
                "the skeleton needs one value per dose level",
                field="skeleton",
                value=len(skeleton),
                allowed=f"{n_doses} values",
            )
        )
    target = _need("target", name, v, TARGET.text())
    crm_options: dict[str, Any] = {
        "start_dose": start,
        "cohort_size": int(v.get("cohort_size", 1)),
    }
    for key in ("prior_var", "model", "method", "ptox", "integration", "conf_level", "intercept"):
        if v.get(key) is not None:
            crm_options[key] = v[key]
    if name == "crm":
        return Crm(skeleton, target, **crm_options)
    window = _need("window", name, v, OPTIONS["window"].rule.text())
    return TiteCrm(
        skeleton, target, window_days=float(window), scheme=v.get("tite_scheme", "linear"), **crm_options
    )


def assemble_design(
    design: str,
    n_doses: int,
    options: Mapping[str, Any] | None = None,
    *,
    expansion: Any = None,
    strict: bool = True,
) -> Design:
    """The design named `design` over `n_doses` levels with its behaviours — the one assembly point.

    `options` maps option names of `DESIGN_OPTIONS` to values (None = the documented default). Behaviours:
    `max_n` -> `StopAtN`; `stop_n_at_dose` -> `StopWhenNAtDose(dose="recommended")` with
    `requires_stay=True` for BOIN (BOIN 2.7.2 ``n.earlystop``, ``docs/escalation.md``); `no_skip` True or not
    given (the default on every path, as the protocol's escalation section) ->
    `DontSkipDoses(relative_to=skip_rule)` (escalation capped and the final MTD kept admissible), False ->
    none (the R-reference selection; decisions D-19.390); `skip_rule` default ``"current"`` (R escalation
    0.2.3 `dont_skip_doses`);
    `coherent` -> `CoherentEscalation`; `expansion` (an object with `dose_level` and `n_patients`) ->
    `ExpansionCohort`.

    >>> d = assemble_design("boin", 5, {"target": 0.3, "max_n": 30, "no_skip": True})
    >>> d.name, [b["behaviour"] for b in d.options()["behaviours"]]
    ('boin', ['stop_at_n', 'dont_skip_doses'])
    >>> assemble_design("mtpi2", 5, {"target": 0.3, "exclusion_min_n": 0}).options()["exclusion_min_n"]
    0
    """
    name = str(design)  # exact, as every choice (`cartrial.allowed.same_value`; decisions D-19.38)
    values = check_design_options(name, n_doses, options or {}, strict=strict)
    bare = _bare(name, n_doses, values)
    behaviours: list[Behaviour] = []
    if values.get("max_n") is not None:
        behaviours.append(StopAtN(int(values["max_n"])))
    if values.get("safety_stop_min_n") is not None and values.get("safety_stop") is None:
        raise InputError(
            Problem(
                "safety_stop_min_n applies to a safety stop only",
                field="safety_stop_min_n",
                allowed="with safety_stop (a probability, e.g. 0.9)",
            )
        )
    if values.get("safety_stop") is not None:  # CRM: P(p_1 > target) > confidence (D-19.478), n_1 >= min
        min_n = values.get("safety_stop_min_n")
        behaviours.append(
            StopWhenTooToxic(
                confidence=float(values["safety_stop"]),
                min_n=int(min_n) if min_n is not None else SAFETY_STOP_MIN_N,
            )
        )
    if values.get("stop_n_at_dose") is not None:
        behaviours.append(
            StopWhenNAtDose(int(values["stop_n_at_dose"]), "recommended", requires_stay=name == "boin")
        )
    no_skip = values.get("no_skip")
    if no_skip is None:
        no_skip = OPTIONS["no_skip"].default
    if no_skip:  # the default on every path (protocol, CLI, Python): the final MTD stays admissible too
        # (decisions D-19.390)
        behaviours.append(DontSkipDoses(relative_to=values.get("skip_rule", "current")))
    if values.get("coherent"):
        behaviours.append(CoherentEscalation())
    if expansion is not None:
        behaviours.append(ExpansionCohort(int(expansion.n_patients), int(expansion.dose_level)))
    return BehavingDesign(bare, tuple(behaviours)) if behaviours else bare


def build_design(design: str, n_doses: int, **options: Any) -> Design:
    """The bare design (no behaviours) named `design` with the given options; None = documented default.
    Kept for callers of earlier versions; `window_days` is accepted for `window`.

    >>> build_design("3+3", 3).options()["variant"]
    'deescalation'
    """
    if "window_days" in options:
        options["window"] = options.pop("window_days")
    bare_options = {k: v for k, v in options.items() if not (k in OPTIONS and OPTIONS[k].behaviour)}
    bare_options["no_skip"] = False  # bare: not even the default no-skipping rule (see `assemble_design`)
    built = assemble_design(design, n_doses, bare_options, strict=False)
    return built


def design_from_spec(spec: Any, n_doses: int, *, expansion: Any = None) -> Design:
    """The design the protocol's escalation section describes, with its behaviours (`assemble_design` on the
    spec's fields; options that do not apply to the design are ignored — the protocol has refused them).

    >>> from types import SimpleNamespace
    >>> spec = SimpleNamespace(design="3+3", variant="escalation_only", no_skip=False, dlt_window_days=28)
    >>> design_from_spec(spec, 2).options()["variant"]
    'escalation_only'
    """
    design = getattr(spec, "design", None)
    return assemble_design(
        str(getattr(design, "value", design)), n_doses, spec_options(spec), expansion=expansion, strict=False
    )


__all__ = [
    "DESIGNS",
    "assemble_design",
    "build_design",
    "check_design_options",
    "design_from_spec",
    "spec_options",
]
