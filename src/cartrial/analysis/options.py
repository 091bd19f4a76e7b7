"""The analysis options in force for one protocol: the protocol's ``analysis:`` section
(`cartrial.protocol.AnalysisSpec`) or, field by field, its documented defaults — each with its source, for
the methods section of every output (docs/analysis.md, "The analysis: section")."""

from __future__ import annotations

from typing import Any

from cartrial.analysis.stats import PROPORTION_CI_METHOD, RATE_CI_METHOD
from cartrial.protocol.analysis_spec import AnalysisSpec, ProportionCi, RateCi

DEFAULT_SOURCE = "default (docs/analysis.md)"

CI_METHOD_TEXT = {
    ProportionCi.CLOPPER_PEARSON: PROPORTION_CI_METHOD,
    RateCi.EXACT_POISSON: RATE_CI_METHOD,
}


def analysis_spec(protocol: Any) -> AnalysisSpec:
    """The protocol's ``analysis:`` section, or every default when the protocol object has none."""
    spec = getattr(protocol, "analysis", None)
    return spec if isinstance(spec, AnalysisSpec) else AnalysisSpec()


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return getattr(value, "value", value)


def option_sources(spec: AnalysisSpec) -> dict[str, dict[str, Any]]:
    """Every option of `spec` → {value, source}: ``protocol analysis.options.<name>`` when the protocol sets
    it, else `DEFAULT_SOURCE`; the efficacy-evaluable rules likewise (``analysis.populations``)."""
    out: dict[str, dict[str, Any]] = {}
    for name in type(spec.options).model_fields:
        value = getattr(spec.options, name)
        given = name in spec.options.model_fields_set
        text = CI_METHOD_TEXT[value] if isinstance(value, ProportionCi | RateCi) else _plain(value)
        out[name] = {
            "value": text,
            "source": f"protocol analysis.options.{name}" if given else DEFAULT_SOURCE,
        }
    given = "efficacy_evaluable" in spec.populations.model_fields_set
    out["efficacy_evaluable"] = {
        "value": _plain(spec.populations.efficacy_evaluable),
        "source": "protocol analysis.populations.efficacy_evaluable" if given else DEFAULT_SOURCE,
    }
    return out


__all__ = ["DEFAULT_SOURCE", "analysis_spec", "option_sources"]
