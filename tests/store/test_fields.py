"""The field-rule registry (`cartrial.store.fields`): one rule per field, applied the same way everywhere.

Requirements: decisions §19 (the same field rules — types, units, ranges, enumerations, protocol-derived sets
—
for import, edit, web forms and API, declared once; templates generated from or tested against them).
Property tests: for every field of every form, hypothesis draws values inside the rule (accepted) and
values outside it (refused with the field named); never an exception.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples as cartrial_examples
from cartrial.errors import Problem
from cartrial.protocol.model import load_protocol
from cartrial.store.fields import (
    CONTROL_CHARACTERS,
    FieldKind,
    FieldRule,
    KeyText,
    ProtocolSet,
    all_field_rules,
    field_rules,
    key_text_fault,
    validate_record,
)
from cartrial.store.importing.forms import FORMS

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = load_protocol(cartrial_examples.path("ct103a-nmosd") / "protocol.yaml")
N_LEVELS = len(PROTOCOL.dose_levels)

FORM_FIELDS = [
    (table, name) for table, rules in all_field_rules().items() for name in rules if name != "subject_id"
]
"""Every (table, field) of the study database (the subject code is free text checked against the store)."""

TITRES = ["negative", "1:10", "1:32", "1:100", "1:320", "1:1000", "1:3200", "1:10000"]
SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " -_", min_size=1, max_size=20).filter(
    lambda t: t.strip() != ""
)


def _bounded(rule: FieldRule, default_low: float, default_high: float) -> tuple[float, float]:
    low = rule.minimum if rule.minimum is not None else default_low
    high = rule.maximum if rule.maximum is not None else default_high
    return low, high


def valid_values(rule: FieldRule) -> st.SearchStrategy[object]:
    """Values that satisfy `rule` (typed as a form or notebook would give them)."""
    if rule.protocol_set is ProtocolSet.DOSE_LEVEL:
        return st.integers(1, N_LEVELS)
    if rule.protocol_set is ProtocolSet.AQP4_TITRE:
        return st.sampled_from(TITRES)
    if rule.choices is not None:
        return st.sampled_from(rule.choices)
    if rule.pattern is not None:
        return st.from_regex(rule.pattern, fullmatch=True).filter(
            lambda t: (
                t == t.strip()
                and (rule.max_length is None or len(t) <= rule.max_length)
                and not re.search(CONTROL_CHARACTERS, t)
            )  # `\s` of a pattern matches \x1c-\x1f too
        )
    if rule.kind is FieldKind.INTEGER:
        low, high = _bounded(rule, -1000, 1000)
        return st.integers(math.ceil(low), math.floor(high))
    if rule.kind is FieldKind.NUMBER:
        low, high = _bounded(rule, -1e6, 1e6)
        return st.floats(low, high, exclude_min=rule.exclusive_minimum, allow_nan=False, allow_infinity=False)
    if rule.kind is FieldKind.BOOLEAN:
        return st.booleans()
    if rule.kind is FieldKind.DATE:
        return st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31))
    if rule.kind is FieldKind.DATETIME:
        return st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 12, 31), timezones=st.just(dt.UTC))
    if rule.kind is FieldKind.JSON:
        return st.lists(st.fixed_dictionaries({"drug": SAFE_TEXT}), max_size=3)
    return SAFE_TEXT.map(lambda t: t[: rule.max_length] if rule.max_length else t).filter(
        lambda t: t.strip() != "" and (rule.key is None or key_text_fault(t, rule.key) is None)  # D-19.420
    )


def invalid_values(rule: FieldRule) -> st.SearchStrategy[object] | None:
    """Values that break `rule` (None when the rule accepts any text)."""
    options: list[st.SearchStrategy[object]] = []
    if rule.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
        options.append(st.sampled_from(["abc", "1,5", float("nan"), float("inf"), "12 kg"]))
        if rule.maximum is not None:
            options.append(st.floats(rule.maximum + 1, rule.maximum + 1e6))
        if rule.minimum is not None:
            options.append(st.floats(rule.minimum - 1e6, rule.minimum - 1))
        if rule.protocol_set is ProtocolSet.DOSE_LEVEL:
            options.append(st.integers(N_LEVELS + 1, 50))
        if rule.kind is FieldKind.INTEGER:
            low, high = _bounded(rule, -1000, 1000)
            options.append(st.just((low + high) / 2 + 0.25) if high - low >= 1 else st.just("x"))
    elif rule.kind is FieldKind.BOOLEAN:
        options.append(st.sampled_from(["maybe", "2", "ja"]))
    elif rule.kind is FieldKind.DATE:
        options.append(st.sampled_from(["2021-13-01", "01/02/2021", "yesterday", "2021-02-30"]))
    elif rule.kind is FieldKind.DATETIME:
        options.append(
            st.sampled_from(["2021-06-01T08:30:00", "2021-06-01 08:30", "noon", "2021-06-31T00:00Z"])
        )
        options.append(st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2030, 12, 31)))  # naive
    elif rule.kind is FieldKind.JSON:
        options.append(st.sampled_from(["{not json", "[1, 2", "42", '"text"']))
    elif rule.protocol_set is ProtocolSet.AQP4_TITRE:
        options.append(st.sampled_from(["1:50", "1:640", "high", "1:0"]))
    elif rule.choices is not None:
        options.append(SAFE_TEXT.filter(lambda t: t.strip().lower() not in {c.lower() for c in rule.choices}))
    elif rule.pattern is not None:
        options.append(st.sampled_from(["??", "N1", "abc"]))
    elif rule.max_length is not None:
        options.append(st.text(alphabet="x", min_size=rule.max_length + 1, max_size=rule.max_length + 5))
    if rule.kind is FieldKind.TEXT and rule.choices is None and rule.pattern is None:
        options.append(st.sampled_from(["\x00", "\x07", "\x1b", "\x7f", "\x93"]).map(lambda c: f"a{c}b"))
    if rule.key is KeyText.IDENTIFIER:  # an invisible or look-alike character in an identifier (D-19.420)
        options.append(
            st.sampled_from(["\u200b", "\u202e", "\u00a0", "\ufeff", "\uff21"]).map(lambda c: f"a{c}b")
        )
    elif rule.key is KeyText.TYPED:  # one that hides a difference in a typed matching text (D-19.425)
        options.append(st.sampled_from(["\u200b", "\u202e", "\u2066", "\ufeff"]).map(lambda c: f"a{c}b"))
    return st.one_of(options) if options else None


SINGLE_FIELD_RECORD_RULES: dict[tuple[str, str], st.SearchStrategy[object]] = {
    # a record rule reading only this field runs in the partial (live) check too (D-19.705): its valid
    # values are the ones that rule accepts, not any text the field rule accepts
    ("site", "country"): st.sampled_from(["China", "CN", "CHN", "Germany", "United States"]),
    ("site", "time_zone"): st.sampled_from(["Asia/Shanghai", "UTC", "America/New_York", "Europe/Berlin"]),
}


def _named(problems: list[Problem], field: str) -> bool:
    return any(p.field == field for p in problems)


@pytest.mark.parametrize(("table", "field"), FORM_FIELDS)
@settings(max_examples=property_examples(15), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_field_accepts_its_valid_values_and_refuses_others_naming_the_field(
    table: str, field: str, data: st.DataObject
) -> None:
    rule = field_rules(table)[field]
    good = data.draw(SINGLE_FIELD_RECORD_RULES.get((table, field), valid_values(rule)), label="valid")
    assert validate_record(table, {field: good}, protocol=PROTOCOL, partial=True) == []
    bad_strategy = invalid_values(rule)
    if bad_strategy is None:
        return
    bad = data.draw(bad_strategy, label="invalid")
    problems = validate_record(table, {field: bad}, protocol=PROTOCOL, partial=True)
    assert _named(problems, field), (bad, problems)
    assert all(p.allowed for p in problems)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    table=st.sampled_from(sorted(all_field_rules())),
    values=st.dictionaries(
        st.text(min_size=1, max_size=12),
        st.one_of(st.none(), st.text(max_size=30), st.integers(), st.floats(), st.booleans()),
        max_size=4,
    ),
)
def test_arbitrary_values_never_raise(table: str, values: dict[str, object]) -> None:
    """Any mapping of any values gives problems, never an exception (partial and whole-record)."""
    for partial in (True, False):
        problems = validate_record(table, values, protocol=PROTOCOL, partial=partial)
        assert all(isinstance(p, Problem) for p in problems)


@pytest.mark.parametrize(
    ("table", "values", "field"),
    [
        ("infusion", {"viability_pct": 150}, "viability_pct"),
        ("infusion", {"weight_kg": 58000}, "weight_kg"),
        ("infusion", {"weight_kg": -5}, "weight_kg"),
        ("infusion", {"dose_level": 9}, "dose_level"),
        ("infusion", {"viability_pct": float("nan")}, "viability_pct"),
        ("crs_assessment", {"temperature_c": 101.3}, "temperature_c"),
        ("crs_assessment", {"oxygen": "helmet"}, "oxygen"),
        ("edss_assessment", {"ambulation": 17}, "ambulation"),
        ("subject", {"birth_year": 1800}, "birth_year"),
        ("subject", {"sex": "X"}, "sex"),
        ("subject", {"aqp4_igg_titre": "1:50"}, "aqp4_igg_titre"),
        ("pk_sample", {"value": -3.0}, "value"),
        ("crs_assessment", {"assessed_at": "2021-06-01T10:00:00"}, "assessed_at"),
    ],
)
def test_the_values_db_edit_used_to_store_are_refused(
    table: str, values: dict[str, object], field: str
) -> None:
    """Decisions §19: each value `db edit` stored silently is refused with the field named."""
    problems = validate_record(table, values, protocol=PROTOCOL, partial=True)
    assert [p.field for p in problems] == [field]
    assert problems[0].allowed


def test_dose_levels_come_from_the_protocol() -> None:
    """The allowed set is the protocol's levels (2 in the reference protocol), not a fixed range."""
    assert N_LEVELS == 2
    assert validate_record("infusion", {"dose_level": N_LEVELS}, protocol=PROTOCOL, partial=True) == []
    problems = validate_record("infusion", {"dose_level": N_LEVELS + 1}, protocol=PROTOCOL, partial=True)
    assert problems and problems[0].allowed == "a dose level of the protocol: 1 | 2"


def test_rules_between_fields_of_one_record() -> None:
    """An AE that ends before it starts; a birth year after consent (whole-record check)."""
    ae = {
        "subject_id": "CT-001",
        "term": "Fever",
        "started_on": dt.date(2021, 6, 5),
        "ended_on": dt.date(2021, 6, 4),
        "grade": 1,
    }
    assert [p.field for p in validate_record("adverse_event", ae, protocol=PROTOCOL)] == ["ended_on"]
    assert validate_record("adverse_event", {**ae, "ended_on": dt.date(2021, 6, 5)}, protocol=PROTOCOL) == []
    subject = {
        "subject_id": "CT-001",
        "site_id": "TJH",
        "consent_date": dt.date(2021, 5, 6),
        "birth_year": 2022,
    }
    assert [p.field for p in validate_record("subject", subject, protocol=PROTOCOL)] == ["birth_year"]


def test_whole_record_runs_the_engine_validator() -> None:
    """The grading engine's CRS form rules apply to one record as to a file (vasopressors need
    hypotension)."""
    crs = {
        "subject_id": "CT-001",
        "assessed_at": "2021-06-04T10:00:00Z",
        "temperature_c": 38.9,
        "fever_masked": False,
        "hypotension": False,
        "vasopressors": 1,
        "vasopressin": False,
        "oxygen": "none",
        "oxygen_l_min": 0,
    }
    problems = validate_record("crs_assessment", crs, protocol=PROTOCOL)
    assert [p.field for p in problems] == ["vasopressors"]
    assert validate_record("crs_assessment", {**crs, "vasopressors": 0}, protocol=PROTOCOL) == []


def test_every_rule_says_what_is_allowed() -> None:
    for table, rules in all_field_rules().items():
        for name, rule in rules.items():
            assert rule.allowed(PROTOCOL), (table, name)
            assert rule.source, (table, name)


CELL = st.one_of(
    st.sampled_from(["", "1", "-5", "1e309", "nan", "true", "2021-06-01", "2021-06-01T08:00:00Z", "1:320"]),
    st.text(max_size=12),
)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
@settings(max_examples=property_examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_cells_in_any_form_give_located_problems_never_an_exception(
    form: object, data: st.DataObject
) -> None:
    """The frame path of the import (`validate_form`): hypothesis-generated cells for every column of a
    form, several rows; whatever they are, the result is typed rows or located problems."""
    import pandas as pd

    from cartrial.store.importing.forms import FormSpec
    from cartrial.store.importing.validation import FormData, validate_form

    assert isinstance(form, FormSpec)
    names = [c.name for c in form.columns() if c.table_column is not None]
    n_rows = data.draw(st.integers(1, 3), label="rows")
    frame = pd.DataFrame(
        {name: data.draw(st.lists(CELL, min_size=n_rows, max_size=n_rows), label=name) for name in names},
        dtype=object,
    )
    validated, problems = validate_form(FormData(form, frame, "form.csv", "0" * 64), protocol=PROTOCOL)
    assert (validated is None) == bool(problems)
    for problem in problems:
        assert problem.file == "form.csv"
        assert problem.row is None or 2 <= problem.row <= n_rows + 1


def test_a_rule_as_data_for_web_forms() -> None:
    """The dose-level choices are the protocol's (2 levels), the titre grid the assay's."""
    level = field_rules("infusion")["dose_level"].as_dict(PROTOCOL)
    assert level["choices"] == [1, 2] and level["type"] == "integer" and level["required"] is True
    titre = field_rules("pd_sample")["aqp4_igg_titre"].as_dict()
    assert titre["choices"][:3] == ["negative", "1:10", "1:32"]
    viability = field_rules("infusion")["viability_pct"].as_dict()
    assert (viability["minimum"], viability["maximum"], viability["unit"]) == (0, 100, "%")


@given(data=st.data())
@settings(max_examples=property_examples(60), deadline=None)
def test_a_known_name_in_any_case_is_written_in_its_one_spelling(data: st.DataObject) -> None:
    """The single-record parser (web forms, API, `db edit`) stores a known lab test or PK analyte
    (`cartrial.protocol.lab_tests`) in the dictionary's spelling, whatever the case typed, as the import
    does; a name that is not known but for case is kept as typed."""
    from cartrial.protocol.lab_tests import LAB_TESTS, PK_ANALYTES
    from cartrial.store.fields import typed_record_values

    table, names = data.draw(st.sampled_from([("lab_result", LAB_TESTS), ("pk_sample", PK_ANALYTES)]))
    name = data.draw(st.sampled_from(sorted(names)))
    typed = "".join(c.upper() if data.draw(st.booleans()) else c for c in name)
    assert typed_record_values(table, {"analyte": f" {typed} "}) == {"analyte": name}
    assert typed_record_values(table, {"analyte": typed + "x"}) == {"analyte": typed + "x"}
    rule = field_rules(table)["analyte"]
    assert rule.known_values == tuple(names) and name in rule.allowed()


def test_the_graded_analytes_and_the_kinetic_template_analytes_are_in_the_dictionary() -> None:
    """One dictionary: every analyte the CTCAE grading grades and every PK analyte of the templates has
    its spelling (and CDISC code) in `cartrial.protocol.lab_tests`."""
    from cartrial.grading import ANALYTES
    from cartrial.kinetics.templates import PK_ANALYTE_UNITS
    from cartrial.protocol.lab_tests import LAB_TESTS, PK_ANALYTES

    assert {a.value for a in ANALYTES} <= set(LAB_TESTS)
    assert set(PK_ANALYTE_UNITS) == set(PK_ANALYTES)
