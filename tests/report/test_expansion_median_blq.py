"""The expansion figure's median counts the BLQ samples (D-19.624).

The report's expansion figure drew "the median per dose level" of each nominal day over the quantifiable
samples only: a BLQ sample (no value, ``blq`` true) was dropped before the median. The median is a rank
statistic; a BLQ result is known to lie below every quantifiable one (below the LLOQ), so dropping it moves
the median up, and when most patients are BLQ the line showed a quantifiable "median" although the median
patient had no detectable transgene. In the example study, dose level 2 at day 90 has 6 of 9 samples BLQ
(src/cartrial/examples/ct103a-nmosd/study/pk_samples.csv) and the figure drew 560 copies/ug gDNA there.

Expected values by hand (median of the sorted values, BLQ ranked lowest, as 0):
- day 90, [BLQ x 6, 100, 560, 900]: the 5th of 9 is BLQ → the median is BLQ: not drawn (old: 560);
- day 4, [BLQ, 54, 9421]: the 2nd of 3 is 54 → 54 (old: (54 + 9421) / 2 = 4737.5);
- day 28, [800, 1200, 1500]: 1200 (no BLQ: unchanged);
- day 1, [BLQ, 120]: (0 + 120) / 2 = 60, below the LLOQ 100 → BLQ, not drawn (old: 120).
"""

from __future__ import annotations

import math
import statistics

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.report.figures import dose_level_medians


def _sample(subject: str, day: int, value: float | None) -> dict[str, object]:
    return {
        "subject_id": subject,
        "dose_level": 2,
        "nominal_day": str(day),
        "value_num": math.nan if value is None else value,
        "lloq_num": 100.0 if day == 1 else 50.0,
        "blq": "true" if value is None else "false",
    }


def _frame() -> pd.DataFrame:
    rows = [_sample(f"S{i}", 90, None) for i in range(6)]
    rows += [_sample("S6", 90, 100.0), _sample("S7", 90, 560.0), _sample("S8", 90, 900.0)]
    rows += [_sample("S0", 4, None), _sample("S1", 4, 54.0), _sample("S2", 4, 9421.0)]
    rows += [_sample("S0", 28, 800.0), _sample("S1", 28, 1200.0), _sample("S2", 28, 1500.0)]
    rows += [_sample("S0", 1, None), _sample("S1", 1, 120.0)]
    return pd.DataFrame(rows)


def test_a_blq_sample_counts_in_the_median() -> None:
    medians = dose_level_medians(_frame()).set_index("nominal_day")["median"]
    assert medians[4.0] == pytest.approx(54.0)
    assert medians[28.0] == pytest.approx(1200.0)


def test_a_median_below_the_lloq_is_not_drawn() -> None:
    medians = dose_level_medians(_frame()).set_index("nominal_day")["median"]
    assert math.isnan(medians[90.0])
    assert math.isnan(medians[1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(min_value=50.0, max_value=1e6)), min_size=1, max_size=15))
def test_the_median_is_that_of_the_values_with_blq_lowest(values: list[float | None]) -> None:
    """Property: against `statistics.median` of the values with each BLQ as 0 (ranked below the LLOQ 50);
    not drawn (NaN) exactly when that median is below the LLOQ."""
    frame = pd.DataFrame(
        [
            {
                "subject_id": f"S{i}",
                "dose_level": 1,
                "nominal_day": "28",
                "value_num": math.nan if v is None else v,
                "lloq_num": 50.0,
                "blq": "true" if v is None else "false",
            }
            for i, v in enumerate(values)
        ]
    )
    expected = statistics.median([0.0 if v is None else v for v in values])
    row = dose_level_medians(frame).iloc[0]
    assert (row["n"], row["n_blq"]) == (len(values), sum(v is None for v in values))
    if expected < 50.0:
        assert math.isnan(row["median"])
    else:
        assert row["median"] == pytest.approx(expected)
