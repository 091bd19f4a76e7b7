"""`export_cdisc` of a notebook needs no `sites=read_sites(url)`: DM.COUNTRY comes from the sites read with
the snapshot; a mapping given is still used (D-19.383)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis import analyse
from cartrial.analysis.model import Analysis
from cartrial.cdisc.export import build_all, export_cdisc, read_sites
from cartrial.store.snapshot import StudySnapshot, read_snapshot

CUTOFF = dt.date(2022, 3, 20)


@pytest.fixture(scope="module")
def analysed(example_sqlite_template: Path) -> tuple[StudySnapshot, Analysis]:
    """The example's snapshot at `CUTOFF` and its analysis, computed once for the module (read only)."""
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)
    return snapshot, analyse(snapshot)


def test_the_snapshot_carries_the_sites_countries(example_sqlite_template: Path) -> None:
    url = f"sqlite:///{example_sqlite_template}"
    assert read_snapshot(url, CUTOFF).sites == read_sites(url)


def test_export_without_sites_fills_dm_country_from_the_snapshot(
    example_sqlite_template: Path, analysed: tuple[StudySnapshot, Analysis], tmp_path: Path
) -> None:
    url = f"sqlite:///{example_sqlite_template}"
    snapshot, analysis = analysed
    export_cdisc(snapshot, analysis, tmp_path / "plain", formats="json")  # was: DM.COUNTRY required-null
    given = build_all(snapshot, analysis, read_sites(url))["DM"]
    default = build_all(snapshot, analysis)["DM"]
    pd.testing.assert_frame_equal(default, given)
    assert (default["COUNTRY"] != "").all()


def test_a_sites_mapping_given_is_used(analysed: tuple[StudySnapshot, Analysis]) -> None:
    snapshot, analysis = analysed
    other = {site: "Germany" for site in snapshot.sites}
    assert set(build_all(snapshot, analysis, other)["DM"]["COUNTRY"]) == {"DEU"}
