"""Hypothesis-generated CSV (and YAML) files for every reader (issue 19, "What must hold"): random headers,
cells, encodings and ragged rows must end with exit 0 or 2 — never a traceback or an unhandled exception.

The generated files start from the example study's own columns and cell values (so that many examples get
past the header check into the row validators), then mix in unknown columns, random text, numbers that are
not finite, dates out of range, quotes, commas, line breaks, rows of the wrong length and other encodings.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from .conftest import EXAMPLE_READERS

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "ct103a-nmosd"
STUDY = EXAMPLE / "study"
Cli = Callable[..., Any]  # the `cli` fixture of tests/conftest.py

EXAMPLES = int(os.environ.get("CARTRIAL_FUZZ_EXAMPLES", "12"))
"""Examples per reader: small (and derandomised) by default so the file runs in well under a minute; set
`CARTRIAL_FUZZ_EXAMPLES=500` for a deep, random search."""
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize="CARTRIAL_FUZZ_EXAMPLES" not in os.environ,
)

READERS = EXAMPLE_READERS | {
    # the fit without --by and BLQ flags: every fuzzed sample of a subject in one profile
    "kinetics fit": (
        "pk_samples.csv",
        ["--subject", "subject_id", "--time", "actual_day", "--conc", "value", "--lloq-col", "lloq"],
    ),
}
SLOW = {"kinetics fit"}


def _columns(name: str) -> dict[str, list[str]]:
    """The example file's columns with (up to 30 of) their cell values."""
    with (STUDY / name).open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    return {
        column: sorted({row[i] for row in rows[1:] if i < len(row)})[:30] for i, column in enumerate(rows[0])
    }


ODD_CELLS = st.sampled_from(
    [
        "",
        " ",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "-1",
        "1e309",
        "0",
        "9999-12-31",
        "2021-13-40",
        "2021-02-29",
        "2021-06-01T25:61:00",
        "true",
        "maybe",
        '=HYPERLINK("x")',
        '"',
        ",",
        "a\nb",
        "\x00",
        "é",
        "−3",
        "1,5",
        "CT-001",
        "CT-999",
        "-0",
        "1e-320",
        "12345678901234567890",
    ]
)


@st.composite
def csv_files(draw: st.DrawFn, example: str) -> bytes:
    """A CSV file built from the example's columns: some dropped, some unknown added, shuffled; rows of
    example values and odd cells, sometimes ragged; written in a random encoding."""
    known = _columns(example)
    names = list(known)
    kept = draw(st.lists(st.sampled_from(names), min_size=0, max_size=len(names), unique=True))
    if draw(st.booleans()):
        kept = [n for n in names if n in kept or draw(st.integers(0, 4)) > 0]  # usually most columns
    header = kept + draw(st.lists(st.sampled_from(["extra", "note", "", "subject_id", "Value"]), max_size=2))
    n_rows = draw(st.integers(0, 6))
    rows: list[list[str]] = []
    for _ in range(n_rows):
        row = []
        for column in header:
            choices = known.get(column) or ["x"]
            row.append(draw(st.one_of(st.sampled_from(choices), ODD_CELLS, st.text(max_size=6))))
        ragged = draw(st.integers(0, 9))
        if ragged == 0 and row:
            row = row[:-1]
        elif ragged == 1:
            row = [*row, "surplus"]
        rows.append(row)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows([header, *rows])
    text = buffer.getvalue() + draw(st.sampled_from(["", "\n", "\n\n", " \n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return text.encode(encoding, errors="replace")


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|datetime\.(date|datetime)\(|object at 0x")


def _check(cli: Cli, *args: str) -> None:
    code, out, err = cli(*args)
    assert not TRACEBACK.search(out + err), (out + err)[-2000:]
    assert code in (0, 2), (code, (out + err)[-2000:])
    if code == 2:
        assert err.strip()


def _reader_params() -> list[Any]:
    return [
        pytest.param(r, marks=[pytest.mark.slow] if r in SLOW else [], id=r.replace(" ", "-"))
        for r in READERS
    ]


@pytest.mark.parametrize("reader", _reader_params())
def test_generated_csv_never_gives_a_traceback(reader: str, cli: Cli, tmp_path: Path) -> None:
    example, extra = READERS[reader]
    counter = iter(range(10**6))

    @FUZZ
    @given(data=csv_files(example))
    def run(data: bytes) -> None:
        file = tmp_path / f"generated-{next(counter)}.csv"
        file.write_bytes(data)
        _check(cli, *reader.split(), str(file), *extra)

    run()


@pytest.mark.parametrize("slot", ["--edss", "--va", "--osis", "--timed-walk", "--infusions"])
def test_generated_csv_for_responders(slot: str, cli: Cli, tmp_path: Path) -> None:
    files = {
        "--infusions": "infusions.csv",
        "--edss": "edss.csv",
        "--va": "visual_acuity.csv",
        "--osis": "osis.csv",
        "--timed-walk": "timed_walk.csv",
    }
    counter = iter(range(10**6))

    @FUZZ
    @given(data=csv_files(files[slot]))
    def run(data: bytes) -> None:
        file = tmp_path / f"generated-{next(counter)}.csv"
        file.write_bytes(data)
        args = ["score", "responders"]
        for option, name in files.items():
            args += [option, str(file) if option == slot else str(STUDY / name)]
        _check(cli, *args)

    run()


@pytest.fixture(scope="module")
def empty_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised SQLite study (reference protocol, no data) to dry-run imports against."""
    from cartrial.store import init_study

    path = tmp_path_factory.mktemp("fuzz-study") / "study.db"
    init_study(f"sqlite:///{path}", EXAMPLE / "protocol.yaml", "admin", admin_password="test-password-0123")
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    "form", ["subjects.csv", "infusions.csv", "crs_assessments.csv", "labs.csv", "relapses.csv"]
)
def test_generated_csv_for_import_dry_run(form: str, cli: Cli, tmp_path: Path, empty_study: Path) -> None:
    """`import templates --dry-run` with one generated form beside the example's other forms."""
    counter = iter(range(10**6))

    @settings(FUZZ, max_examples=max(6, EXAMPLES // 2))
    @given(data=csv_files(form))
    def run(data: bytes) -> None:
        folder = tmp_path / f"study-{next(counter)}"
        shutil.copytree(STUDY, folder)
        (folder / form).write_bytes(data)
        database = folder / "study.db"
        shutil.copyfile(empty_study, database)
        _check(
            cli,
            "import",
            "templates",
            str(folder),
            "--url",
            f"sqlite:///{database}",
            "--user",
            "admin",
            "--dry-run",
        )

    run()


YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["2021-05-06", "9999-12-31", "2021-13-40", "F", "banana", "positive", "", "*a", "&a x"]),
    st.text(max_size=8),
)


@given(data=st.data())
@settings(FUZZ, max_examples=property_examples(2) * EXAMPLES)
def test_generated_candidate_yaml_never_gives_a_traceback(
    data: st.DataObject, cli: Cli, tmp_path: Path
) -> None:
    """`screen` with a candidate whose fields are replaced, dropped or added at random."""
    import yaml

    base = yaml.safe_load((EXAMPLE / "candidates" / "cand-01-eligible.yaml").read_text(encoding="utf-8"))
    assert isinstance(base, dict)
    candidate: Any = dict(base)
    for key in list(candidate):
        action = data.draw(st.integers(0, 5))
        if action == 0:
            del candidate[key]
        elif action == 1:
            candidate[key] = data.draw(YAML_SCALARS)
        elif action == 2 and isinstance(candidate[key], list):
            candidate[key] = [data.draw(YAML_SCALARS), *candidate[key][:1]]
    if data.draw(st.integers(0, 5)) == 0:
        candidate = data.draw(st.one_of(YAML_SCALARS, st.lists(YAML_SCALARS, max_size=2)))
    file = tmp_path / f"candidate-{data.draw(st.integers(0, 10**9))}.yaml"
    text = yaml.safe_dump(candidate, allow_unicode=True)
    if data.draw(st.integers(0, 9)) == 0:
        text = text[: data.draw(st.integers(0, len(text)))]  # truncated: possibly malformed YAML
    file.write_text(text, encoding="utf-8")
    _check(cli, "screen", str(EXAMPLE / "protocol.yaml"), str(file))
