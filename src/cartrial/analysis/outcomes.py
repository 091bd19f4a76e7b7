"""Which indication-specific outcomes a study has (D-19.61): the disease outcomes the engines derive
(EDSS, relapses, AQP4-IgG titre, OSIS, visual acuity, timed walk) belong to the NMOSD reference protocol;
another indication's protocol (myasthenia gravis, lupus) collects none of them. An outcome is *collected*
when the protocol's schedule lists its assessment or its form holds rows (data are never left out
silently); an outcome that is not collected gets no finding, no report section and no CDISC records — never
"12 of 12 relapse-free" read from a form the study does not have — and its form is not offered for entry
(`collected_forms`, D-19.70)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

import pandas as pd

from cartrial.protocol.records import ASSESSMENT_RECORDS

#: outcome → the schedule assessment that collects it
OUTCOME_ASSESSMENT: dict[str, str] = {
    "edss": "edss",
    "relapses": "relapse_review",
    "aqp4_igg": "aqp4_igg",
    "osis": "osis",
    "visual_acuity": "visual_acuity",
    "timed_walk": "timed_25_foot_walk",
}

#: outcome → (schedule assessment, (template, column whose non-empty values are the outcome's data)...):
#: where the assessment's data are recorded is the protocol's one declaration (`ASSESSMENT_RECORDS`, D-19.80)
OUTCOMES: dict[str, tuple[str, tuple[tuple[str, str | None], ...]]] = {
    name: (assessment, ASSESSMENT_RECORDS[assessment].data) for name, assessment in OUTCOME_ASSESSMENT.items()
}

#: analysis population → the outcome whose evaluable set it is
POPULATION_OUTCOME: dict[str, str] = {"efficacy:edss_change": "edss", "efficacy:aqp4_titre": "aqp4_igg"}

#: demographics characteristic (column) → the outcome it summarises
CHARACTERISTIC_OUTCOME: dict[str, str] = {
    "relapses_pre_window": "relapses",
    "baseline_edss": "edss",
    "aqp4_igg_status": "aqp4_igg",
    "aqp4_igg_titre": "aqp4_igg",
    "aqp4_igg_titre_reciprocal": "aqp4_igg",
    "aqp4_igg_titre_at_top": "aqp4_igg",
}


#: analysis dataset → the outcome it derives (left out of the analysis when the outcome is not collected)
DATASET_OUTCOME: dict[str, str] = {
    "edss_change": "edss",
    "edss_scored": "edss",
    "relapses_by_subject": "relapses",
    "relapse_rates": "relapses",
    "relapse_free_km": "relapses",
    "aqp4_titre_change": "aqp4_igg",
    "aqp4_titres": "aqp4_igg",
    "osis_change": "osis",
}


#: analysis option → the outcome whose datasets it governs (not an option of a study without that outcome)
OPTION_OUTCOME: dict[str, str] = {
    "relapse_follow_up_end": "relapses",
    "aqp4_igg_baseline": "aqp4_igg",
    "edss_baseline_visit": "edss",
    # excludes a baseline value during an attack: nothing without relapse data, so not listed (D-19.901)
    "responder_baseline_visit": "relapses",
    "rate_ci": "relapses",
    "relapses": "relapses",
}

#: record column (data, or describing them: an assay, the relapse history) → the outcome it belongs to: left
#: out of the report's listings (D-19.71) and of the entry forms (D-19.82) when the outcome is not collected
COLUMN_OUTCOME: dict[tuple[str, str], str] = {
    field: name
    for name, assessment in OUTCOME_ASSESSMENT.items()
    for field in ASSESSMENT_RECORDS[assessment].fields
}

#: form (import template) → the outcome whose data the whole form holds (a form of every study is not here)
FORM_OUTCOME: dict[str, str] = {
    template: name
    for name, (_assessment, sources) in OUTCOMES.items()
    for template, column in sources
    if column is None
}


def _has_rows(table: pd.DataFrame | None, column: str | None) -> bool:
    if table is None or table.empty:
        return False
    if column is None:
        return True
    return column in table and bool(
        table[column].astype(str).str.strip().replace("nan", "").astype(bool).any()
    )


def collected_outcomes(protocol: Any, tables: Mapping[str, pd.DataFrame]) -> frozenset[str]:
    """The indication-specific outcomes of `protocol` (schedule) or present in `tables` (form rows)."""
    return _collected(protocol, lambda template, column: _has_rows(tables.get(template), column))


def _collected(protocol: Any, has_rows: Callable[[str, str | None], bool]) -> frozenset[str]:
    planned = getattr(protocol, "collected_assessments", None)
    if planned is None:  # no protocol, or one without a schedule: every outcome, as before
        planned = frozenset(a for a, _s in OUTCOMES.values())
    return frozenset(
        name
        for name, (assessment, sources) in OUTCOMES.items()
        if assessment in planned or any(has_rows(t, c) for t, c in sources)
    )


def collected_forms(protocol: Any, forms_with_rows: Collection[str] = ()) -> tuple[str, ...]:
    """The import forms (template names, in the import's order) of a study: every form, less the form of
    an outcome the study does not collect (`collected_outcomes`: the protocol collects its assessment, or
    the form holds rows — `forms_with_rows`). The web app offers these forms for entry (D-19.70)."""
    from cartrial.store.importing import FORMS

    outcomes = _collected(protocol, lambda template, column: column is None and template in forms_with_rows)
    return tuple(
        f.name for f in FORMS if FORM_OUTCOME.get(f.name, "") in outcomes or f.name not in FORM_OUTCOME
    )


def unplanned_sources(protocol: Any) -> tuple[tuple[str, str | None], ...]:
    """The data sources (form, column; column None: the form's rows) of the outcomes whose assessment the
    protocol does not collect: what decides whether such an outcome is collected all the same (its data
    exist). None for the reference protocol."""
    planned = _collected(protocol, lambda _template, _column: False)
    return tuple(
        source for name, (_a, sources) in OUTCOMES.items() if name not in planned for source in sources
    )


def uncollected_fields(
    protocol: Any, with_values: Collection[tuple[str, str | None]] = ()
) -> frozenset[tuple[str, str]]:
    """The (form, column) fields of the outcomes a study does not collect (D-19.82): each column tied to such
    an outcome in the protocol's declaration of where assessments are recorded (`COLUMN_OUTCOME`: its data
    and the columns describing them, e.g. the AQP4-IgG assay, the relapse history). `with_values`: the data
    sources (`unplanned_sources`) that hold a value; an outcome with data is collected (`collected_outcomes`'
    rule), so its fields are offered. The entry forms leave these fields out; the import and the API take
    them (D-19.70)."""
    outcomes = _collected(protocol, lambda template, column: (template, column) in with_values)
    return frozenset(field for field, name in COLUMN_OUTCOME.items() if name not in outcomes)


#: endpoint measure → the analysis dataset that derives it for any indication (safety and cellular kinetics);
#: the disease measures are `cartrial.protocol.model.MEASURE_ASSESSMENT`'s, a partial AUC is an NCA interval
#: of the analysis plan (`underived_endpoints`)
GENERAL_MEASURES: dict[str, str] = {
    "dlt_rate": "dlt_by_dose_level",
    "incidence_and_max_grade": "crs_icans_summary",
    "incidence_by_grade": "teae_summary",
    "cmax": "nca_summary",
    "tmax": "nca_summary",
    "tlast": "nca_summary",
    "auclast": "nca_summary",
    "half_life": "nca_summary",
    "fold_expansion": "nca_summary",
}


def underived_endpoints(protocol: Any) -> tuple[str, ...]:
    """The keys (in the protocol's order) of the endpoints whose measure no dataset of `cartrial analyse`
    derives (D-19.202): not a safety or kinetics measure (`GENERAL_MEASURES`), not a disease measure of the
    engines (`MEASURE_ASSESSMENT`), not a partial AUC of the plan's ``nca_intervals_days`` and without a
    responder `definition`, e.g. a lupus SLEDAI-2K or DORIS endpoint, or a misspelt measure. The protocol
    may declare them (a sponsor analyses them elsewhere); cartrial names them instead of dropping them."""
    from cartrial.analysis.kinetics import interval_parameters
    from cartrial.analysis.options import analysis_spec
    from cartrial.protocol.model import MEASURE_ASSESSMENT
    from cartrial.protocol.responders import RESPONDER_DEFINITIONS

    endpoints = getattr(protocol, "endpoints", None) or {}
    derived = set(GENERAL_MEASURES) | set(MEASURE_ASSESSMENT)
    derived |= set(interval_parameters(analysis_spec(protocol).options.nca_intervals_days))
    return tuple(
        key
        for key, endpoint in endpoints.items()
        if endpoint.measure not in derived and endpoint.definition not in RESPONDER_DEFINITIONS
    )


__all__ = [
    "CHARACTERISTIC_OUTCOME",
    "COLUMN_OUTCOME",
    "DATASET_OUTCOME",
    "FORM_OUTCOME",
    "GENERAL_MEASURES",
    "OPTION_OUTCOME",
    "OUTCOMES",
    "OUTCOME_ASSESSMENT",
    "POPULATION_OUTCOME",
    "collected_forms",
    "collected_outcomes",
    "uncollected_fields",
    "underived_endpoints",
    "unplanned_sources",
]
