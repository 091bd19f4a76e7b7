"""Users, roles, sites and passwords (argon2id hashes; a password never enters the audit trail).

The functions write through an open `Transaction`; the permission (manage users / manage sites) is checked by
the caller (`StudyService`). Passwords are hashed with argon2id (argon2-cffi defaults, RFC 9106 low-memory
profile). Every password set goes through one policy, `password_problem` (NIST SP 800-63B-4: at least 15
characters, at most 256, no composition rule, not the user name, not a common password; decisions D-19.45).
A password is Unicode-normalised (NFKC, `normalised_password`) before it is checked, hashed or verified, so
that the same characters typed on another keyboard or system sign in (D-19.109).
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, select

from cartrial.errors import InputError, Problem
from cartrial.store.models import User
from cartrial.store.permissions import SITE_RESTRICTED_ROLES
from cartrial.store.tables import RowLike, check_role, require_identifier, table_of

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from cartrial.store.transaction import Transaction


def username_fold(username: str) -> str:
    """A user name as names are compared: Unicode case folding of its NFKC form (``ÉLODIE`` and ``élodie``,
    ``STRASSE`` and ``straße``, ``ｍｏｎ`` and ``MON`` are one name), the same on every backend (SQL
    ``lower`` folds ASCII only on SQLite): the one fold of the uniqueness check
    (`cartrial.store.writes.check_username_free`) and the login throttle (D-19.1423)."""
    return unicodedata.normalize("NFKC", username).casefold()


MIN_PASSWORD_LENGTH = 15
"""Shortest password that may be set: NIST SP 800-63B-4 (final, 2025) §3.1.1.2 requires at least 15
characters for a password used as a single-factor authenticator, which a cartrial password is (8 only
when it is part of multi-factor authentication, which cartrial does not offer)."""
MAX_PASSWORD_LENGTH = 256
"""Longest password that may be set (SP 800-63B-4 §3.1.1.2: permit at least 64). Bounded so that a new
password is never a megabyte of text to hash; signing in is not capped (a password is verified whole,
never truncated)."""
COMMON_PASSWORDS = frozenset(
    {
        "123456789012345",
        "1234567890123456",
        "12345678901234567890",
        "123456789123456789",
        "111111111111111",
        "000000000000000",
        "qwertyuiopasdfgh",
        "qwertyuiopasdfghjkl",
        "qwertyuiopasdfghjklzxcvbnm",
        "1q2w3e4r5t6y7u8i9o0p",
        "abcdefghijklmnop",
        "abcdefghijklmnopqrstuvwxyz",
        "passwordpassword",
        "password12345678",
        "password1234567",
        "password123456789",
        "iloveyouiloveyou",
        "letmeinletmein1",
        "changemechangeme",
        "administrator123",
        "welcome123456789",
    }
)
"""A small blocklist (SP 800-63B-4 §3.1.1.2: compare with commonly used passwords), compared without case:
long keyboard runs, counting sequences and repeated words that meet the length rule yet are among the
first tried by a guesser (and, by rule, any one character repeated). Kept in the code (no download, no
dependency); a site needing a breach-corpus check puts one in front of cartrial."""
PASSWORD_RULE = (
    f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters (any characters, spaces included; no "
    "required mix), not the user name, not a common password (NIST SP 800-63B-4 §3.1.1.2)"
)
"""The password policy in words: shown with every refusal, on every path that sets a password."""


PASSWORD_NORMALISATION: Final = "NFKC"
"""The Unicode normalisation of every password before it is checked, hashed or verified: NIST SP 800-63B-4
§3.1.1.2 (as 800-63B-3 §5.1.1.2) — a verifier accepting Unicode SHOULD apply the normalisation process for
stabilised strings, NFKC or NFKD (Unicode Standard Annex #15). NFKC keeps the composed form most keyboards
type, so a password already in that form (any ASCII password) hashes exactly as before (D-19.109)."""


def normalised_password(password: str) -> str:
    """`password` in Unicode normalisation form NFKC (`PASSWORD_NORMALISATION`): "é" typed as one code point
    or as "e" + combining acute, and a full-width "Ａ" and "A", are the same password.

    >>> normalised_password("caf\u0065\u0301") == normalised_password("caf\u00e9") == "caf\u00e9"
    True
    """
    return unicodedata.normalize(PASSWORD_NORMALISATION, password)


def password_problem(password: str, username: str) -> Problem | None:
    """Why `password` may not be set for `username`, or None: the one password policy (NIST SP 800-63B-4
    §3.1.1.2) applied by every path that sets a password (`new_user`, `set_password`, `db init`). Length in
    Unicode code points of the normalised password (`normalised_password`); no composition rule. The message
    never contains the password.

    >>> password_problem("correct horse battery staple", "alice") is None
    True
    >>> password_problem("short", "alice").message
    'the password is too short (5 characters)'
    """
    from cartrial.columns import NOT_UNICODE_ALLOWED, is_unicode_text

    if not is_unicode_text(password):  # a byte of another encoding (D-19.197)
        return Problem("the password is not Unicode text", field="password", allowed=NOT_UNICODE_ALLOWED)
    password = normalised_password(password)
    if len(password) < MIN_PASSWORD_LENGTH:
        message = f"the password is too short ({len(password)} characters)"
    elif len(password) > MAX_PASSWORD_LENGTH:
        message = f"the password is too long ({len(password)} characters)"
    elif username_fold(password) == username_fold(username):  # names compare as user names do
        message = "the password is the user name"
    elif len(set(password)) == 1:
        message = "the password is one character repeated"
    elif password.casefold() in COMMON_PASSWORDS:
        message = "the password is a common password"
    else:
        return None
    return Problem(message, field="password", allowed=PASSWORD_RULE)


def check_password(password: str, username: str) -> None:
    """Refuse (`InputError`, field ``password``, never the value) a password the policy does not allow."""
    problem = password_problem(password, username)
    if problem is not None:
        raise InputError(problem)


def password_hasher() -> PasswordHasher:
    """The hasher of every new password hash: argon2-cffi's defaults (argon2id, the RFC 9106 low-memory
    profile: t=3, m=64 MiB, p=4). There is no setting or environment variable that changes it. Verifying
    reads the parameters stored in the hash itself. (The test suite, and only it, replaces this function
    through a pytest fixture, `tests/conftest.py`, decision D-19.488.)"""
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of the normalised `password` (`normalised_password`; `password_hasher`: argon2-cffi
    defaults, RFC 9106 low-memory profile). It does not apply the policy (`check_password`): the functions
    that set a password do, with the user name."""
    if not password:
        raise InputError(Problem("empty password", field="password"))
    return str(password_hasher().hash(normalised_password(password)))


REHASH_REASON: Final = "password re-hashed at login with current parameters"
"""The reason the audit trail gives a hash replaced at sign-in (`rehash_password`, D-19.544)."""


def needs_rehash(stored_hash: str) -> bool:
    """Whether a stored hash was made with other parameters (type, version, costs, salt or hash length) than
    `password_hasher`'s, argon2-cffi's `PasswordHasher.check_needs_rehash` (False for a malformed hash, which
    verifies no password). Asked only after the password matched it (D-19.544)."""
    from argon2.exceptions import InvalidHashError

    try:
        return bool(password_hasher().check_needs_rehash(stored_hash))
    except InvalidHashError:
        return False


def _argon2_verifies(stored_hash: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(PasswordHasher().verify(stored_hash, password))
    except (VerificationError, InvalidHashError):
        return False


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches an argon2 hash (False for no hash or a malformed one): the normalised
    password (`normalised_password`), or, for a hash stored before passwords were normalised (D-19.109),
    the password exactly as typed when that differs — so no existing password stops working; it is stored
    normalised at its next change."""
    if not stored_hash:
        return False
    normalised = normalised_password(password)
    if _argon2_verifies(stored_hash, normalised):
        return True
    return normalised != password and _argon2_verifies(stored_hash, password)


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


def _require_key(value: str, what: str, field: str) -> None:
    """`require_identifier`, then the identifier key rule (`fields.key_text_problem`) located at `field`
    (``table.column``, as the write's own check names it). The value is not carried, as a lookup's is not
    (a user name may identify a person, D-12.2, D-19.522) (D-19.524)."""
    from cartrial.store.fields import KeyText, key_text_problem

    require_identifier(value, what)
    problem = key_text_problem(field, value, KeyText.IDENTIFIER)
    if problem is not None:
        raise InputError(replace(problem, value=None))


def new_site(
    site_id: str, name: str | None, country: str | None, time_zone: str | None = None
) -> dict[str, Any]:
    """The values of a new `site` record (the code checked by the identifier key rule, as every lookup of it
    is, D-19.524; the time zone by the field rules)."""
    _require_key(site_id, "site", "site.site_id")
    return {"site_id": site_id, "name": name, "country": country, "time_zone": time_zone}


def new_user(
    username: str, role: str, site_id: str | None, password: str | None, full_name: str | None
) -> dict[str, Any]:
    """The values of a new `app_user` record (name, role and site checked, password hashed). The name is
    judged by the identifier key rule that every sign-in applies (D-19.522), so no user is created who can
    never log in (D-19.524)."""
    _require_key(username, "username", "app_user.username")
    check_role(role)
    # the same rule the write applies (`writes.check_user_site`, D-19.884), here before the password is
    # hashed: a pure check of the new account's values, not a second derivation
    check_role_site(role, site_id)
    values: dict[str, Any] = {"username": username, "role": role, "site_id": site_id, "full_name": full_name}
    if password is not None:
        check_password(password, username)
        values["password_hash"] = hash_password(password)
    return values


def check_role_site(role: str, site_id: str | None) -> None:
    """Refuse an account of a site-restricted role without a site: an investigator enters and reads the
    data of their own site only (`permissions.SITE_RESTRICTED_ROLES`), so one without a site has none. The
    one rule of a new account and of a role or site change (D-19.919), applied by the write layer to every
    write of an account (`writes.check_user_site`, D-19.884)."""
    if role in SITE_RESTRICTED_ROLES and not site_id:
        raise InputError(Problem("an investigator needs a site", field="site", value=site_id))


def role_change(role: str, site_id: str | None) -> dict[str, Any]:
    """The changes of a role (and site) change: `site_id` None keeps the site, ``""`` is "no site" (the
    admin page's choice and an API's empty site: cleared, never kept; D-19.922)."""
    check_role(role)
    changes: dict[str, Any] = {"role": role}
    if site_id is not None:
        changes["site_id"] = site_id or None
    return changes


def set_password(tx: Transaction, username: str, password: str, reason: str) -> int:
    """Store a new password hash for `username` (audited as a fingerprint ``"<set sha256:…>"``, D-19.360)
    after the password policy (`check_password`), and end every login session of `username` in the same
    transaction (a reset meant to lock out whoever holds a session does, whichever front end sets it:
    CLI, web page, API, a script; D-19.816); returns the new version."""
    from sqlalchemy import delete

    from cartrial.store.auth import AuthSession
    from cartrial.store.bulk import apply_update
    from cartrial.store.writes import current_record

    check_password(password, username)
    user = user_row(tx.connection, username)
    current = current_record(tx.connection, User, "app_user", int(user["id"]))
    version = apply_update(
        tx,
        User,
        "app_user",
        current,
        {"password_hash": hash_password(password)},
        int(current["version"]),
        reason,
    )
    tx.connection.execute(delete(AuthSession).where(AuthSession.username == user["username"]))
    return version


def rehash_password(
    tx: Transaction, username: str, verified_hash: str, new_hash: str, reason: str = REHASH_REASON
) -> bool:
    """Replace `username`'s stored hash `verified_hash`, which the password has just matched, by `new_hash`,
    the caller's `hash_password` of that same password with the current parameters — computed before the
    write transaction opened, so the write lock is not held while hashing (about 0.1 s and 64 MiB in
    production) —, audited as a password change is (`set_password`: an ``update`` of
    ``app_user.password_hash`` as fingerprints, D-19.360, with `reason`), so that `audit verify` replays it.
    The policy (`check_password`) is not applied: the password is the one the user has, not a new one.
    Nothing is written, and False returned, when the stored hash is no longer `verified_hash` (changed
    meanwhile: an older password is never brought back; compared under the write lock) (D-19.544)."""
    from cartrial.store.bulk import apply_update
    from cartrial.store.writes import current_record

    user = user_row(tx.connection, username)
    current = current_record(tx.connection, User, "app_user", int(user["id"]))
    if current["password_hash"] != verified_hash:
        return False
    apply_update(
        tx,
        User,
        "app_user",
        current,
        {"password_hash": new_hash},
        int(current["version"]),
        reason,
    )
    return True
