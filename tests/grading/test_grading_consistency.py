"""One grade per assessment, whichever way it is computed (decisions §11): the same CRS and ICANS assessments
go
through the Python API (`cartrial.grading.derive_*` on a typed frame and on the CSV read back), the command
line (`cartrial grade crs|icans`) and the study store (`cartrial db derive crs|icans` on a real SQLite study
built with the store services), and give identical grades.

The reproduced bug: an afebrile assessment with masking therapy given and ``crs_resolved`` recorded was
graded 0 by the command line and 1 by the store. Expected grades are worked by hand from the ASTCT 2019 CRS
table (Lee DW et al., BBMT 2019;25:625; toxicity-grading.md §1.5) and ICANS table (PMC9327779 Table 2).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.grading import derive_crs_grades, derive_icans_grades
from cartrial.store import StudyService, connect, init_study

from ..conftest import run_cartrial

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = cartrial_examples.path("ct103a-nmosd") / "protocol.yaml"

BASE = {
    "subject_id": "CT-001",
    "vasopressors": 0,
    "vasopressin": False,
    "oxygen": "none",
    "oxygen_l_min": None,
}
CRS_CASES: list[tuple[dict[str, object], int, str]] = [
    (
        {"temperature_c": 37.0, "fever_masked": True, "crs_resolved": True, "hypotension": False},
        0,
        "afebrile, masking therapy given, resolution recorded: resolved, grade 0 (the reproduced bug)",
    ),
    (
        {"temperature_c": 37.0, "fever_masked": True, "crs_resolved": False, "hypotension": False},
        1,
        "afebrile after masking, no hypotension or hypoxia, not resolved: post_masking_grade 1 (A1)",
    ),
    (
        {
            "temperature_c": 38.9,
            "fever_masked": False,
            "hypotension": False,
            "oxygen": "nasal_cannula",
            "oxygen_l_min": 4.0,
        },
        2,
        "fever, 4 L/min nasal cannula: low-flow oxygen, grade 2",
    ),
    (
        {"temperature_f": 101.3, "fever_masked": False, "systolic_bp_mmhg": 84.0},
        2,
        "101.3 °F = 38.5 °C, SBP 84 < 90 without vasopressor: hypotension, grade 2",
    ),
    (
        {"temperature_c": 37.2, "fever_masked": True, "hypotension": False, "oxygen": "non_rebreather"},
        3,
        "masked fever, non-rebreather mask: grade 3",
    ),
    (
        {"temperature_c": 39.4, "fever_masked": False, "hypotension": True, "vasopressors": 2},
        4,
        "fever, hypotension on two vasopressors: grade 4",
    ),
]
ICANS_CASES: list[tuple[dict[str, object], int]] = [
    ({"consciousness": "awakens_spontaneously", "ice_total": 6}, 2),  # ICE 3-6: grade 2
    ({"consciousness": "alert", "ice_total": 8}, 1),  # ICE 7-9: grade 1
    ({"consciousness": "alert", "ice_total": 10}, 0),
    ({"consciousness": "awakens_to_voice", "ice_total": 2}, 3),  # ICE 0-2 or awakens to voice: grade 3
    ({"consciousness": "unarousable", "ice_total": None}, 4),  # unarousable: grade 4
    ({"consciousness": "alert", "ice_total": 9, "seizure": "rapidly_resolving"}, 3),
]
CRS_COLUMNS = [
    "subject_id", "assessed_at", "temperature_c", "temperature_f", "fever_masked", "hypotension",
    "systolic_bp_mmhg", "vasopressors", "vasopressin", "oxygen", "oxygen_l_min", "crs_resolved",
]  # fmt: skip


def crs_frame() -> pd.DataFrame:
    rows = [
        {**BASE, "assessed_at": pd.Timestamp(f"2021-06-{2 + k:02d}T08:00:00Z").to_pydatetime(), **case}
        for k, (case, _, _) in enumerate(CRS_CASES)
    ]
    return pd.DataFrame(rows).reindex(columns=CRS_COLUMNS)


def icans_frame() -> pd.DataFrame:
    rows = [
        {
            "subject_id": "CT-001",
            "assessed_at": pd.Timestamp(f"2021-06-{2 + k:02d}T09:00:00Z").to_pydatetime(),
            "seizure": "none",
            "motor": "none",
            "cerebral_edema": "none",
            **case,
        }
        for k, (case, _) in enumerate(ICANS_CASES)
    ]
    return pd.DataFrame(rows)


def store_rows(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows as the store takes them: None for blank, Python datetimes and scalars."""

    def plain(value: object) -> object:
        if value is None or (not isinstance(value, str) and pd.isna(value)):  # type: ignore[call-overload]
            return None
        if isinstance(value, pd.Timestamp):
            return value.to_pydatetime()
        return value.item() if hasattr(value, "item") else value

    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    result = run_cartrial(*args, capsys=capsys)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def stored_grades(service: StudyService, table: str, frame: pd.DataFrame) -> list[int | None]:
    """The stored derived grade of each input row, in the order of `frame` (matched by assessment time)."""
    records = {r["id"]: r["assessed_at"] for r in service.find_records("stat", table)}
    by_time = {
        pd.Timestamp(records[d["source_record_id"]]).tz_localize(None)
        if pd.Timestamp(records[d["source_record_id"]]).tzinfo is None
        else pd.Timestamp(records[d["source_record_id"]]).tz_convert(None): d["value_number"]
        for d in service.find_records("stat", "derived_value")
        if d["source_table"] == table
    }
    return [
        None if (v := by_time[pd.Timestamp(at).tz_convert(None)]) is None else int(v)
        for at in frame["assessed_at"]
    ]


@pytest.fixture
def study(tmp_path: Path) -> tuple[str, StudyService]:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    # the CLI authenticates with the password in CARTRIAL_PASSWORD_FILE (tests/conftest.py)
    password = Path(os.environ["CARTRIAL_PASSWORD_FILE"]).read_text().strip()
    init_study(url, PROTOCOL, "admin", admin_site="TJH", admin_password=password)
    service = StudyService(connect(url))
    service.add_user("admin", "dm", "data_manager", password=password)
    service.add_user("admin", "stat", "statistician", password=password)
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx,
            "subject",
            [{"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-05-06", "sex": "F"}],
        )
    return url, service


def test_crs_grade_is_the_same_through_api_cli_and_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, study: tuple[str, StudyService]
) -> None:
    """Python API (typed frame and CSV), `cartrial grade crs` and `cartrial db derive crs` agree with the hand
    grades, including the masked-and-resolved assessment (grade 0 everywhere)."""
    expected = [grade for _, grade, _ in CRS_CASES]
    frame = crs_frame()
    api = derive_crs_grades(frame).table["grade"].tolist()
    path = tmp_path / "crs.csv"
    frame.to_csv(path, index=False)
    api_from_csv = derive_crs_grades(pd.read_csv(path)).table["grade"].tolist()
    cli_out = run(capsys, "grade", "crs", str(path))
    cli = pd.read_csv(io.StringIO(cli_out))["grade"].tolist()
    url, service = study
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", store_rows(frame))
    run(capsys, "db", "derive", "crs", "--url", url, "--user", "stat")
    store = stored_grades(service, "crs_assessment", frame)
    assert api == api_from_csv == cli == store == expected


def test_icans_grade_is_the_same_through_api_cli_and_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, study: tuple[str, StudyService]
) -> None:
    expected = [grade for _, grade in ICANS_CASES]
    frame = icans_frame()
    api = derive_icans_grades(frame).table["grade"].tolist()
    path = tmp_path / "icans.csv"
    frame.to_csv(path, index=False)
    cli = pd.read_csv(io.StringIO(run(capsys, "grade", "icans", str(path))))["grade"].tolist()
    url, service = study
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "icans_assessment", store_rows(frame))
    run(capsys, "db", "derive", "icans", "--url", url, "--user", "stat")
    assert api == cli == stored_grades(service, "icans_assessment", frame) == expected


def test_store_rule_text_names_scale_and_source(study: tuple[str, StudyService]) -> None:
    """The stored rule is the engine's rule with its scale and source, as before."""
    _, service = study
    frame = crs_frame()
    with service.transaction("dm", "test") as tx:
        service.upsert_rows(tx, "crs_assessment", store_rows(frame))
    from cartrial.store.derive import derive_crs_grades as store_derive

    store_derive(service, "stat")
    rules = [d["rule"] for d in service.find_records("stat", "derived_value")]
    assert all("[ASTCT 2019; Lee DW et al." in rule for rule in rules)
