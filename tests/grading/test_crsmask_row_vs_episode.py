"""The CRS grade of an assessment row and the grade of the episode that holds it (D-19.1355).

Since D-19.1308 the episode grader counts a row's ``fever_masked`` flag only after a CRS fever recorded after
the infusion (ASTCT 2019, Lee DW et al., BBMT 2019;25:625: fever is waived for *subsequent* CRS grading once
antipyretic or anti-cytokine therapy was given, CRS-2; toxicity-grading.md §1.3 reference procedure
``masked = fever_seen_in_episode and masking given``). The per-row grader `derive_crs_grades` (``cartrial
grade crs``, ``cartrial db derive crs``, the web form preview, the demo) takes the flag as recorded. Same
data, two grades: an afebrile row flagged masked with hypotension is CRS grade 2 per row and no CRS in its
episode. Expected values below are hand-derived from the ASTCT table, never from the code under test.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples
from tests.grading.test_grading_episodes import INFUSED, INFUSIONS, crs_frame

from cartrial.errors import OptionError
from cartrial.grading import (
    EpisodeOptions,
    GradingUnit,
    RowMasking,
    derive_crs_assessment_grades,
    derive_crs_episodes,
    derive_crs_grades,
)
from cartrial.grading.tables import TherapyRecord

from ..conftest import run_captured as run
from ..conftest import write_file as write
from .conftest import CRS_HEADER

# afebrile throughout, rows flagged fever_masked: hypotension without a vasopressor (ASTCT grade 2 if the
# fever requirement were met), then a facemask (grade 3 if met); no fever is ever recorded
AFEBRILE_FLAGGED = [
    (1, 10, 37.0, True, True, "none", "", False),
    (2, 10, 37.1, True, False, "facemask", "", False),
]
# the same two rows after a CRS fever on day 1 at 08:00: the flag now masks (grades 2 and 3)
FEVER_FIRST = [(1, 8, 38.6, False, False, "none", "", False), *AFEBRILE_FLAGGED]


def test_the_per_row_grade_and_the_episode_disagree_and_the_per_row_grade_says_so() -> None:
    frame = crs_frame(AFEBRILE_FLAGGED)
    per_row = derive_crs_grades(frame)
    episodes = derive_crs_episodes(frame, INFUSIONS)
    # the disagreement itself (kept by design: one file without infusions cannot know a prior fever)
    assert per_row.table["grade"].tolist() == [2, 3]
    assert episodes.table["max_grade"].tolist() == [0]
    # ...but the per-row grade is labelled as taken from the recorded flag, row by row and in the notes
    for reason in per_row.table["grade_reason"]:
        assert "fever_masked as recorded" in reason and "D-19.1355" in reason
    assert any("fever_masked flag alone" in note for note in per_row.notes)


def test_a_row_with_its_own_fever_carries_no_recorded_masking_label() -> None:
    frame = crs_frame([(1, 8, 38.6, False, True, "none", "", False)])
    per_row = derive_crs_grades(frame)
    assert per_row.table["grade"].tolist() == [2]  # fever + hypotension without vasopressor
    assert "as recorded" not in per_row.table["grade_reason"][0]
    assert not any("fever_masked flag alone" in note for note in per_row.notes)


def test_assessment_grades_follow_the_episode_rule_by_default() -> None:
    frame = crs_frame(AFEBRILE_FLAGGED)
    result = derive_crs_assessment_grades(frame, INFUSIONS)
    table = result.table
    assert table["grade"].tolist() == [0, 0]  # no fever ever recorded: the ASTCT fever requirement fails
    assert table["fever_masked_used"].tolist() == [False, False]
    assert table["episode"].tolist() == [0, 0]
    assert set(table["masking"]) == {"after_fever"}
    assert result.options["masking"] == "after_fever"


def test_the_recorded_option_keeps_the_flag_and_labels_it() -> None:
    frame = crs_frame(AFEBRILE_FLAGGED)
    table = derive_crs_assessment_grades(frame, INFUSIONS, masking=RowMasking.RECORDED).table
    assert table["grade"].tolist() == [2, 3]
    assert table["fever_masked_used"].tolist() == [True, True]
    assert all("fever_masked taken as recorded" in r for r in table["grade_reason"])
    assert set(table["masking"]) == {"recorded"}


def test_after_a_recorded_fever_both_options_agree_with_the_episode() -> None:
    frame = crs_frame(FEVER_FIRST)
    (episode,) = derive_crs_episodes(frame, INFUSIONS).table["max_grade"].tolist()
    after = derive_crs_assessment_grades(frame, INFUSIONS).table
    recorded = derive_crs_assessment_grades(frame, INFUSIONS, masking="recorded").table
    # fever alone: 1; masked hypotension without vasopressor: 2; masked facemask: 3 (CRS-2, CRS-6)
    assert after["grade"].tolist() == recorded["grade"].tolist() == [1, 2, 3]
    assert episode == 3
    assert after["episode"].tolist() == [1, 1, 1]
    assert after["fever_masked_used"].tolist() == [False, True, True]


def test_a_masking_drug_after_the_fever_masks_the_rows_the_flag_does_not() -> None:
    # fever day 1, paracetamol day 1 12:00, then afebrile unflagged rows on a facemask: the episode's masking
    # (the therapies list, A2 default classes) reaches the row grade; the recorded flag (False) does not
    rows = [(1, 8, 38.6, False, False, "none", "", False), (2, 10, 37.0, False, False, "facemask", "", False)]
    therapy = [
        TherapyRecord(
            "S1",
            INFUSED.replace(hour=0) + timedelta(days=1, hours=12),
            "antipyretic",
            "paracetamol",
            500,
            "mg",
        )
    ]
    frame = crs_frame(rows)
    after = derive_crs_assessment_grades(frame, INFUSIONS, therapies=therapy).table
    recorded = derive_crs_assessment_grades(frame, INFUSIONS, therapies=therapy, masking="recorded").table
    assert after["grade"].tolist() == [1, 3]
    # `recorded` drops only the flag's prior-fever condition; the drug masks under both (D-19.1356)
    assert recorded["grade"].tolist() == [1, 3]


def test_an_unknown_masking_option_is_refused_by_name() -> None:
    with pytest.raises(OptionError) as caught:
        derive_crs_assessment_grades(crs_frame(FEVER_FIRST), INFUSIONS, masking="sometimes")
    (problem,) = caught.value.problems
    assert problem.field == "masking"
    assert problem.allowed == "after_fever | recorded"


def test_a_fever_before_the_infusion_is_not_crs() -> None:
    # day -1 22:00 (before the 02:00 infusion of day 0) at 38.4 °C: a fever, but CRS follows the infusion;
    # the row has no CRS grade (blank) and is in no episode; a post-infusion fever is grade 1 (ASTCT)
    frame = crs_frame(
        [(-1, 22, 38.4, False, False, "none", "", False), (1, 8, 38.6, False, False, "none", "", False)]
    )
    table = derive_crs_assessment_grades(frame, INFUSIONS).table
    assert pd.isna(table["grade"].iloc[0])
    assert table["grade_reason"].iloc[0] == "before the infusion: not CRS"
    assert table["episode"].tolist() == [0, 1]
    assert int(table["grade"].iloc[1]) == 1


def test_an_afebrile_flagged_row_says_its_flag_was_not_used() -> None:
    table = derive_crs_assessment_grades(crs_frame(AFEBRILE_FLAGGED), INFUSIONS).table
    for reason in table["grade_reason"]:
        assert reason.startswith("grade 0: no fever")
        assert (
            "recorded fever_masked flag was not used: no CRS fever recorded since the infusion or the last "
            "resolution" in (reason)
        )
        assert "D-19.1308" in reason
    # a flagged row after a fever is masked: no such suffix
    after = derive_crs_assessment_grades(crs_frame(FEVER_FIRST), INFUSIONS).table
    assert not any("not used" in r for r in after["grade_reason"])


def test_the_recorded_option_changes_the_episode_grade() -> None:
    # one option for the episode grader and the row grade: with `recorded` the flag masks without an earlier
    # fever, so the afebrile flagged rows (hypotension, then a facemask) are an episode of grade 3 (ASTCT:
    # facemask, CRS-6) built from row grades 2 and 3
    frame = crs_frame(AFEBRILE_FLAGGED)
    assert derive_crs_episodes(frame, INFUSIONS).table["max_grade"].tolist() == [0]
    recorded = derive_crs_episodes(frame, INFUSIONS, masking="recorded")
    assert recorded.table["max_grade"].tolist() == [3]
    assert recorded.options["masking"] == "recorded"
    rows = derive_crs_assessment_grades(frame, INFUSIONS, masking="recorded").table
    assert rows["episode"].tolist() == [1, 1]


TEMPERATURES = st.sampled_from([36.8, 37.5, 38.0, 38.7, 39.6])
OXYGEN = st.sampled_from([("none", ""), ("nasal_cannula", "4"), ("nasal_cannula", "8"), ("facemask", "")])
ROW = st.tuples(TEMPERATURES, st.booleans(), st.booleans(), OXYGEN, st.booleans())


def _frame(
    rows: list[tuple[float, bool, bool, tuple[str, str], bool]],
    pre: list[tuple[float, bool, bool, tuple[str, str], bool]] = (),  # type: ignore[assignment]
) -> pd.DataFrame:
    # `pre`: rows on day -1 (06:00, 14:00, 22:00), before the 02:00 infusion of day 0; then two assessments a
    # day (08:00, 20:00) from day 1: unique times, some days with two rows
    before = [
        (-1, 6 + 8 * i, temp, masked, hyp, oxygen, flow, resolved)
        for i, (temp, masked, hyp, (oxygen, flow), resolved) in enumerate(pre)
    ]
    return crs_frame(
        before
        + [
            (1 + i // 2, 8 + 12 * (i % 2), temp, masked, hyp, oxygen, flow, resolved)
            for i, (temp, masked, hyp, (oxygen, flow), resolved) in enumerate(rows)
        ]
    )


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(ROW, min_size=1, max_size=6),
    st.sampled_from(list(GradingUnit)),
    st.booleans(),
    st.lists(ROW, max_size=3),
    st.sampled_from(list(RowMasking)),
)
def test_an_episode_grade_is_the_worst_row_grade_of_its_rows(
    rows: list[tuple[float, bool, bool, tuple[str, str], bool]],
    unit: GradingUnit,
    therapy: bool,
    pre: list[tuple[float, bool, bool, tuple[str, str], bool]],
    masking: RowMasking,
) -> None:
    """Property (any series of one subject, with or without a masking drug): each episode's maximum grade
    equals the largest per-row grade of the rows `derive_crs_assessment_grades` places in it when each
    assessment is its own grading unit, and is at least that with calendar-day units (a day combines the
    worst values of its rows, e.g. a fever at 08:00 and hypotension at 20:00 are grade 2 together), under
    either masking option. Rows before the infusion (any values, a fever too) have no CRS grade and are in no
    episode (D-19.1356); the invariants below hold for the post-infusion rows."""
    frame = _frame(rows, pre)
    therapies = (
        [
            TherapyRecord(
                "S1",
                INFUSED.replace(hour=0) + timedelta(days=1, hours=9),
                "tocilizumab",
                "tocilizumab",
                8,
                "mg/kg",
            )
        ]
        if therapy
        else []
    )
    opts = EpisodeOptions(grading_unit=unit)
    episodes = derive_crs_episodes(
        frame, INFUSIONS, therapies=therapies, episode_options=opts, masking=masking
    ).table
    everything = derive_crs_assessment_grades(
        frame, INFUSIONS, therapies=therapies, episode_options=opts, masking=masking
    ).table
    # CRS follows the infusion: the pre-infusion rows are blank, with their reason, in no episode
    before, graded = everything.iloc[: len(pre)], everything.iloc[len(pre) :]
    assert before["grade"].isna().all()
    assert (before["grade_reason"] == "before the infusion: not CRS").all()
    assert (before["episode"] == 0).all() and not before["fever_masked_used"].any()
    assert graded["grade"].notna().all()
    for _, episode in episodes[episodes["episode"] >= 1].iterrows():
        members = graded[graded["episode"] == episode["episode"]]
        assert len(members) == episode["n_assessments"]
        worst = int(members["grade"].max())
        if unit is GradingUnit.ASSESSMENT:
            assert int(episode["max_grade"]) == worst
        else:
            assert worst <= int(episode["max_grade"])
    # a row graded >= 1 under the episode rule lies in an episode (none is lost between episodes)
    assert (graded.loc[graded["grade"] >= 1, "episode"] >= 1).all()
    # with after_fever a row is masked only at or after a CRS fever recorded after the infusion (D-19.1308;
    # a pre-infusion fever never counts; none is attributed to another cause)
    if masking is RowMasking.AFTER_FEVER:
        fever_seen = (graded["temperature_c"].astype(float) >= 38.0).cummax()
        assert not (graded["fever_masked_used"] & ~fever_seen).any()


def test_grade_crs_on_the_command_line_labels_a_grade_met_by_the_flag_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # afebrile, fever_masked=true, hypotension without vasopressor: 2 as recorded, labelled; stderr says why
    path = write(tmp_path, "crs.csv", f"{CRS_HEADER}\nS1,2021-06-02T10:00:00Z,37.0,true,true,0,false,none,\n")
    code, out, err = run(capsys, "grade", "crs", str(path), "--json")
    assert code == 0
    (row,) = json.loads(out)["rows"]
    assert row["grade"] == 2 and "fever_masked as recorded" in row["grade_reason"]
    assert "fever_masked flag alone" in err


@pytest.mark.parametrize(
    ("zone", "infused_at", "same_day", "day_before"),
    [
        # UTC site: infusion 02:00; the date typed without a time is the infusion's date
        ("", "2021-06-01T02:00:00Z", "2021-06-01", "2021-05-31"),
        # east of UTC (Shanghai, +08:00): infusion 10:00 local on 1 June
        ("Asia/Shanghai", "2021-06-01T02:00:00Z", "2021-06-01", "2021-05-31"),
        # west of UTC (Los Angeles, -07:00): infusion 18:00 local on 1 June, already 2 June in UTC
        ("America/Los_Angeles", "2021-06-02T01:00:00Z", "2021-06-01", "2021-05-31"),
    ],
)
def test_a_date_typed_without_a_time_on_the_infusion_day_is_not_before_it(
    zone: str, infused_at: str, same_day: str, day_before: str
) -> None:
    # 38.6 °C on a date typed without a time: on the site-calendar day of the infusion it may follow it (the
    # time is unknown), so it is read as on the infusion day (D-19.1372): ASTCT grade 1 in episode 1; on
    # the site's day before, and a time typed before the infusion, it is before the infusion: no CRS grade
    infusions = pd.DataFrame({"subject_id": ["S1"], "infused_at": [infused_at], "time_zone": [zone]})
    timed_before = (pd.Timestamp(infused_at) - pd.Timedelta(minutes=90)).isoformat()  # never 00:00:00Z
    for assessed_at, expected in ((same_day, 1), (day_before, None), (timed_before, None)):
        frame = crs_frame([(0, 0, 38.6, False, False, "none", "", False)])
        frame["assessed_at"] = assessed_at
        table = derive_crs_assessment_grades(frame, infusions).table
        if expected is None:
            assert pd.isna(table["grade"].iloc[0]), assessed_at
            assert table["grade_reason"].iloc[0] == "before the infusion: not CRS"
            assert table["episode"].tolist() == [0]
        else:
            assert int(table["grade"].iloc[0]) == expected, (zone, assessed_at)
            assert table["episode"].tolist() == [1]
            episodes = derive_crs_episodes(frame, infusions).table
            assert episodes["max_grade"].tolist() == [1]
            assert int(episodes["pre_infusion_fever_assessments"].iloc[0]) == 0


def test_a_flag_after_a_resolution_and_a_flag_on_the_resolving_row_say_why_they_were_not_used() -> None:
    # fever on day 1 (grade 1), the CRS recorded resolved on day 2 on a row flagged fever_masked, then an
    # afebrile flagged row with hypotension on day 3: a fever WAS recorded after the infusion, so the reason
    # must not say none was; it names the resolution (D-19.1357 amended). The resolving row's own flag is
    # not used either, and says so.
    frame = crs_frame(
        [
            (1, 8, 38.6, False, False, "none", "", False),
            (2, 8, 37.0, True, False, "none", "", True),
            (3, 8, 37.0, True, True, "none", "", False),
        ]
    )
    reasons = derive_crs_assessment_grades(frame, INFUSIONS).table["grade_reason"].tolist()
    assert "not used" not in reasons[0]
    assert reasons[1].startswith("grade 0: no fever")
    assert (
        "[the recorded fever_masked flag was not used: this assessment records the CRS as resolved]"
        in (reasons[1])
    )
    assert reasons[2].startswith("grade 0: no fever")
    assert "no CRS fever recorded since the infusion or the last resolution" in reasons[2]
    assert "before it after the infusion" not in reasons[2]


def test_masking_carried_from_a_flag_taken_as_recorded_is_labelled() -> None:
    # day 1 08:00 afebrile, flagged, hypotension; 20:00 afebrile, NOT flagged, hypotension. Under recorded the
    # first row's flag waives the fever (grade 2) and the masking carries to the second (grade 2, CRS-2):
    # that second grade rests on the flag taken as recorded too, and says so (D-19.1356 amended)
    frame = crs_frame(
        [(1, 8, 37.0, True, True, "none", "", False), (1, 20, 37.0, False, True, "none", "", False)]
    )
    table = derive_crs_assessment_grades(frame, INFUSIONS, masking="recorded").table
    assert table["grade"].tolist() == [2, 2]
    assert "[fever_masked taken as recorded" in table["grade_reason"].iloc[0]
    second = table["grade_reason"].iloc[1]
    assert (
        "[fever masking carried from an earlier fever_masked flag taken as recorded, no CRS fever recorded "
        "before it (crs_masking recorded; D-19.1356)]"
    ) in second
    # under after_fever neither row is masked (no CRS fever): no such label
    default = derive_crs_assessment_grades(frame, INFUSIONS).table
    assert default["grade"].tolist() == [0, 0]
    assert not any("carried" in r for r in default["grade_reason"])


def test_every_episode_row_shows_the_masking_option() -> None:
    # the episode rows' option columns show every option used, the fever masking too (D-19.1356 amended)
    for masking in ("after_fever", "recorded"):
        for rows in (AFEBRILE_FLAGGED, FEVER_FIRST):
            table = derive_crs_episodes(crs_frame(rows), INFUSIONS, masking=masking).table
            assert len(table) and table["masking"].tolist() == [masking] * len(table)
