"""A virtual study does not simulate CRS management (D-19.393): `simulate study` writes, beside the forms,
the protocol the study is to be created with, stating `analysis.options.therapies_collected: false`, so its
analysis reports CRS treatment as not recorded rather than 0 of N (D-19.434). The scenario's own protocol is
not changed."""

from __future__ import annotations

import yaml

from cartrial.protocol import load_protocol


def test_simulate_study_writes_a_protocol_not_collecting_therapies(cli, make_scenario, tmp_path) -> None:  # type: ignore[no-untyped-def]
    scenario = make_scenario({"pool_size": 200})
    out = tmp_path / "study"
    result = cli("simulate", "study", "--scenario", scenario, "--seed", "1", "--out", out)
    assert result.exit_code == 0, result.stderr
    written = out / "protocol.yaml"
    assert written.is_file()
    assert load_protocol(written).analysis.options.therapies_collected is False
    original = yaml.safe_load(scenario.read_text(encoding="utf-8"))["protocol"]
    assert load_protocol(original).analysis.options.therapies_collected is True
    said = " ".join(result.stdout.split())
    assert str(written.name) in said and "therapies_collected" in said
    assert not (out / "therapies.csv").exists()
