"""D-19.520/D-19.523 completed: the remaining parsers that read digits with `\\d`, `isdigit()` or
`isdecimal()`, or trimmed with `str.strip()`, follow the one rule — digits are 0-9, and a cell loses only
space, tab, CR and LF at its edges (another invisible edge character is refused, located)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from pydantic import ValidationError

from cartrial.cdisc.validate import is_iso8601
from cartrial.errors import InputError
from cartrial.simulation.scenario import Accrual
from cartrial.store.importing.redcap_dictionary import DICTIONARY_COLUMNS, read_dictionary

ARABIC_DATE = "\u0662\u0660\u0662\u0661-\u0660\u0666-\u0660\u0661"  # ٢٠٢١-٠٦-٠١


def test_is_iso8601_reads_only_the_digits_0_to_9() -> None:
    assert is_iso8601("2021-06-01T10:00")
    assert not is_iso8601(ARABIC_DATE)
    assert not is_iso8601("\uff12\uff10\uff12\uff11")  # full-width ２０２１


def test_a_scenario_start_date_is_written_in_0_to_9() -> None:
    assert Accrual(start_date="2021-04-01").start_date == "2021-04-01"
    with pytest.raises(ValidationError):
        Accrual(start_date=ARABIC_DATE)


@pytest.mark.parametrize("bad", ["\u00b2", "\u0661\u0662", "\uff18"])
def test_web_threads_in_other_digits_are_refused_clearly(monkeypatch: pytest.MonkeyPatch, bad: str) -> None:
    from cartrial.web import app

    monkeypatch.setenv("CARTRIAL_WEB_THREADS", bad)
    with pytest.raises(InputError, match="CARTRIAL_WEB_THREADS") as caught:
        app._request_threads()
    assert "0-9" in (caught.value.problems[0].allowed or "")


def test_a_checked_form_record_id_is_read_in_0_to_9_only() -> None:
    from cartrial.web.pages.entry import record_id_of

    assert record_id_of("12") == 12
    assert record_id_of("\u0661\u0662") is None  # ١٢
    assert record_id_of("\u00b2") is None
    assert record_id_of(None) is None


def _dictionary(path: Path, label: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(DICTIONARY_COLUMNS)
        writer.writerow(["record_id", "demo", "", "text", "Record ID"] + [""] * 13)
        writer.writerow(["sex", "demo", "", "radio", label, "1, Female | 2, Male"] + [""] * 12)
    return path


def test_a_dictionary_cell_keeps_only_blanks_trimmed(tmp_path: Path) -> None:
    dictionary = read_dictionary(_dictionary(tmp_path / "d.csv", " Sex\t"))
    assert dictionary.fields["sex"].choices == {"1": "Female", "2": "Male"}


@pytest.mark.parametrize("edge", ["\u00a0", "\u200b", "\u3000"])
def test_a_dictionary_cell_with_another_invisible_edge_is_refused_located(tmp_path: Path, edge: str) -> None:
    with pytest.raises(InputError) as caught:
        read_dictionary(_dictionary(tmp_path / "d.csv", "Sex" + edge))
    (problem,) = caught.value.problems
    assert problem.row == 3 and problem.field == "Field Label"
    assert f"U+{ord(edge):04X}" in problem.message
