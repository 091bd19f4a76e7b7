"""The safety review committee's escalation dashboard and the safety dashboard."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from cartrial.columns import utc_today
from cartrial.errors import InputError, Problem, StoredValueError
from cartrial.store.permissions import Action
from cartrial.web import views
from cartrial.web.pages.common import done_message, page_router, problems_by_field, redirect, sites
from cartrial.web.security import CSRF, WebUser, permit
from cartrial.web.templating import render

router = page_router()


def _escalation_page(
    request: Request,
    user: WebUser,
    view: dict[str, Any],
    *,
    problems: list[Problem] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    by_field = problems_by_field(problems or [])
    return render(
        request,
        "escalation.html",
        {
            "title": "Dose escalation",
            "view": view,
            "may_decide": user.may(Action.RECORD_ESCALATION),
            "by_field": by_field,
            "values": values or {},
            "today": utc_today().isoformat(),
            "done": done_message(request),
            "nav": "escalation",
        },
        status_code=status_code,
    )


@router.get("/escalation", response_class=HTMLResponse, name="escalation")
def escalation(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """Cohorts by dose level, DLT windows, DLTs, the design's recommendation and decision table."""
    view = views.escalation_view(user.service, sites(user))
    return _escalation_page(request, user, view)


@router.post("/escalation/decision", dependencies=[CSRF], name="record_decision")
def record_decision(
    request: Request,
    decision: str = Form(""),
    dose_level: str = Form(""),
    decided_on: str = Form(""),
    reason: str = Form(""),
    approved_by: str = Form(""),
    user: WebUser = Depends(permit(Action.RECORD_ESCALATION)),
) -> Response:
    """Record the committee's decision for the pending cohort (`cartrial.web.escalation.record_decision`:
    a reason is required when it differs from the design's recommendation)."""
    from cartrial.web.escalation import record_decision as store_decision

    view = views.escalation_view(user.service, sites(user))
    values = {
        "decision": decision,
        "dose_level": dose_level,
        "decided_on": decided_on,
        "reason": reason,
        "approved_by": approved_by,
    }
    problems: list[Problem] = []
    if not view.get("decidable"):
        problems.append(
            Problem("no cohort has completed its DLT window waiting for a decision", field="cohort")
        )
    if decision not in views.DECISIONS:
        problems.append(
            Problem(
                "choose a decision", field="decision", value=decision, allowed=" | ".join(views.DECISIONS)
            )
        )
    try:
        level = int(dose_level)
    except ValueError:
        level = 0
        problems.append(Problem("not a dose level", field="dose_level", value=dose_level))
    try:
        day = dt.date.fromisoformat(decided_on)
    except ValueError:
        day = utc_today()
        problems.append(Problem("not an ISO 8601 date (YYYY-MM-DD)", field="decided_on", value=decided_on))
    if not problems:
        try:
            store_decision(
                request.app.state.service,
                user.service,
                cohort=int(view["next_cohort"]),
                dose_level=level,
                decided_on=day,
                outcomes=str(view["pending"]["outcomes"]),
                decision=decision,
                reason=reason or None,
                today=utc_today(),
                approved_by=approved_by,
            )
        except StoredValueError:  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
            raise
        except InputError as exc:
            problems = list(exc.problems)
        else:
            return redirect("/escalation", "decision")
    return _escalation_page(request, user, view, problems=problems, values=values, status_code=422)


@router.get("/safety", response_class=HTMLResponse, name="safety")
def safety(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """CRS/ICANS grade by patient and day (heat map), cytopenias, serious adverse events — the analysis
    layer's datasets of a snapshot at the lock's cut-off (or today)."""
    view = views.safety_view(user.service, sites(user))
    return render(request, "safety.html", {"title": "Safety", "view": view, "nav": "safety"})
