"""A repeated sample is named by its rows and fields, never by a value of the record (D-12.2): the
duplicate-row problems of the sample readers (`cartrial.columns.check_repeated_keys`, used by nca,
`kinetics fit` and `kinetics popfit`) quoted the repeated key cell ("(got '0.0')")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import InputError

SENTINEL_TIME, SENTINEL_SUBJECT = "0.987654", "ZQ-SENTINEL-7"


@pytest.mark.parametrize(
    "command",
    [
        ("nca", "--conc-unit", "u"),
        ("kinetics", "fit"),
        ("kinetics", "popfit"),
    ],
)
def test_a_repeated_sample_names_rows_and_fields_only(
    cli: Any, tmp_path: Path, command: tuple[str, ...]
) -> None:
    file = tmp_path / "pk.csv"
    rows = [("0", "5"), (SENTINEL_TIME, "10"), (SENTINEL_TIME, "11"), ("2", "4")]
    file.write_text("id,t,c\n" + "".join(f"{SENTINEL_SUBJECT},{t},{c}\n" for t, c in rows), encoding="utf-8")
    head, options = (command[:1], command[1:]) if command[0] == "nca" else (command, ())
    args = [*head, str(file), "--subject", "id", "--time", "t", "--conc", "c", *options]
    result = cli(*args, "--out", str(tmp_path / "o"))
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, said
    assert "row 4, t: duplicate of row 3 (same id and t; differs in c)" in said, said
    assert "row 3, t: conflicts with row 4" in said, said
    assert SENTINEL_TIME not in said and SENTINEL_SUBJECT not in said and "got" not in said, said


def test_the_problem_carries_no_value() -> None:
    import pandas as pd

    from cartrial.columns import RowProblems, check_repeated_keys

    frame = pd.DataFrame({"subject_id": SENTINEL_SUBJECT, "day": [SENTINEL_TIME] * 2, "c": ["5", "7"]})
    problems = RowProblems("pk.csv")
    check_repeated_keys(frame[["subject_id", "day"]], frame, problems, "day")
    assert [p.row for p in problems.all()] == [2, 3]
    assert all(p.value is None for p in problems.all())
    with pytest.raises(InputError) as caught:
        problems.raise_if_any()
    assert SENTINEL_TIME not in str(caught.value) and SENTINEL_SUBJECT not in str(caught.value)
