"""Review of D-19.457 (D-19.459 to D-19.462): every output of a site-restricted read says so, a report's
population fit covers the report's view, a CDISC submission export is the whole study's only, and a
site with no subject at the cut-off is told so."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import copy_sqlite_file, copy_writable_tree, make_read_only, run_cartrial
from .conftest import TwoSitesReports, session_credentials
from .test_reads_as_user import _args

FAST = ("--k1", "5", "--k2", "5", "--no-figures")


@pytest.fixture(scope="module")
def tjh_fit_template(two_sites_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`kinetics popfit --url` of the two-site study as `inv_tjh`, run once per module (read only)."""
    folder = tmp_path_factory.mktemp("tjh_fit")
    database = folder / "study.db"
    copy_sqlite_file(two_sites_template, database)
    with session_credentials(tmp_path_factory):
        result = run_cartrial(
            *_args("popfit", f"sqlite:///{database}", folder / "fit"), *FAST, "--user", "inv_tjh"
        )
    assert result.exit_code == 0, result.stderr
    with make_read_only(folder / "fit"):
        yield folder / "fit"


@pytest.fixture
def tjh_fit(tjh_fit_template: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the fit's folder (a test may edit its estimates.json)."""
    return copy_writable_tree(tjh_fit_template, tmp_path / "fit")


def test_a_restricted_popfit_records_its_view_in_estimates_and_summary(tjh_fit: Path) -> None:
    document = json.loads((tjh_fit / "estimates.json").read_text(encoding="utf-8"))
    view = document["data"]["view"]
    assert view["whole_study"] is False and view["sites"] == ["TJH"] and view["read_by"] == "inv_tjh"
    html = (tjh_fit / "summary.html").read_text(encoding="utf-8")
    assert "RESTRICTED VIEW" in html.split("<h2>")[0]  # in the header, before the estimates


def test_a_report_refuses_a_fit_of_another_view(
    two_sites: str, tjh_fit: Path, tmp_path: Path, cli: Any
) -> None:
    out = tmp_path / "r"
    result = cli(*_args("report", two_sites, out), "--popfit", str(tjh_fit), "--user", "admin")
    assert result.exit_code == 2, result.stderr
    assert "TJH" in result.stderr and "whole study" in result.stderr
    assert "CT-0" not in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    same = cli(*_args("report", two_sites, tmp_path / "s"), "--popfit", str(tjh_fit), "--user", "inv_tjh")
    assert same.exit_code == 0, same.stderr


def test_a_fit_from_a_file_is_labelled_view_unknown(
    two_sites: str, tjh_fit: Path, tmp_path: Path, cli: Any
) -> None:
    document = json.loads((tjh_fit / "estimates.json").read_text(encoding="utf-8"))
    del document["data"]["view"]  # as a fit of a sample file writes it (no view)
    document["data"]["view"] = None
    (tjh_fit / "estimates.json").write_text(json.dumps(document), encoding="utf-8")
    result = cli(*_args("report", two_sites, tmp_path / "r"), "--popfit", str(tjh_fit), "--user", "admin")
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "fit from a file, view unknown" in html


def test_a_site_restricted_cdisc_export_is_refused(two_sites: str, tmp_path: Path, cli: Any) -> None:
    out = tmp_path / "c"
    result = cli(*_args("export", two_sites, out), "--user", "inv_pumch")
    assert result.exit_code == 2, result.stderr
    assert "whole study" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    whole = cli(*_args("export", two_sites, tmp_path / "w"), "--user", "admin")
    assert whole.exit_code == 0, whole.stderr


def test_restricted_report_title_and_analysis_readme_say_so(
    two_sites: str, two_sites_reports: TwoSitesReports, tmp_path: Path, cli: Any
) -> None:
    """The reports are `two_sites_reports` (`cartrial report` as `inv_tjh` and as `admin`, run once)."""
    html = (two_sites_reports.tjh / "report.html").read_text(encoding="utf-8")
    title = html.split("<title>")[1].split("</title>")[0]
    h1 = html.split("<h1")[1].split("</h1>")[0]
    assert "RESTRICTED VIEW" in title, f"the site view's <title> does not say RESTRICTED VIEW: {title!r}"
    assert "RESTRICTED VIEW" in h1, f"the site view's <h1> does not say RESTRICTED VIEW: {h1!r}"
    analysed = cli(*_args("analyse", two_sites, tmp_path / "a"), "--user", "inv_tjh")
    assert analysed.exit_code == 0, analysed.stderr
    assert "RESTRICTED VIEW" in (tmp_path / "a" / "README.md").read_text(encoding="utf-8")
    whole = (two_sites_reports.admin / "report.html").read_text(encoding="utf-8")
    whole_title = whole.split("<title>")[1].split("</title>")[0]
    whole_h1 = whole.split("<h1")[1].split("</h1>")[0]
    assert "RESTRICTED VIEW" not in whole_title, (
        f"the whole study's <title> says RESTRICTED VIEW: {whole_title!r}"
    )
    assert "RESTRICTED VIEW" not in whole_h1, f"the whole study's <h1> says RESTRICTED VIEW: {whole_h1!r}"


def test_persist_is_refused_before_reading_without_derive_or_for_a_site_view(
    two_sites: str,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import cartrial.store.snapshot as snapshot_module

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the snapshot was read before the refusal")

    monkeypatch.setattr(snapshot_module, "read_snapshot", never)
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), "--persist", "--user", "inv_tjh")
    assert result.exit_code == 2, (result.stderr, result.exception)  # an investigator has no DERIVE
    assert "may not" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "a").exists()


def test_persist_is_refused_to_a_site_restricted_user_with_derive(
    two_sites: str,
    tmp_path: Path,
    cli: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cartrial.store import permissions

    table = dict(permissions.PERMISSIONS)
    table["investigator"] = table["investigator"] | {permissions.Action.DERIVE}
    monkeypatch.setattr(permissions, "PERMISSIONS", table)
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), "--persist", "--user", "inv_tjh")
    assert result.exit_code == 2, result.stderr
    assert "whole study" in result.stderr and "--persist" in result.stderr
    assert not (tmp_path / "a").exists()


def test_a_site_without_subjects_at_the_cutoff_is_told_so(two_sites: str, tmp_path: Path, cli: Any) -> None:
    """An investigator of a site with no infused subject was told "the cut-off is before the first
    infusion", which is about the study, not their view (D-19.459)."""
    from cartrial.store import StudyService, connect

    from ..conftest import TEST_PASSWORD

    service = StudyService(connect(two_sites))
    service.add_site("admin", "PKU", "Peking University First Hospital", "CN")
    service.add_user("admin", "inv_pku", "investigator", site_id="PKU", password=TEST_PASSWORD)
    service.engine.dispose()
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), "--user", "inv_pku")
    assert result.exit_code == 2, result.stderr
    assert "site(s) PKU" in result.stderr and "no subject" in result.stderr
    assert "before the first infusion" not in result.stderr and "CT-" not in result.stderr
