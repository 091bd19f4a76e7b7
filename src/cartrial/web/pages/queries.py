"""Data queries: the list (filter by site, subject, status), raise on a field of a record, answer, close.
Every step is the store's (`raise_query`, `answer_query`, `close_query`: roles, site, audit)."""

from __future__ import annotations

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from cartrial.errors import InputError, StoredValueError
from cartrial.store.permissions import Action
from cartrial.store.stored_dates import leaving_out_unreadable
from cartrial.web import views
from cartrial.web.pages.common import (
    done_message,
    page_router,
    problem_text,
    redirect,
    sites,
    unreadable_context,
)
from cartrial.web.security import CSRF, WebUser, permit
from cartrial.web.templating import render

router = page_router()


@router.get("/queries", response_class=HTMLResponse, name="queries")
def query_list(
    request: Request,
    site: str | None = None,
    subject: str | None = None,
    status: str | None = None,
    user: WebUser = Depends(permit(Action.READ)),
) -> HTMLResponse:
    """Queries the user may see, filtered by site, subject and status."""
    return _query_page(request, user, site, subject, status)


def _query_page(
    request: Request,
    user: WebUser,
    site: str | None,
    subject: str | None,
    status: str | None,
    *,
    answers: dict[str, str] | None = None,
    answer_problems: dict[str, str] | None = None,
    closes: dict[str, str] | None = None,
    close_problems: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The queries page; `answers` and `answer_problems` (by query code): an answer the store refused, shown
    again in its box with the problem next to it (D-19.253); `closes` and `close_problems` the same for a
    refused reason to close (D-19.282)."""
    visible = sites(user)
    status = status if status in views.QUERY_STATUSES else None
    with leaving_out_unreadable() as left_out:  # one unreadable record must not hide the rest (D-19.559)
        rows = views.query_list(
            user.service, visible, site=site or None, subject=subject or None, status=status
        )
    return render(
        request,
        "queries.html",
        {
            "title": "Queries",
            "rows": rows,
            "site": site or "",
            "subject": subject or "",
            "status": status or "",
            "statuses": views.QUERY_STATUSES,
            "sites": views.site_ids(user.service) if visible is None else sorted(visible),
            "may_answer": user.may(Action.ANSWER_QUERY),
            "may_close": user.may(Action.RAISE_QUERY),
            "done": done_message(request),
            "nav": "queries",
            "answers": answers or {},
            "answer_problems": answer_problems or {},
            "closes": closes or {},
            "close_problems": close_problems or {},
            **unreadable_context(views.unreadable_records(left_out)),
        },
        status_code=status_code,
    )


def said(exc: InputError) -> str:
    """The problems of a store refusal as one text for the box they concern (never the value typed)."""
    return "; ".join(problem_text(p) for p in exc.problems) or str(exc)


def _back(request: Request, default: str) -> str:
    target = request.headers.get("referer", "")
    from urllib.parse import urlsplit

    parts = urlsplit(target)
    if parts.netloc and parts.netloc != request.url.netloc:
        return default
    return parts.path if parts.path.startswith("/") and not parts.path.startswith("//") else default


@router.get(
    "/records/{table}/{record_id}/queries",
    dependencies=[Depends(permit(Action.READ))],
    name="raise_query_reloaded",
)
def raise_query_reloaded(table: str, record_id: int) -> Response:
    """The raise's URL reloaded (a refused question leaves it in the address bar): to the record's page
    (303), not a 405 page; that page checks who may see the record (D-19.1263)."""
    from urllib.parse import quote

    return redirect(f"/records/{quote(table, safe='')}/{record_id}")


@router.get(
    "/queries/{query_code}/answer", dependencies=[Depends(permit(Action.READ))], name="answer_query_reloaded"
)
@router.get(
    "/queries/{query_code}/close", dependencies=[Depends(permit(Action.READ))], name="close_query_reloaded"
)
def query_step_reloaded(query_code: str) -> Response:
    """An answer's or close's URL reloaded (a refused text leaves it in the address bar): to the queries
    page (303), not a 405 page (D-19.1263)."""
    return redirect("/queries")


@router.post("/records/{table}/{record_id}/queries", dependencies=[CSRF], name="raise_query")
def raise_query(
    request: Request,
    table: str,
    record_id: int,
    text: str = Form(""),
    field: str = Form(""),
    user: WebUser = Depends(permit(Action.RAISE_QUERY)),
) -> Response:
    """Raise a query on a record (optionally on one field). A question the store refuses (empty, too long)
    is shown again on the record's page with the problem at its box (422, D-19.282)."""
    record = views.require_record(user.service, sites(user), table, record_id)
    try:
        user.service.raise_query(table, record_id, text, field or None)
    except StoredValueError:  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
        raise
    except InputError as exc:
        from cartrial.web.pages.entry import record_form, refused_raise_page

        return refused_raise_page(request, user, record_form(table), record, text, field, said(exc))
    return redirect(f"/records/{table}/{record_id}", "raised")


@router.post("/queries/{query_code}/answer", dependencies=[CSRF], name="answer_query")
def answer_query(
    request: Request,
    query_code: str,
    answer: str = Form(""),
    user: WebUser = Depends(permit(Action.ANSWER_QUERY)),
) -> Response:
    """Answer an open query (investigators: of their site's subjects). An answer the store refuses (empty,
    too long) is shown again on the queries page with the problem at its box (422, D-19.253)."""
    return _query_step(request, user, query_code, "answer", answer)


@router.post("/queries/{query_code}/close", dependencies=[CSRF], name="close_query")
def close_query(
    request: Request,
    query_code: str,
    reason: str = Form(""),
    user: WebUser = Depends(permit(Action.RAISE_QUERY)),
) -> Response:
    """Close a query (reason required). A reason the store refuses (empty, too long) is shown again on the
    queries page with the problem at that query's box (422, D-19.282)."""
    return _query_step(request, user, query_code, "close", reason)


_STEPS: dict[str, tuple[str, str, str]] = {
    "answer": ("answers", "answer_problems", "answered"),
    "close": ("closes", "close_problems", "closed"),
}
"""A step on a query -> the `_query_page` arguments keeping a refused text and its problem, and the word
of the notice after it is done."""


def _query_step(request: Request, user: WebUser, query_code: str, step: str, text: str) -> Response:
    """Answer or close one query through the store (`answer_query` / `close_query`: role, site, audit). A
    query of another site is not found, as an unknown one (404, D-19.345); a text the store refuses comes
    back in that query's box with the problem next to it (422); done: back to the page it came from."""
    views.require_query(user.service, query_code)
    write = user.service.answer_query if step == "answer" else user.service.close_query
    kept, problems, done = _STEPS[step]
    try:
        write(query_code, text)
    except StoredValueError:  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
        raise
    except InputError as exc:
        refused = {kept: {query_code: text}, problems: {query_code: said(exc)}}
        return _query_page(request, user, None, None, None, status_code=422, **refused)
    return redirect(_back(request, "/queries"), done)
