"""User administration (admin only): create, role and site, reset the password, deactivate/activate.
Every change is the store's (`add_user`, `set_role`, `set_password`, `update_record` of ``app_user``:
audited, reason required); passwords are only ever hashed by the store and never shown."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from cartrial.columns import trim_blanks
from cartrial.errors import CartrialError, ConflictError, InputError, Problem
from cartrial.store.permissions import PERMISSIONS, Action
from cartrial.store.users import MIN_PASSWORD_LENGTH, PASSWORD_RULE
from cartrial.web import views
from cartrial.web.pages.common import (
    done_message,
    page_router,
    problems_by_field,
    redirect,
    true_or_false,
)
from cartrial.web.security import CSRF, WebUser, permit, require_current_password
from cartrial.web.templating import render

router = page_router()


_NEW_USER_FIELD_OF = {"username": "username", "full_name": "full_name", "role": "role", "site": "site_id"}
"""A refusal's field (`Problem.field`, last part) -> the "Create a user" input it concerns."""


def _page(
    request: Request,
    user: WebUser,
    error: str | None = None,
    status_code: int = 200,
    *,
    new_user: dict[str, str] | None = None,
    new_user_problems: dict[str, list[str]] | None = None,
    again: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The users page; `new_user` (the "Create a user" form as typed, never the password) and
    `new_user_problems` (problem texts by input) after a refused creation, shown again in its inputs with
    each problem at the input it concerns (D-19.920). `again`: a refused change of one user's row (``form``
    "role", "password" or "active"; ``username``; ``values`` as sent, never a password; ``problems`` by
    input), shown again in that row's form (D-19.924)."""
    return render(
        request,
        "users.html",
        {
            "title": "Users",
            "users": views.user_list(user.service),
            "roles": list(PERMISSIONS),
            "sites": views.site_ids(user.service),
            "password_rule": PASSWORD_RULE,
            "password_min": MIN_PASSWORD_LENGTH,
            "error": error,
            "new_user": new_user or {},
            "new_user_problems": new_user_problems or {},
            "again": again or {},
            "done": done_message(request),
            "nav": "admin",
        },
        status_code=status_code,
    )


@router.get("/admin/users", response_class=HTMLResponse, name="users")
def users(request: Request, user: WebUser = Depends(permit(Action.MANAGE_USERS))) -> HTMLResponse:
    """Every user with role, site and state, and the forms to change them."""
    return _page(request, user)


_ROW_FIELD_OF = {
    "role": "role",
    "site": "site_id",
    "site_id": "site_id",
    "reason": "reason",
    "password": "password",
}
"""A refused row change's problem field (last part) -> the input of the row's form it concerns."""


def _attempt(
    request: Request,
    user: WebUser,
    action: object,
    done: str,
    *,
    form: str = "",
    username: str = "",
    values: dict[str, str] | None = None,
) -> Response:
    """Run a change of one user's row; refused, the page again with the row's form as sent and each problem
    at its input (`form`, `username`, `values`: never a password; D-19.924)."""
    try:
        action()  # type: ignore[operator]
    except CartrialError as exc:
        from cartrial.web.errors import status_of

        problems = _problems_of(exc)
        if isinstance(exc, ConflictError) and exc.problem is None:  # the last admin's (D-19.885)
            problems.append(Problem(str(exc)))  # at the row, no input marked
        by_input: dict[str, list[str]] = {}
        for name, texts in problems_by_field(problems).items():
            by_input.setdefault(_ROW_FIELD_OF.get(name, ""), []).extend(texts)
        again = {"form": form, "username": username, "values": values or {}, "problems": by_input}
        return _page(request, user, str(exc), status_code=status_of(exc), again=again)
    return redirect("/admin/users", done)


@router.post("/admin/users", dependencies=[CSRF], name="add_user")
def add_user(
    request: Request,
    username: str = Form(""),
    role: str = Form(""),
    site_id: str = Form(""),
    full_name: str = Form(""),
    password: str = Form(""),
    user: WebUser = Depends(permit(Action.MANAGE_USERS)),
) -> Response:
    """Create a user with an initial password (stored as an argon2id hash). The page asks for the password,
    so an empty field is a password given and refused by the policy, never "no password" (D-19.57: a
    pending account without a password comes only from a request that does not ask for one)."""
    try:
        user.service.add_user(trim_blanks(username), role, site_id or None, password, full_name or None)
    except CartrialError as exc:
        from cartrial.web.errors import status_of

        typed = {"username": username, "full_name": full_name, "role": role, "site_id": site_id}
        return _page(
            request,
            user,
            str(exc),
            status_code=status_of(exc),
            new_user=typed,
            new_user_problems=_new_user_problems(exc),
        )
    return redirect("/admin/users", "user_added")


def _problems_of(exc: CartrialError) -> list[Problem]:
    """The located problems of a refusal: an `InputError`'s, a `ConflictError`'s own (a user name taken,
    D-19.884); none for another refusal (a page's alert tells it)."""
    problems = list(exc.problems) if isinstance(exc, InputError) else []
    if isinstance(exc, ConflictError) and exc.problem is not None:
        problems.append(exc.problem)
    return problems


def _new_user_problems(exc: CartrialError) -> dict[str, list[str]]:
    """A refused creation's problem texts by the "Create a user" input each concerns (`problem_text`: never
    the value typed); a problem of no input of the form (none here) is left to the page's alert."""
    problems = _problems_of(exc)
    by_input: dict[str, list[str]] = {}
    for name, texts in problems_by_field(problems).items():
        if name in _NEW_USER_FIELD_OF:
            by_input.setdefault(_NEW_USER_FIELD_OF[name], []).extend(texts)
        elif name == "password":
            by_input.setdefault("password", []).extend(texts)
    return by_input


@router.post("/admin/users/{username:segment}/role", dependencies=[CSRF], name="set_role")
def set_role(
    request: Request,
    username: str,
    role: str = Form(""),
    site_id: str = Form(""),
    reason: str = Form(""),
    user: WebUser = Depends(permit(Action.MANAGE_USERS)),
) -> Response:
    """Change a user's role and site (reason required)."""
    return _attempt(
        request,
        user,
        # "no site" chosen is sent as "": the site cleared, never the old one kept (D-19.922)
        lambda: user.service.set_role(username, role, reason or None, site_id),
        "role_set",
        form="role",
        username=username,
        values={"role": role, "site_id": site_id, "reason": reason},
    )


@router.post("/admin/users/{username:segment}/password", dependencies=[CSRF], name="reset_password")
def reset_password(
    request: Request,
    username: str,
    password: str = Form(""),
    current_password: str = Form(""),
    reason: str = Form(""),
    user: WebUser = Depends(permit(Action.MANAGE_USERS)),
) -> Response:
    """Set a new password for a user (reason required); one's own needs the current password too
    (`require_current_password`, D-19.818)."""

    def change() -> None:
        require_current_password(request.app.state.service, user, username, current_password)
        user.service.set_password(username, password, reason or None)

    return _attempt(
        request, user, change, "password_set", form="password", username=username, values={"reason": reason}
    )


@router.post("/admin/users/{username:segment}/active", dependencies=[CSRF], name="set_active")
def set_active(
    request: Request,
    username: str,
    active: str = Form(""),
    reason: str = Form(""),
    user: WebUser = Depends(permit(Action.MANAGE_USERS)),
) -> Response:
    """Deactivate (or reactivate) a user: their sessions stop working at once (reason required). `active`
    is read as the import reads a true/false cell; anything else is refused, not read as "deactivate"
    (D-19.552)."""
    try:
        value = true_or_false("active", active)
    except InputError as exc:
        return _page(request, user, str(exc), status_code=422)

    def change() -> None:
        user.service.set_active(username, value, reason or None)

    return _attempt(
        request,
        user,
        change,
        "activated" if value else "deactivated",
        form="active",
        username=username,
        values={"reason": reason},
    )
