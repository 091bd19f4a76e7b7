"""HEAD is served wherever GET is (RFC 9110 §9.1: a general-purpose server supports GET and HEAD; §9.3.2:
HEAD answers as GET would, without the content). Before, every page and API GET answered HEAD with 405, so
an uptime monitor or a link checker probing the site with HEAD saw it as broken (D-19.198). A path's 405
names HEAD beside GET; `safe_next` keeps a login's target to a bounded local path."""

from __future__ import annotations

import pytest

from cartrial.web.app import MAX_NEXT_LENGTH, safe_next


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json"])
def test_head_of_an_open_route_answers_as_get_without_content(web_study, path):
    client = web_study.client()
    got, head = client.get(path), client.head(path)
    assert got.status_code == head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers.get("x-content-type-options") == got.headers.get("x-content-type-options")


def test_head_of_a_protected_route_is_checked_as_get(web_study):
    assert web_study.client().head("/api/v1/records/subjects").status_code == 401
    answer = web_study.bearer("admin").head("/api/v1/records/subjects")
    assert answer.status_code == 200 and answer.content == b""
    page = web_study.session("admin").head("/queries")
    assert page.status_code == 200 and page.content == b""


def test_a_405_names_head_beside_get(web_study):
    answer = web_study.bearer("admin").request("PUT", "/api/v1/records/crs_assessments")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert web_study.bearer("admin").head("/api/v1/token").status_code == 405  # POST only


def test_a_login_target_is_a_bounded_local_path():
    assert safe_next("/queries?subject=CT-001") == "/queries?subject=CT-001"
    assert safe_next("/" + "a" * MAX_NEXT_LENGTH) == "/"  # a 100 KB Location header before
