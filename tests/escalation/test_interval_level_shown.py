"""The per-dose table of `escalate next | paths` named its column "interval" without saying which: the CRM's
is dfcrm's 90 % p(beta_hat -/+ z sd) (`conf_level`), the interval designs' a 95 % Beta interval around the
isotonic estimate and 3+3's a 95 % Clopper-Pearson interval (decisions D-19.395). The method of each
estimate, which every output records, states the level, and the table says it."""

from __future__ import annotations

import json

import pytest
from tests.conftest import Cli

CRM = ["--design", "crm", "--doses", "3", "--skeleton", "0.1,0.2,0.3", "--target", "0.25"]


@pytest.mark.parametrize(
    ("args", "level"),
    [
        (CRM, "90 %"),
        ([*CRM, "--conf-level", "0.8"], "80 %"),
        (["--design", "boin", "--doses", "3", "--target", "0.25"], "95 %"),
        (["--design", "mtpi2", "--doses", "3", "--target", "0.25"], "95 %"),
        (["--design", "3+3", "--doses", "3"], "95%"),
    ],
)
def test_the_interval_level_is_stated(cli: Cli, args: list[str], level: str) -> None:
    code, out, err = cli("escalate", "next", *args, "--outcomes", "1NNN", "--json")
    assert code == 0, err
    method = json.loads(out)["estimates"][0]["method"]
    assert f"{level} interval" in method or f"Clopper-Pearson {level}" in method, method
    code, out, err = cli("escalate", "next", *args, "--outcomes", "1NNN", env={"COLUMNS": "250"})
    assert code == 0, err
    assert f"interval: {method}" in " ".join(out.split())
