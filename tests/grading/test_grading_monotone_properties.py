"""Monotonicity of every computed grade: a worse input never lowers it (correctness attack, branch grad).

Each scale is ordered by severity in its source, so a worse observation can only keep or raise the grade:
ASTCT 2019 CRS (Lee DW et al., BBMT 2019;25:625-638, CRS table: hotter, hypotension, more vasopressors, a
device further down the hypoxia column) and ICANS (ICE 10 / 7-9 / 3-6 / 0-2 and the four other domains, each
a column of increasing severity, PMC9327779 Table 2); NCI CTCAE v5.0/v6.0 haematology ("Neutrophil count
decreased" etc.: each grade is a lower count band); EHA/EBMT 2023 ICAHT and T-ICAHT (Rejeski K et al., Blood
2023;142:865-877; docs/science/toxicity-grading.md §5: more days at or below a threshold, or a lower nadir,
is the higher grade). No expected value comes from running the code: the only oracle is the order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import grade_crs, grade_icaht, grade_icans, grade_lab, grade_t_icaht
from cartrial.grading.choices import UnsampledDays
from cartrial.grading.icaht import IcahtOptions
from cartrial.grading.icans import ice_score

# devices in the order of the ASTCT hypoxia column: none 0; blow-by / low-flow nasal cannula 2; high-flow
# nasal cannula, facemask, non-rebreather, Venturi 3; CPAP, BiPAP, mechanical ventilation 4
_DEVICE_RANK = {
    "none": 0,
    "blow_by": 2,
    "nasal_cannula": 2,
    "high_flow_nasal_cannula": 3,
    "facemask": 3,
    "non_rebreather": 3,
    "venturi": 3,
    "cpap": 4,
    "bipap": 4,
    "mechanical_ventilation": 4,
}


def _hypoxia_rank(device: str, flow_l_min: float | None) -> int:
    """The ASTCT hypoxia column's grade of a device: a nasal cannula above 6 L/min is high-flow, grade 3
    (Lee 2019 CRS table: low-flow nasal cannula is ≤ 6 L/min)."""
    if device == "nasal_cannula" and flow_l_min is not None and flow_l_min > 6:
        return 3
    return _DEVICE_RANK[device]


@st.composite
def _crs_inputs(draw: st.DrawFn) -> dict[str, Any]:
    hypotension = draw(st.booleans())
    device = draw(st.sampled_from(sorted(_DEVICE_RANK)))
    return {
        "temperature_c": draw(st.sampled_from([36.5, 37.9, 38.0, 39.2])),
        "fever_masked": draw(st.booleans()),
        "hypotension": hypotension,
        "vasopressors": draw(st.integers(0, 3)) if hypotension else 0,
        "vasopressin": draw(st.booleans()) if hypotension else False,
        "oxygen": device,
        "oxygen_l_min": draw(st.sampled_from([1.0, 6.0, 6.5, 15.0])) if device == "nasal_cannula" else None,
        "fever_other_cause": draw(st.booleans()),
        "death_due_to_crs": draw(st.booleans()),
    }


_NEW_FLOW = {"nasal_cannula": 15.0}
"""The flow a device moved to gets (None: a device without a flow)."""


def _worse_crs(inputs: dict[str, Any], change: str, device: str) -> dict[str, Any]:
    """`inputs` with one observation made worse (or left as it is when it cannot be)."""
    worse = dict(inputs)
    if change == "hotter":
        worse["temperature_c"] = max(inputs["temperature_c"], 38.5)
    elif change == "masked":
        worse["fever_masked"] = True
    elif change == "hypotension":
        worse["hypotension"] = True
    elif change == "pressor" and inputs["hypotension"]:
        worse["vasopressors"] = inputs["vasopressors"] + 1
    elif change == "vasopressin" and inputs["hypotension"]:
        worse["vasopressin"] = True
    elif change == "device" and _hypoxia_rank(device, _NEW_FLOW.get(device)) >= _hypoxia_rank(
        inputs["oxygen"], inputs["oxygen_l_min"]
    ):
        # ranked with its flow: a nasal cannula at 6.5 or 15 L/min is grade 3, above blow-by (review)
        worse["oxygen"] = device
        worse["oxygen_l_min"] = _NEW_FLOW.get(device)
    elif change == "flow" and inputs["oxygen"] == "nasal_cannula":
        worse["oxygen_l_min"] = inputs["oxygen_l_min"] + 2.0
    elif change == "death":
        worse["death_due_to_crs"] = True
    return worse


def _nasal(flow_l_min: float) -> dict[str, Any]:
    return {
        "temperature_c": 38.5,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 0,
        "vasopressin": False,
        "oxygen": "nasal_cannula",
        "oxygen_l_min": flow_l_min,
        "fever_other_cause": False,
        "death_due_to_crs": False,
    }


@settings(max_examples=property_examples(400))
@example(_nasal(6.5), "device", "blow_by", 0, 2)  # 3 → blow-by 2: not a worse device (review)
@example(_nasal(15.0), "device", "blow_by", 1, 3)
@example(_nasal(6.0), "device", "blow_by", 0, 2)  # low-flow 2 → blow-by 2
@example(_nasal(6.0), "flow", "none", 0, 2)  # 6 → 8 L/min: 2 → 3
@example({**_nasal(1.0), "oxygen": "blow_by", "oxygen_l_min": None}, "device", "nasal_cannula", 0, 2)
@given(
    _crs_inputs(),
    st.sampled_from(["hotter", "masked", "hypotension", "pressor", "vasopressin", "device", "flow", "death"]),
    st.sampled_from(sorted(_DEVICE_RANK)),
    st.sampled_from([0, 1]),
    st.sampled_from([2, 3]),
)
def test_a_worse_crs_observation_never_lowers_the_astct_grade(
    inputs: dict[str, Any], change: str, device: str, post_masking: int, vasopressin_alone: int
) -> None:
    """ASTCT 2019 CRS table: fever (≥ 38.0 °C) or its masking, then the worse of the hypotension column (none,
    no vasopressor, one vasopressor with or without vasopressin, several) and the hypoxia column (device, and
    flow for a nasal cannula: ≤ 6 L/min low, > 6 high). Each change moves down one column: never a lower
    grade, whatever the options A1 and A3."""
    from cartrial.grading.crs import CrsOptions

    options = CrsOptions(post_masking_grade=post_masking, vasopressin_alone_grade=vasopressin_alone)
    before = grade_crs(**inputs, options=options).grade
    after = grade_crs(**_worse_crs(inputs, change, device), options=options).grade
    assert after >= before


def test_the_hypoxia_rank_follows_the_astct_nasal_cannula_cut() -> None:
    """Lee 2019 CRS table with fever: low-flow nasal cannula (≤ 6 L/min) or blow-by grade 2, a nasal cannula
    above 6 L/min (high-flow) grade 3; so a move from 6.5 or 15 L/min to blow-by is not a worse device."""
    assert [grade_crs(**_nasal(f)).grade for f in (6.0, 6.5, 15.0)] == [2, 3, 3]
    assert grade_crs(**{**_nasal(1.0), "oxygen": "blow_by", "oxygen_l_min": None}).grade == 2
    assert [_hypoxia_rank("nasal_cannula", f) for f in (6.0, 6.5)] == [2, 3]


_LEVELS = ["alert", "awakens_spontaneously", "awakens_to_voice", "awakens_to_tactile", "unarousable"]
_SEIZURES = ["none", "rapidly_resolving", "prolonged_or_repetitive"]
_EDEMA = ["none", "focal", "diffuse"]
_MOTOR = ["none", "deep_focal_weakness"]


@settings(max_examples=property_examples(400))
@given(
    st.integers(0, 3),
    st.integers(0, 10),
    st.integers(0, 10),
    st.integers(0, 2),
    st.integers(0, 2),
    st.integers(0, 1),
    st.sampled_from(["ice", "consciousness", "seizure", "edema", "motor"]),
)
def test_a_worse_icans_domain_never_lowers_the_astct_grade(
    level: int, ice: int, ice_drop: int, seizure: int, edema: int, motor: int, domain: str
) -> None:
    """ASTCT 2019 ICANS table (PMC9327779 Table 2): the grade is the worst of the ICE domain (10: 0, 7-9: 1,
    3-6: 2, 0-2: 3) and of the consciousness, seizure, motor and oedema columns, each ordered by severity; a
    lower ICE or a step down any column never lowers it (arousable patients, every finding of ICANS)."""
    base: dict[str, Any] = {
        "consciousness": _LEVELS[level],
        "ice_total": ice,
        "seizure": _SEIZURES[seizure],
        "cerebral_edema": _EDEMA[edema],
        "motor": _MOTOR[motor],
    }
    worse = dict(base)
    if domain == "ice":
        worse["ice_total"] = max(0, ice - ice_drop)
    elif domain == "consciousness":
        worse["consciousness"] = _LEVELS[min(level + 1, 3)]
    elif domain == "seizure":
        worse["seizure"] = _SEIZURES[min(seizure + 1, 2)]
    elif domain == "edema":
        worse["cerebral_edema"] = _EDEMA[min(edema + 1, 2)]
    else:
        worse["motor"] = _MOTOR[1]
    assert grade_icans(**worse).grade >= grade_icans(**base).grade


@settings(max_examples=property_examples(200))
@given(
    st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(0, 1), st.integers(0, 1), st.integers(0, 1)),
    st.integers(0, 4),
    st.sampled_from(_LEVELS[:4]),
)
def test_a_lost_ice_point_never_lowers_icans(items: tuple[int, ...], which: int, level: str) -> None:
    """ICE (PMC8153820 Table 2) is the sum of orientation 0-4, naming 0-3, command, writing and attention 0-1;
    losing a point of any item never raises the total, and so never lowers the ICANS grade."""
    fewer = list(items)
    fewer[which] = max(0, fewer[which] - 1)
    total, total_fewer = ice_score(*items), ice_score(*fewer)
    assert total_fewer <= total
    assert (
        grade_icans(consciousness=level, ice_total=total_fewer).grade
        >= grade_icans(consciousness=level, ice_total=total).grade
    )


_LAB_CASES = [
    # (analyte, unit, LLN in that unit, version)
    ("neutrophils", "10^9/L", 1.8, "5.0"),
    ("neutrophils", "cells/µL", 1800.0, "5.0"),
    ("neutrophils", "10^9/L", 1.8, "6.0"),
    ("platelets", "10^9/L", 150.0, "5.0"),
    ("platelets", "10^3/µL", 150.0, "6.0"),
    ("hemoglobin", "g/L", 120.0, "5.0"),
    ("hemoglobin", "g/dL", 12.0, "5.0"),
    ("hemoglobin", "mmol/L", 7.4, "5.0"),
    ("lymphocytes", "10^9/L", 1.0, "5.0"),
    ("wbc", "/mm³", 4000.0, "5.0"),
]


@settings(max_examples=property_examples(400))
@given(
    st.sampled_from(_LAB_CASES),
    st.floats(0, 1, allow_nan=False),
    st.floats(0, 1, allow_nan=False),
    st.booleans(),
)
def test_a_lower_count_never_lowers_the_ctcae_grade(
    case: tuple[str, str, float, str], a: float, b: float, lln_required: bool
) -> None:
    """CTCAE v5.0 (and v6.0) haematology decreases: each grade is a band of lower values (< LLN, then the
    fixed cuts, a value on a cut in the milder grade); of two values the lower never has the lower grade, in
    every unit and with either reading of the LLN for grades 2-4 (toxicity-grading.md §4)."""
    analyte, unit, lln, version = case
    high, low = sorted((a, b), reverse=True)
    scale = 1.6 * lln  # values from 0 to above the LLN

    def g(x: float) -> int:
        return grade_lab(
            analyte, x * scale, unit, lln, ctcae_version=version, lln_required_for_higher_grades=lln_required
        ).grade

    assert g(low) >= g(high)


_ICAHT_OPTIONS = [
    IcahtOptions(),
    IcahtOptions(unsampled_days=UnsampledDays.LOCF),
    IcahtOptions(unsampled_days=UnsampledDays.SAMPLED_ONLY),
    IcahtOptions(max_interpolated_days=7),
    IcahtOptions(late_min_values=1, min_recovery_days=1, early_g4_min_days=30, never_recovered_from_day=0),
]


@st.composite
def _series(draw: st.DrawFn, levels: list[float]) -> tuple[list[int], list[float], int, float]:
    days = sorted(draw(st.lists(st.integers(-3, 112), min_size=1, max_size=14, unique=True)))
    values = draw(st.lists(st.sampled_from(levels), min_size=len(days), max_size=len(days)))
    which = draw(st.integers(0, len(days) - 1))
    lower = draw(st.sampled_from([v for v in levels if v <= values[which]]))
    return days, values, which, lower


_ANC_LEVELS = [0.0, 90.0, 100.0, 101.0, 400.0, 500.0, 501.0, 1000.0, 1001.0, 1500.0, 1501.0, 3000.0]
_PLT_LEVELS = [0.0, 10.0, 19.0, 20.0, 21.0, 49.0, 50.0, 51.0, 99.0, 100.0, 101.0, 200.0]


@settings(max_examples=property_examples(300))
@given(
    _series(_ANC_LEVELS),
    st.sampled_from(_ICAHT_OPTIONS),
    st.one_of(st.none(), st.integers(0, 120)),
    st.one_of(st.none(), st.integers(1, 110)),
)
def test_a_lower_anc_never_lowers_early_or_late_icaht(
    series: tuple[list[int], list[float], int, float],
    options: IcahtOptions,
    follow_up: int | None,
    censor: int | None,
) -> None:
    """ICAHT (§5.1-5.2): early grade from the days with ANC ≤ 500 and ≤ 100/µL, late grade from the
    non-transient nadir after day 30; a lower count on one day only adds days at or below a threshold or
    lowers a nadir: neither grade drops, under every option H1-H4."""
    days, values, which, lower = series
    worse = list(values)
    worse[which] = lower
    before = grade_icaht(days, values, options, follow_up_day=follow_up, censor_day=censor)
    after = grade_icaht(days, worse, options, follow_up_day=follow_up, censor_day=censor)
    for name in ("early_grade", "late_grade"):
        seen, lowered = getattr(before, name), getattr(after, name)
        assert seen is None or lowered >= seen, name


@settings(max_examples=property_examples(300))
@given(
    _series(_PLT_LEVELS),
    st.sampled_from(_ICAHT_OPTIONS),
    st.one_of(st.none(), st.integers(0, 120)),
    st.one_of(st.none(), st.integers(1, 110)),
)
def test_a_lower_platelet_count_never_lowers_t_icaht(
    series: tuple[list[int], list[float], int, float],
    options: IcahtOptions,
    follow_up: int | None,
    censor: int | None,
) -> None:
    """T-ICAHT (ASH table of the EHA/EBMT consensus, §5.3): days < 50 and < 20 ×10^9/L early, tests < 100,
    < 50 and days < 20 late; a lower count on one day never lowers either grade."""
    days, values, which, lower = series
    worse = list(values)
    worse[which] = lower
    before = grade_t_icaht(days, values, options, follow_up_day=follow_up, censor_day=censor)
    after = grade_t_icaht(days, worse, options, follow_up_day=follow_up, censor_day=censor)
    for name in ("early_grade", "late_grade"):
        seen, lowered = getattr(before, name), getattr(after, name)
        assert seen is None or lowered >= seen, name
