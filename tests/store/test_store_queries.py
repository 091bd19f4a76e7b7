"""`cartrial.store.queries`: raise, answer and close a data query."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store import queries


def test_query_life_cycle(study) -> None:
    subject_id = study.service.as_user("mon").find_records("subject", subject_id="CT-001")[0]["id"]
    with study.service.as_user("mon").transaction("cli") as tx:
        code = queries.raise_query(tx, "subject", subject_id, "Consent date?", "consent_date")
        with pytest.raises(InputError, match="unknown field"):
            queries.raise_query(tx, "subject", subject_id, "?", "colour")
    assert code == "Q-000001"
    with study.service.as_user("inv").transaction("cli", "answer") as tx:
        queries.answer_query(tx, code, "Confirmed from the signed form.")
    with study.service.as_user("mon").transaction("cli", "resolved") as tx:
        queries.close_query(tx, code, "resolved")
        with pytest.raises(InputError, match="unknown query"):
            queries.query_row(tx.connection, "Q-999999")
    row = study.service.as_user("mon").find_records("data_query")[0]
    assert (row["status"], row["subject_id"], row["answered_by"]) == ("closed", "CT-001", "inv")
