"""The committee-reason rule of the single write (D-19.724) on the CSV import (D-19.834). Verified
2026-12-07 before the change: an imported ``escalation_decisions.csv`` row whose ``decision`` differs from
its ``design_state``'s ``design_decision`` was stored with no, a blank or an invisible
``committee_reason`` (the import's bulk path skips the single write's row checks). The rule applies to new
or changed rows only: a re-import of an exported study whose older decisions (stored before the rule)
are unchanged still imports. Both backends: the store's JSON column differs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from cartrial.errors import InputError
from cartrial.store import StudyService, connect
from cartrial.store.importing import import_templates
from cartrial.store.models import STUDY_TABLES

HEADER = "cohort,dose_level,decided_on,outcomes,design,design_state,decision,approved_by"
SECRET = "kept-secret-reason-text"


def _state(design: str, reason: str | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"n_treated": {"1": 3}, "n_dlt": {"1": 0}, "design_decision": design}
    if reason is not None:
        state["committee_reason"] = reason
    return state


def _cell(state: dict[str, Any]) -> str:
    return '"' + json.dumps(state).replace('"', '""') + '"'


def _row(cohort: int, decision: str, state: dict[str, Any]) -> str:
    return f"{cohort},1,2021-07-0{cohort},{cohort}NNN,3+3,{_cell(state)},{decision},safety review committee"


def _folder(tmp_path: Path, name: str, *rows: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "escalation_decisions.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def db_url(password_study_url: str) -> str:
    """The initialised study of the reference protocol whose admin has the test password
    (`init_password_study`), each test's own copy of the session template (tests/store/conftest.py)."""
    return password_study_url


def _study(db_url: str) -> StudyService:
    return StudyService(connect(db_url))


def _decisions(service: StudyService) -> list[tuple[int, str]]:
    return sorted((r["cohort"], r["decision"]) for r in service.find_records("admin", "escalation_decision"))


@pytest.mark.parametrize("reason", [None, "   ", "\u2060\u00a0"], ids=repr)
@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize("stream_bytes", [None, 100], ids=["whole", "streamed"])
def test_a_new_decision_other_than_the_designs_needs_a_visible_reason(
    db_url: str, tmp_path: Path, reason: str | None, dry_run: bool, stream_bytes: int | None
) -> None:
    service = _study(db_url)
    folder = _folder(
        tmp_path, "in", _row(1, "escalate", _state("escalate")), _row(2, "escalate", _state("stay", reason))
    )
    with pytest.raises(InputError) as refused:
        import_templates(db_url, folder, "admin", dry_run=dry_run, stream_bytes=stream_bytes)
    (problem,) = refused.value.problems
    assert (problem.file, problem.row, problem.field) == (
        str(folder / "escalation_decisions.csv"),
        3,
        "design_state.committee_reason",
    )
    assert problem.value is None
    assert "reason is required" in problem.message
    assert "nothing was written" in str(refused.value)
    assert _decisions(service) == []  # the whole import refused, the valid row 2 too


def test_a_new_decision_with_a_visible_reason_is_imported(db_url: str, tmp_path: Path) -> None:
    service = _study(db_url)
    folder = _folder(tmp_path, "in", _row(1, "escalate", _state("stay", "all three patients well")))
    import_templates(db_url, folder, "admin")
    assert _decisions(service) == [(1, "escalate")]


def _stored_before_the_rule(db_url: str, tmp_path: Path, service: StudyService) -> dict[str, Any]:
    """A decision other than the design's with no reason, as a study stored before the rule holds it (the
    reason taken away directly in the database); returns its design state."""
    import_templates(db_url, _folder(tmp_path, "first", _row(1, "escalate", _state("stay", SECRET))), "admin")
    table = STUDY_TABLES["escalation_decision"].__table__  # type: ignore[attr-defined]
    with connect(db_url).begin() as connection:
        connection.execute(update(table).values(design_state=_state("stay")))
    (stored,) = service.find_records("admin", "escalation_decision")
    assert "committee_reason" not in stored["design_state"]
    return dict(stored["design_state"])


def test_a_reimport_restating_an_older_decision_unchanged_still_imports(db_url: str, tmp_path: Path) -> None:
    service = _study(db_url)
    state = _stored_before_the_rule(db_url, tmp_path, service)
    # the study exported as it is stored (the older decision restated), with a new decision of the design's
    folder = _folder(tmp_path, "again", _row(1, "escalate", state), _row(2, "stay", _state("stay")))
    import_templates(db_url, folder, "admin")
    assert _decisions(service) == [(1, "escalate"), (2, "stay")]


PATHS = ["import", "upsert_rows", "update_record"]
BASE = {"cohort": 1, "dose_level": 1, "decided_on": "2021-07-01", "outcomes": "1NNN"}


def _write(path: str, db_url: str, folder: Path, service: StudyService, row: dict[str, Any]) -> None:
    """`row` (cohort 1's columns) written by the import, `Transaction.upsert_rows` or `update_record`."""
    if path == "import":
        folder.mkdir()
        cells = ["" if v is None else _cell(v) if isinstance(v, dict) else str(v) for v in row.values()]
        text = ",".join(row) + "\n" + ",".join(cells) + "\n"
        (folder / "escalation_decisions.csv").write_text(text, encoding="utf-8")
        import_templates(db_url, folder, "admin")
    elif path == "upsert_rows":
        with service.transaction("admin", "test", reason="corrected") as tx:
            tx.upsert_rows("escalation_decision", [row])
    else:
        (stored,) = service.find_records("admin", "escalation_decision")
        changes = {k: v for k, v in row.items() if k != "cohort"}
        service.update_record(
            "admin", "escalation_decision", int(stored["id"]), changes, int(stored["version"]), "corrected"
        )


@pytest.mark.parametrize("path", PATHS)
def test_changing_only_the_approver_of_an_older_decision_is_not_judged(
    db_url: str, tmp_path: Path, path: str
) -> None:
    """Changed by design (D-19.834 amended): a row changing only the approver (or outcomes, or date) of a
    stored decision with no reason was refused by the import and `Transaction.upsert_rows` (every changed
    row judged) but accepted by `update_record` (judged only when the decision or design state changes).
    Every path now judges as the single write: a new row, or a changed decision or design state."""
    service = _study(db_url)
    _stored_before_the_rule(db_url, tmp_path, service)
    row = {"cohort": 1, "dose_level": 1, "decided_on": "2021-07-01", "outcomes": "1NNN"}
    _write(
        path, db_url, tmp_path / "changed", service, {**row, "decision": "escalate", "approved_by": "DSMB"}
    )
    (stored,) = service.find_records("admin", "escalation_decision")
    assert (stored["approved_by"], stored["decision"]) == ("DSMB", "escalate")


@pytest.mark.parametrize("path", PATHS)
def test_changing_the_decision_of_an_older_decision_is_judged(db_url: str, tmp_path: Path, path: str) -> None:
    """Pre-existing behaviour, every path: a changed decision is judged with the stored record applied."""
    service = _study(db_url)
    _stored_before_the_rule(db_url, tmp_path, service)  # decision escalate, design stay, no reason
    with pytest.raises(InputError) as refused:
        _write(path, db_url, tmp_path / "changed", service, {**BASE, "decision": "de-escalate"})
    assert [p.field.endswith("design_state.committee_reason") for p in refused.value.problems] == [True]
    assert SECRET not in str(refused.value)
    assert _decisions(service) == [(1, "escalate")]


def _stored_stay(db_url: str, tmp_path: Path, service: StudyService) -> None:
    """Cohort 1 stored as the design's recommendation (stay), no reason needed."""
    import_templates(db_url, _folder(tmp_path, "first", _row(1, "stay", _state("stay"))), "admin")


@pytest.mark.parametrize("cleared", [None, {}, {"n_treated": {"1": 3}}], ids=["null", "empty", "no-design"])
@pytest.mark.parametrize("path", PATHS)
def test_clearing_the_design_state_while_changing_the_decision_is_judged_against_the_stored_one(
    db_url: str, tmp_path: Path, path: str, cleared: dict[str, Any] | None
) -> None:
    """D-19.839. Verified 2026-12-07 before the change: a write changing the decision away from the stored
    design recommendation and clearing ``design_state`` in the same write was stored with no reason on
    every path (judged with no recommendation)."""
    service = _study(db_url)
    _stored_stay(db_url, tmp_path, service)
    with pytest.raises(InputError) as refused:
        _write(
            path,
            db_url,
            tmp_path / "changed",
            service,
            {**BASE, "decision": "escalate", "design_state": cleared},
        )
    assert [p.field.endswith("design_state.committee_reason") for p in refused.value.problems] == [True]
    (stored,) = service.find_records("admin", "escalation_decision")
    assert (stored["decision"], stored["design_state"]) == ("stay", _state("stay"))


@pytest.mark.parametrize("path", PATHS)
def test_clearing_the_design_state_with_a_reason_or_to_the_designs_decision_is_written(
    db_url: str, tmp_path: Path, path: str
) -> None:
    """D-19.839: the reason given in the written state satisfies the rule; a decision back to the stored
    recommendation needs none."""
    service = _study(db_url)
    import_templates(db_url, _folder(tmp_path, "first", _row(1, "escalate", _state("stay", SECRET))), "admin")
    reason = {"committee_reason": "all three patients well"}
    _write(
        path,
        db_url,
        tmp_path / "a",
        service,
        {**BASE, "decision": "de-escalate", "design_state": reason},
    )
    assert _decisions(service) == [(1, "de-escalate")]
    _write(path, db_url, tmp_path / "b", service, {**BASE, "decision": "stay", "design_state": None})
    (stored,) = service.find_records("admin", "escalation_decision")
    assert (stored["decision"], stored["design_state"]) == ("stay", None)


def test_a_streamed_refusal_is_reported_with_the_other_files_problems(db_url: str, tmp_path: Path) -> None:
    """Verified 2026-12-07 before the change: in a streamed import the committee-reason rule ran only in
    the write (`write_form`), which a problem found earlier (another file's field problem) skips, so the
    refused decision went unreported until that problem was fixed and the import run again (and, with
    none, it was raised alone). Now it is listed with every other problem, nothing written."""
    service = _study(db_url)
    folder = _folder(
        tmp_path, "in", _row(1, "escalate", _state("stay")), _row(2, "stay", _state("stay"))
    )  # row 2: no reason
    (folder / "subjects.csv").write_text(
        "subject_id,site_id,consent_date,sex\nCT-001,TJH,2021-13-45,F\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as refused:
        import_templates(db_url, folder, "admin", stream_bytes=100)
    located = {(Path(str(p.file)).name, p.row, p.field) for p in refused.value.problems}
    assert ("escalation_decisions.csv", 2, "design_state.committee_reason") in located
    assert ("subjects.csv", 2, "consent_date") in located
    assert _decisions(service) == []


def test_a_refusal_shows_no_stored_value(db_url: str, tmp_path: Path) -> None:
    """A changed decision over a stored one with a reason, the row's own reason invisible: the message
    names the field, never the stored reason nor the row's values (D-12.2)."""
    service = _study(db_url)
    import_templates(db_url, _folder(tmp_path, "first", _row(1, "stay", _state("stay", SECRET))), "admin")
    folder = _folder(tmp_path, "changed", _row(1, "escalate", _state("stay", "\u200b")))
    with pytest.raises(InputError) as refused:
        import_templates(db_url, folder, "admin")
    text = str(refused.value)
    assert "design_state.committee_reason" in text
    assert SECRET not in text and "\u200b" not in text
    assert _decisions(service) == [(1, "stay")]
