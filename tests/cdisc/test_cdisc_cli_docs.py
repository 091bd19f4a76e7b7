"""The command line (`cartrial export cdisc`, `--check`, `--core`), the demo step and the generated mapping
tables of docs/cdisc.md."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cdisc.conftest import export_command

from cartrial.cdisc.docs import generated_block, render_mapping

REPO = Path(__file__).resolve().parents[2]


def test_docs_mapping_tables_match_the_specs() -> None:
    """docs/cdisc.md's tables are generated from the spec data; regenerate with
    `python -m cartrial.cdisc.docs docs/cdisc.md`."""
    assert generated_block(REPO / "docs" / "cdisc.md") == render_mapping()
    block = render_mapping()
    assert "#### AE — Adverse Events" in block and "#### ADSL — Subject-Level Analysis Dataset" in block
    assert "| AETOXGR |" in block and "| C66742 |" in block


def test_export_command_writes_both_formats_and_check_lists_findings(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cdisc"
    result = cli(
        *export_command(exported, tmp_path, out),
        "--format",
        "xpt",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {d["name"] for d in payload["datasets"]} == set(exported.frames)
    assert (out / "sdtm" / "dm.xpt").is_file() and not (out / "sdtm" / "dm.json").exists()
    assert (out / "adam" / "define.xml").is_file() and (out / "cdisc-export.json").is_file()
    assert payload["snapshot"]["cutoff"] == "2022-03-20"
    ok = cli("export", "cdisc", "--check", out)
    assert ok.exit_code == 0 and "0 finding(s)" in ok.stdout
    # a file edited after the export: a label longer than 40 characters and a day 0 are found, located
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(out / "sdtm" / "ae.xpt"))
    frame.loc[2, "AESTDY"] = 0.0
    labels = [meta.column_names_to_labels[c] for c in frame.columns]
    labels[frame.columns.get_loc("AETERM")] = "Reported Term for the Adverse Event, as entered"
    pyreadstat.write_xport(
        frame,
        str(out / "sdtm" / "ae.xpt"),
        file_label="Adverse Events",
        column_labels=labels,
        table_name="AE",
        file_format_version=8,
    )
    bad = cli("export", "cdisc", "--check", out, "--json")
    assert bad.exit_code == 1
    findings = json.loads(bad.stdout)["findings"]
    rules = {(f["rule"], f["variable"], f["record"]) for f in findings}
    assert ("day-zero", "AESTDY", 3) in rules
    assert any(r == "label-length" and v == "AETERM" for r, v, _ in rules)


def test_export_command_with_edss_domain_rs_writes_rs_instead_of_qs(cli, exported_rs, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cdisc"
    base = export_command(exported_rs, tmp_path, out)
    result = cli(*base, "--format", "json", "--edss-domain", "rs", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {d["name"] for d in payload["datasets"]} == set(exported_rs.frames)
    assert (out / "sdtm" / "rs.json").is_file() and not (out / "sdtm" / "qs.json").exists()
    manifest = json.loads((out / "cdisc-export.json").read_text(encoding="utf-8"))
    assert manifest["options"]["edss_domain"] == "rs"
    ok = cli("export", "cdisc", "--check", out)
    assert ok.exit_code == 0 and "0 finding(s)" in ok.stdout
    assert "--edss-domain" in cli("export", "cdisc", "--help").stdout


def test_export_refuses_bad_options_and_missing_core(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base = export_command(exported, tmp_path, tmp_path / "o")
    bad_format = cli(*base, "--format", "sas7bdat")
    assert bad_format.exit_code == 2 and "xpt | json | both" in bad_format.stderr
    bad_ig = cli(*base, "--sdtmig", "3.3")
    assert bad_ig.exit_code == 2 and "3.4" in bad_ig.stderr
    bad_domain = cli(*base, "--edss-domain", "ft")
    assert bad_domain.exit_code == 2 and "qs | rs" in bad_domain.stderr
    no_core = cli(*base, "--core", str(tmp_path / "no-such-core"))
    assert no_core.exit_code == 2 and "github.com/cdisc-org/cdisc-rules-engine" in no_core.stderr
    assert not (tmp_path / "o").exists()  # refused before any work
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli("export", "cdisc", "--check", empty).exit_code == 2


def test_core_report_summary(tmp_path: Path) -> None:
    """The CORE adapter's summary of a report in CORE's JSON layout (Rules_Report statuses, Issue_Details)."""
    from cartrial.cdisc.core_adapter import summarise_report

    report = tmp_path / "core-report.json"
    report.write_text(
        json.dumps(
            {
                "Rules_Report": [
                    {"status": "SUCCESS"},
                    {"status": "SUCCESS"},
                    {"status": "ISSUE REPORTED"},
                    {"status": "SKIPPED"},
                ],
                "Issue_Details": [{"core_id": "CORE-000001"}, {"core_id": "CORE-000001"}],
            }
        )
    )
    summary = summarise_report(report)
    assert summary.statuses == {"SUCCESS": 2, "ISSUE REPORTED": 1, "SKIPPED": 1}
    assert summary.issues == 2
