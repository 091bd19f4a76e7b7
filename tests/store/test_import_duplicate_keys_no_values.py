"""A natural key repeated in an import form is named by its rows and key fields, never by the key's values
(D-12.2): the problem carried the subject id and the moment ("(got 'CT-001 / 2024-…')")."""

from __future__ import annotations

import pandas as pd

from cartrial import templates as cartrial_templates
from cartrial.store.importing.forms import FORMS_BY_NAME
from cartrial.store.importing.validation import FormData, validate_form
from cartrial.tabular import read_csv


def test_a_repeated_key_names_rows_and_fields_only() -> None:
    spec = FORMS_BY_NAME["pd_samples"]
    frame = read_csv(cartrial_templates.path() / "pd_samples.csv")
    repeated = pd.concat([frame.iloc[[0]], frame.iloc[[0]]], ignore_index=True)
    _, problems = validate_form(FormData(spec, repeated, "pd.csv", ""))
    [duplicate] = [p for p in problems if "already appears on row 2" in p.message]
    assert duplicate.row == 3 and duplicate.value is None, duplicate
    subject = str(frame["subject_id"].iloc[0])
    assert subject not in str(duplicate), duplicate
