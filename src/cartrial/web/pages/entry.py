"""Data entry: a new record of any subject form, a saved record (view, edit with a reason, queries), and
the live check of a form being filled in (validation next to each field and the engine's conclusion).

Validation is the import's (`cartrial.web.forms.validate` → `cartrial.store.fields.validate_record`), the
preview is the engines' (`cartrial.web.preview.preview`); every write is a store call (`insert_record`,
`update_record` with the version read when the form was opened — a stale one is refused: "changed since
you opened it"); locked records are shown read-only with the lock named.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from cartrial.allowed import RECORD_VERSION, record_version
from cartrial.columns import trim_blanks
from cartrial.errors import ConflictError, InputError, Problem, StoredValueError
from cartrial.store import stored_dates
from cartrial.store.permissions import Action, write_action
from cartrial.web import views
from cartrial.web.errors import bounded_text
from cartrial.web.pages.common import (
    done_message,
    field_name,
    field_views,
    other_problems,
    page_router,
    problem_text,
    problems_by_field,
    redirect,
    sites,
    subject_path,
)
from cartrial.web.security import CSRF, WebUser, permit
from cartrial.web.templating import render

router = page_router()

UNCHECKED_HEADER = (
    "The edit checks of this record cannot read these other records of the subject: each holds a date "
    "that cartrial never stores (changed directly in the database), so the checks that compare with them "
    "do not run (a save is still possible: its audit trail and a data query name these records)."
)
"""The record page's notice of the records its edit checks leave out, computed (D-19.644)."""

NOT_ENTERED_HERE = frozenset({"subject", "site", "escalation_decision"})
"""Tables whose records are not created from a subject's casebook (subjects by import or the API; sites by
an administrator; escalation decisions on the escalation dashboard)."""


def form_title(form_name: str) -> str:
    from cartrial.web.forms import form_title as title

    return title(form_name)


def _entry_form(form_name: str) -> Any:
    from cartrial.web.forms import form

    spec = form(form_name)
    if spec.table in NOT_ENTERED_HERE:
        raise views.NotVisible(f"form {form_name!r} is not entered from a casebook")
    return spec


async def _zone(request: Request) -> str | None:
    """The time zone the form's clinic times are read in (None: the form sent no choice; D-19.285)."""
    from cartrial.web.forms import ZONE_FIELD

    value = (await request.form()).get(ZONE_FIELD)
    return value if isinstance(value, str) else None


def _source(local: Any) -> str:
    """The audit source of a web write: the zone its clinic times were read in, if any (D-19.285)."""
    return "web" if local.zone is None else f"web (clinic times read in {local.zone})"


async def _posted(request: Request, names: list[str]) -> dict[str, str]:
    data = await request.form()
    out: dict[str, str] = {}
    for name in names:
        value = data.get(name)
        if isinstance(value, str):
            out[name] = value
    return out


def _preview(form_name: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The engine's conclusion from the form's own fields (a stored record's id, version and time stamps,
    the time-zone selector and the page's other inputs are no values of it: the preview refuses a field
    the form does not have, D-19.1043)."""
    from cartrial.web.forms import form
    from cartrial.web.preview import preview

    names = set(form(form_name).field_names)
    filled = {
        k: views.form_value(v)
        for k, v in values.items()
        if v not in (None, "") and k != "subject_id" and k in names
    }
    return preview(form_name, filled) if filled else None


def _form_page(
    request: Request,
    user: WebUser,
    *,
    spec: Any,
    subject_id: str | None,
    values: Mapping[str, Any],
    problems: list[Problem],
    mode: str,
    record: Mapping[str, Any] | None = None,
    conflict: str | None = None,
    conflict_link: str | None = None,
    reason: str = "",
    status_code: int = 200,
    action: str | None = None,
    raising: Mapping[str, str] | None = None,
    zone: str | None = None,
    utc: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """`zone`: the time zone chosen for clinic times (a form shown again after a save); None: the site's
    (D-19.285). `utc`: the UTC values of the clinic times read in it."""
    from cartrial.web.forms import ZONE_FIELD, datetime_fields, site_clock_hints

    handle = user.service
    if utc is None and record is not None:  # a stored record: its instants on the site's clock (D-19.1259)
        utc = site_clock_hints(spec.name, values, views.record_time_zone(handle, subject_id, values))
    protocol = views.study_protocol(handle)
    lock = views.lock_of(handle)
    locked = record is not None and views.record_locked(spec.table, record, lock)
    # the table's own write action (an escalation decision's, a site's), as the save checks it (D-19.410)
    if mode == "edit" and (locked or not user.may(write_action(spec.table, Action.EDIT))):
        mode = "view"
    fixed = ("subject_id",) if subject_id is not None and "subject_id" in spec.field_names else ()
    queries = views.record_queries(handle, spec.table, int(record["id"])) if record is not None else []
    if queries:  # when each was raised, on the subject's site's clock as the form's times (D-19.923)
        clock = views.record_time_zone(handle, subject_id, record or {})  # a site record too (D-19.925)
        queries = [
            {**q, "raised_when": views.moment_on_site_clock(q.get("raised_at"), clock)} for q in queries
        ]
    context = {
        "title": form_title(spec.name)
        + (f" · record {record['id']}" if record is not None else " · new record")
        + (f" · {subject_id}" if subject_id else ""),
        "spec": spec,
        "mode": mode,
        "record": record,
        "subject_id": subject_id,
        "groups": field_views(
            spec.name,
            values,
            problems,
            protocol,
            fixed=fixed,
            left_out=views.study_fields_left_out(handle, spec.name),
            utc=utc,
        ),
        "form_problems": other_problems([p for p in problems if p.field != ZONE_FIELD], spec.name),
        "problem_count": len(problems),
        "preview": _preview(spec.name, values),
        "locked": locked,
        "lock_text": lock.describe() if (locked and lock) else None,
        "conflict": conflict,
        "conflict_link": conflict_link,
        "reason": reason,
        "queries": queries,
        "query_fields": spec.field_names,
        "may_raise": user.may(Action.RAISE_QUERY),
        "may_answer": user.may(Action.ANSWER_QUERY),
        "may_close": user.may(Action.RAISE_QUERY),
        "done": done_message(request),
        "unchecked": [] if record is None else views.checks_left_out(handle, spec.table, int(record["id"])),
        "unchecked_header": UNCHECKED_HEADER,
        "nav": "subjects",
        "action": action,
        "raising": raising or {},
        "zone_field": ZONE_FIELD,
        "time_zones": _zone_choice(handle, spec, subject_id, values, zone)
        if datetime_fields(spec.name)
        else None,
        "zone_problems": [problem_text(p) for p in problems if p.field == ZONE_FIELD],
    }
    return render(request, "record_form.html", context, status_code=status_code)


def _zone_choice(
    handle: Any, spec: Any, subject_id: str | None, values: Mapping[str, Any], zone: str | None
) -> dict[str, Any]:
    """The time-zone selector of a form with date-time fields (D-19.285): the site's zone (of the subject,
    or of the site typed on the subjects form), the zone chosen (default: the site's), every IANA zone."""
    site_zone = views.record_time_zone(handle, subject_id, values)
    chosen = site_zone if zone is None else zone
    return {"site": site_zone, "chosen": chosen or "", "zones": _all_zones()}


@cache
def _all_zones() -> list[str]:
    import zoneinfo

    return sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC")


def refused_raise_page(
    request: Request, user: WebUser, spec: Any, record: Mapping[str, Any], text: str, field: str, problem: str
) -> HTMLResponse:
    """The record's page after the store refused a query raised on it: the question as typed in its box,
    the field chosen, the problem next to the box (422, D-19.282)."""
    return _form_page(
        request,
        user,
        spec=spec,
        subject_id=views.record_subject(spec.table, record),
        values=record,
        problems=[],
        mode="edit",
        record=record,
        status_code=422,
        raising={"text": text, "field": field, "problem": problem},
    )


def _problems_of(exc: InputError) -> list[Problem]:
    return list(exc.problems) or [Problem(str(exc))]


@router.get("/subjects/new", response_class=HTMLResponse, name="new_subject")
def new_subject(request: Request, user: WebUser = Depends(permit(Action.ENTER))) -> HTMLResponse:
    """Enrol a subject: an empty subjects form (investigators: their own site)."""
    from cartrial.web.forms import form

    values = {"site_id": user.site_id} if user.site_id else {}
    return _form_page(
        request,
        user,
        spec=form("subjects"),
        subject_id=None,
        values=values,
        problems=[],
        mode="new",
        action="/subjects",
    )


def _existing_link(user: WebUser, exc: ConflictError | StoredValueError) -> str | None:
    """The page of the record a duplicate key names, if the user may see it (D-19.283): a record of a
    site the user may not see is not linked (the store's text names its id only)."""
    existing = getattr(exc, "existing", None)
    if existing is None:
        return None
    table, record_id = existing
    try:
        views.require_record(user.service, sites(user), table, record_id)
    except views.NotVisible:
        return None
    return f"/records/{table}/{record_id}"


def _codes(raised: list[Any]) -> str | None:
    """The codes of the data queries a save raised, for the confirmation (`done_message`, D-19.130)."""
    return ",".join(q.code for q in raised) or None


def _site_problems(
    user: WebUser, table: str, values: Mapping[str, Any], *, editing: bool = False
) -> list[Problem]:
    """A site-restricted user (an investigator) enrols subjects at their own site only, and may not move a
    subject to another site: the store refuses any other (`cartrial.store.permissions.check_sites`, a 403
    page that lost the entries); said at the site field of the subjects form instead, the entries kept
    (D-19.251 for a new subject, D-19.281 for an edit). The rule is the store's, asked here."""
    from cartrial.errors import PermissionDeniedError
    from cartrial.store.permissions import check_sites

    given = values.get("site_id")
    site = trim_blanks(given) if isinstance(given, str) else ""
    if table != "subject" or not site:
        return []  # a blank site is the field rules' (required)
    try:
        check_sites(user.username, user.role, user.site_id, [site], "the subject")
        return []
    except PermissionDeniedError:
        pass
    return [
        Problem(
            "you may keep subjects at your own site only (a data manager moves a subject to another site)"
            if editing
            else "you may enrol subjects at your own site only",
            field="site_id",
            allowed=str(user.site_id or "none: ask an administrator for your site"),
        )
    ]


def _create_subject(
    request: Request, user: WebUser, values: dict[str, Any], zone: str | None = None
) -> Response:
    from cartrial.web.forms import form, localize, typed_values, validate

    spec = form("subjects")
    protocol = views.study_protocol(user.service)
    local = localize(spec.name, values, zone)
    problems = (
        validate(spec.name, local.values, protocol=protocol)
        + local.problems
        + _site_problems(user, spec.table, values)
    )
    raised: list[Any] = []
    if not problems:
        try:
            user.service.insert_record(
                spec.table,
                typed_values(spec.name, local.values, protocol=protocol),
                _source(local),
                raised=raised,
            )
        except (ConflictError, StoredValueError) as exc:  # a stored date no reader reads: 409 (D-19.556)
            return _form_page(
                request,
                user,
                spec=spec,
                subject_id=None,
                values=values,
                problems=[],
                mode="new",
                conflict=str(exc),
                conflict_link=_existing_link(user, exc),
                status_code=409,
                action="/subjects",
                zone=zone,
                utc=local.utc,
            )
        except InputError as exc:
            problems = _problems_of(exc)
        else:
            return redirect(subject_path(values.get("subject_id") or ""), "saved", queries=_codes(raised))
    return _form_page(
        request,
        user,
        spec=spec,
        subject_id=None,
        values=values,
        problems=problems,
        mode="new",
        status_code=422,
        action="/subjects",
        zone=zone,
        utc=local.utc,
    )


@router.post("/subjects", dependencies=[CSRF], name="create_subject")
async def create_subject(request: Request, user: WebUser = Depends(permit(Action.ENTER))) -> Response:
    """Save a new subject (the import's validation; the store refuses another site for investigators)."""
    from cartrial.web.forms import form

    values: dict[str, Any] = dict(await _posted(request, form("subjects").field_names))
    return await run_in_threadpool(_create_subject, request, user, values, await _zone(request))


@router.get(
    "/subjects/{subject_id:segment}/forms/{form_name}/new", response_class=HTMLResponse, name="new_record"
)
def new_record(
    request: Request, subject_id: str, form_name: str, user: WebUser = Depends(permit(Action.ENTER))
) -> HTMLResponse:
    """An empty form of `form_name` for the subject; a second infusion's form says at once that the protocol
    allows one (INFUSION-ONCE, the save would refuse it; D-19.284)."""
    spec = _entry_form(form_name)
    views.require_subject(user.service, sites(user), subject_id)
    problems: list[Problem] = []
    if spec.table == "infusion" and views.rows_of(user.service, "infusion", subject_id=subject_id):
        problems.append(
            Problem(
                "the protocol allows one CAR-T infusion per subject (edit check INFUSION-ONCE) and this "
                "subject's infusion is entered: correct it on its record (the casebook links it)"
            )
        )
    return _form_page(
        request,
        user,
        spec=spec,
        subject_id=subject_id,
        values={"subject_id": subject_id},
        problems=problems,
        mode="new",
    )


def _create(
    request: Request,
    user: WebUser,
    subject_id: str,
    spec: Any,
    values: dict[str, Any],
    zone: str | None = None,
) -> Response:
    from cartrial.web.forms import localize, typed_values, validate

    handle = user.service
    views.require_subject(handle, sites(user), subject_id)
    values["subject_id"] = subject_id
    protocol = views.study_protocol(handle)
    local = localize(spec.name, values, zone)
    problems = validate(spec.name, local.values, protocol=protocol) + local.problems
    raised: list[Any] = []
    if not problems:
        try:
            record_id = handle.insert_record(
                spec.table,
                typed_values(spec.name, local.values, protocol=protocol),
                _source(local),
                raised=raised,
            )
        except (ConflictError, StoredValueError) as exc:  # a stored date no reader reads: 409 (D-19.556)
            return _form_page(
                request,
                user,
                spec=spec,
                subject_id=subject_id,
                values=values,
                problems=[],
                mode="new",
                conflict=str(exc),
                conflict_link=_existing_link(user, exc),
                status_code=409,
                zone=zone,
                utc=local.utc,
            )
        except InputError as exc:
            problems = _problems_of(exc)
        else:
            return redirect(f"/records/{spec.table}/{record_id}", "saved", queries=_codes(raised))
    return _form_page(
        request,
        user,
        spec=spec,
        subject_id=subject_id,
        values=values,
        problems=problems,
        mode="new",
        status_code=422,
        zone=zone,
        utc=local.utc,
    )


@router.get(
    "/subjects/{subject_id:segment}/forms/{form_name}",
    dependencies=[Depends(permit(Action.ENTER))],  # as the form's page
    name="create_record_reloaded",
)
def create_record_reloaded(subject_id: str, form_name: str) -> Response:
    """The save's URL reloaded (after a refused save the address bar holds it): to the empty form (303), not
    a 405 page; the form's page checks who may see it (D-19.1263)."""
    from urllib.parse import quote

    return redirect(f"{subject_path(subject_id)}/forms/{quote(form_name, safe='')}/new")


@router.post("/subjects/{subject_id:segment}/forms/{form_name}", dependencies=[CSRF], name="create_record")
async def create_record(
    request: Request, subject_id: str, form_name: str, user: WebUser = Depends(permit(Action.ENTER))
) -> Response:
    """Save a new record (the import's validation first; every problem shown next to its field)."""
    spec = _entry_form(form_name)
    user.service.check_write(spec.table, Action.ENTER)  # a write the role may not make: 403 first (D-19.725)
    values: dict[str, Any] = dict(await _posted(request, spec.field_names))
    return await run_in_threadpool(_create, request, user, subject_id, spec, values, await _zone(request))


def record_form(table: str) -> Any:
    from cartrial.web.forms import form

    try:
        return form(table)
    except InputError as exc:
        raise views.NotVisible(f"no form for table {table!r}") from exc


@router.get("/records/{table}/{record_id}", response_class=HTMLResponse, name="record")
def record_page(
    request: Request, table: str, record_id: int, user: WebUser = Depends(permit(Action.READ))
) -> HTMLResponse:
    """A saved record: editable (with a reason) for roles that may edit unless locked; its queries."""
    spec = record_form(table)
    record = views.require_record(user.service, sites(user), spec.table, record_id)
    subject = views.record_subject(spec.table, record)
    return _form_page(
        request, user, spec=spec, subject_id=subject, values=record, problems=[], mode="edit", record=record
    )


def _update(
    request: Request,
    user: WebUser,
    spec: Any,
    record_id: int,
    values: dict[str, Any],
    version: str,
    reason: str,
    zone: str | None = None,
) -> Response:
    from cartrial.web.forms import localize, typed_values

    handle = user.service
    record = views.require_record(handle, sites(user), spec.table, record_id)
    subject = views.record_subject(spec.table, record)
    if subject is not None and "subject_id" in values:
        values["subject_id"] = subject
    problems: list[Problem] = []
    if not reason.strip():
        problems.append(
            Problem("a reason for the change is required", field="reason", allowed="why the data change")
        )
    checked = record_version(version.strip())  # the declared range of every expected version (D-19.413)
    expected = -1 if checked is None else checked
    if checked is None:
        problems.append(
            Problem(
                "not a version of the record" if version.strip() else "missing version of the record",
                field="version",
                value=version,
                allowed=f"the version the record was opened at, {RECORD_VERSION.text()}",
            )
        )
    problems += _site_problems(user, spec.table, values, editing=True)
    local = localize(spec.name, values, zone)
    problems += local.problems
    raised: list[Any] = []
    if not problems:
        try:
            changes = typed_values(spec.name, local.values, protocol=views.study_protocol(handle))
            handle.update_record(
                spec.table,
                record_id,
                changes,
                expected,
                reason.strip(),
                _source(local),
                raised=raised,
            )
        except (ConflictError, StoredValueError) as exc:  # a stored date no reader reads: 409 (D-19.556)
            from cartrial.store.writes import StaleVersionError

            text = str(exc)
            if isinstance(exc, StaleVersionError):
                text = (
                    "This record was changed since you opened it (by someone else); nothing was saved. "
                    "Reload the record and apply your change again."
                )
            return _form_page(
                request,
                user,
                spec=spec,
                subject_id=subject,
                values={**values, "id": record_id, "version": expected},
                problems=[],
                mode="edit",
                record={**record, "version": expected},
                conflict=text,
                conflict_link=_existing_link(user, exc),  # a key another record holds
                reason=reason,
                status_code=409,
                zone=zone,
                utc=local.utc,
            )
        except InputError as exc:
            problems = _problems_of(exc)
        else:
            return redirect(f"/records/{spec.table}/{record_id}", "updated", queries=_codes(raised))
    return _form_page(
        request,
        user,
        spec=spec,
        subject_id=subject,
        values=values,
        problems=problems,
        mode="edit",
        # the version the user opened, as posted even when refused: never the stored one, which would let
        # the next save skip the "changed since you opened it" check (D-19.413)
        record={**record, "version": expected if expected >= 0 else version},
        reason=reason,
        status_code=422,
        zone=zone,
        utc=local.utc,
    )


@router.post("/records/{table}/{record_id}", dependencies=[CSRF], name="update_record")
async def update_record(
    request: Request, table: str, record_id: int, user: WebUser = Depends(permit(Action.EDIT))
) -> Response:
    """Save changes to a record: reason required; refused when the record changed since it was opened
    (version) or is locked (the store's answer, 409)."""
    spec = record_form(table)
    user.service.check_write(spec.table, Action.EDIT)  # a write the role may not make: 403 first (D-19.725)
    data = await request.form()
    values: dict[str, Any] = dict(await _posted(request, spec.field_names))
    version = data.get("version")
    reason = data.get("reason")
    return await run_in_threadpool(
        _update,
        request,
        user,
        spec,
        record_id,
        values,
        version if isinstance(version, str) else "",
        reason if isinstance(reason, str) else "",
        await _zone(request),
    )


def _check(
    request: Request,
    user: WebUser,
    form_name: str,
    values: dict[str, Any],
    record_id: int | None,
    zone: str | None = None,
) -> HTMLResponse:
    from cartrial.web.forms import ZONE_FIELD, datetime_fields, edit_check_problems, form, localize, validate

    spec = form(form_name)
    protocol = views.study_protocol(user.service)
    sited = _site_problems(user, spec.table, values, editing=record_id is not None)
    local = localize(spec.name, values, zone)
    values = local.values
    problems = [
        p
        for p in [*validate(spec.name, values, protocol=protocol), *local.problems, *sited]
        # while typing, a blank field is not yet a problem (it is when the form is saved)
        if values.get(field_name(p)) not in (None, "") or field_name(p) not in values
    ]
    queries: list[Problem] = []
    unchecked: list[Problem] = []
    refused: list[str] = []
    if not problems:
        # the edit checks across forms, with the subject's stored records, as the save would run them
        try:
            problems, queries = edit_check_problems(
                spec.name,
                values,
                protocol=protocol,
                handle=user.service,
                record_id=record_id,
                unchecked=unchecked,
            )
        except StoredValueError as error:  # the save's 409, shown in the fragment htmx swaps in (D-19.650)
            refused = [bounded_text(str(error))]
    by_field = problems_by_field(problems)
    return render(
        request,
        "partials/check.html",
        {
            "spec": spec,
            "names": spec.field_names,
            "by_field": by_field,
            "form_problems": [
                *refused,
                *(
                    t
                    for n, texts in by_field.items()
                    if n not in spec.field_names and n != ZONE_FIELD
                    for t in texts
                ),
            ],
            "queries": [f"{q.message} (rule: {q.allowed})" for q in queries],
            "unchecked": "; ".join(stored_dates.unread_names(unchecked)),  # bounded, never a value
            "preview": _preview(spec.name, values),
            "utc_names": datetime_fields(spec.name),
            "utc": local.utc,
            "zone_field": ZONE_FIELD,
            "zone_problems": by_field.get(ZONE_FIELD, []),
        },
    )


@router.post("/forms/{form_name}/check", dependencies=[CSRF], response_class=HTMLResponse, name="check_form")
async def check_form(
    request: Request, form_name: str, user: WebUser = Depends(permit(Action.ENTER))
) -> Response:
    """htmx fragment: the problems of the form as filled in so far, next to each field (out-of-band swaps),
    and the engine's conclusion (CRS/ICANS grade, EDSS, logMAR) — nothing is saved."""
    from cartrial.web.forms import form

    spec = form(form_name)
    try:
        values: dict[str, Any] = dict(await _posted(request, spec.field_names))
        record = (await request.form()).get("record_id")
    except ClientDisconnect:  # the browser dropped the check (the user left the page): nothing to answer
        return Response(status_code=204)
    record_id = record_id_of(record)
    # a write the role may not make: 403 before its values are judged (D-19.725)
    user.service.check_write(spec.table, Action.ENTER if record_id is None else Action.EDIT)
    zone = await _zone(request)
    return await run_in_threadpool(_check, request, user, spec.name, values, record_id, zone)


def record_id_of(value: object) -> int | None:
    """The record id a live check names (`record_id` of the form), or None: only the digits 0-9 are read
    (`str.isdecimal` and `int` take ``١٢`` as 12, D-19.520), and at most 18 of them (a BIGINT)."""
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) < 19:
        return int(value)
    return None
