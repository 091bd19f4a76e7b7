"""`cartrial kinetics popfit` and `cartrial kinetics map` (issue 17): outputs, the store route, and bad input
(a clear message and exit 2, never a traceback; a non-converged fit labelled in every output)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples

from ...conftest import PopfitExampleRun, run_cartrial

PK = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
FAST = ("--k1", "60", "--k2", "30")


@pytest.fixture(scope="module")
def popfit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("popfit")
    result = run_cartrial("kinetics", "popfit", str(PK), "--seed", "3", *FAST, "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def test_popfit_writes_estimates_ebes_diagnostics_figures_and_html(popfit_dir: Path) -> None:
    for name in (
        "estimates.json",
        "estimates.csv",
        "ebe.csv",
        "diagnostics.csv",
        "vpc.csv",
        "trace.csv",
        "summary.html",
        "obs_vs_pred.png",
        "npde.png",
        "individual_fits.png",
        "vpc.png",
        "saem_trace.png",
    ):
        assert (popfit_dir / name).stat().st_size > 0, name
    doc = json.loads((popfit_dir / "estimates.json").read_text())
    assert doc["model"] == "stein2019" and doc["blq"] == "m3"
    status = doc["status"]
    estimates = pd.read_csv(popfit_dir / "estimates.csv")
    assert set(estimates["status"]) == {status}
    assert status in (popfit_dir / "summary.html").read_text()
    # every interval is labelled by its method, and the HTML explains the labels it uses
    assert set(estimates["ci_method"]) <= {"satterthwaite", "wald_log", "wald", "profile", "none"}
    assert estimates.loc[estimates["ci95_low"].isna(), "ci_method"].eq("none").all()
    assert {r["ci_method"] for r in doc["estimates"]} == set(estimates["ci_method"])
    html_text = (popfit_dir / "summary.html").read_text()
    assert "95 % CI method" in html_text and all(m in html_text for m in set(estimates["ci_method"]))
    diag = pd.read_csv(popfit_dir / "diagnostics.csv")
    raw = pd.read_csv(PK)
    assert len(diag) == int((raw["analyte"] == "car_transgene").sum())
    assert diag.loc[~diag["blq"], "npde"].notna().all()
    vpc = pd.read_csv(popfit_dir / "vpc.csv")
    assert vpc["obs_blq_fraction"].between(0, 1).all()


def test_map_of_a_new_patient_from_the_population_file(popfit_dir: Path, tmp_path: Path) -> None:
    patient = tmp_path / "new.csv"
    patient.write_text(
        "subject_id,analyte,actual_day,value,lloq,blq\n"
        "NEW-1,car_transgene,7,3100,50,false\n"
        "NEW-1,car_transgene,14,,50,true\n",
        encoding="utf-8",
    )
    result = run_cartrial(
        "kinetics",
        "map",
        str(patient),
        "--population",
        str(popfit_dir / "estimates.json"),
        "--json",
        "--out",
        str(tmp_path / "map"),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["subject"] == "NEW-1"
    assert {p["parameter"] for p in doc["parameters"]} == {
        "foldx",
        "tmax_days",
        "cmax",
        "alpha_per_day",
        "fb",
        "beta_per_day",
    }
    assert "samples used: 1 quantifiable, 1 BLQ" in doc["notes"][0]
    assert (tmp_path / "map" / "map_profile.csv").exists()


def test_popfit_from_the_store_with_a_dose_level_covariate(example_sqlite: str, tmp_path: Path) -> None:
    result = run_cartrial(
        "kinetics",
        "popfit",
        "--url",
        example_sqlite,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--covariate",
        "cmax~dose_level:cat",
        *FAST,
        "--no-figures",
        "--json",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["n_subjects"] >= 2
    assert any(e["kind"] == "covariate" for e in doc["estimates"])


def test_non_convergence_is_labelled_everywhere(tmp_path: Path) -> None:
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(PK),
        "--k1",
        "5",
        "--k2",
        "5",
        "--no-figures",
        "--json",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "NOT CONVERGED" and doc["convergence_problems"]
    assert set(pd.read_csv(tmp_path / "o" / "estimates.csv")["status"]) == {"NOT CONVERGED"}
    assert set(pd.read_csv(tmp_path / "o" / "ebe.csv")["status"]) == {"NOT CONVERGED"}
    assert "NOT CONVERGED" in (tmp_path / "o" / "summary.html").read_text()
    assert json.loads((tmp_path / "o" / "estimates.json").read_text())["converged"] is False


def _with_unquantified_subject(tmp_path: Path) -> Path:
    raw = pd.read_csv(PK, dtype=str, keep_default_na=False)
    first = raw["subject_id"].iloc[0]
    mask = (raw["subject_id"] == first) & (raw["analyte"] == "car_transgene")
    raw.loc[mask, "value"] = ""
    raw.loc[mask, "blq"] = "true"
    path = tmp_path / "pk.csv"
    raw.to_csv(path, index=False)
    return path


def test_subject_without_a_quantifiable_sample_is_a_clear_error(tmp_path: Path) -> None:
    path = _with_unquantified_subject(tmp_path)
    result = run_cartrial("kinetics", "popfit", str(path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert "no quantifiable sample" in result.stderr and "--allow-unquantified" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--covariate", "cmax~dose_level"), "needs --covariates"),
        (("--method", "foce"), "allowed: saem | focei | laplace"),
        (("--covariate", "cmax-dose"), "PARAMETER~COVARIATE"),
        (("--blq", "m2"), "allowed: m3 | m1"),
        (("--initial", "cmax"), "NAME=VALUE"),
        (("--model", "one_compartment_oral"), "needs each subject's dose"),
        (("--model", "nope"), "unknown population model"),
        (("--k1", "0"), "out of range"),
        (("--ci", "bootstrap"), "allowed: auto | wald | profile"),
        (("--variance-ci", "profile"), "allowed: satterthwaite | wald"),
        (("--proposal", "normal"), "allowed: laplace | mcmc | mixture"),
        (("--figure-format", "pdf"), "allowed: png | svg"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cartrial("kinetics", "popfit", str(PK), *args, "--out", str(tmp_path / "o"))
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr and "Traceback" not in result.stderr


def test_constant_covariate_is_not_identifiable(tmp_path: Path) -> None:
    ids = sorted(set(pd.read_csv(PK)["subject_id"]))
    cov = tmp_path / "cov.csv"
    pd.DataFrame({"subject_id": ids, "weight_kg": 70.0}).to_csv(cov, index=False)
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(PK),
        "--covariates",
        str(cov),
        "--covariate",
        "cmax~weight_kg",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 2
    assert "not identifiable" in result.stderr and "weight_kg" in result.stderr


def test_map_rejects_a_file_that_is_not_a_population_model(tmp_path: Path) -> None:
    bad = tmp_path / "estimates.json"
    bad.write_text('{"model": "stein2019"}', encoding="utf-8")
    patient = tmp_path / "p.csv"
    patient.write_text("subject_id,actual_day,value\nP,7,100\n", encoding="utf-8")
    result = run_cartrial("kinetics", "map", str(patient), "--population", str(bad))
    assert result.exit_code == 2
    assert "not a cartrial population model" in result.stderr


def test_theophylline_by_the_laplacian_method_on_the_linear_scale(
    validation_dir: Path, tmp_path: Path
) -> None:
    """A non-template file (Theoph columns), a dose column, the linear scale (a 0 pre-dose concentration is an
    observation, not BLQ); `--method laplace` is checked in test_popfit_theoph.py."""
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(validation_dir / "theoph.csv"),
        "--model",
        "one_compartment_oral_ke",
        *FAST,
        "--subject",
        "Subject",
        "--time",
        "Time",
        "--conc",
        "conc",
        "--dose-col",
        "Dose",
        "--scale",
        "linear",
        "--iiv",
        "cl,ka",
        "--omega",
        "full",
        "--initial",
        "cl=0.04",
        "--initial",
        "ka=1.6",
        "--initial",
        "ke=0.086",
        "--no-figures",
        "--json",
        "--out",
        str(tmp_path / "o"),
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["method"] == "saem" and doc["n_observations"] == 132 and doc["n_blq"] == 0


def _saem_trace(folder: Path) -> str:
    """trace.csv without its ``status`` column (the fit's label, D-19.977, which the final maximisation
    may change): SAEM's own trajectories, as text."""
    return pd.read_csv(folder / "trace.csv").drop(columns="status").to_csv(index=False)


def test_saem_estimate_reports_saems_last_iterate(popfit_dir: Path, tmp_path: Path) -> None:
    """`--saem-estimate` (D-17.23) skips the final maximisation: same seed and data, so the fit is the
    default one up to SAEM's result, and the reported estimate is SAEM's, not the importance-sampling
    maximum; the choice is recorded in estimates.json."""
    out = tmp_path / "saem"
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(PK),
        "--seed",
        "3",
        *FAST,
        "--saem-estimate",
        "--no-figures",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    saem = json.loads((out / "estimates.json").read_text())
    default = json.loads((popfit_dir / "estimates.json").read_text())
    assert saem["settings"]["final_maximisation"] == {"rounds": 0, "reported": "SAEM's last iterate"}
    assert default["settings"]["final_maximisation"]["rounds"] >= 1
    # the trace (SAEM itself) is identical; the final maximisation moved the reported typical values
    assert _saem_trace(out) == _saem_trace(popfit_dir)
    assert saem["typical"] != default["typical"]


def test_proposal_option_is_used_and_recorded(popfit_dir: Path, tmp_path: Path) -> None:
    """`--proposal` (D-17.24) changes the importance-sampling surface, not SAEM: same seed and data, so
    the trace is the default fit's; the proposal is recorded in estimates.json, and the other one gives
    other estimates."""
    default = json.loads((popfit_dir / "estimates.json").read_text())
    other = "laplace" if default["settings"]["proposal"]["kind"] != "laplace" else "mixture"
    out = tmp_path / other
    result = run_cartrial(
        "kinetics",
        "popfit",
        str(PK),
        "--seed",
        "3",
        *FAST,
        "--proposal",
        other,
        "--no-figures",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.stderr
    fitted = json.loads((out / "estimates.json").read_text())
    assert fitted["settings"]["proposal"]["kind"] == other
    assert (fitted["settings"]["proposal"].get("defensive") is not None) == (other == "mixture")
    assert _saem_trace(out) == _saem_trace(popfit_dir)
    assert fitted["typical"] != default["typical"]


def test_a_conditional_search_that_cannot_leave_its_start_is_labelled_not_converged(tmp_path: Path) -> None:
    """The example study's 12 sparse, partly BLQ Stein profiles: FOCE-I's numerical gradient at the default
    start gives no improving step, so BFGS stops where it began ("precision loss", which a search that did
    move may legitimately end with). The fit says it did not move and what to use instead, rather than
    reporting the initial values as estimates (D-17.29)."""
    result = run_cartrial(
        "kinetics", "popfit", str(PK), "--method", "focei", "--iiv", "tmax_days,cmax,alpha_per_day",
        "--no-figures", "--json", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["status"] == "NOT CONVERGED" and not doc["converged"]
    problems = doc["convergence_problems"]
    assert any("did not move from its start" in p and "--method saem" in p for p in problems), problems


def test_the_shipped_example_converges(popfit_example_run: PopfitExampleRun) -> None:
    """The example of `kinetics popfit --help` (and docs/popfit.md, README) converges (D-19.324): with IIV
    on all six parameters the example study's 12 profiles collapse ω² of FOLDX or β and leave the Fisher
    information singular (NOT CONVERGED with every seed tried); without IIV on FOLDX and β every typical value
    is estimated with an SE. The example is run once per session, exactly as written (`popfit_example_run`,
    tests/conftest.py; tests/docs/test_help_examples.py checks the same run exits 0): its estimates.json
    carries the status and the estimates table the `--json` summary prints."""
    import re
    import shlex

    from cartrial.commands.kinetics_commands import POPFIT_EXAMPLE

    command = shlex.split(re.search(r"\[bold\](.+?)\[/\]", POPFIT_EXAMPLE).group(1))  # type: ignore[union-attr]
    assert command[:3] == ["cartrial", "kinetics", "popfit"]
    assert popfit_example_run.argv == command[1:]
    result = popfit_example_run.result
    assert result.exit_code == 0, result.stderr
    out = popfit_example_run.folder / command[command.index("--out") + 1]
    doc = json.loads((out / "estimates.json").read_text())
    assert doc["status"] == "converged", result.output[-3000:]
    typical = [e for e in doc["estimates"] if e["kind"] == "typical"]
    assert len(typical) == 6 and all(e["se"] is not None and not e["fixed"] for e in typical)


def test_popfit_from_the_store_leaves_out_the_samples_drawn_before_the_infusion(
    example_sqlite: str, tmp_path: Path
) -> None:
    """Review of D-19.304: the store route fitted the stored `actual_day`, so the day-0 samples drawn
    before the infusion were fitted at t = 0 while the NCA, ADPC and the report read them as pre-dose. It
    reads the analysis layer's sample time (`analysis.kinetics.sample_actual_days`) and notes them as the
    file route notes a negative time (D-19.217)."""
    result = run_cartrial(
        "kinetics", "popfit", "--url", example_sqlite, "--user", "admin", "--cutoff", "2022-03-20",
        *FAST, "--no-figures", "--json", "--out", str(tmp_path / "o"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["n_pre_dose"] == 12  # the 12 infused subjects' day-0 samples, drawn an hour before
