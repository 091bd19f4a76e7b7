"""`kinetics fit` names the LLOQ by the options the user types (--lloq, --lloq-col), never by the engine's
argument (``lloq=...``): a profile with a BLQ sample and no LLOQ is not estimable and says which option gives
one (D-19.1182). The API (`derive_stein2019_fits`) names its own arguments."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cartrial.kinetics import derive_stein2019_fits

from ..conftest import run_cartrial

ROWS = [(0, 0.0, True), (1, 100, False), (3, 500, False), (7, 2000, False), (10, 3000, False)]
ROWS += [(14, 1500, False), (21, 800, False), (28, 400, False), (60, 0.0, True)]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "subject_id": ["A"] * len(ROWS),
            "day": [r[0] for r in ROWS],
            "conc": [r[1] for r in ROWS],
            "blq": [r[2] for r in ROWS],
        }
    )


def test_cli_names_the_lloq_options(tmp_path: Path) -> None:
    path = tmp_path / "pk.csv"
    _frame().to_csv(path, index=False)
    result = run_cartrial(
        "kinetics", "fit", path, "--subject", "subject_id", "--time", "day", "--conc", "conc", "--blq-col",
        "blq", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    reason = json.loads(result.stdout)["rows"][0]["not_estimable"]
    assert "no LLOQ" in reason
    assert "--lloq" in reason and "--lloq-col" in reason
    assert "lloq=" not in reason


def test_api_names_its_arguments() -> None:
    result = derive_stein2019_fits(_frame(), subject="subject_id", time="day", conc="conc", blq_column="blq")
    reason = str(result.table["not_estimable"].iat[0])
    assert "no LLOQ" in reason
    assert "lloq or lloq_column" in reason
    assert "--lloq" not in reason
