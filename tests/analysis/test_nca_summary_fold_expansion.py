"""The analysis layer carries fold expansion (docs/science/cellular-kinetics.md §4, D-19.1450) as it carries
Cmax: per subject in `nca_by_subject` with the definition recorded, and in `nca_summary` with the geometric
mean and CV % (a ratio of levels, log-normal as Cmax), from the protocol's ``nca_options``.

By hand: S1 first post-infusion quantifiable 1000 on day 7 = Cmax → fold 1; S2 BLQ on day 7, 200 on day 14,
Cmax 800 on day 21 → 4; ALLBLQ none (no quantifiable value)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pydantic import ValidationError

from cartrial.protocol.analysis_spec import AnalysisOptions

from .test_interval_auc_coverage import FULL, _datasets, _row

PROFILES = {
    "S1": FULL,
    "S2": [(0, None), (7, None), (14, 200.0), (21, 800.0), (28, 100.0)],
    "ALLBLQ": [(0, None), (7, None), (14, None), (28, None)],
}


def test_fold_expansion_per_subject_and_in_the_summary() -> None:
    datasets = _datasets(PROFILES)
    by_subject = datasets["nca_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["S1", "fold_expansion"] == 1.0
    assert by_subject.loc["S2", "fold_expansion"] == pytest.approx(4.0)
    assert math.isnan(by_subject.loc["ALLBLQ", "fold_expansion"])
    assert set(by_subject["fold_expansion_reference"]) == {"first_quantifiable"}
    assert "fold_expansion" in datasets["nca_by_subject"].columns
    row = _row(datasets["nca_summary"].table, "fold_expansion")
    assert (row["n_subjects"], row["n"]) == (3, 2)
    assert row["geometric_mean"] == pytest.approx(2.0)  # sqrt(1 * 4)
    assert (row["median"], row["min"], row["max"]) == (pytest.approx(2.5), 1.0, pytest.approx(4.0))
    assert row["unit"] == "1"


def test_the_protocol_chooses_a_nominal_r0() -> None:
    datasets = _datasets(
        PROFILES, nca_options={"fold_expansion_reference": "nominal_r0", "fold_expansion_r0": 50.0}
    )
    by_subject = datasets["nca_by_subject"].table.set_index("subject_id")
    assert by_subject.loc["S1", "fold_expansion"] == pytest.approx(1000.0 / 50.0)
    assert by_subject.loc["S2", "fold_expansion"] == pytest.approx(800.0 / 50.0)
    assert set(by_subject["fold_expansion_reference"]) == {"nominal_r0"}


@pytest.mark.parametrize("r0", [None, 0.0, -2.0, float("inf")])
def test_a_bad_protocol_r0_is_located_at_its_key(r0: float | None) -> None:
    """The protocol's options are checked by `NcaOptions.from_parameters` at load: refused at
    nca_options.fold_expansion_r0 (missing, <= 0 or not finite)."""
    nca_options: dict[str, object] = {"fold_expansion_reference": "nominal_r0"}
    if r0 is not None:
        nca_options["fold_expansion_r0"] = r0
    with pytest.raises(ValidationError) as error:
        AnalysisOptions(nca_options=nca_options)
    issues = error.value.errors()[0]["ctx"]["issues"]
    assert [tuple(issue.path) for issue in issues] == [("nca_options", "fold_expansion_r0")]


def test_a_fold_expansion_endpoint_is_derived(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A protocol endpoint measuring fold_expansion is derived by nca_summary (it was named not derived)."""
    from tests.test_second_indication_sle import _with_endpoint

    from cartrial.analysis.outcomes import GENERAL_MEASURES, underived_endpoints
    from cartrial.protocol import load_protocol

    assert GENERAL_MEASURES["fold_expansion"] == "nca_summary"
    assert underived_endpoints(load_protocol(_with_endpoint(tmp_path, "fold_expansion"))) == ()


def test_a_nominal_r0_for_two_analytes_is_refused_at_its_protocol_key() -> None:
    """Failing first: one R0 was applied to every analyte (copies/ug gDNA and cells/uL alike)."""
    from cartrial.analysis.kinetics import nca_datasets
    from cartrial.analysis.model import Population
    from cartrial.analysis.populations import SAFETY
    from cartrial.errors import OptionError

    from .test_interval_auc_coverage import _tables

    tables = _tables(PROFILES)
    cells = tables["pk_samples"].assign(analyte="car_t_cells", unit="cells/uL")
    tables["pk_samples"] = pd.concat([tables["pk_samples"], cells], ignore_index=True)
    spec = AnalysisOptions(nca_options={"fold_expansion_reference": "nominal_r0", "fold_expansion_r0": 50.0})
    populations = {SAFETY: Population(SAFETY, "infused", tuple(PROFILES), {})}
    with pytest.raises(OptionError) as error:
        nca_datasets(tables, populations, spec)
    assert [p.field for p in error.value.problems] == ["analysis.options.nca_options.fold_expansion_r0"]
    assert "2 analytes" in str(error.value)
