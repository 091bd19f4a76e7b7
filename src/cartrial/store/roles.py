"""Least privilege on PostgreSQL: a schema owner that runs the migrations, and an application role that only
reads and writes data (docs/science/decisions.md D-19.4; 21 CFR 11.10(d) and (e)).

The application role gets SELECT/INSERT/UPDATE/DELETE on the data tables, SELECT and INSERT only on
`audit_log`, SELECT on `alembic_version`, and use of the id sequences. It owns nothing, so it cannot drop or
disable the append-only triggers (only a table's owner can), it has no CREATE on the schema (no DDL), no
TRIGGER and no TRUNCATE privilege, and it cannot UPDATE or DELETE audit rows even if the triggers were gone.

`roles_sql` returns the SQL in two parts: ``setup`` (once, as a superuser: the roles and the schema) and
``grants`` (after `cartrial db init` / every `cartrial db upgrade` run as the owner: the privileges on
the tables that exist then). Passwords are not part of the SQL: set them with psql's ``\\password``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cartrial.errors import InputError, Problem

AUDIT_TABLE = "audit_log"
READ_ONLY_TABLES = ("alembic_version",)
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}\Z")


@dataclass(frozen=True)
class RolesSql:
    """The two SQL scripts (see the module docstring)."""

    setup: str
    grants: str

    def text(self) -> str:
        return (
            "-- 1. once, as a superuser (psql): roles and schema\n"
            + self.setup
            + "\n-- 2. after `cartrial db init` / each `cartrial db upgrade` run as the owner:\n"
            + self.grants
        )


def _check(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise InputError(
            Problem(
                f"not a plain PostgreSQL identifier for the {what}",
                field=what,
                value=name,
                allowed="lower-case letters, digits and _, starting with a letter or _ (at most 63)",
            )
        )
    return name


def roles_sql(
    *, owner: str = "cartrial_owner", app: str = "cartrial_app", schema: str = "cartrial", database: str
) -> RolesSql:
    """The SQL creating the owner and application roles and granting the application only data rights.

    >>> sql = roles_sql(database="trial")
    >>> "GRANT SELECT, INSERT ON cartrial.audit_log TO cartrial_app;" in sql.grants
    True
    """
    owner, app, schema, database = (
        _check(owner, "owner"),
        _check(app, "app"),
        _check(schema, "schema"),
        _check(database, "database"),
    )
    setup = "\n".join(
        (
            f"CREATE ROLE {owner} LOGIN;  -- then: \\password {owner}",
            f"CREATE ROLE {app} LOGIN NOINHERIT;  -- then: \\password {app}",
            f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};",
            f"REVOKE ALL ON SCHEMA {schema} FROM PUBLIC;",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC;  -- the default before PostgreSQL 15",
            f"GRANT CONNECT ON DATABASE {database} TO {owner}, {app};",
            f"ALTER ROLE {owner} IN DATABASE {database} SET search_path = {schema};",
            f"ALTER ROLE {app} IN DATABASE {database} SET search_path = {schema};",
            "",
        )
    )
    grants = "\n".join(
        (
            f"GRANT USAGE ON SCHEMA {schema} TO {app};",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {app};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {app};",
            f"REVOKE UPDATE, DELETE ON {schema}.{AUDIT_TABLE} FROM {app};",
            f"GRANT SELECT, INSERT ON {schema}.{AUDIT_TABLE} TO {app};",
            *(f"REVOKE INSERT, UPDATE, DELETE ON {schema}.{table} FROM {app};" for table in READ_ONLY_TABLES),
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {schema} TO {app};",
            "",
        )
    )
    return RolesSql(setup, grants)


def statements(script: str) -> list[str]:
    """The statements of a script made by `roles_sql` (comments removed), for running them one by one."""
    lines = [line.split("--", 1)[0].strip() for line in script.splitlines()]
    return [s.strip() for s in " ".join(line for line in lines if line).split(";") if s.strip()]
