"""No database driver text reaches a user message (D-12.2, D-19.456): a refused delete names the table,
the record id, the kind of rule and (PostgreSQL) the referring table, never the driver's wording, which on
PostgreSQL and in another server language may quote a key."""

from __future__ import annotations

import pytest

from cartrial.errors import ConflictError

from .test_store_records import infusion_rows


def test_a_refused_delete_names_the_rule_not_the_drivers_text(study) -> None:
    service = study.service
    service.insert_record("dm", "infusion", infusion_rows()[0])
    subject = service.find_records("dm", "subject", subject_id="CT-001")[0]
    with pytest.raises(ConflictError) as refused:
        service.delete_record("admin", "subject", subject["id"], "test")
    message = str(refused.value)
    assert f"subject record {subject['id']} cannot be deleted" in message
    # the drivers' own words: SQLite "FOREIGN KEY constraint failed", PostgreSQL "violates foreign key
    # constraint … on table …" (its DETAIL line quotes the key)
    assert "constraint" not in message.lower() and "violates" not in message
    assert "CT-001" not in message
    if study.backend == "postgresql":  # psycopg's diagnostics name the referring table
        assert "infusion" in message
