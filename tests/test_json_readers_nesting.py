"""Every JSON file cartrial reads goes through `cartrial.sources.parse_json` (D-19.1141).

Four readers still called `json.loads`, which ends a document nested deeper than the interpreter's
recursion limit with a `RecursionError` (not a `ValueError`, so their handlers let it through as a
traceback): the manifest of a folder given to `export cdisc --check`, CORE's report read by
`export cdisc --core`, the earlier ``analysis.json`` of an ``analyse --out`` folder, and the login
sessions file. CORE's report that is not JSON, or not a CORE report, was a `JSONDecodeError` or
`AttributeError` traceback. Failing first on main.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cartrial.errors import CartrialError

DEEP = "[" * 100_000 + "]" * 100_000  # past CPython's recursion limit for the standard parser


def test_the_standard_parser_ends_such_a_document_with_a_recursion_error() -> None:
    """The premise: `json.loads` raises RecursionError here (a guard: if a Python release changes it,
    the tests below still hold but no longer show the old defect)."""
    with pytest.raises(RecursionError):
        json.loads(DEEP)


def test_export_check_manifest_nested_too_deep_is_refused_by_name(tmp_path: Path) -> None:
    from cartrial.cdisc.export import check_folder

    (tmp_path / "cdisc-export.json").write_text(DEEP, encoding="utf-8")
    with pytest.raises(CartrialError, match=r"cdisc-export\.json is not an export manifest of cartrial"):
        check_folder(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(DEEP, r"is not JSON at line 1, column 101\b", id="nested-too-deep"),
        pytest.param('{"Rules_Report": [', r"is not JSON at line 1, column 19\b", id="truncated"),
        pytest.param("\udcff", r"is not JSON$", id="not-utf8"),
        pytest.param("[1, 2]", r"is not a CORE JSON report", id="a-list"),
        pytest.param('{"Rules_Report": {"status": "OK"}}', r"is not a CORE JSON report", id="rules-object"),
        pytest.param('{"Rules_Report": ["SUCCESS"]}', r"is not a CORE JSON report", id="rule-text"),
        pytest.param('{"Issue_Details": 3}', r"is not a CORE JSON report", id="issues-number"),
    ],
)
def test_a_core_report_that_is_not_one_is_refused_by_name(tmp_path: Path, text: str, message: str) -> None:
    from cartrial.cdisc.core_adapter import summarise_report

    report = tmp_path / "core-report.json"
    if text == "\udcff":
        report.write_bytes(b'{"Rules_Report": [\xff]}')
    else:
        report.write_text(text, encoding="utf-8")
    with pytest.raises(CartrialError, match=message) as refused:
        summarise_report(report)
    assert str(refused.value).startswith(f"--core: CORE's report {report} ")


def test_a_core_report_without_either_list_counts_nothing(tmp_path: Path) -> None:
    from cartrial.cdisc.core_adapter import summarise_report

    report = tmp_path / "core-report.json"
    report.write_text("{}", encoding="utf-8")
    summary = summarise_report(report)
    assert (summary.statuses, summary.issues) == ({}, 0)


def test_an_earlier_analysis_json_nested_too_deep_lists_no_stale_dataset(tmp_path: Path) -> None:
    """An unreadable earlier analysis.json names no dataset to remove (as one that is not JSON)."""
    from cartrial.commands.analysis_commands import stale_dataset_names

    (tmp_path / "analysis.json").write_text(DEEP, encoding="utf-8")
    (tmp_path / "kept.csv").write_text("a\n1\n", encoding="utf-8")
    assert stale_dataset_names(tmp_path, {}) == []
    assert (tmp_path / "kept.csv").is_file()


def test_a_sessions_file_nested_too_deep_holds_no_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.commands import auth_commands

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "cartrial").mkdir()
    (tmp_path / "cartrial" / "sessions.json").write_text(DEEP, encoding="utf-8")
    assert auth_commands._read_sessions() == {}
