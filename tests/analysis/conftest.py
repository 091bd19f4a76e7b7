"""Fixtures of the analysis tests: the example study imported into a study database (SQLite file copied from
a session template; PostgreSQL in a fresh schema), through the public import API; its snapshot and analysis
at the tests' cut-off (module-scoped, one per test module); the example's CSV rows."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from tests.conftest import schema_url

from cartrial import examples as cartrial_examples
from cartrial.analysis import Analysis
from cartrial.store.snapshot import StudySnapshot

from ..conftest import (
    TEST_PASSWORD,
    build_example,
    copy_sqlite_file,
    make_read_only,
    run_cartrial,
)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = cartrial_examples.path("ct103a-nmosd")
PROTOCOL = EXAMPLE / "protocol.yaml"
STUDY = EXAMPLE / "study"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CUTOFF = date(2022, 3, 20)
"""The data cut-off of the analysis tests on the example study (after its last record)."""


def rows(name: str) -> list[dict[str, str]]:
    """The rows of the example study's CSV form `name` (e.g. "infusions"), as text."""
    with (STUDY / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema (dropped afterwards), or a visible skip."""
    base = os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    try:
        admin = create_engine(base)
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or connection failure means: no usable server
        if os.environ.get("CARTRIAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CARTRIAL_REQUIRE_POSTGRES=1 but PostgreSQL is not reachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {base} ({type(exc).__name__}); PostgreSQL tests skipped")
    schema = f"t_analysis_{uuid.uuid4().hex[:12]}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(base, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def example_postgres(postgres_schema_url: str) -> str:
    return build_example(postgres_schema_url)


@dataclass(frozen=True)
class AnalyseRun:
    """One `cartrial analyse` of the example study as its admin at `CUTOFF` into `out`."""

    out: Path
    """The folder it wrote (read only: copy it with `copy_writable_tree` to edit)."""
    stdout: str
    """What it printed (the findings)."""


@pytest.fixture(scope="session")
def example_analyse_run(
    example_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AnalyseRun]:
    """``cartrial analyse --url … --user admin --cutoff 2022-03-20 --out …`` of a copy of the imported
    example study, run ONCE per session (the tests of `cartrial analyse` compare their own run with it, or
    start from a writable copy of its folder); its folder is read only (`make_read_only`)."""
    folder = tmp_path_factory.mktemp("example_analyse")
    copy_sqlite_file(example_sqlite_template, folder / "study.db")
    secret = folder / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    out = folder / "out"
    environment = {"CARTRIAL_PASSWORD_FILE": str(secret), "XDG_CONFIG_HOME": str(folder / "config")}
    result = run_cartrial(
        *("analyse", "--url", f"sqlite:///{folder / 'study.db'}", "--user", "admin"),
        *("--cutoff", CUTOFF.isoformat(), "--out", out),
        env=environment,  # session scope: before the per-test credentials
    )
    assert result.exit_code == 0, result.output
    with make_read_only(out):
        yield AnalyseRun(out, result.stdout)


def protocol_with_option(snapshot: StudySnapshot, option: str, value: str | None) -> str:
    """The snapshot's protocol text with `analysis.options.<option>` (the example states it as ``last``) set
    to `value`, or removed (the engine default) when `value` is None."""
    stated = f"    {option}: last"
    lines = snapshot.protocol_yaml.splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(stated))
    if value is None:
        del lines[index]
    else:
        lines[index] = f"    {option}: {value}"
    return "\n".join(lines) + "\n"


def ct002_attack_snapshot(snapshot: StudySnapshot, option: str, value: str | None) -> StudySnapshot:
    """The example analysed with a relapse onset of CT-002 added on 2021-05-01 — 14 days before its only
    pre-infusion EDSS and timed walk (2021-05-15), so that both are during the attack — and the protocol's
    `option` set to `value` (`protocol_with_option`)."""
    import dataclasses

    import pandas as pd

    from cartrial.protocol import parse_protocol

    relapses = snapshot.tables["relapses"]
    row = relapses[relapses["subject_id"] == "CT-002"].iloc[[-1]].copy()
    row["onset_date"] = "2021-05-01"
    row["record_id"] = str(int(pd.to_numeric(relapses["record_id"]).max()) + 1)
    tables = dict(snapshot.tables) | {"relapses": pd.concat([relapses, row], ignore_index=True)}
    protocol = parse_protocol(protocol_with_option(snapshot, option, value))
    return dataclasses.replace(snapshot, tables=tables, protocol=protocol)


def analyse_with_ct002_attack(snapshot: StudySnapshot, option: str, value: str | None) -> Analysis:
    """`analyse` of `ct002_attack_snapshot`."""
    from cartrial.analysis import analyse

    return analyse(ct002_attack_snapshot(snapshot, option, value))
