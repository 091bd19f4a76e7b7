"""One rule for a stored PK sample without a result (no value, not flagged BLQ: drawn, the laboratory's result
not reported yet; D-19.1278, D-19.1280): `cartrial.analysis.kinetics.has_result`, read by the NCA, the median
by day, the expansion figure, the kinetic fits from the store and SDTM PC/ADPC.

Review of nca: a fit from the store (`kinetics popfit --url`, the PD fit's kinetic step) stopped on such a
sample ("value is required unless the sample is flagged BLQ"); PC wrote it with no result and no status,
ADPC with BLQFL "N"; a pending pre-dose sample was counted missing, not pre-dose; a date typed without a time
and no actual_day was timed at midnight UTC (D-19.1280-D-19.1284)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis import kinetics
from cartrial.store.snapshot import StudySnapshot, read_snapshot

from .test_nca_sample_without_result import KEYS, _run, _tables

CUTOFF = dt.date(2022, 3, 20)


def _pending(snapshot: StudySnapshot, subject: str, analyte: str, nominal_day: int) -> StudySnapshot:
    """`snapshot` with one stored sample's result not reported yet (value and blq blank)."""
    pk = snapshot.tables["pk_samples"].copy()
    mask = (pk["subject_id"] == subject) & (pk["analyte"] == analyte)
    mask &= pd.to_numeric(pk["nominal_day"], errors="coerce") == nominal_day
    assert mask.sum() == 1
    pk.loc[mask, "value"] = None
    pk.loc[mask, "blq"] = None
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pk_samples": pk})


@pytest.fixture(scope="module")
def base(example_sqlite_template: Path) -> StudySnapshot:
    return read_snapshot(f"sqlite:///{example_sqlite_template}", CUTOFF)


def test_has_result_reads_a_value_or_the_flag() -> None:
    frame = pd.DataFrame({"value": [12.0, None, "", None, "0"], "blq": [None, "true", "", "false", None]})
    assert kinetics.has_result(frame).tolist() == [True, True, False, False, True]


def test_a_fit_from_the_store_leaves_a_pending_sample_out_and_says_so(base: StudySnapshot) -> None:
    """Failing first: "pk_sample record N, value: value is required unless the sample is flagged BLQ"."""
    from cartrial.commands.kinetics_commands import _stored_kinetic_data

    full = _stored_kinetic_data(base, CUTOFF.isoformat(), "car_transgene", False)
    pending = _pending(base, "CT-002", "car_transgene", 14)
    data = _stored_kinetic_data(pending, CUTOFF.isoformat(), "car_transgene", False)
    assert data.n_observations == full.n_observations - 1
    assert "1 stored PK sample without a result" in data.source
    assert "without a result" not in full.source


def test_pc_and_adpc_have_no_record_of_a_pending_sample(base: StudySnapshot) -> None:
    """SDTMIG v3.4: --ORRES is populated unless --STAT is NOT DONE, and an outstanding result is not "not
    done": the sample has no PC record (so no ADPC record, one per PC record) until its result exists.
    Failing first: a PC record with PCORRES, PCSTRESC and PCSTRESN blank and no PCSTAT; ADPC BLQFL "N"."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    pk = base.tables["pk_samples"]
    row = pk[(pk["subject_id"] == "CT-002") & (pk["analyte"] == "car_transgene")]
    record = "PK-" + str(row[pd.to_numeric(row["nominal_day"]) == 14]["record_id"].iloc[0])
    changed = _pending(base, "CT-002", "car_transgene", 14)
    frames = build_all(changed, analyse(changed))
    pc, adpc = frames["PC"], frames["ADPC"]
    assert record not in set(pc["PCREFID"])
    assert (pc["PCORRES"].astype(str).str.strip() != "").all()
    assert len(pc) == len(build_all(base, analyse(base))["PC"]) - 1
    assert len(adpc) == len(pc)
    assert set(adpc["BLQFL"]) <= {"Y", "N"}


def test_a_pending_pre_dose_sample_is_counted_pre_dose() -> None:
    """CT-002's car_transgene day-0 sample was drawn 2021-05-18T01:30Z, before the 02:30Z infusion: pre-dose
    (D-6.7), result or not. Failing first: n_missing 1, n_pre_dose 0."""
    tables = _tables()
    pk = tables["pk_samples"]
    row = pk.index[(pk.subject_id == "CT-002") & (pk.analyte == "car_transgene") & (pk.nominal_day == 0)]
    pk.loc[row[0], "value"], pk.loc[row[0], "blq"] = float("nan"), None
    nca = _run(tables)["nca_by_subject"].set_index(KEYS)
    key = ("CT-002", "car_transgene")
    assert (nca.loc[key, "n_pre_dose"], nca.loc[key, "n_missing"]) == (1, 0)


@pytest.mark.parametrize("sampled_at", ["2021-05-18", "2021-05-18T00:00:00Z"])
def test_a_date_typed_without_a_time_and_no_actual_day_has_no_elapsed_time(sampled_at: str) -> None:
    """A date typed without a time is stored as 00:00:00Z (D-19.947): its elapsed time from the infusion
    (2021-05-18T02:30Z) is unknown within the day, not -0.104 (pre-dose, dropped). A real time is timed."""
    samples = pd.DataFrame(
        {
            "subject_id": ["CT-002"] * 2,
            "actual_day": [None, None],
            "sampled_at": [sampled_at, "2021-05-18T08:30:00Z"],
        }
    )
    # west of UTC, where 00:00:00Z is a date typed without a time (D-19.947; at UTC and east of it a real
    # time, D-19.1341)
    infusions = pd.DataFrame(
        {"subject_id": ["CT-002"], "infused_at": ["2021-05-18T02:30:00Z"], "time_zone": ["America/New_York"]}
    )
    days = kinetics.sample_actual_days(samples, infusions)
    assert math.isnan(days[0])
    assert days[1] == pytest.approx(0.25, abs=1e-12)


def test_a_fit_counts_only_its_analytes_pending_samples(base: StudySnapshot) -> None:
    """A pending car_t_cells sample is no sample of the car_transgene fit: n_observations unchanged and no
    "left out" note. Failing first: "1 stored PK sample without a result ... left out" on car_transgene."""
    from cartrial.commands.kinetics_commands import _stored_kinetic_data

    full = _stored_kinetic_data(base, CUTOFF.isoformat(), "car_transgene", False)
    pending = _pending(base, "CT-002", "car_t_cells", 14)
    data = _stored_kinetic_data(pending, CUTOFF.isoformat(), "car_transgene", False)
    assert data.n_observations == full.n_observations
    assert "without a result" not in data.source
    cells = _stored_kinetic_data(pending, CUTOFF.isoformat(), "car_t_cells", False)
    assert "1 stored PK sample without a result" in cells.source


def test_the_nca_notes_count_samples_without_a_result_and_match_the_columns() -> None:
    """CT-002's car_transgene day-0 (drawn before the infusion) and day-14 samples pending: a note says 2 PK
    samples without a result were left out, 1 of them pre-dose, and the notes' pre-dose and missing counts are
    the columns' sums. Failing first: no such note; the notes said 1 pre-dose sample fewer than n_pre_dose."""
    import re

    tables = _tables()
    pk = tables["pk_samples"]
    for day in (0, 14):
        row = pk.index[
            (pk.subject_id == "CT-002") & (pk.analyte == "car_transgene") & (pk.nominal_day == day)
        ]
        pk.loc[row[0], "value"], pk.loc[row[0], "blq"] = float("nan"), None
    from cartrial.analysis.model import Population
    from cartrial.analysis.populations import SAFETY

    ids = tuple(sorted(set(tables["infusions"]["subject_id"])))
    dataset = kinetics.nca_datasets(tables, {SAFETY: Population(SAFETY, "safety", ids, {})})["nca_by_subject"]
    notes = list(dataset.notes)
    assert "2 PK samples without a result (no value, not flagged BLQ) left out (1 pre-dose)" in " ".join(
        notes
    )

    def noted(pattern: str) -> int:
        return sum(int(m.group(1)) for n in notes if (m := re.match(pattern, n)))

    assert noted(r"(\d+) samples? before time 0") == int(dataset.table["n_pre_dose"].sum())
    assert noted(r"(\d+) missing concentrations? dropped") == int(dataset.table["n_missing"].sum())


def test_pc_reads_the_blq_flag_as_the_import_reads_it(base: StudySnapshot) -> None:
    """A BLQ flag stored as "yes" (a true word of `parse_bool`, as `has_result` reads it) is "<LLOQ" in PC,
    not a record with PCORRES blank. Failing first: PCORRES blank."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    pk = base.tables["pk_samples"].copy()
    flagged = pk.index[pk["blq"].astype(str).str.strip().str.lower().isin(["true", "1"])]
    assert len(flagged)
    pk["blq"] = pk["blq"].astype(object)
    pk.loc[flagged[0], "blq"] = "yes"
    record, lloq = "PK-" + str(pk.loc[flagged[0], "record_id"]), str(pk.loc[flagged[0], "lloq"]).strip()
    changed = dataclasses.replace(base, tables={**base.tables, "pk_samples": pk})
    pc = build_all(changed, analyse(changed))["PC"].set_index("PCREFID")
    assert str(pc.loc[record, "PCORRES"]).startswith("<") or pc.loc[record, "PCORRES"] == "BLQ"
    assert lloq == "" or str(pc.loc[record, "PCORRES"]) == "<" + lloq
