"""The example study's conduct against its protocol's 28-day DLT window (decisions §12).

The checks read the CSV forms with the standard library and do the date arithmetic here, independently of
`replay_decisions`; the replay itself must then agree that no recorded decision is a deviation.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from cartrial import templates as cartrial_templates
from cartrial.escalation import replay_decisions


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def study(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "study"


def _cohorts(study: Path) -> list[tuple[dict[str, str], list[dict[str, str]]]]:
    """Each recorded decision with its cohort's infusions: patients in order of infusion, as many per cohort
    as the outcome string has letters (the string is the dose level, then one letter per patient)."""
    decisions = sorted(_rows(study / "escalation_decisions.csv"), key=lambda row: int(row["cohort"]))
    infusions = sorted(
        _rows(study / "infusions.csv"), key=lambda row: (_moment(row["infused_at"]), row["subject_id"])
    )
    cohorts, used = [], 0
    for decision in decisions:
        size = len(decision["outcomes"]) - len(decision["dose_level"])
        cohorts.append((decision, infusions[used : used + size]))
        used += size
    assert used == len(infusions) == 12
    return cohorts


def test_every_decision_waits_for_the_dlt_window_and_precedes_the_next_cohort(study: Path) -> None:
    from cartrial.protocol import load_protocol

    window_days = load_protocol(study.parent / "protocol.yaml").escalation.dlt_window_days
    assert window_days == 28
    cohorts = _cohorts(study)
    assert [[row["subject_id"] for row in members] for _, members in cohorts] == [
        ["CT-001", "CT-002", "CT-003"],
        ["CT-004", "CT-005", "CT-006"],
        [f"CT-{n:03d}" for n in range(7, 13)],
    ]
    for position, (decision, members) in enumerate(cohorts):
        decided_on = date.fromisoformat(decision["decided_on"])
        assert {row["dose_level"] for row in members} == {decision["dose_level"]}
        last_infused_on = max(_moment(row["infused_at"]).date() for row in members)
        assert decided_on >= last_infused_on + timedelta(days=window_days), decision
        if position + 1 < len(cohorts):
            next_first = min(_moment(row["infused_at"]).date() for row in cohorts[position + 1][1])
            assert next_first >= decided_on, (decision, next_first)
    # the dates themselves (README): decided the day the last patient of the cohort completes 28 days
    assert [d["decided_on"] for d, _ in cohorts] == ["2021-07-06", "2021-09-21", "2022-01-04"]


def test_the_recorded_decisions_replay_without_deviation(study: Path) -> None:
    from cartrial.protocol import load_protocol
    from cartrial.tabular import read_csv

    protocol = load_protocol(study.parent / "protocol.yaml")
    result = replay_decisions(
        read_csv(study / "escalation_decisions.csv"), read_csv(study / "infusions.csv"), None, protocol
    )
    table = result.table
    assert table["deviation"].tolist() == ["", "", ""]
    assert table["window_complete"].all()
    assert (
        table["recorded_decision"].tolist()
        == table["design_decision"].tolist()
        == ["escalate", "expand", "stop"]
    )


def test_dated_records_agree_with_each_subjects_infusion(study: Path) -> None:
    """The shift of cohorts 1 and 2 moved every record of a subject by the same number of days: the study days
    written next to the dates (lymphodepletion day, PK/PD actual day) still match date − infusion."""
    infused = {row["subject_id"]: _moment(row["infused_at"]) for row in _rows(study / "infusions.csv")}
    for row in _rows(study / "lymphodepletion.csv"):
        days = (date.fromisoformat(row["administered_on"]) - infused[row["subject_id"]].date()).days
        assert days == int(row["day_relative_to_infusion"]), row
    for form in ("pk_samples.csv", "pd_samples.csv"):
        for row in _rows(study / form):
            elapsed_days = (_moment(row["sampled_at"]) - infused[row["subject_id"]]) / timedelta(days=1)
            # pre-dose samples are taken up to 1 h before the infusion and recorded as day 0.0
            assert abs(elapsed_days - float(row["actual_day"])) <= 1 / 24 + 1e-9, (form, row)
    for row in _rows(study / "subjects.csv"):
        assert date.fromisoformat(row["consent_date"]) < infused[row["subject_id"]].date(), row


def test_the_template_sample_of_decisions_mirrors_the_example(study: Path) -> None:
    template = cartrial_templates.path() / "escalation_decisions.csv"
    assert _rows(template) == _rows(study / "escalation_decisions.csv")


def test_patients_the_protocols_design_would_not_have_treated_are_a_deviation(study: Path) -> None:
    """A protocol that passes `protocol check` whose design stops after the first cohort (BOIN, max_n 3)
    against the example's conduct (three cohorts): every later cohort is listed as a deviation; before, the
    replay failed with "--outcomes: expansion patients must be treated at level 1" (an option `escalate
    replay` does not have)."""
    from cartrial.protocol import parse_protocol
    from cartrial.tabular import read_csv

    text = (study.parent / "protocol.yaml").read_text(encoding="utf-8")
    start = text.index("escalation:\n")
    end = text.index("  dlt_window_days:", start)
    text = text[:start] + "escalation:\n  design: boin\n  target: 0.3\n  max_n: 3\n" + text[end:]
    protocol = parse_protocol(text)
    decisions = read_csv(study / "escalation_decisions.csv")
    result = replay_decisions(decisions, read_csv(study / "infusions.csv"), None, protocol)
    table = result.table
    assert len(table) == len(decisions)
    assert (table["deviation"] != "").all()
    later = table.iloc[1:]
    assert later["design_decision"].eq("").all() and later["design_next_dose"].isna().all()
    assert later["deviation"].str.contains("the protocol's design gives no decision after").all()
