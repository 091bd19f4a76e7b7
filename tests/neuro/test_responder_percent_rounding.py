"""The responder table's percentages round a tie half away from zero, as every other number the report
writes (D-19.189, D-19.289). `responder_table` used Python's round (ties to the even digit on the binary
value): 1 of 16 responders read 6.2 % in the responder table while the findings and the disposition table
(`fixed`) read 1 of 16 as 6.3 %."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from cartrial.neuro.derive import responder_table
from cartrial.neuro.responders import responder_rate


def _by_hand(k: int, n: int) -> float:
    """100 k / n to one decimal, a tie away from zero, in exact decimal arithmetic (SAS ROUND)."""
    return float((Decimal(100 * k) / Decimal(n)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _summary(k: int, n: int):  # type: ignore[no-untyped-def]
    pairs = {f"S{i}": ({"edss": 4.0}, {"edss": 3.0 if i < k else 4.0}) for i in range(n)}
    return responder_rate("edss_decrease_0_5", pairs)


def test_one_of_sixteen_is_six_point_three_percent() -> None:
    row = responder_table([_summary(1, 16)], n_infused=16).iloc[0]
    assert float(row.percent) == 6.3 and float(row.percent_of_infused) == 6.3


@given(n=st.integers(1, 60), data=st.data())
def test_percentages_match_exact_decimal_rounding(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, n))
    infused = data.draw(st.integers(n, 80))
    row = responder_table([_summary(k, n)], n_infused=infused).iloc[0]
    assert float(row.percent) == _by_hand(k, n)
    assert float(row.percent_of_infused) == _by_hand(k, infused)
