"""The shared call of the NCA engine in the kinetics tests: a table with columns ``id`` (subject), ``t`` (time
in days) and ``c`` (concentration in copies/ug), as the tests write their hand-worked profiles."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from cartrial.kinetics import NcaOptions, NcaResult, nca


def profile(times: Sequence[float], concs: Sequence[float], subject: str = "S1") -> pd.DataFrame:
    """One subject's profile as the table `run_nca` reads."""
    return pd.DataFrame({"id": subject, "t": list(times), "c": list(concs)})


def run_nca(frame: pd.DataFrame, options: NcaOptions | None = None, **columns: str | None) -> NcaResult:
    """`nca` of `frame` (``id``, ``t`` in days, ``c`` in copies/ug) with `options` and any column roles
    (``blq_column="blq"``, ``lambda_z_exclude="out"``)."""
    return nca(
        frame,
        subject="id",
        time="t",
        conc="c",
        time_unit="day",
        conc_unit="copies/ug",
        options=options,
        **columns,  # type: ignore[arg-type]
    )


def nca_row(frame: pd.DataFrame, options: NcaOptions | None = None, **columns: str | None) -> pd.Series:
    """The first (one subject's) row of `run_nca`'s table."""
    return run_nca(frame, options, **columns).table.iloc[0]
