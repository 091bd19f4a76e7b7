"""Decisions §19, least privilege on PostgreSQL: with the roles `cartrial db roles-sql` creates, the
application role reads and writes study data but cannot drop or disable the audit trigger, update, delete or
truncate audit rows, or run DDL (roles created in the test server, dropped afterwards)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from cartrial.store import StudyService, connect, init_study
from cartrial.store.roles import roles_sql, statements

from .conftest import PROTOCOL

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(postgres_server: str) -> Iterator[tuple[str, str]]:
    """(owner URL, application URL) on a fresh schema owned by a fresh owner role."""
    base = postgres_server
    suffix = uuid.uuid4().hex[:10]
    owner, app, schema = f"t_owner_{suffix}", f"t_app_{suffix}", f"t_roles_{suffix}"
    database = str(make_url(base).database)
    sql = roles_sql(owner=owner, app=app, schema=schema, database=database)
    superuser = create_engine(base, isolation_level="AUTOCOMMIT")
    with superuser.connect() as connection:
        for statement in statements(sql.setup):
            connection.execute(text(statement))
    owner_url = make_url(base).set(username=owner).render_as_string(hide_password=False)
    app_url = make_url(base).set(username=app).render_as_string(hide_password=False)
    try:
        init_study(owner_url, PROTOCOL, "admin", admin_password="test-password-0123")
        with superuser.connect() as connection:
            for statement in statements(sql.grants):
                connection.execute(text(statement))
        yield owner_url, app_url
    finally:
        with superuser.connect() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            for role in (app, owner):
                connection.execute(text(f"DROP OWNED BY {role}"))
                connection.execute(text(f"DROP ROLE IF EXISTS {role}"))
        superuser.dispose()


REFUSED = (
    "DROP TRIGGER audit_log_no_update_delete ON audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "UPDATE audit_log SET reason = 'forged' WHERE id = 1",
    "DELETE FROM audit_log WHERE id = (SELECT max(id) FROM audit_log)",
    "TRUNCATE audit_log",
    "CREATE TABLE scratch (id integer)",
    "CREATE TABLE public.scratch (id integer)",
    "ALTER TABLE site ADD COLUMN note text",
    "CREATE TRIGGER sneaky BEFORE INSERT ON site FOR EACH ROW "
    "EXECUTE FUNCTION cartrial_data_lock_audit_head()",
    "DROP TABLE data_lock",
)


def test_application_role_writes_data_but_cannot_touch_the_audit_trail(roles: tuple[str, str]) -> None:
    _owner_url, app_url = roles
    service = StudyService(connect(app_url))
    service.add_site("admin", "PUMCH", "Peking Union Medical College Hospital")  # data + audit rows
    site = service.find_records("admin", "site", site_id="PUMCH")[0]
    service.update_record("admin", "site", site["id"], {"country": "CN"}, site["version"], "completed")
    assert service.verify_audit().ok
    engine = service.engine
    for statement in REFUSED:
        with engine.connect() as connection, pytest.raises(DBAPIError) as caught, connection.begin():
            connection.execute(text(statement))
        assert caught.value.orig is not None
        assert getattr(caught.value.orig, "sqlstate", None) in ("42501",), statement  # insufficient_privilege
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one() > 3
    engine.dispose()
