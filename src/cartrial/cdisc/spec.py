"""The CDISC mapping as data: one spec per dataset (`specs/sdtm/*.yaml`, `specs/adam/*.yaml`) and the
controlled terminology the mapping uses (`ct/codelists.yaml`), loaded into pydantic models.

A dataset spec lists, in order, every variable with its label, type, length (optional: the most bytes a
character value may have; the written width is always the longest value, D-19.657), core status
(Req/Exp/Perm), origin (Collected, Derived, Assigned, Protocol, Predecessor), codelist, and for derived
variables the derivation method with its source. The builders (`cartrial.cdisc.sdtm`,
`cartrial.cdisc.adam`), the validator, the writers, Define-XML and docs/cdisc.md all read these specs,
so the mapping is written once.

Sources: CDISC SDTMIG 3.4, ADaMIG 1.3, ADaM OCCDS 1.1, ADaMIG-NCA 1.0, ADaM-TTE 1.0, Define-XML 2.1
(see the shared reference data-standards.md §1-§4).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cartrial.countries import alpha3_codes
from cartrial.errors import ConfigurationError

Origin = Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor"]
Core = Literal["Req", "Exp", "Perm", "Cond"]


class Variable(BaseModel):
    """One variable of a dataset spec."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    type: Literal["Char", "Num"] = "Char"
    length: int | None = None
    """The most bytes a character value may have (checked by `validate_dataset`; None: 200). The written
    width is the longest value (at least 1), never this (D-19.657)."""
    core: Core = "Perm"
    origin: Origin = "Collected"
    source: str = ""
    """Where the value comes from: ``table.column`` of the snapshot, ``analysis:dataset.column`` of the
    analysis layer, or the protocol field."""
    codelist: str | None = None
    method: str | None = None
    """Derivation method for Derived variables, citing its source (becomes a Define-XML MethodDef)."""
    date: Literal["iso8601", "duration", "sasdate", "sasdatetime"] | None = None
    """iso8601: character ISO 8601 (SDTM --DTC); sasdate/sasdatetime: numeric ADaM date (DATE9./E8601DT.)."""
    vlm: bool = False
    """Value-level metadata by the dataset's test-code variable (Define-XML def:ValueListDef)."""
    codelist_by: str | None = None
    """The variable whose value selects the codelist (e.g. DSCAT for DSDECOD, SDTMIG 3.4 DS); with
    `value_codelists` instead of `codelist`."""
    value_codelists: tuple[tuple[str, str], ...] = ()
    """(value of `codelist_by`, codelist name) pairs: the value-level codelists (Define-XML def:ValueListDef
    with a def:WhereClauseDef on `codelist_by`); a record whose `codelist_by` value is not listed is an
    error."""
    may_be_null: str | None = None
    """When a Req variable of an ADaM dataset may be null on a record, why (its source is null there): ADaMIG
    v1.3 core Req means the variable is included in the dataset, not that every record has a value, unlike
    SDTMIG Req. The validator then checks that the variable is present, not populated, and Define-XML does
    not mark it Mandatory (decisions D-19.84)."""

    @model_validator(mode="before")
    @classmethod
    def _pairs_from_mapping(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("value_codelists"), dict):
            data = {**data, "value_codelists": tuple(data["value_codelists"].items())}
        return data

    @model_validator(mode="after")
    def _derived_has_method(self) -> Variable:
        if self.origin == "Derived" and not self.method:
            raise ValueError(f"{self.name}: a Derived variable needs a method citing its source")
        return self

    @model_validator(mode="after")
    def _may_be_null_is_req(self) -> Variable:
        if self.may_be_null and self.core != "Req":
            raise ValueError(f"{self.name}: may_be_null is for a Req variable (any other core may be null)")
        return self

    @model_validator(mode="after")
    def _one_codelist_kind(self) -> Variable:
        if bool(self.codelist_by) != bool(self.value_codelists):
            raise ValueError(f"{self.name}: codelist_by and value_codelists go together")
        if self.value_codelists and self.codelist:
            raise ValueError(f"{self.name}: a codelist and value-level codelists at once")
        return self

    def codelist_for(self, selector: str) -> str | None:
        """The value-level codelist for the `codelist_by` value `selector` (None: not listed)."""
        return dict(self.value_codelists).get(selector)


class DatasetSpec(BaseModel):
    """One dataset (an SDTM domain or an ADaM dataset)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    standard: Literal["SDTMIG", "ADaMIG"]
    klass: str = Field(alias="class")
    structure: str
    keys: tuple[str, ...]
    variables: tuple[Variable, ...]
    testcd: str | None = None
    """The test-code variable (--TESTCD, PARAMCD, TSPARMCD, QNAM) that value-level metadata hangs on."""
    notes: tuple[str, ...] = ()
    """Mapping decisions where the standard leaves a choice (rendered in docs/cdisc.md)."""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)

    @model_validator(mode="after")
    def _keys_are_variables(self) -> DatasetSpec:
        missing = [k for k in self.keys if k not in self.names]
        if missing:
            raise ValueError(f"{self.name}: key variables not in the spec: {missing}")
        selectors = [
            v.codelist_by for v in self.variables if v.codelist_by and v.codelist_by not in self.names
        ]
        if selectors:
            raise ValueError(f"{self.name}: codelist_by variables not in the spec: {selectors}")
        flagged = [v.name for v in self.variables if v.vlm]
        if self.testcd and flagged and set(flagged) <= {self.testcd}:
            # define.xml writes value-level metadata of a result variable per test code; a flag on the test
            # code alone writes none (D-19.889)
            raise ValueError(
                f"{self.name}: vlm is set on the test code {self.testcd} only; set it on the result variable "
                "whose value-level metadata define.xml lists per test code"
            )
        return self


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    value: str
    decode: str = ""
    nci_code: str | None = None
    """NCI C-code of the term; None for a sponsor-defined term or extension."""
    extended: bool = False
    """True: a sponsor extension of an extensible CDISC codelist (flagged in Define-XML)."""
    source: str = ""
    """Key of the public CT copy (`sources` in ct/codelists.yaml) the term's C-code was checked against."""
    unverified: bool = False
    """True: a CDISC term whose C-code was not found in any public copy of the CT (flagged in the docs)."""


class Codelist(BaseModel):
    """A controlled-terminology codelist as shipped with cartrial."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    label: str
    nci_code: str | None = None
    """NCI code of the codelist; None for a sponsor-defined codelist (or, with `unverified`, a CDISC codelist
    whose code could not be verified)."""
    code_source: str = ""
    """Key of the public CT copy (`sources` in ct/codelists.yaml) the codelist C-code was checked against."""
    unverified: bool = False
    """True: a CDISC codelist whose C-code could not be verified in any public copy of the CT."""
    extensible: bool = False
    ct_version: str
    """CDISC CT package (e.g. ``SDTM CT 2015-12-18``) or ``sponsor``."""
    source: str
    data_type: Literal["text", "integer", "float"] = "text"
    note: str = ""
    """What was and was not verified (term C-codes left empty where not checked against the CT file)."""
    terms: tuple[Term, ...]

    @property
    def sponsor_defined(self) -> bool:
        return self.nci_code is None and not self.unverified

    def values(self) -> frozenset[str]:
        return frozenset(t.value for t in self.terms)

    @model_validator(mode="after")
    def _extension_only_if_extensible(self) -> Codelist:
        if not self.extensible and any(t.extended for t in self.terms):
            raise ValueError(f"{self.name}: sponsor extension in a non-extensible codelist")
        return self

    @model_validator(mode="after")
    def _cited_or_flagged(self) -> Codelist:
        """A CDISC codelist and each of its CDISC terms carry either a checked C-code with its source or the
        explicit `unverified` flag (D-15.6)."""
        if self.sponsor_defined:
            return self
        if not self.unverified and not (self.nci_code and self.code_source):
            raise ValueError(f"{self.name}: codelist C-code without a source and not flagged unverified")
        bad = [
            t.value
            for t in self.terms
            if not t.extended and not t.unverified and not (t.nci_code and t.source)
        ]
        if bad:
            raise ValueError(f"{self.name}: terms without a cited C-code and not flagged unverified: {bad}")
        return self


SDTM_ORDER: tuple[str, ...] = (
    "TA",
    "TE",
    "TV",
    "TI",
    "TS",
    "DM",
    "SE",
    "SV",
    "EX",
    "CM",
    "AE",
    "CE",
    "MH",
    "DS",
    "LB",
    "PC",
    "PP",
    "QS",
    "RS",
    "OE",
    "FT",
    "FA",
    "SUPPAE",
    "SUPPQS",
    "SUPPRS",
    "RELREC",
)
"""SDTM datasets in the order cartrial writes and documents them (QS and SUPPQS or RS and SUPPRS: the EDSS
domain option, D-15.11, D-15.12)."""

EDSS_DOMAINS: tuple[str, ...] = ("qs", "rs")
"""Where the EDSS and Kurtzke FS records go (option `edss_domain` of `export_cdisc`, CLI `--edss-domain`;
D-15.11): ``qs`` (default, as issue 15 asks: QRS instruments in QS) or ``rs`` (SDTMIG 3.4: CDISC QRS
classifies EDSS/KFSS as clinical classifications, domain RS). The other dataset (and its SUPP--) is not built
or written."""

ADAM_ORDER: tuple[str, ...] = ("ADSL", "ADAE", "ADLB", "ADPC", "ADPP", "ADTTE", "ADRS", "ADEDSS")
"""ADaM datasets in order."""


def _load_yaml(relative: str) -> object:
    text = resources.files("cartrial.cdisc").joinpath(relative).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)


@cache
def dataset_specs() -> dict[str, DatasetSpec]:
    """Every dataset spec shipped with cartrial, SDTM then ADaM, by dataset name."""
    specs: dict[str, DatasetSpec] = {}
    for folder, order in (("sdtm", SDTM_ORDER), ("adam", ADAM_ORDER)):
        for name in order:
            raw = _load_yaml(f"specs/{folder}/{name}.yaml")
            try:
                specs[name] = DatasetSpec.model_validate(raw)
            except ValueError as exc:  # a broken shipped file is a bug, but say which file
                raise ConfigurationError(f"cdisc spec {folder}/{name}.yaml: {exc}") from None
    return specs


@cache
def codelists() -> dict[str, Codelist]:
    """The codelists the mapping uses (`ct/codelists.yaml`), by codelist name."""
    raw = _load_yaml("ct/codelists.yaml")
    assert isinstance(raw, dict)
    out = {}
    for name, body in raw["codelists"].items():
        if name == "COUNTRY":  # ISO 3166-1 alpha-3, every country (`cartrial.countries`)
            body = {**body, "terms": [{"value": code} for code in alpha3_codes()]}
        out[name] = Codelist.model_validate({"name": name, **body})
    return out


@cache
def ct_sources() -> dict[str, str]:
    """The public copies of the CDISC/NCI EVS controlled terminology the shipped C-codes were checked against
    (key → repository, path, commit and CT release), as cited by `Codelist.code_source` and `Term.source`."""
    raw = _load_yaml("ct/codelists.yaml")
    assert isinstance(raw, dict)
    return {str(k): str(v) for k, v in raw["sources"].items()}


def ct_package() -> dict[str, str]:
    """The CT packages the shipped codelists come from (name → version), for Define-XML def:Standard."""
    raw = _load_yaml("ct/codelists.yaml")
    assert isinstance(raw, dict)
    return {k: v for k, v in raw["packages"].items() if k != "note"}


__all__ = [
    "ADAM_ORDER",
    "EDSS_DOMAINS",
    "SDTM_ORDER",
    "Codelist",
    "DatasetSpec",
    "Term",
    "Variable",
    "codelists",
    "ct_package",
    "ct_sources",
    "dataset_specs",
]
