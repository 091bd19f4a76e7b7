"""`persistence_rule = last_positive_before_2_negatives` does what its name and docs/kinetics.md say
(D-19.785): the time of the last quantifiable sample before the first run of two consecutive BLQ samples
after the first quantifiable one; the last quantifiable sample (Tlast as measured) when there is no such
run.

Checked, not changed: the rule was called "literal" in the D-19.757–761 review without a test of its
edges. Expected values by hand from each profile: a BLQ sample is one flagged, 0, or below the LLOQ (the
BLQ rules' substitution, LLOQ/2, changes no sample's status); consecutive = next in time among the samples
with a result (a sample without a result is not a sample); BLQ samples before the first quantifiable one
(pre-expansion) start no run; a single BLQ between quantifiable samples does not end persistence.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.kinetics.nca import NcaOptions, nca
from cartrial.protocol.nca_options import PersistenceRule

RULE = PersistenceRule.LAST_POSITIVE_BEFORE_2_NEGATIVES


def _persistence(
    times: list[float], concs: list[float | None], lloq: float | None = None, **options: object
) -> float:
    frame = pd.DataFrame({"id": "S", "t": times, "c": concs})
    result = nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="cells/uL",
        lloq=lloq,
        options=NcaOptions(persistence_rule=RULE, **options),  # type: ignore[arg-type]
    )
    return float(result.table["persistence_days"].iat[0])


@pytest.mark.parametrize(
    ("times", "concs", "lloq", "expected"),
    [
        # the docstring's case: BLQ at 28 and 60, re-detected at 90 -> 14 (Tlast would be 90)
        ([0, 7, 14, 28, 60, 90], [0, 500, 300, 0, 0, 40], None, 14.0),
        # one trailing BLQ is no run of two: the last quantifiable, 14
        ([0, 7, 14, 28], [0, 500, 300, 0], None, 14.0),
        # one BLQ between quantifiable samples does not end persistence: 28; then the run at 60, 90
        ([0, 7, 14, 28, 60, 90, 120], [0, 500, 0, 300, 0, 0, 40], None, 28.0),
        # BLQ at 0 and 1 before expansion start no run: the last quantifiable, 60
        ([0, 1, 7, 14, 60], [0, 0, 500, 300, 20], None, 60.0),
        # values below the LLOQ 10 are BLQ: 5 and 5 at 28 and 60 are the run -> 14
        ([0, 7, 14, 28, 60, 90], [0, 500, 300, 5, 5, 40], 10.0, 14.0),
        # a sample without a result between two BLQ ones: they are consecutive samples -> 14
        ([0, 7, 14, 28, 35, 60, 90], [0, 500, 300, 0, None, 0, 40], None, 14.0),
        # times given out of order are read in time order -> 14
        ([90, 0, 7, 14, 28, 60], [40, 0, 500, 300, 0, 0], None, 14.0),
    ],
)
def test_hand_profiles(
    times: list[float], concs: list[float | None], lloq: float | None, expected: float
) -> None:
    assert _persistence(times, concs, lloq) == expected


def test_the_half_lloq_substitution_changes_no_samples_status() -> None:
    """Under half_lloq the BLQ samples at 28 and 60 get 5 (LLOQ/2) for the AUCs; they are still the run."""
    times, concs = [0, 7, 14, 28, 60, 90], [0, 500, 300, 0, 0, 40]
    assert _persistence(times, concs, 10.0, blq_middle="half_lloq", blq_last="half_lloq") == 14.0


def _by_the_words(concs: list[float]) -> float | None:
    """The rule's words on samples at days 0, 1, 2, … (a reference written from the definition)."""
    quantifiable = [i for i, c in enumerate(concs) if c > 0]
    if not quantifiable:
        return None
    first = quantifiable[0]
    end = len(concs)
    for i in range(first + 1, len(concs) - 1):
        if concs[i] == 0 and concs[i + 1] == 0:
            end = i
            break
    return float(max(i for i in quantifiable if i < end))


@settings(max_examples=property_examples(40), deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.0, 1.0, 50.0, 300.0]), min_size=2, max_size=12))
def test_the_rule_as_worded(concs: list[float]) -> None:
    expected = _by_the_words(concs)
    found = _persistence([float(i) for i in range(len(concs))], concs)  # type: ignore[arg-type]
    if expected is None:
        assert found != found  # NaN: nothing quantifiable
    else:
        assert found == expected
