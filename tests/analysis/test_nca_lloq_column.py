"""The analysis gives the NCA each sample's LLOQ, so the protocol's LLOQ/2 BLQ rule runs
(docs/science/decisions.md D-19.154)."""

from __future__ import annotations

import pandas as pd

from cartrial.store.snapshot import StudySnapshot

from .test_analysis_options import with_analysis

HALF_LLOQ = (
    "analysis:\n  options:\n    nca_options:\n      blq_middle: half_lloq\n      blq_last: half_lloq\n"
)


def test_the_half_lloq_rule_of_the_protocol_runs_with_the_sample_lloq(snapshot: StudySnapshot) -> None:
    """``nca_options: blq_middle/blq_last: half_lloq`` passes `protocol check` but the analysis stopped with
    "the half-LLOQ BLQ rule needs lloq or lloq_column": `PK_NCA_COLUMNS` did not name the pk_samples form's
    ``lloq`` column. With it, the middle and trailing BLQ samples count as LLOQ/2 (AUClast changes, Cmax
    does not)."""
    default = with_analysis(snapshot, "").datasets["nca_by_subject"].table
    half = with_analysis(snapshot, HALF_LLOQ).datasets["nca_by_subject"].table
    keys = ["subject_id", "analyte"]
    both = default.merge(half, on=keys, suffixes=("", "_half"))
    assert len(both) == len(default) > 0
    assert (both["cmax"] == both["cmax_half"]).all()
    quantified = both["auclast"].notna()
    assert (both.loc[quantified, "auclast_half"] != both.loc[quantified, "auclast"]).any()
    rules = "blq(first/middle/last)=keep/half_lloq/half_lloq"
    assert half["nca_options"].str.contains(rules, regex=False).all()
    assert pd.api.types.is_float_dtype(half["auclast"])
