"""Study home, subject list and casebook pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from cartrial.store.permissions import Action
from cartrial.store.stored_dates import leaving_out_unreadable
from cartrial.web import views
from cartrial.web.pages.common import done_message, page_router, sites, unreadable_context
from cartrial.web.security import WebUser, permit
from cartrial.web.templating import render

router = page_router()


@router.get("/", response_class=HTMLResponse, name="home")
def study_home(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """Enrolment by site and dose level, open queries, data completeness, current lock."""
    home = views.study_home(user.service, sites(user))
    return render(
        request,
        "home.html",
        {
            "title": "Study home",
            "home": home,
            "nav": "home",
            **unreadable_context(home.unreadable, home.unreadable_subjects, HOME_EFFECT),
        },
    )


HOME_EFFECT = (
    "These records are not shown below. Their subjects are counted as enrolled and left out of data "
    "completeness; a subject whose infusion record is left out is also left out of the dose-level and "
    "not-infused counts (a subject whose own record is left out is not counted)."
)
"""What the study home does with a left-out record's subject (D-19.563)."""
SUBJECTS_EFFECT = (
    "These records are not shown below. Their subjects are marked in the list (a subject whose own record "
    "is left out is not listed)."
)
"""What the subject list does with a left-out record's subject (D-19.563)."""

SUBJECTS_PER_PAGE = 100
"""Subjects listed per page of the subject list (a study of a thousand subjects is ten pages)."""


@router.get("/subjects", response_class=HTMLResponse, name="subjects")
def subject_list(
    request: Request,
    site: str | None = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
    user: WebUser = Depends(permit(Action.READ)),
) -> HTMLResponse:
    """The subjects the user may see (investigators: their site's), optionally of one site; a page of
    `SUBJECTS_PER_PAGE` at a time, in subject-id order."""
    visible = sites(user)
    with leaving_out_unreadable() as left_out:  # one unreadable record must not hide the rest (D-19.559)
        rows = views.subject_list(user.service, visible, site or None)
        named = sorted(views.left_out_subjects(user.service))
    all_sites = views.site_ids(user.service) if visible is None else sorted(visible)
    pages = max(1, -(-len(rows) // SUBJECTS_PER_PAGE))
    page = min(page, pages)
    shown = rows[(page - 1) * SUBJECTS_PER_PAGE : page * SUBJECTS_PER_PAGE]
    return render(
        request,
        "subjects.html",
        {
            "title": "Subjects",
            "rows": shown,
            "total": len(rows),
            "first": (page - 1) * SUBJECTS_PER_PAGE + 1,
            "page": page,
            "pages": pages,
            "site": site or "",
            "sites": all_sites,
            "nav": "subjects",
            **unreadable_context(views.unreadable_records(left_out), named, SUBJECTS_EFFECT),
        },
    )


def _refused_entry(form_name: str, book: views.Casebook) -> str | None:
    """Why the protocol forbids a new record of `form_name` for this subject (None: allowed): a second
    infusion (INFUSION-ONCE, a hard edit check the save would refuse; D-19.284)."""
    if form_name != "infusions" or not book.infusion_ids:
        return None
    return (
        "The protocol allows one CAR-T infusion per subject (edit check INFUSION-ONCE): this subject's "
        "infusion is entered; open it to correct it:"
    )


@router.get("/subjects/{subject_id}", response_class=HTMLResponse, name="casebook")
def casebook(
    request: Request,
    subject_id: str,
    all: Annotated[str | None, Query(max_length=60)] = None,
    user: WebUser = Depends(permit(Action.READ)),
) -> HTMLResponse:
    """Every form of one subject by visit (protocol schedule), missing and overdue marked; the records
    outside the schedule, a few per form (`all`: every record of that form)."""
    book = views.casebook(user.service, sites(user), subject_id, show_all=all)  # the site's today (D-19.614)
    from cartrial.web.forms import form, record_noun

    offered = views.study_form_names(user.service)  # D-19.70: the study's forms only
    entry_forms = [
        {"name": name, "label": f"New {record_noun(name)}", "refused": _refused_entry(name, book)}
        for name in (form(form_of).name for form_of in views.subject_tables() if form_of != "subject")
        if name in offered
    ]
    return render(
        request,
        "casebook.html",
        {
            "title": f"Casebook {subject_id}",
            "book": book,
            "entry_forms": entry_forms,
            "status_text": views.STATUS_TEXT,
            "may_enter": user.may(Action.ENTER),
            "done": done_message(request),
            "nav": "subjects",
        },
    )
