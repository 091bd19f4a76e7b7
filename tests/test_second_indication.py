"""A second indication end to end (mission rule: "NMOSD is the first indication; the design must admit
others"). tests/data/indication-gmg is a phase 1 anti-BCMA CAR-T protocol in AChR-antibody-positive
generalized myasthenia gravis: no AQP4-IgG, EDSS, vision or relapse assessments, safety + PK endpoints only.
Every command a trial team runs goes through it (D-19.60 to D-19.63): nothing may crash on the absent forms,
and nothing may report an NMOSD outcome (relapse-free 12 of 12, AQP4-IgG, EDSS) or NMOSD wording."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import REPO_ROOT, run_cartrial

FIXTURE = REPO_ROOT / "tests" / "data" / "indication-gmg"
PROTOCOL = FIXTURE / "protocol.yaml"
SCENARIO = FIXTURE / "scenario.yaml"
NMOSD_FORMS = {
    "edss.csv",
    "visual_acuity.csv",
    "timed_walk.csv",
    "relapses.csv",
    "pd_samples.csv",
    "osis.csv",
}
NMOSD_DATASETS = {
    "edss_change.csv",
    "edss_scored.csv",
    "relapses_by_subject.csv",
    "relapse_rates.csv",
    "relapse_free_km.csv",
    "aqp4_titre_change.csv",
    "osis_change.csv",
}


def ok(*args: object) -> str:
    result = run_cartrial(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def test_protocol_and_screening():
    ok("protocol", "check", PROTOCOL)
    shown = ok("protocol", "show", PROTOCOL)
    assert "myasthenia" in shown.lower() and "aqp4" not in shown.lower()
    out = json.loads(ok("screen", PROTOCOL, *sorted((FIXTURE / "candidates").iterdir()), "--json"))
    results = out if isinstance(out, list) else out["results"]
    verdicts = {r["candidate_id"] if "candidate_id" in r else r["id"]: r["verdict"] for r in results}
    assert verdicts == {"MG-001": "eligible", "MG-002": "not_eligible", "MG-003": "not_eligible"}


@pytest.mark.slow
def test_simulate_import_analyse_report_export(tmp_path: Path):
    study = tmp_path / "study"
    ok("simulate", "trial", "--scenario", SCENARIO, "--trials", "5", "--seed", "1")
    ok("simulate", "study", "--scenario", SCENARIO, "--seed", "1", "--out", study)
    # D-19.62: the virtual study has only the forms the protocol collects
    written = {p.name for p in study.iterdir()}
    assert not written & NMOSD_FORMS, written & NMOSD_FORMS
    assert "aqp4" not in (study / "subjects.csv").read_text(encoding="utf-8").splitlines()[0]
    # the virtual site's country is the scenario's (D-19.59): the export can write DM.COUNTRY
    with (study / "sites.csv").open(encoding="utf-8", newline="") as sites:
        assert [row["country"] for row in csv.DictReader(sites)] == ["China"]
    url = f"sqlite:///{tmp_path / 'study.db'}"
    ok("db", "init", "--url", url, "--protocol", PROTOCOL, "--admin", "admin")
    ok("import", "templates", study, "--user", "admin", "--url", url)
    cutoff = "2022-11-03"
    analysis = tmp_path / "analysis"
    ok("analyse", "--url", url, "--user", "admin", "--cutoff", cutoff, "--out", analysis)
    # D-19.61: no dataset, population or finding of an outcome the study does not collect
    datasets = {p.name for p in analysis.iterdir()}
    assert not datasets & NMOSD_DATASETS, datasets & NMOSD_DATASETS
    meta = json.loads((analysis / "analysis.json").read_text(encoding="utf-8"))
    text = json.dumps(meta)
    for word in ("Relapse-free", "Annualised relapse rate", "AQP4", "EDSS", "efficacy:edss_change"):
        assert word not in text, word
    report = tmp_path / "report"
    ok("report", "--url", url, "--user", "admin", "--cutoff", cutoff, "--out", report, "--no-pdf")
    html = (report / "report.html").read_text(encoding="utf-8")
    for word in (
        "NMOSD",
        "AQP4-IgG titre",
        "Baseline EDSS",
        "Relapse-free",
        "efficacy:edss_change",
        "(by maximum grade) and relapses",
        "relapse_follow_up_end",  # D-19.71/72: the report says only what is analysed
        "rate_ci",
        "efficacy_evaluable",
        "Efficacy endpoints",
        "aqp4_igg_status",
        "relapse_history",
        "adverse events and relapses",
    ):
        assert word not in html, word
    assert "relapse" not in (report / "figures" / "swimmer.svg").read_text(encoding="utf-8")
    assert "- rates:" not in (analysis / "README.md").read_text(encoding="utf-8")
    cdisc = tmp_path / "cdisc"
    ok(
        "export",
        "cdisc",
        "--url",
        url,
        "--user",
        "admin",
        "--cutoff",
        cutoff,
        "--out",
        cdisc,
        "--format",
        "json",
    )
    ok("export", "cdisc", "--check", cdisc)
    # D-19.63: the diagnosis and texts are the protocol's, not NMOSD's
    exported = "\n".join(p.read_text(encoding="utf-8") for p in cdisc.rglob("*.json"))
    for word in ("NMOSD", "Neuromyelitis", "AQP4", "Wingerchuk"):
        assert word not in exported, word
    mh = json.loads((cdisc / "sdtm" / "mh.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in mh["columns"]]
    terms = {dict(zip(names, row, strict=True))["MHTERM"] for row in mh["rows"]}
    assert terms == {"AChR-antibody-positive generalized myasthenia gravis (gMG)"}
