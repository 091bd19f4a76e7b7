"""Study home, subject list and casebook pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse

from cartrial.errors import StoredValueError
from cartrial.store.edit_checks import blind_hard_checks
from cartrial.store.permissions import Action, write_action
from cartrial.store.stored_dates import leaving_out_unreadable
from cartrial.web import views
from cartrial.web.errors import bounded_text
from cartrial.web.pages.common import done_message, page_router, sites, subject_path, unreadable_context
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


UNREADABLE_CASEBOOK_HELP = (
    "The casebook shows the subject record, which cannot be read: a data manager repairs it (cartrial db "
    "edit or the API's record update, setting each unreadable date, with a reason). Meanwhile the "
    "subject's new records can be entered; their edit checks leave the record out and name it (a form "
    "whose hard edit check needs that record, such as the infusion, opens once it is repaired):"
)
"""What the casebook's 409 of a subject whose own record is unreadable says above its forms (D-19.703)."""


@router.get("/subjects/{subject_id:segment}", response_class=HTMLResponse, name="casebook")
def casebook(
    request: Request,
    subject_id: str,
    all: Annotated[str | None, Query(max_length=60)] = None,
    user: WebUser = Depends(permit(Action.READ)),
) -> HTMLResponse:
    """Every form of one subject by visit (protocol schedule), missing and overdue marked; the records
    outside the schedule, a few per form (`all`: every record of that form)."""
    from cartrial.web.forms import form, record_noun

    offered = views.study_form_names(user.service)  # D-19.70: the study's forms only
    names = [form(form_of).name for form_of in views.subject_tables() if form_of != "subject"]
    try:
        # the subject's site's today (D-19.614)
        book = views.casebook(user.service, sites(user), subject_id, show_all=all)
    except StoredValueError as error:  # the subject's own record unreadable: 409, its forms linked (D-19.703)
        views.require_subject(user.service, sites(user), subject_id)  # another site's: 404, as before
        unread = {p.record.rsplit(" record ", 1)[0] for p in error.problems if p.record}
        links = [
            {"href": f"{subject_path(subject_id)}/forms/{name}/new", "label": f"New {record_noun(name)}"}
            for name in names
            if name in offered
            and user.may(write_action(form(name).table, Action.ENTER))
            # a form whose hard check compares it with the unreadable record never saves (D-19.651)
            and not blind_hard_checks(form(name).table, unread)
        ]
        return render(
            request,
            "error.html",
            {
                "title": "Error 409",
                "message": bounded_text(str(error)),
                "help": UNREADABLE_CASEBOOK_HELP,
                "links": links,
                "status": 409,
            },
            status_code=409,
        )
    entry_forms = [
        {"name": name, "label": f"New {record_noun(name)}", "refused": _refused_entry(name, book)}
        for name in names
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
