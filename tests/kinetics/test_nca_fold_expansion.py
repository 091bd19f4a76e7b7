"""Fold expansion of a CAR-T profile (docs/science/cellular-kinetics.md §4, [P]: "Cmax divided by the first
post-infusion quantifiable value or by a nominal R0; definition recorded with the value"; D-19.1450).

Expected values are computed by hand from that rule: the reference is the first quantifiable sample after
the infusion (time > 0; a sample at exactly time 0 is the pre-infusion/dose sample, not post-infusion), or the
nominal R0 the user gives; the value is Cmax / reference, blank with a reason when there is no reference."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cartrial.errors import OptionError
from cartrial.kinetics import nca
from cartrial.kinetics.nca import NcaOptions, parameter_reasons

from ..conftest import property_examples, run_cartrial
from .nca_support import nca_row


def _nca(frame: pd.DataFrame, **options: object) -> pd.Series:
    return nca_row(frame, NcaOptions(**options))  # type: ignore[arg-type]


def test_first_quantifiable_10_on_day_1_and_cmax_3900_on_day_10_give_390() -> None:
    frame = pd.DataFrame(
        {"id": "A", "t": [0.0, 1.0, 4.0, 10.0, 28.0], "c": [0.0, 10.0, 800.0, 3900.0, 200.0]}
    )
    row = _nca(frame)
    assert row["fold_expansion"] == pytest.approx(390.0)
    assert row["fold_expansion_reference"] == "first_quantifiable"
    assert row["fold_expansion_reference_conc"] == 10.0


def test_blq_samples_before_the_first_quantifiable_are_not_the_reference() -> None:
    """BLQ at days 0, 1 and 2 (coded 0); first quantifiable 25 at day 4; Cmax 5000 at day 10 → 200. Under
    a BLQ rule substituting a number for the AUCs, the substituted value is still no reference."""
    frame = pd.DataFrame(
        {"id": "A", "t": [0.0, 1.0, 2.0, 4.0, 10.0, 28.0], "c": [0.0, 0.0, 0.0, 25.0, 5000.0, 60.0]}
    )
    assert _nca(frame)["fold_expansion"] == pytest.approx(200.0)
    # leading BLQ samples given the number 30 for the AUCs (blq_first): a substituted value is no reference
    assert _nca(frame, blq_first=30.0)["fold_expansion"] == pytest.approx(200.0)


def test_a_quantifiable_sample_at_time_0_is_not_post_infusion() -> None:
    """Day 0 is the infusion (the pre-infusion sample, the NCA's concentration at the dose): first
    post-infusion quantifiable 40 at day 2, Cmax 2000 at day 7 → 50."""
    frame = pd.DataFrame({"id": "A", "t": [0.0, 2.0, 7.0, 14.0], "c": [5.0, 40.0, 2000.0, 100.0]})
    assert _nca(frame)["fold_expansion"] == pytest.approx(50.0)


def test_fold_is_1_when_cmax_is_the_first_quantifiable_value() -> None:
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 4.0, 10.0], "c": [0.0, 900.0, 300.0, 100.0]})
    assert _nca(frame)["fold_expansion"] == 1.0


def test_an_all_blq_profile_has_no_fold_expansion_and_says_why() -> None:
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 4.0, 10.0], "c": [0.0, 0.0, 0.0, 0.0]})
    row = _nca(frame)
    assert math.isnan(row["fold_expansion"])
    assert "no quantifiable" in parameter_reasons(row["not_estimable"])["fold_expansion"]
    assert row["fold_expansion_reference"] == "first_quantifiable"


def test_a_profile_quantifiable_only_at_time_0_has_no_post_infusion_reference() -> None:
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 4.0], "c": [30.0, 0.0, 0.0]})
    row = _nca(frame)
    assert math.isnan(row["fold_expansion"])
    reason = parameter_reasons(row["not_estimable"])["fold_expansion"]
    assert "no quantifiable post-infusion sample" in reason
    assert not math.isnan(row["cmax"])


def test_nominal_r0() -> None:
    """Cmax 3900 / nominal R0 1.3 = 3000."""
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 10.0], "c": [0.0, 10.0, 3900.0]})
    row = _nca(frame, fold_expansion_reference="nominal_r0", fold_expansion_r0=1.3)
    assert row["fold_expansion"] == pytest.approx(3000.0)
    assert row["fold_expansion_reference"] == "nominal_r0"
    assert row["fold_expansion_reference_conc"] == 1.3
    blq = pd.DataFrame({"id": "A", "t": [0.0, 1.0], "c": [0.0, 0.0]})
    assert math.isnan(
        _nca(blq, fold_expansion_reference="nominal_r0", fold_expansion_r0=1.3)["fold_expansion"]
    )


def test_a_cmax_at_time_0_is_no_post_infusion_peak() -> None:
    """Failing first: t 0, 1, 4 with 100, 50, 20 gave Cmax 100 at Tmax 0 over the reference 50 = 2; the time-0
    sample is the pre-infusion level, so the fold is blank with its reason under either reference, and the
    reference itself is kept (50, the first post-infusion quantifiable value; R0)."""
    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 4.0], "c": [100.0, 50.0, 20.0]})
    for options in ({}, {"fold_expansion_reference": "nominal_r0", "fold_expansion_r0": 2.0}):
        row = _nca(frame, **options)
        assert math.isnan(row["fold_expansion"])
        assert "Tmax 0" in parameter_reasons(row["not_estimable"])["fold_expansion"]
        assert row["fold_expansion_reference_conc"] == (2.0 if options else 50.0)
        assert "fold_expansion_reference_conc" not in parameter_reasons(row["not_estimable"])
        assert row["cmax"] == 100.0 and row["tmax"] == 0.0


def test_an_all_blq_profile_keeps_the_nominal_r0_as_its_reference() -> None:
    """Failing first: under nominal_r0 an all-BLQ profile blanked fold_expansion_reference_conc too; R0 is the
    reference of every profile, only the fold is blank."""
    blq = pd.DataFrame({"id": "A", "t": [0.0, 1.0], "c": [0.0, 0.0]})
    row = _nca(blq, fold_expansion_reference="nominal_r0", fold_expansion_r0=1.3)
    assert math.isnan(row["fold_expansion"])
    assert row["fold_expansion_reference_conc"] == 1.3
    assert "fold_expansion_reference_conc" not in parameter_reasons(row["not_estimable"])


@pytest.mark.parametrize("r0", [None, 0.0, -1.0, math.inf, math.nan])
def test_nominal_r0_needs_a_positive_finite_value(r0: float | None) -> None:
    with pytest.raises(OptionError) as error:
        NcaOptions(fold_expansion_reference="nominal_r0", fold_expansion_r0=r0)
    assert [p.field for p in error.value.problems] == ["fold_expansion_r0"]


def test_an_r0_without_the_nominal_reference_and_an_unknown_reference_are_refused() -> None:
    with pytest.raises(OptionError) as error:
        NcaOptions(fold_expansion_r0=2.0)
    assert [p.field for p in error.value.problems] == ["fold_expansion_r0"]
    with pytest.raises(OptionError) as error:
        NcaOptions(fold_expansion_reference="baseline")  # type: ignore[arg-type]
    assert [p.field for p in error.value.problems] == ["fold_expansion_reference"]


def test_the_options_record_the_definition() -> None:
    options = NcaOptions(fold_expansion_reference="nominal_r0", fold_expansion_r0=2.0)
    recorded = options.as_dict()
    assert recorded["fold_expansion_reference"] == "nominal_r0" and recorded["fold_expansion_r0"] == 2.0
    assert NcaOptions().as_dict()["fold_expansion_reference"] == "first_quantifiable"


def test_protocol_options_are_located() -> None:
    with pytest.raises(OptionError) as error:
        NcaOptions.from_parameters({"fold_expansion_reference": "nominal_r0", "fold_expansion_r0": -3})
    assert [p.field for p in error.value.problems] == ["fold_expansion_r0"]


def _cli_file(tmp_path):  # type: ignore[no-untyped-def]
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10\nA,10,3900\nA,28,200\n")
    return file


def _cli_args(file) -> list[str]:  # type: ignore[no-untyped-def]
    return ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "copies/ug"]


def test_cli_csv_and_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    file = _cli_file(tmp_path)
    result = run_cartrial(*_cli_args(file))
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert table["fold_expansion"].iloc[0] == pytest.approx(390.0)
    assert table["fold_expansion_reference"].iloc[0] == "first_quantifiable"
    result = run_cartrial(
        *_cli_args(file), "--fold-expansion", "nominal-r0", "--fold-expansion-r0", "2", "--json"
    )
    assert result.exit_code == 0, result.output
    import json

    payload = json.loads(result.stdout)
    assert payload["options"]["fold_expansion_reference"] == "nominal_r0"
    assert payload["units"]["fold_expansion"] == "1"
    rows = payload["rows"]
    assert rows[0]["fold_expansion"] == pytest.approx(1950.0)


def test_cli_nominal_r0_in_the_unit_the_data_are_recorded_in(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Failing first: data in cells/mL (Cmax 3,900,000 cells/mL = 3900 cells/uL) with R0 1000 cells/mL (= 1
    cell/uL) gave 3.9 (the R0 taken as 1000 cells/uL). By hand: 3,900,000 / 1000 = 3900."""
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10000\nA,10,3900000\nA,28,200000\n")
    args = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "cells/mL"]
    result = run_cartrial(*args, "--fold-expansion", "nominal-r0", "--fold-expansion-r0", "1000")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert table["fold_expansion"].iloc[0] == pytest.approx(3900.0)
    assert table["fold_expansion_reference_conc"].iloc[0] == pytest.approx(1.0)  # 1000 cells/mL in cells/uL
    assert table["conc_unit"].iloc[0] == "cells/uL"
    assert "nominal R0 1000 cells/mL converted to 1 cells/uL" in result.stderr
    assert "nominal_r0 1000" in table["nca_options"].iloc[0]  # the option as given


def test_derive_nca_converts_the_nominal_r0_as_the_concentrations() -> None:
    from cartrial.kinetics import derive_nca

    frame = pd.DataFrame({"id": "A", "t": [0.0, 1.0, 10.0], "c": [0.0, 10000.0, 3900000.0]})
    options = NcaOptions(fold_expansion_reference="nominal_r0", fold_expansion_r0=1000.0)
    row = derive_nca(frame, subject="id", time="t", conc="c", conc_unit="cells/mL", options=options).table
    assert row["fold_expansion"].iloc[0] == pytest.approx(3900.0)
    assert row["cmax"].iloc[0] == pytest.approx(3900.0)  # cells/uL


def test_cli_one_nominal_r0_for_two_units_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Failing first: with --unit-col one R0 was applied to every unit (copies/ug in one row, cells/uL in the
    next). Refused, exit 2, naming the option and counting the units found (cells of the records, not
    listed: as the analysis counts analytes, D-19.1452)."""
    file = tmp_path / "p.csv"
    file.write_text("id,t,c,u\nA,1,10,copies/ug\nA,10,3900,copies/ug\nB,1,5,cells/uL\nB,10,50,cells/uL\n")
    args = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--unit-col", "u"]
    result = run_cartrial(*args, "--fold-expansion", "nominal-r0", "--fold-expansion-r0", "2")
    assert result.exit_code == 2, result.output
    assert "--fold-expansion-r0" in result.stderr
    assert "recorded in 2 concentration units" in result.stderr
    assert "copies/ug" not in result.stderr and "cells/uL" not in result.stderr
    assert run_cartrial(*args).exit_code == 0  # first_quantifiable takes each profile's own reference


@pytest.mark.parametrize(
    "extra",
    [
        ("--fold-expansion", "nominal-r0"),
        ("--fold-expansion", "nominal-r0", "--fold-expansion-r0", "0"),
        ("--fold-expansion", "nominal-r0", "--fold-expansion-r0", "inf"),
        ("--fold-expansion-r0", "5"),
    ],
)
def test_cli_bad_r0_exits_2_naming_the_option(tmp_path, extra) -> None:  # type: ignore[no-untyped-def]
    result = run_cartrial(*_cli_args(_cli_file(tmp_path)), *extra)
    assert result.exit_code == 2
    assert "--fold-expansion-r0" in result.stderr


@st.composite
def _profiles(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    """Sorted distinct times from 0 (whole or not; day 0 present or not) and concentrations, 0 for BLQ."""
    times = sorted(
        draw(
            st.lists(
                st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=400.0)),
                min_size=1,
                max_size=12,
                unique=True,
            )
        )
    )
    concs = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(min_value=1e-2, max_value=1e9)),
            min_size=len(times),
            max_size=len(times),
        )
    )
    return times, concs


@settings(max_examples=property_examples(100), deadline=None)
@given(
    _profiles(),
    st.sampled_from(["first_quantifiable", "nominal_r0"]),
    st.floats(min_value=1e-3, max_value=1e6),
    st.sampled_from(["default", "blq_first_number", "half_lloq"]),
)
def test_fold_properties(
    profile: tuple[list[float], list[float]], reference: str, r0: float, blq: str
) -> None:
    """Whatever the BLQ rule substitutes for the AUCs: the reference is the first quantifiable value at
    time > 0 as measured (first_quantifiable) or R0 itself (nominal_r0, kept for an all-BLQ profile too);
    fold * reference == Cmax whenever a fold is reported; fold >= 1 under first_quantifiable (the reference is
    one of the values Cmax is the maximum of); blank exactly when there is no reference or no quantifiable
    value, or when Cmax is at time 0 (Tmax 0: no post-infusion peak)."""
    times, concs = profile
    options: dict[str, object] = {"fold_expansion_reference": reference}
    if reference == "nominal_r0":
        options["fold_expansion_r0"] = r0
    if blq == "blq_first_number":
        options["blq_first"] = 5.0
    elif blq == "half_lloq":
        options.update(blq_first="half_lloq", blq_middle="half_lloq", blq_last="half_lloq")
    frame = pd.DataFrame({"id": "A", "t": times, "c": concs})
    row = nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        options=NcaOptions(**options),  # type: ignore[arg-type]
        lloq=1e-3 if blq == "half_lloq" else None,
    ).table.iloc[0]
    fold, ref, cmax = row["fold_expansion"], row["fold_expansion_reference_conc"], row["cmax"]
    post = [c for t, c in zip(times, concs, strict=True) if t > 0 and c > 0]
    quantifiable = any(c > 0 for c in concs)
    peak_at_dose = quantifiable and row["tmax"] <= 0
    if reference == "first_quantifiable":
        assert math.isnan(ref) == (not post)
        if post:
            assert ref == post[0]
        assert math.isnan(fold) == (not post or peak_at_dose)
        if not math.isnan(fold):
            assert fold >= 1.0
    else:
        assert ref == r0
        assert math.isnan(fold) == (not quantifiable or peak_at_dose)
    if not math.isnan(fold):
        assert fold * ref == pytest.approx(cmax, rel=1e-12)
        if blq == "default":  # no substituted value: Cmax is the highest measured value
            assert cmax == max(concs)
