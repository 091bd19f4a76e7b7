"""`cartrial report` on the example study: files, content in the issue's order, numbers from the data,
reproducible output, an audited edit that changes the report, the same tables on SQLite and PostgreSQL, and
clear errors (exit 2)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.report import report_files
from cartrial.store import init_study
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from ..conftest import TEST_PASSWORD, copy_writable_tree, edit_ct004_crs_to_grade_3, run_cartrial
from .conftest import CUTOFF, PROTOCOL, STUDY, report_argv

SECTION_ORDER = (
    "title-page",
    "contents",
    "key-findings",
    "disposition",
    "demographics",
    "exposure",
    "escalation",
    "crs-icans",
    "adverse-events",
    "laboratory",
    "efficacy",
    "pk",
    "pd",
    "listings",
    "methods",
)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return run_cartrial(*args, capsys=capsys).astuple()


def infused_by_dose_level() -> Counter[str]:
    """Independent count from the example's infusion records (CSV), not from cartrial."""
    with open(STUDY / "infusions.csv", newline="", encoding="utf-8") as handle:
        return Counter(
            row["dose_level"] for row in csv.DictReader(handle) if row["infused_at"][:10] <= CUTOFF
        )


def html_text(html: str) -> str:
    """Visible text of the HTML (tags dropped, whitespace collapsed)."""
    import html as html_module

    return re.sub(r"\s+", " ", html_module.unescape(re.sub(r"<[^>]+>", " ", html)))


def test_report_folder_has_html_pdf_tables_and_figures(example_report: Path) -> None:
    assert (example_report / "report.html").is_file()
    assert (example_report / "report.pdf").read_bytes().startswith(b"%PDF")
    tables = {p.name for p in (example_report / "tables").iterdir()}
    assert {"crs_icans_summary.csv", "responders_summary.csv", "relapse_free_km.csv"} <= tables
    figures = {p.name for p in (example_report / "figures").iterdir()}
    assert {"km_relapse_free.svg", "swimmer.svg", "expansion.svg", "crs_icans_heatmap.svg"} <= figures
    for figure in figures:
        svg = (example_report / "figures" / figure).read_text(encoding="utf-8")
        assert "<svg" in svg and "<dc:date>" not in svg


def test_html_is_self_contained_with_sections_in_order(example_report: Path) -> None:
    html = (example_report / "report.html").read_text(encoding="utf-8")
    positions = [html.find(f'id="{anchor}"') for anchor in SECTION_ORDER]
    assert all(p >= 0 for p in positions), dict(zip(SECTION_ORDER, positions, strict=True))
    assert positions == sorted(positions)
    # the contents list links every section after it
    for anchor in SECTION_ORDER[2:]:
        assert f'href="#{anchor}"' in html
    # no external resource: no http(s) src/href, no <link> or <script src>
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "<link" not in html and "<script" not in html
    assert html.count('src="data:image/svg+xml;base64,') >= 4
    assert "DRAFT — unlocked data" in html


def test_example_report_states_infused_crs_and_icans_from_the_data(example_report: Path) -> None:
    counts = infused_by_dose_level()
    assert counts == {"1": 3, "2": 9}  # the example data, counted independently
    text = html_text((example_report / "report.html").read_text(encoding="utf-8"))
    total = sum(counts.values())
    assert (
        f"{total} of {total} enrolled patients were infused "
        f"({counts['1']} at dose level 1, {counts['2']} at dose level 2)"
    ) in text
    assert f"CRS occurred in {total} of {total} infused patients (100 %), all grade 1–2." in text
    assert f"No patient had ICANS (0 of {total} infused patients)." in text
    # the grade table shown is the dataset's CSV: CRS max grade 1-2 only, ICANS grade 0 in all
    grades = list(csv.DictReader((example_report / "tables" / "crs_icans_grades.csv").open(encoding="utf-8")))
    overall = {row["kind"]: row for row in grades if row["group"] == "all"}
    assert int(overall["crs"]["max_grade_1"]) + int(overall["crs"]["max_grade_2"]) == total
    assert int(overall["icans"]["max_grade_0"]) == total


def test_same_snapshot_gives_identical_output_apart_from_generated_at(
    report_sqlite: str, snapshot: StudySnapshot, analysis: Analysis
) -> None:
    """The first report is of the module's `snapshot` and `analysis` (the example at `CUTOFF`, read and
    analysed once per session, conftest.py); the second of the same study read and analysed again."""
    first = report_files(
        analysis, snapshot.tables, generated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), pdf=False
    )
    again = read_snapshot(report_sqlite, dt.date.fromisoformat(CUTOFF))
    second = report_files(
        analyse(again), again.tables, generated_at=dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC), pdf=False
    )
    assert set(first) == set(second)
    for name in first:
        if name != "report.html":
            assert first[name] == second[name], name
    html_1, html_2 = str(first["report.html"]), str(second["report.html"])
    assert html_1 != html_2
    differing = [(a, b) for a, b in zip(html_1.splitlines(), html_2.splitlines(), strict=True) if a != b]
    assert len(differing) == 1 and "Generated at" in differing[0][0]


def test_an_audited_crs_edit_changes_statements_tables_and_figures(
    example_report: Path, report_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report before the edit is the session's `example_report` (`cartrial report` of the same example
    study at the same cut-off, read only); the report after it is written from the edited copy."""
    before, after = example_report, tmp_path / "after"
    edit_ct004_crs_to_grade_3(report_sqlite)
    assert (
        cli(
            capsys,
            "report",
            "--url",
            report_sqlite,
            "--user",
            "admin",
            "--cutoff",
            CUTOFF,
            "--out",
            str(after),
            "--no-pdf",
        )[0]
        == 0
    )
    text_before = html_text((before / "report.html").read_text(encoding="utf-8"))
    text_after = html_text((after / "report.html").read_text(encoding="utf-8"))
    assert "all grade 1–2" in text_before and "all grade 1–2" not in text_after
    assert "maximum grade 3; grade ≥ 3 in 1 (CT-004)." in text_after
    for table in ("crs_icans_grades.csv", "crs_icans_by_subject.csv", "crs_episodes.csv"):
        assert (before / "tables" / table).read_bytes() != (after / "tables" / table).read_bytes(), table
    for figure in ("crs_icans_heatmap.svg", "swimmer.svg"):
        assert (before / "figures" / figure).read_bytes() != (after / "figures" / figure).read_bytes(), figure
    grades = list(csv.DictReader((after / "tables" / "crs_icans_grades.csv").open(encoding="utf-8")))
    overall = next(row for row in grades if row["kind"] == "crs" and row["group"] == "all")
    assert overall["max_grade_3"] == "1"


def test_bad_input_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], report_sqlite: str
) -> None:
    out = str(tmp_path / "r")
    code, _, err = cli(
        capsys, "report", "--url", report_sqlite, "--user", "admin", "--cutoff", "2021-01-01", "--out", out
    )
    assert code == 2 and "before the first infusion" in err
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    init_study(empty, PROTOCOL, "admin", admin_password=TEST_PASSWORD)
    code, _, err = cli(capsys, "report", "--url", empty, "--user", "admin", "--cutoff", CUTOFF, "--out", out)
    assert code == 2 and "no subject" in err
    code, _, err = cli(
        capsys, "report", "--url", report_sqlite, "--user", "admin", "--cutoff", "20-03-2022", "--out", out
    )
    assert code == 2 and "not a date" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "report.html").exists()


@pytest.mark.postgres
def test_sqlite_and_postgresql_give_identical_tables(
    report_sqlite: str, postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ..conftest import build_example

    build_example(postgres_url)
    lite, pg = tmp_path / "lite", tmp_path / "pg"
    assert (
        cli(
            capsys,
            "report",
            "--url",
            report_sqlite,
            "--user",
            "admin",
            "--cutoff",
            CUTOFF,
            "--out",
            str(lite),
            "--no-pdf",
        )[0]
        == 0
    )
    assert (
        cli(
            capsys,
            "report",
            "--url",
            postgres_url,
            "--user",
            "admin",
            "--cutoff",
            CUTOFF,
            "--out",
            str(pg),
            "--no-pdf",
        )[0]
        == 0
    )
    lite_tables = {p.name: p.read_bytes() for p in (lite / "tables").iterdir()}
    pg_tables = {p.name: p.read_bytes() for p in (pg / "tables").iterdir()}
    assert lite_tables.keys() == pg_tables.keys() and len(lite_tables) > 20
    for name, content in lite_tables.items():
        assert content == pg_tables[name], name


def test_files_of_an_earlier_report_that_this_one_lacks_are_removed(
    example_report: Path, report_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D-19.53: a report written into the folder of an earlier one kept that report's tables, figures and
    report.pdf which the new one does not write (exit 0): the folder mixed two reports. They are removed and
    named; other files of the folder stay. The earlier report is a writable copy of the session's
    `example_report` (the same study and cut-off)."""
    out = copy_writable_tree(example_report, tmp_path / "report")
    args = report_argv(report_sqlite, out, "--no-pdf")
    (out / "tables" / "retired_table.csv").write_text("a\n1\n", encoding="utf-8")
    (out / "figures" / "retired_figure.svg").write_text("<svg/>", encoding="utf-8")
    (out / "report.pdf").write_bytes(b"%PDF-1.7 earlier")
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    code, _out, err = cli(capsys, *args)
    assert code == 0
    for name in ("tables/retired_table.csv", "figures/retired_figure.svg", "report.pdf"):
        assert not (out / name).exists() and name in err
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (out / "report.html").is_file() and any((out / "tables").iterdir())


def test_a_fresh_out_keeps_the_users_tables_and_pdf(
    report_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """D-19.501: the report is written before the earlier one's leftovers go, and whether an earlier report
    was there was told by report.html — always the new one by then. A folder with no earlier report lost the
    user's tables/*.csv and report.pdf. The leftovers are now decided before writing."""
    out = tmp_path / "report"
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "my_own.csv").write_text("a\n1\n", encoding="utf-8")
    (out / "report.pdf").write_bytes(b"%PDF-1.7 the user's")
    code, _out, err = cli(capsys, *report_argv(report_sqlite, out, "--no-pdf"))
    assert code == 0 and "removed" not in err
    assert (out / "tables" / "my_own.csv").read_text(encoding="utf-8") == "a\n1\n"
    assert (out / "report.pdf").read_bytes() == b"%PDF-1.7 the user's"
    assert (out / "report.html").is_file()
