"""Transport files: SAS XPORT version 5 (pyreadstat) and CDISC Dataset-JSON v1.1, written and read back.

Writer choice: pyreadstat `write_xport(..., file_format_version=5)` (shared reference data-standards.md §4.1:
the call verified to work; ReadStat is a maintained C library that also reads the files back, so the same
dependency gives the writer and one independent reader — pandas `read_sas` is the other). The `xport`
package (3.6.1) was the alternative; it is pure Python and slower on the 1,000-subject study. Neither
enforces the v5 limits: `cartrial.cdisc.validate` does, before this module is called.

Dataset-JSON v1.1 (CDISC, 2024): top-level ``datasetJSONCreationDateTime``, ``datasetJSONVersion``
(``1.1.0``), ``itemGroupOID``, ``records``, ``name``, ``label``, ``columns`` (itemOID, name, label, dataType,
targetDataType, length, displayFormat, keySequence) and ``rows`` (data-standards.md §4.2). ADaM numeric dates
are ``dataType: date`` with ``targetDataType: integer`` (ISO 8601 text in JSON, a SAS date number in XPT);
ADaM numeric datetimes ``dataType: datetime`` (ISO 8601 to the second in JSON, SAS seconds since 1960-01-01,
format E8601DT19., in XPT; D-19.262).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cartrial.cdisc.spec import DatasetSpec

DATASET_JSON_VERSION = "1.1.0"
SAS_EPOCH = dt.date(1960, 1, 1)


def char_lengths(frame: pd.DataFrame, spec: DatasetSpec) -> dict[str, int]:
    """Character length per Char variable: the longest value (at least 1). A spec's `length` is the most a
    value may have (`validate_dataset` refuses a longer one), never a width to pad to: the FDA Study Data
    Technical Conformance Guide allots a character column the maximum length of its data (D-19.657)."""
    out = {}
    for v in spec.variables:
        if v.type != "Char" or v.name not in frame.columns:
            continue
        # values are ASCII once validated, so characters = bytes; the longest of the distinct values (as
        # text, as `astype(str)` writes them), each converted once
        longest = max(map(len, map(str, pd.unique(frame[v.name]))), default=0)
        out[v.name] = max(1, longest)
    return out


def study_char_lengths(
    frames: Mapping[str, pd.DataFrame], specs: Mapping[str, DatasetSpec]
) -> dict[str, dict[str, int]]:
    """Character length per dataset and Char variable, one width per variable name across the study: the
    longest value of that name over every dataset written (SDTM and ADaM), except in a SUPP-- dataset,
    whose variables keep the longest value of their own dataset (FDA Study Data Technical Conformance
    Guide: the allotted length of a character column is the maximum length of the variable used across all
    datasets in the study, except for SUPPQUAL datasets, where it is the maximum in the individual dataset;
    D-19.657). The XPT file, the Dataset-JSON file and define.xml all take these."""
    own = {name: char_lengths(frame, specs[name]) for name, frame in frames.items()}
    study: dict[str, int] = {}
    for name, lengths in own.items():
        if not name.startswith("SUPP"):
            for variable, length in lengths.items():
                study[variable] = max(study.get(variable, 1), length)
    return {
        name: lengths if name.startswith("SUPP") else {v: study[v] for v in lengths}
        for name, lengths in own.items()
    }


def _xpt_frame(frame: pd.DataFrame, spec: DatasetSpec) -> tuple[pd.DataFrame, dict[str, str]]:
    data: dict[str, Any] = {}
    formats: dict[str, str] = {}
    for v in spec.variables:
        if v.name not in frame.columns:
            continue
        column = frame[v.name]
        if v.type == "Char":
            data[v.name] = column.where(column.notna(), "").astype(str)
        elif v.date == "sasdate":
            data[v.name] = _sas_days(column)
            formats[v.name] = "DATE9."
        elif v.date == "sasdatetime":
            data[v.name] = _sas_seconds(column)
            formats[v.name] = "E8601DT19."
        else:
            data[v.name] = pd.to_numeric(column, errors="raise").astype(float)
    return pd.DataFrame(data, columns=list(data)), formats


def _sas_days(column: pd.Series) -> np.ndarray:
    """SAS date numbers (days since 1960-01-01) of a column of `datetime.date` (NaN otherwise)."""
    return np.array(
        [float((x - SAS_EPOCH).days) if isinstance(x, dt.date) else math.nan for x in column], dtype=float
    )


def _sas_seconds(column: pd.Series) -> np.ndarray:
    """SAS datetime numbers (seconds since 1960-01-01T00:00) of a column of naive `datetime.datetime`
    (NaN otherwise)."""
    start = dt.datetime.combine(SAS_EPOCH, dt.time())
    return np.array(
        [(x - start).total_seconds() if isinstance(x, dt.datetime) else math.nan for x in column], dtype=float
    )


def write_xpt(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    path: Path,
    *,
    engine: str = "cartrial",
    created: str | None = None,
    lengths: Mapping[str, int] | None = None,
) -> None:
    """Write one dataset as SAS XPORT v5 (validate first: this call does not check the v5 limits).

    ``engine="cartrial"`` (default): `cartrial.cdisc.xport`, vectorised, character lengths as in define.xml
    (`char_lengths`, or `lengths` when the caller computed them); ``engine="pyreadstat"``: pyreadstat's
    writer (value by value; kept for comparison)."""
    if engine == "cartrial":
        from cartrial.cdisc.xport import XptColumn, write_xport

        lengths = char_lengths(frame, spec) if lengths is None else lengths
        arrays: dict[str, Any] = {}
        columns = []
        for v in spec.variables:
            if v.name not in frame.columns:
                continue
            column = frame[v.name]
            if v.type == "Char":
                arrays[v.name] = column.to_numpy(dtype=object)
                columns.append(XptColumn(v.name, v.label, "Char", lengths[v.name]))
            elif v.date == "sasdate":
                arrays[v.name] = _sas_days(column)
                columns.append(XptColumn(v.name, v.label, "Num", 8, "DATE", 9, 0))
            elif v.date == "sasdatetime":
                arrays[v.name] = _sas_seconds(column)
                columns.append(XptColumn(v.name, v.label, "Num", 8, "E8601DT", 19, 0))
            else:
                arrays[v.name] = pd.to_numeric(column, errors="raise").to_numpy(dtype=float)
                columns.append(XptColumn(v.name, v.label, "Num", 8))
        when = dt.datetime.fromisoformat(created) if created else None
        write_xport(arrays, columns, path, dataset_name=spec.name, dataset_label=spec.label, created=when)
        return
    import pyreadstat

    from cartrial.cdisc.xport import check_xport_numbers

    data, formats = _xpt_frame(frame, spec)
    for name in data.columns:  # the same range check as the default writer: pyreadstat would write junk
        if spec.variable(name).type != "Char":
            check_xport_numbers(data[name], name, path, len(data))
    labels: list[str | None] = [spec.variable(c).label for c in data.columns]

    pyreadstat.write_xport(
        data,
        str(path),
        file_label=spec.label,
        column_labels=labels,
        table_name=spec.name,
        file_format_version=5,
        variable_format=formats or None,
    )


def read_xpt(path: Path) -> tuple[pd.DataFrame, str, dict[str, str]]:
    """(frame, dataset label, variable labels) of an XPT file, read with pyreadstat."""
    import pyreadstat

    frame, meta = pyreadstat.read_xport(str(path))
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    return frame, meta.file_label or "", {k: v or "" for k, v in labels.items()}


def _json_type(spec: DatasetSpec, name: str, frame: pd.DataFrame) -> dict[str, Any]:
    v = spec.variable(name)
    if v.type == "Char":
        return {"dataType": "string"}
    if v.date == "sasdate":
        return {"dataType": "date", "targetDataType": "integer", "displayFormat": "DATE9."}
    if v.date == "sasdatetime":
        return {"dataType": "datetime", "targetDataType": "integer", "displayFormat": "E8601DT19."}
    values = pd.to_numeric(frame[name], errors="coerce").dropna()
    integral = (
        bool(len(values))
        and bool((values == values.round()).all())
        and not v.name.endswith(("STRESN", "AVAL", "AGE_"))
    )
    return {"dataType": "integer" if integral else "double"}


def _json_column(series: pd.Series, data_type: str) -> np.ndarray:
    """One column as JSON-ready Python values (None for missing), vectorised (object array)."""
    if data_type == "string":
        text = series.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(text, skipna=False) not in ("string", "empty"):
            text = series.where(series.notna(), "").astype(str).to_numpy(dtype=object)
        out = text.copy()
        out[text == ""] = None
        return out
    if data_type in ("date", "datetime"):
        dates = np.empty(len(series), dtype=object)
        dates[:] = [_json_value(v, data_type) for v in series]
        return dates
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    missing = np.isnan(numbers)
    if data_type == "integer":
        out = np.where(missing, 0, numbers).astype(np.int64).astype(object)
    else:
        out = numbers.astype(object)
    out[missing] = None
    return out


def _json_value(value: Any, data_type: str) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if data_type == "string":
        return None if value == "" else str(value)
    if data_type == "datetime":
        return value.isoformat(timespec="seconds") if isinstance(value, dt.datetime) else None
    if data_type == "date":
        return value.isoformat() if isinstance(value, dt.date) else None
    if data_type == "integer":
        return int(value)
    return float(value)


def _dataset_json_parts(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    study_oid: str,
    created: str,
    originator: str = "cartrial",
    version: str = "",
    lengths: Mapping[str, int] | None = None,
) -> tuple[dict[str, Any], list[np.ndarray]]:
    """The Dataset-JSON v1.1 document without ``rows``, and the row values column by column."""
    lengths = char_lengths(frame, spec) if lengths is None else lengths
    keys = {k: i + 1 for i, k in enumerate(spec.keys)}
    columns = []
    types = {}
    for name in [c for c in spec.names if c in frame.columns]:
        v = spec.variable(name)
        column: dict[str, Any] = {"itemOID": f"IT.{spec.name}.{name}", "name": name, "label": v.label}
        column |= _json_type(spec, name, frame)
        types[name] = column["dataType"]
        if name in lengths:
            column["length"] = lengths[name]
        if name in keys:
            column["keySequence"] = keys[name]
        columns.append(column)
    values = [_json_column(frame[c["name"]], types[c["name"]]) for c in columns]
    header = {
        "datasetJSONCreationDateTime": created,
        "datasetJSONVersion": DATASET_JSON_VERSION,
        "fileOID": f"cartrial.{study_oid}.{spec.name}",
        "originator": originator,
        "sourceSystem": {"name": "cartrial", "version": version or "0"},
        "studyOID": study_oid,
        "metaDataVersionOID": f"MDV.{study_oid}.{spec.standard}",
        "metaDataRef": "define.xml",
        "itemGroupOID": f"IG.{spec.name}",
        "records": len(frame) if values else 0,
        "name": spec.name,
        "label": spec.label,
        "columns": columns,
    }
    return header, values


def _rows(values: list[np.ndarray], start: int, stop: int) -> list[list[Any]]:
    """Rows start..stop-1 as lists (one object grid, converted in C)."""
    grid = np.empty((stop - start, len(values)), dtype=object)
    for j, column_values in enumerate(values):
        grid[:, j] = column_values[start:stop]
    rows: list[list[Any]] = grid.tolist()
    return rows


def dataset_json(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    study_oid: str,
    created: str,
    originator: str = "cartrial",
    version: str = "",
) -> dict[str, Any]:
    """The Dataset-JSON v1.1 document of one dataset (as a dict)."""
    header, values = _dataset_json_parts(
        frame, spec, study_oid=study_oid, created=created, originator=originator, version=version
    )
    rows = _rows(values, 0, len(frame)) if values and len(frame) else []
    return {**header, "rows": rows}


def write_dataset_json(document: dict[str, Any], path: Path) -> None:
    """Write a Dataset-JSON document (UTF-8; the content itself is ASCII after validation)."""
    import orjson

    path.write_bytes(orjson.dumps(document))


JSON_CHUNK_ROWS = 50_000


def write_dataset_json_frame(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    path: Path,
    *,
    study_oid: str,
    created: str,
    originator: str = "cartrial",
    version: str = "",
    lengths: Mapping[str, int] | None = None,
) -> None:
    """`dataset_json` + `write_dataset_json` without holding every row as Python lists at once: the rows
    are encoded (orjson) and written in chunks of `JSON_CHUNK_ROWS`; the same document."""
    import orjson

    header, values = _dataset_json_parts(
        frame,
        spec,
        study_oid=study_oid,
        created=created,
        originator=originator,
        version=version,
        lengths=lengths,
    )
    n = len(frame) if values else 0
    with path.open("wb") as handle:
        handle.write(orjson.dumps(header)[:-1] + b',"rows":[')
        for start in range(0, n, JSON_CHUNK_ROWS):
            chunk = orjson.dumps(_rows(values, start, min(n, start + JSON_CHUNK_ROWS)))
            if start:
                handle.write(b",")
            handle.write(chunk[1:-1])
        handle.write(b"]}")


DATASET_JSON_TYPES = ("string", "integer", "float", "double", "decimal", "boolean", "date", "datetime")
"""The column dataTypes `read_dataset_json` reads (Dataset-JSON v1.1; ``time`` and ``URI`` are not used)."""


def _column_metadata_problem(k: int, column: Any) -> str | None:
    """Why column `k` (0-based) of a Dataset-JSON document is not readable metadata, or None: ``name``
    text, ``dataType`` one of `DATASET_JSON_TYPES`, ``label`` and ``itemOID`` text when present,
    ``length`` a whole number >= 1 when present (D-19.661)."""
    where = f"column {k + 1}"
    if not isinstance(column, dict):
        return f"{where} is not an object"
    if not isinstance(column.get("name"), str):
        return f"{where}: name must be text"
    where = f"column {k + 1} ({column['name']!r})"
    if column.get("dataType") not in DATASET_JSON_TYPES:
        return f"{where}: dataType must be one of {', '.join(DATASET_JSON_TYPES)}"
    for field in ("label", "itemOID"):
        if field in column and not isinstance(column[field], str):
            return f"{where}: {field} must be text"
    length = column.get("length")
    if "length" in column and (type(length) is not int or length < 1):
        return f"{where}: length must be a whole number >= 1"
    return None


class DatasetJSONError(ValueError):
    """A Dataset-JSON document whose column metadata is not of the expected types (the message names
    the column and the field; `check_folder` reports it as a finding)."""


def read_dataset_json(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(frame, document without rows) of a Dataset-JSON file; dates come back as `datetime.date`,
    missing character values as ``''``. Columns are converted by position, so a variable named twice
    keeps each column's own values. A column whose metadata is not of its type raises
    `DatasetJSONError` naming the column and the field. The text is read by `cartrial.sources.parse_json`:
    ``NaN``, ``Infinity`` or a float beyond the double range in a row (not JSON numbers; the standard parser
    read them as NaN and inf without a word) is a `json.JSONDecodeError` with its line and column
    (D-19.1046)."""
    from cartrial.sources import parse_json

    document = parse_json(path.read_text(encoding="utf-8"))
    columns = document["columns"]
    if not isinstance(columns, list):
        raise DatasetJSONError("columns must be a list")
    for k, c in enumerate(columns):
        problem = _column_metadata_problem(k, c)
        if problem:
            raise DatasetJSONError(problem)
    names = [c["name"] for c in columns]
    frame = pd.DataFrame(document.get("rows", []), columns=names, dtype=object)
    for k, c in enumerate(columns):
        values = frame.iloc[:, k]
        if c["dataType"] == "string":
            frame.isetitem(k, ["" if x is None else x for x in values])
        elif c["dataType"] == "date":
            frame.isetitem(k, [None if x is None else dt.date.fromisoformat(x) for x in values])
        elif c["dataType"] == "datetime":
            frame.isetitem(k, [None if x is None else dt.datetime.fromisoformat(x) for x in values])
        else:
            try:
                frame.isetitem(k, pd.to_numeric(values).astype(float))
            except OverflowError:  # an integer of hundreds of digits: no double holds it
                where = f"column {k + 1} ({c['name']!r})"
                raise DatasetJSONError(
                    f"{where}: a number beyond ±1.8e308, the range a numeric column holds"
                ) from None
    meta = {k: v for k, v in document.items() if k != "rows"}
    return frame, meta


__all__ = [
    "DATASET_JSON_TYPES",
    "DATASET_JSON_VERSION",
    "DatasetJSONError",
    "char_lengths",
    "dataset_json",
    "read_dataset_json",
    "read_xpt",
    "study_char_lengths",
    "write_dataset_json",
    "write_dataset_json_frame",
    "write_xpt",
]
