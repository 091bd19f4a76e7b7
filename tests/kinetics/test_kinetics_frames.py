"""One derivation path (decisions §11): `derive_nca` / `derive_stein2019_fits` are what the CLI and the demo
call;
typed frames and CSV strings give the same result and the same row numbers; the command module imports no
engine at module level; the PK/PD template contract lives in `cartrial.kinetics.templates`."""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial import templates as cartrial_templates
from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.kinetics import NcaOptions, derive_nca, derive_stein2019_fits, stein2019_concentration
from cartrial.tabular import read_csv

from ..conftest import EXAMPLE_PK_NCA_OPTIONS, run_cartrial

SRC = Path(__file__).resolve().parents[2] / "src" / "cartrial"


def test_same_bad_sample_is_the_same_row_through_api_and_cli(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """The review's case: a negative sample was 'row 1' through the API and 'row 3' through the CLI.
    Both now say row 3 (header row 1, first data row 2: the spreadsheet line)."""
    text = "id,t,c\nA,0,0\nA,1,-3\nA,2,4\n"
    file = tmp_path / "p.csv"
    file.write_text(text)
    typed = pd.DataFrame({"id": ["A", "A", "A"], "t": [0, 1, 2], "c": [0.0, -3.0, 4.0]})
    with pytest.raises(InputError) as caught:
        derive_nca(typed, subject="id", time="t", conc="c", conc_unit="u")
    assert [p.row for p in caught.value.problems] == [3]
    with pytest.raises(InputError) as from_strings:
        derive_nca(read_csv(file), subject="id", time="t", conc="c", conc_unit="u")
    assert [p.row for p in from_strings.value.problems] == [3]
    code = main(["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "u"])
    err = capsys.readouterr().err
    assert code == 2 and "row 3" in err and "row 1," not in err


def test_typed_frame_and_csv_strings_give_identical_nca(examples_dir):  # type: ignore[no-untyped-def]
    """pandas' own reading (numbers, booleans, NaN) and cartrial's all-string reading give one table."""
    path = examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv"
    kwargs = {
        "subject": "subject_id",
        "by": ["analyte"],
        "time": "actual_day",
        "conc": "value",
        "unit_column": "unit",
        "blq_column": "blq",
        "options": NcaOptions(intervals=((0, 28),)),
    }
    typed = derive_nca(pd.read_csv(path), **kwargs)
    strings = derive_nca(read_csv(path), **kwargs)
    pd.testing.assert_frame_equal(typed.table, strings.table)
    assert typed.metadata()["derivation"] == "cartrial.kinetics.derive_nca"


def test_cli_nca_is_the_api_result(examples_dir):  # type: ignore[no-untyped-def]
    """The CLI writes exactly `derive_nca(...).table` and its metadata."""
    path = examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv"
    result = run_cartrial(
        "nca",
        str(path),
        *EXAMPLE_PK_NCA_OPTIONS,
        "--interval",
        "0,28",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    api = derive_nca(
        read_csv(path),
        subject="subject_id",
        by=["analyte"],
        time="actual_day",
        conc="value",
        unit_column="unit",
        blq_column="blq",
        options=NcaOptions(intervals=((0, 28),)),
    )
    cli_table = pd.DataFrame(payload["rows"])
    assert list(cli_table.columns) == list(api.table.columns)
    np.testing.assert_allclose(
        cli_table["auc_0_28"].astype(float), api.table["auc_0_28"].astype(float), rtol=1e-12
    )
    assert payload["units"] == "see units_by_conc_unit"
    assert payload["options"] == api.metadata()["options"]


def test_fit_api_equals_cli(tmp_path):  # type: ignore[no-untyped-def]
    """`cartrial kinetics fit` writes `derive_stein2019_fits(...).table`."""
    days = np.array([0.5, 2, 4, 7, 10, 14, 21, 28, 60, 90, 180, 365])
    level = stein2019_concentration(days, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032)
    noisy = level * np.exp(np.random.default_rng(5).normal(0, 0.2, days.size))
    frame = pd.DataFrame({"subject_id": "S1", "actual_day": days, "value": noisy})
    file = tmp_path / "pk.csv"
    frame.to_csv(file, index=False)
    api = derive_stein2019_fits(read_csv(file), lloq=10)
    cli = run_cartrial("kinetics", "fit", str(file), "--lloq", "10")
    assert cli.exit_code == 0, cli.output
    table = pd.read_csv(io.StringIO(cli.stdout))
    assert table["tmax_days"].iloc[0] == pytest.approx(api.table["tmax_days"].iloc[0], rel=1e-12)


def test_command_module_imports_no_engine_at_top() -> None:
    """Fast start-up (decisions §11): only the standard library, typer, rich and cartrial.errors at the
    top."""
    tree = ast.parse((SRC / "commands" / "kinetics_commands.py").read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    heavy = [
        n
        for n in names
        if n.split(".")[0] in {"numpy", "pandas", "scipy"} or n.startswith("cartrial.kinetics")
    ]
    assert heavy == [] and "typer" in names


def test_template_contract_lives_with_the_kinetics_templates() -> None:
    """The PK/PD column contract is declared in cartrial.kinetics.templates; the generators and the import
    forms use it from there, not from the synthetic-data generator."""
    from cartrial.kinetics import synthetic, templates

    assert synthetic.PK_COLUMNS is templates.PK_COLUMNS and synthetic.PD_COLUMNS is templates.PD_COLUMNS
    header = (cartrial_templates.path() / "pk_samples.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == templates.PK_COLUMNS
    header = (cartrial_templates.path() / "pd_samples.csv").read_text().splitlines()[0]
    assert tuple(header.split(",")) == templates.PD_COLUMNS


BLQ_ROWS = "subject_id,actual_day,value,lloq,blq\nS1,0,,50,true\nS1,1,{value},50,true\nS1,2,400,50,false\n"


@pytest.mark.parametrize("lloq_option", [["--lloq-col", "lloq"], ["--lloq", "50"]])
def test_nca_refuses_a_blq_flag_on_a_value_above_the_lloq(tmp_path, capsys, lloq_option):  # type: ignore[no-untyped-def]
    """A row flagged blq=true with 123456 copies (LLOQ 50) was coded 0 without a word: the flag and the value
    contradict each other. Refused at its row; a BLQ row with a blank value or one below the LLOQ (as the
    template allows) is still read; one at the LLOQ is a quantified value and refused, as the store refuses it
    (D-19.1106), and the allowed text names the LLOQ's source, not its value (D-12.2)."""
    file = tmp_path / "pk.csv"
    args = ["nca", str(file), "--subject", "subject_id", "--time", "actual_day", "--conc", "value"]
    args += ["--conc-unit", "copies/ug", "--blq-col", "blq", *lloq_option]
    file.write_text(BLQ_ROWS.format(value="123456"))
    code, out, err = run_cartrial(*args, capsys=capsys).astuple()
    assert code == 2 and out == ""
    assert f"{file}, row 3, value: the sample is flagged BLQ (blq=true) but its value is at or above" in err
    source = (
        "the row's lloq" if lloq_option[0] == "--lloq-col" else "the lloq given for every sample (CLI --lloq)"
    )
    assert f"(got '123456'); allowed: blank or below the LLOQ ({source}) when blq=true" in err
    for value in ("", "12", "49.9"):
        file.write_text(BLQ_ROWS.format(value=value))
        code, _, err = run_cartrial(*args, capsys=capsys).astuple()
        assert code == 0, err
    file.write_text(BLQ_ROWS.format(value="50"))
    code, _, err = run_cartrial(*args, capsys=capsys).astuple()
    assert code == 2 and f"{file}, row 3, value:" in err


def test_fit_and_population_readers_refuse_the_same_blq_contradiction(tmp_path: Path) -> None:
    """`kinetics fit` (`derive_stein2019_fits`) and `kinetics popfit` (`PopulationData.from_frame`) read the
    samples with the same validator, so the same row is refused with the same message."""
    from cartrial.kinetics.popfit import PopulationData

    file = tmp_path / "pk.csv"
    file.write_text(BLQ_ROWS.format(value="123456"))
    frame = read_csv(file)
    with pytest.raises(InputError) as fit:
        derive_stein2019_fits(frame, lloq_column="lloq", blq_column="blq")
    with pytest.raises(InputError) as population:
        PopulationData.from_frame(frame, analyte_column=None, source="pk.csv")
    for caught in (fit, population):
        [problem] = caught.value.problems
        assert (problem.row, problem.field, problem.value) == (3, "value", "123456")
        assert "flagged BLQ (blq=true) but its value is at or above the LLOQ" in problem.message


def test_a_repeated_sample_time_is_refused_at_the_second_row(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """The same sample exported twice: both rows were 'duplicate time within a subject'; now the repeat
    only, naming the first row and saying the copies are identical (D-19.18, PKNCA's rule)."""
    file = tmp_path / "pk.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10\nA,1,10\nA,2,4\n")
    code, _, err = run_cartrial(
        "nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "u", capsys=capsys
    ).astuple()
    assert code == 2 and "row 3, t" not in err
    assert f"{file}, row 4, t: duplicate of row 3 (same id and t; identical values)" in err, err
