"""`analyse(snapshot)`: the statistical analysis plan as code — populations, then every derivation (each
calling its engine), then the key findings. Pure: plain tables and the protocol in, datasets out."""

from __future__ import annotations

from typing import Any

from cartrial.analysis.demographics import demographics_datasets
from cartrial.analysis.dlt import dlt_datasets, evaluate_dlts
from cartrial.analysis.efficacy import edss_datasets, osis_dataset, relapse_datasets, responder_datasets
from cartrial.analysis.findings import data_status_finding, efficacy_findings, pk_pd_findings, safety_findings
from cartrial.analysis.kinetics import PERSISTENCE_DAY, nca_datasets, pd_datasets
from cartrial.analysis.model import Analysis, Dataset, Population, SnapshotLike
from cartrial.analysis.populations import ENROLLED, derive_populations
from cartrial.analysis.stats import PROPORTION_CI_METHOD, RATE_CI_METHOD
from cartrial.analysis.toxicity import adverse_event_datasets, crs_icans_datasets, lab_datasets


def analyse(snapshot: SnapshotLike) -> Analysis:
    """Populations, datasets and key findings of one study snapshot (see docs/analysis.md).

    `snapshot` is a `cartrial.store.snapshot.StudySnapshot` or any object with `tables` (template-layout
    frames by template name), `protocol`, `cutoff` and `metadata()`.
    """
    tables = dict(snapshot.tables)
    protocol = snapshot.protocol
    cutoff = snapshot.cutoff
    populations: dict[str, Population]
    evaluation = evaluate_dlts(tables, protocol, cutoff)
    populations, membership = derive_populations(
        tables, protocol, cutoff, evaluation.engine_days, evaluation.investigator_days
    )
    datasets: dict[str, Dataset] = {
        "populations": Dataset(
            "populations",
            "Analysis populations: membership per enrolled subject",
            membership,
            ENROLLED,
            "cartrial.analysis.populations.derive_populations",
            ("subjects", "infusions", "adverse_events"),
        )
    }
    datasets |= dlt_datasets(tables, protocol, populations, membership, evaluation)
    datasets |= crs_icans_datasets(tables, populations)
    datasets |= adverse_event_datasets(tables, populations)
    datasets |= lab_datasets(tables, populations)
    relapses, relapse_result = relapse_datasets(tables, protocol, cutoff, populations)
    datasets |= edss_datasets(tables, cutoff, populations, relapse_result.attacks)
    datasets |= responder_datasets(tables, protocol, cutoff, populations)
    datasets |= osis_dataset(tables, cutoff, populations)
    datasets |= relapses
    datasets |= demographics_datasets(tables, protocol, populations, datasets)
    datasets |= nca_datasets(tables, populations)
    datasets |= pd_datasets(tables, populations)
    meta = snapshot.metadata()
    findings = (
        data_status_finding(meta),
        *safety_findings(datasets, populations, protocol),
        *efficacy_findings(datasets, populations, protocol),
        *pk_pd_findings(datasets, populations),
    )
    options: dict[str, Any] = {
        "proportion_ci": PROPORTION_CI_METHOD,
        "rate_ci": RATE_CI_METHOD,
        "persistence_day": PERSISTENCE_DAY,
        "treatment_emergent": "onset on or after the first lymphodepletion dose (infusion day without one)",
        "dlt_window_days": protocol.escalation.dlt_window_days,
        "nca_intervals": [[0.0, 28.0]],
        "crs_icans": "ASTCT 2019 (cartrial.grading defaults)",
        "ctcae_version": "5.0",
    }
    return Analysis(meta, populations, datasets, findings, options)


__all__ = ["analyse"]
