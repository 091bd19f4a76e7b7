"""Issue 19 §2 (D-19.457, D-19.458): `analyse`, `report`, `export cdisc` and `kinetics popfit --url` read
every site's identified data for whoever held the database URL, without a user or a password. They now
authenticate the acting user (`acting_user`) and read that user's view (`snapshot_for_user`): a site
investigator's output holds only their site's subjects and says it is restricted; an admin's is the whole
study."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cartrial.store import StudyService, connect
from cartrial.store.permissions import PermissionDeniedError

from ..conftest import TEST_PASSWORD
from .conftest import TwoSitesReports

CUTOFF = "2022-03-20"


def _args(command: str, url: str, out: Path) -> list[str]:
    if command == "analyse":
        return ["analyse", "--url", url, "--cutoff", CUTOFF, "--out", str(out), "--json"]
    if command == "report":
        return ["report", "--url", url, "--cutoff", CUTOFF, "--out", str(out), "--no-pdf"]
    if command == "export":
        return ["export", "cdisc", "--url", url, "--cutoff", CUTOFF, "--out", str(out), "--format", "json"]
    return ["kinetics", "popfit", "--url", url, "--cutoff", CUTOFF, "--out", str(out)]


COMMANDS = ("analyse", "report", "export", "popfit")


@pytest.mark.parametrize("command", COMMANDS)
def test_no_user_is_refused_with_the_located_message(
    command: str, two_sites: str, tmp_path: Path, cli: Any
) -> None:
    result = cli(*_args(command, two_sites, tmp_path / "out"), env={"CARTRIAL_USER": None})
    assert result.exit_code == 2, result.stderr
    assert "no acting user: pass --user NAME or set CARTRIAL_USER" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_a_wrong_password_is_refused(command: str, two_sites: str, tmp_path: Path, cli: Any) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password-0000\n")
    args = [*_args(command, two_sites, tmp_path / "out"), "--user", "admin"]
    result = cli(*args, env={"CARTRIAL_PASSWORD_FILE": str(wrong)})
    assert result.exit_code == 2, result.stderr
    assert "authentication failed" in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_site_investigators_analysis_holds_only_their_site_and_says_so(
    two_sites: str, tmp_path: Path, cli: Any
) -> None:
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), "--user", "inv_pumch")
    assert result.exit_code == 0, result.stderr
    view = json.loads(result.stdout)["snapshot"]["view"]
    assert view["whole_study"] is False and view["sites"] == ["PUMCH"] and view["read_by"] == "inv_pumch"
    assert "RESTRICTED" in view["statement"]
    populations = (tmp_path / "a" / "populations.csv").read_text(encoding="utf-8")
    assert "CT-901" in populations and "CT-001" not in populations
    metadata = json.loads((tmp_path / "a" / "analysis.json").read_text(encoding="utf-8"))
    assert metadata["snapshot"]["view"]["sites"] == ["PUMCH"]


def test_an_admins_analysis_is_the_whole_study(two_sites: str, tmp_path: Path, cli: Any) -> None:
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), env={"CARTRIAL_USER": "admin"})
    assert result.exit_code == 0, result.stderr
    view = json.loads(result.stdout)["snapshot"]["view"]
    assert view["whole_study"] is True and view["sites"] == ["PUMCH", "TJH"] and view["read_by"] == "admin"
    populations = (tmp_path / "a" / "populations.csv").read_text(encoding="utf-8")
    assert "CT-901" in populations and "CT-001" in populations


def test_a_site_investigators_report_names_the_restriction(two_sites_reports: TwoSitesReports) -> None:
    """The reports (`two_sites_reports`: `cartrial report` as `inv_tjh` and as `admin`, run once)."""
    assert "RESTRICTED" in two_sites_reports.tjh_stdout
    html = (two_sites_reports.tjh / "report.html").read_text(encoding="utf-8")
    assert "RESTRICTED VIEW" in html and "site(s) TJH" in html
    assert "CT-901" not in html
    assert "RESTRICTED VIEW" not in (two_sites_reports.admin / "report.html").read_text(encoding="utf-8")


def test_a_site_restricted_cdisc_export_is_refused_by_the_api(two_sites: str, tmp_path: Path) -> None:
    """A CDISC submission describes the whole study (D-19.461): `export_cdisc` refuses a site view; the
    CLI refuses before reading (tests/store/test_restricted_outputs.py)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc
    from cartrial.errors import InputError
    from cartrial.store.snapshot import read_snapshot

    mine = read_snapshot(two_sites, dt.date(2022, 3, 20), sites="PUMCH")
    with pytest.raises(InputError, match="describes the whole study"):
        export_cdisc(mine, analyse(mine), tmp_path / "c", formats="json")
    assert not (tmp_path / "c").exists()


def test_a_user_without_the_read_permission_is_refused(
    two_sites: str, tmp_path: Path, cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.store import permissions

    table = dict(permissions.PERMISSIONS)
    table["monitor"] = frozenset(a for a in table["monitor"] if a is not permissions.Action.READ)
    monkeypatch.setattr(permissions, "PERMISSIONS", table)
    service = StudyService(connect(two_sites))
    service.add_user("admin", "mon", "monitor", password=TEST_PASSWORD)
    with pytest.raises(PermissionDeniedError):
        from cartrial.store.snapshot import snapshot_for_user

        snapshot_for_user(service.as_user("mon"), dt.date(2022, 3, 20))
    service.engine.dispose()
    result = cli(*_args("analyse", two_sites, tmp_path / "a"), "--user", "mon")
    assert result.exit_code != 0 and "may not read" in result.stderr
    assert not (tmp_path / "a").exists()


def test_a_site_view_counts_and_names_only_its_sites_records_after_the_cutoff(two_sites: str) -> None:
    """The web's filter ran after reading every site: the records after the cut-off and the subjects they
    name were still every site's. `read_snapshot(..., sites=...)` reads, counts and lists the view's only."""
    from cartrial.store.snapshot import read_snapshot

    cutoff = dt.date(2021, 9, 30)  # after every infusion, before later follow-up
    whole = read_snapshot(two_sites, cutoff)
    assert sum(whole.after_cutoff.values()) > 0  # the example study's TJH records after the cut-off
    assert whole.view()["whole_study"] is True and whole.read_by is None
    mine = read_snapshot(two_sites, cutoff, sites="PUMCH")
    assert sum(mine.after_cutoff.values()) == 0 and dict(mine.after_cutoff_subjects) == {}
    assert set(mine.tables["subjects"]["subject_id"]) == {"CT-901"}
    assert set(mine.sites) == {"PUMCH"} and len(mine.tables["escalation_decisions"]) == 0
    assert mine.view()["sites"] == ["PUMCH"] and mine.metadata()["view"]["whole_study"] is False
    tjh = read_snapshot(two_sites, cutoff, sites=["TJH"])
    subject_tables = {k: v for k, v in whole.after_cutoff.items() if k != "escalation_decisions"}
    assert {k: v for k, v in tjh.after_cutoff.items() if k in subject_tables} == subject_tables
    assert "CT-901" not in set(tjh.tables["subjects"]["subject_id"])
