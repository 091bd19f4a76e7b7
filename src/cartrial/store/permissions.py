"""Who may do what: the role/permission matrix of the study database, in one place.

Roles (docs/science/decisions.md D-7.1; docs/science/data-standards.md §8.2): `admin` (everything, the only
role that may unlock or manage
users), `investigator` (enter and edit data of subjects at their own site, answer queries), `data_manager`
(enter, edit, import, raise and answer queries, set up sites), `monitor` (read, raise queries),
`statistician` (read, lock, derive/analyse). The safety review committee's dose-escalation decision is
recorded (insert, edit, delete of `escalation_decision`, by form, import or API) under its own action,
`record_escalation`, held by the study-wide `data_manager` and `admin` and never by a site investigator
(D-19.410). The matrix is checked by the service layer on every call
(`cartrial.store.service.StudyService`), not only by the CLI.

Where the sources differ: docs/science/data-standards.md §8.2 gives *lock* to the data manager, decision D-7.2
gives it to the
statistician. cartrial follows D-7.2 (`statistician` and `admin` lock); an admin can grant another user the
statistician role if the data manager must lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum

from cartrial.errors import ConflictError, PermissionDeniedError, Problem


class Action(StrEnum):
    """Everything the service layer checks."""

    READ = "read"
    ENTER = "enter"
    EDIT = "edit"
    DELETE = "delete"
    IMPORT = "import"
    RECORD_ESCALATION = "record_escalation"
    RAISE_QUERY = "raise_query"
    ANSWER_QUERY = "answer_query"
    LOCK = "lock"
    UNLOCK = "unlock"
    DERIVE = "derive"
    MANAGE_SITES = "manage_sites"
    MANAGE_USERS = "manage_users"
    MANAGE_STUDY = "manage_study"


A = Action
PERMISSIONS: Mapping[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "investigator": frozenset({A.READ, A.ENTER, A.EDIT, A.DELETE, A.IMPORT, A.ANSWER_QUERY}),
    "data_manager": frozenset(
        {
            A.READ,
            A.ENTER,
            A.EDIT,
            A.DELETE,
            A.IMPORT,
            A.RECORD_ESCALATION,
            A.RAISE_QUERY,
            A.ANSWER_QUERY,
            A.MANAGE_SITES,
        }
    ),
    "monitor": frozenset({A.READ, A.RAISE_QUERY}),
    "statistician": frozenset({A.READ, A.LOCK, A.DERIVE}),
}
"""Role -> allowed actions."""

SITE_RESTRICTED_ROLES: frozenset[str] = frozenset({"investigator"})
"""Roles whose data writes are limited to subjects of their own site."""

TABLE_WRITE_ACTION: Mapping[str, Action] = {
    "study": A.MANAGE_STUDY,
    "site": A.MANAGE_SITES,
    "app_user": A.MANAGE_USERS,
    "derived_value": A.DERIVE,
    "import_manifest": A.IMPORT,
    "data_query": A.RAISE_QUERY,
    "escalation_decision": A.RECORD_ESCALATION,
}
"""Tables whose writes need a specific action instead of enter/edit/delete."""

TABLE_READ_ACTION: Mapping[str, Action] = {"app_user": A.MANAGE_USERS}
"""Tables whose records are read (and queried) only by a role with a specific action besides READ: the user
accounts are the administration of the study's staff, not study data (D-19.343, D-19.837, D-19.906)."""


def read_action(table_name: str) -> Action:
    """The action a read of `table_name`'s records needs besides READ (`TABLE_READ_ACTION`), else READ."""
    return TABLE_READ_ACTION.get(table_name, A.READ)


def readable_sites(role: str, site_id: str | None) -> tuple[str | None, ...] | None:
    """The sites whose subjects' records a user of `role` at `site_id` may read: None (every site), or
    their own site for the `SITE_RESTRICTED_ROLES`."""
    return (site_id,) if role in SITE_RESTRICTED_ROLES else None


def unreadable_tables(role: str) -> tuple[str, ...]:
    """The tables whose records `role` may not read though it reads the study data (`read_action` needs an
    action the role lacks: the user accounts without MANAGE_USERS). A data query on such a record is as
    unreadable as the record (its table, record id, field and text are about it; D-19.913)."""
    return tuple(sorted(t for t, action in TABLE_READ_ACTION.items() if not allowed(role, action)))


def allowed(role: str, action: Action) -> bool:
    """Whether `role` may perform `action`."""
    return action in PERMISSIONS.get(role, frozenset())


def check(username: str, role: str, action: Action, what: str = "") -> None:
    """Raise `PermissionDeniedError` unless `role` may perform `action`."""
    if not allowed(role, action):
        roles = ", ".join(r for r in PERMISSIONS if action in PERMISSIONS[r])
        target = f" ({what})" if what else ""
        raise PermissionDeniedError(
            f"user '{username}' (role {role}) may not {action.value.replace('_', ' ')}{target}; "
            f"allowed roles: {roles}"
        )


def check_sites(
    username: str, role: str, user_site: str | None, sites: Iterable[str | None], what: str
) -> None:
    """For site-restricted roles, raise unless every site in `sites` is the user's own site. The message does
    not name the other site: where another site's subject is, is not the user's to learn (D-19.220)."""
    if role not in SITE_RESTRICTED_ROLES:
        return
    if any(s != user_site for s in sites):
        raise PermissionDeniedError(
            f"user '{username}' (role {role}, site {user_site or 'none'}) may only write data of subjects at "
            f"their own site; {what} belongs to another site"
        )


def key_unusable(table_name: str, keys: Sequence[str], given: str) -> ConflictError:
    """The refusal of a new record whose key another site's record holds, for a site-restricted user: the
    key is unique in the whole study, so the write is refused, but neither that a record exists, nor where,
    nor its id is told — the same words whatever holds the key (D-19.297; another site's records are as
    absent, D-19.174, D-19.220)."""
    what = ", ".join(keys)
    return ConflictError(  # the key typed is the problem's value only, never the message's text (D-12.2)
        f"this {what} cannot be used for a new {table_name} record: choose another {what}",
        problem=Problem("this key cannot be used", field=what, value=given, allowed=f"another {what}"),
    )


def held_key_refusal(
    table_name: str,
    keys: Sequence[str],
    holders: Mapping[str, Iterable[str | None]],
    sites: Sequence[str | None] | None,
) -> ConflictError | None:
    """The one rule of D-19.297: a key (a subject id) that a stored record holds at a site the user may not
    read cannot be used (`key_unusable`, up to 20 such keys as its value), None when every held key is the
    user's to see. `holders`: each key given that a stored record holds -> the sites of that record (a
    subject's site; another table's record: its subject's site); `sites`: the sites the user may read
    (`readable_sites`; None: every site)."""
    if sites is None:
        return None
    unusable = sorted(key for key, held in holders.items() if any(site not in sites for site in held))
    if not unusable:
        return None
    return key_unusable(table_name, keys, ", ".join(unusable[:20]) + (" …" if len(unusable) > 20 else ""))


def write_action(table_name: str, default: Action) -> Action:
    """The action a write to `table_name` needs (`default` for ordinary study-data tables)."""
    return TABLE_WRITE_ACTION.get(table_name, default)


WRITE_WORDS = {Action.ENTER: "insert into", Action.EDIT: "update", Action.DELETE: "delete from"}
"""How a refusal names each kind of write: ``may not record escalation (insert into escalation_decision)``."""


def check_write(username: str, role: str, table_name: str, action: Action) -> None:
    """Raise `PermissionDeniedError` unless `role` may make write `action` (enter, edit, delete) to
    `table_name`: the table's own write action (`write_action`: sites need `manage_sites`, escalation
    decisions `record_escalation`, D-19.410). The one check of the store's writes and of a front end that
    refuses such a write before it reads its values (D-19.823, D-19.725)."""
    check(username, role, write_action(table_name, action), f"{WRITE_WORDS[action]} {table_name}")


def matrix_rows() -> list[tuple[str, list[bool]]]:
    """The matrix as rows (role, allowed per `Action` in declaration order), for docs and `db roles`."""
    return [(role, [action in actions for action in Action]) for role, actions in PERMISSIONS.items()]
