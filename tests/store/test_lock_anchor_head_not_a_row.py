"""Review of D-19.1063, finding 3a: a data lock's recorded audit head that is no row number of the trail.

SQLite stores an integer beyond its 64-bit INTEGER (``9223372036854775808`` = 2**63) or a float such as
``1e300`` written into `data_lock.audit_head_id` as REAL (SQLite datatypes: "If the value is too large to fit
in an integer, it is stored as REAL"). `verify_lock_anchors` took ``int()`` of it and looked that number up;
the driver raised OverflowError, a traceback from `cartrial audit verify`. As `verify_checkpoint` does
(D-19.1063), a head beyond the trail's last row is reported without a lookup, and a head that is not a whole
number is a lock-anchor finding; the replay reports the changed column.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from cartrial.cli import main
from cartrial.store import connect
from cartrial.store.tamper import verify_complete

from .conftest import StudyDb


@pytest.mark.parametrize("head", ["9223372036854775808", "1e300", "2.5", "-1"])
def test_a_lock_head_that_is_no_row_of_the_trail_is_a_finding_not_a_traceback(
    study: StudyDb, head: str
) -> None:
    if study.backend != "sqlite" and head in ("9223372036854775808", "1e300", "2.5"):
        pytest.skip("PostgreSQL's INTEGER column refuses the UPDATE itself")
    info = study.service.lock("stat", dt.date(2021, 5, 6), "anchor")
    assert verify_complete(study.service).ok
    engine = connect(study.url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE data_lock SET audit_head_id = {head}"))
    finally:
        engine.dispose()
    result = verify_complete(study.service)
    assert sorted((f.kind, f.table, f.record_id, f.fields) for f in result.findings) == [
        ("lock-anchor", "data_lock", info.id, ()),
        ("unaudited-update", "data_lock", info.id, ("audit_head_id",)),
    ]
    (anchor,) = [f for f in result.findings if f.kind == "lock-anchor"]
    if head == "2.5":  # not a whole number: no row is named
        assert anchor.audit_row_id is None and "not a row number" in anchor.message
    else:  # beyond the trail (or before its first row): nothing there, truncation
        assert "no longer exists (truncation)" in anchor.message
    assert "e+" not in anchor.message and "9223372036854775808" not in anchor.message
    assert main(["audit", "verify", "--url", study.url]) == 1
