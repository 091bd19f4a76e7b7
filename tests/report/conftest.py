"""Fixtures of the report tests: the example study imported into a study database (a SQLite file copied
from a session template; PostgreSQL through the shared `postgres_url` fixture), and one report of it
written once per session by `cartrial report`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cartrial.cli import main
from cartrial.store import init_study
from cartrial.store.importing import import_templates

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ct103a-nmosd"
PROTOCOL = EXAMPLE / "protocol.yaml"
STUDY = EXAMPLE / "study"
CUTOFF = "2022-03-20"


def build_example(url: str) -> str:
    """Initialise the study with the example protocol and import the example study's templates."""
    init_study(url, PROTOCOL, "admin")
    import_templates(url, STUDY, "admin")
    return url


@pytest.fixture(scope="session")
def report_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report_template") / "study.db"
    build_example(f"sqlite:///{path}")
    return path


@pytest.fixture
def report_sqlite(report_sqlite_template: Path, tmp_path: Path) -> str:
    """A private copy of the imported example study (SQLite URL)."""
    target = tmp_path / "study.db"
    for suffix in ("", "-wal"):
        source = Path(f"{report_sqlite_template}{suffix}")
        if source.exists():
            shutil.copyfile(source, f"{target}{suffix}")
    return f"sqlite:///{target}"


@pytest.fixture(scope="session")
def example_report(report_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `cartrial report` writes for the example study at the 2022-03-20 cut-off (HTML and PDF)."""
    out = tmp_path_factory.mktemp("report_out")
    code = main(
        ["report", "--url", f"sqlite:///{report_sqlite_template}", "--cutoff", CUTOFF, "--out", str(out)]
    )
    assert code == 0
    return out
