"""D-19.328: an adverse event recorded serious kept no seriousness criterion, so SDTM AE could carry AESER but
none of AESDTH, AESLIFE, AESHOSP, AESDISAB, AESCONG, AESMIE, which FDA expects whenever AESER = Y (SDTMIG 3.4
AE; the criteria are ICH E2A §II.B's). The store now keeps one yes/no field per criterion (migration 0008),
declared once by the table so that the import, `db edit`, the web form and the API all take it; a template
without the columns still imports. The soft edit check AE-SERIOUSNESS-CRITERIA queries a serious event without
a criterion and a criterion on an event recorded not serious (EDC practice: a query to the site, not a
refusal: an SAE form is often completed after the AE page).

Expected values come from the rule above (E2A's six criteria; a serious event needs at least one), not from
the code's output."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from sqlalchemy import inspect, text

from cartrial.store import StudyService, connect, upgrade
from cartrial.store.database import head_revision
from cartrial.store.edit_checks import (
    CHECKS_BY_ID,
    EDIT_CHECK_USER,
    Record,
    Severity,
    SubjectRecords,
    run_edit_checks,
)
from cartrial.store.fields import FieldKind, field_rules
from cartrial.store.importing import import_templates
from cartrial.store.importing.forms import form_for_table

from .conftest import PROTOCOL

CRITERIA = (
    "serious_death",
    "serious_life_threatening",
    "serious_hospitalisation",
    "serious_disability",
    "serious_congenital_anomaly",
    "serious_medically_important",
)
CHECK = "AE-SERIOUSNESS-CRITERIA"
EXAMPLE_STUDY = PROTOCOL.parent / "study"
OLD_HEADER = (
    "subject_id,term,meddra_code,category,started_on,ended_on,grade,grading_scale,grading_scale_version,"
    "serious,relatedness,dlt,action_taken,outcome,pathogen,infection_site"
)


def test_the_six_criteria_are_optional_yes_no_fields_of_the_adverse_event() -> None:
    rules = field_rules("adverse_event")
    for name in CRITERIA:
        assert rules[name].kind is FieldKind.BOOLEAN, name
        assert not rules[name].required, name
        assert "E2A" in rules[name].source, name
    columns = {c.name: c for c in form_for_table("adverse_event").columns()}
    assert all(not columns[name].required for name in CRITERIA)  # an old template still imports


def _findings(serious: object, **criteria: object) -> list[str]:
    event = Record(
        "adverse_event",
        {
            "subject_id": "S1",
            "term": "Pneumonia",
            "started_on": dt.date(2021, 6, 1),
            "grade": 3,
            "serious": serious,
            **criteria,
        },
        True,
    )
    found = run_edit_checks([SubjectRecords("S1", {"adverse_event": [event]})], None, dt.date(2030, 1, 1))
    return [f.field for f in found if f.check.id == CHECK]


def test_the_check_queries_a_serious_event_without_criterion_and_a_criterion_without_seriousness() -> None:
    assert CHECKS_BY_ID[CHECK].severity is Severity.SOFT
    assert _findings(True) == ["serious"]  # an old template: no criterion at all
    assert _findings(True, serious_hospitalisation=False, serious_death=False) == ["serious"]
    assert _findings(False, serious_death=True) == ["serious"]
    assert _findings(True, serious_death=True) == []
    assert _findings(True, serious_medically_important=True, serious_death=False) == []
    assert _findings(False, serious_death=False) == []
    assert _findings(None) == []  # seriousness not recorded yet
    assert _findings(False) == []


def _queries(url: str) -> list[dict[str, object]]:
    service = StudyService(connect(url))
    return [
        q
        for q in service.find_records("admin", "data_query")
        if q["raised_by"] == EDIT_CHECK_USER and CHECK in str(q["text"])
    ]


def test_old_template_imports_new_columns_are_stored_and_the_audit_replays(
    empty_study_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    for name in ("sites", "subjects", "infusions"):
        shutil.copyfile(EXAMPLE_STUDY / f"{name}.csv", folder / f"{name}.csv")
    pneumonia = (
        "CT-001,Pneumonia,,infection,2021-06-10,2021-06-20,3,CTCAE,5.0,true,possible,false,,recovered,,"
    )
    (folder / "adverse_events.csv").write_text(f"{OLD_HEADER}\n{pneumonia}\n", "utf-8")
    report = import_templates(empty_study_url, folder, "admin")
    assert report.totals["inserted"] > 0
    (query,) = _queries(empty_study_url)  # accepted (soft) and queried
    assert (query["table_name"], query["field"]) == ("adverse_event", "serious")

    service = StudyService(connect(empty_study_url))
    (row,) = service.find_records("admin", "adverse_event")
    assert all(row[name] is None for name in CRITERIA)
    service.update_record(
        "admin",
        "adverse_event",
        int(row["id"]),
        {"serious_hospitalisation": True},
        int(row["version"]),
        "SAE form received",
    )
    (row,) = service.find_records("admin", "adverse_event")
    assert row["serious_hospitalisation"] is True
    assert service.verify_audit().ok  # the replay of the trail fills the new columns too

    new = tmp_path / "new"
    new.mkdir()
    header = OLD_HEADER + "," + ",".join(CRITERIA)
    fatal = "CT-002,Sepsis,,infection,2021-07-01,2021-07-03,5,CTCAE,5.0,true,possible,false,,fatal,,"
    (new / "adverse_events.csv").write_text(f"{header}\n{fatal},true,true,true,false,false,false\n", "utf-8")
    import_templates(empty_study_url, new, "admin")
    (sepsis,) = service.find_records("admin", "adverse_event", subject_id="CT-002")
    assert [sepsis[name] for name in CRITERIA] == [True, True, True, False, False, False]
    assert len(_queries(empty_study_url)) == 1  # the sepsis has its criteria: no query
    assert service.verify_audit().ok


def test_migration_0008_adds_the_criteria_and_keeps_the_rows(db_url: str) -> None:
    engine = connect(db_url, create=True)
    assert upgrade(engine, "0007") == "0007"
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO site (site_id, created_at, updated_at, version) VALUES ('S1', :t, :t, 1)"),
            {"t": "2021-01-01 00:00:00.000000"},
        )
    assert not set(CRITERIA) & {c["name"] for c in inspect(engine).get_columns("adverse_event")}
    assert upgrade(engine) == head_revision() == "0009"
    columns = {c["name"]: c for c in inspect(engine).get_columns("adverse_event")}
    assert set(CRITERIA) <= set(columns)
    assert all(columns[name]["nullable"] for name in CRITERIA)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT site_id FROM site")).scalars().all() == ["S1"]
    engine.dispose()


def test_the_death_criterion_is_not_known_before_the_event_ends() -> None:
    """At a data cut-off before a fatal event's end the death has not happened (D-19.85): its grade 5 and its
    death criterion are not yet recorded; the other criteria stand."""
    import pandas as pd

    from cartrial.store.snapshot import open_at_cutoff

    ae = pd.DataFrame(
        {
            "ended_on": ["2021-09-11", "2021-07-01"],
            "grade": ["5", "5"],
            "outcome": ["fatal", "fatal"],
            "serious_death": ["true", "true"],
            "serious_hospitalisation": ["true", "true"],
        }
    )
    cut, n = open_at_cutoff("adverse_events", ae, dt.date(2021, 8, 1))
    assert n == 1
    assert cut["serious_death"].tolist() == ["", "true"]
    assert cut["serious_hospitalisation"].tolist() == ["true", "true"]


def _fatal_findings(**fields: object) -> list[str]:
    event = Record(
        "adverse_event",
        {"subject_id": "S1", "term": "Pneumonia", "started_on": dt.date(2021, 6, 1), **fields},
        True,
    )
    found = run_edit_checks([SubjectRecords("S1", {"adverse_event": [event]})], None, dt.date(2030, 1, 1))
    return sorted(f.field for f in found if f.check.id == "AE-FATAL-SERIOUS")


def test_a_fatal_event_is_serious_because_it_results_in_death() -> None:
    """ICH E2A: an event that results in death is serious by that criterion. A fatal event (outcome fatal or
    CTCAE grade 5) recorded not serious, or with the death criterion ticked "no", and the death criterion on
    an event whose outcome says the patient recovered, are queried (soft, D-19.333); blanks are not yet
    known and are not."""
    assert CHECKS_BY_ID["AE-FATAL-SERIOUS"].severity is Severity.SOFT
    assert _fatal_findings(grade=5, outcome="fatal", serious=False) == ["serious"]
    assert _fatal_findings(outcome="fatal", serious=True, serious_death=False) == ["serious_death"]
    assert _fatal_findings(grade=5, serious=True, serious_death=False) == ["serious_death"]
    assert _fatal_findings(grade=3, outcome="recovered", serious=True, serious_death=True) == [
        "serious_death"
    ]
    assert _fatal_findings(grade=5, outcome="fatal", serious=True, serious_death=True) == []
    assert _fatal_findings(grade=5, outcome="fatal") == []  # seriousness not recorded yet
    assert _fatal_findings(outcome="fatal", serious=True) == []  # criteria not collected (old template)
    assert _fatal_findings(grade=3, outcome="unknown", serious=True, serious_death=True) == []
    assert _fatal_findings(grade=4, outcome="recovering", serious=False) == []


def test_the_fatal_check_reads_a_death_as_the_other_death_checks_do() -> None:
    """Review of D-19.333: the check had its own reading of a fatal event (grade 5 truncated from a number, so
    5.7 was fatal and "inf" a traceback; category death not counted); it reads `protocol.death.is_fatal`, and
    a yes/no word the import reads ("t", "f")."""
    assert _fatal_findings(category="death", serious=False) == ["serious"]
    assert _fatal_findings(grade="inf", serious=False) == []
    assert _fatal_findings(grade=5.7, serious=False) == []
    assert _fatal_findings(grade=5, serious="f") == ["serious"]


def test_an_event_serious_only_by_a_later_death_is_not_yet_known_serious_at_the_cut_off() -> None:
    """D-19.334: at a cut-off before a fatal event's end its death criterion is blank, but its
    `serious` stayed true; an event serious only because of that death then read AESER = Y with no criterion
    Y (a conformance finding; every simulated fatal event open at a cut-off). Its seriousness is known only at
    the end too: blank. An event serious by another criterion keeps it."""
    import pandas as pd

    from cartrial.store.snapshot import open_at_cutoff

    ae = pd.DataFrame(
        {
            "ended_on": ["2021-09-11", "2021-09-11", "2021-07-01"],
            "grade": ["5", "5", "5"],
            "outcome": ["fatal", "fatal", "fatal"],
            "serious": ["true", "true", "true"],
            "serious_death": ["true", "true", "true"],
            "serious_hospitalisation": ["false", "true", "false"],
        }
    )
    cut, n = open_at_cutoff("adverse_events", ae, dt.date(2021, 8, 1))
    assert n == 2
    assert cut["serious"].tolist() == ["", "true", "true"]
    assert cut["serious_death"].tolist() == ["", "", "true"]
