"""`cartrial score responders` and the relapses (D-19.900): ``--relapses FILE`` (the relapse form, merged
into attacks as the analysis merges them) and ``--baseline-visit outside_relapse|last``; without relapses the
JSON and the CSV state the baseline rule and ``relapse_data`` false, never an exclusion that did not happen.
Before: no such options, and the output said nothing of the rule.

Hand values: infusion 2021-06-01 (day 0); a myelitis onset on 2021-05-12 (day -20); 25-foot walk 6.0 s on
2021-04-02 (day -60), 12.0 s on 2021-05-27 (day -5, during the attack), 6.0 s on 2021-08-30 (day 90).
Outside the attack the baseline is 6.0 s (not 20 % faster: no responder); the last, 12.0 s (50 % faster).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from ..conftest import run_cartrial
from ..conftest import write_file as write

INFUSIONS = "subject_id,infused_at\nS1,2021-06-01T02:00:00Z\n"
WALK = (
    "subject_id,assessed_at,trial_1_seconds,trial_2_seconds,unable_to_walk\n"
    "S1,2021-04-02,6.0,6.0,false\nS1,2021-05-27,12.0,12.0,false\nS1,2021-08-30,6.0,6.0,false\n"
)
RELAPSES = "subject_id,onset_date,phenotype,severity\nS1,2021-05-12,myelitis,moderate\n"


def _run(tmp_path: Path, *extra: str) -> tuple[int, str, str]:
    inf = write(tmp_path, "i.csv", INFUSIONS)
    walk = write(tmp_path, "w.csv", WALK)
    args = ["score", "responders", "--infusions", str(inf), "--timed-walk", str(walk)]
    result = run_cartrial(*args, "--definition", "t25fw_20pct_faster", *extra)
    return result.exit_code, result.stdout, result.output


def test_relapses_exclude_the_walk_during_the_attack(tmp_path: Path) -> None:
    relapses = write(tmp_path, "r.csv", RELAPSES)
    code, stdout, output = _run(tmp_path, "--relapses", str(relapses), "--json")
    assert code == 0, output
    payload = json.loads(stdout)
    assert (payload["baseline_visit"], payload["relapse_data"], payload["relapse_exclusion_days"]) == (
        "outside_relapse",
        True,
        30,
    )
    (subject,) = payload["rows"][0]["subjects"]
    assert (subject["evaluable"], subject["responder"]) == (True, False)


def test_last_keeps_the_walk_during_the_attack(tmp_path: Path) -> None:
    relapses = write(tmp_path, "r.csv", RELAPSES)
    code, stdout, output = _run(tmp_path, "--relapses", str(relapses), "--baseline-visit", "last", "--json")
    assert code == 0, output
    payload = json.loads(stdout)
    assert payload["baseline_visit"] == "last"
    assert payload["rows"][0]["subjects"][0]["responder"] is True


def test_without_relapses_the_output_says_nothing_was_excluded(tmp_path: Path) -> None:
    code, stdout, output = _run(tmp_path, "--json")
    assert code == 0, output
    payload = json.loads(stdout)
    assert (payload["baseline_visit"], payload["relapse_data"]) == ("outside_relapse", False)
    assert any("no relapse data given" in n for n in payload["notes"])
    assert "no relapse data given" in output  # warned on stderr too
    code, stdout, output = _run(tmp_path)
    assert code == 0, output
    (row,) = list(csv.DictReader(io.StringIO(stdout)))
    assert (row["baseline_visit"], row["relapse_data"]) == ("outside_relapse", "False")


@pytest.mark.parametrize(
    ("args", "needle"),
    [(("--baseline-visit", "first"), "--baseline-visit"), (("--relapses", "missing.csv"), "missing.csv")],
)
def test_bad_relapse_options_are_clear_errors(tmp_path: Path, args: tuple[str, str], needle: str) -> None:
    code, _, output = _run(tmp_path, *args)
    assert code == 2 and needle in output and "Traceback" not in output


def test_a_bad_relapse_row_is_located(tmp_path: Path) -> None:
    relapses = write(
        tmp_path, "r.csv", "subject_id,onset_date,phenotype,severity\nS1,2021-13-40,myelitis,mild\n"
    )
    code, _, output = _run(tmp_path, "--relapses", str(relapses))
    assert code == 2 and "row 2, onset_date" in output and "Traceback" not in output
