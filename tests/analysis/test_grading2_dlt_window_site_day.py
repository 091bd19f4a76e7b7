"""The DLT window (days 0 to `dlt_window_days` inclusive) holds the days of the site's calendar for every
graded event (D-19.1193): an adverse event's onset is its calendar day, the CDISC epochs and the window's
completion count calendar days, and the first DLT's onset is its site-calendar day (D-19.699); a CRS, ICANS or
laboratory event's elapsed onset (28.25 days after the infusion) was compared with 28 and left out, though it
began on study day 28.

Hand derivation: CT-003 infused 2021-06-08T01:45Z (09:45 Asia/Shanghai, UTC+8: study day 0 is 8 June). An
ICANS assessment at 2021-07-06T07:45Z (15:45 on 6 July, study day 28; 28.25 days elapsed), alert with every
ICE item 0 (ICE 0-2: ASTCT 2019 ICANS grade 3): in the 28-day window, a DLT by the example protocol's
"grade >= 3 ICANS possibly related" rule. The same assessment on 7 July (study day 29) is outside it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cartrial.analysis.core import study_populations
from cartrial.analysis.dlt import evaluate_dlts
from cartrial.escalation.dlt import assess_dlt
from cartrial.protocol import GradedEvent, parse_protocol
from cartrial.protocol.dlt import DltRule
from cartrial.store.snapshot import StudySnapshot

from .conftest import CUTOFF

SUBJECT = "CT-003"
INFUSED = dt.datetime(2021, 6, 8, 1, 45, tzinfo=dt.UTC)
ICANS_RULE = DltRule(id="icans_3", description="ICANS grade >= 3", category="icans", min_grade=3)


def _tables(snapshot: StudySnapshot, elapsed_days: float) -> dict[str, pd.DataFrame]:
    tables = dict(snapshot.tables)
    icans = tables["icans_assessments"]
    template = icans[icans["subject_id"] == SUBJECT].iloc[0].to_dict()
    items = ("ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_attention")
    row = dict(template) | {
        "assessed_at": (INFUSED + dt.timedelta(days=elapsed_days)).isoformat().replace("+00:00", "Z"),
        "consciousness": "alert",
        "consciousness_other_cause": "false",
        "seizure": "none",
        "motor": "none",
        "cerebral_edema": "none",
        "ice_total": "0",
    }
    row |= {item: "0" for item in items if item in row}
    if "record_id" in row:
        row["record_id"] = "990001"
    kept = icans[icans["subject_id"] != SUBJECT]
    tables["icans_assessments"] = pd.concat([kept, pd.DataFrame([row])], ignore_index=True)
    return tables


@pytest.mark.parametrize(("elapsed", "in_window"), [(28.25, True), (29.25, False)])
def test_an_icans_episode_on_study_day_28_is_in_the_window(
    snapshot: StudySnapshot, elapsed: float, in_window: bool
) -> None:
    protocol = parse_protocol(snapshot.protocol_yaml)
    assert protocol.escalation.dlt_window_days == 28
    table = evaluate_dlts(_tables(snapshot, elapsed), protocol, CUTOFF).assessments
    icans = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")].reset_index(drop=True)
    assert len(icans) == 1
    assert (int(icans.at[0, "grade"]), float(icans.at[0, "onset_day"])) == (3, elapsed)
    assert (bool(icans.at[0, "in_window"]), bool(icans.at[0, "is_dlt"])) == (in_window, in_window)


def test_the_engine_reads_the_onset_study_day() -> None:
    event = GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", 28.25, onset_study_day=28)
    assert assess_dlt(event, [ICANS_RULE], 28).is_dlt
    later = GradedEvent("S1", "icans", "ICANS", 3, "ASTCT 2019", 28.75, onset_study_day=29)
    verdict = assess_dlt(later, [ICANS_RULE], 28)
    assert not verdict.in_window
    assert "study day 29" in verdict.not_fired["icans_3"][0]
    # before the infusion instant, on the infusion's own day: not after day 0's infusion, not in the window
    before = GradedEvent(
        "S1", "hematologic", "Neutrophil count decreased", 4, "CTCAE v5.0", -0.1, onset_study_day=0
    )
    assert not assess_dlt(before, [DltRule(id="any", description="any", min_grade=3)], 28).in_window


@pytest.mark.parametrize(
    ("site_zones", "study_day", "in_window"),
    [(True, 29, False), (False, 28, True)],
)
def test_the_window_reads_the_sites_calendar_through_the_analysis_path(
    snapshot: StudySnapshot, site_zones: bool, study_day: int, in_window: bool
) -> None:
    """28.65 days after 2021-06-08T01:45Z is 2021-07-06T17:21Z: 01:21 on 7 July in Asia/Shanghai (UTC+8),
    study day 29 on the site's calendar (TJH, sites.csv), outside the 28-day window; on UTC's calendar (no
    site zone given) it would be 6 July, study day 28, inside. Run through `study_populations` (the
    analysis's own path: `given_study_tables` puts the site calendar on the infusions)."""
    assert snapshot.time_zones.get("TJH") == "Asia/Shanghai"
    protocol = parse_protocol(snapshot.protocol_yaml)
    zones = snapshot.time_zones if site_zones else None
    study = study_populations(_tables(snapshot, 28.65), protocol, CUTOFF, time_zones=zones)
    table = study.evaluation.assessments
    icans = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")].reset_index(drop=True)
    assert len(icans) == 1
    assert int(icans.at[0, "onset_study_day"]) == study_day
    assert (bool(icans.at[0, "in_window"]), bool(icans.at[0, "is_dlt"])) == (in_window, in_window)


def test_onset_study_day_is_an_integer_column(snapshot: StudySnapshot) -> None:
    protocol = parse_protocol(snapshot.protocol_yaml)
    table = evaluate_dlts(_tables(snapshot, 28.25), protocol, CUTOFF).assessments
    assert str(table["onset_study_day"].dtype) == "Int64"
    icans = table[(table["subject_id"] == SUBJECT) & (table["category"] == "icans")]
    assert icans["onset_study_day"].astype(str).tolist() == ["28"]
