"""Named endpoint definitions; later modules (grading, neuro, kinetics, reports) refer to them by key.

Endpoint domains of the reference study: primary safety (DLT rate, CRS/ICANS incidence and maximum
grade), secondary efficacy (EDSS change, visual acuity response, relapse-free, ARR), PK (Cmax, Tmax,
AUC0-28d) and PD (AQP4-IgG change) — docs/science/ct103a-nmosd-trial.md §4 (domains [V], exact list [U]).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cartrial.allowed import choice_text
from cartrial.errors import OptionError
from cartrial.protocol.responders import RESPONDER_DEFINITIONS, responder_parameters
from cartrial.protocol.yaml_source import Issue, option_issues, semantic_error


class EndpointKind(StrEnum):
    """Domain of an endpoint."""

    SAFETY = "safety"
    EFFICACY = "efficacy"
    PK = "pk"
    PD = "pd"


class EndpointRole(StrEnum):
    """Place of the endpoint in the hierarchy of the protocol."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    EXPLORATORY = "exploratory"


AQP4_TITRE_DILUTIONS: tuple[int, ...] = (10, 32, 100, 320, 1000, 3200, 10000)
"""Dilution denominators of the AQP4-IgG cell-based assay (the PD endpoint's titre grid): 1:10, 1:32, 1:100,
1:320, 1:1000 and, in kits that extend the series, 1:3200 and 1:10000 [U]; steps of sqrt(10) (0.5 log10). A
titre is interval-censored between the last positive and the first negative dilution. Source:
docs/science/neuro-outcomes.md §6 (EUROIMMUN fixed cell-based assay, JNNP 2016 supplement). The one
declaration that the neuro engine (`cartrial.neuro.titres.DEFAULT_SERIES`), the kinetic/PD engine
(`cartrial.kinetics.pd.TITRE_DILUTIONS`) and the store's field rules read."""


#: Endpoint keys: lower-case identifiers, so that they can be used as column names and CLI arguments.
ENDPOINT_KEY_PATTERN = r"^[a-z][a-z0-9_]*$"


class EndpointSpec(BaseModel):
    """One endpoint: what is measured, when, and (optionally) which named derivation defines it.

    `measure` names the quantity (e.g. "dlt_rate", "edss_change", "cmax"); `timepoints` are the
    assessment times in the protocol's words (e.g. "day 28", "month 12"); `definition` names a responder
    definition (`cartrial.protocol.responders.RESPONDER_DEFINITIONS`, applied by the neuro engine; any other
    name is refused, since nothing would derive it); `parameters` holds its options so that the analysis
    records them: a responder definition's parameters (`responder_parameters`), for the relapse endpoints
    `cartrial.protocol.RelapseOptions` fields such as ``require_adjudicated`` (checked across endpoints by
    `cartrial.protocol.relapse_options.relapse_options_issues`), free for the others (no engine reads them);
    `sources` cites the literature the definition was chosen from, a priori. The checks are the engines'
    own rules, applied when the protocol is loaded (docs/science/decisions.md D-19.20).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    kind: EndpointKind
    role: EndpointRole = EndpointRole.SECONDARY
    description: str = Field(min_length=1)
    measure: str = Field(min_length=1)
    unit: str | None = None
    timepoints: list[str] = Field(default_factory=list)
    definition: str | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)
    sources: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _definition_and_its_parameters(self) -> EndpointSpec:
        if self.definition is None:
            return self
        definition = RESPONDER_DEFINITIONS.get(self.definition)
        if definition is None:
            names = choice_text(RESPONDER_DEFINITIONS)
            raise semantic_error(
                [Issue(("definition",), "unknown responder definition", self.definition, names)]
            )
        try:
            responder_parameters(definition, self.parameters)
        except OptionError as error:
            raise semantic_error(option_issues(error, lambda name: ("parameters", name))) from None
        return self


__all__ = ["ENDPOINT_KEY_PATTERN", "EndpointKind", "EndpointRole", "EndpointSpec"]
