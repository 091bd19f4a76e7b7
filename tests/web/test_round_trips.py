"""Database statements of a web request (issue 14, PostgreSQL load): one session check that also loads the
user, then the request's reads; no ping query per pool checkout; PostgreSQL reads without BEGIN/COMMIT.
Behaviour stays the same: a role change made between two requests applies to the next one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event


def _statements(study: Any) -> tuple[list[str], list[bool]]:
    """Every statement the app's engine sends, and (PostgreSQL) whether it ran outside a transaction."""
    statements: list[str] = []
    autocommit: list[bool] = []

    def record(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))
        dbapi = connection.connection.dbapi_connection
        autocommit.append(bool(getattr(dbapi, "autocommit", False)))

    event.listen(study.service.engine, "before_cursor_execute", record)
    return statements, autocommit


def test_an_api_list_is_the_session_check_and_the_page_read(any_web_study) -> None:
    client = any_web_study.bearer("inv")
    assert client.get("/api/v1/records/crs_assessments", params={"limit": 10}).status_code == 200
    statements, autocommit = _statements(any_web_study)
    listed = client.get("/api/v1/records/crs_assessments", params={"limit": 10})
    assert listed.status_code == 200
    assert {item["values"]["subject_id"] for item in listed.json()["items"]} == {"CT-001"}  # own site only
    queries = [s for s in statements if not s.startswith("BEGIN")]
    assert queries and "auth_session" in queries[0] and "app_user" in queries[0]
    assert not any(s.startswith("SELECT app_user.") for s in queries)  # the user is not loaded twice
    # no ping query per pool checkout (SQLAlchemy sends it past the cursor events: check the setting)
    assert not any_web_study.service.engine.pool._pre_ping
    if any_web_study.backend == "postgresql":
        assert all(autocommit)  # reads: no BEGIN/COMMIT round trips


def test_a_role_change_applies_to_the_next_request(any_web_study) -> None:
    client = any_web_study.bearer("inv2")
    first = client.get("/api/v1/records/crs_assessments", params={"limit": 10}).json()["items"]
    assert {item["values"]["subject_id"] for item in first} == {"CT-101"}
    any_web_study.service.set_role("admin", "inv2", "monitor", "monitors every site")
    after = client.get("/api/v1/records/crs_assessments", params={"limit": 10}).json()["items"]
    assert {item["values"]["subject_id"] for item in after} == {"CT-001", "CT-101"}
