"""SDTM LB reads AQP4-IgG titres by the one titre rule (D-19.629) and ADaM ADEDSS leaves CRIT1FL blank for a
patient not evaluable for improvement (D-19.623), built once from an edited example study.

Titres (SDTMIG 3.4 LB: LBORRES as collected; LBSTRESC the standardised result; LBSTRESN only an exact
numeric result; a result below or above a limit keeps its qualifier in LBSTRESC, LBSTRESN null). Every text
the store accepts (store/fields.py `titre_on_grid`, `cartrial.neuro.parse_titre_step`), expected by hand:
- "1:320", "1/320", "320" → LBSTRESC "320", LBSTRESN 320 (the split at ":" gave "", NaN for the last two);
- "negative", "<1:10", "nd" (negative: below the first dilution 1:10) → LBSTRESC "NEGATIVE", LBSTRESN null
  (formerly "<1:10" and "ND" as LBSTRESC: one result, three spellings);
- ">=1:1000" (positive at the top dilution, titre ≥ 1000) → LBSTRESC ">=1000", LBSTRESN null.

EDSS: every FS and ambulation score of CT-002 set to 0 (EDSS 0 at every visit, Kurtzke 1983), so its baseline
leaves no room to improve (cdi_common: reference 0 cannot improve); ADEDSS EDSSCHG CRIT1FL is "" for CT-002
(formerly "N", counted as a non-improver), "Y"/"N" for the others, as ADRS blanks a non-evaluable CRIT1FL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.cdisc.export import build_all
from cartrial.neuro.edss_scale import FS_NAMES
from cartrial.store.snapshot import StudySnapshot, read_snapshot

TITRES = {
    ("CT-001", "-7"): ("1:320", "320", 320.0),
    ("CT-001", "14"): ("1/320", "320", 320.0),
    ("CT-001", "28"): ("320", "320", 320.0),
    ("CT-001", "60"): ("negative", "NEGATIVE", math.nan),
    ("CT-001", "90"): ("<1:10", "NEGATIVE", math.nan),
    ("CT-001", "180"): ("nd", "NEGATIVE", math.nan),
    ("CT-002", "-7"): (">=1:1000", ">=1000", math.nan),
}
SUBJECT = "CT-002"
SCORES = (*FS_NAMES, "ambulation")  # every functional system and ambulation


@pytest.fixture(scope="module")
def frames(example_sqlite_template: Path) -> dict[str, pd.DataFrame]:
    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date(2022, 3, 20))
    samples = snapshot.tables["pd_samples"].copy()
    for (subject, day), (text, _, _) in TITRES.items():
        at = samples["subject_id"].eq(subject) & samples["nominal_day"].astype(str).eq(day)
        assert at.sum() == 1
        samples.loc[at, "aqp4_igg_titre"] = text
    edss = snapshot.tables["edss"].copy()
    edss.loc[edss["subject_id"] == SUBJECT, list(SCORES)] = "0"
    changed = dataclasses.replace(snapshot, tables={**snapshot.tables, "pd_samples": samples, "edss": edss})
    return build_all(changed, analyse(changed))


def test_lb_reads_every_accepted_titre_by_the_titre_rule(frames: dict[str, pd.DataFrame]) -> None:
    lb = frames["LB"]
    titres = lb[lb["LBTESTCD"] == "AQP4AB"]
    for (subject, _day), (text, stresc, stresn) in TITRES.items():
        [row] = titres[titres["USUBJID"].str.endswith(subject) & titres["LBORRES"].eq(text)].to_dict(
            "records"
        )
        assert row["LBSTRESC"] == stresc, text
        got = float(row["LBSTRESN"]) if row["LBSTRESN"] not in ("", None) else math.nan
        assert (math.isnan(got) and math.isnan(stresn)) or got == stresn, text


def test_adedss_crit1fl_is_blank_when_not_evaluable_for_improvement(frames: dict[str, pd.DataFrame]) -> None:
    adedss = frames["ADEDSS"]
    change = adedss[adedss["PARAMCD"] == "EDSSCHG"]
    # USUBJID = STUDYID-SUBJID: the subject id is its last "CT-nnn"
    flags = {
        "CT-" + str(u).rsplit("CT-", 1)[-1]: f
        for u, f in zip(change["USUBJID"], change["CRIT1FL"], strict=True)
    }
    assert flags[SUBJECT] in ("", None) or pd.isna(flags[SUBJECT])
    others = [v for k, v in flags.items() if k != SUBJECT]
    assert len(others) == 11 and set(others) <= {"Y", "N"}
    # the report's finding: 3 confirmed improvements among the 11 who can improve (hand count, D-19.623)
    assert others.count("Y") == 3


def test_a_negative_titre_has_no_unit(frames: dict[str, pd.DataFrame]) -> None:
    """SDTMIG 3.4 LB (original and standardised results): --ORRESU/--STRESU hold the unit of the result
    "when applicable"; "NEGATIVE" is a qualitative result with no unit (it was "titer"). A positive titre
    keeps "titer" (D-19.629)."""
    lb = frames["LB"]
    titres = lb[lb["LBTESTCD"] == "AQP4AB"]
    negative = titres[titres["LBSTRESC"] == "NEGATIVE"]
    assert len(negative) >= 3
    assert set(negative["LBORRESU"].fillna("")) == {""} and set(negative["LBSTRESU"].fillna("")) == {""}
    positive = titres[titres["LBSTRESC"] != "NEGATIVE"]
    assert set(positive["LBORRESU"]) == {"titer"} and set(positive["LBSTRESU"]) == {"titer"}


def test_lb_reads_the_analysis_titre_dataset(example_analysed: tuple[StudySnapshot, Analysis]) -> None:
    """LB's standardised titre is the analysis dataset ``aqp4_titres`` (D-19.631), never a second reading of
    the stored text: a standard text put in the dataset is the one LB writes. `example_analysed`: this
    test's own copy of the example's snapshot at 2022-03-20 and its analysis (tests/conftest.py)."""
    from cartrial.cdisc.sdtm import SdtmContext, build_lb
    from cartrial.cdisc.spec import dataset_specs

    snapshot, analysis = example_analysed
    assert snapshot.cutoff == dt.date(2022, 3, 20)
    dataset = analysis.datasets["aqp4_titres"]
    table = dataset.table.copy()
    record = int(table["record_id"].iloc[0])
    table.loc[table.index[0], ["standard", "standard_numeric"]] = ["SENTINEL", math.nan]
    analysis.datasets["aqp4_titres"] = dataclasses.replace(dataset, table=table)
    lb = build_lb(SdtmContext(snapshot, analysis, {}), dataset_specs()["LB"])
    [row] = lb[(lb["LBREFID"] == f"PD-{record}") & (lb["LBTESTCD"] == "AQP4AB")].to_dict("records")
    assert row["LBSTRESC"] == "SENTINEL"
