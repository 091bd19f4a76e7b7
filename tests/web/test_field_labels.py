"""The labels of the data-entry fields and the titles of the form pages (D-19.173): each label names the
field in the words of the clinic (acronyms as written: CRS, ICANS, ICE, DLT, MedDRA, AQP4-IgG, CD19, FiO2,
LLOQ …) and its unit as the field rule states it, once, in brackets. Before, `cells_per_kg` was labelled
"Cells per (kg)" (a weight unit for a cell dose), `systolic_bp_mmhg` "Systolic bp mmhg", `dlt` "Dlt" and
the CRS form page was titled "Crs assessments"."""

from __future__ import annotations

import re

import pytest

from cartrial.web.forms import form, form_names, form_title

LOWERCASE_ACRONYMS = re.compile(
    r"\b(crs|icans|ice|dlt|meddra|aqp4|igg|iga|igm|cd19|bcma|fio2|lln|uln|lloq|blq|bp|id|car t|ul|mmhg|ug)\b"
)


@pytest.mark.parametrize("name", form_names())
def test_every_label_writes_acronyms_and_its_unit_as_the_clinic_does(name):
    for field in form(name).fields:
        rule = field.rule.as_dict(None)
        label = field.label
        assert label[0].isupper(), label
        assert not LOWERCASE_ACRONYMS.search(label), (rule["name"], label)
        unit = rule.get("unit")
        if unit:
            assert label.endswith(f"({unit})"), (rule["name"], label, unit)
            assert label.count("(") == 1, label


@pytest.mark.parametrize(
    ("name", "field", "label"),
    [  # by hand: the words of the field with its rule's unit (FIELDS.md)
        ("infusions", "cells_per_kg", "Cells (CAR+ cells/kg)"),
        ("infusions", "total_car_t_cells", "Total CAR-T cells (CAR+ cells)"),
        ("crs_assessments", "systolic_bp_mmhg", "Systolic BP (mmHg)"),
        ("crs_assessments", "temperature_c", "Temperature (°C)"),
        ("crs_assessments", "fio2_pct", "FiO2 (%)"),
        ("crs_assessments", "dopamine_ug_kg_min", "Dopamine (µg/kg/min)"),
        ("adverse_events", "dlt", "DLT"),
        ("adverse_events", "meddra_code", "MedDRA code"),
        ("subjects", "subject_id", "Subject ID"),
        ("pd_samples", "cd19_b_cells_per_ul", "CD19 B cells (cells/µL)"),
        ("lymphodepletion", "dose_mg_per_m2", "Dose (mg/m²)"),
        ("icans_assessments", "ice_total", "ICE total"),
        # the ICH E2A criteria in their words, not "Serious death" (D-19.332)
        ("adverse_events", "serious_death", "Serious: results in death"),
        ("adverse_events", "serious_hospitalisation", "Serious: hospitalisation (new or prolonged)"),
        ("adverse_events", "serious_medically_important", "Serious: other medically important event"),
    ],
)
def test_labels_by_hand(name, field, label):
    labels = {f.rule.as_dict(None)["name"]: f.label for f in form(name).fields}
    assert labels[field] == label


def test_form_titles():
    assert form_title("crs_assessments") == "CRS assessments"
    assert form_title("icans_assessments") == "ICANS assessments"
    assert form_title("pk_samples") == "PK samples"
    assert form_title("edss") == "EDSS"
    assert form_title("adverse_events") == "Adverse events"
