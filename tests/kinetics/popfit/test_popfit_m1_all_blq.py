"""Under M1 (BLQ samples dropped, Beal 2001) a subject whose samples are all BLQ has no observation: it is
not in the fit, nor in ebe.csv (an EBE there was the prior's η = 0 shown as an estimate), and the fit lists
it as left out with the reason (D-19.1173)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartrial.errors import NotEstimableError
from cartrial.kinetics.popfit import PopulationData, SaemSettings, StructuralModel, fit_population


def _monoexp(params: np.ndarray, times: np.ndarray, dose: np.ndarray) -> np.ndarray:
    return np.asarray(params[:, [0]] * np.exp(-params[:, [1]] * times), dtype=float)


MONO = StructuralModel("monoexp", ("level", "k"), ("-", "1/day"), (50.0, 0.2), _monoexp, "test model")
FAST = SaemSettings(seed=3, k1=40, k2=30, is_draws=300, fim_draws=300, polish_final_draws=300)
TIMES = np.array([0.5, 1.0, 2.0, 4.0, 6.0, 8.0])


def _data(n: int = 12, blq_subject: int = 4) -> PopulationData:
    rng = np.random.default_rng(5)
    values = [
        100 * math.exp(rng.normal(0, 0.4)) * np.exp(-0.3 * TIMES) * np.exp(rng.normal(0, 0.1, TIMES.size))
        for _ in range(n)
    ]
    values[blq_subject] = np.full(TIMES.size, 0.5)  # every sample below the LLOQ of 1
    return PopulationData.from_arrays(
        [f"S{i}" for i in range(n)], [TIMES] * n, values, lloq=1.0, allow_unquantified=True
    )


def test_an_all_blq_subject_is_left_out_under_m1() -> None:
    fit = fit_population(_data(), MONO, blq="m1", settings=FAST, compute_se=False)
    assert "S4" not in list(fit.ebe["subject"])
    assert list(fit.ebe["subject"]) == [f"S{i}" for i in range(12) if i != 4]
    assert fit.data.n_subjects == 11
    left = fit.settings["left_out"]
    assert [x["subject"] for x in left] == ["S4"]
    assert "BLQ" in left[0]["reason"] and "M1" in left[0]["reason"]
    assert fit.summary()["left_out"] == left
    assert (fit.ebe["n_quantified"] > 0).all()
    from cartrial.report.popfit import summary_html

    assert "Left out of the fit (1 subject): S4 (every sample BLQ" in summary_html(fit, [])


def test_under_m3_the_same_subject_stays() -> None:
    fit = fit_population(_data(), MONO, blq="m3", settings=FAST, compute_se=False)
    assert "S4" in list(fit.ebe["subject"])
    assert fit.settings["left_out"] == []


def test_too_few_subjects_left_is_refused() -> None:
    data = PopulationData.from_arrays(
        ["A", "B"],
        [TIMES, TIMES],
        [100 * np.exp(-0.3 * TIMES), np.full(TIMES.size, 0.5)],
        lloq=1.0,
        allow_unquantified=True,
    )
    with pytest.raises(NotEstimableError, match="at least 2 subjects"):
        fit_population(data, MONO, blq="m1", settings=FAST, compute_se=False)


@pytest.mark.parametrize("n_all_blq", [1, 2])
def test_too_few_subjects_left_names_those_left_out_and_why(n_all_blq: int) -> None:
    """With 2-3 subjects of whom all but one are all-BLQ, the refusal says that M1 left them out and why,
    not only "got 1" of a data set the user gave with more (review of popfit2, finding 3)."""
    n = n_all_blq + 1
    data = PopulationData.from_arrays(
        [f"P{i}" for i in range(n)],
        [TIMES] * n,
        [100 * np.exp(-0.3 * TIMES)] + [np.full(TIMES.size, 0.5)] * n_all_blq,
        lloq=1.0,
        allow_unquantified=True,
    )
    with pytest.raises(NotEstimableError) as caught:
        fit_population(data, MONO, blq="m1", settings=FAST, compute_se=False)
    text = str(caught.value)
    assert "at least 2 subjects" in text
    assert f"{n_all_blq} subject{'s' if n_all_blq > 1 else ''} left out" in text
    assert "every sample BLQ" in text and "M1" in text
    assert "--blq m3" in text


def test_the_interim_report_section_names_the_subject_left_out() -> None:
    """The interim report's population-PK section says which subject the fit left out and why (ids only),
    as summary.html and the console do (review of popfit2, finding 4)."""
    from cartrial.report.popfit import PopfitResult, popfit_files, popfit_report_section

    fit = fit_population(_data(), MONO, blq="m1", settings=FAST, compute_se=False)
    document = json.loads(popfit_files(fit, figures=False)["estimates.json"])
    section, _, _ = popfit_report_section(PopfitResult(document, "estimates.json"))
    named = [f for f in section.findings if "left out" in f.lower()]
    assert len(named) == 1
    assert "1 subject" in named[0] and "S4" in named[0]
    assert "every sample BLQ" in named[0] and "M1" in named[0]
    assert "11 subjects" in section.intro  # the fitted data, as estimates.json counts it


def test_the_console_header_says_how_many_subjects_were_left_out(tmp_path: Path) -> None:
    """`kinetics popfit --blq m1` on a file of 12 subjects, one with every sample BLQ: the console header
    says 12 subjects with 1 left out (the JSON's n_subjects is the 11 fitted), then names it (review of
    popfit2, finding 2)."""
    from cartrial import examples as cartrial_examples

    from ...conftest import run_cartrial

    source = Path(cartrial_examples.__file__).resolve().parent / "ct103a-nmosd" / "study" / "pk_samples.csv"
    rows = pd.read_csv(source)
    rows = rows[rows["analyte"] == "car_transgene"]
    blq = rows["subject_id"] == "CT-005"
    rows.loc[blq, "value"] = np.nan
    rows.loc[blq, "blq"] = True
    path = tmp_path / "pk.csv"
    rows.to_csv(path, index=False)
    common = ("kinetics", "popfit", path, "--blq", "m1", "--allow-unquantified", "--k1", "10", "--k2", "5")
    result = run_cartrial(*common, "--no-figures", "--seed", "3", "--out", tmp_path / "fit")
    assert result.exit_code == 0, result.stderr
    header = result.stdout.splitlines()[0]
    assert "12 subjects (1 left out of the fit)" in header, header
    assert "left out of the fit: CT-005 (every sample BLQ" in result.stdout
    doc = json.loads((tmp_path / "fit" / "estimates.json").read_text())
    assert doc["data"]["n_subjects"] == 11
