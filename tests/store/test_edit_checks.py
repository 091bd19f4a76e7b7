"""Edit checks across forms (decisions §19): hard ones refuse with a located error, soft ones accept and raise
a data query the store records; `import templates --dry-run` lists what would fire.

Expected values are hand calculations: 58 kg × 5×10⁵ cells/kg = 2.9×10⁷ cells; the reference protocol's
level 1 is 5×10⁵ CAR+ cells/kg (examples/ct103a-nmosd/protocol.yaml) and its earliest visit is screening,
day -28 with a 14-day window, i.e. day -42.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.protocol.model import load_protocol
from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import (
    CHECKS,
    EDIT_CHECK_USER,
    Finding,
    Record,
    Severity,
    SubjectRecords,
    run_edit_checks,
)
from cartrial.store.importing import import_templates

from .conftest import PROTOCOL, StudyDb, empty_sqlite_copy

REFERENCE = load_protocol(PROTOCOL)
TODAY = dt.date(2022, 6, 1)
UTC = dt.UTC


def subject(**values: object) -> Record:
    base = {"subject_id": "CT-001", "site_id": "TJH", "consent_date": dt.date(2021, 5, 6), "birth_year": 1972}
    return Record("subject", {**base, **values}, new=True)


def infusion(**values: object) -> Record:
    base = {
        "subject_id": "CT-001",
        "infused_at": dt.datetime(2021, 6, 1, 2, tzinfo=UTC),
        "dose_level": 1,
        "weight_kg": 58.0,
        "cells_per_kg": 5e5,
        "total_car_t_cells": 2.9e7,
    }
    return Record("infusion", {**base, **values}, new=True)


def lab(value: float, unit: str = "10^9/L", analyte: str = "platelets") -> Record:
    values = {"subject_id": "CT-001", "analyte": analyte, "collected_at": dt.datetime(2021, 6, 8, tzinfo=UTC)}
    return Record("lab_result", {**values, "value": value, "unit": unit}, new=True)


def fired(*records: Record) -> list[str]:
    by_table: dict[str, list[Record]] = {}
    for record in records:
        by_table.setdefault(record.table, []).append(record)
    findings = run_edit_checks([SubjectRecords("CT-001", by_table)], REFERENCE, TODAY)
    return sorted(f.check.id for f in findings)


def test_the_consistent_reference_subject_fires_nothing() -> None:
    assert fired(subject(weight_kg=58.0), infusion(), lab(48.0)) == []


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ((subject(consent_date=dt.date(2022, 6, 2)),), ["CONSENT-FUTURE"]),
        (
            (subject(disposition="completed", disposition_date=dt.date(2022, 6, 2)),),
            ["END-OF-STUDY-FUTURE"],
        ),
        (
            (subject(), infusion(infused_at=dt.datetime(2021, 5, 5, 23, tzinfo=UTC))),
            ["INFUSION-BEFORE-CONSENT"],
        ),
        (
            (subject(birth_year=2022, consent_date=dt.date(2021, 1, 1)), infusion()),
            ["INFUSION-BEFORE-BIRTH"],
        ),
        (
            (
                subject(birth_year=1972),
                Record("relapse", {"subject_id": "CT-001", "onset_date": dt.date(1971, 12, 31)}, new=True),
            ),
            ["RELAPSE-BEFORE-BIRTH"],
        ),
        (
            (subject(), infusion(), infusion(infused_at=dt.datetime(2021, 9, 1, 2, tzinfo=UTC))),
            ["INFUSION-ONCE", "INFUSION-ONCE"],
        ),
        ((subject(), infusion(cells_per_kg=5e6, total_car_t_cells=2.9e8)), ["DOSE-10X"]),
        ((subject(), infusion(total_car_t_cells=3.2e7)), ["TOTAL-CELLS-MISMATCH"]),
        ((subject(weight_kg=29.0),), ["ADULT-WEIGHT-UNDER-30KG"]),
        ((subject(), lab(250_000.0)), ["LAB-UNIT-SLIP"]),
        ((subject(), lab(12.0, "g/L", "hemoglobin")), ["LAB-UNIT-SLIP"]),
        ((subject(), lab(48.0, analyte="platelet")), ["LAB-TEST-MISSPELT"]),
        ((subject(), lab(120.0, "g/L", "haemoglobin")), ["LAB-TEST-MISSPELT"]),
        (
            (
                subject(),
                infusion(),
                Record(
                    "edss_assessment",
                    {"subject_id": "CT-001", "assessed_at": dt.datetime(2021, 4, 19, tzinfo=UTC)},
                    new=True,
                ),
            ),
            ["ASSESSMENT-LONG-BEFORE-INFUSION"],
        ),
    ],
)
def test_each_check_fires_on_its_fault(records: tuple[Record, ...], expected: list[str]) -> None:
    assert fired(*records) == expected


def test_boundaries_do_not_fire() -> None:
    """Just inside each limit: infusion on the consent day, 9.9× the dose, total off by 10 %, 30 kg,
    an assessment on day -42 (the protocol's earliest visit), a child's low weight."""
    assert fired(subject(), infusion(infused_at=dt.datetime(2021, 5, 6, 0, tzinfo=UTC))) == []
    assert fired(subject(), infusion(cells_per_kg=4.95e6, total_car_t_cells=4.95e6 * 58)) == []
    assert fired(subject(), infusion(total_car_t_cells=2.9e7 * 1.1)) == []
    assert fired(subject(weight_kg=30.0)) == []
    assert fired(subject(weight_kg=25.0, birth_year=2010)) == []
    day_minus_42 = Record(
        "pk_sample",
        {"subject_id": "CT-001", "sampled_at": dt.datetime(2021, 4, 20, 23, tzinfo=UTC)},
        new=True,
    )
    assert fired(subject(), infusion(), day_minus_42) == []


def test_a_heavy_patient_dosed_at_the_level_cap_raises_no_total_query() -> None:
    """TOTAL-CELLS-MISMATCH compared the total with cells/kg × weight and ignored the level's
    `max_total_cells`: a 120 kg patient correctly given the cap of 5×10^7 cells (6×10^7 uncapped) was
    queried. The expected total is now the protocol's one derivation, `dose_for` (rounding, then cap)."""
    level = REFERENCE.dose_levels[0].model_copy(update={"max_total_cells": 5e7})
    capped = REFERENCE.model_copy(update={"dose_levels": [level, *REFERENCE.dose_levels[1:]]})

    def findings(protocol: object, record: Record) -> list[Finding]:
        records = SubjectRecords("CT-001", {"subject": [subject()], "infusion": [record]})
        return run_edit_checks([records], protocol, TODAY)  # type: ignore[arg-type]

    at_cap = infusion(weight_kg=120.0, total_car_t_cells=5e7)
    assert findings(capped, at_cap) == []
    assert [f.check.id for f in findings(REFERENCE, at_cap)] == ["TOTAL-CELLS-MISMATCH"]  # no cap: queried
    uncapped_total = findings(capped, infusion(weight_kg=120.0, total_car_t_cells=6e7))
    assert [f.check.id for f in uncapped_total] == ["TOTAL-CELLS-MISMATCH"]
    assert "capped at max_total_cells of dose level 1 = 5e+07" in uncapped_total[0].message
    assert findings(capped, infusion()) == []  # 58 kg: under the cap, cells/kg × weight as before
    rule = next(check.rule for check in CHECKS if check.id == "TOTAL-CELLS-MISMATCH")
    assert "max_total_cells" in rule and "cartrial.protocol.dosing.dose_for" in rule


def test_the_synthetic_study_doses_by_the_protocol_cap_included() -> None:
    """The synthetic study computed its totals as cells/kg × weight with the reference levels hard-coded; it
    now takes the study's protocol and uses its `dose_for` (D-19.55), so a capped protocol's synthetic study
    gives heavy subjects the cap and raises no TOTAL-CELLS-MISMATCH."""
    from cartrial.store.importing import synthetic_study

    levels = [
        level.model_copy(update={"max_total_cells": 3.5e7 * level.level}) for level in REFERENCE.dose_levels
    ]
    capped = REFERENCE.model_copy(update={"dose_levels": levels})
    infusions = synthetic_study(40, protocol=capped)["infusions"]
    cap = infusions.dose_level.map({1: 3.5e7, 2: 7e7})
    heavy = infusions.dose_level.map({1: 5e5, 2: 1e6}) * infusions.weight_kg > cap
    assert heavy.any() and (~heavy).any()
    assert (infusions.total_car_t_cells[heavy] == cap[heavy]).all()
    assert (infusions.total_car_t_cells <= cap).all()
    for row in infusions.itertuples():
        record = infusion(
            dose_level=int(row.dose_level),
            weight_kg=float(row.weight_kg),
            cells_per_kg=float(row.cells_per_kg),
            total_car_t_cells=float(row.total_car_t_cells),
        )
        records = SubjectRecords("CT-001", {"subject": [subject()], "infusion": [record]})
        assert [f.check.id for f in run_edit_checks([records], capped, TODAY)] == []


def test_every_check_has_an_id_rule_severity_and_source() -> None:
    assert (
        len({c.id for c in CHECKS}) == len(CHECKS) == 35
    )  # D-19.1101/1102: EDSS-SAME-DAY, ACUITY-SAME-DAY (32 before, changed by design);
    # D-19.993: LD-DOSE-PROTOCOL (31 before, changed by design);
    # D-19.794: DEATH-DATES-DIFFER (30 before, changed by design); D-19.784: PK-UNIT-DIMENSION (29 before);
    # D-19.652: CHECKS-LEFT-OUT (28 before, changed by design);
    # issue 12: DECISION-BEFORE-DLT-WINDOW; INFUSION-ONCE; LAB-TEST-MISSPELT; D-19.93: 3 death checks;
    # D-19.101: DEATH-DATE-MISMATCH, RECORD-AFTER-END-OF-STUDY; D-19.162: END-OF-STUDY-FUTURE;
    # D-19.163: DATE-FUTURE; D-19.165: PK-VALUE-BELOW-LLOQ, PK-BLQ-WITHOUT-LLOQ;
    # D-19.167: PROCEDURE-BEFORE-CONSENT, LYMPHODEPLETION-DAY; D-19.168: SAMPLE-DAY-MISMATCH;
    # D-19.169: AE-BEFORE-CONSENT, INFUSION-WEIGHT-CHANGE; D-19.328: AE-SERIOUSNESS-CRITERIA
    for check in CHECKS:
        assert check.rule and check.source and check.severity in (Severity.HARD, Severity.SOFT)


# -------------------------------------------------------------------------------------------------------
# Through the store: single-record writes and imports, both backends
# -------------------------------------------------------------------------------------------------------

GOOD_INFUSION = {
    "subject_id": "CT-001",
    "infused_at": "2021-06-01T02:00:00Z",
    "dose_level": 1,
    "weight_kg": 58.0,
    "cells_per_kg": 5e5,
    "total_car_t_cells": 2.9e7,
}


def edit_check_queries(service: StudyService) -> list[dict[str, object]]:
    return [q for q in service.find_records("admin", "data_query") if q["raised_by"] == EDIT_CHECK_USER]


def test_single_record_writes_refuse_hard_and_query_soft(study: StudyDb) -> None:
    service = study.service
    with pytest.raises(InputError) as caught:
        service.insert_record("inv", "infusion", {**GOOD_INFUSION, "infused_at": "2021-05-01T02:00:00Z"})
    assert "INFUSION-BEFORE-CONSENT" in str(caught.value)
    assert service.find_records("admin", "infusion") == []
    record_id = service.insert_record("inv", "infusion", GOOD_INFUSION)
    assert edit_check_queries(service) == []
    record = service.get_record("inv", "infusion", record_id)
    # the investigator may not raise queries; the system user does, in the same transaction
    service.update_record(
        "inv", "infusion", record_id, {"cells_per_kg": 5e6}, int(record["version"]), "typo?"
    )
    queries = edit_check_queries(service)
    assert [(q["table_name"], q["record_id"], q["field"], q["status"]) for q in queries] == [
        ("infusion", record_id, "cells_per_kg", "open"),
        ("infusion", record_id, "total_car_t_cells", "open"),
    ]
    assert all(str(q["text"]).startswith("Edit check ") for q in queries)
    record = service.get_record("inv", "infusion", record_id)
    service.update_record("inv", "infusion", record_id, {"product_lot": "L1"}, int(record["version"]), "lot")
    assert len(edit_check_queries(service)) == 2  # an unrelated edit raises nothing again
    with pytest.raises(InputError) as caught:
        (row,) = service.find_records("admin", "subject", subject_id="CT-001")
        service.update_record(
            "admin", "subject", int(row["id"]), {"birth_year": 2022}, int(row["version"]), "x"
        )
    assert "birth_year" in str(caught.value)
    assert service.verify_audit().ok


def write_infusions(folder: Path, *rows: str) -> Path:
    folder.mkdir(exist_ok=True)
    header = "subject_id,infused_at,dose_level,weight_kg,cells_per_kg,total_car_t_cells"
    (folder / "infusions.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return folder


def test_import_refuses_hard_checks_with_file_and_row(study: StudyDb, tmp_path: Path) -> None:
    folder = write_infusions(
        tmp_path / "in",
        "CT-001,2021-06-01T02:00:00Z,1,58.0,500000,29000000",
        "CT-002,2021-05-01T02:00:00Z,1,62.5,500000,31250000",
    )
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (3, "infused_at") and "INFUSION-BEFORE-CONSENT" in problem.message
    assert str(problem.file).endswith("infusions.csv")
    assert study.service.find_records("admin", "infusion") == []


def test_a_second_infusion_of_a_subject_is_refused_on_every_write_path(
    study: StudyDb, tmp_path: Path
) -> None:
    """The analysis takes day 0 from the subject's one infusion; the store refuses a second rather than
    hold a record the cut-off analysis would refuse. A stored infusion is not re-reported."""
    service = study.service
    stored = Record(
        "infusion",
        {"subject_id": "CT-001", "infused_at": dt.datetime(2021, 6, 1, tzinfo=UTC)},
        new=False,
        record_id=41,
    )
    findings = run_edit_checks(
        [
            SubjectRecords(
                "CT-001",
                {
                    "subject": [Record("subject", subject().values, new=False)],
                    "infusion": [stored, infusion(infused_at=dt.datetime(2021, 9, 1, tzinfo=UTC))],
                },
            )
        ],
        REFERENCE,
        TODAY,
    )
    assert [(f.check.id, f.record.new) for f in findings] == [("INFUSION-ONCE", True)]
    # the other infusion named by its location, never by its date (D-19.102)
    assert "the other infusion: infusion record 41" in findings[0].message
    assert "2021-06-01" not in findings[0].message
    first = service.insert_record("inv", "infusion", GOOD_INFUSION)
    with pytest.raises(InputError) as caught:
        service.insert_record("inv", "infusion", {**GOOD_INFUSION, "infused_at": "2021-09-01T02:00:00Z"})
    # one problem, on the record written, with the value given (the stored infusion led with its own date)
    (problem,) = caught.value.problems
    assert "INFUSION-ONCE" in problem.message and f"infusion record {first}" in problem.message
    assert "2021-06-01" not in problem.message
    assert str(problem.value).startswith("2021-09-01"), str(caught.value)
    folder = write_infusions(tmp_path / "in", "CT-001,2021-09-01T02:00:00Z,1,58.0,500000,29000000")
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (2, "infused_at") and "INFUSION-ONCE" in problem.message
    assert len(service.find_records("admin", "infusion")) == 1
    assert service.verify_audit().ok


def test_an_edit_moving_a_record_to_another_subject_is_checked_with_that_subjects_records(
    study: StudyDb,
) -> None:
    """An edit of `subject_id` (`db edit infusion 1 --set subject_id=CT-002`, the web form, the API) moves
    the record: it is checked as an insert among the new subject's records and as a delete from the old
    subject's (D-19.146). Before, the record's old values were counted among the new subject's records
    "before" the edit, so every finding the move created there looked pre-existing: CT-001's infusion moved
    to CT-002, already infused, was stored without INFUSION-ONCE (two infusions for CT-002, none for
    CT-001)."""
    service = study.service
    first = service.insert_record("inv", "infusion", GOOD_INFUSION)
    service.insert_record(
        "inv",
        "infusion",
        {
            **GOOD_INFUSION,
            "subject_id": "CT-002",
            "infused_at": "2021-06-15T02:00:00Z",
            "weight_kg": 62.5,
            "total_car_t_cells": 3.125e7,
        },
    )
    record = service.get_record("admin", "infusion", first)
    with pytest.raises(InputError) as caught:
        service.update_record(
            "admin", "infusion", first, {"subject_id": "CT-002"}, int(record["version"]), "wrong subject"
        )
    (problem,) = caught.value.problems
    assert "INFUSION-ONCE" in problem.message
    assert [r["subject_id"] for r in service.find_records("admin", "infusion")] == ["CT-001", "CT-002"]
    assert service.verify_audit().ok


def test_import_raises_one_query_per_soft_check_once(study: StudyDb, tmp_path: Path) -> None:
    folder = write_infusions(tmp_path / "in", "CT-001,2021-06-01T02:00:00Z,1,58.0,500000,32000000")
    planned = import_templates(study.url, folder, "admin", dry_run=True)
    assert [(f.check.id, f.record.row, f.field) for f in planned.edit_checks] == [
        ("TOTAL-CELLS-MISMATCH", 2, "total_car_t_cells")
    ]
    assert edit_check_queries(study.service) == []
    report = import_templates(study.url, folder, "admin")
    assert report.totals["inserted"] == 1
    (query,) = edit_check_queries(study.service)
    assert query["field"] == "total_car_t_cells" and query["subject_id"] == "CT-001"
    import_templates(study.url, folder, "admin")  # unchanged re-import: no second query
    assert len(edit_check_queries(study.service)) == 1
    assert study.service.verify_audit().ok


@pytest.mark.parametrize("analyte", ["platelets", "ldh", "c3", "igm", "alt"])
def test_a_lab_test_outside_the_dictionary_and_not_close_to_it_fires_nothing(analyte: str) -> None:
    """LAB-TEST-MISSPELT fires only near a known name: a known test, or another test of the site's panel
    (LDH, complement C3), raises no query; `igm` beside `igg`/`iga` is a test of its own."""
    assert fired(subject(), lab(48.0, analyte=analyte)) == []


def test_import_queries_a_misspelt_lab_test_naming_the_likely_one(study: StudyDb, tmp_path: Path) -> None:
    """A typo of a graded analyte (`neutrophil`) is stored as entered (free text) but not graded: the import
    raises a query at its file and row that names the test it likely means; the other rows raise none."""
    folder = tmp_path / "in"
    folder.mkdir()
    header = "subject_id,collected_at,analyte,value,unit,lln,life_threatening_anemia"
    rows = [
        "CT-001,2021-06-08T02:00:00Z,neutrophils,1.2,10^9/L,1.8,",
        "CT-001,2021-06-09T02:00:00Z,neutrophil,0.3,10^9/L,1.8,",
        "CT-001,2021-06-09T02:00:00Z,ldh,250,U/L,,",
    ]
    (folder / "labs.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    planned = import_templates(study.url, folder, "admin", dry_run=True)
    (finding,) = planned.edit_checks
    assert (finding.check.id, finding.record.row, finding.field) == ("LAB-TEST-MISSPELT", 3, "analyte")
    assert "'neutrophils'" in finding.message
    import_templates(study.url, folder, "admin")
    (query,) = edit_check_queries(study.service)
    assert query["field"] == "analyte" and "LAB-TEST-MISSPELT" in query["text"]


def test_dry_run_command_lists_what_would_fire(
    sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "study.db"
    shutil.copyfile(sqlite_template, target)
    url = f"sqlite:///{target}"
    folder = write_infusions(tmp_path / "in", "CT-001,2021-06-01T02:00:00Z,1,58.0,5000000,290000000")
    code = main(["import", "templates", str(folder), "--user", "admin", "--url", url, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "DOSE-10X" in out and "would raise a data query" in out
    assert StudyService(connect(url)).find_records("admin", "infusion") == []


def test_an_imported_consent_date_after_the_stored_infusion_is_refused(
    study: StudyDb, tmp_path: Path
) -> None:
    study.service.insert_record("admin", "infusion", GOOD_INFUSION)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(
        "subject_id,site_id,consent_date\nCT-001,TJH,2021-06-15\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin", reason="consent date correction")
    (problem,) = caught.value.problems
    assert problem.field == "infusion.infused_at" and "INFUSION-BEFORE-CONSENT" in problem.message
    # the finding is on the stored infusion, not on the file's row: its value is not shown (D-12.2)
    assert problem.value is None and GOOD_INFUSION["infused_at"][:10] not in str(caught.value)


# -------------------------------------------------------------------------------------------------------
# DECISION-BEFORE-DLT-WINDOW: an escalation decision taken inside the cohort's DLT window
# -------------------------------------------------------------------------------------------------------

EXAMPLE_STUDY = PROTOCOL.parent / "study"


def example_copy(tmp_path: Path, days_earlier: int = 0) -> Path:
    """The example study; the first decision (cohort 1, 2021-07-06) moved `days_earlier` days earlier."""
    folder = tmp_path / "example"
    shutil.copytree(EXAMPLE_STUDY, folder)
    decisions = folder / "escalation_decisions.csv"
    text_ = decisions.read_text(encoding="utf-8")
    moved = (dt.date(2021, 7, 6) - dt.timedelta(days=days_earlier)).isoformat()
    assert text_.count("\n1,1,2021-07-06,") == 1
    decisions.write_text(text_.replace("\n1,1,2021-07-06,", f"\n1,1,{moved},"), encoding="utf-8")
    return folder


def window_findings(findings: Sequence[Finding]) -> list[Finding]:
    return [f for f in findings if f.check.id == "DECISION-BEFORE-DLT-WINDOW"]


def test_the_example_study_raises_no_decision_window_finding(empty_study_url: str, tmp_path: Path) -> None:
    """Cohort 1's last patient (CT-003) was infused on 2021-06-08 and the decision is dated 2021-07-06:
    28 days, the reference protocol's whole DLT window; the later cohorts likewise."""
    folder = example_copy(tmp_path)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True)
    assert window_findings(planned.edit_checks) == []
    import_templates(empty_study_url, folder, "admin")
    queries = edit_check_queries(StudyService(connect(empty_study_url)))
    assert [q for q in queries if q["table_name"] == "escalation_decision"] == []


def test_a_decision_ten_days_early_is_listed_and_queried_once(empty_study_url: str, tmp_path: Path) -> None:
    """Decision of cohort 1 on 2021-06-26: 18 days after CT-003's infusion (2021-06-08), 28 - 18 = 10 days
    of the window missing (hand count)."""
    folder = example_copy(tmp_path, days_earlier=10)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True)
    (finding,) = window_findings(planned.edit_checks)
    assert finding.check.severity is Severity.SOFT
    problem = finding.problem()
    assert str(problem.file).endswith("escalation_decisions.csv")
    assert (problem.row, problem.field, problem.value) == (2, "decided_on", "2021-06-26")
    # the rule and the record's location, never its values (D-19.102): the date is the problem's value
    assert "escalation_decisions.csv row 2" in problem.message and "28-day DLT window" in problem.message
    assert "2021-06-26" not in problem.message and "2021-06-08" not in problem.message
    service = StudyService(connect(empty_study_url))
    assert service.find_records("admin", "escalation_decision") == []  # a dry run writes nothing

    import_templates(empty_study_url, folder, "admin")
    (decision,) = service.find_records("admin", "escalation_decision", cohort=1)
    queries = [q for q in edit_check_queries(service) if q["table_name"] == "escalation_decision"]
    assert [(q["record_id"], q["field"], q["status"], q["subject_id"]) for q in queries] == [
        (decision["id"], "decided_on", "open", None)
    ]
    assert "DECISION-BEFORE-DLT-WINDOW" in str(queries[0]["text"])
    import_templates(empty_study_url, folder, "admin")  # unchanged re-import: not raised twice
    assert len([q for q in edit_check_queries(service) if q["table_name"] == "escalation_decision"]) == 1
    assert service.verify_audit().ok


def test_a_decision_moved_inside_the_window_by_an_edit_raises_a_query(
    empty_study_url: str, tmp_path: Path
) -> None:
    import_templates(empty_study_url, example_copy(tmp_path), "admin")
    service = StudyService(connect(empty_study_url))
    (decision,) = service.find_records("admin", "escalation_decision", cohort=1)
    service.update_record(
        "admin",
        "escalation_decision",
        int(decision["id"]),
        {"decided_on": "2021-07-05"},
        int(decision["version"]),
        "date typo",
    )
    (query,) = [q for q in edit_check_queries(service) if q["table_name"] == "escalation_decision"]
    assert (query["record_id"], query["field"]) == (decision["id"], "decided_on")
    assert "28-day DLT window" in str(query["text"]) and "2021-07-05" not in str(query["text"])


def test_dry_run_command_lists_the_early_decision(
    tmp_path: Path, password_sqlite_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:

    url = empty_sqlite_copy(password_sqlite_template, tmp_path / "example.db")
    folder = example_copy(tmp_path, days_earlier=10)
    code = main(["import", "templates", str(folder), "--user", "admin", "--url", url, "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("DECISION-BEFORE-DLT-WINDOW") == 1 and "would raise a data query" in out
    assert StudyService(connect(url)).find_records("admin", "escalation_decision") == []


def test_a_decision_inserted_inside_the_window_raises_a_query(empty_study_url: str, tmp_path: Path) -> None:
    """The example study without its decisions, then cohort 1's decision entered by hand on 2021-07-01:
    23 days after CT-003's infusion (2021-06-08), 28 - 23 = 5 days missing (hand count)."""
    folder = example_copy(tmp_path)
    (folder / "escalation_decisions.csv").unlink()
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    decision = {
        "cohort": 1,
        "dose_level": 1,
        "decided_on": "2021-07-01",
        "outcomes": "1NNN",
        "decision": "escalate",
    }
    record_id = service.insert_record("admin", "escalation_decision", decision)
    (query,) = [q for q in edit_check_queries(service) if q["table_name"] == "escalation_decision"]
    assert (query["record_id"], query["field"]) == (record_id, "decided_on")
    assert f"escalation_decision record {record_id}" in str(query["text"])
    assert "28-day DLT window" in str(query["text"]) and "cohort 1" not in str(query["text"])


def test_a_closed_query_is_raised_anew_when_its_field_is_entered_wrong_again(study: StudyDb) -> None:
    """D-19.122: a closed edit-check query blocked every later query of the same check on the same record
    and field, so a value corrected, then entered wrong again, raised nothing. A closed query now stands for
    the value it was closed on: a later change of that field that fires the check raises a new query; an
    unrelated edit, or a re-write of the same value, does not."""
    service = study.service
    GOOD_INFUSION_DOSE = {k: GOOD_INFUSION[k] for k in ("cells_per_kg", "total_car_t_cells")}
    record_id = service.insert_record("inv", "infusion", GOOD_INFUSION)

    def edit(changes: dict[str, object]) -> None:
        record = service.get_record("inv", "infusion", record_id)
        service.update_record("inv", "infusion", record_id, changes, int(record["version"]), "edit")

    def dose_queries() -> list[dict[str, object]]:
        return [q for q in edit_check_queries(service) if q["field"] == "cells_per_kg"]

    edit({"cells_per_kg": 5e6, "total_car_t_cells": 2.9e8})  # 10× the protocol dose: soft check
    (first,) = dose_queries()
    service.close_query("admin", str(first["query_code"]), "site corrected the dose")
    edit(GOOD_INFUSION_DOSE)  # corrected: nothing fires
    edit({"product_lot": "L1"})  # unrelated
    assert len(dose_queries()) == 1
    edit({"cells_per_kg": 5e6, "total_car_t_cells": 2.9e8})  # wrong again, after the closure
    assert [q["status"] for q in dose_queries()] == ["closed", "open"]
    second = dose_queries()[1]
    service.close_query("admin", str(second["query_code"]), "confirmed with the site")
    edit({"product_lot": "L2"})  # an unrelated edit of a record whose query was closed on this value
    assert [q["status"] for q in dose_queries()] == ["closed", "closed"]
    assert service.verify_audit().ok
