"""The study behind the page tests: the example study (ct103a-nmosd, one site TJH, 12 infused subjects)
plus a second site PUMCH with one subject, and one user per role (password `TEST_PASSWORD`)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

USERS: dict[str, tuple[str, str | None]] = {
    "admin": ("admin", None),
    "inv_a": ("investigator", "TJH"),
    "inv_b": ("investigator", "PUMCH"),
    "dm": ("data_manager", None),
    "mon": ("monitor", None),
    "stat": ("statistician", None),
}
"""User name → (role, site)."""

SITE_B_SUBJECT = "PU-101"
"""The one subject of site PUMCH (consented 60 days before the test run, not infused)."""


def build_web_study(path: Path, example: Path | None = None) -> str:
    """The example study (a copy of the database file `example`, else imported anew) with a second site,
    its subject, and the users of `USERS`; returns the URL."""
    import shutil

    from cartrial.store import StudyService

    from ...conftest import TEST_PASSWORD, build_example

    url = f"sqlite:///{path}"
    if example is not None:
        shutil.copyfile(example, path)
    else:
        build_example(url)
    service = StudyService(url)
    admin = service.as_user("admin")
    admin.set_password("admin", TEST_PASSWORD, "test setup")
    admin.add_site("PUMCH", "Peking Union Medical College Hospital (synthetic)", "CN")
    for name, (role, site) in USERS.items():
        if name != "admin":
            admin.add_user(name, role, site, TEST_PASSWORD)
    consent = dt.date.today() - dt.timedelta(days=60)
    admin.insert_record(
        "subject",
        {"subject_id": SITE_B_SUBJECT, "site_id": "PUMCH", "consent_date": consent.isoformat(), "sex": "M"},
        "test",
    )
    service.engine.dispose()
    return url


CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def adverse_event_entries(term: str) -> dict[str, str]:
    """The entries of a grade 1 non-haematologic adverse event named `term` (10 to 12 May 2021, recovered):
    a valid adverse-event form of any subject of the example study (its subject given apart)."""
    return {
        "term": term,
        "started_on": "2021-05-10",
        "category": "non_hematologic",
        "grade": "1",
        "grading_scale": "CTCAE",
        "grading_scale_version": "5.0",
        "serious": "false",
        "relatedness": "unlikely",
        "dlt": "false",
        "outcome": "recovered",
        "ended_on": "2021-05-12",
    }


def fill_browser_form(page: Any, entries: dict[str, str]) -> None:
    """Type `entries` into the fields of the page's main form in a real browser (Playwright): a select gets
    its option chosen, any other field its text."""
    for name, value in entries.items():
        field = page.locator(f"main form [name={name}]").first
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
