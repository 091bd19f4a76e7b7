"""LD-DOSE-PROTOCOL (D-19.993): a lymphodepletion dose per m² off the protocol's regimen by more than
`LD_DOSE_TOLERANCE` (10 %) raises a data query, as the other soft cross-form checks; before, any dose was
stored without a word.

Hand values from examples/ct103a-nmosd/protocol.yaml: cyclophosphamide 300 mg/m²/day, fludarabine
30 mg/m²/day, whose renal tier gives 80 % (24 mg/m²) at a creatinine clearance of 30-70 mL/min (a tier of
0 % is "not given", no dose). Within ±10 %: cyclophosphamide 270-330, fludarabine 27-33 or 21.6-26.4.
So 330, 27, 24 and 26 pass; 331, 3000 (a slip of a zero), 26.5 (above 26.4, below 27) and 20 are
queried. Without dose_mg_per_m2 the
dose per m² is dose_mg / body_surface_area_m2: 483 mg / 1.61 m² = 300 passes, 4830 / 1.61 = 3000 fires. A
drug the protocol does not name (mesna) is not checked, nor a protocol without a regimen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cartrial.store.edit_checks import CHECKS, LD_DOSE_TOLERANCE, Record, SubjectRecords, run_edit_checks
from cartrial.store.importing import import_templates

from .test_death_checks import assert_no_values, small_study
from .test_edit_checks import REFERENCE, TODAY, infusion, subject
from .test_store_data_quality import LD_HEADER, system_queries


def dose(drug: str, per_m2: float | None, mg: float | None = None, bsa: float | None = None) -> Record:
    values = {
        "subject_id": "CT-001",
        "drug": drug,
        "administered_on": dt.date(2021, 5, 28),
        "day_relative_to_infusion": -4,
        "dose_mg_per_m2": per_m2,
        "dose_mg": mg,
        "body_surface_area_m2": bsa,
    }
    return Record("lymphodepletion_administration", values, new=True)


def fired(record: Record, protocol: object = REFERENCE) -> list[tuple[str, str]]:
    by_table = {"subject": [subject()], "infusion": [infusion()], record.table: [record]}
    findings = run_edit_checks([SubjectRecords("CT-001", by_table)], protocol, TODAY)  # type: ignore[arg-type]
    for finding in findings:
        assert_no_values(finding)
    return [(f.check.id, f.field) for f in findings]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (dose("cyclophosphamide", 300), []),
        (dose("Cyclophosphamide", 330), []),
        (dose("cyclophosphamide", 331), [("LD-DOSE-PROTOCOL", "dose_mg_per_m2")]),
        (dose("cyclophosphamide", 3000), [("LD-DOSE-PROTOCOL", "dose_mg_per_m2")]),
        (dose("fludarabine", 27), []),
        (dose("fludarabine phosphate", 24), []),  # the renal tier's 80 %
        (dose("fludarabine", 26), []),  # 24 + 10 % = 26.4
        (dose("fludarabine", 26.5), [("LD-DOSE-PROTOCOL", "dose_mg_per_m2")]),
        (dose("fludarabine", 20), [("LD-DOSE-PROTOCOL", "dose_mg_per_m2")]),
        (dose("cyclophosphamide", None, 483.0, 1.61), []),
        (dose("cyclophosphamide", None, 4830.0, 1.61), [("LD-DOSE-PROTOCOL", "dose_mg")]),
        (dose("cyclophosphamide", None, 4830.0, None), []),  # no dose per m² to compare
        (dose("mesna", 3000), []),
    ],
)
def test_a_dose_off_the_protocols_regimen_is_queried(record: Record, expected: list[tuple[str, str]]) -> None:
    assert fired(record) == expected


def test_a_protocol_without_a_regimen_checks_nothing() -> None:
    without = REFERENCE.model_copy(update={"lymphodepletion": None})
    assert fired(dose("cyclophosphamide", 3000), without) == []


@given(st.floats(min_value=1.0, max_value=3000.0, allow_nan=False))
def test_the_query_fires_exactly_outside_the_tolerance(per_m2: float) -> None:
    """Property: cyclophosphamide (300 mg/m², no renal tier) is queried iff |dose − 300| > 10 % of 300."""
    queried = fired(dose("cyclophosphamide", per_m2)) != []
    assert queried == (abs(per_m2 - 300.0) > LD_DOSE_TOLERANCE * 300.0 + 1e-9)


def test_the_check_is_listed_with_its_rule_and_source() -> None:
    (check,) = [c for c in CHECKS if c.id == "LD-DOSE-PROTOCOL"]
    assert check.severity == "soft" and "lymphodepletion" in check.source


def test_an_import_raises_the_query(empty_study_url: str, tmp_path: Path) -> None:
    """CT-001 of the example (infused 2021-04-27): cyclophosphamide at 3000 mg/m² (a zero too many) and
    fludarabine at 30 — one query, on the import's row 2, stored by the system user."""
    folder = small_study(tmp_path / "in")
    rows = [
        "CT-001,cyclophosphamide,2021-04-23,-4,3000,4830.0,1.61",
        "CT-001,fludarabine,2021-04-23,-4,30,48.3,1.61",
    ]
    (folder / "lymphodepletion.csv").write_text("\n".join([LD_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert [
        (f.check.id, Path(str(f.record.file)).name, f.record.row)
        for f in planned
        if f.check.id.startswith("LD-")
    ] == [("LD-DOSE-PROTOCOL", "lymphodepletion.csv", 2)]
    import_templates(empty_study_url, folder, "admin")
    (query,) = system_queries(empty_study_url, "LD-DOSE-PROTOCOL")
    assert query["field"] == "dose_mg_per_m2" and "3000" not in str(query["text"])


def _capped(max_bsa_m2: float | None = None, cyclophosphamide_max_mg: float | None = None) -> object:
    """The reference protocol with a BSA cap and a daily cap on cyclophosphamide (300 mg/m²/day)."""
    regimen = REFERENCE.lymphodepletion
    assert regimen is not None
    agents = [
        a.model_copy(update={"max_daily_dose_mg": cyclophosphamide_max_mg})
        if a.name == "cyclophosphamide"
        else a
        for a in regimen.agents
    ]
    return REFERENCE.model_copy(
        update={"lymphodepletion": regimen.model_copy(update={"max_bsa_m2": max_bsa_m2, "agents": agents})}
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # BSA capped at 2.0 m²: 300 × 2.0 = 600 mg a day on a 2.4 m² patient, 600 / 2.4 = 250 mg/m² given
        (dose("cyclophosphamide", 250, 600.0, 2.4), []),
        (dose("cyclophosphamide", None, 600.0, 2.4), []),
        (dose("cyclophosphamide", 300, 600.0, 2.4), []),  # the prescribed dose per m² recorded
        # uncapped 300 × 2.4 = 720 mg, above 600 + 10 % = 660
        (dose("cyclophosphamide", None, 720.0, 2.4), [("LD-DOSE-PROTOCOL", "dose_mg")]),
        (dose("cyclophosphamide", 300, 720.0, 2.4), [("LD-DOSE-PROTOCOL", "dose_mg")]),
        (dose("cyclophosphamide", None, 540.0, 1.8), []),  # under the cap: 300 × 1.8
    ],
)
def test_the_protocols_bsa_cap_is_applied(record: Record, expected: list[tuple[str, str]]) -> None:
    """D-19.996: the check compared dose_mg / BSA with 300 mg/m², ignoring `max_bsa_m2` that
    `lymphodepletion_doses` applies, and queried every correctly capped dose."""
    assert fired(record, _capped(max_bsa_m2=2.0)) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # daily cap 400 mg: 300 × 1.7 = 510 mg capped to 400 (400 / 1.7 = 235 mg/m² given)
        (dose("cyclophosphamide", None, 400.0, 1.7), []),
        (dose("cyclophosphamide", 235.3, 400.0, 1.7), []),
        (dose("cyclophosphamide", None, 510.0, 1.7), [("LD-DOSE-PROTOCOL", "dose_mg")]),  # > 440
    ],
)
def test_the_agents_daily_cap_is_applied(record: Record, expected: list[tuple[str, str]]) -> None:
    assert fired(record, _capped(cyclophosphamide_max_mg=400.0)) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # 30 mg/m² on 1.7 m² is 51 mg (or 24 × 1.7 = 40.8 at the renal tier): 510 is a digit slipped
        (dose("fludarabine", 30, 510.0, 1.7), [("LD-DOSE-PROTOCOL", "dose_mg")]),
        (dose("fludarabine", 30, 51.0, 1.7), []),
        (dose("fludarabine", 24, 40.8, 1.7), []),
        # both fields off by the same slip: one query, on the dose per m²
        (dose("cyclophosphamide", 3000, 4830.0, 1.61), [("LD-DOSE-PROTOCOL", "dose_mg_per_m2")]),
        # a bool is not a dose nor a BSA (True would read as 1)
        (dose("cyclophosphamide", None, True, 1.61), []),
        (dose("cyclophosphamide", None, 483.0, True), []),
    ],
)
def test_dose_mg_is_checked_when_the_dose_per_m2_is_recorded_too(
    record: Record, expected: list[tuple[str, str]]
) -> None:
    """D-19.996: with dose_mg_per_m2 recorded, dose_mg was never looked at (a slip of a digit in the mg
    given went unqueried)."""
    assert fired(record) == expected


@given(st.floats(min_value=100.0, max_value=1500.0), st.floats(min_value=1.0, max_value=3.0))
def test_dose_mg_is_queried_exactly_outside_the_tolerance_of_the_capped_dose(mg: float, bsa: float) -> None:
    """Property (hand rule): cyclophosphamide 300 mg/m² on min(BSA, 2.0 m²) is the daily dose; dose_mg is
    queried iff it is more than 10 % from it."""
    expected_mg = 300.0 * min(bsa, 2.0)
    queried = fired(dose("cyclophosphamide", None, mg, bsa), _capped(max_bsa_m2=2.0)) != []
    margin = abs(mg - expected_mg) - 0.10 * expected_mg
    if abs(margin) > 1e-6:
        assert queried == (margin > 0)


def test_the_dose_mg_query_says_what_it_was_compared_with() -> None:
    """The dose_mg query names the daily dose in mg for the recorded BSA (mg/m² per day × BSA), never "a dose
    times the BSA" (an earlier text told the site to multiply a dose in mg by the BSA)."""
    record = dose("fludarabine", 30, 510.0, 1.7)
    by_table = {"subject": [subject()], "infusion": [infusion()], record.table: [record]}
    (finding,) = run_edit_checks([SubjectRecords("CT-001", by_table)], REFERENCE, TODAY)  # type: ignore[arg-type]
    text = finding.message
    assert "daily dose in mg for the recorded body_surface_area_m2" in text, text
    assert "mg/m² per day × the body surface area" in text and "times the recorded" not in text
