"""D-19.108: every protocol dose level is a group of the by-dose-level tables, a level with no subject
with n = 0, so that an interim reader sees it was not dosed (before, a level nobody had received had no row
or column at all). The example study at 2021-07-10: CT-001..003 infused at level 1 (2021-04-27, 05-18,
06-08), the first level-2 infusion (CT-004) on 2021-07-13; the protocol has levels 1 and 2."""

from __future__ import annotations

import datetime as dt

import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.analysis.summaries import ALL, dose_level_groups
from cartrial.store.snapshot import StudySnapshot, read_snapshot

INTERIM = dt.date(2021, 7, 10)


@pytest.fixture(scope="module")
def snapshot_at_interim(example_sqlite_template: object) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{example_sqlite_template}", INTERIM)


@pytest.fixture(scope="module")
def interim(snapshot_at_interim: StudySnapshot) -> Analysis:
    return analyse(snapshot_at_interim)


def test_the_protocol_has_two_levels_and_only_level_1_was_dosed(
    snapshot_at_interim: StudySnapshot, interim: Analysis
) -> None:
    assert interim.populations["safety"].subject_ids == ("CT-001", "CT-002", "CT-003")
    assert [d.level for d in snapshot_at_interim.protocol.dose_levels] == [1, 2]


@pytest.mark.parametrize("name", ["crs_icans_summary", "teae_summary", "dlt_by_dose_level"])
def test_incidence_tables_list_the_undosed_level_with_n_0(interim: Analysis, name: str) -> None:
    table = interim.datasets[name].table
    assert list(dict.fromkeys(table["group"])) == ["dose level 1", "dose level 2", ALL]
    level2 = table[table["group"] == "dose level 2"]
    assert len(level2) and (level2["n"] == 0).all() and (level2["k"] == 0).all()
    assert level2["percent"].isna().all() and level2["ci_low_pct"].isna().all()
    level1 = table[table["group"] == "dose level 1"]
    assert set(level1["n"]) <= {3}  # the three infused (the DLT-evaluable among them for the DLT table)


def test_distributions_grades_responders_and_demographics_have_the_level(interim: Analysis) -> None:
    timing = interim.datasets["crs_icans_timing"].table
    level2 = timing[timing["group"] == "dose level 2"]
    assert len(level2) and (level2["n"] == 0).all() and (level2["n_missing"] == 0).all()
    assert level2["median"].isna().all()
    grades = interim.datasets["crs_icans_grades"].table
    assert "dose level 2" in set(grades["group"])
    responders = interim.datasets["responders_summary"].table
    level2 = responders[responders["group"] == "dose level 2"]
    assert len(level2) and (level2["n_evaluable"] == 0).all() and (level2["n_responders"] == 0).all()
    demographics = interim.datasets["demographics"].table
    assert list(demographics.columns[2:5]) == ["dose level 1", "dose level 2", ALL]
    first = demographics.iloc[0]
    assert (first["statistic"], first["dose level 1"], first["dose level 2"], first[ALL]) == (
        "N",
        "3",
        "0",
        "3",
    )


def test_dose_level_groups_keeps_a_level_of_the_data_outside_the_list() -> None:
    import pandas as pd

    frame = pd.DataFrame({"subject_id": ["A", "B"], "dose_level": pd.array([1, 3], dtype="Int64")})
    groups = dose_level_groups(frame, (1, 2))
    assert [(g, len(p)) for g, p in groups] == [("dose level 1", 1), ("dose level 2", 0), ("dose level 3", 1),
                                               (ALL, 2)]  # fmt: skip


def test_the_disposition_finding_names_the_undosed_level(interim: Analysis) -> None:
    statement = next(f.statement for f in interim.findings if f.domain == "disposition")
    assert "were infused (3 at dose level 1, 0 at dose level 2)" in statement


def test_a_responder_row_of_no_evaluable_subject_names_no_ci_method(interim: Analysis) -> None:
    """The undosed level 2 (and any level whose subjects are all not evaluable) has n_evaluable = 0 and no
    interval: its `ci_method` is "n/a …", not Clopper-Pearson; a level with an evaluable subject keeps the
    Clopper-Pearson text (D-19.535)."""
    from cartrial.analysis.stats import PROPORTION_CI_METHOD

    responders = interim.datasets["responders_summary"].table
    level2 = responders[responders["group"] == "dose level 2"]
    assert len(level2) and level2["ci_method"].str.startswith("n/a").all()
    none = responders[responders["n_evaluable"] == 0]
    assert none["ci_method"].str.startswith("n/a").all() and none["ci_low_pct"].isna().all()
    some = responders[responders["n_evaluable"] > 0]
    assert len(some) and (some["ci_method"] == PROPORTION_CI_METHOD).all()
