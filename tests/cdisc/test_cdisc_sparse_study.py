"""A study holding only some forms (the REDCap example: subjects, infusions, adverse events, EDSS; no CRS or
ICANS grading, no PK samples, no escalation decisions) exports: the domains of the missing forms are empty.

`export cdisc` on such a study used to end in a traceback (KeyError 'nca_by_subject' in PP, 'AEGRPID' in
RELREC, 'episode' in ADTTE): the exporter assumed every analysis dataset and every CRS column was there."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartrial import examples
from cartrial.store.importing import import_redcap
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study

REDCAP = examples.path("ct103a-nmosd") / "redcap"


def test_a_study_without_crs_pk_or_escalation_data_exports(tmp_path: Path) -> None:
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc, read_sites
    from cartrial.store.snapshot import read_snapshot

    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
    StudyService(url).add_site("admin", "TJH")
    import_redcap(url, REDCAP / "records.csv", REDCAP / "dictionary.csv", REDCAP / "mapping.yaml", "admin")
    snapshot = read_snapshot(url, dt.date(2022, 3, 20))
    analysis = analyse(snapshot)
    assert "nca_by_subject" not in analysis.datasets  # the case: no PK samples
    sites = {site: "China" for site in read_sites(url)}
    result = export_cdisc(snapshot, analysis, tmp_path / "cdisc", formats="json", sites=sites)
    records = {d.name: d.records for d in result.datasets}
    assert records["DM"] == 12 and records["AE"] > 0
    assert records["PP"] == 0 and records["RELREC"] == 0 and records["PC"] == 0
