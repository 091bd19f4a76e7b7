"""Bounded simulation runs: documented limits checked before anything is allocated, and output in chunks.

`check_simulation` validates a request (subjects, days, seed, residual SD) against the limits below and
returns the day grid; `simulate_stein2019_chunks` yields the long table of a Stein 2019 simulation block by
block, so a large run is written with bounded memory and gives the same numbers as one `simulate_stein2019`
call with the same seed; `simulate_pd_table` is the long table of the proposed PD model.

Limits (each with its reason):

* `MAX_SUBJECTS` = 1,000,000 virtual subjects: the individual parameters are held in memory (48 MB at
  the limit); larger studies are run as several seeds.
* `MAX_PD_SUBJECTS` = 1,000 for the PD model: its ODE system has 4 states per subject and is solved jointly
  with a dense Jacobian of (4·N)² values (128 MB at the limit).
* `MAX_DAY` = 36,500 (100 years after infusion): beyond any follow-up.
* `MAX_DAYS_PER_SUBJECT` = 100,000 time points per subject.
* `MAX_SAMPLES` = 50,000,000 rows in one run (about 2 GB of CSV).
* seed: `cartrial.allowed.SEED`, a whole number from 0 to 2^63 − 1 (one range for every command; D-19.19).
* residual SD on the log scale: `RESIDUAL_SD_LOG`, `cartrial.allowed.SIMULATED_RESIDUAL_LOG_SD`, 0 to 10
  (0: no residual error): the upper bound of a fitted one (`cartrial.allowed.MAX_RESIDUAL_LOG_SD`, a factor
  e^10 ≈ 22000 per SD, far beyond any assay; Stein 2019 Table 1 has 0.56), so every fit `kinetics map` reads
  is simulated (D-19.600).

Problems name the arguments of these functions (`n_subjects`, `days`, `residual_sd_log`, `seed`); the
command line renames them to its options (``--subjects``, ``--days``, ``--residual-sd``, ``--seed``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import MAX_RESIDUAL_LOG_SD, MAX_SEED, check_seed
from cartrial.errors import InputError, Problem
from cartrial.kinetics.models import (
    MAX_DAY,
    MAX_SAMPLES,
    MAX_SUBJECTS,
    RESIDUAL_SD_LOG,
    STEIN_PARAMETERS,
    above_limit,
    alq_flag_column,
    check_samples,
    check_subjects,
    observed_levels,
    simulate_stein2019,
    stein2019_concentration,
)
from cartrial.kinetics.pd import simulate_pd

FloatArray = npt.NDArray[np.float64]

MAX_PD_SUBJECTS = 1_000
MAX_DAYS_PER_SUBJECT = 100_000
MAX_RESIDUAL_SD_LOG = MAX_RESIDUAL_LOG_SD
# MAX_SUBJECTS, MAX_DAY, MAX_SAMPLES and RESIDUAL_SD_LOG are declared with `simulate_stein2019`, which checks
# them too (D-19.79)
CHUNK_SAMPLES = 1_000_000
"""Rows per chunk of `simulate_stein2019_chunks` (a run smaller than this is one chunk)."""


def check_days(days: Sequence[float] | tuple[float, float, float]) -> FloatArray:
    """The day grid of a request: a list of days, or a (start, stop, step) triple (inclusive stop).

    Every day must be finite, 0 ≤ day ≤ `MAX_DAY`; a grid needs step > 0 and stop ≥ start and at most
    `MAX_DAYS_PER_SUBJECT` points, counted before the grid is built.

    >>> check_days((0, 28, 7)).tolist()
    [0.0, 7.0, 14.0, 21.0, 28.0]
    >>> check_days([float("nan"), 1, 2])
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: days: every day must be a finite number (got 'nan, 1, 2'); allowed: ...
    """
    allowed = f"days 0 to {MAX_DAY:g}"
    if isinstance(days, tuple) and len(days) == 3:
        start, stop, step = (float(v) for v in days)
        text = f"{start:g}:{stop:g}:{step:g}"
        if not all(math.isfinite(v) for v in (start, stop, step)):
            raise InputError(
                Problem(
                    "start, stop and step must be finite numbers", field="days", value=text, allowed=allowed
                )
            )
        if step <= 0 or stop < start:
            raise InputError(
                Problem(
                    "need a step > 0 and STOP ≥ START",
                    field="days",
                    value=text,
                    allowed="START:STOP[:STEP]",
                )
            )
        _check_range([start, stop], text, allowed)
        count = math.ceil((stop - start) / step + 0.5)  # the length np.arange(start, stop + step/2, step) has
        if count > MAX_DAYS_PER_SUBJECT:
            raise InputError(
                Problem(
                    f"{count:,} time points per subject exceed the limit of {MAX_DAYS_PER_SUBJECT:,}",
                    field="days",
                    value=text,
                    allowed=f"at most {MAX_DAYS_PER_SUBJECT:,} points (use a larger step)",
                )
            )
        return np.asarray(np.arange(start, stop + step / 2, step), dtype=float)
    values = [float(v) for v in days]
    text = ", ".join(f"{v:g}" for v in values[:10]) + (", …" if len(values) > 10 else "")
    if not values:
        raise InputError(Problem("no day given", field="days", allowed=allowed))
    if not all(math.isfinite(v) for v in values):
        raise InputError(
            Problem("every day must be a finite number", field="days", value=text, allowed=allowed)
        )
    if len(values) > MAX_DAYS_PER_SUBJECT:
        raise InputError(Problem(f"more than {MAX_DAYS_PER_SUBJECT:,} days", field="days", allowed=allowed))
    _check_range(values, text, allowed)
    if len(set(values)) != len(values):
        raise InputError(Problem("a day is given twice", field="days", value=text, allowed="each day once"))
    return np.array(sorted(values), dtype=float)


def _check_range(values: Sequence[float], text: str, allowed: str) -> None:
    if min(values) < 0:
        raise InputError(Problem("days must be ≥ 0", field="days", value=text, allowed=allowed))
    if max(values) > MAX_DAY:
        raise InputError(
            Problem(
                f"days beyond {MAX_DAY:g} (100 years after infusion) are outside any follow-up",
                field="days",
                value=text,
                allowed=allowed,
            )
        )


def check_simulation(
    n_subjects: int,
    days: Sequence[float] | tuple[float, float, float],
    *,
    seed: int | None = None,
    residual_sd_log: float = 0.0,
    model: str = "stein2019",
) -> FloatArray:
    """Check a simulation request against the documented limits (module docstring) before any allocation;
    returns the day grid (`check_days`).

    >>> check_simulation(10, (0, 365, 1)).size
    366
    >>> check_simulation(1_000_000_000, (0, 1, 1))
    Traceback (most recent call last):
    ...
    cartrial.errors.InputError: n_subjects: more virtual subjects than the limit of 1,000,000 ...
    """
    if model == "cartrial_pd":
        check_subjects(
            n_subjects,
            MAX_PD_SUBJECTS,
            "the PD model's ODE system is solved jointly with a dense (4·N)² Jacobian",
        )
    else:
        check_subjects(n_subjects)
    check_seed(seed, optional=True)
    RESIDUAL_SD_LOG.check("residual_sd_log", residual_sd_log)
    grid = check_days(days)
    check_samples(n_subjects, grid.size)
    return grid


@dataclass(frozen=True)
class Stein2019Chunks:
    """A Stein 2019 simulation delivered block by block: `parameters` (one row per subject), `settings`, and
    `tables()`, a generator of long tables (subject, day, conc_copies_per_ug and its flag
    conc_copies_per_ug_alq, D-19.663) in subject order; `limited`
    counts the observations written as `MAX_CONCENTRATION` once the blocks are read."""

    days: FloatArray
    parameter_values: FloatArray
    fb_capped: npt.NDArray[np.bool_]
    labels: npt.NDArray[np.object_]
    residual_sd_log: float
    rng: np.random.Generator
    settings: dict[str, Any] = field(default_factory=dict)
    chunk_subjects: int = 1
    _limited: list[int] = field(default_factory=lambda: [0])

    @property
    def limited(self) -> int:
        """How many observations of the blocks yielded so far were above `MAX_CONCENTRATION` and written as
        it (`observed_levels`, D-19.606)."""
        return self._limited[0]

    @property
    def parameters(self) -> pd.DataFrame:
        table = pd.DataFrame(self.parameter_values, columns=list(STEIN_PARAMETERS))
        table.insert(0, "subject", self.labels)
        table["fb_capped"] = self.fb_capped
        return table

    def tables(self) -> Iterator[pd.DataFrame]:
        """The long table in chunks; residual errors are drawn block after block from the same generator, so
        the values equal those of one `simulate_stein2019` call."""
        n = self.parameter_values.shape[0]
        m = self.days.size
        values = self.parameter_values
        rho = np.log(values[:, 0]) / values[:, 1]
        bound = float(max(np.abs(rho).max(), np.abs(values[:, 3]).max(), np.abs(values[:, 5]).max()))
        for start in range(0, n, self.chunk_subjects):
            block = values[start : start + self.chunk_subjects]
            if self.chunk_subjects >= n:  # one block: exactly the call simulate_stein2019 makes
                conc = stein2019_concentration(self.days, *block.T)
            else:  # (k, 1) columns: the same evaluation path for a block of one subject as for many
                columns = (block[:, [i]] for i in range(6))
                conc = stein2019_concentration(self.days, *columns, rate_bound=bound)
            if conc.ndim == 1:
                conc = conc[None, :]
            conc, limited = observed_levels(conc, self.residual_sd_log, self.rng)
            self._limited[0] += limited
            k = block.shape[0]
            yield pd.DataFrame(
                {
                    "subject": np.repeat(self.labels[start : start + k], m),
                    "day": np.tile(self.days, k),
                    "conc_copies_per_ug": conc.ravel(),
                    alq_flag_column("conc_copies_per_ug"): above_limit(conc.ravel()),
                }
            )


def simulate_stein2019_chunks(
    n_subjects: int,
    days: npt.ArrayLike,
    *,
    seed: int | None = None,
    iiv: bool = True,
    residual_sd_log: float = 0.0,
    chunk_samples: int | None = None,
) -> Stein2019Chunks:
    """`simulate_stein2019` for large runs: the same individual parameters and values (same seed), delivered
    in blocks of about `chunk_samples` rows (default `CHUNK_SAMPLES`); every block is evaluated with the
    population's rate bound, so the text written is the same whatever the block size.

    >>> run = simulate_stein2019_chunks(3, [0, 7, 28], seed=1)
    >>> [len(t) for t in run.tables()]
    [9]
    >>> run.parameters["subject"].tolist()
    ['SIM-001', 'SIM-002', 'SIM-003']
    """
    chunk_samples = CHUNK_SAMPLES if chunk_samples is None else int(chunk_samples)
    t = np.asarray(days, dtype=float)
    m = max(int(t.size), 1)
    rng = np.random.default_rng(seed)
    # parameters only (one time point, no residual): the same draws as the full simulation makes first
    head = simulate_stein2019(n_subjects, t[:1], seed=seed, iiv=iiv)
    if iiv:
        rng.standard_normal((n_subjects, len(STEIN_PARAMETERS)))  # advance past the parameter draws
    width = max(3, len(str(n_subjects)))
    labels = np.array([f"SIM-{i + 1:0{width}d}" for i in range(n_subjects)], dtype=object)
    chunk_subjects = n_subjects if n_subjects * m <= chunk_samples else max(1, chunk_samples // m)
    settings = {**head.settings, "residual_sd_log": residual_sd_log}
    del settings["limited_to_max_concentration"]  # the head's, not the run's: `Stein2019Chunks.limited`
    return Stein2019Chunks(
        days=t,
        parameter_values=head.parameter_values,
        fb_capped=head.fb_capped,
        labels=labels,
        residual_sd_log=residual_sd_log,
        rng=rng,
        settings=settings,
        chunk_subjects=chunk_subjects,
    )


def simulate_pd_table(
    n_subjects: int,
    days: npt.ArrayLike,
    *,
    seed: int | None = None,
    iiv: bool = True,
    residual_sd_log: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The proposed PD model (`simulate_pd`) as a long table: subject, day, CAR-T (copies/µg), plasma cells
    and AQP4-IgG relative to baseline; also the individual parameters and the settings.

    ``residual_sd_log`` (`RESIDUAL_SD_LOG`) applies to the CAR-T level, a concentration an assay measures,
    by the rule of the Stein 2019 model's (`observed_levels`: C·exp(eps), at most `MAX_CONCENTRATION`,
    counted in ``settings["limited_to_max_concentration"]``); eps is drawn from a stream of its own (a child
    of `seed`), so the individual parameters and the model values are those of a run without it. The
    plasma cells and AQP4-IgG relative to baseline are model values, without residual error (D-19.600).

    >>> table, params, settings = simulate_pd_table(2, [0, 14, 28], seed=1)
    >>> table.columns.tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['subject', 'day', 'car_t_copies_per_ug', 'car_t_copies_per_ug_alq',
     'plasma_cells_relative', 'aqp4_igg_relative']
    >>> len(table), settings["note"]
    (6, 'cartrial proposed model, not published')
    """
    RESIDUAL_SD_LOG.check("residual_sd_log", residual_sd_log)
    grid = np.asarray(days, dtype=float)
    sim = simulate_pd(n_subjects, grid, seed=seed, iiv=iiv)
    n, m = sim.car_t.shape
    residual_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    car_t, limited = observed_levels(sim.car_t, residual_sd_log, residual_rng)
    params = sim.parameters
    table = pd.DataFrame(
        {
            "subject": np.repeat(params["subject"].to_numpy(), m),
            "day": np.tile(grid, n),
            "car_t_copies_per_ug": car_t.ravel(),
            alq_flag_column("car_t_copies_per_ug"): above_limit(car_t.ravel()),
            "plasma_cells_relative": sim.plasma_cells_relative().ravel(),
            "aqp4_igg_relative": sim.antibody_relative.ravel(),
        }
    )
    settings = {
        **sim.settings,
        "residual_sd_log": residual_sd_log,
        "limited_to_max_concentration": limited,
        "note": "cartrial proposed model, not published",
    }
    return table, params, settings


__all__ = [
    "CHUNK_SAMPLES",
    "MAX_DAY",
    "MAX_DAYS_PER_SUBJECT",
    "MAX_PD_SUBJECTS",
    "MAX_RESIDUAL_SD_LOG",
    "MAX_SAMPLES",
    "MAX_SEED",
    "MAX_SUBJECTS",
    "RESIDUAL_SD_LOG",
    "Stein2019Chunks",
    "check_days",
    "check_simulation",
    "simulate_pd_table",
    "simulate_stein2019_chunks",
]
