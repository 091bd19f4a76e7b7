"""Values a release before the one-spelling rules stored (decisions D-19.76): a lab result `Neutrophils`, a
site country ISO 3166-1 does not know. Written into a real SQLite study database the way such a release
wrote them (its import validated the graded analytes without case and stored the text as given, audited:
the store's bulk upsert, which takes values as validated), then:

- the analysis reads them in their one spelling and says so (it left a grade 4 neutropenia out before);
- `cartrial db upgrade` reports them, `cartrial db respell --dry-run` lists them, writing nothing;
- `cartrial db respell --reason …` changes each through the audited service (who, when, why, old and new
  value in the audit trail; the chain still verifies), holds back a locked record and a record whose
  respelling would duplicate an existing one, and lists the sites whose country must be entered;
- the analysis of the respelled database reads the same tables as before it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, text

from cartrial.analysis import analyse, safety
from cartrial.errors import InputError, PermissionDeniedError
from cartrial.protocol.lab_tests import LAB_TESTS, PK_ANALYTES
from cartrial.store import StudyService, connect
from cartrial.store.bulk import upsert_rows  # as an earlier release wrote: no field rules
from cartrial.store.models import LabResult
from cartrial.store.snapshot import read_snapshot
from cartrial.store.spellings import DUPLICATE, LOCKED, legacy_values, read_spellings, respell

from ..conftest import Cli, copy_sqlite_file
from .conftest import TEST_PASSWORD, StudyDb

CUTOFF = dt.date(2022, 3, 20)
LEGACY_AT = "2021-05-02T08:13:00Z"
"""CT-001, day 5 after the infusion (2021-04-27): a grade 4 neutrophil count (0.3 x 10^9/L, CTCAE v5.0)."""
REASON = "one spelling of the lab tests (D-19.42), legacy rows of release 0.x"


def _legacy_study(template: Path, target: Path) -> tuple[str, StudyService]:
    """A copy of the example study with rows an earlier release wrote: a grade 4 neutrophil count as
    `Neutrophils`, a second spelling (`NEUTROPHILS`) of an existing neutrophil result (same subject and
    time), a PK analyte `CAR_T_Cells`, and a site with the country `N/A`."""
    copy_sqlite_file(template, target)
    url = f"sqlite:///{target}"
    service = StudyService(connect(url))
    service.add_user("admin", "dm", "data_manager", password=TEST_PASSWORD)
    with service.engine.connect() as connection:
        existing = connection.execute(
            select(LabResult.subject_id, LabResult.collected_at, LabResult.value)
            .where(LabResult.subject_id == "CT-002", LabResult.analyte == "neutrophils")
            .order_by(LabResult.collected_at)
        ).first()
    assert existing is not None
    with service.transaction("admin", "import (release 0.x)") as tx:
        upsert_rows(tx, "site", [{"site_id": "OLD", "name": "old site", "country": "N/A"}])
        upsert_rows(
            tx,
            "lab_result",
            [
                {
                    "subject_id": "CT-001",
                    "analyte": "Neutrophils",
                    "collected_at": LEGACY_AT,
                    "value": 0.3,
                    "unit": "10^9/L",
                    "lln": 1.8,
                },
                {
                    "subject_id": "CT-002",
                    "analyte": "NEUTROPHILS",
                    "collected_at": existing[1],
                    "value": existing[2],
                    "unit": "10^9/L",
                    "lln": 1.8,
                },
            ],
        )
        upsert_rows(
            tx,
            "pk_sample",
            [
                {
                    "subject_id": "CT-001",
                    "analyte": "CAR_T_Cells",
                    "assay": "flow_cytometry",
                    "matrix": "peripheral_blood",
                    "nominal_day": 6,
                    "actual_day": 6.25,
                    "sampled_at": "2021-05-03T08:00:00Z",
                    "value": 12.5,
                    "unit": "cells/uL",
                    "lloq": 0.5,
                    "blq": False,
                }
            ],
        )
    return url, service


@pytest.fixture
def legacy(example_sqlite_template: Path, tmp_path: Path) -> tuple[str, StudyService]:
    return _legacy_study(example_sqlite_template, tmp_path / "legacy.db")


def _stored(service: StudyService, sql: str) -> list[tuple]:
    with service.engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text(sql)).all()]


def test_the_rows_are_stored_as_an_earlier_release_stored_them(legacy: tuple[str, StudyService]) -> None:
    _, service = legacy
    analytes = {r[0] for r in _stored(service, "SELECT analyte FROM lab_result")}
    assert {"Neutrophils", "NEUTROPHILS"} <= analytes
    assert service.verify_audit().ok


def test_the_analysis_grades_a_legacy_spelling_and_says_so(legacy: tuple[str, StudyService]) -> None:
    """The grade 4 neutrophil count stored as `Neutrophils` is graded (it was left out without a word), and
    the data-status finding names how many stored values were read in their spelling."""
    url, _ = legacy
    snapshot = read_snapshot(url, CUTOFF)
    assert dict(snapshot.read_in_spelling) == {"labs": {"analyte": 2}, "pk_samples": {"analyte": 1}}
    labs = snapshot.tables["labs"]
    assert not labs["analyte"].isin(["Neutrophils", "NEUTROPHILS"]).any()
    graded = safety.graded_labs(snapshot.tables).table
    row = graded[
        (graded["subject_id"] == "CT-001") & graded["collected_at"].astype(str).str.startswith("2021-05-02")
    ]
    assert list(row["analyte"]) == ["neutrophils"] and list(row["grade"]) == [4]
    assert set(snapshot.tables["pk_samples"]["analyte"]) <= set(PK_ANALYTES)
    analysis = analyse(snapshot)
    status = next(f.statement for f in analysis.findings if f.statement.startswith("Data cut-off"))
    assert "3 stored values in another case than their one spelling read in that spelling" in status
    assert "labs.analyte: 2" in status and "pk_samples.analyte: 1" in status
    assert snapshot.metadata()["values_read_in_spelling"] == {
        "labs": {"analyte": 2},
        "pk_samples": {"analyte": 1},
    }


def test_upgrade_reports_and_dry_run_lists_without_writing(
    legacy: tuple[str, StudyService], cli: Cli
) -> None:
    url, service = legacy
    before = _stored(service, "SELECT id, analyte, version FROM lab_result ORDER BY id")
    audit_rows = _stored(service, "SELECT count(*) FROM audit_log")
    code, out, _ = cli("db", "upgrade", "--url", url)
    assert code == 0
    assert "3 stored value(s) in another case than their one spelling (lab_result.analyte: 2, " in out
    assert "pk_sample.analyte: 1" in out and "1 site(s) with a country ISO 3166-1 does not know" in out
    assert "cartrial db respell" in out
    code, out, _ = cli("db", "respell", "--dry-run", "--url", url, "--user", "dm", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [(i["table"], i["spelling"]) for i in listed["respelled"]] == [
        ("lab_result", "neutrophils"),
        ("pk_sample", "car_t_cells"),
    ]
    assert [(i["table"], i["hold"]) for i in listed["held"]] == [("lab_result", DUPLICATE)]
    assert [c["site_id"] for c in listed["countries"]] == ["OLD"]
    assert "Neutrophils" not in out and "N/A" not in out  # the stored values are not repeated
    assert _stored(service, "SELECT id, analyte, version FROM lab_result ORDER BY id") == before
    assert _stored(service, "SELECT count(*) FROM audit_log") == audit_rows


def test_respell_is_an_audited_edit_with_the_reason(legacy: tuple[str, StudyService], cli: Cli) -> None:
    url, service = legacy
    tables_before = read_snapshot(url, CUTOFF).tables_sha256()
    code, out, _ = cli("db", "respell", "--reason", REASON, "--url", url, "--user", "dm")
    assert code == 0, out
    assert "respelled 2 stored value(s)" in out
    assert "held: lab_result record" in out and "a record with this spelling and the same key exists" in out
    assert "site OLD (record" in out and "--set country=CODE" in out
    assert {r[0] for r in _stored(service, "SELECT analyte FROM lab_result")} == {
        "hemoglobin",
        "lymphocytes",
        "neutrophils",
        "platelets",
        "wbc",
        "NEUTROPHILS",
    }
    assert {r[0] for r in _stored(service, "SELECT analyte FROM pk_sample")} <= set(PK_ANALYTES)
    record_id = _stored(
        service,
        "SELECT id FROM lab_result WHERE subject_id = 'CT-001' AND analyte = 'neutrophils' AND value = 0.3",
    )[0][0]
    trail = service.as_user("admin").record_audit("lab_result", record_id)
    last = trail[-1]
    assert last["action"] == "update" and last["username"] == "dm" and last["reason"] == REASON
    assert last["field"] == "analyte" and last["source"] == "cli db respell"
    assert "Neutrophils" in str(last["old_value"]) and "neutrophils" in str(last["new_value"])
    assert service.verify_audit().ok
    snapshot = read_snapshot(url, CUTOFF)
    assert dict(snapshot.read_in_spelling) == {"labs": {"analyte": 1}}  # the duplicate, held back
    # respelled or read in the spelling: the analysis reads the same tables
    assert snapshot.tables_sha256() == tables_before
    # idempotent: nothing left to respell but the duplicate
    code, out, _ = cli("db", "respell", "--reason", REASON, "--url", url, "--user", "dm")
    assert code == 0 and "respelled 0 stored value(s)" in out


def test_a_locked_record_is_held_and_still_read_in_its_spelling(legacy: tuple[str, StudyService]) -> None:
    url, service = legacy
    service.lock("admin", dt.date(2021, 6, 1), "interim analysis")
    result = respell(service, "admin", REASON)
    held = {(s.table, s.hold) for s in result.held}
    assert ("lab_result", LOCKED) in held and not result.refused
    assert ("lab_result", "neutrophils") not in {(s.table, s.spelling) for s in result.respelled}
    assert "Neutrophils" in {r[0] for r in _stored(service, "SELECT analyte FROM lab_result")}
    assert service.locked_snapshot_matches() is True
    assert read_snapshot(url, CUTOFF).read_in_spelling["labs"]["analyte"] == 2


def test_respell_needs_a_reason_and_a_study_wide_role(legacy: tuple[str, StudyService], cli: Cli) -> None:
    url, service = legacy
    service.add_user("admin", "inv", "investigator", site_id="TJH", password=TEST_PASSWORD)
    service.add_user("admin", "mon", "monitor", password=TEST_PASSWORD)
    with pytest.raises(InputError, match="reason"):
        respell(service, "admin", "  ")
    with pytest.raises(PermissionDeniedError, match=r"data_manager \| admin"):
        respell(service, "inv", REASON)
    with pytest.raises(PermissionDeniedError):
        respell(service, "mon", REASON)
    with pytest.raises(PermissionDeniedError, match="every site"):  # the listing names every site's records
        respell(service, "inv", None, dry_run=True)
    assert respell(service, "mon", None, dry_run=True).dry_run
    code, _, err = cli("db", "respell", "--url", url, "--user", "dm")
    assert code == 2 and "--reason" in err
    assert "Neutrophils" in {r[0] for r in _stored(service, "SELECT analyte FROM lab_result")}


def test_a_current_database_has_nothing_to_report(example_sqlite: str, cli: Cli) -> None:
    code, out, _ = cli("db", "upgrade", "--url", example_sqlite)
    assert code == 0 and "respell" not in out
    with StudyService(connect(example_sqlite)).read() as connection:
        assert legacy_values(connection).empty
    assert not read_snapshot(example_sqlite, CUTOFF).read_in_spelling


NAMES = sorted(LAB_TESTS)


@given(
    st.lists(
        st.one_of(
            st.sampled_from(NAMES).flatmap(
                lambda n: st.lists(st.booleans(), min_size=len(n), max_size=len(n)).map(
                    lambda flips, n=n: "".join(c.upper() if f else c for c, f in zip(n, flips, strict=True))
                )
            ),
            st.text(max_size=12),
        ),
        max_size=20,
    )
)
def test_read_spellings_maps_exactly_the_case_variants(values: list[str]) -> None:
    """A value equal to a known name but for case is read as that name, counted; any other text is kept."""
    frame = pd.DataFrame({"analyte": pd.Series(values, dtype=object), "unit": ["x"] * len(values)})
    out, counts = read_spellings("lab_result", frame)
    known = {n.lower(): n for n in NAMES}
    expected = [known.get(v.lower(), v) if v not in known.values() else v for v in values]
    assert list(out["analyte"]) == expected
    assert list(frame["analyte"]) == values  # the input is not changed
    changed = sum(a != b for a, b in zip(values, expected, strict=True))
    assert counts == ({"analyte": changed} if changed else {})


def test_a_legacy_country_is_refused_at_the_export_by_site_and_entered_by_db_edit(
    legacy: tuple[str, StudyService], cli: Cli, tmp_path: Path
) -> None:
    """A subject at a site whose country an earlier release stored as `N/A`: the CDISC export named only
    "DM.COUNTRY record 1: required variable is empty"; it now names the site and the fix, and exports once
    the country is entered (an audited edit)."""
    url, service = legacy
    with service.transaction("admin", "import (release 0.x)", "site of CT-001 corrected") as tx:
        upsert_rows(tx, "subject", [{"subject_id": "CT-001", "site_id": "OLD"}])
    out = tmp_path / "cdisc"
    args = (
        "export",
        "cdisc",
        "--url",
        url,
        "--user",
        "admin",
        "--cutoff",
        CUTOFF.isoformat(),
        "--out",
        str(out),
    )
    code, _, err = cli(*args)
    assert code == 2
    assert "site OLD: country" in err and "cartrial db edit site" in err and "N/A" not in err
    assert not out.exists()
    site = service.find_records("admin", "site", site_id="OLD")[0]
    code, _, err = cli(
        "db",
        "edit",
        "site",
        str(site["id"]),
        "--set",
        "country=DE",
        "--expected-version",
        str(site["version"]),
        "--reason",
        "country of the site, stored before D-19.59",
        "--url",
        url,
        "--user",
        "dm",
    )
    assert code == 0, err
    with service.read() as connection:
        assert not legacy_values(connection).countries
    code, _, err = cli(*args)
    assert code == 0, err
    assert (out / "sdtm" / "dm.xpt").exists()


def test_found_and_respelled_on_both_backends(study: StudyDb) -> None:
    """`legacy_values` and `respell` on SQLite and PostgreSQL: a `Platelets` result and a sex `f` (a choice)
    written as an earlier release wrote them are respelled, audited, and nothing else changes."""
    service = study.service
    with service.transaction("admin", "import (release 0.x)", "legacy") as tx:
        upsert_rows(
            tx,
            "lab_result",
            [
                {
                    "subject_id": "CT-001",
                    "analyte": "Platelets",
                    "collected_at": "2021-06-02T08:00:00Z",
                    "value": 150.0,
                    "unit": "10^9/L",
                },
                {
                    "subject_id": "CT-001",
                    "analyte": "LDH",
                    "collected_at": "2021-06-02T08:00:00Z",
                    "value": 250.0,
                    "unit": "U/L",
                },
            ],
        )
        upsert_rows(tx, "subject", [{"subject_id": "CT-002", "sex": "f"}])
    with service.read() as connection:
        found = legacy_values(connection)
    assert {(s.table, s.field, s.spelling, s.hold) for s in found.spellings} == {
        ("lab_result", "analyte", "platelets", ""),
        ("subject", "sex", "F", ""),
    }
    result = respell(service, "dm", REASON)
    assert len(result.respelled) == 2 and not result.refused and not result.held
    with service.read() as connection:
        assert legacy_values(connection).empty
    analytes = {r["analyte"] for r in service.find_records("admin", "lab_result", subject_id="CT-001")}
    assert {"platelets", "LDH"} <= analytes and "Platelets" not in analytes  # other text kept as given
    assert service.find_records("admin", "subject", subject_id="CT-002")[0]["sex"] == "F"
    assert service.verify_audit().ok
