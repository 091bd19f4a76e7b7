"""The persistence dataset reads the last quantifiable sample, also when the protocol substitutes LLOQ/2 for
trailing BLQ samples (docs/science/decisions.md D-19.155)."""

from __future__ import annotations

from cartrial.store.snapshot import StudySnapshot

from .conftest import rows
from .test_analysis_options import with_analysis

HALF_LLOQ = (
    "analysis:\n  options:\n    nca_options:\n      blq_middle: half_lloq\n      blq_last: half_lloq\n"
)


def test_last_quantifiable_day_is_a_quantifiable_sample_under_half_lloq(snapshot: StudySnapshot) -> None:
    """Under ``blq_last: half_lloq`` the NCA's Tlast is the last BLQ sample (LLOQ/2 substituted, as PKNCA with
    a number); the persistence dataset took it as the "last quantifiable day" (and LLOQ/2 as its value), so a
    patient BLQ since month 3 and sampled at month 7 was "detectable beyond day 180". The dataset now gives
    the last sample with a quantifiable result and its value, as under the default rules."""
    quantifiable: dict[tuple[str, str], tuple[float, float]] = {}
    for r in rows("pk_samples"):
        if r["blq"] != "true" and r["value"]:
            key = (r["subject_id"], r["analyte"])
            day = float(r["actual_day"])
            if day > quantifiable.get(key, (-1e9, 0.0))[0]:
                quantifiable[key] = (day, float(r["value"]))
    table = with_analysis(snapshot, HALF_LLOQ).datasets["persistence"].table
    checked = 0
    for row in table.to_dict("records"):
        key = (row["subject_id"], row["analyte"])
        if key in quantifiable:
            assert (row["last_quantifiable_day"], row["last_quantifiable_value"]) == quantifiable[key], key
            assert row["detectable_beyond_day_180"] == (quantifiable[key][0] > 180)
            checked += 1
    assert checked > 0


def test_default_persistence_is_tlast_and_clast(snapshot: StudySnapshot) -> None:
    """Under the default rules (no substitution) the last quantifiable sample is the NCA's Tlast and Clast."""
    datasets = with_analysis(snapshot, "").datasets
    nca = datasets["nca_by_subject"].table.set_index(["subject_id", "analyte"])
    table = datasets["persistence"].table.set_index(["subject_id", "analyte"])
    assert table["last_quantifiable_day"].equals(
        nca.loc[table.index, "tlast"].rename("last_quantifiable_day")
    )
    assert table["last_quantifiable_value"].equals(
        nca.loc[table.index, "clast"].rename("last_quantifiable_value")
    )
