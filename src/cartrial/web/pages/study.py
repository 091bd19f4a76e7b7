"""Study home, subject list and casebook pages."""

from __future__ import annotations

import datetime as dt

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cartrial.store.permissions import Action
from cartrial.web import views
from cartrial.web.pages.common import done_message, page_router, sites
from cartrial.web.security import WebUser, permit
from cartrial.web.templating import render

router = page_router()


@router.get("/", response_class=HTMLResponse, name="home")
def study_home(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """Enrolment by site and dose level, open queries, data completeness, current lock."""
    home = views.study_home(user.service, sites(user))
    return render(request, "home.html", {"title": "Study home", "home": home, "nav": "home"})


@router.get("/subjects", response_class=HTMLResponse, name="subjects")
def subject_list(
    request: Request, site: str | None = None, user: WebUser = Depends(permit(Action.READ))
) -> HTMLResponse:
    """The subjects the user may see (investigators: their site's), optionally of one site."""
    visible = sites(user)
    rows = views.subject_list(user.service, visible, site or None)
    all_sites = views.site_ids(user.service) if visible is None else sorted(visible)
    return render(
        request,
        "subjects.html",
        {"title": "Subjects", "rows": rows, "site": site or "", "sites": all_sites, "nav": "subjects"},
    )


@router.get("/subjects/{subject_id}", response_class=HTMLResponse, name="casebook")
def casebook(request: Request, subject_id: str, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """Every form of one subject by visit (protocol schedule), missing and overdue marked."""
    book = views.casebook(user.service, sites(user), subject_id, dt.date.today())
    from cartrial.web.forms import form

    entry_forms = [form(form_of).name for form_of in views.subject_tables() if form_of != "subject"]
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
