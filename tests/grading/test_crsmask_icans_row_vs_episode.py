"""ICANS checked the same way as CRS (D-19.1355): the per-row ICANS grade (`derive_icans_grades`, ``cartrial
grade icans``, ``cartrial db derive icans``) and the episode grade use one grader (`grade_icans_arrays`) with
no carried state (unlike CRS fever masking), so for any assessment series a subject's worst episode grade is
the worst per-row grade of its post-infusion assessments (ASTCT 2019 ICANS table, toxicity-grading.md §2.2:
the grade is the most severe domain; an episode's grade its maximum)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.grading import EpisodeOptions, GradingUnit, derive_icans_episodes, derive_icans_grades

INFUSED = datetime(2021, 6, 1, 2, 0, tzinfo=UTC)
ROW = st.tuples(
    st.sampled_from([10, 8, 5, 1]),
    st.sampled_from(["alert", "awakens_spontaneously", "awakens_to_voice", "awakens_to_tactile"]),
    st.sampled_from(["none", "rapidly_resolving"]),
    st.sampled_from(["none", "focal"]),
)


@settings(max_examples=property_examples(40), deadline=None)
@given(st.lists(ROW, min_size=1, max_size=6), st.sampled_from(list(GradingUnit)))
def test_the_worst_icans_episode_is_the_worst_row_grade(
    rows: list[tuple[int, str, str, str]], unit: GradingUnit
) -> None:
    frame = pd.DataFrame(
        [
            {
                "subject_id": "S1",
                "assessed_at": (INFUSED + timedelta(days=1 + i // 2, hours=12 * (i % 2))).isoformat(),
                "ice_total": ice,
                "consciousness": consciousness,
                "seizure": seizure,
                "motor": "none",
                "cerebral_edema": edema,
            }
            for i, (ice, consciousness, seizure, edema) in enumerate(rows)
        ]
    )
    per_row = derive_icans_grades(frame).table
    episodes = derive_icans_episodes(
        frame, {"S1": INFUSED}, episode_options=EpisodeOptions(grading_unit=unit)
    ).table
    assert int(episodes["max_grade"].max()) == int(per_row["grade"].max())
