"""Defects found by the web attack review of 2026-12-06 (authorization, sessions, errors), each with the
probe that found it."""

from __future__ import annotations

import re

from cartrial.store import StudyService

NEW_PASSWORD = "a new long passphrase 2026"
"""23 characters, no repeated character run, not the user name: passes the password policy (15-256)."""


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_a_password_reset_on_the_admin_page_ends_the_users_sessions(web_study):
    """docs/web.md: "A password reset or a deactivation by an admin ends all the user's sessions". The API's
    reset did; the admin page's reset (``POST /admin/users/{name}/password``) left every session of the
    user working, so whoever held a stolen session kept it after the reset meant to lock them out."""
    victim = web_study.session("inv")
    assert victim.get("/api/v1/me").status_code == 200
    admin = web_study.session("admin")
    token = _csrf(admin.get("/admin/users").text)
    answer = admin.post(
        "/admin/users/inv/password",
        data={"password": NEW_PASSWORD, "reason": "suspected account misuse", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:500]
    assert victim.get("/api/v1/me").status_code == 401


def test_a_password_set_through_the_store_ends_the_users_sessions(web_study):
    """The rule lives in the store: every front end that sets a password (CLI, pages, API, a script on
    `StudyService`) ends the sessions of the user whose password changed, in the same transaction."""
    victim = web_study.bearer("inv2")
    other = web_study.bearer("mon")
    assert victim.get("/api/v1/me").status_code == 200
    StudyService(web_study.service.engine).set_password(
        "admin", "inv2", NEW_PASSWORD, "suspected account misuse"
    )
    assert victim.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 200  # only that user's sessions
