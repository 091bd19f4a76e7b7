"""Large template files streamed in chunks (issue 19 section 5: memory stays flat).

The oracle is the whole-file import of the same folder (its own tests pin its rows, messages and audit
rows): a streamed import must store the same records and audit the same way, and a bad file must give the
same problems (file, row, field, value, message) and write nothing. Small files and small chunks stand in
for large ones (`stream_bytes`, `chunk_rows`), so every chunk boundary is crossed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cartrial.errors import InputError
from cartrial.store.database import connect
from cartrial.store.importing import import_templates, streaming, write_synthetic_study
from cartrial.store.importing.pipeline import read_template_dir
from cartrial.store.importing.streaming import plain_layout, read_chunks, read_whole
from cartrial.store.reads import expand_batch_row
from cartrial.store.service import StudyService
from cartrial.store.study_setup import init_study
from cartrial.store.tamper import verify_complete

from .conftest import PROTOCOL, empty_sqlite_copy, empty_study_copy

STREAM = {"stream_bytes": 20_000, "chunk_rows": 500}
"""labs.csv (about 108 kB, 2,025 rows: 5 chunks) and crs_assessments.csv (31 kB: 2 chunks) are streamed."""


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic") / "study"
    write_synthetic_study(folder, 3)
    return folder


@pytest.fixture(params=["sqlite", "postgresql"])
def two_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty study databases on the same backend."""
    yield (  # copies of the session's `init_empty_study` template
        empty_study_copy(request, request.param, tmp_path, "a"),
        empty_study_copy(request, request.param, tmp_path, "b"),
    )


def data_rows(url: str, table: str) -> list[tuple[object, ...]]:
    """Every record of `table` without its timestamps, in id order."""
    engine = connect(url)
    with engine.connect() as connection:
        result = connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        names = [n for n in list(result.keys()) if n not in ("created_at", "updated_at")]
        rows = [tuple(row[n] for n in names) for row in result.mappings()]
    engine.dispose()
    return rows


AUDITED = ("action", "table_name", "record_id", "subject_id", "field", "old_value", "new_value", "reason")


def audit_rows(url: str) -> list[tuple[object, ...]]:
    """The data audit rows (what changed, not when or the hash chain), each batch row as the per-record rows
    it seals (chunk boundaries decide where a batch ends: decisions D-19.10), in record order per table."""
    engine = connect(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(f"SELECT id, {', '.join(AUDITED)} FROM audit_log WHERE table_name <> 'import_manifest'")
        ).mappings()
        shown = [tuple(r[k] for k in AUDITED) for row in rows for r in expand_batch_row(row)]
    engine.dispose()
    return sorted(shown, key=lambda r: (str(r[1]), int(r[2] or 0), str(r[4])))


def counts_without_audit(url: str) -> dict[str, int]:
    counts = StudyService(url).table_counts()
    del counts["audit_log"]
    return counts


def test_a_streamed_import_stores_and_audits_what_the_whole_file_import_does(
    synthetic: Path, two_databases: tuple[str, str]
) -> None:
    streamed_url, whole_url = two_databases
    assert plain_layout(synthetic / "labs.csv")
    streamed = import_templates(streamed_url, synthetic, "admin", **STREAM)
    whole = import_templates(whole_url, synthetic, "admin")
    assert streamed.totals == whole.totals
    assert [(c.form, c.read, c.inserted) for c in streamed.forms] == [
        (c.form, c.read, c.inserted) for c in whole.forms
    ]
    assert counts_without_audit(streamed_url) == counts_without_audit(whole_url)
    for table in ("lab_result", "crs_assessment", "infusion"):
        assert data_rows(streamed_url, table) == data_rows(whole_url, table)
    assert audit_rows(streamed_url) == audit_rows(whole_url)
    assert verify_complete(connect(streamed_url)).ok
    before = StudyService(streamed_url).table_counts()
    dry = import_templates(streamed_url, synthetic, "admin", dry_run=True, **STREAM)
    assert dry.totals["read"] == whole.totals["read"]
    assert StudyService(streamed_url).table_counts() == before


def _bad_copy(synthetic: Path, folder: Path) -> None:
    """labs.csv with a bad value on spreadsheet rows 10 (chunk 1) and 1,700 (chunk 4) and row 20's line
    repeated on row 1,200 (chunk 3): the same natural key twice, across chunks."""
    folder.mkdir()
    for file in synthetic.glob("*.csv"):
        (folder / file.name).write_bytes(file.read_bytes())
    lines = (synthetic / "labs.csv").read_text(encoding="utf-8").splitlines()
    for row, bad in ((10, "abc"), (1700, "xyz")):
        cells = lines[row - 1].split(",")
        cells[3] = bad
        lines[row - 1] = ",".join(cells)
    lines[1200 - 1] = lines[20 - 1]
    (folder / "labs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_problems_in_several_chunks_are_all_reported_as_for_a_whole_file_and_nothing_is_written(
    synthetic: Path, tmp_path: Path, empty_sqlite_template: Path
) -> None:
    bad = tmp_path / "bad"
    _bad_copy(synthetic, bad)
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    before = StudyService(url).table_counts()
    with pytest.raises(InputError) as streamed:
        import_templates(url, bad, "admin", **STREAM)
    with pytest.raises(InputError) as whole:
        import_templates(url, bad, "admin")
    assert StudyService(url).table_counts() == before

    def located(exc: InputError) -> list[tuple[object, ...]]:
        return sorted((p.file, p.row, p.field, str(p.value), p.message, p.allowed) for p in exc.problems)  # type: ignore[misc]

    assert located(streamed.value) == located(whole.value)
    rows = sorted(p.row for p in streamed.value.problems)  # type: ignore[type-var]
    assert rows == [10, 1200, 1700]
    (repeated,) = [p for p in streamed.value.problems if p.row == 1200]
    assert "already appears on row 20" in repeated.message


def test_a_file_with_quoted_cells_is_read_whole_and_imported(
    synthetic: Path, tmp_path: Path, empty_sqlite_template: Path
) -> None:
    folder = tmp_path / "quoted"
    folder.mkdir()
    for file in synthetic.glob("*.csv"):
        (folder / file.name).write_bytes(file.read_bytes())
    labs = folder / "labs.csv"
    lines = labs.read_text(encoding="utf-8").splitlines()
    cells = lines[1500].split(",")
    cells[1] = f'"{cells[1]}"'
    lines[1500] = ",".join(cells)
    labs.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not plain_layout(labs)
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    report = import_templates(url, folder, "admin", **STREAM)
    assert (
        report.totals["inserted"]
        == report.totals["read"]
        == sum(len(f.read_text(encoding="utf-8").splitlines()) - 1 for f in folder.glob("*.csv"))
    )


STREAMING_CHILD = """
import sys
from cartrial.store.importing import import_templates

def progress(form, done, total):
    print(f"PROGRESS {form} {done} {total}", flush=True)

import_templates(sys.argv[1], sys.argv[2], "admin", progress=progress, stream_bytes=20_000, chunk_rows=1_000)
print("DONE", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.nightly)])
def test_sigkill_during_a_streamed_import_leaves_the_database_as_before(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """As `test_import_crash` for the streamed path: killed after several chunks were written inside the
    one transaction, the database holds exactly what it held before and the trail verifies."""
    import signal
    import subprocess
    import sys
    import time

    from .test_import_crash import snapshot

    url = (
        f"sqlite:///{tmp_path / 'crash.db'}"
        if backend == "sqlite"
        else str(request.getfixturevalue("postgres_url"))
    )
    init_study(url, PROTOCOL, "admin")
    base = tmp_path / "base"
    write_synthetic_study(base, n_subjects=1, seed=3, prefix="BASE")
    import_templates(url, base, "admin")
    before = snapshot(url)
    large = tmp_path / "large"
    write_synthetic_study(large, n_subjects=8, seed=7)
    child = subprocess.Popen(
        [sys.executable, "-c", STREAMING_CHILD, url, str(large)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    written: list[int] = []
    deadline = time.monotonic() + 120
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("PROGRESS labs"):  # the streamed lab chunks, after other forms
                written.append(int(line.split()[2]))
                if len(written) == 2:  # two chunks of labs.csv written in the transaction
                    child.send_signal(signal.SIGKILL)
                    break
            assert not line.startswith("DONE"), "the import finished before it could be killed"
            assert time.monotonic() < deadline, "no progress from the importing process"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
    assert len(written) == 2 and written[1] > written[0], written
    assert child.returncode == -signal.SIGKILL
    assert snapshot(url) == before
    assert verify_complete(connect(url)).ok
    report = import_templates(url, base, "admin")
    assert report.totals["inserted"] == report.totals["updated"] == 0


def test_a_file_with_a_nul_byte_is_not_streamed(tmp_path: Path) -> None:
    """The streamed reader would let pandas cut the cell at the NUL: the file goes to `read_csv`, which
    refuses it at its row (tests/test_tabular_input.py)."""
    file = tmp_path / "labs.csv"
    file.write_bytes(b"a,b\n1,2\n3,x\x00y\n")
    assert not plain_layout(file)


def test_a_nul_byte_in_a_streamed_chunk_is_refused_at_its_row(tmp_path: Path) -> None:
    """A file changed after `plain_layout` passed it: a chunk holding a NUL byte is not given to pandas
    (which cuts the cell at the NUL); `read_chunks` raises the refusal of `read_csv` at the NUL's row, so
    every chunk it yields holds no NUL (`FormData.nul_free`, D-19.1091)."""
    file = tmp_path / "labs.csv"
    file.write_bytes(b"a,b\n1,2\n3,4\n5,x\x00y\n")
    with pytest.raises(InputError) as caught:
        list(read_chunks(file, "", chunk_rows=2))
    assert [(p.row, p.message) for p in caught.value.problems] == [
        (4, "the file contains a NUL byte (binary data)")
    ]
    file.write_bytes(b"a,b\n1,2\n3,xy\n")
    assert [chunk.nul_free for chunk in read_chunks(file, "", chunk_rows=10)] == [True]


def _copy_with_nul(synthetic: Path, folder: Path, form: str | None, row: int) -> None:
    """The study's files, with a NUL byte in the last cell of spreadsheet row `row` of `<form>.csv`."""
    folder.mkdir()
    for file in synthetic.glob("*.csv"):
        (folder / file.name).write_bytes(file.read_bytes())
    if form is not None:
        _put_nul(folder / f"{form}.csv", row)


def _put_nul(file: Path, row: int) -> None:
    lines = file.read_bytes().split(b"\n")
    cells = lines[row - 1].split(b",")
    cells[-1] = cells[-1][:1] + b"\x00" + cells[-1][1:]
    lines[row - 1] = b",".join(cells)
    file.write_bytes(b"\n".join(lines))


def _nul_refusals(problems: list[Any]) -> list[tuple[str, int | None, str | None]]:
    return [
        (Path(str(p.file)).name, p.row, p.allowed)
        for p in problems
        if p.message == "the file contains a NUL byte (binary data)"
    ]


NUL_ALLOWED = "UTF-8 text without NUL bytes"


def test_a_nul_byte_in_a_template_cell_is_refused_at_its_row_by_read_template_dir(
    synthetic: Path, tmp_path: Path
) -> None:
    """`FormData.nul_free` is set by `read_template_dir` because `read_csv` refuses a NUL byte at its row
    (D-19.1091): pinned here, so that the flag cannot outlive the refusal."""
    folder = tmp_path / "nul"
    _copy_with_nul(synthetic, folder, "labs", 40)
    with pytest.raises(InputError) as caught:
        read_template_dir(folder)
    assert _nul_refusals(caught.value.problems) == [("labs.csv", 40, NUL_ALLOWED)]


def test_a_nul_byte_in_a_large_file_is_refused_at_its_row_by_read_whole(
    synthetic: Path, tmp_path: Path
) -> None:
    """`streaming.read_whole` sets `FormData.nul_free` because `read_csv` refuses a NUL at its row."""
    folder = tmp_path / "nul"
    _copy_with_nul(synthetic, folder, "labs", 1500)
    with pytest.raises(InputError) as caught:
        read_whole(folder / "labs.csv", "")
    assert _nul_refusals(caught.value.problems) == [("labs.csv", 1500, NUL_ALLOWED)]


def test_a_nul_byte_in_a_streamed_file_is_refused_at_its_row_and_nothing_is_written(
    synthetic: Path, tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """A large file holding a NUL byte is not streamed (`plain_layout`): the streamed import reads it whole
    and refuses it at the NUL's row, with the other files' problems; nothing is written."""
    folder = tmp_path / "nul"
    _copy_with_nul(synthetic, folder, "labs", 1500)
    assert not plain_layout(folder / "labs.csv")
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    before = StudyService(url).table_counts()
    with pytest.raises(InputError) as caught:
        import_templates(url, folder, "admin", **STREAM)
    assert StudyService(url).table_counts() == before
    assert _nul_refusals(caught.value.problems) == [("labs.csv", 1500, NUL_ALLOWED)]


def test_a_nul_byte_written_after_the_layout_check_is_refused_at_its_row(
    synthetic: Path, tmp_path: Path, empty_sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """labs.csv passes `plain_layout`, then gets a NUL byte on spreadsheet row 1,500 (chunk 3 of 500 rows)
    before its chunks are read: the chunk is not given to pandas (which would cut the cell at the NUL, and
    every chunk's `FormData.nul_free` claims none), and the import refuses the file at that row with the
    message of `read_csv` (`refuse_nul_bytes`), not as "the file changed" without a row (D-19.1091)."""
    folder = tmp_path / "nul"
    _copy_with_nul(synthetic, folder, None, 0)
    checked = streaming.plain_layout

    def then_changed(file: Path, *args: Any, **kwargs: Any) -> bool:
        plain = checked(file, *args, **kwargs)
        if file.name == "labs.csv":
            _put_nul(file, 1500)
        return plain

    monkeypatch.setattr(streaming, "plain_layout", then_changed)
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    before = StudyService(url).table_counts()
    with pytest.raises(InputError) as caught:
        import_templates(url, folder, "admin", **STREAM)
    assert StudyService(url).table_counts() == before
    assert [(Path(str(p.file)).name, p.row) for p in caught.value.problems] == [("labs.csv", 1500)]
    assert _nul_refusals(caught.value.problems) == [("labs.csv", 1500, NUL_ALLOWED)]


def test_a_long_cell_in_a_streamed_chunk_is_reported_with_the_other_files_problems(
    synthetic: Path, tmp_path: Path, empty_sqlite_template: Path
) -> None:
    """A cell over the 1,000,000-character limit in a streamed chunk raised its `InputError` out of the
    streamed reader: the import stopped there and the problems of the other files were not reported
    (review2 L7, D-19.586). It is one problem among the others, as a streamed file read whole (`read_whole`)
    reports its own read errors."""
    bad = tmp_path / "long"
    bad.mkdir()
    for file in synthetic.glob("*.csv"):
        (bad / file.name).write_bytes(file.read_bytes())
    lines = (synthetic / "labs.csv").read_text(encoding="utf-8").splitlines()
    cells = lines[1500 - 1].split(",")
    cells[3] = "x" * 1_000_001
    lines[1500 - 1] = ",".join(cells)
    (bad / "labs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    crs = (synthetic / "crs_assessments.csv").read_text(encoding="utf-8").splitlines()
    cells = crs[10 - 1].split(",")
    cells[3] = "abc"
    crs[10 - 1] = ",".join(cells)
    (bad / "crs_assessments.csv").write_text("\n".join(crs) + "\n", encoding="utf-8")
    assert plain_layout(bad / "labs.csv")
    url = empty_sqlite_copy(empty_sqlite_template, tmp_path / "study.db")
    before = StudyService(url).table_counts()
    with pytest.raises(InputError) as streamed:
        import_templates(url, bad, "admin", **STREAM)
    assert StudyService(url).table_counts() == before
    located = sorted((Path(str(p.file)).name, p.row) for p in streamed.value.problems)
    assert ("labs.csv", 1500) in located and ("crs_assessments.csv", 10) in located, located
    (long,) = [p for p in streamed.value.problems if p.row == 1500]
    assert long.message == "the cell is too long (1,000,001 characters)"
