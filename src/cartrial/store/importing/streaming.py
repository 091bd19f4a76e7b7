"""Large template files read, validated and written in chunks, so memory stays flat (issue 19 section 5).

A template file larger than `STREAM_BYTES` (a lab or CRS form of a large study), and every file over a
sixteenth of it when the folder is larger than that (never ``sites.csv`` or ``subjects.csv``, which the other
forms' checks need whole), is not read whole. Inside the import's one
transaction, after the files read whole have been validated and written, it is read `CHUNK_ROWS` rows at a
time; each chunk is validated exactly like a whole file (the same field, record and engine rules, located at
its spreadsheet rows), checked against the subjects of the import and the database, run through the edit
checks (the subjects' infusions and records are then already stored in the same transaction), and written.
A natural key repeated across chunks is found by a hash of each row's typed key, kept in sorted runs (8
bytes a row; a hash match is confirmed from the keys themselves before it is reported). When any chunk has a
problem, writing stops, the rest is still validated, every problem is raised together and the transaction
rolls back: nothing is written, as for a file read whole.

Differences, by design: a rule of an engine's form validator that compares rows is applied within a chunk;
a file with a quote character, a blank line, a short row, a stray carriage return or bytes that are not
UTF-8 is read whole (the located read errors of `cartrial.tabular.read_csv` need the whole file); a dry run
writes and rolls back (the edit checks of a chunk see the rows written before it).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.columns import FIRST_DATA_ROW
from cartrial.errors import InputError, Problem
from cartrial.store.importing.forms import FORMS_BY_NAME, FormSpec
from cartrial.store.importing.validation import FormData
from cartrial.tabular import _read_header, long_cell_problems, read_csv, refuse_nul_bytes, trim_cells

STREAM_BYTES = 64 * 1024 * 1024
"""Template files larger than this are streamed (about 1 million lab rows)."""
CHUNK_ROWS = 100_000
"""Rows per streamed chunk (read, validated and written together)."""
NEVER_STREAMED = frozenset({"sites", "subjects"})
"""Forms the cross-file checks of the other forms need whole."""


class ReadWhole(Exception):
    """The file needs the whole-file reader (see the module docstring)."""


def streamed(spec: FormSpec, size_bytes: int, total_bytes: int, stream_bytes: int | None) -> bool:
    """Whether a template file of this form and size is streamed, in a folder of `total_bytes` of templates:
    a file over `stream_bytes` (default `STREAM_BYTES`), and, when the folder is over it, every file over a
    sixteenth of it (so the files read whole stay small together, whatever the study's size)."""
    limit = STREAM_BYTES if stream_bytes is None else stream_bytes
    if spec.name in NEVER_STREAMED:
        return False
    return size_bytes > limit or (total_bytes > limit and size_bytes > limit // 16)


def plain_layout(file: Path, block_bytes: int = 1 << 24) -> bool:
    """Whether the file can be streamed: UTF-8, no quote character or NUL byte (in the header too, D-19.1164:
    `read_csv` locates it), no carriage return except before a line feed, and every line after the header
    has exactly as many commas as the header (so one line is one row with every cell: no blank, short or
    long row). One vectorised pass over the bytes."""
    import codecs

    try:
        header = _read_header(file)
    except InputError:  # a header not UTF-8 or holding a NUL byte (D-19.1164): `read_csv` locates it
        return False
    commas = len(header) - 1
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    carry = b""
    with file.open("rb") as handle:
        handle.readline()
        while True:
            block = handle.read(block_bytes)
            final = not block
            try:
                decoder.decode(block, final=final)
            except UnicodeDecodeError:
                return False
            data = carry + block
            if final:
                if data and not data.endswith(b"\n"):
                    data += b"\n"
                lines_end = len(data)
            else:
                lines_end = data.rfind(b"\n") + 1
            whole, carry = data[:lines_end], data[lines_end:]
            if b'"' in whole or b"\x00" in whole or b"\r" in whole.replace(b"\r\n", b"\n"):
                return False
            if whole:
                array = np.frombuffer(whole, dtype=np.uint8)
                ends = np.flatnonzero(array == ord("\n"))
                counts = np.cumsum(array == ord(","))[ends]
                per_line = np.diff(np.concatenate([[0], counts]))
                if (per_line != commas).any():
                    return False
            if final:
                return True


def read_chunks(file: Path, sha256: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[FormData]:
    """The file's rows as `FormData` of at most `chunk_rows` rows each (`source_rows`: their spreadsheet
    rows), for a file of `plain_layout`. Raises `ReadWhole` if a chunk is not of that layout (the file
    changed since it was checked), and the `InputError` of `cartrial.tabular.refuse_nul_bytes` (located at
    its row) if a chunk holds a NUL byte: no chunk yielded holds one (`FormData.nul_free`, D-19.1091)."""
    spec = FORMS_BY_NAME[file.stem]
    header = _read_header(file)
    n_columns = len(header)
    offset = 0
    listed: dict[str, int] = {}  # over-long cells per column so far (D-19.793)
    with file.open("rb") as handle:
        first = handle.readline()
        if first.startswith(b"\xef\xbb\xbf"):
            first = first[3:]
        while True:
            lines = list(islice(handle, chunk_rows))
            if not lines:
                return
            block = b"".join(lines)
            if b"\x00" in block:  # the file changed after `plain_layout`: pandas would cut the cell at it
                refuse_nul_bytes(file)  # the refusal of `read_csv`, at the row of the file's first NUL byte
                raise ReadWhole  # gone again: the file is still changing
            if b'"' in block or b"\r" in block.replace(b"\r\n", b"\n"):
                raise ReadWhole
            try:
                block.decode("utf-8")
            except UnicodeDecodeError:
                raise ReadWhole from None
            for line in lines:
                if not line.strip() or line.count(b",") != n_columns - 1:
                    raise ReadWhole  # blank, short or long row: the located errors of the whole reader
            frame = pd.read_csv(
                io.BytesIO(first + block),
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skipinitialspace=True,
                encoding="utf-8",
                index_col=False,
                skip_blank_lines=False,
            )
            frame.columns = header
            rows = np.arange(offset, offset + len(frame)) + FIRST_DATA_ROW
            # the cell limit of every reader (D-19.581); a line within it holds no longer cell. A longer
            # cell is emptied and reported with the chunk's other problems (D-19.793)
            emptied: set[tuple[int, str]] = set()
            long_cells = long_cell_problems(
                file,
                frame,
                rows=rows.tolist(),
                size=max(map(len, lines)),
                blank=True,
                emptied=emptied,
                listed=listed,  # the 50 listed per column hold for the whole file, not per chunk
            )
            trim_cells(frame)
            offset += len(frame)
            yield FormData(
                spec=spec,
                frame=frame,
                file=str(file),
                sha256=sha256,
                source_rows=rows,
                read_problems=long_cells,
                emptied_cells=emptied,
                nul_free=True,  # no NUL byte in the block (checked above)
            )


def read_whole(file: Path, sha256: str) -> FormData:
    """The whole file, read by `cartrial.tabular.read_csv` (its located errors; a cell over the limit is
    reported with the file's other problems, D-19.793)."""
    long_cells: list[Problem] = []
    emptied: set[tuple[int, str]] = set()
    frame = read_csv(file, header_only=True, long_cells=long_cells, emptied=emptied)
    return FormData(
        spec=FORMS_BY_NAME[file.stem],
        frame=frame,
        file=str(file),
        sha256=sha256,
        read_problems=long_cells,
        emptied_cells=emptied,
        nul_free=True,  # `read_csv` refuses a NUL byte
    )


def parsed_keys(data: FormData, protocol: Any = None) -> dict[str, list[Any]]:
    """The typed natural-key values of each row of a chunk (None where a key cell is blank or bad), parsed
    by the same field rules as `validate_form` (the chunk's own problems are reported by that)."""
    from cartrial.columns import RowProblems
    from cartrial.store.importing.validation import _parse_column, _scalar_default

    spec = data.spec
    frame = data.frame.reset_index(drop=True)
    by_table_column = {c.table_column: c for c in spec.columns() if c.table_column is not None}
    out: dict[str, list[Any]] = {}
    for name in spec.key_columns:
        column = by_table_column[name]
        if column.name not in frame.columns or column.rule is None:
            out[name] = [None] * len(frame)
            continue
        cells = frame[column.name]
        default = _scalar_default(spec, column)
        if default is not None:
            cells = cells.where(cells != "", default)
        out[name] = _parse_column(cells, column, column.rule, RowProblems(data.file), protocol)
    return out


def key_hashes(keys: dict[str, list[Any]]) -> np.ndarray:
    """A 64-bit hash of each row's typed natural key (rows with a missing key part: hash 0, never
    compared, as `validate_form` does not compare keys that failed to parse)."""
    texts = pd.DataFrame({c: [None if v is None else repr(v) for v in values] for c, values in keys.items()})
    hashes = pd.util.hash_pandas_object(texts, index=False).to_numpy(dtype=np.uint64)
    hashes[texts.isna().any(axis=1).to_numpy()] = 0
    return hashes


@dataclass
class KeyRuns:
    """The key hashes of the chunks seen so far (with their spreadsheet rows), as sorted runs merged while
    they grow (each hash is sorted O(log n) times; a lookup searches O(log n) runs)."""

    runs: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def earlier_rows(self, hashes: np.ndarray) -> np.ndarray:
        """For each hash, the row of an earlier chunk with the same hash (0: none)."""
        found = np.zeros(len(hashes), dtype=np.int64)
        for keys, rows in self.runs:
            at = np.searchsorted(keys, hashes)
            inside = at < len(keys)
            hit = np.zeros(len(hashes), dtype=bool)
            hit[inside] = keys[at[inside]] == hashes[inside]
            hit &= hashes != 0
            found[hit & (found == 0)] = rows[at[hit & (found == 0)]]
        return found

    def add(self, hashes: np.ndarray, rows: np.ndarray) -> None:
        order = np.argsort(hashes, kind="stable")
        self.runs.append((hashes[order], np.asarray(rows, dtype=np.int64)[order]))
        while len(self.runs) > 1 and len(self.runs[-1][0]) >= len(self.runs[-2][0]):
            (k2, r2), (k1, r1) = self.runs.pop(), self.runs.pop()
            keys = np.concatenate([k1, k2])
            rows_ = np.concatenate([r1, r2])
            order = np.argsort(keys, kind="stable")
            self.runs.append((keys[order], rows_[order]))


def repeated_key_problems(
    data: FormData, keys: dict[str, list[Any]], earlier: np.ndarray, chunk_rows: int = CHUNK_ROWS
) -> list[Problem]:
    """The rows of a chunk whose natural key an earlier chunk gave (`earlier`: the row of the earlier chunk
    with the same key hash, 0 for none), with the message `validate_form` gives for a repeated key. A hash
    match is confirmed by parsing that earlier row's key again (rare: a repeated key, or a 64-bit hash
    collision, which is then no problem)."""
    hits = np.flatnonzero(earlier)
    if not hits.size:
        return []
    wanted = {int(earlier[i]) for i in hits.tolist()}
    earlier_keys: dict[int, tuple[Any, ...]] = {}
    last = max(wanted)
    for chunk in read_chunks(Path(data.file), data.sha256, chunk_rows):
        rows = chunk.source_rows if chunk.source_rows is not None else np.zeros(0, dtype=np.int64)
        inside = [r for r in wanted if rows.size and int(rows[0]) <= r <= int(rows[-1])]
        if inside:
            parsed = parsed_keys(chunk)
            for r in inside:
                earlier_keys[r] = tuple(parsed[c][r - int(rows[0])] for c in data.spec.key_columns)
        if rows.size and int(rows[-1]) >= last:
            break
    problems: list[Problem] = []
    template_key = data.spec.template_key()
    numbers = data.rows_of(np.arange(len(data.frame)))
    for position in hits.tolist():
        first = int(earlier[position])
        key = tuple(keys[c][position] for c in data.spec.key_columns)
        if earlier_keys.get(first) != key:
            continue
        problems.append(
            Problem(
                f"the same {' + '.join(template_key)} already appears on row {first}",
                file=data.file,
                row=int(numbers[position]),
                field=", ".join(template_key),
                allowed="one row per natural key",  # rows and fields, no value of the record (D-12.2)
            )
        )
    return problems
