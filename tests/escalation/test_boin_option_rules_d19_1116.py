"""BOIN's rules between options, declared once; printed limits; decision table bounds (D-19.1116-1118).

Oracles: R `BOIN` 2.7.2 `get.boundary` / `get.oc` refuse ``target - p.saf < 0.1 * target`` ("the
probability deemed safe cannot be higher than or too close to the target!") and ``p.tox - target < 0.1 *
target``; with extrasafe the level-1 stop fires when P(p_1 > target) > cutoff.eli - offset
(docs/science/dose-escalation.md §4.3), a probability threshold that must be > 0. For target 0.3 the limits
are 0.9 x 0.3 = 0.27 and 1.1 x 0.3 = 0.33 (by hand). A decision table tabulates n = c, 2c, ... <= max_n
(§4.4); a CRM has none.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial import examples
from cartrial.errors import CartrialError, ConfigurationError, InputError
from cartrial.escalation import Boin, Crm, decision_table

from ..conftest import TEST_PASSWORD, run_cartrial

PROTOCOL = examples.path("ct103a-nmosd") / "protocol.yaml"
STUDY = examples.path("ct103a-nmosd") / "study"


def _boin_protocol(tmp_path: Path, extra: str) -> tuple[Path, int]:
    """The example protocol with a BOIN escalation section ending in `extra` (its last line is the key
    under test), and that line's number."""
    text = PROTOCOL.read_text(encoding="utf-8")
    start = text.index("escalation:\n")
    end = text.index("  dlt_window_days:", start)
    section = "escalation:\n  design: boin\n  target: 0.3\n  max_n: 12\n" + extra
    text = text[:start] + section + text[end:]
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(extra.splitlines()[-1]) + 1
    return path, line


CASES = [
    ("  phi1: 0.29\n", "phi1", "greater than 0 and at most 0.27 (0.9 x target)"),
    ("  phi2: 0.32\n", "phi2", "at least 0.33 (1.1 x target) and less than 1"),
    (
        "  extrasafe: true\n  cutoff_eliminate: 0.3\n  offset: 0.4\n",
        "offset",
        "greater than 0 and less than cutoff_eliminate (0.3)",
    ),
]


@pytest.mark.parametrize(("extra", "key", "allowed"), CASES)
def test_protocol_check_refuses_the_boin_rules_at_their_key_and_line(
    tmp_path: Path, extra: str, key: str, allowed: str
) -> None:
    """Before, `protocol check` said ok (its own older check was only phi1 < target < phi2), `db init`
    stored the protocol, and the escalation page was a 422 with no file or line."""
    path, line = _boin_protocol(tmp_path, extra)
    result = run_cartrial("protocol", "check", str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}, line {line}, escalation.{key}: " in result.output, result.output
    assert f"allowed: {allowed}" in result.output, result.output


@pytest.mark.parametrize(("extra", "key", "allowed"), CASES)
def test_db_init_refuses_the_protocol_so_the_api_never_serves_it(
    tmp_path: Path, extra: str, key: str, allowed: str
) -> None:
    """The API's escalation state builds the stored protocol's design: before, `db init` stored this
    protocol and GET /api/v1/escalation answered 422 with file and line null."""
    from cartrial.store import init_study

    path, line = _boin_protocol(tmp_path, extra)
    with pytest.raises(InputError) as caught:
        init_study(
            f"sqlite:///{tmp_path / 's.db'}", path, "admin", admin_site="TJH", admin_password=TEST_PASSWORD
        )
    [problem] = [p for p in caught.value.problems if p.field == f"escalation.{key}"]
    assert (problem.line, problem.allowed) == (line, allowed), str(caught.value)


@pytest.mark.parametrize(("extra", "key", "allowed"), CASES)
def test_replay_names_the_protocol_key_not_a_flag(tmp_path: Path, extra: str, key: str, allowed: str) -> None:
    """Before, `escalate replay --protocol` named --phi1 / --offset, flags it does not have."""
    path, line = _boin_protocol(tmp_path, extra)
    result = run_cartrial(
        "escalate", "replay", "--decisions", STUDY / "escalation_decisions.csv",
        "--infusions", STUDY / "infusions.csv", "--protocol", path,
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert f"{path}, line {line}, escalation.{key}: " in result.output, result.output
    assert f"--{key}" not in result.output


def test_every_phi_problem_at_once_with_one_allowed_text() -> None:
    """--phi1 0.35 --phi2 0.31 (phi1 above the target, phi2 within a tenth of it): both reported, each with
    the same allowed text as any other refused value of that option; before, only the older check."""
    with pytest.raises(InputError) as caught:
        Boin(3, 0.3, phi1=0.35, phi2=0.31)
    assert {(p.field, p.allowed) for p in caught.value.problems} == {
        ("phi1", "greater than 0 and at most 0.27 (0.9 x target)"),
        ("phi2", "at least 0.33 (1.1 x target) and less than 1"),
    }
    with pytest.raises(InputError) as single:
        Boin(3, 0.3, phi1=0.29)
    assert [p.allowed for p in single.value.problems] == ["greater than 0 and at most 0.27 (0.9 x target)"]


def test_cli_reports_both_phi_problems_at_their_flags() -> None:
    result = run_cartrial(
        "escalate", "next", "--design", "boin", "--target", "0.3", "--doses", "3", "--outcomes", "1NNN",
        "--phi1", "0.35", "--phi2", "0.31",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--phi1: " in result.output and "--phi2: " in result.output, result.output


def _allowed_limit(error: InputError, field: str) -> float:
    [problem] = [p for p in error.problems if p.field == field]
    assert problem.allowed is not None
    words = problem.allowed.split()
    return float(words[words.index("most" if field == "phi1" else "least") + 1])


def test_the_printed_limit_is_itself_accepted() -> None:
    """target 0.3333339: the limit 0.9 x target = 0.30000051 was printed "at most 0.300001" (6 digits,
    rounded up), which is itself refused."""
    with pytest.raises(InputError) as caught:
        Boin(3, 0.3333339, phi1=0.300001)
    limit = _allowed_limit(caught.value, "phi1")
    assert limit <= 0.30000051
    assert Boin(3, 0.3333339, phi1=limit).phi1 == limit


@settings(max_examples=property_examples(60), deadline=None)
@given(target=st.floats(0.05, 0.6))
def test_the_printed_phi_limits_are_accepted_for_every_target(target: float) -> None:
    """Property: whatever the target, the printed "at most" of phi1 and "at least" of phi2 build a design;
    each is within 1e-6 of 0.9 x target and 1.1 x target (6 significant digits at least)."""
    with pytest.raises(InputError) as caught:
        Boin(3, target, phi1=0.95 * target, phi2=1.05 * target)
    phi1, phi2 = _allowed_limit(caught.value, "phi1"), _allowed_limit(caught.value, "phi2")
    assert abs(phi1 - 0.9 * target) < 1e-6 and abs(phi2 - 1.1 * target) < 1e-6
    design = Boin(3, target, phi1=phi1, phi2=phi2)
    assert design.lambda_e < target < design.lambda_d


def test_a_crm_has_no_table_whatever_max_n() -> None:
    """The design kind is refused first: before, decision_table(Crm(...), 2) asked for max_n."""
    crm = Crm([0.1, 0.2, 0.3], 0.3, cohort_size=3)
    for max_n in (0, 2):
        with pytest.raises(ConfigurationError) as caught:
            decision_table(crm, max_n)
        assert "no (n, DLT) decision table" in str(caught.value)
        assert not isinstance(caught.value, InputError)


@pytest.mark.parametrize(("max_n", "allowed"), [(0, "3 to 200"), (2, "3 to 200"), (201, "3 to 200")])
def test_max_n_has_one_bound_and_one_allowed_text(max_n: int, allowed: str) -> None:
    """One check of max_n taking the cohort size (3 here): before, 0 and 201 said "1..200" and 2 said
    "3 to 200"."""
    with pytest.raises(CartrialError) as caught:
        decision_table(Boin(3, 0.3), max_n)
    assert isinstance(caught.value, InputError)
    [problem] = caught.value.problems
    assert (problem.field, problem.allowed) == ("max_n", allowed)


def test_cli_table_max_n_zero_is_named_with_the_cohort_bound() -> None:
    result = run_cartrial("escalate", "table", "--design", "boin", "--target", "0.3", "--max-n", "0")
    assert result.exit_code == 2, result.output
    assert "error: --max-n" in result.output and "allowed: 3 to 200" in result.output, result.output


def test_the_api_names_the_stored_protocol_key_of_an_existing_study(tmp_path: Path) -> None:
    """A study initialised before this rule whose stored protocol has phi1 0.29: before, GET
    /api/v1/escalation answered 422 with file and line null; now the stored protocol does not load, and the
    answer says so at escalation.phi1 and its line of the stored protocol (the fix is a protocol
    amendment)."""
    import hashlib

    import sqlalchemy as sa

    from cartrial.store import StudyService, connect, init_study

    from ..web.test_escalation_page_expansion import _client

    valid, _ = _boin_protocol(tmp_path, "  cohort_size: 3\n")
    url = f"sqlite:///{tmp_path / 's.db'}"
    init_study(url, valid, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    with service.transaction("admin", "setup") as tx:
        service.upsert_rows(
            tx, "subject", [{"subject_id": "S-1", "site_id": "TJH", "consent_date": "2021-03-01", "sex": "F"}]
        )
    service.insert_record(
        "admin",
        "infusion",
        {"subject_id": "S-1", "dose_level": 1, "infused_at": "2021-04-01T02:00:00Z", "weight_kg": 60.0,
         "cells_per_kg": 500000, "total_car_t_cells": 30000000},
    )  # fmt: skip
    service.engine.dispose()
    stored = valid.read_text(encoding="utf-8").replace(
        "  cohort_size: 3\n", "  cohort_size: 3\n  phi1: 0.29\n"
    )
    line = stored.splitlines().index("  phi1: 0.29") + 1
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE study SET protocol_yaml = :text, protocol_sha256 = :sha"),
            {"text": stored, "sha": hashlib.sha256(stored.encode()).hexdigest()},
        )
    engine.dispose()
    api = _client(url).get("/api/v1/escalation?as_of=2021-08-01")
    assert api.status_code == 200, api.text
    assert f"line {line}, escalation.phi1: " in api.json()["reason"], api.text
