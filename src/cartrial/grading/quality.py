"""Checks of grading input that go beyond one cell: duplicate assessments and implausible laboratory values.

- Two assessments of one subject at the same date-time (for labs: the same analyte too) are a located problem
  on the second row, identical or not: the study store's natural keys (subject, time) would refuse them, and
  grading both side by side would report two grades for one moment (one rule in every reader, D-19.18).
- A laboratory value in a valid unit but far outside what a living patient can have (ANC 3720 ×10^9/L is a
  count per µL entered as ×10^9/L) is a warning naming the row — not a refusal, because extreme values do
  occur; the ranges are data (`LAB_PLAUSIBLE_RANGES`) with their rationale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.columns import FIRST_DATA_ROW, RowProblems, check_repeated_keys, iso_instants, text_frame
from cartrial.grading.ctcae import ANALYTES, Analyte
from cartrial.grading.tables import LabInputs


@dataclass(frozen=True)
class PlausibleRange:
    """Values outside [low, high] (canonical unit) are implausible for a patient: most likely a unit slip."""

    low: float
    high: float
    unit: str
    rationale: str


LAB_PLAUSIBLE_RANGES: Mapping[Analyte, PlausibleRange] = {
    Analyte.NEUTROPHILS: PlausibleRange(
        0.0,
        100.0,
        "10^9/L",
        "ANC above 100 ×10^9/L is not seen outside leukaemic hyperleukocytosis (reference 1.8-7.7); a value "
        "in the hundreds or thousands is a count per µL (or per mm³) entered as ×10^9/L",
    ),
    Analyte.LYMPHOCYTES: PlausibleRange(
        0.0,
        100.0,
        "10^9/L",
        "lymphocytes above 100 ×10^9/L occur only in untreated CLL (reference 1.0-4.8); larger values are a "
        "count per µL entered as ×10^9/L",
    ),
    Analyte.WBC: PlausibleRange(
        0.0,
        300.0,
        "10^9/L",
        "WBC above 300 ×10^9/L exceeds even leukostasis ranges (reference 4-11); larger values are a count "
        "per µL entered as ×10^9/L",
    ),
    Analyte.PLATELETS: PlausibleRange(
        0.0,
        2000.0,
        "10^9/L",
        "platelets above 2000 ×10^9/L exceed extreme thrombocytosis (reference 150-400); larger values are "
        "a count per µL entered as ×10^9/L",
    ),
    Analyte.HEMOGLOBIN: PlausibleRange(
        20.0,
        250.0,
        "g/L",
        "haemoglobin below 20 g/L is incompatible with life and above 250 g/L beyond extreme polycythaemia "
        "(reference 120-175 g/L); a value of 2-25 recorded as g/L is a g/dL value, one above 250 a g/dL "
        "value ×10 or a mg/dL slip",
    ),
}
"""Plausible range of each graded analyte in its canonical unit (10^9/L for counts, g/L for haemoglobin).

Reference intervals: CTCAE v5.0 grades against the local LLN; the extremes are clinical limits stated in our
own words (haematology reference texts). The ranges only warn, so a rare true extreme is still graded."""


def check_lab_plausibility(
    inputs: LabInputs, bad: npt.NDArray[np.bool_], file: str | Path = "labs"
) -> tuple[str, ...]:
    """Warnings (one text per implausible row, naming file, row, analyte and range, never the value) for
    values outside `LAB_PLAUSIBLE_RANGES`; rows in `bad` (already problems) are skipped.

    >>> import numpy as np
    >>> from datetime import datetime, UTC
    >>> from cartrial.grading.tables import LabInputs
    >>> inputs = LabInputs(np.array(["S1"], dtype=object), [datetime(2024, 1, 1, tzinfo=UTC)],
    ...     np.array([0], dtype=np.int8), np.array([3720.0]), np.array([1.8]), np.array([False]))
    >>> print(check_lab_plausibility(inputs, np.array([False]))[0])  # doctest: +ELLIPSIS
    warning: labs row 2: the neutrophils value is outside the plausible range 0-100 10^9/L (unit slip?); ...
    """
    warnings: list[str] = []
    for code, analyte in enumerate(ANALYTES):
        limits = LAB_PLAUSIBLE_RANGES.get(analyte)
        if limits is None:
            continue
        with np.errstate(invalid="ignore"):
            outside = (
                (inputs.analyte_code == code)
                & ~bad
                & ((inputs.value_canonical < limits.low) | (inputs.value_canonical > limits.high))
            )
        for i in np.flatnonzero(outside):
            warnings.append(
                f"warning: {file} row {int(i) + FIRST_DATA_ROW}: the {analyte.value} value is outside the "
                f"plausible range "
                f"{limits.low:g}-{limits.high:g} {limits.unit} (unit slip?); graded as given. "
                f"Why: {limits.rationale}"
            )
    return tuple(warnings)


def check_duplicate_assessments(
    frame: pd.DataFrame,
    time_column: str,
    problems: RowProblems,
    *,
    key: Sequence[str] = ("subject_id",),
) -> None:
    """One assessment per `key` values (default the subject) and moment in `time_column`, the study store's
    natural key: a row repeating an earlier row's key is a located problem naming the earlier row(s), saying
    whether it is an identical copy or which fields differ, and the earlier row too when they differ
    (`cartrial.columns.check_repeated_keys`, the rule
    of every reader; docs/science/decisions.md D-19.18). Moments compare as instants (``08:00Z`` =
    ``08:00:00+00:00``), categories (the analyte, the therapy) case-insensitively, subject ids exactly; a
    row whose key cells are blank or not a date-time is not compared.

    >>> import pandas as pd
    >>> from cartrial.columns import RowProblems
    >>> frame = pd.DataFrame({"subject_id": ["S1", "S1"], "assessed_at": ["2024-01-11T08:00Z",
    ...     "2024-01-11T08:00:00+00:00"], "temperature_c": [38.5, 37.0]})
    >>> problems = RowProblems("crs.csv")
    >>> check_duplicate_assessments(frame, "assessed_at", problems)
    >>> for p in problems.all():
    ...     print(p.row, p.message)
    2 conflicts with row 3 (same subject_id and assessed_at; differs in temperature_c)
    3 duplicate of row 2 (same subject_id and assessed_at; differs in temperature_c)
    >>> problems = RowProblems("crs.csv")
    >>> check_duplicate_assessments(pd.concat([frame.iloc[:1]] * 2), "assessed_at", problems)
    >>> print(problems.all()[0].message)
    duplicate of row 2 (same subject_id and assessed_at; identical values)
    """
    columns = [*key, time_column]
    if len(frame) < 2 or any(c not in frame.columns for c in columns):
        return
    text = text_frame(frame)
    # a moment without an offset is UTC, whatever the row before it (`iso_instants`, D-19.777)
    moments = iso_instants(text[time_column].mask(text[time_column] == ""))
    # categories (analyte, therapy) compare case-insensitively, as the validators read them; subject ids
    # exactly; a blank cell is a missing key part (not compared)
    keys = pd.DataFrame(
        {
            **{
                c: (text[c] if c == "subject_id" else text[c].str.lower()).mask(text[c] == "").to_numpy()
                for c in key
            },
            # the instants as a datetime64 column (groups as the Timestamps do, without boxing each one)
            time_column: moments.array,
        }
    )
    check_repeated_keys(keys, frame, problems, time_column)


__all__ = ["LAB_PLAUSIBLE_RANGES", "PlausibleRange", "check_duplicate_assessments", "check_lab_plausibility"]
