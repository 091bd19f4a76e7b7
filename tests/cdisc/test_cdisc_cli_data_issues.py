"""The command's text output shows each finding's rule and each data issue (D-19.653, D-19.659).

rich reads ``[record-after-death]`` or ``[day-zero]`` in a printed string as a markup tag and drops it, so
the rule a finding names never reached the terminal. ``--check`` also lists the records dated after the
subject's death of the folder it re-reads (non-blocking, as the export does), so the check shows what the
export listed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest


def _json_rows(path: Path) -> tuple[dict, list[str]]:  # type: ignore[type-arg]
    document = json.loads(path.read_text(encoding="utf-8"))
    return document, [c["name"] for c in document["columns"]]


def _dead_before_a_lab(exported, folder: Path) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    """sdtm/dm.json and lb.json of the example, DM edited so the subject of LB record 1 died the day before
    that lab (a complete date): (the LB record number, 1, and the subject)."""
    sdtm = folder / "sdtm"
    sdtm.mkdir(parents=True)
    for name in ("dm.json", "lb.json"):
        shutil.copyfile(exported.out / "sdtm" / name, sdtm / name)
    lb, lb_names = _json_rows(sdtm / "lb.json")
    row = lb["rows"][0]
    subject = row[lb_names.index("USUBJID")]
    lab_day = row[lb_names.index("LBDTC")][:10]
    import datetime as dt

    death = (dt.date.fromisoformat(lab_day) - dt.timedelta(days=1)).isoformat()
    dm, dm_names = _json_rows(sdtm / "dm.json")
    for r in dm["rows"]:
        if r[dm_names.index("USUBJID")] == subject:
            r[dm_names.index("DTHDTC")] = death
            r[dm_names.index("DTHFL")] = "Y"
    (sdtm / "dm.json").write_text(json.dumps(dm), encoding="utf-8")
    return 1, subject


def test_check_text_output_names_the_rule_of_each_finding(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sdtm = tmp_path / "sdtm"
    sdtm.mkdir()
    shutil.copyfile(exported.out / "sdtm" / "ae.json", sdtm / "ae.json")
    ae, names = _json_rows(sdtm / "ae.json")
    ae["rows"][2][names.index("AESTDY")] = 0
    (sdtm / "ae.json").write_text(json.dumps(ae), encoding="utf-8")
    bad = cli("export", "cdisc", "--check", tmp_path)
    assert bad.exit_code == 1
    assert "sdtm/ae.json:AE.AESTDY record 3: [day-zero]" in " ".join(bad.stdout.split())


def test_check_lists_records_after_the_death_without_failing(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    record, subject = _dead_before_a_lab(exported, tmp_path)
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert result.exit_code == 0, result.stdout
    payload = json.loads(result.stdout)
    assert payload["findings"] == []
    issues = [(i["dataset"], i["variable"], i["record"], i["rule"]) for i in payload["data_issues"]]
    assert ("sdtm/lb.json:LB", "LBDTC", record, "record-after-death") in issues
    text = cli("export", "cdisc", "--check", tmp_path)
    assert text.exit_code == 0
    flat = " ".join(text.stdout.split())
    assert f"sdtm/lb.json:LB.LBDTC record {record}: [record-after-death]" in flat
    assert subject.split("-")[-1] not in json.dumps(payload["data_issues"])


def test_export_text_output_names_the_rule_of_a_data_issue(  # type: ignore[no-untyped-def]
    cli, exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The export's own listing (the export itself is replaced: only the command's output is checked)."""
    import cartrial.analysis
    import cartrial.cdisc.export
    from cartrial.cdisc.export import ExportResult
    from cartrial.cdisc.validate import Finding

    issue = Finding("LB", "record-after-death", "LBDTC is after the subject's death", "LBDTC", 7, "warning")

    def fake_export(snapshot, analysis, out, **_: object) -> ExportResult:  # type: ignore[no-untyped-def]
        return ExportResult(out, (), snapshot.metadata(), (), {}, (issue,))

    monkeypatch.setattr(cartrial.analysis, "analyse", lambda snapshot: None)
    monkeypatch.setattr(cartrial.cdisc.export, "export_cdisc", fake_export)
    db = tmp_path / "study.db"
    shutil.copyfile(exported.url.removeprefix("sqlite:///"), db)
    result = cli(
        "export",
        "cdisc",
        "--url",
        f"sqlite:///{db}",
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        tmp_path / "o",
    )
    assert result.exit_code == 0, result.stderr
    assert "LB.LBDTC record 7: [record-after-death]" in " ".join(result.stdout.split())
