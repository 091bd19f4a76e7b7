"""One reader of a history's dates: the keys and their faults live beside `HISTORY_DATE_RE` (D-19.1218).

They were defined twice (`cdisc.sdtm.HISTORY_DATES`, `store.fields.HISTORY_DATE_KEYS`) and the export
re-implemented the loop of `history_date_faults` with other handling (a history that is no JSON list of
entries: the export raised a bare exception, the store skipped it). Now `neuro.tables` holds both; a history
that is no JSON list or object of entries is a `ValueError` without its text, which each caller handles
(the store leaves it to the JSON field rule, the export refuses it by record and field)."""

from __future__ import annotations

import pytest

from cartrial.neuro.tables import HISTORY_DATE_KEYS, history_date_faults


def test_the_keys_of_each_history() -> None:
    assert dict(HISTORY_DATE_KEYS) == {
        "treatment_history": ("started_on", "stopped_on"),
        "relapse_history": ("onset_date",),
    }


def test_every_bad_date_is_named_by_entry_and_key() -> None:
    history = (
        '[{"started_on": "2019-07", "stopped_on": "2019-07-01 10:00"}, "a note", '
        '{"started_on": "2019--07", "stopped_on": ""}, {"started_on": "2020-02-30", "stopped_on": "2021"}]'
    )
    # entry 2 is no object (skipped, as the analysis and the export skip it); a blank date is none
    assert history_date_faults(history, "treatment_history") == [
        (1, "stopped_on"),
        (3, "started_on"),
        (4, "started_on"),
    ]
    assert history_date_faults({"onset_date": "2019-UN-UN"}, "relapse_history") == []
    assert (
        history_date_faults("", "relapse_history") == []
        and history_date_faults(None, "relapse_history") == []
    )


@pytest.mark.parametrize("value", ['[{"onset_date": "2019-07"', '"2019-07-01"', "5", '{"onset_date": 1} x'])
def test_a_history_that_is_no_list_of_entries_is_a_value_error_without_its_text(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        history_date_faults(value, "relapse_history")
    assert "2019" not in str(caught.value) and "onset" not in str(caught.value)
