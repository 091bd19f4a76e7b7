"""Population data: one padded row per subject (times, observations, BLQ flags, LLOQ, dose, covariates).

`PopulationData.from_frame` reads the same sample table as ``cartrial kinetics fit`` (the PK template of
`cartrial.kinetics.templates`: subject_id, actual_day, value, lloq, blq, …; validated by
`cartrial.kinetics.frames.validate_profiles`, so a bad row is reported the same way), or any table given its
column names. A BLQ sample is one flagged in the BLQ column, with a value of 0, or below its LLOQ; its LLOQ is
required (the censored likelihood needs it). A sample may instead be interval-censored (an AQP4-IgG end-point
titre: the true value lies in [low, high)); `interval_low`/`interval_high` hold the bounds (NaN elsewhere)
and ``y`` a representative value (the interval's geometric centre) for plots and diagnostics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.errors import InputError, NotEstimableError, Problem
from cartrial.wording import count, noun, verb

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class PopulationData:
    """Observations padded to (n_subjects, max_samples); `observed` marks real samples (False = padding).

    times: sampling times (model time unit); y: observed value (NaN for BLQ and padding); blq: censored
    sample; lloq: its LLOQ (NaN where unknown); dose: per subject (1.0 when the model has none);
    covariates: one row per subject (index = subject id); interval_low/interval_high: bounds of the
    interval-censored samples (NaN elsewhere; None when the data have none); value_unit: the unit of the
    values (the sample table's unit column; "" when it has none), for the axes and tables of the outputs.
    """

    subjects: tuple[str, ...]
    times: FloatArray
    y: FloatArray
    blq: BoolArray
    lloq: FloatArray
    observed: BoolArray
    dose: FloatArray
    covariates: pd.DataFrame = field(default_factory=pd.DataFrame)
    source: str = "data"
    interval_low: FloatArray | None = None
    interval_high: FloatArray | None = None
    value_unit: str = ""
    time_unit: str = ""
    n_pre_dose: int = 0
    conversion_notes: tuple[str, ...] = ()
    """A note per recorded unit converted into `value_unit`, its dimension's standard unit (D-19.781)."""
    view: dict[str, Any] | None = None
    """Whose view of the study the samples are (`StudySnapshot.view`, D-19.459); None for a sample file."""
    cutoff: str | None = None
    """The data cut-off (ISO date) of the study snapshot the samples were read from (D-19.1148): a report
    shows the fit only at that cut-off; None for a sample file."""

    @property
    def n_subjects(self) -> int:
        return len(self.subjects)

    @property
    def n_observations(self) -> int:
        return int(self.observed.sum())

    @property
    def n_blq(self) -> int:
        return int((self.blq & self.observed).sum())

    @property
    def quantified(self) -> BoolArray:
        return np.asarray(self.observed & ~self.blq)

    @property
    def interval(self) -> BoolArray:
        """Interval-censored samples (quantified samples known only to lie in [low, high))."""
        if self.interval_low is None:
            return np.zeros_like(self.observed)
        with np.errstate(invalid="ignore"):
            return np.asarray(self.observed & ~self.blq & np.isfinite(self.interval_low))

    @property
    def n_interval(self) -> int:
        return int(self.interval.sum())

    def select(self, indices: Sequence[int]) -> PopulationData:
        """The data of the subjects at `indices` (in that order)."""
        idx = list(indices)
        return replace(
            self,
            subjects=tuple(self.subjects[i] for i in idx),
            times=self.times[idx],
            y=self.y[idx],
            blq=self.blq[idx],
            lloq=self.lloq[idx],
            observed=self.observed[idx],
            dose=self.dose[idx],
            covariates=self.covariates.iloc[idx] if len(self.covariates.columns) else self.covariates,
            interval_low=None if self.interval_low is None else self.interval_low[idx],
            interval_high=None if self.interval_high is None else self.interval_high[idx],
        )

    def without_intervals(self) -> PopulationData:
        """The same data with interval-censored samples taken at their representative value (``y``)."""
        return replace(self, interval_low=None, interval_high=None)

    def drop_blq(self) -> PopulationData:
        """The same data with every BLQ sample removed (Beal's M1)."""
        keep = self.observed & ~self.blq
        low, high = self.interval_low, self.interval_high
        packed = _pack(
            self.subjects,
            [self.times[i][keep[i]] for i in range(self.n_subjects)],
            [self.y[i][keep[i]] for i in range(self.n_subjects)],
            [np.zeros(int(keep[i].sum()), bool) for i in range(self.n_subjects)],
            [self.lloq[i][keep[i]] for i in range(self.n_subjects)],
            self.dose,
            self.covariates,
            self.source,
            None if low is None else [low[i][keep[i]] for i in range(self.n_subjects)],
            None if high is None else [high[i][keep[i]] for i in range(self.n_subjects)],
        )
        return replace(
            packed,
            value_unit=self.value_unit,
            time_unit=self.time_unit,
            n_pre_dose=self.n_pre_dose,
            conversion_notes=self.conversion_notes,
            view=self.view,
            cutoff=self.cutoff,
        )

    def in_time_unit(self, given: str, target: str) -> PopulationData:
        """The same data with its times converted from `given` to `target` (min, h, day or week,
        `cartrial.kinetics.templates.TIME_UNIT_DAYS`); `time_unit` says which."""
        from cartrial.kinetics.templates import TIME_UNIT_DAYS

        factor = TIME_UNIT_DAYS[given] / TIME_UNIT_DAYS[target]
        times = self.times if factor == 1.0 else self.times * factor
        return replace(self, times=times, time_unit=target)

    def long_table(self) -> pd.DataFrame:
        """One row per sample: subject, time, value (NaN when BLQ), blq, lloq."""
        rows = np.nonzero(self.observed)
        return pd.DataFrame(
            {
                "subject": np.asarray(self.subjects, dtype=object)[rows[0]],
                "time": self.times[rows],
                "value": self.y[rows],
                "blq": self.blq[rows],
                "lloq": self.lloq[rows],
            }
        )

    @classmethod
    def from_arrays(
        cls,
        subjects: Sequence[str],
        times: Sequence[npt.ArrayLike],
        values: Sequence[npt.ArrayLike],
        *,
        lloq: float | Sequence[npt.ArrayLike] | None = None,
        dose: npt.ArrayLike | None = None,
        covariates: pd.DataFrame | None = None,
        source: str = "data",
        allow_unquantified: bool = False,
        min_subjects: int = 2,
        zero_is_blq: bool = True,
    ) -> PopulationData:
        """From per-subject arrays; a value that is NaN, below the LLOQ (or 0, with `zero_is_blq`) is BLQ."""
        n = len(subjects)
        t_list = [np.asarray(t, float) for t in times]
        v_list = [np.asarray(v, float) for v in values]
        if lloq is None:
            l_list = [np.full(t.shape, np.nan) for t in t_list]
        elif np.isscalar(lloq):
            l_list = [np.full(t.shape, float(lloq)) for t in t_list]  # type: ignore[arg-type]
        else:
            l_list = [
                np.broadcast_to(np.asarray(x, float), t.shape).copy()
                for x, t in zip(lloq, t_list, strict=True)  # type: ignore[arg-type]
            ]
        b_list = []
        for v, ll in zip(v_list, l_list, strict=True):
            with np.errstate(invalid="ignore"):
                b_list.append(np.isnan(v) | ((v <= 0) & zero_is_blq) | (v < ll))
        d = np.ones(n) if dose is None else np.broadcast_to(np.asarray(dose, float), (n,)).copy()
        data = _pack(tuple(subjects), t_list, v_list, b_list, l_list, d, covariates, source)
        data.check(allow_unquantified=allow_unquantified, min_subjects=min_subjects)
        return data

    @classmethod
    def from_frame(
        cls,
        table: pd.DataFrame,
        *,
        subject: str = "subject_id",
        time: str = "actual_day",
        conc: str = "value",
        blq_column: str | None = "blq",
        lloq_column: str | None = "lloq",
        lloq: float | None = None,
        dose_column: str | None = None,
        analyte_column: str | None = "analyte",
        analyte: str | None = "car_transgene",
        source: str = "data",
        allow_unquantified: bool = False,
        min_subjects: int = 2,
        zero_is_blq: bool = True,
        interval_columns: tuple[str, str] | None = None,
        skip: npt.ArrayLike | None = None,
        unit_column: str | None = "unit",
        drop_pre_dose: bool = False,
        alq_column: str | None = None,
    ) -> PopulationData:
        """From a sample table (the PK template by default; `analyte` selects one analyte's rows).

        `interval_columns`: (low, high) columns of interval-censored samples (NaN where the sample is not).
        `skip`: rows (a mask over the table) that are not samples, dropped after validation so the row
        numbers of any problem are those of the file.

        A sample is BLQ when flagged in `blq_column`, below its LLOQ, or (with `zero_is_blq`, the default for
        CAR-T data fitted on the log scale) equal to 0; with ``zero_is_blq=False`` a 0 is an observed value
        (e.g. a pre-dose concentration fitted on the linear scale).

        `alq_column`: the column flagging a level above the upper limit of quantification (default the
        value column's ``<conc>_alq`` when the table has it); a flagged sample is refused by its row
        (`validate_profiles`, D-19.663, D-19.668).

        `unit_column` (when the table has it): the unit of each value; the samples fitted must share one
        (a fit of mixed units is refused, with the row), which becomes `value_unit`.

        `drop_pre_dose`: samples before time 0 (before the infusion) are not used and counted in
        `n_pre_dose` — for the kinetic models, whose profile starts at the infusion (as the NCA's, D-6.7;
        D-19.217); the PD model keeps them (its pre-infusion titres are the baseline).
        """
        from cartrial.kinetics.frames import validate_profiles

        data = table
        if analyte_column and analyte_column in data.columns and analyte is not None:
            data = data[data[analyte_column].astype(str).str.strip() == analyte].reset_index(drop=True)
            if len(data) == 0:
                raise InputError(
                    Problem(
                        "no sample of this analyte",
                        file=source,
                        field=analyte_column,
                        value=analyte,
                        allowed=choice_text(sorted(set(map(str, table[analyte_column])))) or "an analyte",
                    )
                )
        blq_col = blq_column if blq_column and blq_column in data.columns else None
        lloq_col = lloq_column if lloq_column and lloq_column in data.columns else None
        unit_col = unit_column if unit_column and unit_column in data.columns else None
        frame, _ = validate_profiles(
            data,
            subject=subject,
            time=time,
            conc=conc,
            blq_column=blq_col,
            lloq_column=lloq_col,
            dose=dose_column,
            lloq=lloq,
            source=source,
            unit_column=unit_col,
            alq_column=alq_column,
            keep_going_option=False,  # popfit and map have no --keep-going
        )
        if skip is not None:
            frame = frame[~np.asarray(skip, dtype=bool)[frame["_row"].to_numpy(int)]]
        value_unit = _one_unit(frame, unit_col, source)
        from cartrial.kinetics.units import conversion_notes

        converted = tuple(conversion_notes(frame["_unit_spelt"])) if "_unit_spelt" in frame else ()
        n_pre_dose = 0
        if drop_pre_dose:
            before = frame["_time"].to_numpy(float) < 0
            n_pre_dose = int(before.sum())
            frame = frame[~before]
        if lloq is not None:  # in each row's recorded unit, converted with it (D-19.781)
            frame["_lloq"] = frame["_lloq_common"] if "_lloq_common" in frame else float(lloq)
        if "_lloq" not in frame:
            frame["_lloq"] = np.nan
        if interval_columns is not None:
            rows_in = frame["_row"].to_numpy(int)
            for name, column in zip(("_low", "_high"), interval_columns, strict=True):
                frame[name] = pd.to_numeric(data[column], errors="coerce").to_numpy(float)[rows_in]
        frame = frame.sort_values(["_subject", "_time"], kind="stable")
        subjects, t_list, v_list, b_list, l_list, doses = [], [], [], [], [], []
        low_list: list[FloatArray] = []
        high_list: list[FloatArray] = []
        for sid, part in frame.groupby("_subject", sort=False):
            if interval_columns is not None:
                low_list.append(part["_low"].to_numpy(float))
                high_list.append(part["_high"].to_numpy(float))
            ll = part["_lloq"].to_numpy(float)
            v = part["_conc"].to_numpy(float)
            with np.errstate(invalid="ignore"):
                b = part["_blq"].to_numpy(bool) | ((v <= 0) & zero_is_blq) | (v < ll)
            missing = b & np.isnan(ll)
            if missing.any():
                row = int(part["_row"].to_numpy()[np.argmax(missing)]) + 2
                raise InputError(
                    Problem(
                        "a BLQ sample has no LLOQ: the censored likelihood (M3) needs it",
                        file=source,
                        row=row,
                        field=lloq_column or "--lloq",
                        allowed="an LLOQ > 0 in the LLOQ column, or --lloq for all samples",
                    )
                )
            subjects.append(str(sid))
            t_list.append(part["_time"].to_numpy(float))
            v_list.append(np.where(b, np.nan, v))
            b_list.append(b)
            l_list.append(ll)
            doses.append(float(part["_dose"].iloc[0]) if "_dose" in part else 1.0)
        out = _pack(
            tuple(subjects),
            t_list,
            v_list,
            b_list,
            l_list,
            np.array(doses),
            None,
            source,
            low_list if interval_columns is not None else None,
            high_list if interval_columns is not None else None,
        )
        out.check(allow_unquantified=allow_unquantified, min_subjects=min_subjects)
        return replace(out, value_unit=value_unit, n_pre_dose=n_pre_dose, conversion_notes=converted)

    def with_covariates(self, covariates: pd.DataFrame) -> PopulationData:
        """The same data with a covariate table (index = subject id; every subject must be present)."""
        missing = [s for s in self.subjects if s not in covariates.index]
        if missing:
            raise InputError(
                Problem(
                    f"{count(len(missing), 'subject')} of the data {verb(len(missing), 'has', 'have')} no "
                    f"covariate row (first: {missing[0]!r})",
                    file="covariates",
                    field="subject_id",
                    allowed="one row per subject of the data",
                )
            )
        chosen = covariates.loc[list(self.subjects)]
        chosen.attrs = dict(covariates.attrs)  # the file and rows of `read_covariates`, for located errors
        return replace(self, covariates=chosen)

    def check(self, *, allow_unquantified: bool = False, min_subjects: int = 2) -> None:
        """Refuse data a population fit cannot use: no subject, or a subject without a quantifiable sample."""
        if self.n_subjects == 0:
            raise NotEstimableError(f"{self.source}: no subject with samples: nothing to fit")
        q = self.quantified.sum(axis=1)
        empty = [s for s, k in zip(self.subjects, q, strict=True) if k == 0]
        if empty and not allow_unquantified:
            raise NotEstimableError(
                f"{self.source}: {noun(len(empty), 'subject')} {', '.join(empty[:5])}"
                f"{' …' if len(empty) > 5 else ''} {verb(len(empty), 'has', 'have')} no "
                f"quantifiable sample (every sample BLQ): {'its' if len(empty) == 1 else 'their'} parameters "
                "are not informed by the data. "
                f"Remove {'it' if len(empty) == 1 else 'them'} from the file, or keep "
                f"{'it' if len(empty) == 1 else 'them'} on purpose with allow_unquantified "
                "(CLI: --allow-unquantified; the censored "
                "likelihood then uses their BLQ samples only)"
            )
        if self.n_subjects < min_subjects:
            raise NotEstimableError(
                f"{self.source}: a population fit needs at least 2 subjects (got {self.n_subjects}); for one "
                "patient use `cartrial kinetics map` with a population model"
            )

    def summary(self) -> dict[str, Any]:
        return {
            "n_subjects": self.n_subjects,
            "n_observations": self.n_observations,
            "n_blq": self.n_blq,
            "blq_percent": 100.0 * self.n_blq / max(self.n_observations, 1),
            "n_interval_censored": self.n_interval,
            "value_unit": self.value_unit,
            "conversion_notes": list(self.conversion_notes),
            "time_unit": self.time_unit,
            "n_pre_dose": self.n_pre_dose,
            "view": self.view,
            "cutoff": self.cutoff,
            "last_time": float(self.times[self.observed].max()) if self.n_observations else None,
        }


def _one_unit(frame: pd.DataFrame, unit_column: str | None, source: str) -> str:
    """The one unit of the validated samples (`validate_profiles`' ``_unit``; "" without a unit column); a
    table mixing units is refused at the first row whose unit differs from the first sample's."""
    if unit_column is None or "_unit" not in frame or not len(frame):
        return ""
    units = frame["_unit"].fillna("").astype(str).str.strip()
    given = units[units != ""]
    if not len(given):
        return ""
    first = str(given.iloc[0])
    differs = given != first
    if differs.any():
        row = int(frame.loc[differs[differs].index[0], "_row"]) + 2
        raise InputError(
            Problem(
                "the samples of this analyte are in more than one unit, of different dimensions: a "
                "population fit needs one",
                file=source,
                row=row,
                field=unit_column,
                allowed="units of one dimension for every sample fitted (cells/uL and cells/mL are one: "
                "converted, D-19.781); another dimension or unit converted first, or fitted on its own",
            )
        )
    return first


def _pack(
    subjects: tuple[str, ...],
    t_list: Sequence[FloatArray],
    v_list: Sequence[FloatArray],
    b_list: Sequence[BoolArray],
    l_list: Sequence[FloatArray],
    dose: FloatArray,
    covariates: pd.DataFrame | None,
    source: str,
    low_list: Sequence[FloatArray] | None = None,
    high_list: Sequence[FloatArray] | None = None,
) -> PopulationData:
    n = len(subjects)
    m = max((len(t) for t in t_list), default=0)
    times = np.zeros((n, m))
    y = np.full((n, m), np.nan)
    blq = np.zeros((n, m), bool)
    ll = np.full((n, m), np.nan)
    observed = np.zeros((n, m), bool)
    for i in range(n):
        k = len(t_list[i])
        if k:
            times[i, :k] = t_list[i]
            times[i, k:] = t_list[i][-1]
        y[i, :k] = np.where(b_list[i], np.nan, v_list[i])
        blq[i, :k] = b_list[i]
        ll[i, :k] = l_list[i]
        observed[i, :k] = True
    cov = covariates if covariates is not None else pd.DataFrame(index=list(subjects))
    low = high = None
    if low_list is not None and high_list is not None:
        low, high = np.full((n, m), np.nan), np.full((n, m), np.nan)
        for i in range(n):
            k = len(t_list[i])
            low[i, :k] = low_list[i]
            high[i, :k] = high_list[i]
    return PopulationData(
        subjects, times, y, blq, ll, observed, np.asarray(dose, float), cov, source, low, high
    )


def parse_covariate_spec(spec: str) -> tuple[str, str, str]:
    """``'cmax~dose_level'`` → (parameter, covariate, kind); kind from a suffix: ``cmax~weight_kg:power``
    (continuous, power model centred on the median; the default for numbers) or ``cmax~sex:cat``.

    >>> parse_covariate_spec("cmax~dose_level")
    ('cmax', 'dose_level', 'auto')
    >>> parse_covariate_spec("cl~wt:power")
    ('cl', 'wt', 'power')
    """
    text = str(spec).strip()
    if text.count("~") != 1:
        raise InputError(
            Problem(
                "a covariate effect is PARAMETER~COVARIATE",
                field="covariates",
                value=text,
                allowed="e.g. cmax~dose_level, cl~weight_kg:power, cmax~sex:cat",
            )
        )
    par, cov = (s.strip() for s in text.split("~"))
    kind = "auto"
    if ":" in cov:
        cov, kind = (s.strip() for s in cov.split(":", 1))
    if kind not in ("auto", "power", "cat", "linear"):
        raise InputError(
            Problem("unknown covariate model", field="covariates", value=text, allowed="power, cat or linear")
        )
    if not par or not cov:
        raise InputError(
            Problem(
                "a covariate effect is PARAMETER~COVARIATE",
                field="covariates",
                value=text,
                allowed="e.g. cmax~dose_level",
            )
        )
    return par, cov, kind


def covariate_design(
    data: PopulationData, effects: Sequence[tuple[str, str, str]], parameters: Sequence[str]
) -> tuple[list[tuple[int, str, str]], FloatArray, dict[str, Any]]:
    """Covariate columns of the log-parameter model: log θ_ij = log θ_j + Σ β_jk·x_ik + η_ij.

    Continuous covariates enter as a power model centred on the median: x = log(c/median) (so θ_j is the
    typical value of a median subject); ``linear``: x = c - median; categorical: one indicator per
    non-reference level (reference = most frequent; a tie: the first of the tied levels in sorted order,
    D-19.1174). Returns [(parameter index, label, kind)], the
    (n, k) matrix and a description for the report. A covariate that is missing, constant, or identical
    to another effect on the same parameter is refused (not identifiable).
    """
    columns: list[FloatArray] = []
    labels: list[tuple[int, str, str]] = []
    described: dict[str, Any] = {}
    cov = data.covariates
    for par, name, kind in effects:
        if par not in parameters:
            raise InputError(
                Problem(
                    "not a parameter of the model",
                    field="covariates",
                    value=par,
                    allowed=choice_text(parameters),
                )
            )
        j = parameters.index(par)
        if name not in cov.columns:
            raise InputError(
                Problem(
                    "covariate column not found",
                    field="covariates",
                    value=name,
                    allowed=choice_text(map(str, cov.columns)) or "a covariates file with that column",
                )
            )
        raw = cov[name]
        # a blank cell is missing whatever the covariate model: never a number, never a level "nan"
        missing = (raw.isna() | raw.astype(str).str.strip().eq("")).to_numpy(bool)
        if missing.any():
            raise _covariate_problem(
                cov,
                data.subjects,
                missing,
                name,
                "covariate missing: every subject of the data needs a value",
                "a value for every subject (impute it, or leave the subject out of the data)",
            )
        numeric = pd.to_numeric(raw, errors="coerce")
        is_num = kind in ("power", "linear") or (kind == "auto" and numeric.notna().all())
        if is_num:
            values = numeric.to_numpy(float)
            if np.isnan(values).any():
                raise _covariate_problem(
                    cov,
                    data.subjects,
                    np.isnan(values),
                    name,
                    "covariate is not a number (a power or linear model needs one)",
                    "a number for every subject, or ':cat' for a categorical covariate",
                )
            centre = float(np.median(values))
            if kind != "linear" and (values <= 0).any():
                # located by the covariate file's row, as a missing value is (D-19.1142)
                raise _covariate_problem(
                    cov,
                    data.subjects,
                    values <= 0,
                    name,
                    "a power covariate model needs values > 0",
                    "positive numbers, or ':linear' / ':cat'",
                )
            x = np.log(values / centre) if kind != "linear" else values - centre
            if np.ptp(x) == 0:
                raise NotEstimableError(
                    f"covariate {name!r} on {par} is the same for every subject: its effect is not "
                    "identifiable "
                    "(remove the covariate effect (CLI: --covariate), or use data where it varies)"
                )
            columns.append(x)
            model = "power" if kind != "linear" else "linear"
            labels.append((j, f"beta_{par}_{name}", model))
            described[f"beta_{par}_{name}"] = {
                "parameter": par,
                "covariate": name,
                "model": model,
                "centre": centre,
            }
        else:
            levels = raw.astype(str).str.strip()
            counts = levels.value_counts()
            if len(counts) < 2:
                raise NotEstimableError(
                    f"covariate {name!r} on {par} has one level only: its effect is not identifiable "
                    "(remove the covariate effect (CLI: --covariate))"
                )
            # the most frequent level; a tie broken by the sorted level (as text), so the reference, and
            # with it every coefficient, never depends on the order of the subjects (D-19.1174)
            reference = str(min(counts.index, key=lambda lv: (-int(counts[lv]), str(lv))))
            others = [lv for lv in counts.index if str(lv) != reference]
            for level in sorted(others, key=str):
                columns.append((levels == level).to_numpy(float))
                label = f"beta_{par}_{name}_{level}"
                labels.append((j, label, "categorical"))
                described[label] = {
                    "parameter": par,
                    "covariate": name,
                    "model": "categorical",
                    "level": level,
                    "reference": reference,
                }
    x = np.column_stack(columns) if columns else np.zeros((data.n_subjects, 0))
    # identifiability: per parameter, intercept + its covariates must be of full column rank
    for j in sorted({lab[0] for lab in labels}):
        idx = [k for k, lab in enumerate(labels) if lab[0] == j]
        design = np.column_stack([np.ones(data.n_subjects), x[:, idx]])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            names = ", ".join(labels[k][1] for k in idx)
            raise NotEstimableError(
                f"covariate effects on {parameters[j]} are not identifiable ({names}): a covariate is "
                "constant "
                "or a combination of the others for these subjects; remove one of them"
            )
        if data.n_subjects <= design.shape[1]:
            raise NotEstimableError(
                f"{count(data.n_subjects, 'subject')} cannot identify "
                f"{count(design.shape[1] - 1, 'covariate effect')} on "
                f"{parameters[j]}; remove covariates"
            )
    return labels, x, described


def read_covariates(
    table: pd.DataFrame, *, subject: str = "subject_id", source: str = "covariates"
) -> pd.DataFrame:
    """A covariate table (one row per subject) indexed by subject id; duplicate subjects are refused."""
    if subject not in table.columns:
        raise InputError(
            Problem(
                "column is missing", file=source, field=subject, allowed=choice_text(map(str, table.columns))
            )
        )
    ids = table[subject].astype(str).str.strip()
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            Problem(
                "subject listed twice",
                file=source,
                field=subject,
                value=str(dup.iloc[0]),
                allowed="one row per subject",
            )
        )
    out = table.copy()
    out.index = pd.Index(ids)
    # where each subject's row is in the file (header = row 1), for located errors (`covariate_design`)
    out.attrs = {"source": source, "rows": {sid: k + 2 for k, sid in enumerate(ids)}}
    return out


def _covariate_problem(
    cov: pd.DataFrame, subjects: Sequence[str], bad: npt.ArrayLike, name: str, message: str, allowed: str
) -> InputError:
    """A located error for the first subject whose covariate `name` is bad: the covariate file's row when the
    table came from `read_covariates`, the subject otherwise; never the value (D-12.2)."""
    flags = np.asarray(bad, dtype=bool)
    first = str(np.asarray(subjects, dtype=object)[flags][0])
    rows = cov.attrs.get("rows", {})
    count = int(flags.sum())
    more = f" ({count} subjects)" if count > 1 else ""
    if first in rows:
        return InputError(
            Problem(
                message + more,
                file=str(cov.attrs.get("source", "covariates")),
                row=int(rows[first]),
                field=name,
                allowed=allowed,
            )
        )
    return InputError(
        Problem(f"{message} for subject {first}{more}", file="covariates", field=name, allowed=allowed)
    )


__all__ = ["PopulationData", "covariate_design", "parse_covariate_spec", "read_covariates"]


def typed_values_note(model: Any, names: Sequence[str], data: PopulationData) -> str | None:
    """The note that concentration-scale `--initial`/`--fix` values (`names` among the model's
    `data_unit_parameters`) are read in `data.value_unit`, the standard unit the samples were converted into
    (D-19.781); None when no sample was converted or no such value was given."""
    from cartrial.kinetics.popfit.structural import data_unit_parameters

    scaled = [n for n in dict.fromkeys(names) if n in data_unit_parameters(model)]
    if not scaled or not data.conversion_notes:
        return None
    return (
        f"--initial/--fix {', '.join(scaled)} read in {data.value_unit}, the standard unit the samples were "
        "converted into (D-19.781)"
    )
