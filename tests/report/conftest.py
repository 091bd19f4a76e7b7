"""Fixtures of the report tests: the example study imported into a study database (a SQLite file copied
from a session template; PostgreSQL through the shared `postgres_url` fixture), and one report of it
written once per session by `cartrial report`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.cli import main

from ..conftest import TEST_PASSWORD

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ct103a-nmosd"
PROTOCOL = EXAMPLE / "protocol.yaml"
STUDY = EXAMPLE / "study"
CUTOFF = "2022-03-20"


@pytest.fixture(scope="session")
def report_sqlite_template(example_sqlite_template: Path) -> Path:
    """The session's imported example study (tests/conftest.py), shared with the analysis tests."""
    return example_sqlite_template


@pytest.fixture
def report_sqlite(example_sqlite: str) -> str:
    """A private copy of the imported example study (SQLite URL)."""
    return example_sqlite


@pytest.fixture(scope="session")
def example_report(report_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `cartrial report` writes for the example study at the 2022-03-20 cut-off (HTML and PDF)."""
    out = tmp_path_factory.mktemp("report_out")
    secret = tmp_path_factory.mktemp("report_credentials") / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    with pytest.MonkeyPatch.context() as patch:  # session scope: before the per-test credentials
        patch.setenv("CARTRIAL_PASSWORD_FILE", str(secret))
        patch.setenv("XDG_CONFIG_HOME", str(secret.parent / "config"))
        code = report_main(out, report_sqlite_template)
    assert code == 0
    return out


def report_argv(url: str, out: Path, *options: str) -> list[str]:
    """The arguments of `cartrial report` of the study at `url` as its admin at `CUTOFF` into `out`, then
    `options`."""
    return ["report", "--url", url, "--user", "admin", "--cutoff", CUTOFF, "--out", str(out), *options]


def report_main(out: Path, database: Path) -> int:
    """`cartrial report` of the example study as its admin (the test password) into `out`."""
    return main(report_argv(f"sqlite:///{database}", out))


def drawn_reciprocal(titre: str) -> float:
    """The reciprocal dilution the AQP4-IgG figure draws: the analysis dataset ``aqp4_titres``' reading of
    one stored titre (`cartrial.analysis.kinetics.titre_samples`, D-19.631; formerly the figure's own
    helper); NaN for a blank titre (no row, not drawn). Shared by the figure tests."""
    import pandas as pd

    from cartrial.analysis.kinetics import titre_samples

    frame, _ = titre_samples(pd.DataFrame({"subject_id": ["S1"], "aqp4_igg_titre": [titre]}), {})
    return float(frame["reciprocal"].iloc[0]) if len(frame) else float("nan")


@pytest.fixture(scope="session")
def example_report_pdf_text(example_report: Path) -> tuple[str, ...]:
    """The text pypdf extracts from each page of `example_report`'s report.pdf, in page order (extracted
    once per session: the PDF tests only read it)."""
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(str(example_report / "report.pdf"))
    return tuple(page.extract_text() or "" for page in reader.pages)
