"""405 and unknown routes in the error shape naming what is allowed (D-19.176). Before, `PUT
/api/v1/records/crs_assessments` answered ``Allow: GET`` — the methods of the first route on the path only,
though `POST` is served there too — and ``{"error": "Method Not Allowed", "field": null, "allowed": null}``;
an unknown API path said only "Not Found"."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("method", "path", "methods"),
    [  # the routes of docs/web.md's API table
        ("PUT", "/api/v1/records/crs_assessments", {"GET", "HEAD", "POST"}),
        ("POST", "/api/v1/records/crs_assessments/1", {"DELETE", "GET", "HEAD", "PATCH", "PUT"}),
        ("DELETE", "/api/v1/queries", {"GET", "HEAD", "POST"}),
        ("GET", "/api/v1/token", {"POST"}),
    ],
)
def test_405_names_every_method_of_the_path(web_study, method, path, methods):
    answer = web_study.bearer("admin").request(method, path)
    assert answer.status_code == 405, answer.text
    assert set(answer.headers["allow"].split(", ")) == methods
    body = answer.json()
    assert body["field"] == "method" and body["value"] == method
    assert set(body["allowed"].split(", ")) == methods
    assert method in body["error"]


def test_405_on_a_page_lists_the_pages_methods(web_study):
    answer = web_study.session("admin").request("PUT", "/queries")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "HEAD"}  # HEAD as GET (D-19.198)


def test_an_unknown_api_path_names_where_the_routes_are(web_study):
    answer = web_study.bearer("admin").get("/api/v1/recordz/crs_assessments")
    assert answer.status_code == 404
    body = answer.json()
    assert body["field"] == "path" and "/api/v1/openapi.json" in body["allowed"]
