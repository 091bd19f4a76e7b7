"""The column options of `nca` and `kinetics fit` name distinct columns (issue 19 §4; cli-sweep, D-19.340).

`kinetics fit --by analyte --by analyte` ended in a pandas TypeError traceback; `--by subject_id` (the
subject column again) and `--blq-col lloq --lloq-col lloq` were reported as row conflicts or bad cells of
the file, not as the options' mistake."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

STUDY = Path(__file__).resolve().parents[2] / "examples" / "ct103a-nmosd" / "study"
PK = str(STUDY / "pk_samples.csv")
FIT = ["kinetics", "fit", PK, "--blq-col", "blq", "--lloq-col", "lloq"]
NCA = ["nca", PK, "--subject", "subject_id", "--time", "actual_day", "--conc", "value"]
NCA += [
    "--by",
    "analyte",
    "--unit-col",
    "unit",
    "--blq-col",
    "blq",
]  # tests/conftest.py EXAMPLE_PK_NCA_OPTIONS


def _without(args: list[str], option: str) -> list[str]:
    out = list(args)
    while option in out:
        i = out.index(option)
        del out[i : i + 2]
    return out


CASES = [
    (["--by", "analyte", "--by", "analyte"], "--by: column given twice (got 'analyte')"),
    (["--by", "subject_id"], "--by: column already given as --subject (got 'subject_id')"),
    (["--by", "analyte", "--time", "value"], "--conc: column already given as --time (got 'value')"),
]


@pytest.mark.parametrize(("extra", "message"), CASES)
@pytest.mark.parametrize("base", ["fit", "nca"])
def test_a_column_named_by_two_options_is_refused(
    cli: Any, base: str, extra: list[str], message: str
) -> None:
    args = FIT if base == "fit" else NCA
    for option in ("--by", "--time"):
        if option in extra:
            args = _without(args, option)
    result = cli(*args, *extra)
    assert result.exit_code == 2, (result.exit_code, result.stderr[-1500:])
    assert message in result.stderr, result.stderr


def test_blq_and_lloq_columns_are_different(cli: Any) -> None:
    args = [*_without(_without(FIT, "--blq-col"), "--lloq-col"), "--blq-col", "lloq", "--lloq-col", "lloq"]
    result = cli(*args, "--by", "analyte")
    assert result.exit_code == 2
    assert "--lloq-col: column already given as --blq-col (got 'lloq')" in result.stderr, result.stderr


def test_the_python_api_has_the_same_rule() -> None:
    import pandas as pd

    from cartrial.errors import InputError
    from cartrial.kinetics import derive_nca

    samples = pd.DataFrame({"subject_id": "S1", "day": [0, 1, 2], "c": [0.0, 1.0, 2.0], "a": "x"})
    with pytest.raises(InputError, match=r"by: column given twice \(got 'a'\)"):
        derive_nca(samples, subject="subject_id", time="day", conc="c", by=["a", "a"], conc_unit="copies/ug")


@pytest.mark.parametrize("command", ["popfit", "map"])
def test_popfit_and_map_name_the_options(cli: Any, tmp_path: Path, command: str) -> None:
    """popfit and map read the samples through the same table check: its message names their options."""
    args = ["kinetics", command, PK, "--no-figures", "--time", "value"]
    if command == "popfit":
        args += ["--out", str(tmp_path / "o"), "--k1", "2", "--k2", "2"]
    else:
        population = Path(__file__).resolve().parents[1] / "data" / "popfit" / "estimates.json"
        args += ["--patient", "CT-001", "--population", str(population)]
    result = cli(*args)
    assert result.exit_code == 2
    assert "--conc: column already given as --time (got 'value')" in result.stderr, result.stderr
    # --alq-col too, checked before the file (and the population) is read: before, the duplicate was found
    # only by the table check, which named it alq_column (the API's argument)
    result = cli(*args[:5], "actual_day", "--alq-col", "actual_day", *args[6:])
    assert result.exit_code == 2
    assert "--alq-col: column already given as --time (got 'actual_day')" in result.stderr, result.stderr
    assert "alq_column" not in result.stderr, result.stderr


@pytest.mark.parametrize("command", [NCA, [*FIT, "--subject", "subject_id", "--time", "actual_day"]])
def test_the_flag_column_is_a_column_option_too(cli: Any, command: list[str]) -> None:
    """`--alq-col` naming the value column (or any column another option names) is the options' mistake,
    named by the options before the file is read (D-19.340, D-19.668)."""
    conc = [] if "--conc" in command else ["--conc", "value"]  # an option given twice is refused (D-19.704)
    result = cli(*command, *conc, "--alq-col", "value")
    assert result.exit_code == 2
    assert "--alq-col: column already given as --conc (got 'value')" in result.stderr, result.stderr
