"""The replay checks the design and design state each decision was recorded with (D-19.1086 to D-19.1090).

Expected counts are hand-derived from the outcome strings: ``1NNN`` is 3 patients at level 1, no DLT;
``2NTN`` then adds 3 patients at level 2 with 1 DLT (Liu & Yuan / Storer notation, docs/escalation.md).
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

from cartrial.errors import InputError
from cartrial.escalation import replay_decisions

SPEC = SimpleNamespace(design="3+3", variant="deescalation", dlt_window_days=28, no_skip=True)
PROTOCOL = SimpleNamespace(escalation=SPEC, dose_levels=[1, 2, 3], expansion=None)
INFUSIONS = pd.DataFrame(
    {
        "subject_id": ["A", "B", "C", "D", "E", "F"],
        "dose_level": [1, 1, 1, 2, 2, 2],
        "infused_at": ["2021-06-01", "2021-06-02", "2021-06-03", "2021-07-10", "2021-07-11", "2021-07-12"],
    }
)


def decisions(design: list[object] | None = None, state: list[object] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "cohort": [1, 2],
            "dose_level": [1, 2],
            "decided_on": ["2021-07-05", "2021-08-15"],
            "outcomes": ["1NNN", "2NTN"],
            "decision": ["escalate", "stay"],  # 3+3: 0/3 escalate, 1/3 stay (expand the level)
        }
    )
    if design is not None:
        frame["design"] = design
    if state is not None:
        frame["design_state"] = state
    return frame


def good_states() -> list[object]:
    return [
        json.dumps({"n_treated": {"1": 3}, "n_dlt": {"1": 0}}),
        json.dumps({"n_treated": {"1": 3, "2": 3}, "n_dlt": {"1": 0, "2": 1}}),
    ]


def test_matching_design_and_state_give_no_remark() -> None:
    table = replay_decisions(decisions(["3+3", "3+3"], good_states()), INFUSIONS, None, PROTOCOL).table
    assert list(table["deviation"]) == ["", ""]
    assert list(table["query"]) == ["", ""]


def test_stored_state_already_read_is_checked_too() -> None:
    # the study database hands the replay its JSON column already read (a dict), as the web page's analysis
    states = [json.loads(s) for s in good_states()]
    states[1]["n_dlt"]["2"] = 0  # the cohort's T letter is not counted in the state
    table = replay_decisions(decisions(None, states), INFUSIONS, None, PROTOCOL).table
    assert table["query"].iloc[0] == ""
    assert "design_state.n_dlt: level 2 disagrees" in table["query"].iloc[1]
    assert "escalation_decisions row 3" in table["query"].iloc[1]


def test_other_design_is_a_located_deviation() -> None:
    table = replay_decisions(decisions(["boin", ""], None), INFUSIONS, None, PROTOCOL).table
    text = table["deviation"].iloc[0]
    assert "row 2, design: the recorded design is not the protocol's (3+3)" in text
    assert "boin" not in text  # value-free
    assert table["deviation"].iloc[1] == ""  # blank: no design recorded, nothing to compare


@pytest.mark.parametrize(
    ("state", "field", "levels"),
    [
        ({"n_treated": {"1": 3, "2": 2}, "n_dlt": {"1": 0, "2": 1}}, "n_treated", "level 2 disagrees"),
        # cumulative: cohort 1's 3 patients at level 1 are part of cohort 2's state
        ({"n_treated": {"2": 3}, "n_dlt": {"2": 1}}, "n_treated", "level 1 disagrees"),
        ({"n_treated": {"1": 3, "2": 3}, "n_dlt": {"1": 1, "2": 0}}, "n_dlt", "levels 1, 2 disagree"),
        (
            {"n_treated": {"1": 3, "2": 3}, "n_dlt": {"1": 0, "2": 1}, "current_dose": 3},
            "current_dose",
            "not",
        ),
    ],
)
def test_state_other_than_replayed_is_a_located_query(state: dict, field: str, levels: str) -> None:
    states = good_states()
    states[1] = json.dumps(state)
    table = replay_decisions(
        decisions(None, states), INFUSIONS, None, PROTOCOL, decisions_file="escalation_decisions.csv"
    ).table
    query = table["query"].iloc[1]
    assert query.startswith(f"escalation_decisions.csv row 3, design_state.{field}: {levels}")
    assert table["query"].iloc[0] == ""


@pytest.mark.parametrize(
    "counts",
    [
        {"0": 3},
        {"4": 3},
        {"one": 3},
        {"1": -1},
        {"1": 1.5},
        {"1": True},
        [3],
        "3",
        # a dose level key is exactly "1".."K" in ASCII digits (D-19.1089): a superscript two is a digit to
        # str.isdigit but no int, a full-width one and "01" are not the key "1"
        {"\u00b2": 3},
        {"\uff11": 3},
        {"01": 3},
        {"1": 0, "01": 3},
    ],
)
def test_malformed_counts_are_a_query_never_a_traceback(counts: object) -> None:
    states = good_states()
    states[0] = json.dumps({"n_treated": counts, "n_dlt": {"1": 0}})
    table = replay_decisions(decisions(None, states), INFUSIONS, None, PROTOCOL).table
    assert "design_state.n_treated: not an object of dose levels" in table["query"].iloc[0]


@pytest.mark.parametrize("cell", ["{not json", '{"a": 1, "a": 2}', "3", '"text"', "[" * 101 + "]" * 101])
def test_unreadable_state_is_refused_as_the_import_refuses_it(cell: str) -> None:
    from cartrial.columns import RowProblems
    from cartrial.store.importing.validation import _parse_json

    states = good_states()
    states[1] = cell
    with pytest.raises(InputError) as caught:
        replay_decisions(decisions(None, states), INFUSIONS, None, PROTOCOL, decisions_file="d.csv")
    (problem,) = caught.value.problems
    imported = RowProblems("d.csv")
    _parse_json(pd.Series(["", cell]), "design_state", False, imported)
    (expected,) = imported.all()
    assert (problem.file, problem.row, problem.field) == ("d.csv", 3, "design_state")
    assert (problem.message, problem.allowed) == (expected.message, expected.allowed)
    assert problem.message.startswith(("not valid JSON", "not a JSON list or object"))


def test_cli_reports_the_state_and_refuses_an_unreadable_one(tmp_path, capsys) -> None:
    from pathlib import Path

    from cartrial.cli import main

    protocol = Path("examples/ct103a-nmosd/protocol.yaml")
    name = "3+3"
    frame = decisions([name, name], good_states())
    frame.loc[1, "design_state"] = json.dumps({"n_treated": {"1": 3, "2": 4}, "n_dlt": {"2": 1}})
    frame.to_csv(tmp_path / "d.csv", index=False)
    INFUSIONS.to_csv(tmp_path / "i.csv", index=False)
    args = [
        "escalate",
        "replay",
        "--decisions",
        str(tmp_path / "d.csv"),
        "--infusions",
        str(tmp_path / "i.csv"),
    ]
    assert main([*args, "--protocol", str(protocol), "--json"]) == 0
    assert "row 3, design_state.n_treated: level 2 disagrees" in capsys.readouterr().out
    frame.loc[0, "design_state"] = "{oops"
    frame.to_csv(tmp_path / "d.csv", index=False)
    assert main([*args, "--protocol", str(protocol)]) == 2
    err = capsys.readouterr().err
    assert "row 2, design_state: not valid JSON" in err and "Traceback" not in err


def test_a_list_state_is_a_query_not_silently_passed() -> None:
    # a JSON list is a readable design_state cell (the import's rule), but holds no state (D-19.1090)
    states = good_states()
    states[1] = json.dumps([{"n_treated": {"1": 3}}])
    table = replay_decisions(decisions(None, states), INFUSIONS, None, PROTOCOL).table
    assert table["query"].iloc[0] == ""
    assert table["query"].iloc[1].startswith("escalation_decisions row 3, design_state: not a JSON object")


def test_a_record_id_column_of_a_file_is_no_stored_record(tmp_path, capsys) -> None:
    # the engine names a row by the caller's row names only (D-19.1089): a CSV with a record_id column is
    # still "<file> row <n>" (row 3: the header is row 1, cohort 2 is the second data row)
    from cartrial.cli import main

    frame = decisions(["3+3", "3+3"], good_states())
    frame.loc[1, "design_state"] = json.dumps({"n_treated": {"1": 3, "2": 4}, "n_dlt": {"2": 1}})
    frame.insert(0, "record_id", [7, 8])
    frame.to_csv(tmp_path / "d.csv", index=False)
    INFUSIONS.to_csv(tmp_path / "i.csv", index=False)
    args = [
        "escalate",
        "replay",
        "--decisions",
        str(tmp_path / "d.csv"),
        "--infusions",
        str(tmp_path / "i.csv"),
    ]
    assert main([*args, "--protocol", "examples/ct103a-nmosd/protocol.yaml", "--json"]) == 0
    out = capsys.readouterr().out
    assert "d.csv row 3, design_state.n_treated: level 2 disagrees" in out
    assert "escalation_decision record" not in out


def test_row_names_name_the_rows() -> None:
    states = good_states()
    states[1] = json.dumps({"n_treated": {"1": 3, "2": 4}, "n_dlt": {"2": 1}})
    names = ["escalation_decision record 7", ""]  # blank: the file's row
    table = replay_decisions(
        decisions(["crm", "crm"], states), INFUSIONS, None, PROTOCOL, row_names=names
    ).table
    assert table["deviation"].iloc[0].startswith("escalation_decision record 7, design:")
    assert "escalation_decisions row 3, design:" in table["deviation"].iloc[1]
    assert table["query"].iloc[1].startswith("escalation_decisions row 3, design_state.n_treated")


BOIN = SimpleNamespace(
    escalation=SimpleNamespace(design="boin", target=0.3, dlt_window_days=28, no_skip=True),
    dose_levels=[1, 2, 3],
    expansion=None,
)
DESIGN_NAMES = (
    "3+3",
    "boin",
    "mtpi2",
    "i3+3",
    "crm",
    "tite-crm",
)  # protocol escalation.design (docs/protocol.md)


def _imported(frame: pd.DataFrame) -> tuple[Any, list]:
    from cartrial.store.importing.forms import FORMS_BY_NAME
    from cartrial.store.importing.validation import FormData, validate_form

    spec = FORMS_BY_NAME["escalation_decisions"]
    return validate_form(FormData(spec, frame, "d.csv", ""), protocol=None, check_keys=False)


def test_design_is_a_choice_of_the_protocol_design_names_for_import_and_replay() -> None:
    # D-19.1086: `design` is a choice of the form; the replay reads it on the same names. A name that is
    # none of them is refused by both at d.csv row 2, design, listing the names (exit 2), never a deviation
    frame = decisions(["B0IN", "boin"], None)
    _, problems = _imported(frame)
    (imported,) = [p for p in problems if p.field == "design"]
    with pytest.raises(InputError) as caught:
        replay_decisions(frame, INFUSIONS, None, BOIN, decisions_file="d.csv")
    (replayed,) = caught.value.problems
    for problem in (imported, replayed):
        assert (problem.file, problem.row, problem.field) == ("d.csv", 2, "design")
        assert all(name in str(problem.allowed) for name in DESIGN_NAMES)


def test_a_design_name_in_another_case_is_the_name_not_a_deviation() -> None:
    # a choice is read whatever its case and stored in its one spelling (the form's rule for every choice):
    # "BOIN" is boin, so under a boin protocol it is no deviation; "CRM", a valid other name, stays one
    frame = decisions(["BOIN", "CRM"], None)
    validated, problems = _imported(frame)
    assert problems == []
    assert validated is not None and validated.columns["design"] == ["boin", "crm"]  # the one spelling
    table = replay_decisions(frame, INFUSIONS, None, BOIN).table
    assert table["deviation"].iloc[0] == ""
    assert "row 3, design: the recorded design is not the protocol's (boin)" in table["deviation"].iloc[1]


def test_cli_refuses_an_unknown_design_name(tmp_path, capsys) -> None:
    from cartrial.cli import main

    decisions(["3+3", "3 + 3"], None).to_csv(tmp_path / "d.csv", index=False)
    INFUSIONS.to_csv(tmp_path / "i.csv", index=False)
    args = [
        "escalate",
        "replay",
        "--decisions",
        str(tmp_path / "d.csv"),
        "--infusions",
        str(tmp_path / "i.csv"),
    ]
    assert main([*args, "--protocol", "examples/ct103a-nmosd/protocol.yaml"]) == 2
    err = capsys.readouterr().err
    assert "row 3, design" in err and "tite-crm" in err and "Traceback" not in err
