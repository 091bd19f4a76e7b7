"""`escalate simulate --max-n 12` with the default `--cohorts 10` and cohort size 1 silently ended every
trial at 10 patients. Without `--cohorts` the number of cohorts is now ceil(max_n / cohort_size); a given
`--cohorts` too small for `--max-n` is refused, naming both and the product (D-19.481)."""

from __future__ import annotations

import json

BASE = (
    "escalate", "simulate", "--design", "crm", "--truth", "0.05,0.1,0.15", "--skeleton", "0.1,0.2,0.3",
    "--target", "0.3", "--cohort-size", "1", "--trials", "200", "--json",
)  # fmt: skip


def test_max_n_alone_sets_the_number_of_cohorts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*BASE, "--max-n", "12")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_n"] == 12  # every trial treats 12 (safe truth, no stop)


def test_max_n_not_a_multiple_of_the_cohort_size(cli) -> None:  # type: ignore[no-untyped-def]
    args = [a if a != "1" else "5" for a in BASE]  # cohort size 5
    result = cli(*args, "--max-n", "12")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_n"] == 12  # 3 cohorts, the last one cut at 12


def test_too_few_cohorts_for_max_n_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*BASE, "--max-n", "12", "--cohorts", "10")
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "--max-n" in err and "--cohorts" in err and "10" in err and "12" in err


def test_enough_cohorts_for_max_n_runs(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*BASE, "--max-n", "12", "--cohorts", "12")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_n"] == 12


def test_without_max_n_the_default_is_10_cohorts(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*BASE)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["total_n"] == 10


def test_the_oc_print_the_cap(cli) -> None:  # type: ignore[no-untyped-def]
    args = [a for a in BASE if a != "--json"]
    result = cli(*args, "--max-n", "12", env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stderr
    assert "at most 12 patients per trial" in " ".join(result.stdout.split())
    result = cli(*args, "--cohorts", "7", env={"COLUMNS": "250"})
    assert "at most 7 patients per trial" in " ".join(result.stdout.split())
