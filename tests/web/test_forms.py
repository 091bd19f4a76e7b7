"""The form registry and its validation (the import's rules, not a copy) and the live preview of the engines.

Oracles: the CSV templates shipped with cartrial (the columns of every form), the percentages' 0-100 range,
the ASTCT 2019 consensus tables (Lee DW et al., Biol Blood Marrow Transplant 2019;25:625-638: CRS grade
1 = fever ≥ 38 °C alone, 2 = fever with hypotension not needing vasopressors, 3 = hypotension needing one
vasopressor; ICE 10 points = orientation 4 + naming 3 + command 1 + writing 1 + attention 1, ICANS
grade 1 = ICE 7-9, 2 = 3-6, 3 = 0-2), Snellen → logMAR = log10(denominator / numerator), and the
Neurostatus EDSS (all functional systems 0 with normal ambulation = EDSS 0).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import templates
from cartrial.web.forms import form, form_names, typed_values, validate
from cartrial.web.preview import preview

FORMS_OF_THE_ISSUE = (
    "subjects",
    "lymphodepletion",
    "infusions",
    "crs_assessments",
    "icans_assessments",
    "therapies",
    "labs",
    "adverse_events",
    "edss",
    "visual_acuity",
    "osis",
    "timed_walk",
    "relapses",
    "pk_samples",
    "pd_samples",
)
FAST = settings(
    max_examples=property_examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def test_every_template_form_with_every_template_column():
    assert set(FORMS_OF_THE_ISSUE) <= set(form_names())
    for name in FORMS_OF_THE_ISSUE:
        with open(Path(templates.path()) / f"{name}.csv", newline="") as handle:
            header = next(csv.reader(handle))
        fields = form(name).field_names
        assert set(header) <= set(fields), (name, set(header) - set(fields))
        described = form(name).describe()
        assert all(
            {"name", "label", "type", "required", "unit", "allowed"} <= set(f) for f in described["fields"]
        )


def test_protocol_dose_levels_are_the_allowed_set():
    from cartrial import examples
    from cartrial.protocol import parse_protocol

    protocol = parse_protocol((examples.path("ct103a-nmosd") / "protocol.yaml").read_text(), "protocol")
    dose = next(f for f in form("infusions").describe(protocol)["fields"] if f["name"] == "dose_level")
    assert dose["choices"] == list(range(1, len(protocol.dose_levels) + 1))
    problems = validate(
        "infusions", {"dose_level": len(protocol.dose_levels) + 1}, protocol=protocol, partial=True
    )
    assert [p.field for p in problems] == ["dose_level"]


@FAST
@given(st.floats(min_value=-1000, max_value=1000, allow_nan=False))
def test_a_percentage_outside_0_100_is_refused_on_its_field(value):
    problems = validate("infusions", {"viability_pct": value}, partial=True)
    if 0 <= value <= 100:
        assert problems == []
    else:
        assert [p.field for p in problems] == ["viability_pct"]
        assert problems[0].allowed and "100" in problems[0].allowed


@FAST
@given(
    st.integers(0, 4),
    st.integers(0, 3),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 1),
    st.integers(0, 10),
)
def test_ice_total_must_equal_the_items(orientation, naming, command, writing, attention, total):
    values = {
        "subject_id": "S1",
        "assessed_at": "2024-01-02T08:00:00Z",
        "ice_orientation": orientation,
        "ice_naming": naming,
        "ice_command": command,
        "ice_writing": writing,
        "ice_attention": attention,
        "ice_total": total,
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "cerebral_edema": "none",
    }
    problems = validate("icans_assessments", values)
    items = orientation + naming + command + writing + attention
    if total == items:
        assert problems == []
    else:
        assert any(p.field == "ice_total" for p in problems), problems


def test_same_messages_as_the_import(tmp_path):
    """The form's problems are the import's: a one-row CSV with the same values, dry-run imported."""
    from cartrial import examples
    from cartrial.errors import InputError
    from cartrial.store import init_study
    from cartrial.store.importing import import_templates

    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
    row = {"subject_id": "S1", "site_id": "TJH", "consent_date": "2021-02-30", "sex": "X", "weight_kg": "-3"}
    folder = tmp_path / "upload"
    folder.mkdir()
    with open(folder / "subjects.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
    with pytest.raises(InputError) as raised:
        import_templates(url, folder, "admin", dry_run=True)
    imported = {(p.field, p.message) for p in raised.value.problems if p.field in row}
    from_form = {(p.field, p.message) for p in validate("subjects", row)}
    assert {"consent_date", "sex", "weight_kg"} <= {field for field, _ in from_form}
    assert {m for m in from_form if m[0] in {"consent_date", "sex", "weight_kg"}} == {
        m for m in imported if m[0] in {"consent_date", "sex", "weight_kg"}
    }


def test_typed_values_parse_like_the_import():
    typed = typed_values(
        "crs_assessments",
        {"temperature_c": " 38.5 ", "hypotension": "yes", "vasopressors": "1", "assessed_at": "2024-01-02"},
    )
    assert typed["temperature_c"] == 38.5 and typed["hypotension"] is True and typed["vasopressors"] == 1
    assert typed["assessed_at"].isoformat().startswith("2024-01-02T00:00:00")


CRS_BASE = {
    "subject_id": "S1",
    "assessed_at": "2024-01-02T08:00:00Z",
    "fever_masked": "false",
    "hypotension": "false",
    "vasopressors": "0",
    "vasopressin": "false",
    "oxygen": "none",
}


@FAST
@given(st.floats(min_value=38.0, max_value=42.0).map(lambda t: round(t, 1)))
def test_crs_preview_fever_alone_is_grade_1(temperature):
    result = preview("crs_assessments", {**CRS_BASE, "temperature_c": temperature})
    assert result is not None and result["problems"] == []
    assert result["result"]["grade"] == 1
    assert result["result"]["grade_reason"]


def test_crs_preview_hypotension_grades():
    with_hypotension = {**CRS_BASE, "temperature_c": 39.0, "hypotension": "true"}
    assert preview("crs_assessments", with_hypotension)["result"]["grade"] == 2
    one_pressor = {**with_hypotension, "vasopressors": "1"}
    assert preview("crs_assessments", one_pressor)["result"]["grade"] == 3
    incomplete = preview("crs_assessments", {"temperature_c": 39.0})
    assert incomplete["result"] is None and incomplete["problems"]


@pytest.mark.parametrize(
    ("ice", "grade"),
    [((4, 3, 1, 1, 1), 0), ((4, 3, 0, 0, 0), 1), ((4, 2, 0, 0, 0), 2), ((2, 0, 0, 0, 0), 3)],
)
def test_icans_preview_grade_from_ice(ice, grade):
    names = ("ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_attention")
    values = {
        "subject_id": "S1",
        "assessed_at": "2024-01-02T08:00:00Z",
        **dict(zip(names, ice, strict=True)),
        "consciousness": "alert",
        "seizure": "none",
        "motor": "none",
        "cerebral_edema": "none",
    }
    result = preview("icans_assessments", values)
    assert result["problems"] == [], result
    assert result["result"]["ice_score"] == sum(ice)
    assert result["result"]["grade"] == grade


@FAST
@given(st.sampled_from([20, 25, 30, 40, 50, 60, 70, 80, 100, 200, 400]))
def test_visual_acuity_preview_logmar_from_snellen(denominator):
    values = {"subject_id": "S1", "assessed_at": "2024-01-02", "eye": "OD", "acuity": f"20/{denominator}"}
    result = preview("visual_acuity", values)
    assert result["problems"] == []
    assert math.isclose(result["result"]["logmar"], math.log10(denominator / 20), abs_tol=0.0015)
    # the Snellen equivalent is shown too (the engine's column is `snellen_20`; the preview asked for a
    # column no engine writes, so it was never shown)
    assert result["result"]["snellen_20"] == f"20/{denominator}"


def test_edss_preview():
    systems = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")
    normal = {"subject_id": "S1", "assessed_at": "2024-01-02", **dict.fromkeys(systems, 0), "ambulation": 0}
    result = preview("edss", normal)
    assert result["problems"] == [] and result["result"]["edss"] == 0.0
    assert result["result"]["edss_rule"]
    assert preview("labs", {}) is None


@pytest.mark.parametrize(
    ("form_name", "values"),
    [
        ("crs_assessments", {**CRS_BASE, "temperature_c": 39.0}),
        ("visual_acuity", {"subject_id": "S1", "assessed_at": "2024-01-02", "eye": "OD", "acuity": "20/40"}),
    ],
)
def test_every_preview_result_has_a_label_in_the_clinic_s_words(form_name, values):
    """The engine panel showed the result's column names ("temperature c used", "snellen 20ft",
    "visual fs from acuity"); each is labelled, with its unit, as the form's fields are (D-19.173,
    D-19.199)."""
    from cartrial.web.preview import RESULT_LABELS

    result = preview(form_name, values)
    assert result["problems"] == [] and result["result"]
    assert set(result["result"]) <= set(RESULT_LABELS)
    assert RESULT_LABELS["temperature_c_used"] == "Temperature used (°C)"
