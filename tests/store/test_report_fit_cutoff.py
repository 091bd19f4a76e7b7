"""A report shows a population fit of its own data cut-off only (D-19.1148).

`report --cutoff 2021-12-31 --popfit FIT` with a fit of `kinetics popfit --url … --cutoff 2022-03-20` put a
population-PK section fitted on the samples of the 2022-03-20 cut (every sample after 2021-12-31 included)
into a report whose every other section is as of 2021-12-31, exit 0 and nothing to tell them apart: data
after the report's cut-off reached it silently. The fit's view was checked (D-19.460), its cut-off was not.
ICH E3 / E9 §7.1: one analysis, one data cut-off.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from .test_reads_as_user import CUTOFF, _args
from .test_restricted_outputs import tjh_fit, tjh_fit_template  # noqa: F401  (fixtures)

EARLIER = "2021-12-31"


def test_a_popfit_of_the_store_records_its_cutoff(tjh_fit: Path) -> None:  # noqa: F811
    document = json.loads((tjh_fit / "estimates.json").read_text(encoding="utf-8"))
    assert document["data"]["cutoff"] == CUTOFF


def test_a_report_refuses_a_fit_of_another_cutoff(
    two_sites: str,
    tjh_fit: Path,  # noqa: F811
    tmp_path: Path,
    cli: Any,
) -> None:
    args = _args("report", two_sites, tmp_path / "r")
    args[args.index("--cutoff") + 1] = EARLIER
    result = cli(*args, "--popfit", str(tjh_fit), "--user", "inv_tjh")
    assert result.exit_code == 2, result.stderr
    assert "--popfit" in result.stderr and CUTOFF in result.stderr and EARLIER in result.stderr
    assert "CT-0" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "r").exists()


def test_a_fit_from_a_file_has_no_cutoff_to_compare(
    two_sites: str,
    tjh_fit: Path,  # noqa: F811
    tmp_path: Path,
    cli: Any,
) -> None:
    document = json.loads((tjh_fit / "estimates.json").read_text(encoding="utf-8"))
    document["data"]["view"] = None  # as a fit of a sample file writes it (no view, no cut-off)
    document["data"].pop("cutoff", None)
    (tjh_fit / "estimates.json").write_text(json.dumps(document), encoding="utf-8")
    args = _args("report", two_sites, tmp_path / "r")
    args[args.index("--cutoff") + 1] = EARLIER
    result = cli(*args, "--popfit", str(tjh_fit), "--user", "inv_tjh")
    assert result.exit_code == 0, result.stderr


def test_the_kinetic_step_of_a_pd_fit_from_the_store_records_view_and_cutoff(
    example_sqlite: str, monkeypatch: Any
) -> None:
    """`kinetics popfit --model pd --url … --cutoff C` first fits the PK samples into OUT/kinetics/; that
    fit's data carried no view nor cut-off, so `report --popfit OUT/kinetics` at another cut-off showed it
    (D-19.1149). The fit itself is replaced here (SAEM is slow): the data it is given is what is checked."""
    import datetime as dt

    import cartrial.kinetics.popfit as popfit
    from cartrial.commands.kinetics_commands import _store_kinetic_fit
    from cartrial.store.snapshot import read_snapshot

    given: list[Any] = []

    class Stop(Exception):
        pass

    def fake_fit(data: Any, *args: Any, **kwargs: Any) -> Any:
        given.append(data)
        raise Stop

    monkeypatch.setattr(popfit, "fit_population", fake_fit)
    snapshot = read_snapshot(example_sqlite, dt.date(2021, 12, 31))
    with contextlib.suppress(Stop):
        _store_kinetic_fit(snapshot, EARLIER, Path("o"), None, "car_transgene", False, "png", False, True)
    assert len(given) == 1
    assert given[0].cutoff == EARLIER
    assert given[0].view == snapshot.view()
    assert given[0].summary()["cutoff"] == EARLIER  # estimates.json's data.cutoff


def test_a_fit_whose_data_is_not_an_object_is_refused_naming_the_file(tmp_path: Path) -> None:
    """estimates.json with ``"data": ["x"]`` broke the view and cut-off checks with an AttributeError
    traceback; `read_popfit` refuses it once, naming the file and the key (D-19.1150)."""
    import pytest

    from cartrial.errors import InputError
    from cartrial.report.popfit import read_popfit

    document = {
        "model": "stein2019",
        "status": "converged",
        "estimates": [],
        "likelihood": {},
        "data": ["x"],
    }
    (tmp_path / "estimates.json").write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_popfit(tmp_path)
    text = str(caught.value)
    assert "estimates.json" in text and "data" in text
