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
from tests.cdisc.conftest import export_command


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
    assert ("LB", "LBDTC", record, "record-after-death") in issues
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
    result = cli(*export_command(exported, tmp_path, tmp_path / "o"))
    assert result.exit_code == 0, result.stderr
    assert "LB.LBDTC record 7: [record-after-death]" in " ".join(result.stdout.split())


def _drop_column(path: Path, column: str) -> None:
    document, names = _json_rows(path)
    i = names.index(column)
    document["columns"].pop(i)
    for row in document["rows"]:
        row.pop(i)
    path.write_text(json.dumps(document), encoding="utf-8")


def test_check_without_dm_usubjid_reports_findings_not_a_traceback(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A user's folder whose DM lacks USUBJID (DTHDTC kept): the missing variable is a finding; the data
    issues need the subject, so there are none — no traceback (KeyError 'USUBJID' before)."""
    _dead_before_a_lab(exported, tmp_path)
    _drop_column(tmp_path / "sdtm" / "dm.json", "USUBJID")
    result = cli("export", "cdisc", "--check", tmp_path)
    assert result.exit_code == 1
    flat = " ".join(result.stdout.split())
    assert "sdtm/dm.json:DM.USUBJID" in flat
    assert "data issue" not in flat
    as_json = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert as_json.exit_code == 1
    payload = json.loads(as_json.stdout)
    assert any(f["variable"] == "USUBJID" for f in payload["findings"])
    assert payload["data_issues"] == []


def test_check_without_the_datasets_date_or_subject_lists_no_issue(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """LB without USUBJID (or without LBDTC): a finding, no data issue, no traceback. A regression guard:
    it passed on the code it was written against (third review)."""
    _dead_before_a_lab(exported, tmp_path)
    _drop_column(tmp_path / "sdtm" / "lb.json", "USUBJID")
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert result.exit_code == 1, result.stdout
    assert json.loads(result.stdout)["data_issues"] == []


def test_check_with_odd_values_in_dm_and_lb_is_no_traceback(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A user's folder with numbers, nulls and malformed dates where the dates and subjects are: findings,
    never a traceback; the well-formed record after the death is still listed. A regression guard: it
    passed on the code it was written against (third review)."""
    record, _ = _dead_before_a_lab(exported, tmp_path)
    dm, dm_names = _json_rows(tmp_path / "sdtm" / "dm.json")
    odd = [None, 12, 3.5, "2022-13-45", "2022-03-01T25:00", "not a date", True]
    for r, value in zip(dm["rows"][1:], odd, strict=False):
        r[dm_names.index("DTHDTC")] = value
    dm["rows"][-1][dm_names.index("USUBJID")] = None
    (tmp_path / "sdtm" / "dm.json").write_text(json.dumps(dm), encoding="utf-8")
    lb, lb_names = _json_rows(tmp_path / "sdtm" / "lb.json")
    for r, value in zip(lb["rows"][1:], odd, strict=False):
        r[lb_names.index("LBDTC")] = value
        r[lb_names.index("USUBJID")] = value if not isinstance(value, str) else r[lb_names.index("USUBJID")]
    (tmp_path / "sdtm" / "lb.json").write_text(json.dumps(lb), encoding="utf-8")
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    payload = json.loads(result.stdout)
    assert payload["findings"]
    issues = [(i["dataset"], i["variable"], i["record"]) for i in payload["data_issues"]]
    assert ("LB", "LBDTC", record) in issues


def test_check_with_a_repeated_variable_is_a_finding_not_a_traceback(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A user's Dataset-JSON naming a variable twice (DM.USUBJID, DM.DTHDTC, LB.LBDTC): a finding for each,
    no traceback (pandas' factorize of a two-column selection raised ValueError before)."""
    _dead_before_a_lab(exported, tmp_path)
    for name, columns in (("dm.json", ("USUBJID", "DTHDTC")), ("lb.json", ("LBDTC",))):
        document, names = _json_rows(tmp_path / "sdtm" / name)
        for column in columns:
            i = names.index(column)
            document["columns"].append(dict(document["columns"][i]))
            for row in document["rows"]:
                row.append(row[i])
        (tmp_path / "sdtm" / name).write_text(json.dumps(document), encoding="utf-8")
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    repeated = {
        (f["dataset"], f["variable"]) for f in payload["findings"] if f["rule"] == "duplicate-variable"
    }
    assert repeated == {
        ("sdtm/dm.json:DM", "USUBJID"),
        ("sdtm/dm.json:DM", "DTHDTC"),
        ("sdtm/lb.json:LB", "LBDTC"),
    }
    # the values are read by position: no false iso8601 or duplicate-key finding (the column names were
    # read as the values before)
    assert {f["rule"] for f in payload["findings"]} == {"duplicate-variable"}, payload["findings"]
    assert payload["data_issues"] == []


def test_check_with_a_repeated_numeric_variable_is_a_duplicate_variable_finding(
    cli, exported, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """LB.LBSEQ (integer) named twice in a user's Dataset-JSON: a duplicate-variable finding and nothing
    else (the file was reported unreadable before)."""
    _dead_before_a_lab(exported, tmp_path)
    document, names = _json_rows(tmp_path / "sdtm" / "lb.json")
    i = names.index("LBSEQ")
    document["columns"].append(dict(document["columns"][i]))
    for row in document["rows"]:
        row.append(row[i])
    (tmp_path / "sdtm" / "lb.json").write_text(json.dumps(document), encoding="utf-8")
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert result.exit_code == 1, result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert [(f["dataset"], f["variable"], f["rule"]) for f in payload["findings"]] == [
        ("sdtm/lb.json:LB", "LBSEQ", "duplicate-variable")
    ]


def test_check_lists_an_issue_of_both_formats_once(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same record in lb.json and lb.xpt of one folder: one data issue naming both files (it was
    listed once per format)."""
    from cartrial.cdisc.spec import dataset_specs
    from cartrial.cdisc.transport import read_dataset_json, write_xpt

    record, _ = _dead_before_a_lab(exported, tmp_path)
    sdtm = tmp_path / "sdtm"
    dm, _ = read_dataset_json(sdtm / "dm.json")
    write_xpt(dm, dataset_specs()["DM"], sdtm / "dm.xpt")
    shutil.copyfile(exported.out / "sdtm" / "lb.xpt", sdtm / "lb.xpt")
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    assert result.exit_code == 0, result.stdout
    issues = [
        (i["dataset"], i["files"], i["variable"], i["record"])
        for i in json.loads(result.stdout)["data_issues"]
        if i["variable"] == "LBDTC" and i["record"] == record
    ]
    assert issues == [("LB", ["sdtm/lb.json", "sdtm/lb.xpt"], "LBDTC", record)]
    text = " ".join(cli("export", "cdisc", "--check", tmp_path).stdout.split())
    assert text.count(f"LB.LBDTC record {record}: [record-after-death]") == 1
    assert f"sdtm/lb.json and lb.xpt:LB.LBDTC record {record}:" in text


def test_check_table_title_shows_the_folder_as_given(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A folder named ``[bold]x``: rich read it as a markup tag and dropped it from the table's title."""
    folder = tmp_path / "[bold]x"
    (folder / "sdtm").mkdir(parents=True)
    shutil.copyfile(exported.out / "sdtm" / "dm.json", folder / "sdtm" / "dm.json")
    result = cli("export", "cdisc", "--check", folder)
    assert result.exit_code == 0, result.stdout
    assert "[bold]x" in result.stdout.replace("\n", "").replace(" ", "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("label", None),
        ("label", ["a", "list"]),
        ("label", 7),
        ("name", None),
        ("name", 12),
        ("dataType", None),
        ("dataType", "no-such-type"),
        ("length", "20"),
        ("length", 2.5),
        ("length", True),
        ("itemOID", None),
        ("itemOID", {"a": 1}),
    ],
)
def test_check_with_a_bad_column_metadata_field_is_a_finding(
    cli, exported, tmp_path: Path, field: str, value: object
) -> None:  # type: ignore[no-untyped-def]
    """A Dataset-JSON column whose label, name, dataType, length or itemOID is not of its type (null, a list,
    a number for text...): a finding naming the file, the column and the field, exit 1, never a traceback
    (TypeError / AttributeError before for a label)."""
    _dead_before_a_lab(exported, tmp_path)
    document, names = _json_rows(tmp_path / "sdtm" / "lb.json")
    i = names.index("LBTESTCD")
    document["columns"][i][field] = value
    (tmp_path / "sdtm" / "lb.json").write_text(json.dumps(document), encoding="utf-8")
    for args in ((), ("--json",)):
        result = cli("export", "cdisc", "--check", tmp_path, *args)
        assert result.exit_code == 1, result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    findings = [f for f in json.loads(result.stdout)["findings"] if f["dataset"].startswith("sdtm/lb.json")]
    assert findings
    assert any(field in f["message"] for f in findings), findings


def test_check_with_a_lone_surrogate_value_is_a_finding(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A value holding a lone surrogate (``"\\ud800"``, valid JSON, no Unicode text): an ``ascii`` finding of
    that record, never a traceback (UnicodeEncodeError before)."""
    _dead_before_a_lab(exported, tmp_path)
    path = tmp_path / "sdtm" / "lb.json"
    document, names = _json_rows(path)
    document["rows"][1][names.index("LBORRES")] = "5\ud800"
    document["rows"][1][names.index("LBTESTCD")] = "AL\ud800"
    path.write_text(json.dumps(document), encoding="utf-8")  # json.dumps escapes it: "5\\ud800"
    for label in ("x\ud800", None):
        if label is not None:
            document["rows"][1][names.index("LBORRES")] = "5"
            document["columns"][names.index("LBORRES")]["label"] = label
            path.write_text(json.dumps(document), encoding="utf-8")
        result = cli("export", "cdisc", "--check", tmp_path, "--json")
        assert result.exit_code == 1, result.stdout + result.stderr
        findings = json.loads(result.stdout)["findings"]
        assert ("sdtm/lb.json:LB", "LBORRES", "ascii") in {
            (f["dataset"], f["variable"], f["rule"]) for f in findings
        }
        text = cli("export", "cdisc", "--check", tmp_path)
        assert text.exit_code == 1
        assert "[ascii]" in text.stdout


def test_check_json_data_issue_names_the_dataset_and_lists_its_files(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`--json`: a data issue's ``dataset`` is the dataset's name and ``files`` the files it is in (the
    dataset held ``sdtm/lb.json:LB`` before)."""
    record, _ = _dead_before_a_lab(exported, tmp_path)
    result = cli("export", "cdisc", "--check", tmp_path, "--json")
    issues = json.loads(result.stdout)["data_issues"]
    assert ("LB", ["sdtm/lb.json"], "LBDTC", record) in [
        (i["dataset"], i["files"], i["variable"], i["record"]) for i in issues
    ]
    assert all(i["dataset"] == "LB" and i["files"] == ["sdtm/lb.json"] for i in issues)


def test_check_text_table_shows_a_file_name_with_brackets(cli, exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A folder named ``[bold]x`` is shown as is in the table of files (no rich markup)."""
    sdtm = tmp_path / "[bold]x"
    sdtm.mkdir()
    shutil.copyfile(exported.out / "sdtm" / "dm.json", sdtm / "dm.json")
    result = cli("export", "cdisc", "--check", tmp_path)
    assert result.exit_code == 0, result.stdout
    assert "[bold]x/dm.json" in result.stdout.replace("\n", "")
