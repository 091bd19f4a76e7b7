"""CLI tests for `cartrial nca` and `cartrial kinetics simulate|fit` (decisions §6 CLI and column names)."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial import templates as cartrial_templates
from cartrial.cli import main

from ..conftest import EXAMPLE_PK_NCA_OPTIONS, CliResult, run_cartrial


def _run(*args: str) -> CliResult:
    return run_cartrial(*args)


def test_nca_theoph_json_records_options_and_units(validation_dir):  # type: ignore[no-untyped-def]
    """Theoph subject 1 through the CLI: PKNCA published AUClast 0-Inf 147.234749 and the automatic 0-24
    AUClast 92.365442 (cellular-kinetics.md §3); options and units are in the JSON."""
    result = _run(
        "nca",
        str(validation_dir / "theoph.csv"),
        "--subject",
        "Subject",
        "--time",
        "Time",
        "--conc",
        "conc",
        "--time-unit",
        "h",
        "--conc-unit",
        "mg/L",
        "--interval",
        "0,24",
        "--json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["options"]["auc_method"] == "lin_up_log_down"
    assert payload["units"]["auclast"] == "mg·h/L"
    row = next(r for r in payload["rows"] if str(r["Subject"]) == "1")
    assert row["auclast"] == pytest.approx(147.234749, rel=1e-6)
    assert row["auclast_0_24"] == pytest.approx(92.365442, rel=1e-6)
    for column in (
        "cmax",
        "tmax",
        "clast",
        "tlast",
        "aucall",
        "aumclast",
        "lambda_z",
        "half_life",
        "adj_r2",
        "lambda_z_n",
        "lambda_z_tfirst",
        "clast_pred",
        "aucinf_obs",
        "aucinf_pred",
        "auc_0_24",
    ):
        assert column in row


def test_nca_options_change_results(tmp_path):  # type: ignore[no-untyped-def]
    """--blq zero keeps the middle BLQ (cellular-kinetics.md §2.3): AUClast 5+5+8+8/ln2 vs PKNCA's drop."""
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,10\nA,2,0\nA,4,8\nA,6,4\nA,8,0\n")
    base = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "copies/ug"]
    pknca = pd.read_csv(pd.io.common.StringIO(_run(*base).stdout))
    zero = pd.read_csv(pd.io.common.StringIO(_run(*base, "--blq", "zero", "--auc-method", "linear").stdout))
    assert pknca["auclast"].iloc[0] == pytest.approx(5 + 6 / math.log(1.25) + 8 / math.log(2))
    assert zero["auclast"].iloc[0] == pytest.approx(5 + 5 + 8 + 12)
    assert "blq(first/middle/last)=keep/keep/keep" in zero["nca_options"].iloc[0]
    assert zero["auc_unit"].iloc[0] == "copies·day/ug"


def test_nca_bad_rows_are_listed_and_nothing_written(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """Non-numeric and negative concentrations and duplicate times: exit 2, every bad row named."""
    file = tmp_path / "bad.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,abc\nA,2,-3\nA,3,4\nA,3,5\nB,0,0\nC,0,x\n")
    out = tmp_path / "out.csv"
    args = ["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c", "--conc-unit", "u"]
    code = main([*args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "row 3" in err and "not a number" in err and "row 4" in err and "out of range" in err
    assert "row 5" in err and "row 6" in err and "duplicate" in err
    assert not out.exists()
    kept = _run(*args, "--keep-going")
    assert kept.exit_code == 0
    table = pd.read_csv(pd.io.common.StringIO(kept.stdout))
    assert "row 3" in table.loc[table["id"] == "A", "input_errors"].iloc[0]
    # a subject whose every row is bad is kept, with the reason (no row is dropped silently)
    lost = table.loc[table["id"] == "C"].iloc[0]
    assert "row 8" in lost["input_errors"] and "no valid sample" in lost["not_estimable"]


def test_nca_missing_unit_is_an_error(tmp_path, capsys):  # type: ignore[no-untyped-def]
    """Missing units are bad input (decisions §6): exit 2 with the fix named."""
    file = tmp_path / "p.csv"
    file.write_text("id,t,c\nA,0,0\nA,1,1\n")
    code = main(["nca", str(file), "--subject", "id", "--time", "t", "--conc", "c"])
    assert code == 2 and "unit is missing" in capsys.readouterr().err


def test_nca_example_pk_samples_by_analyte(examples_dir):  # type: ignore[no-untyped-def]
    """The shipped form analysed per analyte with units from its unit column."""
    result = _run(
        "nca",
        str(examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv"),
        *EXAMPLE_PK_NCA_OPTIONS,
        "--interval",
        "0,28",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert len(table) == 24
    assert set(table["auc_unit"]) == {"copies·day/ug gDNA", "cells·day/uL"}
    assert (
        table["not_estimable"].isna() | (table["lambda_z"].isna() == table["not_estimable"].notna())
    ).all()


def test_simulate_is_reproducible(tmp_path):  # type: ignore[no-untyped-def]
    args = [
        "kinetics",
        "simulate",
        "--model",
        "stein2019",
        "--subjects",
        "4",
        "--seed",
        "7",
        "--days",
        "0:28",
    ]
    first, second = _run(*args), _run(*args)
    assert first.exit_code == 0 and first.stdout == second.stdout
    table = pd.read_csv(pd.io.common.StringIO(first.stdout))
    assert len(table) == 4 * 29


def test_fit_reports_not_estimable_profiles(examples_dir):  # type: ignore[no-untyped-def]
    """Sparse profiles get a not_estimable reason instead of a crash."""
    result = _run(
        "kinetics",
        "fit",
        str(examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv"),
        "--model",
        "stein2019",
        "--by",
        "analyte",
        "--blq-col",
        "blq",
        "--lloq-col",
        "lloq",
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert len(table) == 24
    missing = table["cmax"].isna()
    assert missing.any() and table.loc[missing, "not_estimable"].str.contains("cannot identify").all()


def test_demo_step_writes_tables_and_plot(tmp_path, repo_root):  # type: ignore[no-untyped-def]
    """Decisions §6 acceptance: the demo simulates the 12 example patients, runs NCA on them and on the
    shipped
    pk_samples.csv, and writes the table and a PNG of the expansion curves by dose level."""
    from rich.console import Console

    from cartrial.demo import DemoContext
    from cartrial.demo.kinetics import run

    console = Console(record=True, width=120)
    ctx = DemoContext(
        examples_dir=cartrial_examples.path("ct103a-nmosd").parent,
        templates_dir=cartrial_templates.path(),
        out_dir=tmp_path,
        console=console,
    )
    run(ctx)
    out = tmp_path / "kinetics"
    simulated = pd.read_csv(out / "nca_simulated.csv")
    assert len(simulated) == 12 and set(simulated["dose_level"]) == {1, 2}
    assert "auc_0_28" in simulated.columns and (simulated["auc_unit"] == "copies·day/ug gDNA").all()
    payload = json.loads((out / "nca_simulated.json").read_text())
    assert payload["options"]["blq_middle"] == "drop" and len(payload["rows"]) == 12
    assert len(pd.read_csv(out / "nca_pk_samples.csv")) == 24
    assert (out / "expansion_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "2/12" in console.export_text()


def test_fit_group_without_an_observed_cmax_is_summarised_without_a_warning(examples_dir, tmp_path):  # type: ignore[no-untyped-def]
    """A `--by` group whose every profile has no observed Cmax (one sample of an analyte written once, say
    by mistake) made the refused-profile summary take the median of nothing: numpy's "Mean of empty slice"
    RuntimeWarning on stderr with exit 0 (sweepcli). The summary now says "none"."""
    import warnings

    frame = pd.read_csv(
        examples_dir / "ct103a-nmosd" / "study" / "pk_samples.csv", dtype=str, keep_default_na=False
    )
    frame.loc[frame.index[0], "analyte"] = "typo_analyte"
    file = tmp_path / "pk.csv"
    frame.to_csv(file, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = _run(
            "kinetics", "fit", str(file), "--by", "analyte", "--blq-col", "blq", "--lloq-col", "lloq"
        )
    assert result.exit_code == 0, result.output
    assert "RuntimeWarning" not in result.stderr
    shown = " ".join(result.stderr.split())  # the notes are wrapped to the terminal width
    assert "(analyte=typo_analyte) refused as not identifiable; median observed Cmax none refused" in shown


def test_nca_refuses_a_repeated_interval_naming_the_option(validation_dir):  # type: ignore[no-untyped-def]
    """``--interval 0,24 --interval 0,24.0`` gave one AUC column without a word; refused at the option with
    the value (the protocol's rule, `cartrial.protocol.nca_options.repeated_intervals`)."""
    args = (
        "nca",
        str(validation_dir / "theoph.csv"),
        "--subject",
        "Subject",
        "--time",
        "Time",
        "--conc",
        "conc",
    )
    result = _run(
        *args, "--time-unit", "h", "--conc-unit", "mg/L", "--interval", "0,24", "--interval", "0,24.0"
    )
    assert result.exit_code == 2
    assert "--interval: this partial-AUC interval is given twice (got '0,24')" in result.stderr
