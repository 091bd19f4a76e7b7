"""A stored PK sample without a result (no value, not flagged BLQ: drawn, result not yet reported) is no
sample of the NCA, as PKNCA drops a missing concentration (docs/kinetics.md "missing values"; D-19.1278).

The store takes such a row (`pk_sample.value` and `blq` are optional), but the analysis stopped the whole
study on it ("value is required unless the sample is flagged BLQ"), and a pending sample after the
persistence day counted the subject as evaluable for persistence."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from cartrial import examples as cartrial_examples
from cartrial.analysis.kinetics import PERSISTENCE_EVALUABLE, nca_datasets, sample_actual_days
from cartrial.analysis.model import Population
from cartrial.analysis.populations import SAFETY

STUDY = cartrial_examples.path("ct103a-nmosd") / "study"


def _tables() -> dict[str, pd.DataFrame]:
    pk = pd.read_csv(STUDY / "pk_samples.csv", dtype=str, keep_default_na=False)
    infusions = pd.read_csv(STUDY / "infusions.csv", dtype=str, keep_default_na=False)
    for column in ("value", "lloq", "nominal_day", "actual_day"):
        pk[column] = pd.to_numeric(pk[column].replace("", None))
    pk["blq"] = pk["blq"].map({"true": True, "false": False, "": None})
    return {"pk_samples": pk, "infusions": infusions}


def _run(
    tables: dict[str, pd.DataFrame], populations: dict[str, Population] | None = None
) -> dict[str, pd.DataFrame]:
    ids = tuple(sorted(set(tables["infusions"]["subject_id"])))
    populations = {} if populations is None else populations
    populations[SAFETY] = Population(SAFETY, "safety", ids, {})
    return {name: ds.table for name, ds in nca_datasets(tables, populations).items()}


KEYS = ["subject_id", "analyte"]


# CT-002 car_transgene without its day-14 sample, by hand from pk_samples.csv (lin-up/log-down, the first BLQ
# kept as 0, AUClast to the last quantifiable sample, day 57.95): 0.89-4.07 (0 → 54) 3.18·27; 4.07-7.13
# (54 → 1610) 3.06·832; 7.13-9.95 (1610 → 5728) 2.82·3669; 9.95-21.09 (5728 → 1387, down)
# 11.14·4341/ln(5728/1387); 21.09-28.14 (1387 → 1447) 7.05·1417; 28.14-57.95 (1447 → 123, down)
# 29.81·1324/ln(1447/123)
AUCLAST_WITHOUT_DAY_14 = (
    3.18 * 27
    + 3.06 * 832
    + 2.82 * 3669
    + 11.14 * 4341 / math.log(5728 / 1387)
    + 7.05 * 1417
    + 29.81 * 1324 / math.log(1447 / 123)
)


@pytest.mark.parametrize("blq", [False, None])
def test_a_sample_without_result_is_dropped_and_counted(blq: bool | None) -> None:
    tables = _tables()
    pk = tables["pk_samples"]
    # CT-002's car_transgene sample of nominal day 14 (quantified, 4,731 copies/ug gDNA in the CSV)
    row = pk.index[(pk.subject_id == "CT-002") & (pk.analyte == "car_transgene") & (pk.nominal_day == 14)]
    assert len(row) == 1 and not pk.loc[row[0], "blq"]
    full = _run(_tables())["nca_by_subject"].set_index(KEYS)
    pk.loc[row[0], "value"] = float("nan")
    pk.loc[row[0], "blq"] = blq
    pending = _run(tables)["nca_by_subject"].set_index(KEYS)
    key = ("CT-002", "car_transgene")
    assert pending.loc[key, "n_missing"] == 1
    assert pending.loc[key, "n_samples"] == full.loc[key, "n_samples"] - 1
    # the profile without that sample: the AUC changes, nothing else's does
    assert pending.loc[key, "auclast"] != full.loc[key, "auclast"]
    assert pending.loc[key, "auclast"] == pytest.approx(AUCLAST_WITHOUT_DAY_14, rel=1e-9)
    others = full.drop(index=[key])
    assert (pending.drop(index=[key])["auclast"] == others["auclast"]).all()


def test_a_pending_sample_after_the_persistence_day_makes_no_one_evaluable() -> None:
    tables = _tables()
    pk = tables["pk_samples"]
    # CT-004 (car_transgene) is last sampled on day 177.02: not evaluable for persistence beyond day 180
    before = _run(_tables())["persistence"].set_index(KEYS)
    key = ("CT-004", "car_transgene")
    assert not before.loc[key, PERSISTENCE_EVALUABLE]
    last = pk[(pk.subject_id == "CT-004") & (pk.analyte == "car_transgene")].iloc[-1].copy()
    last["nominal_day"], last["actual_day"] = 270.0, 270.0
    last["sampled_at"] = "2022-04-09T02:00:00Z"
    last["value"], last["blq"] = float("nan"), None
    tables["pk_samples"] = pd.concat([pk, pd.DataFrame([last.to_dict()])], ignore_index=True)
    after = _run(tables)["persistence"].set_index(KEYS)
    assert not after.loc[key, PERSISTENCE_EVALUABLE]
    assert after.loc[key, "last_sample_day"] == before.loc[key, "last_sample_day"] == 177.02


def test_a_subject_whose_samples_have_no_result_is_not_in_the_pk_population() -> None:
    tables = _tables()
    pk = tables["pk_samples"]
    own = pk.subject_id == "CT-002"
    pk.loc[own, "value"], pk.loc[own, "blq"] = float("nan"), None
    populations: dict[str, Population] = {}
    nca = _run(tables, populations)["nca_by_subject"]
    assert "CT-002" not in set(nca["subject_id"]) and "CT-001" in set(nca["subject_id"])
    assert "CT-002" not in populations["pk"].subject_ids
    assert populations["pk"].excluded["no PK sample with a result"] == ("CT-002",)


def test_a_sample_without_actual_day_takes_its_time_from_sampled_at() -> None:
    """`actual_day` is optional in the store (`sampled_at` is required): a sample without it is timed by its
    date-time from the infusion, as a pre-dose sample already is (D-19.1279), instead of stopping the
    analysis with "actual_day: value is required". CT-002 was infused 2021-05-18T02:30Z and sampled
    2021-06-01T05:22:48Z: 14 days + 2 h 52 min 48 s = 14 + 10368/86400 = 14.12 days."""
    tables = _tables()
    pk = tables["pk_samples"]
    row = pk.index[(pk.subject_id == "CT-002") & (pk.analyte == "car_transgene") & (pk.nominal_day == 14)][0]
    pk.loc[row, "actual_day"] = float("nan")
    assert sample_actual_days(pk, tables["infusions"])[row] == pytest.approx(14.12, abs=1e-9)
    full = _run(_tables())["nca_by_subject"].set_index(KEYS)
    blank = _run(tables)["nca_by_subject"].set_index(KEYS)
    key = ("CT-002", "car_transgene")
    assert blank.loc[key, "n_samples"] == full.loc[key, "n_samples"]
    assert blank.loc[key, "auclast"] == pytest.approx(full.loc[key, "auclast"], rel=1e-12)
