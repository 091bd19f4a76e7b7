"""The allowed text of a JSON field gives an example of that field's own content (D-19.252): the subjects
form's relapse history showed a treatment example (`{"drug": "rituximab", ...}`) beside it — what a site
entering an attack history copies — while the MH export reads `onset_date` and `phenotype` from each item."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples
from cartrial.errors import InputError
from cartrial.store.fields import field_rules
from cartrial.store.importing import import_templates

from .conftest import empty_sqlite_copy


def _example(allowed: str) -> object:
    return json.loads(allowed.split("e.g. ", 1)[1])


def test_each_json_field_shows_an_example_of_its_own_items() -> None:
    relapses = field_rules("subject")["relapse_history"].allowed()
    item = _example(relapses)[0]  # type: ignore[index]
    assert set(item) == {"onset_date", "phenotype"} and "rituximab" not in relapses
    treatments = field_rules("subject")["treatment_history"].allowed()
    assert "drug" in _example(treatments)[0]  # type: ignore[index]
    state = _example(field_rules("escalation_decision")["design_state"].allowed())
    assert isinstance(state, dict) and set(state) == {"n_treated", "n_dlt"}


def test_the_import_refusal_shows_the_same_example(tmp_path: Path, empty_sqlite_template: Path) -> None:
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    folder = tmp_path / "study"
    folder.mkdir()
    for name in ("sites", "subjects"):
        shutil.copyfile(examples.path("ct103a-nmosd") / "study" / f"{name}.csv", folder / f"{name}.csv")
    subjects = pd.read_csv(folder / "subjects.csv", dtype=str, keep_default_na=False)
    subjects["relapse_history"] = ["[{onset: 2019}" if i == 0 else "" for i in range(len(subjects))]
    subjects.to_csv(folder / "subjects.csv", index=False)
    with pytest.raises(InputError) as refused:
        import_templates(url, folder, "admin")
    (problem,) = refused.value.problems
    assert problem.allowed == field_rules("subject")["relapse_history"].allowed()
