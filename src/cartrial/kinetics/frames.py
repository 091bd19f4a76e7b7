"""Frame-level kinetics derivations: a sample table in, a `Result` out (the admiral ``derive_*`` idea).

`derive_nca` and `derive_stein2019_fits` are what the command line (``cartrial nca``, ``cartrial kinetics
fit``), the demo and a notebook call: they validate the sample table (`validate_profiles`), group it by
subject (and ``by`` columns such as the analyte), apply the units, the BLQ flags and the LLOQ, and run the
engines (`cartrial.kinetics.nca.nca`, `cartrial.kinetics.models.fit_stein2019`). The table may be an
all-string frame read from a CSV file or an ordinary typed DataFrame; row numbers in errors are spreadsheet
rows (header = row 1, first data row = row 2) either way, so the API and the CLI name the same row.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import (
    RowProblems,
    check_repeated_keys,
    parse_bool,
    parse_float,
    parse_text,
    text_cells,
)
from cartrial.errors import InputError, NotEstimableError, OptionError, Problem
from cartrial.kinetics.models import (
    ALQ_SUFFIX,
    POORLY_DETERMINED_CONDITION,
    POORLY_DETERMINED_RSE_PERCENT,
    STEIN_2019_SOURCE,
    STEIN_PARAMETERS,
    FitOptions,
    alq_flag_column,
    fit_stein2019,
)
from cartrial.kinetics.nca import PKNCA_SOURCE, FoldExpansionReference, NcaOptions, derived_units, nca
from cartrial.kinetics.templates import (
    CONC_UNIT_CHARACTERS,
    CONC_UNIT_MAX_LENGTH,
    LLOQ,
    MAX_CONCENTRATION,
    MIN_LLOQ,
    TIME_UNIT_DAYS,
    TIME_UNITS,
    blq_value_contradicts,
)
from cartrial.kinetics.units import conc_unit_spelling, conversion_notes, standard_conc_unit, to_standard
from cartrial.results import Result, plain
from cartrial.wording import count, k_of_n

_CONC_UNIT = re.compile(r"^[A-Za-z0-9µμ/^·*.%\- ]+\Z")


@dataclass(frozen=True)
class KineticsResult(Result):
    """A `Result` with area-specific metadata in `extra` (e.g. ``units_by_conc_unit`` or the per-subject
    fit details), merged into `metadata()`.

    >>> r = KineticsResult(pd.DataFrame({"a": [1]}), derivation="x", extra={"model": "stein2019"})
    >>> r.metadata()["model"]
    'stein2019'
    """

    extra: Mapping[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """`Result.metadata` plus the entries of `extra`."""
        return {**super().metadata(), **{str(k): plain(v) for k, v in self.extra.items()}}


def check_time_unit(time_unit: str, field_name: str = "time_unit") -> str:
    """The time unit, checked against `TIME_UNITS` (min, h, day, week); an `InputError` otherwise.

    >>> check_time_unit("h")
    'h'
    >>> check_time_unit("parsecs")
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: time_unit: not a time unit (got 'parsecs'); allowed: ...
    """
    unit = str(time_unit).strip()
    if not unit:
        raise InputError(
            Problem("the time unit is missing", field=field_name, allowed=choice_text(TIME_UNITS))
        )
    if unit not in TIME_UNITS:
        raise InputError(
            Problem("not a time unit", field=field_name, value=unit, allowed=choice_text(TIME_UNITS))
        )
    return unit


def check_conc_unit(conc_unit: str, field_name: str = "conc_unit", kind: str = "concentration") -> str:
    """A unit of a concentration (`kind` "concentration") or of a dose ("dose"): non-blank, at most
    `CONC_UNIT_MAX_LENGTH` characters of `CONC_UNIT_CHARACTERS` (one rule of a unit's text); the message and
    the examples of what is allowed are those of its kind (D-19.669).

    >>> check_conc_unit("copies/ug gDNA")
    'copies/ug gDNA'
    >>> check_conc_unit("cells$", "--dose-unit", "dose")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: --dose-unit: not a dose unit (got 'cells$'); allowed: a unit such as ...
    """
    unit = str(conc_unit).strip()
    examples = UNIT_EXAMPLES[kind]
    allowed = f"a unit such as {examples} ({CONC_UNIT_CHARACTERS})"
    if not unit:
        raise InputError(Problem(f"the {kind} unit is missing", field=field_name, allowed=allowed))
    if len(unit) > CONC_UNIT_MAX_LENGTH or not _CONC_UNIT.match(unit):
        raise InputError(Problem(f"not a {kind} unit", field=field_name, value=unit, allowed=allowed))
    return unit


UNIT_EXAMPLES: dict[str, str] = {
    "concentration": "copies/ug gDNA, cells/uL or mg/L",
    "dose": "cells/kg (per kg of body weight) or cells (total cells)",
}
"""Examples of a unit of each kind `check_conc_unit` checks, for its messages."""


def check_lloq(lloq: float | None, field_name: str = "lloq") -> float | None:
    """An LLOQ given for all samples must lie in `LLOQ` (None: no common LLOQ).

    >>> check_lloq(50)
    50.0
    >>> check_lloq(-5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: lloq: out of range (got -5); allowed: 1e-12 to 1e+15 in the concentration ...
    >>> check_lloq(1e-320)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cartrial.errors.OptionError: lloq: out of range (got 1e-320); allowed: 1e-12 to 1e+15 ...
    """
    if lloq is None:
        return None
    LLOQ.check(field_name, lloq)
    return float(lloq)


MAX_TIME = 1e9
"""Largest sample time (in absolute value) in the table's unit: 2.7 million years of days, 1900 years of
minutes."""


def check_column_roles(roles: Mapping[str, str | None], by: Sequence[str] = (), by_name: str = "by") -> None:
    """Each column of a sample table plays one role: the subject, time, value, dose, BLQ flag, LLOQ, unit and
    nominal-time columns (`roles`, by argument name; None: not given) and the ``by`` grouping columns are
    distinct (D-19.340). One column in two roles was a pandas traceback (``by`` twice) or a misleading row
    error (``by`` = the subject column: "conflicts with row …"). The command line calls it with its option
    names (`by_name` ``--by``) before the file is read."""
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    for role, column in [*roles.items(), *((by_name, c) for c in by)]:
        if column is None or column == "":
            continue
        if column in owner:
            first = owner[column]
            message = "column given twice" if first == role else f"column already given as {first}"
            problems.append(
                Problem(message, field=role, value=column, allowed="a column no other option names")
            )
        else:
            owner[column] = role
    if problems:
        raise InputError(problems)


def validate_profiles(
    data: pd.DataFrame,
    *,
    subject: str,
    time: str,
    conc: str,
    by: Sequence[str] = (),
    dose: str | None = None,
    blq_column: str | None = None,
    lloq_column: str | None = None,
    unit_column: str | None = None,
    lloq: float | None = None,
    source: str = "data",
    keep_going: bool = False,
    nominal_time: str | None = None,
    alq_column: str | None = None,
    keep_going_option: bool = True,
    conc_unit: str | None = None,
) -> tuple[pd.DataFrame, RowProblems]:
    """Validate a sample table (one row per sample) and return the parsed frame and its problems.

    A sample flagged true in `alq_column` (a level above the upper limit of quantification; by default the
    column ``<conc>_alq`` when the table has it, `alq_flag_column`, where cartrial's simulators flag a level
    written as `MAX_CONCENTRATION`) is a problem of its row: its level is only a lower bound, and NCA, the
    per-subject and the population fit need a measured one (D-19.663, D-19.668). An explicit `alq_column`
    is the only flag read (``<conc>_alq`` is then ignored); without it, a ``Y_alq`` column whose ``Y`` the
    table lacks (a renamed value column that kept its flag) is refused until named.

    Checks: required columns present; subject and ``by`` values non-blank; time a finite number;
    concentration a number ≥ 0, blank only when flagged BLQ in `blq_column`, and a flagged sample's value
    below its LLOQ (`lloq` for all samples, else `lloq_column`; `blq_value_contradicts`); LLOQ > 0;
    dose > 0; one sample per time in a profile (a second row at a time is refused, identical or not); one
    unit and one dose per profile,
    units compared in their standard unit (`cartrial.kinetics.units.standard_conc_unit`: cells/mL and
    cells/uL are one; any other unit in its one spelling, `conc_unit_spelling`; D-19.760, D-19.781).

    Concentrations, the LLOQ column and a common `lloq` (each in the row's recorded unit, as the BLQ check
    reads them) are converted into the standard unit of the row's unit (`conc_unit` for every row when
    given, else the unit column's) by `cartrial.kinetics.units.to_standard`, the one conversion
    (D-19.781); ``_lloq_common`` holds the converted common `lloq` when a row's unit is converted. The
    parsed frame has ``_subject``, ``_time``, ``_conc`` (0 for flagged BLQ), ``_blq``, optional ``_lloq``,
    ``_dose``, ``_unit`` (the standard unit) with ``_unit_spelt`` (the recorded unit in its one spelling)
    and ``_unit_given`` (as written), ``_nominal`` (`nominal_time`: a number
    or blank, for the partial-AUC coverage only), the ``by`` columns, ``_row`` (0-based position) and
    ``_bad``. `keep_going_option`: the caller offers ``--keep-going`` (nca, kinetics fit), named in what a
    refused row allows. Without `keep_going` any problem raises an `InputError` naming every bad row
    (spreadsheet numbering: first data row = row 2); with it, bad rows are marked in ``_bad`` and the
    problems returned.

    >>> frame = pd.DataFrame({"id": ["A", "A"], "t": [0, 1], "c": [0.0, -3.0]})
    >>> try:
    ...     validate_profiles(frame, subject="id", time="t", conc="c")
    ... except InputError as error:
    ...     print(error.problems[0])
    data, row 3, c: out of range (got '-3.0'); allowed: a number ≥ 0
    """
    roles = {
        "subject": subject,
        "time": time,
        "conc": conc,
        "dose": dose,
        "blq_column": blq_column,
        "lloq_column": lloq_column,
        "unit_column": unit_column,
        "nominal_time": nominal_time,
    }
    own = alq_flag_column(conc)  # the value column's own flag, as the simulators write it
    if alq_column is None and own in data.columns and own not in (*roles.values(), *by):
        alq_column = own
    check_column_roles({**roles, "alq_column": alq_column}, by)
    optional = [c for c in (dose, blq_column, lloq_column, unit_column, nominal_time, alq_column) if c]
    needed = [subject, time, conc, *by, *optional]
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    "column is missing", file=source, field=c, allowed=choice_text(map(str, data.columns))
                )
                for c in missing
            ]
        )
    if alq_column is None:
        _refuse_orphan_flags(data, {*roles.values(), *by}, source)
    problems = RowProblems(source)
    n = len(data)
    ids = parse_text(data, subject, problems)
    times = parse_float(data, time, problems, required=True)
    flags = (  # read as `nca` reads a flag column: 1 / 0 too (D-19.1413)
        parse_bool(data, blq_column, problems, required=False, numbers=True)
        if blq_column
        else np.zeros(n, dtype=bool)
    )
    values = parse_float(data, conc, problems, required=False, minimum=0.0)
    # bounded so that AUC (C·t) and AUMC (C·t²) stay finite: 1e300 was accepted and written as inf
    for column, parsed, limit in ((time, times, MAX_TIME), (conc, values, MAX_CONCENTRATION)):
        cells = text_cells(data[column])
        for i in np.flatnonzero(np.abs(parsed) > limit):  # NaN (blank, not a number): False
            low = f"≥ {-limit:g}" if column == time else "≥ 0"
            problems.add(i, column, cells.iat[i], "out of range", f"a number {low} and ≤ {limit:g}")
    blank = (text_cells(data[conc]) == "").to_numpy()
    for i in np.flatnonzero(blank & ~flags):
        problems.add(
            i,
            conc,
            "",
            "value is required unless the sample is flagged BLQ",
            "a number ≥ 0" + (f", or blank with {blq_column}=true" if blq_column else ""),
        )
    frame = pd.DataFrame({"_subject": ids, "_time": times, "_conc": np.where(flags, 0.0, values)})
    for column in by:
        frame[column] = parse_text(data, column, problems)
    frame["_blq"] = flags
    if lloq_column:
        frame["_lloq"] = parse_float(
            data, lloq_column, problems, required=False, minimum=MIN_LLOQ, maximum=MAX_CONCENTRATION
        )
    if dose:
        frame["_dose"] = parse_float(data, dose, problems, required=True, minimum=0.0, exclusive_minimum=True)
    if unit_column:
        # the unit as written (checked by `_check_row_units`) and its one spelling, by which every reader
        # groups and compares units: "copies/µg gDNA" and "copies/ug gDNA" are one unit (D-19.759, D-19.760)
        frame["_unit_given"] = parse_text(data, unit_column, problems)
        frame["_unit_spelt"] = frame["_unit_given"].map(lambda u: conc_unit_spelling(u) if u else u)
        # units of one dimension are one unit, compared and analysed in its standard unit (D-19.781)
        frame["_unit"] = to_standard(np.zeros(n), frame["_unit_spelt"])[1]
    if nominal_time:
        frame["_nominal"] = parse_float(data, nominal_time, problems, required=False)
    if blq_column:
        _check_blq_values(data, conc, blq_column, lloq_column, flags, values, frame, lloq, problems)
    if alq_column:
        above = parse_bool(data, alq_column, problems, required=False)
        for i in np.flatnonzero(above):
            problems.add(
                i,
                alq_column,
                text_cells(data[alq_column]).iat[i],
                "the sample is above the upper limit of quantification: its level is a lower bound, not a "
                "measurement",
                f"{alq_column}=false (a measured level); NCA and the kinetic fits take no sample censored "
                "above a limit: remove the row, and say so, to analyse the others"
                + (" (--keep-going leaves such rows out and lists them)" if keep_going_option else ""),
            )
    frame["_row"] = np.arange(n)
    keys = ["_subject", *by]
    # one sample per profile and time, the rule of every reader (docs/science/decisions.md D-19.18)
    key_frame = pd.DataFrame(
        {
            subject: pd.Series(ids, dtype=object).mask(ids == ""),
            **{column: frame[column].mask(frame[column] == "") for column in by},
            time: times,
        }
    )
    check_repeated_keys(key_frame, data, problems, time)
    for column, label in (("_unit", unit_column), ("_dose", dose)):
        if column in frame.columns and label:
            ok = frame[~problems.bad_mask(n)]
            counts = ok.groupby(keys, sort=False)[column].transform("nunique")
            cells = text_cells(data[label])
            for i in ok.index[(counts > 1).to_numpy()]:
                problems.add(i, label, cells.iat[i], "differs within one profile", "one value per profile")
    _standardise(frame, conc_unit, lloq)
    problems.raise_if_any(keep_going)
    frame["_bad"] = problems.bad_mask(n)
    return frame, problems


def _standardise(frame: pd.DataFrame, conc_unit: str | None, lloq: float | None) -> None:
    """Concentrations and LLOQs in the standard unit of their dimension (`cartrial.kinetics.units`,
    D-19.781), in place: each row's unit (`conc_unit` for every row when given, else the unit column's);
    ``_unit`` becomes that standard unit. A common `lloq` (in each row's recorded unit, as the BLQ check
    reads it) converted row by row is ``_lloq_common``, written only when a row's unit is converted."""
    if conc_unit is not None:
        units: Sequence[object] = [conc_unit] * len(frame)
    elif "_unit_spelt" in frame:
        units = list(frame["_unit_spelt"])
    else:
        return
    values, standard_units, found = to_standard(frame["_conc"], units)
    if conc_unit is not None:
        frame["_unit"] = standard_units
    if not any(s.converted for s in found):
        return
    frame["_conc"] = values
    if "_lloq" in frame:
        frame["_lloq"] = to_standard(frame["_lloq"], units)[0]
    if lloq is not None:
        frame["_lloq_common"] = to_standard(np.full(len(frame), float(lloq)), units)[0]


def _refuse_orphan_flags(data: pd.DataFrame, used: set[str | None], source: str) -> None:
    """A ``Y_alq`` column whose value column ``Y`` the table lacks (a renamed value column, the flag kept)
    may flag the analysed column under another name: without ``alq_column`` it is refused rather than
    ignored, so a flagged level is never read as measured by the rename (D-19.668)."""
    orphans = [
        str(c)
        for c in data.columns
        if str(c).endswith(ALQ_SUFFIX)
        and c not in used
        and str(c)[: -len(ALQ_SUFFIX)] not in map(str, data.columns)
    ]
    if orphans:
        raise InputError(
            [
                Problem(
                    "an upper-limit flag of a column the file lacks: name it with --alq-col",
                    file=source,
                    field=column,
                    allowed="--alq-col naming the flag of the analysed column (the API's alq_column), or "
                    "the flag's value column in the file",
                )
                for column in orphans
            ]
        )


def _check_blq_values(
    data: pd.DataFrame,
    conc: str,
    blq_column: str,
    lloq_column: str | None,
    flags: np.ndarray,
    values: np.ndarray,
    frame: pd.DataFrame,
    lloq: float | None,
    problems: RowProblems,
) -> None:
    """A sample flagged BLQ may have a blank value or one below its LLOQ (`lloq` for every sample, else the
    row's `lloq_column`); a value at or above it contradicts the flag (`blq_value_contradicts`, the store's
    rule too; D-19.165, D-19.1106) and is a problem of the row, which names the LLOQ's column, not its value
    (D-12.2). Without a known LLOQ the value is not judged (the flag codes the sample as BLQ either way)."""
    if lloq is not None:
        limits = np.full(len(data), float(lloq))
    elif lloq_column:
        limits = frame["_lloq"].to_numpy(dtype=float)
    else:
        return
    cells = text_cells(data[conc])
    with np.errstate(invalid="ignore"):
        above = flags & blq_value_contradicts(values, limits)  # NaN (blank value or LLOQ): False
    limit = "the lloq given for every sample (CLI --lloq)" if lloq is not None else f"the row's {lloq_column}"
    for i in np.flatnonzero(above):
        problems.add(
            i,
            conc,
            cells.iat[i],
            f"the sample is flagged BLQ ({blq_column}=true) but its value is at or above the LLOQ",
            f"blank or below the LLOQ ({limit}) when {blq_column}=true; otherwise {blq_column}=false",
        )


DOSE_NORMALISED: tuple[str, ...] = ("cmax", "auclast", "aucinf_obs")
"""The NCA parameters `derive_nca` divides by the dose (columns ``<name>_dn``)."""


def dose_normalised_units(units: Mapping[str, str], dose_unit: str) -> dict[str, str]:
    """The units of ``dose`` and of each dose-normalised parameter: the parameter's unit over the dose's
    (D-19.665).

    >>> auc = "copies·day/ug"
    >>> dose_normalised_units({"cmax": "copies/ug", "auclast": auc, "aucinf_obs": auc}, "cells/kg")["cmax_dn"]
    '(copies/ug)/(cells/kg)'
    """
    return {"dose": dose_unit, **{f"{name}_dn": f"({units[name]})/({dose_unit})" for name in DOSE_NORMALISED}}


def _input_error_texts(frame: pd.DataFrame, problems: RowProblems) -> dict[Any, list[str]]:
    """Per subject: 'row N: problem' texts of its bad rows (spreadsheet row numbers)."""
    messages = problems.error_column(len(frame))
    per_subject: dict[Any, list[str]] = {}
    for i in np.flatnonzero(frame["_bad"].to_numpy()):
        per_subject.setdefault(frame["_subject"].iat[i], []).append(f"row {int(i) + 2}: {messages[int(i)]}")
    return per_subject


def derive_nca(
    data: pd.DataFrame,
    *,
    subject: str,
    time: str,
    conc: str,
    by: Sequence[str] = (),
    time_unit: str = "day",
    conc_unit: str | None = None,
    unit_column: str | None = None,
    dose: str | None = None,
    lloq: float | None = None,
    lloq_column: str | None = None,
    blq_column: str | None = None,
    options: NcaOptions | None = None,
    keep_going: bool = False,
    source: str = "data",
    nominal_time: str | None = None,
    nominal_windows: Mapping[float, tuple[float, float]] | None = None,
    dose_unit: str | None = None,
    alq_column: str | None = None,
) -> KineticsResult:
    """NCA per profile (subject and ``by`` groups) of a sample table, PKNCA rules by default.

    Validates the table (`validate_profiles`), takes the concentration unit from `conc_unit` or per
    profile from `unit_column` (one of them is required), checks the time unit against `TIME_UNITS`,
    codes flagged BLQ samples and values below the LLOQ as 0, runs `cartrial.kinetics.nca.nca` per unit, and
    with `dose` adds ``dose``, ``dose_unit`` and dose-normalised ``cmax_dn``, ``auclast_dn``,
    ``aucinf_obs_dn`` (`dose_unit`, e.g. "cells/kg" or "cells", is then required: per kg and per total
    cells differ by the weight; the units of the dose-normalised columns are derived from it,
    `dose_normalised_units`, D-19.665). A sample flagged in `alq_column` (default ``<conc>_alq`` when the
    table has it) is above the upper limit of quantification and refused by its row (`validate_profiles`,
    D-19.663, D-19.668). With
    `keep_going`, bad rows are left out and listed per subject in ``input_errors`` (a subject whose every
    row is bad stays in the table with the reason); the problems are in the result's ``problems``.
    `nominal_time` (a column of scheduled times) lets a sample of the interval-end visit taken inside its
    window cover a partial AUC (``auc_<a>_<b>_covered``; `cartrial.kinetics.nca.interval_coverage`); the
    windows are `nominal_windows` (``{nominal: (minus, plus)}``, the protocol's visit windows): a nominal time
    without one never counts (D-19.104).

    Returns a `KineticsResult` (a `cartrial.results.Result`): ``table`` one row per profile; ``metadata()``
    with the options (``NcaOptions.as_dict``), ``units`` (per column; ``"see units_by_conc_unit"`` when
    profiles have different units), ``units_by_conc_unit``, sources and notes.

    >>> samples = pd.DataFrame({"subject_id": "S1", "day": [0, 1, 2, 4, 7],
    ...                         "copies": [0.0, 100.0, 400.0, 200.0, 50.0]})
    >>> result = derive_nca(samples, subject="subject_id", time="day", conc="copies",
    ...                     conc_unit="copies/ug", options=NcaOptions(intervals=((0, 4),)))
    >>> float(result.table["cmax"].iloc[0]), float(result.table["auc_0_4"].iloc[0]) > 0
    (400.0, True)
    >>> result.metadata()["units"]["auclast"]
    'copies·day/ug'
    """
    options = options or NcaOptions()
    problems_first: list[Problem] = []
    if lloq is not None and lloq_column:
        problems_first.append(Problem("give lloq or lloq_column, not both", field="lloq"))
    if conc_unit is None and unit_column is None:
        problems_first.append(
            Problem(
                "the concentration unit is missing",
                file=source,
                field="conc_unit",
                allowed='conc_unit="copies/ug" or unit_column=COLUMN (CLI: --conc-unit or --unit-col)',
            )
        )
    if dose and dose_unit is None:
        problems_first.append(
            Problem(
                "the dose unit is missing: a dose-normalised Cmax or AUC is meaningless without it",
                file=source,
                field="dose_unit",
                allowed='dose_unit="cells/kg" or "cells" (CLI: --dose-unit)',
            )
        )
    if dose_unit is not None and not dose:
        problems_first.append(
            Problem(
                "a dose unit without a dose column is not used",
                field="dose_unit",
                value=dose_unit,
                allowed="dose_unit together with dose=COLUMN, or neither",
            )
        )
    if problems_first:
        raise InputError(problems_first)
    if dose:
        dose_unit = check_conc_unit(str(dose_unit), "dose_unit", "dose")
    time_unit = check_time_unit(time_unit)
    if conc_unit is not None:  # checked as given, used in its one spelling (D-19.760)
        conc_unit = conc_unit_spelling(check_conc_unit(conc_unit))
    lloq = check_lloq(lloq)
    if options.needs_lloq and lloq is None and not lloq_column:
        raise InputError(Problem("the half-LLOQ BLQ rule needs lloq or lloq_column", field="blq"))
    frame, problems = validate_profiles(
        data,
        subject=subject,
        time=time,
        conc=conc,
        by=by,
        dose=dose,
        blq_column=blq_column,
        lloq_column=lloq_column,
        unit_column=unit_column,
        lloq=lloq,
        source=source,
        keep_going=keep_going,
        nominal_time=nominal_time,
        alq_column=alq_column,
        conc_unit=conc_unit,
    )
    if unit_column and conc_unit is None:
        _check_row_units(frame, problems, unit_column, keep_going)
    good = frame[~frame["_bad"]]
    given_units = [conc_unit] if conc_unit is not None else (good["_unit_spelt"] if unit_column else [])
    if conc_unit is not None:  # the standard unit of its dimension (D-19.781)
        conc_unit = standard_conc_unit(conc_unit).unit
    engine_options, r0_notes = _nominal_r0_in_standard_unit(options, given_units)
    common_lloq = "_lloq_common" in good and not lloq_column
    keys = ["_subject", *by]
    tables: list[pd.DataFrame] = []
    units_by_unit: dict[str, dict[str, str]] = {}
    notes: list[str] = conversion_notes(given_units) + r0_notes
    groups: Iterable[tuple[Any, pd.DataFrame]] = (
        good.groupby("_unit", sort=False) if unit_column and conc_unit is None else [(conc_unit, good)]
    )
    for key, part in groups:
        unit = str(key[0] if isinstance(key, tuple) else key)
        result = nca(
            part.rename(columns={"_subject": subject}),
            subject=[subject, *by],
            time="_time",
            conc="_conc",
            time_unit=time_unit,
            conc_unit=unit,
            options=engine_options,
            lloq=None if common_lloq else lloq,
            lloq_column="_lloq" if lloq_column else ("_lloq_common" if common_lloq else None),
            nominal_time="_nominal" if nominal_time else None,
            nominal_windows=nominal_windows,
        )
        table = result.table
        table["nca_options"] = options.describe()  # the options as given (a nominal R0 in its recorded unit)
        if dose:
            doses = part.groupby(keys, sort=False)["_dose"].first().reset_index()
            doses = doses.rename(columns={"_subject": subject, "_dose": "dose"})
            table = table.merge(doses, on=[subject, *by], how="left")
            table["dose_unit"] = dose_unit
            for name in DOSE_NORMALISED:
                table[f"{name}_dn"] = table[name] / table["dose"]
        tables.append(table)
        units_by_unit[unit] = dict(result.units)
        if dose:
            units_by_unit[unit].update(dose_normalised_units(result.units, str(dose_unit)))
        notes.extend(result.notes)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if problems and keep_going:
        per_subject = _input_error_texts(frame, problems)
        present = set(table[subject]) if len(table) else set()
        lost = [s for s in per_subject if s not in present]
        if lost:  # every row of these subjects is bad: keep them in the output, with the reason
            reason = "no valid sample: every row of this subject has an input error (see input_errors)"
            table = pd.concat(
                [table, pd.DataFrame({subject: lost, "not_estimable": reason})], ignore_index=True
            )
        table["input_errors"] = ["; ".join(per_subject.get(s, [])) for s in table[subject]]
        notes.append(f"{count(int(frame['_bad'].sum()), 'bad row')} excluded; see input_errors")
    if not units_by_unit and conc_unit is not None:
        units_by_unit[conc_unit] = derived_units(conc_unit, time_unit)
    units: Mapping[str, str] = next(iter(units_by_unit.values())) if len(units_by_unit) == 1 else {}
    return KineticsResult(
        table=table,
        derivation="cartrial.kinetics.derive_nca",
        options=options.as_dict(),
        sources=(PKNCA_SOURCE,),
        units=units,
        notes=tuple(notes),
        problems=tuple(problems.all()) if keep_going else (),
        extra={
            "units_by_conc_unit": units_by_unit,
            **({} if len(units_by_unit) == 1 else {"units": "see units_by_conc_unit"}),
        },
    )


def _nominal_r0_in_standard_unit(
    options: NcaOptions, given_units: Iterable[object]
) -> tuple[NcaOptions, list[str]]:
    """The options the engine runs with and their notes: a nominal R0 (``fold_expansion_reference =
    nominal_r0``) is given in the unit the data are recorded in and converted, as the concentrations are, by
    `cartrial.kinetics.units.to_standard` (D-19.781, D-19.1450). One R0 is one level of one unit: data
    recorded in more than one unit (two analytes, or one in two units) are refused, counting the units found
    (cells of the records, not listed; D-19.1452).
    """
    if (
        options.fold_expansion_reference != FoldExpansionReference.NOMINAL_R0
        or options.fold_expansion_r0 is None
    ):
        return options, []
    units = sorted({str(u) for u in given_units if isinstance(u, str) and u})
    if len(units) > 1:
        raise OptionError(
            Problem(
                "fold_expansion_reference nominal_r0 takes one R0 for every profile, but the data are "
                f"recorded in {len(units)} concentration units",
                field="fold_expansion_r0",
                allowed="data of one analyte recorded in one unit (run each unit on its own), or "
                "fold_expansion_reference first_quantifiable",
            )
        )
    if not units:
        return options, []
    standard = standard_conc_unit(units[0])
    if not standard.converted:
        return options, []
    r0 = float(to_standard([options.fold_expansion_r0], units)[0][0])
    note = (
        f"nominal R0 {options.fold_expansion_r0:g} {units[0]} converted to {r0:g} {standard.unit}, as the "
        "concentrations (D-19.781, D-19.1450)"
    )
    return replace(options, fold_expansion_r0=r0), [note]


FIT_COLUMNS_TAIL: tuple[str, ...] = (
    "residual_sd_log",
    "residual_sd_log_df_corrected",
    "n_quantifiable",
    "n_blq",
    "aic",
    "r2_log",
    "converged",
    "status",
    "determination",
    "condition_number",
    "observed_cmax",
    "value_unit",
    "not_estimable",
)
"""Columns after the parameter/SE pairs in the `derive_stein2019_fits` table."""

DEFAULT_FIT_UNIT = "copies/ug gDNA"
"""The unit `derive_stein2019_fits` gives the levels when it is told none (the transgene's, Stein 2019)."""


def _median_or_none(cmax: pd.Series) -> float | None:
    """The median of the observed Cmax values that exist (None when no profile has one: a profile without a
    quantifiable sample has none, and the median of nothing warned "Mean of empty slice")."""
    observed = cmax.dropna()
    return float(observed.median()) if len(observed) else None


def _cmax_text(value: float | None, unit: str = "") -> str:
    return "none" if value is None else f"{value:.4g}{unit}"


def derive_stein2019_fits(
    data: pd.DataFrame,
    *,
    subject: str = "subject_id",
    time: str = "actual_day",
    conc: str = "value",
    by: Sequence[str] = (),
    lloq: float | None = None,
    lloq_column: str | None = None,
    blq_column: str | None = None,
    options: FitOptions | None = None,
    keep_going: bool = False,
    source: str = "data",
    progress: Callable[[list[Any]], Iterable[Any]] | None = None,
    time_unit: str = "day",
    conc_unit: str | None = None,
    unit_column: str | None = None,
    alq_column: str | None = None,
    lloq_names: str = "lloq or lloq_column",
) -> KineticsResult:
    """Fit the Stein 2019 model to each profile of a sample table (`fit_stein2019`, BLQ censored, M3).
    A sample flagged in `alq_column` (default ``<conc>_alq`` when the table has it) is refused by its row
    (`validate_profiles`, D-19.663, D-19.668).

    One row per profile: the six estimates and their SEs, the ML residual SD on the log scale and the same
    corrected for the degrees of freedom (`residual_sd_log_df_corrected`), counts, AIC, R² (log scale), the
    observed Cmax, and ``not_estimable`` (why a profile was refused, or which SEs are missing). ``converged``
    is the optimiser's stop; ``status`` is the label to read: ``converged``, ``poorly determined`` (a
    parameter without SE, an RSE above 100 % or an ill-conditioned correlation matrix, listed in
    ``determination``, with the correlation matrix's ``condition_number``; D-19.276), ``not converged`` or
    ``not estimable``. Profiles
    that cannot identify the model — including saturated ones, with no more quantifiable samples than the
    7 estimated quantities — are refused, not fitted. The metadata lists the refused profiles, compares
    their observed Cmax with the fitted ones (refused profiles are typically the low expanders, so the
    fitted subset is not the population) and states the residual-SD bias. `progress` wraps the list of
    profiles (e.g. a progress bar). `time_unit` (min, h, day or week, checked as `check_time_unit`) is the
    unit of the time column: the model is in days (tmax in days, rates per day), so other units are
    converted to days, as `kinetics popfit` does (D-19.241); the units say both. The values' unit is
    `conc_unit` or, per profile, the `unit_column` (one unit per profile, checked as `check_conc_unit`);
    it is each row's ``value_unit`` — the unit of ``cmax`` and ``observed_cmax`` — and ``units["cmax"]``
    when all profiles share one (D-19.242). Without either, the level is taken as the transgene's
    copies/ug gDNA, as before. A profile with a BLQ sample but no LLOQ is not estimable, the reason naming
    how to give one as `lloq_names` (these arguments; the CLI passes its options, D-19.1182).

    >>> from cartrial.kinetics.models import stein2019_concentration
    >>> days = np.array([0.5, 2, 4, 7, 10, 14, 21, 28, 60, 90, 180, 365])
    >>> rng = np.random.default_rng(3)
    >>> level = stein2019_concentration(days, 3900, 9.3, 24000, 0.16, 0.0079, 0.0032)
    >>> samples = pd.DataFrame({"subject_id": "S1", "actual_day": days,
    ...                         "value": level * np.exp(rng.normal(0, 0.2, days.size))})
    >>> result = derive_stein2019_fits(samples, lloq=50)
    >>> 5 < float(result.table["tmax_days"].iloc[0]) < 15
    True
    """
    fit_options = options or FitOptions()
    lloq = check_lloq(lloq)
    time_unit = check_time_unit(time_unit)
    if conc_unit is not None and unit_column:
        raise InputError(Problem("give conc_unit or unit_column, not both", field="conc_unit"))
    if conc_unit is not None:  # checked as given, used in its one spelling (D-19.760)
        conc_unit = conc_unit_spelling(check_conc_unit(conc_unit))
    frame, problems = validate_profiles(
        data,
        subject=subject,
        time=time,
        conc=conc,
        by=by,
        blq_column=blq_column,
        lloq_column=lloq_column,
        lloq=lloq,
        source=source,
        keep_going=keep_going,
        unit_column=unit_column,
        alq_column=alq_column,
        conc_unit=conc_unit,
    )
    given_units = (
        [conc_unit]
        if conc_unit is not None
        else (frame.loc[~frame["_bad"], "_unit_spelt"] if unit_column else [])
    )
    if conc_unit is not None:  # the standard unit of its dimension (D-19.781)
        conc_unit = standard_conc_unit(conc_unit).unit
    if unit_column:  # each row's unit is a unit (one per profile: `validate_profiles`)
        _check_row_units(frame, problems, unit_column, keep_going)
    good = frame[~frame["_bad"]]
    if time_unit != "day":  # the model's unit (D-19.241)
        good = good.assign(_time=good["_time"] * TIME_UNIT_DAYS[time_unit])
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    groups = list(good.groupby(["_subject", *by], sort=False))
    iterable: Iterable[Any] = progress(groups) if progress is not None else groups
    n_structural = len(STEIN_PARAMETERS)
    for key, part in iterable:
        ident = dict(zip([subject, *by], key if isinstance(key, tuple) else (key,), strict=True))
        part_lloq = (
            part["_lloq"].to_numpy()
            if lloq_column
            else (part["_lloq_common"].to_numpy() if "_lloq_common" in part else lloq)
        )
        concs = part["_conc"].to_numpy()
        observed = concs[(concs > 0) & ~part["_blq"].to_numpy()]
        row: dict[str, Any] = {**ident, "observed_cmax": float(observed.max()) if observed.size else math.nan}
        row["value_unit"] = str(part["_unit"].iat[0]) if unit_column else (conc_unit or DEFAULT_FIT_UNIT)
        try:
            fit = fit_stein2019(
                part["_time"].to_numpy(),
                concs,
                lloq=part_lloq,
                blq=part["_blq"].to_numpy(),
                options=fit_options,
                lloq_names=lloq_names,
            )
        except NotEstimableError as exc:
            row.update({name: math.nan for name in STEIN_PARAMETERS})
            row["not_estimable"] = str(exc)
            row["status"] = "not estimable"
            rows.append(row)
            details.append({**ident, "not_estimable": str(exc), "observed_cmax": row["observed_cmax"]})
            continue
        for name in STEIN_PARAMETERS:
            row[name] = fit.estimates[name]
            row[f"{name}_se"] = fit.standard_errors[name]
        row["residual_sd_log"] = fit.residual_sd_log
        n_q = int(fit.diagnostics["n_quantifiable"])
        row["residual_sd_log_df_corrected"] = fit.residual_sd_log * math.sqrt(n_q / (n_q - n_structural))
        for name in ("n_quantifiable", "n_blq", "aic", "r2_log", "converged", "status", "condition_number"):
            row[name] = fit.diagnostics[name]
        row["determination"] = "; ".join(fit.diagnostics["determination"])  # why poorly determined (D-19.276)
        row["not_estimable"] = "; ".join(f"{k} SE: {v}" for k, v in fit.se_reasons.items())
        rows.append(row)
        details.append({**ident, **fit.as_dict(), "observations": fit.observations.to_dict(orient="records")})
    columns = [
        subject,
        *by,
        *(column for name in STEIN_PARAMETERS for column in (name, f"{name}_se")),
        *FIT_COLUMNS_TAIL,
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    value_units = sorted(set(table["value_unit"].dropna())) if len(table) else []
    cmax_unit = (
        value_units[0] if len(value_units) == 1 else ("see value_unit" if value_units else DEFAULT_FIT_UNIT)
    )
    refused = table["tmax_days"].isna() if len(table) else pd.Series(dtype=bool)
    notes: list[str] = conversion_notes(given_units)
    summary: dict[str, Any] = {
        "n_profiles": len(table),
        "n_fitted": int((~refused).sum()),
        "n_refused": int(refused.sum()),
        "refused": [
            {
                **{k: table[k].iat[i] for k in (subject, *by)},
                "observed_cmax": table["observed_cmax"].iat[i],
                "reason": table["not_estimable"].iat[i],
            }
            for i in np.flatnonzero(refused.to_numpy())
        ],
        "observed_cmax_by_group": [],
    }
    poor = table["status"].eq("poorly determined") if len(table) else pd.Series(dtype=bool)
    summary["n_poorly_determined"] = int(poor.sum())
    summary["poorly_determined"] = [
        {**{k: table[k].iat[i] for k in (subject, *by)}, "reason": table["determination"].iat[i]}
        for i in np.flatnonzero(poor.to_numpy())
    ]
    grouped = (
        table.assign(_refused=refused).groupby(list(by), sort=False)
        if by
        else [((), table.assign(_refused=refused))]
    )
    for key, part in grouped:
        label = dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True))
        fitted_part = part.loc[~part["_refused"], "observed_cmax"]
        refused_part = part.loc[part["_refused"], "observed_cmax"]
        entry = {
            **label,
            "n_fitted": len(fitted_part),
            "n_refused": len(refused_part),
            "median_observed_cmax_fitted": _median_or_none(fitted_part),
            "median_observed_cmax_refused": _median_or_none(refused_part),
        }
        summary["observed_cmax_by_group"].append(entry)
        if len(refused_part):
            where = ", ".join(f"{k}={v}" for k, v in label.items())
            group_units = set(part["value_unit"].dropna())
            unit = (
                f" {next(iter(group_units))}" if len(group_units) == 1 else " (profiles in different units)"
            )
            fitted_text = _cmax_text(entry["median_observed_cmax_fitted"], unit)
            notes.append(
                k_of_n(len(refused_part), len(part), "profile")
                + (f" ({where})" if where else "")
                + " refused as not identifiable; median observed Cmax "
                f"{_cmax_text(entry['median_observed_cmax_refused'], unit)} refused vs {fitted_text} fitted: "
                "the fitted subset is not the population, do not summarise its parameters as "
                "population values"
            )
    if summary["n_poorly_determined"]:
        names = ", ".join(
            "/".join(str(v) for k, v in entry.items() if k != "reason")
            for entry in summary["poorly_determined"]
        )
        notes.append(
            k_of_n(summary["n_poorly_determined"], summary["n_fitted"], "fitted profile")
            + " poorly determined "
            f"({names}): status 'poorly determined', see determination — a parameter without SE, an RSE "
            f"above {POORLY_DETERMINED_RSE_PERCENT:g} % or a correlation matrix with condition number above "
            f"{POORLY_DETERMINED_CONDITION:g} (D-19.276); their estimates are shown but not reliable"
        )
    if time_unit != "day":
        notes.append(
            f"times given in {time_unit} (column {time}) converted to days: the Stein 2019 model is in days "
            "(tmax_days in days, alpha_per_day and beta_per_day per day; D-19.241)"
        )
    notes.append(
        "residual_sd_log is the maximum-likelihood estimate, biased low by about sqrt((n - p)/n) with p = 6 "
        "structural parameters; residual_sd_log_df_corrected = residual_sd_log · sqrt(n / (n - 6)) "
        "(n quantifiable samples)"
    )
    if problems and keep_going:
        per_subject = _input_error_texts(frame, problems)
        table["input_errors"] = ["; ".join(per_subject.get(s, [])) for s in table[subject]]
        notes.append(f"{count(int(frame['_bad'].sum()), 'bad row')} excluded; see input_errors")
    return KineticsResult(
        table=table,
        derivation="cartrial.kinetics.derive_stein2019_fits",
        options=fit_options,
        sources=(STEIN_2019_SOURCE, "Beal SL. J Pharmacokinet Pharmacodyn 2001;28:481-504 (M3 censoring)"),
        units={
            "tmax_days": "day",
            "cmax": cmax_unit,
            "observed_cmax": cmax_unit,
            "alpha_per_day": "1/day",
            "beta_per_day": "1/day",
            "foldx": "1",
            "fb": "1",
            "residual_sd_log": "log scale",
            time: time_unit,
        },
        notes=tuple(notes),
        problems=tuple(problems.all()) if keep_going else (),
        extra={
            "model": "stein2019",
            "time_unit": time_unit,
            "model_time_unit": "day",
            "summary": summary,
            "fits": details,
        },
    )


def _check_row_units(frame: pd.DataFrame, problems: RowProblems, unit_column: str, keep_going: bool) -> None:
    """Each valid row's unit as written (`_unit_given`) is a unit (`check_conc_unit`), a located problem
    otherwise; rows found bad are marked in `_bad`."""
    for i in np.flatnonzero(~frame["_bad"].to_numpy()):
        try:
            check_conc_unit(str(frame["_unit_given"].iat[i]), unit_column)
        except InputError as exc:
            problems.add(
                i, unit_column, frame["_unit_given"].iat[i], exc.problems[0].message, exc.problems[0].allowed
            )
    problems.raise_if_any(keep_going)
    frame["_bad"] = problems.bad_mask(len(frame))


__all__ = [
    "FIT_COLUMNS_TAIL",
    "KineticsResult",
    "check_conc_unit",
    "check_lloq",
    "check_time_unit",
    "derive_nca",
    "derive_stein2019_fits",
    "validate_profiles",
]
