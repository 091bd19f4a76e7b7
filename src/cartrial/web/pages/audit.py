"""Audit trail pages: of a subject, of a record, and the chain verification (`audit verify`)."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from cartrial.store.permissions import Action
from cartrial.web import views
from cartrial.web.pages.common import page_router, sites
from cartrial.web.security import WebUser, permit
from cartrial.web.templating import render

router = page_router()


@router.get("/audit", response_class=HTMLResponse, name="audit")
def audit_home(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """The audit chain's verification and, for roles that see every site, the newest audit rows."""
    visible = sites(user)
    ok, checked, message = views.verified(user.service, visible)
    rows: list[dict[str, object]] = []
    if checked is not None:  # roles that see every site: the newest rows
        newest = user.service.audit_rows(since_id=max(0, checked - 50))
        rows = views.audit_table_rows(reversed(newest))
    view = views.AuditView("Audit trail", rows, ok, checked, message)
    return render(
        request, "audit.html", {"title": "Audit trail", "view": view, "nav": "audit", "recent": True}
    )


@router.get("/audit/subjects/{subject_id:segment}", response_class=HTMLResponse, name="subject_audit")
def subject_audit(
    request: Request, subject_id: str, user: WebUser = Depends(permit(Action.READ))
) -> HTMLResponse:
    """Who changed what of one subject, when, old → new, and why."""
    view = views.subject_audit(user.service, sites(user), subject_id)
    return render(request, "audit.html", {"title": view.title, "view": view, "nav": "audit"})


@router.get("/audit/records/{table}/{record_id}", response_class=HTMLResponse, name="record_audit")
def record_audit(
    request: Request, table: str, record_id: int, user: WebUser = Depends(permit(Action.READ))
) -> HTMLResponse:
    """Who changed what of one record, when, old → new, and why."""
    view = views.record_audit(user.service, sites(user), table, record_id)
    return render(
        request,
        "audit.html",
        {
            "title": view.title,
            "view": view,
            "nav": "audit",
            "record_link": f"/records/{table}/{record_id}" if view.stored else None,
        },
    )
