"""The key finding on the escalation replay lists data queries apart from deviations (D-19.755).

Three recorded decisions: cohort 1 agrees, cohort 2's design answer depends on an undated DLT's onset (a
query: neither agreeing nor deviating), cohort 3 deviates. Hand-written: 1 of 3 agrees; one deviation; one
query.
"""

from __future__ import annotations

import pandas as pd

from cartrial.analysis.findings import replay_finding


def test_a_query_is_listed_apart_and_not_counted_as_agreeing() -> None:
    replay = pd.DataFrame(
        {
            "cohort": [1, 2, 3],
            "deviation": ["", "", "recorded decision 'stop', the protocol's design gives 'expand'"],
            "query": ["", "depends on the onset of D's undated DLT: query its onset day", ""],
        }
    )
    finding = replay_finding(replay)
    assert (finding.numerator, finding.denominator) == (1, 3)
    assert finding.statement == (
        "1 of 3 recorded escalation decisions agrees with the protocol's design; deviations: cohort 3: "
        "recorded decision 'stop', the protocol's design gives 'expand'. Data queries: cohort 2: depends on "
        "the onset of D's undated DLT: query its onset day."
    )
    assert "deviations: cohort 2" not in finding.statement
