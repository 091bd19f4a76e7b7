"""A reload (or a bookmark) of a URL the pages only POST to: after a refused save the browser's address bar
holds `/subjects/{id}/forms/{form}`, `/records/{table}/{id}/queries` or `/queries/{code}/answer|close`, and
Enter on it answered a 405 page. Now a GET there is sent on (303) to the page the form lives on (D-19.1263);
the POST is unchanged and what may be seen is the target page's to decide."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/subjects/CT-001/forms/crs_assessments", "/subjects/CT-001/forms/crs_assessments/new"),
        ("/records/crs_assessment/7/queries", "/records/crs_assessment/7"),
        ("/queries/Q-000001/answer", "/queries"),
        ("/queries/Q-000001/close", "/queries"),
    ],
)
def test_a_get_on_a_post_only_page_url_goes_to_its_page(web_study, path: str, target: str) -> None:
    answer = web_study.session("admin").get(path, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == target


def test_a_subject_id_is_kept_as_one_path_segment(web_study) -> None:
    answer = web_study.session("admin").get(
        "/subjects/CT%20001%3F/forms/crs_assessments", follow_redirects=False
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/subjects/CT%20001%3F/forms/crs_assessments/new"
