"""CRS treatment (tocilizumab, corticosteroids) is "not recorded" only in a study that does not collect the
therapies form (protocol `analysis.options.therapies_collected: false`; a virtual study, whose `simulate
study` writes that protocol): flags missing, the summary's k empty with the reason, the datasets' notes and
the key finding say so (D-19.476). A study that collects therapies and has no row reports 0 of N — a real 0,
not hidden (D-19.434)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from cartrial.analysis import analyse


def _crs_finding(analysis) -> str:  # type: ignore[no-untyped-def]
    [text] = [f.statement for f in analysis.findings if f.statement.startswith("CRS began")]
    return text


def _with(snapshot, collected: bool | None, rows: bool):  # type: ignore[no-untyped-def]
    tables = dict(snapshot.tables)
    if not rows:
        tables["therapies"] = snapshot.tables["therapies"].iloc[0:0]
    protocol = snapshot.protocol
    if collected is not None:
        options = protocol.analysis.options.model_copy(update={"therapies_collected": collected})
        protocol = protocol.model_copy(
            update={"analysis": protocol.analysis.model_copy(update={"options": options})}
        )
    return analyse(dataclasses.replace(snapshot, tables=tables, protocol=protocol))


def test_a_study_not_collecting_therapies_reports_not_recorded(snapshot) -> None:  # type: ignore[no-untyped-def]
    assert len(snapshot.tables["therapies"])  # the example records therapies
    analysis = _with(snapshot, collected=False, rows=False)
    text = _crs_finding(analysis)
    assert "was given in 0" not in text and "not recorded" in text
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"].isin(["crs_tocilizumab", "crs_corticosteroid"])]
    assert len(treated) and treated["k"].isna().all() and treated["percent"].isna().all()
    assert treated["description"].str.contains("not recorded").all()
    by_subject = analysis.datasets["crs_icans_by_subject"]
    assert by_subject.table["crs_tocilizumab"].isna().all()
    episodes = analysis.datasets["crs_episodes"]
    assert len(episodes.table) and episodes.table["tocilizumab_doses"].isna().all()
    for name in ("crs_episodes", "icans_episodes", "crs_icans_by_subject", "crs_icans_summary"):
        notes = " ".join(analysis.datasets[name].notes)
        assert "not recorded" in notes and "therapies_collected" in notes, name
    # the other measures keep their counts
    anyc = summary[summary["measure"] == "crs_any"]
    assert anyc["k"].notna().all() and (pd.to_numeric(anyc["k"]) > 0).any()


def test_a_study_collecting_therapies_with_no_row_reports_zero(snapshot) -> None:  # type: ignore[no-untyped-def]
    """The protocol's default (`therapies_collected: true`): no therapies row is "none given", 0 of N."""
    analysis = _with(snapshot, collected=None, rows=False)
    text = _crs_finding(analysis)
    assert "tocilizumab was given in 0 and corticosteroids in 0" in text
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"] == "crs_tocilizumab"]
    assert len(treated) and (pd.to_numeric(treated["k"]) == 0).all()
    assert not treated["description"].str.contains("not recorded").any()
    assert (analysis.datasets["crs_icans_by_subject"].table["crs_tocilizumab"].dropna() == False).all()  # noqa: E712
    assert not any("not recorded" in n for n in analysis.datasets["crs_episodes"].notes)


def test_recorded_therapies_keep_their_counts(analysis) -> None:  # type: ignore[no-untyped-def]
    text = _crs_finding(analysis)
    assert "tocilizumab was given in" in text
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"] == "crs_tocilizumab"]
    assert treated["k"].notna().all()
    assert not treated["description"].str.contains("not recorded").any()


def test_a_not_recorded_row_names_no_ci_method(snapshot) -> None:  # type: ignore[no-untyped-def]
    """A row with no interval names no CI method (it was patched after `incidence` and kept the
    Clopper-Pearson text): n/a, with the reason in its description (D-19.528)."""
    analysis = _with(snapshot, collected=False, rows=False)
    summary = analysis.datasets["crs_icans_summary"].table
    treated = summary[summary["measure"].isin(["crs_tocilizumab", "icans_corticosteroid"])]
    assert len(treated)
    assert not treated["ci_method"].str.contains("Clopper").any()
    assert treated["ci_method"].str.startswith("n/a").all()
    assert treated[["ci_low_pct", "ci_high_pct"]].isna().all().all()
    recorded = summary[summary["measure"] == "crs_any"]
    assert recorded["ci_method"].str.contains("Clopper").all()


def test_incidence_knows_not_recorded() -> None:
    """The one derivation: `incidence` itself writes a not-recorded row (k, percent, CI, subjects empty;
    no CI method; the reason in the description), whatever the flag column holds (D-19.528)."""
    from cartrial.analysis.summaries import incidence

    frame = pd.DataFrame(
        {"subject_id": ["A", "B", "C"], "dose_level": [1, 1, 2], "x": [True, False, True], "y": [True] * 3}
    )
    table = incidence(frame, ["x", "y"], "safety", {"x": "X given"}, not_recorded={"x": "why not"})
    x, y = table[table["measure"] == "x"], table[table["measure"] == "y"]
    assert len(x) == 3 and x["k"].isna().all() and x["percent"].isna().all()
    assert x["ci_low_pct"].isna().all() and x["ci_high_pct"].isna().all()
    assert (x["subjects"] == "").all() and (x["n"].tolist() == [2, 1, 3])
    assert (x["description"] == "X given (why not)").all()
    assert not x["ci_method"].str.contains("Clopper").any()
    assert (pd.to_numeric(y["k"]) == y["n"]).all() and y["ci_method"].str.contains("Clopper").all()


def test_a_group_of_no_subject_names_no_ci_method() -> None:
    """n = 0 (a protocol dose level not dosed, D-19.108) has no interval either: its row names none — the
    `Proportion` says so, and `incidence` takes its method from it (D-19.535)."""
    from cartrial.analysis.stats import PROPORTION_CI_METHOD, proportion
    from cartrial.analysis.summaries import incidence

    assert proportion(0, 0).method.startswith("n/a") and proportion(1, 3).method == PROPORTION_CI_METHOD
    frame = pd.DataFrame({"subject_id": ["A", "B"], "dose_level": [1, 1], "x": [True, False]})
    table = incidence(frame, ["x"], "safety", levels=(1, 2)).set_index("group")
    assert table.loc["dose level 2", "n"] == 0 and pd.isna(table.loc["dose level 2", "ci_low_pct"])
    assert table.loc["dose level 2", "ci_method"].startswith("n/a")
    assert table.loc["dose level 1", "ci_method"] == PROPORTION_CI_METHOD


def test_no_flag_recorded_keeps_float_columns_and_an_unknown_flag_is_refused() -> None:
    """Every flag not recorded: percent and CI are float columns of NaN (not object columns of None); a
    `not_recorded` key that is no flag of the table is a caller's error, never silently counted."""
    import pytest

    from cartrial.analysis.stats import NOT_RECORDED_CI
    from cartrial.analysis.summaries import incidence
    from cartrial.errors import InternalError

    frame = pd.DataFrame({"subject_id": ["A", "B"], "dose_level": [1, 2], "x": [True, False]})
    table = incidence(frame, ["x"], "safety", not_recorded={"x": "why not"})
    for column in ("percent", "ci_low_pct", "ci_high_pct"):
        assert table[column].dtype == "float64" and table[column].isna().all(), column
    assert (table["ci_method"] == NOT_RECORDED_CI).all()
    with pytest.raises(InternalError, match="xx"):
        incidence(frame, ["x"], "safety", not_recorded={"xx": "why not"})
