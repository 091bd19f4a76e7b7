"""Import (CSV templates or a REDCap export; the store's atomic import with its row-level errors) and
export (one CSV template per form) pages."""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cartrial.errors import InputError
from cartrial.store.permissions import Action
from cartrial.web import views
from cartrial.web.pages.common import one_of, page_router, true_or_false
from cartrial.web.security import CSRF, WebUser, permit
from cartrial.web.templating import render

router = page_router()

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""Largest upload accepted by the import page (all files together): far above a phase I study's data."""


def _page(
    request: Request, user: WebUser, outcome: views.ImportOutcome | None = None, status_code: int = 200
) -> HTMLResponse:
    return render(
        request,
        "data.html",
        {
            "title": "Import and export",
            "forms": views.export_forms(user.service, user.role),
            "may_import": user.may(Action.IMPORT),
            "outcome": outcome,
            "nav": "data",
        },
        status_code=status_code,
    )


@router.get("/data", response_class=HTMLResponse, name="data")
def data_page(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """Export links for every form; the import form for roles that may import."""
    return _page(request, user)


@router.post("/data/import", dependencies=[CSRF], response_class=HTMLResponse, name="import_files")
async def import_files(request: Request, user: WebUser = Depends(permit(Action.IMPORT))) -> HTMLResponse:
    """Import uploaded files atomically: all problems listed (file, row, field), nothing written unless
    every file passes; a dry run checks only."""
    data = await request.form()
    try:  # read as sent, never a default in place of a value the page does not offer (D-19.552)
        kind = one_of("kind", data.get("kind"), ("templates", "redcap"), blank="templates")
        dry_run = true_or_false("dry_run", data.get("dry_run"), blank=False)  # an unticked box sends nothing
    except InputError as exc:
        return _page(request, user, views.ImportOutcome(False, [], [], str(exc)), status_code=422)
    reason = data.get("reason")
    uploads = [item for item in data.getlist("files") if isinstance(item, UploadFile) and item.filename]
    # the parser spooled each file to disk and counted it: the total is checked before any is read
    total = sum(item.size or 0 for item in uploads)
    files: list[tuple[str, bytes]] = []
    if total <= MAX_UPLOAD_BYTES:
        files = [(str(item.filename), await item.read()) for item in uploads]
    if not uploads or total > MAX_UPLOAD_BYTES:
        message = (
            "choose at least one file"
            if not uploads
            else f"the upload is larger than {MAX_UPLOAD_BYTES} bytes"
        )
        return _page(request, user, views.ImportOutcome(False, [], [], message), status_code=422)
    outcome = await run_in_threadpool(
        views.import_upload,
        user.service,
        files,
        kind=kind,
        dry_run=dry_run,
        reason=reason if isinstance(reason, str) and reason.strip() else None,
    )
    # a refusal by the study's data (a data lock) is the API's 409, bad input its 422 (D-19.1351)
    return _page(request, user, outcome, status_code=200 if outcome.ok else 409 if outcome.conflict else 422)
