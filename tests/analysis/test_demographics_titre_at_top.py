"""The demographics' reciprocal screening titre shows a titre positive at the top dilution as a lower bound
(D-19.632): ">=1:1000" is a titre of at least 1000 (right-censored, `cartrial.neuro.titre_interval`
[1000, ∞)), formerly summarised as exactly 1000 with nothing to say so.

Example study screening titres (src/cartrial/examples/ct103a-nmosd/study/subjects.csv): 1:32 once, 1:100 four
times, 1:320 four times, 1:1000 three times (CT-002 among them); CT-002's set to ">=1:1000". Sorted by hand:
32, 100 ×4, 320 ×4, 1000 ×2, ≥1000: the median (6th and 7th of 12) is 320 and exact; the maximum is ≥1000.
"""

from __future__ import annotations

import dataclasses
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.analysis import analyse
from cartrial.store.snapshot import read_snapshot


def test_a_top_titre_is_shown_as_at_least_its_dilution(example_sqlite_template: object) -> None:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", date(2022, 3, 20))
    subjects = snapshot.tables["subjects"].copy()
    at = subjects["subject_id"] == "CT-002"
    assert list(subjects.loc[at, "aqp4_igg_titre"]) == ["1:1000"]
    subjects.loc[at, "aqp4_igg_titre"] = ">=1:1000"
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects})
    table = analyse(changed).datasets["demographics"].table
    row = table[
        (table["characteristic"] == "AQP4-IgG titre at screening, reciprocal dilution")
        & (table["statistic"] == "median (min-max)")
    ]
    assert list(row["all"]) == ["320.0 (32-≥1000)"]


def _reciprocal_cell(titres: list[str]) -> str:
    """The "median (min-max)" cell of the reciprocal screening titre for subjects S0.. with `titres`."""
    import pandas as pd

    from cartrial.analysis.demographics import characteristics, demographics_table
    from cartrial.neuro import parse_titre_step

    parsed = [parse_titre_step(t) for t in titres]
    frame = pd.DataFrame(
        {
            "subject_id": [f"S{i}" for i in range(len(titres))],
            "dose_level": pd.array([1] * len(titres), dtype="Int64"),
            "aqp4_igg_titre_reciprocal": [float(t.denominator or 0) for t in parsed],
            "aqp4_igg_titre_at_top": [t.at_top for t in parsed],
        }
    )
    [spec] = [s for s in characteristics(24, ()) if s.column == "aqp4_igg_titre_reciprocal"]
    table = demographics_table(frame, [spec], [1])
    [text] = table.loc[table["statistic"] == "median (min-max)", "all"]
    return str(text)


def test_a_lower_bound_below_the_largest_value_makes_the_maximum_a_lower_bound() -> None:
    """100, ≥1000, 3200 (stored ">=1:1000": the lab's top dilution 1000, true value anywhere in [1000, ∞),
    so it may exceed 3200): the maximum is ≥3200, the median (the 2nd of 3) rests on ≥1000, the minimum 100
    is exact. Formerly "≥1000.0 (100-3200)": the maximum written as exact."""
    assert _reciprocal_cell(["1:100", ">=1:1000", "1:3200"]) == "≥1000.0 (100-≥3200)"


def test_a_lower_bound_before_the_middle_makes_the_median_a_lower_bound() -> None:
    """100, ≥320, 1000, 3200, 3200: the printed median is the 3rd of 5, 1000, exact; but ≥320 may truly be
    above 3200, and then the sorted values are 100, 1000, 3200, 3200, ≥320's value: median 3200. The median
    is only known to be at least 1000: "≥1000.0"; the maximum ≥3200 likewise. Formerly "1000.0 (100-3200)"."""
    assert _reciprocal_cell(["1:100", ">=1:320", "1:1000", "1:3200", "1:3200"]) == "≥1000.0 (100-≥3200)"


def test_a_lower_bound_after_the_middle_leaves_the_median_exact() -> None:
    """100, 320, 1000, ≥1000: n = 4, middle values the 2nd and 3rd (320 and 1000, exact; the lower bound
    sorts after an equal exact value, 4th): median (320 + 1000) / 2 = 660, exact; maximum ≥1000."""
    assert _reciprocal_cell(["1:100", "1:320", "1:1000", ">=1:1000"]) == "660.0 (100-≥1000)"


def test_the_last_dilution_of_the_series_is_a_lower_bound() -> None:
    """1:10000 is the last dilution of the assay series (1:10 … 1:10 000, neuro-outcomes.md §6): positive
    there, the true end point is at least 10000, as `cartrial.neuro.titre_interval` reads it ([10000, ∞));
    one rule: `Titre.at_top` is true for it, written "≥10000"."""
    from cartrial.analysis.kinetics import titre_standard
    from cartrial.neuro import parse_titre_step, titre_interval

    top = parse_titre_step("1:10000")
    assert top.at_top
    assert titre_interval(top)[1] == float("inf")
    assert titre_standard(top)[0] == ">=10000"
    assert _reciprocal_cell(["1:100", "1:10000"]) == "≥5050.0 (100-≥10000)"
    assert not parse_titre_step("1:3200").at_top


def test_an_unreadable_screening_titre_refuses_the_analysis_by_its_record(
    example_sqlite_template: object,
) -> None:
    """D-19.631 (read once, by the titre rule) and D-19.542/543: a stored screening titre the rule refuses
    (off the series "1:7", or "<1:32", put in with SQL or by an older version) was counted as "missing" and
    listed as a category "1:7": a stored value silently skipped. Now `analyse` refuses, naming every such
    record at once (``subject record <id>, aqp4_igg_titre``), never the value."""
    import pytest

    from cartrial.errors import InputError

    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", date(2022, 3, 20))
    subjects = snapshot.tables["subjects"].copy()
    ids = []
    for sid, bad in (("CT-002", "1:7"), ("CT-003", "<1:32")):
        at = subjects["subject_id"] == sid
        subjects.loc[at, "aqp4_igg_titre"] = bad
        ids.append(int(subjects.loc[at, "record_id"].iloc[0]))
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "subjects": subjects})
    with pytest.raises(InputError) as caught:
        analyse(changed)
    text = str(caught.value)
    for record_id in ids:
        assert f"subject record {record_id}, aqp4_igg_titre" in text, text
    assert "1:7" not in text and "<1:32" not in text and "(got" not in text


def test_a_lower_bound_whose_rise_an_equal_value_absorbs_leaves_the_median_exact() -> None:
    """≥100, 320, 320: the median is the 2nd of 3, 320; whatever ≥100 truly is (100 or more), the sorted
    values keep 320 in the middle (320, 320, x for x ≥ 320; x, 320, 320 otherwise): median exactly 320. The
    minimum is ≥100 and the maximum ≥320 (x may exceed 320)."""
    assert _reciprocal_cell([">=1:100", "1:320", "1:320"]) == "320.0 (≥100-≥320)"


SERIES = (10, 32, 100, 320, 1000, 3200, 10000)


@settings(max_examples=property_examples(200), deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(SERIES), st.booleans()), min_size=1, max_size=9),
    st.lists(st.integers(0, 4), min_size=9, max_size=9),
)
def test_an_unmarked_statistic_cannot_move_with_the_true_values(
    values: list[tuple[int, bool]], rises: list[int]
) -> None:
    """Property (the meaning of the mark): a minimum, median or maximum written without "≥" is the same
    for any true values of the lower bounds (each raised by 0-4 dilution steps or to 10^9); one written
    with "≥" is not below the statistic of the stored values (the true values are at least these)."""
    import statistics

    import pandas as pd

    from cartrial.analysis.demographics import _lower_bounds

    marks = _lower_bounds(pd.Series([float(v) for v, _ in values]), pd.Series([f for _, f in values]))

    def stats(numbers: list[float]) -> dict[str, float]:
        return {"minimum": min(numbers), "median": statistics.median(numbers), "maximum": max(numbers)}

    stored = stats([float(v) for v, _ in values])
    scale = [*SERIES, 10**9]
    for trial in (rises, [9] * 9):
        true = [
            float(scale[min(SERIES.index(v) + trial[i], len(scale) - 1)]) if f else float(v)
            for i, (v, f) in enumerate(values)
        ]
        moved = stats(true)
        for name, value in stored.items():
            if not marks[name]:
                assert moved[name] == value, (name, values, true)
            assert moved[name] >= value
