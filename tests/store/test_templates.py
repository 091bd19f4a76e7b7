"""The CSV templates shipped in `cartrial.templates` (docs/templates/ in the checkout) against the field rules
they are generated from (decisions §19)."""

from __future__ import annotations

import pytest

from cartrial import templates as cartrial_templates
from cartrial.store.importing.forms import FORMS, FORMS_BY_NAME, field_reference_markdown
from cartrial.tabular import read_csv

TEMPLATES = cartrial_templates.path()


def test_the_field_reference_is_generated_from_the_rules() -> None:
    written = (TEMPLATES / "FIELDS.md").read_text(encoding="utf-8")
    assert written == field_reference_markdown(), (
        "FIELDS.md is out of date: python -m cartrial.store.importing.forms > "
        "src/cartrial/templates/FIELDS.md"
    )


def test_every_form_has_a_template_and_every_template_a_form() -> None:
    assert {p.stem for p in TEMPLATES.glob("*.csv")} == set(FORMS_BY_NAME)


@pytest.mark.parametrize("form", FORMS, ids=lambda f: f.name)
def test_every_template_column_has_a_rule_and_the_required_ones_are_there(form: object) -> None:
    from cartrial.store.importing.forms import FormSpec

    assert isinstance(form, FormSpec)
    header = list(read_csv(TEMPLATES / form.file_name).columns)
    columns = {c.name: c for c in form.columns()}
    assert set(header) <= set(columns), set(header) - set(columns)
    assert all(columns[name].rule is not None for name in header), "a template column without a field rule"
    assert {c.name for c in columns.values() if c.required} <= set(header)


def test_the_edss_template_has_every_column_of_both_methods() -> None:
    """The EDSS form is checked row by row by each row's method (D-19.741): a Neurostatus row needs
    ``ambulation``, a Kurtzke row ``method``, ``assistance`` and ``walking_distance_m``, so its blank template
    carries every required and optional column (D-19.746; before: only the Neurostatus columns). Other
    templates leave out alternative columns (another unit, an optional flag) on purpose."""
    form = FORMS_BY_NAME["edss"]
    header = list(read_csv(TEMPLATES / form.file_name).columns)
    assert [*form.required, *form.optional] == [c for c in header if c in {*form.required, *form.optional}]
    assert set(header) == {*form.required, *form.optional}
