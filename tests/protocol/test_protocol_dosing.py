"""Cell dose, BSA and lymphodepletion calculators (`cartrial.protocol.dosing`).

Expected values are hand computations:
- Mosteller RD, N Engl J Med 1987;317:1098: BSA = sqrt(height_cm × weight_kg / 3600).
- Du Bois D, Du Bois EF, Arch Intern Med 1916;17:863-871: BSA = 0.007184 × W^0.425 × H^0.725.
- Doses: ct103a-nmosd-trial.md §3 (0.5 and 1.0 ×10^6 CAR+ T cells/kg; cyclophosphamide 300 mg/m²/day
  and fludarabine 30 mg/m²/day on days −4, −3, −2, NCT04561557).
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial import examples as cartrial_examples
from cartrial.errors import InputError
from cartrial.protocol import (
    AgentDailyDose,
    DoseLevel,
    DoseRounding,
    Lymphodepletion,
    LymphodepletionPlan,
    Protocol,
    body_surface_area_m2,
    dose_for,
    load_protocol,
    lymphodepletion_doses,
)
from cartrial.protocol.dosing import round_significant


@pytest.fixture
def reference(examples_dir) -> Protocol:  # type: ignore[no-untyped-def]
    return load_protocol(examples_dir / "ct103a-nmosd" / "protocol.yaml")


@pytest.mark.parametrize(
    ("level", "weight", "total"),
    [(1, 50, 2.5e7), (1, 70, 3.5e7), (1, 90, 4.5e7), (2, 50, 5.0e7), (2, 70, 7.0e7), (2, 90, 9.0e7)],
)
def test_reference_doses_for_50_70_90_kg(
    reference: Protocol, level: int, weight: float, total: float
) -> None:
    """0.5×10^6/kg × 70 kg = 3.5×10^7 cells, etc. (ct103a-nmosd-trial.md §3, hand multiplication)."""
    result = dose_for(reference, weight, level=level)
    assert result.total_cells == pytest.approx(total, rel=1e-12)
    assert not result.cap_applied
    assert result.volume_ml is None  # concentration not known for CT103A
    assert "not rounded" in result.rounding


def test_default_is_exact_and_significant_figures_rounding_is_half_up() -> None:
    """Default: no rounding, 0.5×10^6 × 73.3 kg = 3.665×10^7 exactly; with the significant-figures rule
    (3 s.f., half-up in decimal) 3.67×10^7. The rule is recorded in the result."""
    level = DoseLevel(level=1, label="L1", cells_per_kg=5e5)
    exact = dose_for(level, 73.3)
    assert exact.total_cells == pytest.approx(3.665e7, rel=1e-12)
    assert "not rounded" in exact.rounding
    rounded = dose_for(level, 73.3, rounding=DoseRounding(method="significant_figures"))
    assert rounded.uncapped_total_cells == pytest.approx(3.665e7)
    assert rounded.total_cells == 3.67e7
    assert "3 significant figures" in rounded.rounding


def test_round_significant_hand_values() -> None:
    """Half-up in decimal: 2.5 → 3 (1 s.f.), 1.2345 → 1.23, 0.0012345 → 0.00123, 6.666e7 → 6.67e7."""
    assert round_significant(2.5, 1) == 3
    assert round_significant(1.2345, 3) == 1.23
    assert round_significant(0.0012345, 3) == 0.00123
    assert round_significant(6.666e7, 3) == 6.67e7


def test_cap_on_total_cells() -> None:
    """1.0×10^6/kg × 120 kg = 1.2×10^8 > cap 1×10^8 → 1×10^8 total, 8.33×10^5/kg effective."""
    level = DoseLevel(level=2, label="L2", cells_per_kg=1e6, max_total_cells=1e8)
    result = dose_for(level, 120)
    assert result.cap_applied
    assert result.total_cells == 1e8
    assert result.effective_cells_per_kg == pytest.approx(1e8 / 120)
    assert not dose_for(level, 100).cap_applied  # exactly at the cap: 1×10^8, cap not exceeded


def test_delivered_dose_per_kg_is_the_nominal_one_when_nothing_moved_the_total() -> None:
    """`effective_cells_per_kg` was total / weight always: 5×10^5 × 40.2 / 40.2 is not 5×10^5 in floating
    point, so an uncapped, unrounded dose was "delivered" at a dose per kg other than the level's (the
    simulation records and models the delivered dose, D-19.55). It is now the level's dose exactly unless
    the cap or the rounding rule changed the total."""
    level = DoseLevel(level=1, label="L1", cells_per_kg=5e5, max_total_cells=5e7)
    assert 5e5 * 40.2 / 40.2 != 5e5
    assert dose_for(level, 40.2).effective_cells_per_kg == 5e5
    assert dose_for(level, 120).effective_cells_per_kg == 5e7 / 120  # capped
    rounded = dose_for(level, 73.3, rounding=DoseRounding(method="significant_figures"))
    assert rounded.effective_cells_per_kg == 3.67e7 / 73.3


def test_volume_from_concentration() -> None:
    """7×10^7 cells at 2×10^6 cells/mL = 35 mL; 3.665×10^7 / 2×10^6 = 18.325 mL exactly (default), 18.3 mL
    to 0.1 mL; with 3 s.f. cell rounding 3.67×10^7 / 2×10^6 = 18.35 → 18.4 mL (half-up)."""
    level_2 = DoseLevel(level=1, label="a", cells_per_kg=1e6, concentration_cells_per_ml=2e6)
    assert dose_for(level_2, 70).volume_ml == pytest.approx(35.0)
    level_1 = DoseLevel(level=1, label="a", cells_per_kg=5e5, concentration_cells_per_ml=2e6)
    assert dose_for(level_1, 73.3).volume_ml == pytest.approx(18.325)
    assert dose_for(level_1, 73.3, rounding=DoseRounding(volume_ml_decimals=1)).volume_ml == 18.3
    both = DoseRounding(method="significant_figures", volume_ml_decimals=1)
    assert dose_for(level_1, 73.3, rounding=both).volume_ml == 18.4


@pytest.mark.parametrize("weight", [0, -70, 600, float("nan")])
def test_implausible_weight_is_an_input_error(weight: float) -> None:
    """Weights outside 1-500 kg (or not a number) are rejected with the allowed range."""
    with pytest.raises(InputError, match="weight_kg"):
        dose_for(DoseLevel(level=1, label="a", cells_per_kg=1e6), weight)


def test_weight_outside_level_bounds_is_an_input_error() -> None:
    """A level defined for 40-120 kg refuses 130 kg and 35 kg, naming the bounds."""
    level = DoseLevel(level=1, label="a", cells_per_kg=1e6, min_weight_kg=40, max_weight_kg=120)
    for weight in (130, 35):
        with pytest.raises(InputError, match=r"40\.0 to 120\.0 kg"):
            dose_for(level, weight)
    assert dose_for(level, 120).total_cells == 1.2e8


def test_protocol_needs_a_valid_level(reference: Protocol) -> None:
    """Dose levels are 1-based and must exist (level 3 of a 2-level protocol is an error)."""
    with pytest.raises(InputError, match="no such dose level"):
        dose_for(reference, 70, level=3)
    with pytest.raises(InputError, match="dose level number"):
        dose_for(reference, 70)


@pytest.mark.parametrize(
    ("weight", "height", "mosteller", "dubois"),
    [
        # Mosteller: sqrt(90*180/3600) = sqrt(4.5) = 2.121320; sqrt(60*150/3600) = sqrt(2.5) = 1.581139;
        # sqrt(70*170/3600) = sqrt(3.305556) = 1.818119.
        # DuBois: 0.007184 * 70^0.425 * 170^0.725 = 0.007184 * 6.083684 * 41.407162 = 1.809708;
        # 0.007184 * 90^0.425 * 180^0.725 = 2.098901; 0.007184 * 60^0.425 * 150^0.725 = 1.547914.
        (90, 180, 2.121320, 2.098901),
        (60, 150, 1.581139, 1.547914),
        (70, 170, 1.818119, 1.809708),
    ],
)
def test_bsa_hand_values(weight: float, height: float, mosteller: float, dubois: float) -> None:
    """Mosteller 1987 (default) and DuBois & DuBois 1916 against hand-computed values (6 decimals)."""
    assert body_surface_area_m2(weight, height) == pytest.approx(mosteller, abs=1e-6)
    assert body_surface_area_m2(weight, height, "mosteller") == pytest.approx(mosteller, abs=1e-6)
    assert body_surface_area_m2(weight, height, method="dubois") == pytest.approx(dubois, abs=1e-6)


def test_bsa_rejects_unknown_method_and_implausible_height() -> None:
    """Only Mosteller 1987 and DuBois 1916 are offered; a height in metres (1.7) is caught as implausible."""
    with pytest.raises(InputError, match="mosteller, dubois"):
        body_surface_area_m2(70, 170, "haycock")
    with pytest.raises(InputError, match="height_cm"):
        body_surface_area_m2(70, 1.7)  # metres instead of cm


@given(
    st.floats(20, 200),
    st.floats(20, 200),
    st.floats(100, 220),
    st.sampled_from(["mosteller", "dubois"]),
)
def test_bsa_monotone_in_weight(w1: float, w2: float, height: float, method: str) -> None:
    """Both formulas increase with weight at fixed height (positive exponents)."""
    low, high = sorted((w1, w2))
    assert body_surface_area_m2(low, height, method) <= body_surface_area_m2(high, height, method)


@given(
    st.floats(100, 220),
    st.floats(100, 220),
    st.floats(20, 200),
    st.sampled_from(["mosteller", "dubois"]),
)
def test_bsa_monotone_in_height(h1: float, h2: float, weight: float, method: str) -> None:
    """Both formulas increase with height at fixed weight."""
    low, high = sorted((h1, h2))
    assert body_surface_area_m2(weight, low, method) <= body_surface_area_m2(weight, high, method)


@given(st.floats(1, 500), st.floats(1, 500), st.sampled_from([5e5, 1e6, 3e6]))
def test_dose_monotone_in_weight_until_the_cap(w1: float, w2: float, cells_per_kg: float) -> None:
    """Total cells never decrease with weight (rounding is monotone) and never exceed the cap."""
    cap = 1.5e8
    level = DoseLevel(level=1, label="a", cells_per_kg=cells_per_kg, max_total_cells=cap)
    low, high = sorted((w1, w2))
    d_low, d_high = dose_for(level, low), dose_for(level, high)
    assert d_low.total_cells <= d_high.total_cells <= cap
    if d_high.uncapped_total_cells <= cap * 0.99:
        assert not d_high.cap_applied


def test_lymphodepletion_for_a_1_7_m2_patient(reference: Protocol) -> None:
    """300 mg/m² × 1.7 m² = 510 mg cyclophosphamide and 30 × 1.7 = 51 mg fludarabine per day, on days
    −4, −3, −2 (NCT04561557 registry regimen, ct103a-nmosd-trial.md §3); course 1530 and 153 mg."""
    plan = lymphodepletion_doses(reference, bsa_m2=1.7)
    assert [(d.agent, d.day) for d in plan.doses] == [
        ("cyclophosphamide", -4),
        ("fludarabine", -4),
        ("cyclophosphamide", -3),
        ("fludarabine", -3),
        ("cyclophosphamide", -2),
        ("fludarabine", -2),
    ]
    assert all(d.dose_mg == pytest.approx(510.0) for d in plan.doses if d.agent == "cyclophosphamide")
    assert all(d.dose_mg == pytest.approx(51.0) for d in plan.doses if d.agent == "fludarabine")
    assert plan.total_mg("cyclophosphamide") == pytest.approx(1530.0)
    assert plan.total_mg("fludarabine") == pytest.approx(153.0)


def test_lymphodepletion_from_weight_and_height(reference: Protocol) -> None:
    """70 kg, 170 cm: Mosteller 1.818119 m² → 545.44 mg Cy, 54.54 mg Flu; DuBois 1.809708 m² → 542.91 mg."""
    mosteller = lymphodepletion_doses(reference, 70, 170)
    assert mosteller.bsa_method == "mosteller"
    assert mosteller.doses[0].dose_mg == pytest.approx(545.436, abs=1e-3)
    assert mosteller.doses[1].dose_mg == pytest.approx(54.5436, abs=1e-4)
    dubois = lymphodepletion_doses(reference, 70, 170, method="dubois")
    assert dubois.doses[0].dose_mg == pytest.approx(542.912, abs=1e-3)


def _regimen(**agent_extra: object) -> Lymphodepletion:
    return Lymphodepletion.model_validate(
        {
            "agents": [
                {"name": "fludarabine", "dose_mg_per_m2_per_day": 30, "days": [-4, -3, -2], **agent_extra},
            ]
        }
    )


def test_daily_cap_and_bsa_cap() -> None:
    """30 mg/m² × 2.2 m² = 66 mg > cap 60 mg → 60 mg (cap flag); a BSA cap of 2.0 m² gives 60 mg too."""
    capped = lymphodepletion_doses(_regimen(max_daily_dose_mg=60), bsa_m2=2.2)
    assert capped.doses[0].calculated_mg == pytest.approx(66.0)
    assert capped.doses[0].dose_mg == 60 and capped.doses[0].cap_applied
    regimen = Lymphodepletion.model_validate(
        {"max_bsa_m2": 2.0, "agents": [{"name": "fludarabine", "dose_mg_per_m2_per_day": 30, "days": [-3]}]}
    )
    plan = lymphodepletion_doses(regimen, bsa_m2=2.2)
    assert plan.bsa_m2 == 2.0 and plan.doses[0].dose_mg == pytest.approx(60.0)


def test_renal_adjustment_hook_is_off_by_default() -> None:
    """Tiers apply only with a creatinine clearance: CrCl 50 < 70 → 80 %: 30 × 1.7 × 0.8 = 40.8 mg;
    CrCl 25 < 30 → 50 %: 25.5 mg; CrCl 90 → 51 mg; no clearance → 51 mg."""
    regimen = _regimen(
        renal_adjustment=[{"below_ml_min": 70, "dose_percent": 80}, {"below_ml_min": 30, "dose_percent": 50}]
    )
    assert lymphodepletion_doses(regimen, bsa_m2=1.7).doses[0].dose_mg == pytest.approx(51.0)
    assert lymphodepletion_doses(regimen, bsa_m2=1.7, creatinine_clearance_ml_min=90).doses[
        0
    ].dose_mg == pytest.approx(51.0)
    assert lymphodepletion_doses(regimen, bsa_m2=1.7, creatinine_clearance_ml_min=50).doses[
        0
    ].dose_mg == pytest.approx(40.8)
    adjusted = lymphodepletion_doses(regimen, bsa_m2=1.7, creatinine_clearance_ml_min=25)
    assert adjusted.doses[0].dose_mg == pytest.approx(25.5) and adjusted.doses[0].renal_dose_percent == 50
    # a regimen without tiers ignores the clearance
    assert lymphodepletion_doses(_regimen(), bsa_m2=1.7, creatinine_clearance_ml_min=20).doses[
        0
    ].dose_mg == pytest.approx(51.0)


def test_lymphodepletion_input_errors(reference: Protocol) -> None:
    """BSA comes either from weight and height or given directly, never both; 17 m² is implausible."""
    with pytest.raises(InputError, match="not both"):
        lymphodepletion_doses(reference, 70, 170, bsa_m2=1.7)
    with pytest.raises(InputError, match="needed"):
        lymphodepletion_doses(reference, 70)
    with pytest.raises(InputError, match="bsa_m2"):
        lymphodepletion_doses(reference, bsa_m2=17)


@pytest.mark.parametrize("name", ["DuBois", "du bois", "du_bois", "DUBOIS"])
def test_bsa_method_names_are_forgiving(name: str) -> None:
    """Method names in any case/spacing select the DuBois formula (90 kg, 180 cm → 2.098901 m²)."""
    assert body_surface_area_m2(90, 180, name) == pytest.approx(2.098901, abs=1e-6)


# ------------------------------------------------- fludarabine renal dose adjustment (decisions §12,
# protocol)

FLUDARABINE_LABEL = "US prescribing information, fludarabine phosphate injection"


def _fludarabine(plan: LymphodepletionPlan) -> list[AgentDailyDose]:
    return [d for d in plan.doses if d.agent == "fludarabine"]


@pytest.mark.parametrize(
    ("crcl", "percent", "daily_mg"),
    [
        # label: CrCl 30 to 70 → 20 % reduction (both ends inside), < 30 → not given; 1.7 × 30 = 51 mg
        (95.0, 100, 51.0),
        (70.5, 100, 51.0),
        (70.0, 80, 40.8),
        (45.0, 80, 40.8),  # the review's case: 45 mL/min used to get 100 %
        (30.0, 80, 40.8),
        (29.9, 0, 0.0),
        (0.0, 0, 0.0),
    ],
)
def test_reference_fludarabine_renal_tiers(
    reference: Protocol, crcl: float, percent: float, daily_mg: float
) -> None:
    """The reference protocol's fludarabine tiers, hand-computed from the label rule; cyclophosphamide has
    no tier and stays at 300 × 1.7 = 510 mg."""
    plan = lymphodepletion_doses(reference, bsa_m2=1.7, creatinine_clearance_ml_min=crcl)
    for dose in _fludarabine(plan):
        assert dose.renal_dose_percent == percent and dose.dose_mg == pytest.approx(daily_mg)
        rule = dose.renal_rule
        assert rule is not None and f"CrCl {crcl:g} mL/min" in rule
        if percent < 100:
            assert FLUDARABINE_LABEL in rule
        if percent == 0:
            assert "not given" in rule
    cyclophosphamide = [d for d in plan.doses if d.agent == "cyclophosphamide"]
    assert all(d.dose_mg == pytest.approx(510.0) and d.renal_rule is None for d in cyclophosphamide)


def test_reference_tiers_carry_their_source_and_are_unverified(reference: Protocol) -> None:
    """The thresholds are protocol data with their source, tagged [U] (not in the reference documents)."""
    assert reference.lymphodepletion is not None
    agent = next(a for a in reference.lymphodepletion.agents if a.name == "fludarabine")
    assert [(t.below_ml_min, t.includes_threshold, t.dose_percent) for t in agent.renal_adjustment] == [
        (70, True, 80),
        (30, False, 0),
    ]
    assert all(
        t.source and FLUDARABINE_LABEL in t.source and "[U]" in t.source for t in agent.renal_adjustment
    )


def test_without_a_clearance_the_dose_says_the_tiers_were_not_applied(reference: Protocol) -> None:
    """No silent full dose: the rule text says no clearance was given."""
    plan = lymphodepletion_doses(reference, bsa_m2=1.7)
    assert all(
        d.dose_mg == pytest.approx(51.0) and "not applied" in (d.renal_rule or "") for d in _fludarabine(plan)
    )


def test_tiers_giving_more_to_a_lower_clearance_are_refused() -> None:
    """A lower clearance can never get a larger dose: such tiers are a protocol error at their line."""
    from cartrial.protocol.dosing import LymphodepletionAgent

    with pytest.raises(ValueError, match="larger dose"):
        LymphodepletionAgent.model_validate(
            {
                "name": "fludarabine",
                "dose_mg_per_m2_per_day": 30,
                "days": [-4],
                "renal_adjustment": [
                    {"below_ml_min": 70, "dose_percent": 50},
                    {"below_ml_min": 30, "dose_percent": 80},
                ],
            }
        )


@given(st.floats(min_value=0, max_value=400), st.floats(min_value=0, max_value=400))
def test_fludarabine_dose_never_increases_as_clearance_falls(first: float, second: float) -> None:
    """Property of the reference tiers: the dose is monotone non-decreasing in creatinine clearance."""
    protocol = _reference_protocol()
    low, high = sorted((first, second))
    dose_low = _fludarabine(lymphodepletion_doses(protocol, bsa_m2=1.7, creatinine_clearance_ml_min=low))[0]
    dose_high = _fludarabine(lymphodepletion_doses(protocol, bsa_m2=1.7, creatinine_clearance_ml_min=high))[0]
    assert dose_low.dose_mg <= dose_high.dose_mg


@functools.cache
def _reference_protocol() -> Protocol:
    return load_protocol(cartrial_examples.path("ct103a-nmosd") / "protocol.yaml")
