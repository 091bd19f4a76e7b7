"""Users, roles, sites and passwords (argon2id hashes; a password never enters the audit trail).

The functions write through an open `Transaction`; the permission (manage users / manage sites) is checked by
the caller (`StudyService`). Passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106 low-memory
profile).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from cartrial.errors import InputError, Problem
from cartrial.store.models import User
from cartrial.store.tables import RowLike, check_role, require_identifier, table_of

if TYPE_CHECKING:
    from cartrial.store.transaction import Transaction


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (argon2-cffi defaults, RFC 9106 low-memory profile)."""
    from argon2 import PasswordHasher

    if not password:
        raise InputError(Problem("empty password", field="password"))
    return str(PasswordHasher().hash(password))


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches an argon2 hash (False for no hash or a malformed one)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    if not stored_hash:
        return False
    try:
        return bool(PasswordHasher().verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def active_password_hash(connection: Connection, username: str) -> str | None:
    """The stored hash of an active user (None: unknown, inactive or no password)."""
    return connection.execute(
        select(User.password_hash).where(User.username == username, User.active.is_(True))
    ).scalar()


def user_row(connection: Connection, username: str) -> RowLike:
    """The `app_user` record of `username` (`InputError` if there is none)."""
    row = connection.execute(select(table_of(User)).where(User.username == username)).mappings().first()
    if row is None:
        raise InputError(Problem("unknown user", field="username", value=username))
    return row


def new_site(site_id: str, name: str | None, country: str | None) -> dict[str, Any]:
    """The values of a new `site` record (the code checked)."""
    require_identifier(site_id, "site")
    return {"site_id": site_id, "name": name, "country": country}


def new_user(
    username: str, role: str, site_id: str | None, password: str | None, full_name: str | None
) -> dict[str, Any]:
    """The values of a new `app_user` record (name, role and site checked, password hashed)."""
    require_identifier(username, "username")
    check_role(role)
    if role == "investigator" and not site_id:
        raise InputError(Problem("an investigator needs a site", field="site", value=site_id))
    values: dict[str, Any] = {"username": username, "role": role, "site_id": site_id, "full_name": full_name}
    if password is not None:
        values["password_hash"] = hash_password(password)
    return values


def role_change(role: str, site_id: str | None) -> dict[str, Any]:
    """The changes of a role (and site) change."""
    check_role(role)
    changes: dict[str, Any] = {"role": role}
    if site_id is not None:
        changes["site_id"] = site_id
    return changes


def set_password(tx: Transaction, username: str, password: str, reason: str) -> int:
    """Store a new password hash for `username` (audited as ``"<set>"``); returns the new version."""
    from cartrial.store.bulk import apply_update
    from cartrial.store.writes import current_record

    user = user_row(tx.connection, username)
    current = current_record(tx.connection, User, "app_user", int(user["id"]))
    return apply_update(
        tx,
        User,
        "app_user",
        current,
        {"password_hash": hash_password(password)},
        int(current["version"]),
        reason,
    )
