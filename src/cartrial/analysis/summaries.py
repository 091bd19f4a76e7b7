"""Per-dose-level and overall summaries of per-subject tables: incidences with exact CIs, medians/ranges.

Generic (no clinical rule): counts subjects whose flag is true among the subjects of a population, per dose
level and overall. The group column is ``group`` (``"dose level 1"``, ..., ``"all"``); every level the
caller lists (the protocol's, `cartrial.analysis.populations.protocol_levels`) is a group, one with no
subject with n = 0 (D-19.108).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cartrial.analysis.stats import NOT_RECORDED_CI, proportion
from cartrial.errors import InternalError

ALL = "all"


def dose_level_groups(
    per_subject: pd.DataFrame, levels: Sequence[int] = ()
) -> list[tuple[str, pd.DataFrame]]:
    """The groups of a per-subject table: ``dose level N`` for every level of `levels` (the protocol's) and
    every other level the table holds, in order — a level with no subject is an empty group (n = 0: the
    reader sees it was not dosed, D-19.108) — then ``all``. The one grouping of every by-dose-level table.

    >>> t = pd.DataFrame({"subject_id": ["A"], "dose_level": [1]})
    >>> [(g, len(p)) for g, p in dose_level_groups(t, (1, 2))]
    [('dose level 1', 1), ('dose level 2', 0), ('all', 1)]
    """
    out: list[tuple[str, pd.DataFrame]] = []
    if "dose_level" in per_subject:
        column = pd.to_numeric(per_subject["dose_level"], errors="coerce")
        present = {int(v) for v in column.dropna().unique()}
        for level in sorted(present | {int(v) for v in levels}):
            out.append(
                (f"dose level {level}", per_subject[column.eq(level).fillna(False).to_numpy(dtype=bool)])
            )
    out.append((ALL, per_subject))
    return out


def by_subject(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows of each subject (original order kept), in one pass: for per-subject loops, instead of
    filtering the whole frame once per subject. `rows_of(groups, frame, sid)` gives an empty frame with the
    same columns for a subject without rows.

    >>> t = pd.DataFrame({"subject_id": ["A", "B", "A"], "x": [1, 2, 3]})
    >>> by_subject(t)["A"]["x"].tolist()
    [1, 3]
    """
    if not len(frame):
        return {}
    return {str(sid): part for sid, part in frame.groupby(frame["subject_id"].astype(str), sort=False)}


def rows_of(groups: dict[str, pd.DataFrame], frame: pd.DataFrame, sid: str) -> pd.DataFrame:
    """`groups[sid]`, or the empty slice of `frame` when the subject has no row."""
    part = groups.get(str(sid))
    return part if part is not None else frame.iloc[0:0]


def incidence(
    per_subject: pd.DataFrame,
    flags: Sequence[str],
    population: str,
    labels: dict[str, str] | None = None,
    levels: Sequence[int] = (),
    not_recorded: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per (group, flag): k subjects with the flag true of n in the group, percent, exact 95 % CI
    (groups: `dose_level_groups` with `levels`).

    `not_recorded`: flag → why it is not recorded (D-19.476, D-19.434). Such a flag's rows keep n; k,
    percent, CI and subjects are empty, ``ci_method`` is `NOT_RECORDED_CI` (no interval, so no method) and the
    description ends with the reason — never a count of data not collected (D-19.528). A key of
    `not_recorded` not in `flags` is an `InternalError` (a programming error, not the user's input).

    >>> t = pd.DataFrame({"subject_id": ["A", "B"], "dose_level": [1, 1], "crs": [True, False]})
    >>> incidence(t, ["crs"], "safety")[["group", "measure", "k", "n", "percent"]].values.tolist()
    [['dose level 1', 'crs', 1, 2, 50.0], ['all', 'crs', 1, 2, 50.0]]
    """
    not_recorded = not_recorded or {}
    unknown = sorted(set(not_recorded) - set(flags))
    if unknown:  # a caller's slip (a misspelt flag would be counted as recorded), never the data's
        raise InternalError(f"not_recorded names no flag of the table: {', '.join(unknown)}")
    rows: list[dict[str, Any]] = []
    for group, part in dose_level_groups(per_subject, levels):
        for flag in flags:
            description = (labels or {}).get(flag, flag)
            if flag in not_recorded:
                rows.append(
                    {
                        "group": group,
                        "measure": flag,
                        "description": f"{description} ({not_recorded[flag]})",
                        "k": pd.NA,
                        "n": len(part),
                        "percent": float("nan"),  # float columns even when no flag is recorded
                        "ci_low_pct": float("nan"),
                        "ci_high_pct": float("nan"),
                        "population": population,
                        "ci_method": NOT_RECORDED_CI,
                        "subjects": "",
                    }
                )
                continue
            values = part[flag].astype("boolean").fillna(False)
            p = proportion(int(values.sum()), len(part))
            rows.append(
                {
                    "group": group,
                    "measure": flag,
                    "description": description,
                    "k": p.k,
                    "n": p.n,
                    "percent": p.percent,
                    "ci_low_pct": p.ci_low_pct,
                    "ci_high_pct": p.ci_high_pct,
                    "population": population,
                    "ci_method": p.method,  # none named without an interval (n = 0, D-19.535)
                    "subjects": ";".join(sorted(str(s) for s in part.loc[values.to_numpy(), "subject_id"])),
                }
            )
    table = pd.DataFrame(rows)
    if not_recorded and len(table):
        table["k"] = table["k"].astype("Int64")
    return table


def distribution(
    per_subject: pd.DataFrame, measures: Sequence[str], population: str, levels: Sequence[int] = ()
) -> pd.DataFrame:
    """One row per (group, measure): n with a value, median, min, max, mean (values missing are counted;
    groups: `dose_level_groups` with `levels`)."""
    rows: list[dict[str, Any]] = []
    for group, part in dose_level_groups(per_subject, levels):
        for measure in measures:
            values = pd.to_numeric(part[measure], errors="coerce").dropna().to_numpy(dtype=float)
            rows.append(
                {
                    "group": group,
                    "measure": measure,
                    "n": int(values.size),
                    "n_missing": int(len(part) - values.size),
                    "median": float(np.median(values)) if values.size else None,
                    "min": float(values.min()) if values.size else None,
                    "max": float(values.max()) if values.size else None,
                    "mean": float(values.mean()) if values.size else None,
                    "population": population,
                }
            )
    return pd.DataFrame(rows)


__all__ = ["ALL", "by_subject", "distribution", "dose_level_groups", "incidence", "rows_of"]
