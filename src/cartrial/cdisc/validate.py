"""Pre-write validation of a CDISC dataset against its spec and the SAS XPORT v5 / SDTM limits.

The writer libraries do not enforce these limits (pyreadstat 1.3.7 silently truncates labels > 40 and writes
character values > 200 bytes and non-ASCII text; shared reference data-standards.md §4.1), so cartrial
checks every dataset BEFORE anything is written and fails — never truncates — on a violation:

- dataset name <= 8 (letter first, letters/digits/underscore), dataset label <= 40;
- variable names <= 8 upper-case ASCII, labels <= 40, every variable in the spec (and in its order), none
  named twice;
- character values <= 200 bytes and <= the spec's fixed length, ASCII only (FDA Study Data Technical
  Conformance Guide: ASCII character set);
- --TESTCD / TSPARMCD / QNAM values <= 8 characters and name-like, --TEST / TSPARM / QLABEL <= 40
  (SDTMIG 3.4 §4.1.5.3.1: they may become variable names and labels after transposition); PARAMCD by the
  BDS rule below alone (D-19.828);
- required (Req) variables present and populated (an ADaM Req variable whose spec gives `may_be_null`:
  present; ADaMIG v1.3 Req is inclusion, D-19.84), expected (Exp) variables present;
- no duplicate natural keys;
- a BDS dataset: PARAMCD at most 8 characters, a letter first, A-Z 0-9 _; PARAM and PARAMCD one-to-one
  (ADaMIG v1.1/v1.3 §3.3.4; D-19.825);
- --DTC values ISO 8601 (complete or partial per ISO 8601 right-truncation; SDTMIG 3.4 §4.4); a duration
  variable (PC.PCELTM, TE.TEDUR) and TS.TSVAL of AGEMIN/AGEMAX an ISO 8601 duration, TS.TSVAL of
  SSTDTC/SENDTC/DCUTDTC a date (`TS_VALUE_TYPES`; D-19.660);
- --DY / --STDY / --ENDY never 0 (SDTMIG 3.4 §4.4.4: there is no day 0);
- --SEQ unique per subject;
- --TPT and --TPTNUM (ATPT and ATPTN) one-to-one within a --TPTREF (D-19.381), and --TPT and a given --ELTM
  (D-19.473);
- values of a variable with a codelist in the codelist: for an extensible codelist a sponsor extension must be
  listed in `ct/codelists.yaml` flagged ``extended: true`` — anything else is an error; a variable whose
  codelist depends on another variable (DSDECOD by DSCAT, SDTMIG 3.4) is checked against the codelist of
  each record's selector value, and a selector value without a codelist is an error (D-15.9).

A finding names the dataset, the variable, the record number (1-based) and the rule, never the value of a
record (data-protection convention of the store); metadata values (names, labels, codes) are named.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.cdisc.spec import Codelist, DatasetSpec, codelists
from cartrial.errors import InputError, Problem

MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR_BYTES = 200
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,7}\Z")
TESTCD_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,7}")  # fullmatch (D-19.831)
NON_ASCII_RE = r"[^\x00-\x7f]"

# ISO 8601 date/time with right truncation (SDTMIG 3.4 §4.4.2): YYYY, YYYY-MM, YYYY-MM-DD, then THH, THH:MM,
# THH:MM:SS(.fff); an optional time zone. Digits are 0-9 only (D-19.520: `\d` would take Arabic-Indic digits).
ISO8601_RE = re.compile(
    r"^(?P<y>[0-9]{4})(-(?P<m>[0-9]{2})(-(?P<d>[0-9]{2})(T(?P<H>[0-9]{2})(:(?P<M>[0-9]{2})"
    r"(:(?P<S>[0-9]{2})(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:[0-9]{2})?)?)?)?)?\Z"
)

# ISO 8601 duration (PnYnMnDTnHnMnS, or PnW alone: ISO 8601 weeks do not combine with other components; a
# leading "-" for a time before the reference, as PC.PCELTM writes it, D-19.389): at least one component, a T
# only before a time component, a fraction only on the seconds (ODM 1.3.2 durationDatetime; D-19.660).
DURATION_RE = re.compile(
    r"^-?P(?:[0-9]+W|(?=[0-9T])([0-9]+Y)?([0-9]+M)?([0-9]+D)?(T(?=[0-9])([0-9]+H)?([0-9]+M)?([0-9]+(\.[0-9]+)?S)?)?)\Z"
)

TS_VALUE_TYPES: Mapping[str, str] = {
    "AGEMIN": "duration",
    "AGEMAX": "duration",
    "SSTDTC": "iso8601",
    "SENDTC": "iso8601",
    "DCUTDTC": "iso8601",
}
"""TS parameters whose TSVAL is an ISO 8601 duration or date (SDTMIG 3.4 TS, Appendix C1 TSVAL format:
AGEMIN/AGEMAX durations such as P18Y, SSTDTC/SENDTC/DCUTDTC dates): the validator checks TSVAL of those
records as such (rule `iso8601`), and define.xml declares their value-level DataType durationDatetime, or the
date type of their values, not text (D-19.660)."""

TEST_CODE_VARIABLES = ("TESTCD", "PARMCD", "PARAMCD", "QNAM", "IETESTCD")
TEST_NAME_VARIABLES = ("TEST", "TSPARM", "QLABEL")


@dataclass(frozen=True)
class Finding:
    """One validation finding, located: dataset, variable, record (1-based; None for dataset-level)."""

    dataset: str
    rule: str
    message: str
    variable: str = ""
    record: int | None = None
    severity: str = "error"
    files: tuple[str, ...] = ()
    """The files it is in (``--check``'s data issues, D-19.659): named before the dataset, the folder
    once (``sdtm/lb.json and lb.xpt:LB``)."""

    def __str__(self) -> str:
        where = self.dataset
        if self.files:
            first, *others = sorted(self.files)
            where = " and ".join([first, *(PurePath(f).name for f in others)]) + f":{where}"
        if self.variable:
            where += f".{self.variable}"
        if self.record is not None:
            where += f" record {self.record}"
        return f"{where}: [{self.rule}] {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "variable": self.variable,
            "record": self.record,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
        } | ({"files": sorted(self.files)} if self.files else {})


def is_iso8601(text: str) -> bool:
    """True when `text` is an ISO 8601 date/date-time, complete or right-truncated (SDTMIG 3.4 §4.4.2),
    with valid month/day/hour/minute/second ranges."""
    m = ISO8601_RE.match(text)
    if not m:
        return False
    y = int(m["y"])
    if m["m"] is not None and not 1 <= int(m["m"]) <= 12:
        return False
    if m["d"] is not None:
        try:
            dt.date(y, int(m["m"]), int(m["d"]))
        except ValueError:
            return False
    if m["H"] is not None and int(m["H"]) > 23:
        return False
    if m["M"] is not None and int(m["M"]) > 59:
        return False
    return not (m["S"] is not None and int(m["S"]) > 59)


def is_duration(text: str) -> bool:
    """True when `text` is an ISO 8601 duration as ODM 1.3.2 durationDatetime takes it (``P18Y``, ``P1D``,
    ``-PT30M``, ``P2W``; not ``P1W2D``, ``P``, ``PT`` or ``P1H``; `DURATION_RE`)."""
    return bool(DURATION_RE.match(text))


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and value == ""


def _records(values: Iterable[int]) -> str:
    items = [str(i) for i in values]
    return ", ".join(items[:10]) + (f" … ({len(items)} in all)" if len(items) > 10 else "")


def validate_dataset(
    frame: pd.DataFrame,
    spec: DatasetSpec,
    *,
    labels: Mapping[str, str] | None = None,
    dataset_label: str | None = None,
    terms: Mapping[str, Codelist] | None = None,
) -> list[Finding]:
    """Every finding of `frame` against `spec` (see the module docstring for the rules).

    `labels`/`dataset_label` are the labels that will be written (default: the spec's); passing the labels
    read back from a file lets `--check` re-validate a written folder with the same rules."""
    if not isinstance(frame, pd.DataFrame) or not isinstance(spec, DatasetSpec):
        raise InputError(
            Problem(
                f"validate_dataset(frame, spec) takes a DataFrame and a DatasetSpec, "
                f"not a {type(frame).__name__} and a {type(spec).__name__}",
                field="frame" if not isinstance(frame, pd.DataFrame) else "spec",
                allowed="a pandas DataFrame and cartrial.cdisc.dataset_specs()[name]",
            )
        )
    name = spec.name
    terms = codelists() if terms is None else terms
    labels = {v.name: v.label for v in spec.variables} if labels is None else labels
    dataset_label = spec.label if dataset_label is None else dataset_label
    out: list[Finding] = []

    def add(rule: str, message: str, variable: str = "", record: int | None = None) -> None:
        out.append(Finding(name, rule, message, variable, record))

    if not NAME_RE.match(name):
        add(
            "dataset-name", f"dataset name {name!r} must be 1-8 characters A-Z, 0-9, _ starting with a letter"
        )
    if len(dataset_label) > MAX_LABEL:
        add("dataset-label", f"dataset label is {len(dataset_label)} characters; at most {MAX_LABEL}")
    if not dataset_label.isascii():
        add("ascii", "dataset label has non-ASCII characters")
    repeated = frame.columns[frame.columns.duplicated()].unique()
    for column in repeated:  # a user's file (`check_folder`) may name a variable twice
        add("duplicate-variable", "variable appears more than once (the first is checked)", str(column))
    if len(repeated):
        frame = frame.loc[:, ~frame.columns.duplicated()]
    columns = list(frame.columns)
    for column in columns:
        if not NAME_RE.match(str(column)):
            add("variable-name", f"variable name {column!r} must be 1-8 upper-case A-Z, 0-9, _", str(column))
        if column not in spec.names:
            add("not-in-spec", f"variable {column!r} is not in the {name} spec", str(column))
    order = [c for c in spec.names if c in columns]
    if [c for c in columns if c in spec.names] != order:
        add("variable-order", "variables are not in the spec's order")
    for variable in spec.variables:
        present = variable.name in columns
        if not present:
            if variable.core in ("Req", "Exp"):
                add("missing-variable", f"{variable.core} variable missing", variable.name)
            continue
        label = labels.get(variable.name, "")
        if len(label) > MAX_LABEL:
            add("label-length", f"label is {len(label)} characters; at most {MAX_LABEL}", variable.name)
        if not label.isascii():
            add("ascii", "label has non-ASCII characters", variable.name)
        out.extend(_check_values(frame[variable.name], spec, variable.name, terms))
        if variable.value_codelists:
            out.extend(_check_value_codelists(frame, spec, variable.name, terms))
    out.extend(_check_ts_values(frame, spec))
    out.extend(_check_keys(frame, spec))
    out.extend(_check_seq(frame, spec))
    out.extend(_check_time_points(frame, spec))
    if spec.klass == BDS_CLASS or "PARAMCD" in columns:
        out.extend(bds_parameter_findings(frame, name))
    return out


BDS_CLASS = "BASIC DATA STRUCTURE"
PARAMCD_RE = re.compile(r"[A-Z][A-Z0-9_]{0,7}")
"""ADaMIG v1.1/v1.3 PARAMCD: at most 8 characters, a letter first, then letters, digits or underscores;
matched with `fullmatch` (``$`` would accept a trailing newline, D-19.831)."""


def _paramcd_ok(code: str) -> bool:
    """`code` meets the PARAMCD rule (`PARAMCD_RE`, the whole text: a trailing newline is no match)."""
    return PARAMCD_RE.fullmatch(code) is not None


def _codes_text(codes: Iterable[str]) -> str:
    """PARAMCD values for a message: a code meeting the PARAMCD rule is metadata and named; one that does
    not may be anything a user typed (D-12.2), so it is only counted (D-19.829)."""
    items = list(codes)
    named = [c for c in items if _paramcd_ok(c)]
    other = len(items) - len(named)
    return ", ".join(named + ([f"{other} not name-like"] if other else []))


def bds_parameter_findings(frame: pd.DataFrame, dataset: str) -> list[Finding]:
    """The parameter rules of a BDS dataset (ADaMIG v1.1/v1.3 §3.3.4; D-19.825): PARAMCD name-like
    (`PARAMCD_RE`, rule ``bds-paramcd-format``, the only format rule of PARAMCD, D-19.828) and PARAM and
    PARAMCD one-to-one within the dataset (rule ``bds-param-one-to-one``: a PARAMCD with more than one PARAM,
    a PARAM with more than one PARAMCD). A finding names the codes meeting the format rule and how many
    PARAMs, the records by number, never a PARAM text nor a PARAMCD failing the format (D-19.829); an empty
    PARAMCD or PARAM is the required-variable rule's, not judged here. Vectorised: one grouping per
    direction, linear in the records (D-19.830)."""
    if "PARAMCD" not in frame.columns or not len(frame):
        return []
    out: list[Finding] = []
    codes = frame["PARAMCD"]
    given = ~codes.map(_missing).to_numpy(dtype=bool)
    text = codes.astype(str).to_numpy(dtype=object)
    index, distinct = pd.factorize(text)
    ok_distinct = np.array([_paramcd_ok(str(c)) for c in distinct], dtype=bool)
    bad = given & ~ok_distinct[index]
    rows = _rows_of(bad)
    if rows:
        message = (
            "PARAMCD not at most 8 characters A-Z, 0-9, _ starting with a letter (ADaMIG BDS; "
            f"records {_records(rows)})"
        )
        out.append(Finding(dataset, "bds-paramcd-format", message, "PARAMCD", rows[0]))
    if "PARAM" not in frame.columns:
        return out
    params = frame["PARAM"]
    both = given & ~params.map(_missing).to_numpy(dtype=bool)
    pairs = pd.DataFrame(
        {
            "c": text[both],
            "p": params.astype(str).to_numpy(dtype=object)[both],
            "n": np.flatnonzero(both) + 1,
        }
    )
    per_code = pairs.groupby("c", sort=True)["p"].nunique()
    many = per_code[per_code > 1]
    if len(many):
        mine = pairs["c"].isin(many.index).to_numpy()
        at_code: dict[str, list[int]] = {}
        for code, number in zip(pairs["c"][mine], pairs["n"][mine], strict=True):
            at_code.setdefault(code, []).append(int(number))
        for code, count in many.items():
            at = at_code[str(code)]
            what = f"PARAMCD {code}" if _paramcd_ok(str(code)) else "a PARAMCD (not name-like)"
            message = f"{what} has {int(count)} PARAM values; one per PARAMCD (records {_records(at)})"
            out.append(Finding(dataset, "bds-param-one-to-one", message, "PARAMCD,PARAM", at[0]))
    shared = pairs.groupby("p", sort=False)["c"].transform("nunique").to_numpy() > 1
    if shared.any():
        records = pairs[shared]
        # one pass each: the codes of each shared PARAM, the distinct code sets, then the shared records
        # carrying a code of a set (record order, so ascending)
        codes_of: dict[str, set[str]] = {}
        for code, param in zip(records["c"], records["p"], strict=True):
            codes_of.setdefault(param, set()).add(code)
        groups_of: dict[str, list[tuple[str, ...]]] = {}
        for group in {tuple(sorted(codes)) for codes in codes_of.values()}:
            for code in group:
                groups_of.setdefault(code, []).append(group)
        at_group: dict[tuple[str, ...], list[int]] = {}
        for code, number in zip(records["c"], records["n"], strict=True):
            for group in groups_of[code]:
                at_group.setdefault(group, []).append(int(number))
        for group in sorted(at_group):
            at = at_group[group]
            message = (
                f"PARAMCD {_codes_text(group)} share one PARAM; one PARAMCD per PARAM "
                f"(records {_records(at)})"
            )
            out.append(Finding(dataset, "bds-param-one-to-one", message, "PARAMCD,PARAM", at[0]))
    return out


def _check_ts_values(frame: pd.DataFrame, spec: DatasetSpec) -> list[Finding]:
    """TS.TSVAL of a parameter of `TS_VALUE_TYPES`: an ISO 8601 duration (AGEMIN, AGEMAX) or date/time
    (SSTDTC, SENDTC, DCUTDTC), rule `iso8601` (D-19.660)."""
    if spec.name != "TS" or "TSPARMCD" not in frame.columns or "TSVAL" not in frame.columns:
        return []
    out = []
    for kind, what, check in (
        ("duration", "ISO 8601 duration", is_duration),
        ("iso8601", "ISO 8601 date/time", is_iso8601),
    ):
        bad = [
            isinstance(code, str)
            and TS_VALUE_TYPES.get(code) == kind
            and not (isinstance(value, str) and (value == "" or check(value)))
            for code, value in zip(frame["TSPARMCD"], frame["TSVAL"], strict=True)
        ]
        rows = _rows_of(bad)
        if rows:
            codes = "/".join(code for code, k in TS_VALUE_TYPES.items() if k == kind)
            message = f"TSVAL of {codes} not an {what} (records {_records(rows)})"
            out.append(Finding(spec.name, "iso8601", message, "TSVAL", rows[0]))
    return out


def _check_time_points(frame: pd.DataFrame, spec: DatasetSpec) -> list[Finding]:
    """--TPT and --TPTNUM (ADaM ATPT and ATPTN) one-to-one within a --TPTREF: a planned time point has one
    name and one number (SDTMIG 3.4, Representing Time Points: --TPTNUM is the numeric version of --TPT;
    D-19.381); --TPT and a non-empty --ELTM likewise: a planned elapsed time from --TPTREF is one time
    point's (SDTMIG 3.4 --ELTM; D-19.473)."""
    out: list[Finding] = []
    for name in frame.columns:
        text = str(name)
        if text.endswith("TPT") and len(text) == 5:
            partners, ref = [text + "NUM", text[:2] + "ELTM"], text + "REF"
        elif text == "ATPT":
            partners, ref = ["ATPTN"], "ATPTREF"
        else:
            continue
        for number in partners:
            if number in frame.columns and len(frame):
                out.extend(_one_to_one(frame, spec, name, number, ref))
    return out


def _one_to_one(frame: pd.DataFrame, spec: DatasetSpec, name: str, number: str, ref: str) -> list[Finding]:
    """Findings (rule ``time-point``) where a non-empty value of `name` has more than one non-empty value of
    `number` within a value of `ref`, or the other way round."""
    out: list[Finding] = []
    refs = frame[ref].astype(str) if ref in frame.columns else pd.Series("", index=frame.index)
    pairs = pd.DataFrame(
        {"r": refs.to_numpy(), "t": frame[name].astype(str).to_numpy(), "n": frame[number].to_numpy()}
    )
    given = ((pairs["t"] != "") & pairs["n"].notna() & (pairs["n"].astype(str) != "")).to_numpy()
    pairs = pairs[given]
    for left, right in (("t", "n"), ("n", "t")):
        shared = (pairs.groupby(["r", left], sort=False)[right].transform("nunique") > 1).to_numpy()
        if shared.any():
            rows = (np.flatnonzero(given)[shared] + 1).tolist()
            one, other = (name, number) if left == "t" else (number, name)
            out.append(
                Finding(
                    spec.name,
                    "time-point",
                    f"a {one} value with more than one {other} (records {_records(rows)})",
                    f"{name},{number}",
                    rows[0],
                )
            )
    return out


def _check_value_codelists(
    frame: pd.DataFrame, spec: DatasetSpec, column: str, terms: Mapping[str, Codelist]
) -> list[Finding]:
    """A variable whose codelist depends on another variable (DSDECOD by DSCAT, SDTMIG 3.4; D-15.9): each
    non-empty value must be in the codelist of its record's selector value, and the selector must have one."""
    variable = spec.variable(column)
    by = variable.codelist_by or ""
    out: list[Finding] = []
    if by not in frame.columns:
        out.append(
            Finding(
                spec.name, "codelist", f"{by}, which selects the codelist of {column}, is missing", column
            )
        )
        return out
    texts = frame[column].reset_index(drop=True).fillna("").astype(str)
    selectors = frame[by].reset_index(drop=True).fillna("").astype(str)
    filled = (texts != "").to_numpy()
    allowed_by = choice_text(k for k, _ in variable.value_codelists)
    unmapped = filled & ~selectors.isin([k for k, _ in variable.value_codelists]).to_numpy()
    if unmapped.any():
        rows = _rows_of(unmapped)
        message = f"{by} of the record selects no codelist for {column} (allowed {by}: {allowed_by})"
        out.append(Finding(spec.name, "codelist", f"{message} (records {_records(rows)})", column, rows[0]))
    for selector, name in variable.value_codelists:
        in_group = filled & (selectors == selector).to_numpy()
        if not in_group.any():
            continue
        codelist = terms.get(name)
        if codelist is None:
            out.append(Finding(spec.name, "codelist", f"codelist {name!r} is not shipped", column))
            continue
        outside = in_group & ~texts.isin(list(codelist.values())).to_numpy()
        if outside.any():
            rows = _rows_of(outside)
            what = "extensible" if codelist.extensible else "non-extensible"
            message = f"value outside {what} codelist {codelist.name} (the codelist of {by} = {selector})"
            if codelist.extensible:
                message += " (an extension must be listed in ct/codelists.yaml with extended: true)"
            out.append(
                Finding(spec.name, "codelist", f"{message} (records {_records(rows)})", column, rows[0])
            )
    return out


def _rows_of(mask: Any) -> list[int]:
    """1-based record numbers where a boolean mask is true."""
    return [int(i) + 1 for i in np.flatnonzero(np.asarray(mask, dtype=bool))]


def _check_values(
    series: pd.Series, spec: DatasetSpec, column: str, terms: Mapping[str, Codelist]
) -> list[Finding]:
    """The value rules of one column, vectorised (pandas string and numeric operations); a per-value Python
    check runs only on the distinct values (ISO 8601) or when the column is not homogeneous."""
    variable = spec.variable(column)
    name = spec.name
    out: list[Finding] = []

    def add(rule: str, message: str, rows: list[int]) -> None:
        if rows:
            out.append(Finding(name, rule, f"{message} (records {_records(rows)})", column, rows[0]))

    series = series.reset_index(drop=True)
    kind = pd.api.types.infer_dtype(series, skipna=True)
    if variable.type == "Num" and variable.date in ("sasdate", "sasdatetime"):
        # per distinct value (dates hash): missing, or not a date
        codes, uniques = pd.factorize(series.to_numpy(dtype=object))
        u_missing = np.array([_missing(u) for u in uniques] + [True], dtype=bool)
        u_bad = np.array(
            [not _missing(u) and not isinstance(u, dt.date | pd.Timestamp) for u in uniques] + [False],
            dtype=bool,
        )
        missing = u_missing[codes]  # code -1 (None, NaN, NaT) takes the last entry: missing
        if variable.core == "Req" and not variable.may_be_null:
            add("required-null", "required variable is empty", _rows_of(missing))
        add("type", "not a date", _rows_of(u_bad[codes]))
        return out
    if variable.type == "Num":
        if kind in ("floating", "integer", "mixed-integer-float", "empty", "decimal"):
            numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            missing = np.isnan(numbers)
            bad_type = np.zeros(len(series), dtype=bool)
        else:
            missing = np.array([_missing(v) for v in series], dtype=bool)
            is_number = np.array(
                [isinstance(v, int | float) and not isinstance(v, bool) for v in series], dtype=bool
            )
            bad_type = ~missing & ~is_number
            numbers = np.array(
                [float(v) if ok else math.nan for v, ok in zip(series, is_number, strict=True)]
            )
        if variable.core == "Req" and not variable.may_be_null:
            add("required-null", "required variable is empty", _rows_of(missing))
        add("type", "numeric variable holds a non-numeric value", _rows_of(bad_type))
        if _is_dy(column, spec):
            add("day-zero", "study day 0 does not exist (SDTMIG 3.4 §4.4.4)", _rows_of(numbers == 0))
        if variable.codelist and variable.codelist in terms:
            allowed = [float(t) for t in terms[variable.codelist].values()]
            add(
                "codelist",
                f"value outside codelist {variable.codelist}",
                _rows_of(~np.isnan(numbers) & ~np.isin(numbers, allowed)),
            )
        return out
    if kind in ("string", "empty"):
        texts = series.fillna("").astype(str)
        bad_type = np.zeros(len(series), dtype=bool)
    else:
        missing_any = np.array([_missing(v) for v in series], dtype=bool)
        bad_type = np.array(
            [not m and not isinstance(v, str) for v, m in zip(series, missing_any, strict=True)], dtype=bool
        )
        texts = pd.Series(
            ["" if m else str(v) for v, m in zip(series, missing_any, strict=True)], dtype=object
        )
    empty = (texts == "").to_numpy()
    if variable.core == "Req" and not variable.may_be_null:
        add("required-null", "required variable is empty", _rows_of(empty))
    add("type", "character variable holds a non-text value", _rows_of(bad_type))
    # per distinct value (factorize hashes in C): length in bytes, ASCII, test-code pattern
    codes, uniques = pd.factorize(texts.to_numpy(dtype=object))
    distinct = uniques.tolist() if uniques.dtype == object else [str(u) for u in uniques]
    if not all(type(u) is str for u in distinct):
        distinct = [str(u) for u in distinct]
    chars_distinct = np.fromiter(map(len, distinct), dtype=np.int64, count=len(distinct))
    if "".join(distinct).isascii():  # the usual case: one C-level scan
        ascii_distinct = np.ones(len(distinct), dtype=bool)
        bytes_distinct = chars_distinct
    else:
        ascii_distinct = np.fromiter((u.isascii() for u in distinct), dtype=bool, count=len(distinct))
        bytes_distinct = np.fromiter(
            (len(u.encode("utf-8", "surrogatepass")) for u in distinct), dtype=np.int64, count=len(distinct)
        )
    non_ascii = ~ascii_distinct[codes] if len(codes) else np.zeros(0, dtype=bool)
    lengths = bytes_distinct[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    limit = min(MAX_CHAR_BYTES, variable.length or MAX_CHAR_BYTES)
    add("value-length", f"value longer than {limit} bytes", _rows_of(lengths > limit))
    add("ascii", "value has non-ASCII characters", _rows_of(non_ascii))
    if _is_test_code(column, spec):
        good = np.fromiter((bool(TESTCD_RE.fullmatch(u)) for u in distinct), dtype=bool, count=len(distinct))
        matched = good[codes] if len(codes) else np.zeros(0, dtype=bool)
        add(
            "testcd",
            "test code must be <= 8 characters, A-Z, 0-9, _, not starting with a digit",
            _rows_of(~empty & ~matched),
        )
    if _is_test_name(column, spec):
        # characters, not bytes (a non-ASCII name is already an ascii finding)
        longer = chars_distinct[codes] > MAX_LABEL if len(codes) else np.zeros(0, dtype=bool)
        add("test-length", "test name longer than 40 characters", _rows_of(longer))
    if variable.date == "iso8601":
        bad = np.fromiter((bool(u) and not is_iso8601(u) for u in distinct), dtype=bool, count=len(distinct))
        add("iso8601", "not an ISO 8601 date/time", _rows_of(bad[codes] if len(codes) else bad[:0]))
    elif variable.date == "duration":  # D-19.660
        bad = np.fromiter((bool(u) and not is_duration(u) for u in distinct), dtype=bool, count=len(distinct))
        add("iso8601", "not an ISO 8601 duration", _rows_of(bad[codes] if len(codes) else bad[:0]))
    if variable.codelist:
        codelist = terms.get(variable.codelist)
        if codelist is None:
            out.append(Finding(name, "codelist", f"codelist {variable.codelist!r} is not shipped", column))
        else:
            outside = ~empty & ~texts.isin(list(codelist.values())).to_numpy()
            what = "extensible" if codelist.extensible else "non-extensible"
            hint = " (an extension must be listed in ct/codelists.yaml with extended: true)"
            add(
                "codelist",
                f"value outside {what} codelist {codelist.name}" + (hint if codelist.extensible else ""),
                _rows_of(outside),
            )
    return out


def _is_dy(column: str, spec: DatasetSpec) -> bool:
    return spec.standard == "SDTMIG" and (column.endswith("DY") and len(column) >= 4) and column != "VISITDY"


def _is_test_code(column: str, spec: DatasetSpec) -> bool:
    if column == "PARAMCD":  # its own rule, bds-paramcd-format (`bds_parameter_findings`, D-19.828)
        return False
    return column == spec.testcd or column.endswith(TEST_CODE_VARIABLES) or column in ("ETCD", "TSPARMCD")


def _is_test_name(column: str, spec: DatasetSpec) -> bool:
    # IETEST holds the criterion text (up to 200 characters in TI/IE; it is never transposed)
    return column.endswith(TEST_NAME_VARIABLES) and column != "IETEST"


def _check_keys(frame: pd.DataFrame, spec: DatasetSpec) -> list[Finding]:
    keys = [k for k in spec.keys if k in frame.columns]
    if not keys or not len(frame):
        return []
    key_frame = frame[keys].astype(str)
    duplicated = key_frame.duplicated(keep=False)
    if not duplicated.any():
        return []
    rows = [i + 1 for i in range(len(frame)) if duplicated.iloc[i]]
    return [
        Finding(
            spec.name,
            "duplicate-key",
            f"records share the key ({', '.join(keys)}) (records {_records(rows)})",
            ",".join(keys),
            rows[0],
        )
    ]


def _check_seq(frame: pd.DataFrame, spec: DatasetSpec) -> list[Finding]:
    seq = next((c for c in frame.columns if str(c).endswith("SEQ") and len(str(c)) == 5), None)
    if seq is None or "USUBJID" not in frame.columns or spec.standard != "SDTMIG" or not len(frame):
        return []
    key = frame[["USUBJID", seq]].astype(str)
    duplicated = key.duplicated(keep=False)
    if not duplicated.any():
        return []
    rows = [i + 1 for i in range(len(frame)) if duplicated.iloc[i]]
    return [
        Finding(
            spec.name,
            "seq-unique",
            f"{seq} is not unique within a subject (records {_records(rows)})",
            seq,
            rows[0],
        )
    ]


DTC_RE = re.compile(r"^[A-Z]{2}(DTC|STDTC|ENDTC)\Z")


@dataclass(frozen=True)
class StoreDate:
    """The store dates an SDTM date is written from: (store table, its date column) pairs of
    `cartrial.store.edit_checks.DATED_TABLES` or `END_DATES_AFTER_DEATH` (D-19.727), and the --SPID
    prefixes of the records written from them (empty: every record of the dataset)."""

    sources: tuple[tuple[str, str], ...]
    spid: tuple[str, ...] = ()


_INFUSION_DAYS = (("infusion", "infused_at"), ("lymphodepletion_administration", "administered_on"))
_CRS_ICANS = (("crs_assessment", "assessed_at"), ("icans_assessment", "assessed_at"))
STORE_QUERIED_DATES: Mapping[tuple[str, str], StoreDate] = {
    ("EX", "EXSTDTC"): StoreDate(_INFUSION_DAYS),
    ("EX", "EXENDTC"): StoreDate(_INFUSION_DAYS),  # a one-day administration: its start
    ("CM", "CMSTDTC"): StoreDate((("therapy", "given_at"),), ("CM-",)),  # not HISTORY (subject form)
    ("CM", "CMENDTC"): StoreDate((("therapy", "stopped_at"),), ("CM-",)),  # a therapy's stop (D-19.727)
    ("AE", "AESTDTC"): StoreDate((("adverse_event", "started_on"), *_CRS_ICANS)),  # an episode: assessments
    ("AE", "AEENDTC"): StoreDate((("adverse_event", "ended_on"), *_CRS_ICANS)),  # an event's end (D-19.727)
    ("CE", "CESTDTC"): StoreDate((("relapse", "onset_date"),)),
    ("MH", "MHSTDTC"): StoreDate((("relapse", "onset_date"),), ("REL-",)),  # not DIAGNOSIS, HISTORY
    ("LB", "LBDTC"): StoreDate((("lab_result", "collected_at"), ("pd_sample", "sampled_at"))),
    ("PC", "PCDTC"): StoreDate((("pk_sample", "sampled_at"),)),
    ("QS", "QSDTC"): StoreDate((("edss_assessment", "assessed_at"),)),
    ("RS", "RSDTC"): StoreDate((("edss_assessment", "assessed_at"),)),
    ("OE", "OEDTC"): StoreDate((("visual_acuity", "assessed_at"),)),
    ("FT", "FTDTC"): StoreDate((("timed_walk", "assessed_at"),)),
    ("FA", "FADTC"): StoreDate(_CRS_ICANS),
}
"""The SDTM dates written from a store date that the store's edit check RECORD-AFTER-DEATH (D-19.93)
compares with the death (`cartrial.store.edit_checks.DATED_TABLES` and, since D-19.727, an adverse
event's end and a therapy's stop, `END_DATES_AFTER_DEATH`), each with its store table and column
(tests/cdisc/test_cdisc_record_after_death.py checks each against DATED_TABLES or, for AEENDTC/CMENDTC
of an adverse event or therapy, END_DATES_AFTER_DEATH). In MH only a relapse form's onset (MHSPID REL-n)
and in CM only a therapy form's start and stop (CMSPID CM-n) are: the diagnosis date, the relapse history
and the prior treatments of the subject form (MHSPID DIAGNOSIS/HISTORY, CMSPID HISTORY) are not compared.
Not in it: DS, and SV/SE, derived from the records (D-19.659)."""
DERIVED_FROM_RECORDS = {"SV": "the visit's records", "SE": "the element's records"}


def _after_death_message(dataset: str, column: str, spid: object = "") -> str:
    """Why a date after the death is listed and where to look, true for that date of the record whose
    --SPID is `spid` (D-19.659)."""
    head = (
        f"{column} is after the subject's death (DM.DTHDTC): kept as recorded, not a date of participation "
        "(DM.RFPENDTC ends at the death); "
    )
    store = STORE_QUERIED_DATES.get((dataset, column))
    if store is not None and (not store.spid or (isinstance(spid, str) and spid.startswith(store.spid))):
        return head + "the store's edit check RECORD-AFTER-DEATH (D-19.93) queries the source record"
    if dataset in DERIVED_FROM_RECORDS:
        return head + f"derived from {DERIVED_FROM_RECORDS[dataset]}: check those dated after the death"
    return head + "no store edit check compares this date with the death: check the source record"


def _one_column(frame: pd.DataFrame | None, name: str) -> np.ndarray | None:
    """The values of variable `name` when `frame` has it exactly once (a user's file may lack or repeat
    it: each is a finding of `validate_dataset`, never a traceback here)."""
    if frame is None or sum(str(c) == name for c in frame.columns) != 1:
        return None
    return frame.loc[:, [c for c in frame.columns if str(c) == name]].iloc[:, 0].to_numpy()


def records_after_death(frames: Mapping[str, pd.DataFrame]) -> list[Finding]:
    """Each SDTM record (DM aside) with a --DTC, --STDTC or --ENDTC date wholly after its subject's
    DM.DTHDTC (`is_after_death`: a complete date after it, or a truncated one whose earliest day is, such as
    2022-04 against 2022-03-01), one warning per record and variable (D-19.653, D-19.659). The export keeps
    the record as recorded and ends DM.RFPENDTC at the death; it does not fail on it (a data error for the
    site to resolve), it lists it. The message says whether the store's edit check RECORD-AFTER-DEATH
    queries that date (`STORE_QUERIED_DATES`). A finding names the dataset, the variable and the record
    number, never a date or a subject. Read from a user's folder (`check_folder_issues`), a dataset may lack
    DM, USUBJID or the date, repeat a variable or hold any value: such a record is not listed here (no
    traceback); `validate_dataset` reports the variable or the value."""
    from cartrial.cdisc.spec import dataset_specs
    from cartrial.protocol.death import is_after_death

    dm = frames.get("DM")
    subjects, dates = _one_column(dm, "USUBJID"), _one_column(dm, "DTHDTC")
    if subjects is None or dates is None:
        return []  # a user's DM without them: the missing variable is a finding of `validate_dataset`
    deaths = {
        u: d
        for u, d in zip(subjects, dates, strict=True)
        if isinstance(u, str) and u and isinstance(d, str) and d and is_iso8601(d)
    }
    if not deaths:
        return []
    specs = dataset_specs()
    out: list[Finding] = []
    for name, frame in frames.items():
        spec = specs.get(name)
        if spec is None or spec.standard != "SDTMIG" or name == "DM":
            continue
        of = _one_column(frame, "USUBJID")
        if of is None:
            continue
        # only the records of a subject who died: (record index, date of death)
        dead = [(i, deaths[u]) for i, u in enumerate(of) if isinstance(u, str) and u in deaths]
        if not dead:
            continue
        for column in dict.fromkeys(str(c) for c in frame.columns if DTC_RE.match(str(c))):
            values = _one_column(frame, column)
            if values is None:
                continue
            after = np.zeros(len(frame), dtype=bool)
            for i, died in dead:
                value = values[i]
                after[i] = isinstance(value, str) and is_iso8601(value) and is_after_death(value, died)
            spids = _one_column(frame, f"{name}SPID")
            out.extend(
                Finding(
                    name,
                    "record-after-death",
                    _after_death_message(name, column, "" if spids is None else spids[record - 1]),
                    column,
                    record,
                    "warning",
                )
                for record in _rows_of(after)
            )
    return out


__all__ = [
    "STORE_QUERIED_DATES",
    "TS_VALUE_TYPES",
    "Finding",
    "StoreDate",
    "is_duration",
    "is_iso8601",
    "records_after_death",
    "validate_dataset",
]
