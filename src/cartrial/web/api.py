"""The JSON API under ``/api/v1``: every operation through the store services.

Roles, site restriction, reason for change, the data lock and the audit chain apply exactly as on the
command line, because every call goes through `cartrial.store.StudyUser`. Each route declares the store
action it needs (`cartrial.web.security.permit`). Errors are ``{error, field, value, allowed}`` with a 4xx
status (`cartrial.web.errors`).

Optimistic concurrency: reading a record returns its version token (``version_token`` and the ``ETag``
header); an update must send it back (``If-Match`` header or ``version_token`` in the body). The store
checks it inside the write transaction that holds the audit-chain lock
(`cartrial.store.writes.update_record`), so of concurrent editors exactly one wins; the others get 409
"changed since you opened it" and nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Header, Path, Query, Request, Response, UploadFile
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from cartrial.allowed import RECORD_VERSION, record_version
from cartrial.columns import not_after_today, utc_today
from cartrial.errors import ConflictError, InputError, Problem, StoredValueError
from cartrial.store.permissions import Action
from cartrial.store.stored_dates import bounded
from cartrial.store.tables import MAX_REASON_LENGTH
from cartrial.web import paths  # noqa: F401  (registers the route convertor "segment", D-19.1129)
from cartrial.web.errors import JSONBodyRoute, NotFoundError
from cartrial.web.security import WebUser, api_user, credential, permit, public

__all__ = ["router"]


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str
    field: str | None = None
    value: str | None = None
    allowed: str | None = None
    problems: list[dict[str, Any]] | None = None
    problems_total: int | None = None
    """How many problems there are (``problems`` lists at most the first 1,000; a data lock's refusal lists
    at most 100 of its frozen records, one problem each)."""
    records_total: int | None = None
    """A conflict (409): how many records the refusal concerns, as the store counts them (D-19.1421)."""
    more: str | None = None
    """A conflict (409): the store's count of the records not listed one by one (a summary, not a record)."""


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 422, 429)
}
router = APIRouter(responses=ERRORS, route_class=JSONBodyRoute)


def _form_names() -> list[str]:
    from cartrial.web.forms import form_names

    return form_names()


FormName = StrEnum("FormName", {name: name for name in _form_names()})  # type: ignore[misc]
"""The data-entry forms (the import templates' names), so that the schema lists them."""
QUERY_CODE = r"^Q-[0-9]{6}$"


# -- bodies -------------------------------------------------------------------------------------------


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in_minutes: float


class Me(BaseModel):
    username: str
    role: str
    site_id: str | None
    actions: list[str]
    csrf_token: str | None = None
    """For a session-cookie client: the token to send as ``X-CSRF-Token`` on writes (None with a bearer
    token, which needs none)."""


class RecordIn(BaseModel):
    """A new record: field values as typed (text) or JSON values."""

    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any]


class RecordChange(BaseModel):
    """Changed field values, the reason for the change, and the version token read with the record
    (or send it as the ``If-Match`` header)."""

    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any]
    reason: str | None = None
    version_token: str | None = None


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None


class Values(BaseModel):
    model_config = ConfigDict(extra="forbid")
    values: dict[str, Any]
    partial: bool = True
    record_id: int | None = Field(
        default=None, description="the stored record these values change (validate: its edit checks)"
    )


class Record(BaseModel):
    """One stored record with its id, version and version token."""

    form: str
    id: int
    version: int
    version_token: str
    values: dict[str, Any]


class RecordPage(BaseModel):
    form: str
    total: int
    limit: int
    offset: int
    items: list[Record]


class RaisedQueryOut(BaseModel):
    """A data query the write's edit checks raised (code, check and where; never a value, D-12.2)."""

    code: str
    check: str
    table: str
    field: str | None = None
    record_id: int | None = None


class Saved(BaseModel):
    form: str
    id: int
    version: int
    version_token: str
    queries: list[RaisedQueryOut] = []
    """The data queries the write raised (D-19.130)."""
    unchecked: list[str] = []
    """The subject's other records the write's edit checks could not read (an edit's, D-19.562; a new
    record's, D-19.643), each ``<table> record <id>, <field>: …``, never the value."""


class _UncheckedWhenAny(BaseModel):
    """An answer whose `unchecked` (the subject's records the edit checks could not read) is written only
    when the checks left a record out: the answer is otherwise as before (D-19.562, D-19.650)."""

    @model_serializer(mode="wrap")
    def _unchecked_when_any(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("unchecked"):
            data.pop("unchecked", None)
        return data


class Deleted(_UncheckedWhenAny):
    form: str
    id: int
    queries: list[RaisedQueryOut] = []
    """The data queries the delete's reconciling edit checks raised on the subject's remaining records
    (D-19.103, D-19.160)."""
    unchecked: list[str] = []
    """The subject's other records the delete's edit checks could not read, each ``<table> record <id>,
    <field>: …``, never the value (D-19.562)."""


class ProblemOut(BaseModel):
    message: str
    field: str | None = None
    value: str | None = None
    allowed: str | None = None
    file: str | None = None
    row: int | None = None
    line: int | None = None
    record: str | None = Field(
        None,
        description="a stored record, by the table and id `cartrial db edit` takes: pk_sample record 123",
    )


class Validation(_UncheckedWhenAny):
    ok: bool
    problems: list[ProblemOut]
    queries: list[ProblemOut] = Field(
        default_factory=list, description="soft edit checks: saving would raise these data queries"
    )
    unchecked: list[str] = Field(
        default_factory=list,
        description="the subject's other records the edit checks could not read (a stored date no reader "
        "reads), left out as the save leaves them out: `<table> record <id>, <field>: …`; only when any "
        "(D-19.650)",
    )


class QueryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: FormName
    record_id: int
    text: str
    field: str | None = None


class QueryAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: str


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


class LockOut(BaseModel):
    locked: bool
    description: str | None = None
    details: dict[str, Any] | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=80)
    role: str
    site_id: str | None = None
    full_name: str | None = None
    password: str | None = Field(
        default=None, description="Initial password (the store's policy, cartrial.store.users.PASSWORD_RULE)."
    )


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = None
    role: str | None = None
    site_id: str | None = Field(
        default=None, description='The new site: absent keeps the site, "" clears it (D-19.922).'
    )
    active: bool | None = None


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(
        description="New password (the store's policy, cartrial.store.users.PASSWORD_RULE)."
    )
    current_password: str | None = Field(
        default=None,
        description="Your current password: required when you set your own password (D-19.818).",
    )
    reason: str | None = None


# -- helpers ------------------------------------------------------------------------------------------


def _form(name: str) -> Any:
    from cartrial.web.forms import form

    try:
        return form(name)
    except InputError as exc:
        raise NotFoundError(exc.problems) from None


def version_token(record: dict[str, Any]) -> str:
    """The version token of a record: its table, id and version (the store's optimistic-concurrency
    column; no schema change)."""
    return f"{record['id']}-{record['version']}"


def _expected_version(
    record_id: int, token: str | None, field: str = "If-Match", write: str = "an update"
) -> int:
    """The version a token names; a token that is not one of this record is refused at `field`, where the
    caller sent it (the ``If-Match`` header or the body's ``version_token``). `write`: the write that sent
    it (``an update``, ``a delete``), named when no token was sent. ``If-Match`` is compared strongly (RFC
    9110 §13.1.1): a weak tag ``W/"…"`` is refused, and so is ``*`` (any version), which would defeat the
    lost-update check (D-19.726)."""
    allowed = "the ETag / version_token of the record (read it with GET first)"
    if not token or not token.strip():
        raise InputError(
            Problem(
                f"{write} must send the version token read with the record",
                field="If-Match",
                allowed=allowed,
            )
        )
    text = token.strip()
    if field == "If-Match" and text == "*":
        raise InputError(
            Problem(
                f"If-Match: * (any version) is not taken: {write} names the version it read",
                field=field,
                allowed=allowed,
            )
        )
    if field == "If-Match" and text.startswith("W/"):
        raise InputError(
            Problem(
                "a weak ETag (W/...) never matches in If-Match (RFC 9110 strong comparison)",
                field=field,
                allowed=f'the strong ETag sent by GET, "{record_id}-<version>"',
            )
        )
    if field == "If-Match" and len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]  # the ETag as GET sends it; bare, it is the body's version_token (D-19.726)
    ident, _, version = text.partition("-")
    expected = record_version(version)  # the declared range of every expected version (D-19.413)
    # compared as written: no leading zero, sign or stray quote takes another token's place (D-19.726)
    if ident != str(record_id) or expected is None or version != str(expected):
        raise InputError(
            Problem(
                "not a version token of this record",
                field=field,
                value=token,
                allowed=f"{record_id}-<version>, as returned by GET (version {RECORD_VERSION.text()})",
            )
        )
    return expected


def _public(values: dict[str, Any]) -> dict[str, Any]:
    from cartrial.store.tables import HOUSEKEEPING_COLUMNS, MASKED_COLUMNS

    return {
        k: v
        for k, v in values.items()
        if k not in MASKED_COLUMNS
        and k not in ("id", "version")
        and (k not in HOUSEKEEPING_COLUMNS or k in ("created_at", "updated_at"))
    }


def _record(form_name: str, row: dict[str, Any]) -> Record:
    return Record(
        form=form_name,
        id=int(row["id"]),
        version=int(row["version"]),
        version_token=version_token(row),
        values=_public(row),
    )


def _visible(user: WebUser, table: str, record_id: int) -> dict[str, Any]:
    try:
        return user.service.visible_record(table, record_id)
    except StoredValueError:  # the record is there, its stored value is not (409, D-19.556)
        raise
    except InputError as exc:
        raise NotFoundError(exc.problems) from None


def _protocol(request: Request) -> Any:
    from cartrial.store.fields import study_protocol

    with request.app.state.service.read() as connection:
        return study_protocol(connection)


def _stale(exc: ConflictError, field: str, token: str) -> ConflictError:
    """The 409 of a version token read before another change, located at the header or body field the
    caller sent it in, with that token (their own input) as the value (D-19.551)."""
    return ConflictError(
        f"the record changed since you opened it; nothing was saved: reload it ({exc})",
        problem=Problem(
            "the record changed since this version token was read",
            field=field,
            value=token,
            allowed="the record's current version token: GET the record again (its ETag) and apply your "
            "change to it",
        ),
    )


# -- authentication -----------------------------------------------------------------------------------


@router.post("/token", response_model=Token, tags=["auth"], dependencies=[Depends(public)])
def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """OAuth2 password flow: a bearer token for `Authorization: Bearer <token>` (a store session: it
    expires after the idle timeout, and at logout)."""
    from cartrial.web.app import login_user

    user, session = login_user(request, form.username, form.password, "web api token")
    minutes = request.app.state.settings.session_minutes
    return Token(access_token=credential(session, user.username), expires_in_minutes=minutes)


@router.post("/logout", status_code=204, tags=["auth"])
def logout(user: Annotated[WebUser, Depends(api_user)]) -> Response:
    """End the session of this token (or cookie)."""
    from cartrial.store.auth import end_session

    end_session(user.service.engine, user.token)
    return Response(status_code=204)


@router.get("/me", response_model=Me, tags=["auth"])
def me(request: Request, user: Annotated[WebUser, Depends(api_user)]) -> Me:
    """Who is logged in, and the actions the role may perform (the store's permission matrix)."""
    from cartrial.web.security import csrf_token

    return Me(
        username=user.username,
        role=user.role,
        site_id=user.site_id,
        actions=[a.value for a in Action if user.may(a)],
        csrf_token=csrf_token(request) if user.method == "session" else None,
    )


# -- forms --------------------------------------------------------------------------------------------


@router.get("/forms", tags=["forms"])
def list_forms(
    request: Request, user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> list[dict[str, Any]]:
    """The study's data-entry forms with their fields and rules (type, unit, range, allowed values): every
    form less the form of an outcome the study does not collect (D-19.70, `views.study_form_names`)."""
    from cartrial.web import views
    from cartrial.web.forms import forms

    protocol = _protocol(request)
    offered = views.study_form_names(user.service)
    return [f.describe(protocol) for f in forms().values() if f.name in offered]


@router.get("/forms/{form}", tags=["forms"])
def describe_form(
    request: Request, form: FormName, user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> dict[str, Any]:
    """One form's fields and rules."""
    return dict(_form(form).describe(_protocol(request)))


@router.post("/forms/{form}/validate", response_model=Validation, tags=["forms"])
def validate_values(
    request: Request, form: FormName, body: Values, user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> Validation:
    """The import's validation of (unsaved) form values: every problem located by field. Values that
    pass the field rules are also run through the edit checks across forms with the subject's stored
    records, as saving them would be (`record_id`: changes to that record): a hard check is a problem
    (the save would be refused), a soft one is listed in `queries` (the save would raise that data query).
    Nothing is written."""
    from cartrial.store.permissions import write_action
    from cartrial.web.forms import edit_check_problems, validate

    spec = _form(form)
    if write_action(spec.table, Action.ENTER) is not Action.ENTER:
        # a table of its own write permission (sites, escalation decisions): a role that may not write it
        # has no values of it judged (D-19.725); other forms stay open to every reader
        _may_write(user, spec.table, Action.ENTER if body.record_id is None else Action.EDIT)
    protocol = _protocol(request)
    problems = validate(spec.name, body.values, protocol=protocol, partial=body.partial)
    queries: list[Problem] = []
    unchecked: list[Problem] = []
    if not problems:
        problems, queries = edit_check_problems(
            spec.name,
            body.values,
            protocol=protocol,
            handle=user.service,
            record_id=body.record_id,
            unchecked=unchecked,
        )
    return Validation(
        ok=not problems,
        problems=[ProblemOut(**p.as_dict()) for p in problems],
        queries=[ProblemOut(**p.as_dict()) for p in queries],
        unchecked=[str(p) for p in bounded(unchecked)],
    )


@router.post("/forms/{form}/preview", tags=["forms"])
def preview_values(
    form: FormName, body: Values, user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> dict[str, Any]:
    """What the engine concludes from (unsaved) form values: CRS/ICANS grade and rule, EDSS, logMAR."""
    from cartrial.web.preview import preview

    spec = _form(form)
    return {"form": spec.name, "preview": preview(spec.name, body.values)}


# -- records ------------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
FilterId = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=40,
        description="leave it out for every one; a blank value is refused (422), never read as a filter "
        "matching nothing or as none (D-19.1039)",
    ),
]
"""A list's subject or site filter: given, a non-blank id. A blank one (``?subject_id=``, a client's unset
variable) was a filter that matched no record on ``GET /records/{form}`` and no filter at all on
``GET /queries`` (D-19.1039)."""


def _filter_id(parameter: str, table: str, value: str | None) -> str | None:
    """A list's subject or site filter as given, refused at `parameter` when the key-text rule refuses it
    (`fields.lookup_text_problem`, value-free): a space-only ``?site_id=%20`` was a filter matching no
    record, 200 with none listed, where a blank one is 422 (D-19.1039)."""
    from dataclasses import replace

    from cartrial.store.fields import lookup_text_problem

    problem = None if value is None else lookup_text_problem(table, parameter, value)
    if problem is not None:
        raise InputError(replace(problem, field=parameter))
    return value


@router.get("/records/{form}", response_model=RecordPage, tags=["records"])
def list_records(
    form: FormName,
    user: Annotated[WebUser, Depends(permit(Action.READ))],
    limit: Limit = 100,
    offset: Offset = 0,
    subject_id: FilterId = None,
    site_id: FilterId = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> RecordPage:
    """Records of a form, in id order: a page (`limit`, `offset`), filtered by subject, site and the
    form's clinical date. An investigator sees only the subjects of their own site."""
    from cartrial.store.reads import list_filters

    spec = _form(form)
    subject_id = _filter_id("subject_id", "subject", subject_id)
    site_id = _filter_id("site_id", "site", site_id)
    equals: dict[str, Any] = {}
    if subject_id is not None:
        if spec.subject_column is None:
            raise InputError(Problem("this form has no subject", field="subject_id", value=subject_id))
        equals[spec.subject_column] = subject_id
    # a filter the form's table cannot apply is refused, never ignored: every record listed as if it
    # matched (escalation decisions are study-wide, sites have no clinical date; D-19.1041)
    by_site, by_date = list_filters(spec.table)
    if site_id is not None and not by_site:
        raise InputError(
            Problem(
                "this form's records belong to no site (study-wide)",
                field="site_id",
                value=site_id,
                allowed="leave site_id out",
            )
        )
    for name, day in (("date_from", date_from), ("date_to", date_to)):
        if day is not None and not by_date:
            raise InputError(
                Problem("this form has no clinical date", field=name, allowed=f"leave {name} out")
            )
    rows, total = user.service.page_records(
        spec.table,
        equals=equals,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
        offset=offset,
        sites=None if site_id is None else [site_id],
    )
    return RecordPage(
        form=spec.name, total=total, limit=limit, offset=offset, items=[_record(spec.name, r) for r in rows]
    )


RecordId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("/records/{form}/{record_id}", response_model=Record, tags=["records"])
def read_record(
    form: FormName,
    record_id: RecordId,
    response: Response,
    user: Annotated[WebUser, Depends(permit(Action.READ))],
) -> Record:
    """One record with its version token (also the `ETag` header; send it back as `If-Match`)."""
    spec = _form(form)
    row = _visible(user, spec.table, record_id)
    response.headers["ETag"] = f'"{version_token(row)}"'
    return _record(spec.name, row)


def _require_visible_subject(user: WebUser, table: str, subject_id: str) -> None:
    """A site-restricted user writing for a subject of another site is answered as for a subject that does
    not exist (404, the site not named), as its records are on reads (docs/web.md "as if absent"); the
    store's refusal named the other site, so telling apart "exists elsewhere" from "absent"."""
    from cartrial.web.views import NotVisible, require_subject

    try:
        require_subject(user.service, None if user.sites is None else frozenset(user.sites), subject_id)
    except NotVisible:
        raise NotFoundError(
            Problem(
                "no subject with this id that you may see",
                field=f"{table}.subject_id",
                value=subject_id,
                allowed="a subject of your site",
            )
        ) from None


@router.post("/records/{form}", response_model=Saved, status_code=201, tags=["records"])
def create_record(
    request: Request,
    form: FormName,
    body: RecordIn,
    response: Response,
    user: Annotated[WebUser, Depends(permit(Action.ENTER))],
) -> Saved:
    """Enter a new record (the import's validation and edit checks; the subject's site for investigators;
    refused while the data lock covers its date)."""
    from cartrial.web.forms import typed_values

    spec = _form(form)
    _may_write(user, spec.table, Action.ENTER)
    subject = body.values.get("subject_id")
    # a new subject names a subject not yet enrolled (its site is checked by the store; a subject id
    # another site holds is a key that cannot be used, D-19.297), as the subjects form (D-19.174)
    if user.sites is not None and isinstance(subject, str) and spec.table != "subject":
        _require_visible_subject(user, spec.table, subject)
    values = typed_values(spec.name, body.values, protocol=_protocol(request))
    raised: list[Any] = []
    unchecked: list[Any] = []
    record_id = user.service.insert_record(spec.table, values, "web", raised=raised, unchecked=unchecked)
    row = user.service.get_record(spec.table, record_id)
    response.headers["ETag"] = f'"{version_token(row)}"'
    response.headers["Location"] = f"/api/v1/records/{spec.name}/{record_id}"
    return Saved(
        form=spec.name,
        id=record_id,
        version=int(row["version"]),
        version_token=version_token(row),
        queries=[RaisedQueryOut(**q.as_dict()) for q in raised],
        unchecked=[str(p) for p in bounded(unchecked)],
    )


def _may_write(user: WebUser, table: str, route_action: Action) -> None:
    """Refuse (403) a write the route's action allows but the table's own write action does not (sites need
    `manage_sites`, escalation decisions `record_escalation`, D-19.410) before the values are read: a role
    never has its values judged for a write it may not make (D-19.823). The store's own check
    (`StudyUser.check_write`, D-19.725), which the write makes again."""
    user.service.check_write(table, route_action)


def _update(
    form: FormName,
    record_id: int,
    body: RecordChange,
    if_match: str | None,
    response: Response,
    user: WebUser,
    protocol: Any,
) -> Saved:
    from cartrial.store.writes import StaleVersionError
    from cartrial.web.forms import typed_values

    spec = _form(form)
    _may_write(user, spec.table, Action.EDIT)
    field, token = ("If-Match", if_match) if if_match else ("version_token", body.version_token)
    expected = _expected_version(record_id, token, field)
    # a stored date no reader reads: the record is visible (its site is checked first); the update
    # repairs it or refuses it by its record (D-19.560)
    with contextlib.suppress(StoredValueError):
        _visible(user, spec.table, record_id)
    subject = body.values.get("subject_id")
    if user.sites is not None and subject is not None and spec.table != "subject":
        # moved to another site's subject: as if absent (a subject renamed: its new id is a key, D-19.297)
        _require_visible_subject(user, spec.table, str(subject))
    values = typed_values(spec.name, body.values, protocol=protocol)
    raised: list[Any] = []
    unchecked: list[Any] = []
    try:
        version = user.service.update_record(
            spec.table, record_id, values, expected, body.reason, "web", raised=raised, unchecked=unchecked
        )
    except StaleVersionError as exc:
        raise _stale(exc, field, str(token)) from None
    token_ = f"{record_id}-{version}"
    response.headers["ETag"] = f'"{token_}"'
    return Saved(
        form=spec.name,
        id=record_id,
        version=version,
        version_token=token_,
        queries=[RaisedQueryOut(**q.as_dict()) for q in raised],
        unchecked=[str(p) for p in bounded(unchecked)],
    )


@router.put("/records/{form}/{record_id}", response_model=Saved, tags=["records"])
def replace_record(
    request: Request,
    form: FormName,
    record_id: RecordId,
    body: RecordChange,
    response: Response,
    user: Annotated[WebUser, Depends(permit(Action.EDIT))],
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Saved:
    """Change a record (the fields given; a reason is required): refused with 409 if it changed since the
    version token was read."""
    return _update(form, record_id, body, if_match, response, user, _protocol(request))


@router.patch("/records/{form}/{record_id}", response_model=Saved, tags=["records"])
def patch_record(
    request: Request,
    form: FormName,
    record_id: RecordId,
    body: RecordChange,
    response: Response,
    user: Annotated[WebUser, Depends(permit(Action.EDIT))],
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Saved:
    """Same as PUT: only the fields given change."""
    return _update(form, record_id, body, if_match, response, user, _protocol(request))


@router.delete("/records/{form}/{record_id}", response_model=Deleted, tags=["records"])
def delete_record(
    form: FormName,
    record_id: RecordId,
    user: Annotated[WebUser, Depends(permit(Action.DELETE))],
    reason: Annotated[str | None, Query(max_length=MAX_REASON_LENGTH)] = None,
    if_match: Annotated[str | None, Header(max_length=100)] = None,
) -> Deleted:
    """Delete a record (reason required; the whole record is kept in the audit trail). With ``If-Match``
    (the record's ETag as read) a record changed since is refused (409) and nothing is deleted (RFC 9110
    §13.1.1, D-19.817). The answer names the data queries the delete raised on the subject's remaining
    records (codes, never values)."""
    from cartrial.store.writes import StaleVersionError

    spec = _form(form)
    _may_write(user, spec.table, Action.DELETE)
    expected = None if if_match is None else _expected_version(record_id, if_match, write="a delete")
    _visible(user, spec.table, record_id)
    raised: list[Any] = []
    unchecked: list[Any] = []
    try:
        user.service.delete_record(
            spec.table,
            record_id,
            reason,
            "web",
            raised=raised,
            unchecked=unchecked,
            expected_version=expected,
        )
    except StaleVersionError as exc:
        raise _stale(exc, "If-Match", if_match or "") from None
    return Deleted(
        form=spec.name,
        id=record_id,
        queries=[RaisedQueryOut(**q.as_dict()) for q in raised],
        unchecked=[str(p) for p in bounded(unchecked)],
    )


# -- queries ------------------------------------------------------------------------------------------

QUERY_STATUSES = ("open", "answered", "closed")


@router.get("/queries", response_model=Page, tags=["queries"])
def list_queries(
    user: Annotated[WebUser, Depends(permit(Action.READ))],
    limit: Limit = 100,
    offset: Offset = 0,
    status: Annotated[str | None, Query(pattern="^(open|answered|closed)$")] = None,
    subject_id: FilterId = None,
    site_id: FilterId = None,
) -> Page:
    """Data queries, filterable by status, subject and site."""
    subject_id = _filter_id("subject_id", "subject", subject_id)
    site_id = _filter_id("site_id", "site", site_id)
    equals: dict[str, Any] = {}
    if status is not None:
        equals["status"] = status
    if subject_id is not None:
        equals["subject_id"] = subject_id
    rows, total = user.service.page_records(
        "data_query", equals=equals, limit=limit, offset=offset, sites=None if site_id is None else [site_id]
    )
    return Page(total=total, limit=limit, offset=offset, items=[_public(r) for r in rows])


@router.post("/queries", status_code=201, tags=["queries"])
def raise_query(
    body: QueryIn, user: Annotated[WebUser, Depends(permit(Action.RAISE_QUERY))]
) -> dict[str, str]:
    """Raise a query on one record (and field)."""
    spec = _form(body.form)
    _visible(user, spec.table, body.record_id)
    code = user.service.raise_query(spec.table, body.record_id, body.text, body.field)
    return {"query_code": code}


QueryCode = Annotated[str, Path(pattern=QUERY_CODE)]


@router.post("/queries/{query_code}/answer", tags=["queries"])
def answer_query(
    query_code: QueryCode, body: QueryAnswer, user: Annotated[WebUser, Depends(permit(Action.ANSWER_QUERY))]
) -> dict[str, str]:
    """Answer an open query (investigators: queries of their own site)."""
    _query_visible(user, query_code)
    user.service.answer_query(query_code, body.answer)
    return {"query_code": query_code, "status": "answered"}


@router.post("/queries/{query_code}/close", tags=["queries"])
def close_query(
    query_code: QueryCode, body: Reason, user: Annotated[WebUser, Depends(permit(Action.RAISE_QUERY))]
) -> dict[str, str]:
    """Close a query (reason required)."""
    _query_visible(user, query_code)
    user.service.close_query(query_code, body.reason)
    return {"query_code": query_code, "status": "closed"}


def _query_visible(user: WebUser, query_code: str) -> dict[str, Any]:
    from cartrial.web.views import NotVisible, require_query

    try:
        return require_query(user.service, query_code)
    except NotVisible:
        raise NotFoundError(Problem("unknown query", field="query", value=query_code)) from None


# -- audit, lock --------------------------------------------------------------------------------------


def _audit_out(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from cartrial.store.audit import AUDIT_DISPLAY_COLUMNS as keep

    return [{k: r.get(k) for k in keep} for r in rows]


@router.get("/audit/records/{form}/{record_id}", tags=["audit"])
def record_audit(
    form: FormName, record_id: RecordId, user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> list[dict[str, Any]]:
    """The audit trail of one record: who, when, old → new, reason — of a deleted record too. A record
    you may not see (an id no record had, another site's record) is 404, as on the trail's page
    (`views.record_trail`, D-19.1038)."""
    from cartrial.web.views import NotVisible, record_trail

    spec = _form(form)
    try:
        rows, _ = record_trail(user.service, spec.table, record_id)
    except NotVisible:
        raise NotFoundError(
            Problem(f"no {spec.table} record with this id that you may see", field="id", value=str(record_id))
        ) from None
    return _audit_out(rows)


@router.get("/audit/subjects/{subject_id:segment}", tags=["audit"])
def subject_audit(
    subject_id: Annotated[str, Path(max_length=40)], user: Annotated[WebUser, Depends(permit(Action.READ))]
) -> list[dict[str, Any]]:
    """The audit trail of a subject (the subject record and all its data)."""
    rows, _ = user.service.page_records("subject", equals={"subject_id": subject_id}, limit=1)
    if not rows:
        raise NotFoundError(Problem("unknown subject", field="subject_id", value=subject_id))
    return _audit_out(user.service.audit_history(subject_id))


@router.get("/audit/verify", tags=["audit"])
def audit_verify(user: Annotated[WebUser, Depends(permit(Action.READ))]) -> dict[str, Any]:
    """Recompute the audit hash chain (`cartrial audit verify`)."""
    result = user.service.verify_audit()
    return {
        "ok": bool(result.ok),
        "message": result.message,
        "first_broken_id": getattr(result, "first_broken_id", None),
    }


@router.get("/lock", response_model=LockOut, tags=["lock"])
def lock_state(request: Request, user: Annotated[WebUser, Depends(permit(Action.READ))]) -> LockOut:
    """The active data lock, if any: to a site-restricted user what the banner shows (cut-off, who, when,
    why; `LockInfo.SITE_FIELDS`), to a study-wide user also the digest and locked-record count (D-19.485)."""
    lock = request.app.state.service.active_lock(zones=False)  # described only
    if lock is None:
        return LockOut(locked=False)
    details = {
        k: (v.isoformat() if isinstance(v, dt.date | dt.datetime) else v)
        for k, v in lock.fields(user.service.read_sites()).items()
        if isinstance(v, str | int | float | bool | dt.date | type(None))
    }
    return LockOut(locked=True, description=lock.describe(), details=details)


# -- users (admin) ------------------------------------------------------------------------------------


@router.get("/users", tags=["users"])
def list_users(user: Annotated[WebUser, Depends(permit(Action.MANAGE_USERS))]) -> list[dict[str, Any]]:
    """Every user (never a password hash)."""
    keep = ("username", "role", "site_id", "full_name", "active")
    return [{k: row.get(k) for k in keep} for row in user.service.list_users()]


@router.post("/users", status_code=201, tags=["users"])
def create_user(
    body: UserIn, user: Annotated[WebUser, Depends(permit(Action.MANAGE_USERS))]
) -> dict[str, Any]:
    """Create a user (argon2id hash of the password; investigators need a site)."""
    user.service.add_user(body.username, body.role, body.site_id, body.password, body.full_name)
    return {"username": body.username, "role": body.role, "site_id": body.site_id}


Username = Annotated[str, Path(min_length=1, max_length=80)]


@router.patch("/users/{username:segment}", tags=["users"])
def change_user(
    request: Request,
    username: Username,
    body: UserChange,
    user: Annotated[WebUser, Depends(permit(Action.MANAGE_USERS))],
) -> dict[str, Any]:
    """Set a user's role and site and/or (de)activate them: one audited update, every change or none
    (reason required; D-19.835)."""
    if body.role is None and body.active is None and body.site_id is None:
        raise InputError(Problem("nothing to change", field="role", allowed="role, site_id or active"))
    # one audited update: every change or none, the role kept as read in the write's own read of the
    # account (a site change alone) so a concurrent change is a conflict, never reverted (D-19.835)
    user.service.change_user(username, body.reason, role=body.role, site_id=body.site_id, active=body.active)
    return {"username": username, "changed": True}


@router.post("/users/{username:segment}/password", status_code=204, tags=["users"])
def reset_password(
    request: Request,
    username: Username,
    body: PasswordReset,
    user: Annotated[WebUser, Depends(permit(Action.MANAGE_USERS))],
) -> Response:
    """Reset a user's password (audited as a fingerprint ``<set sha256:…>``; the user's sessions end). Your
    own password needs `current_password` as well (D-19.818)."""
    from cartrial.web.security import require_current_password

    require_current_password(request.app.state.service, user, username, body.current_password)
    user.service.set_password(username, body.password, body.reason or "password reset by an admin")
    return Response(status_code=204)


# -- import / export ----------------------------------------------------------------------------------


MAX_UPLOAD_BYTES = 512 * 1024 * 1024
"""Largest uploaded file accepted (a 1,000-subject study's largest template is about 60 MB)."""


def _copy_upload(upload: UploadFile, target: Any) -> None:
    """Copy an upload to `target` in chunks, refusing (422) a file larger than `MAX_UPLOAD_BYTES`."""
    written = 0
    with open(target, "wb") as out:
        while chunk := upload.file.read(1 << 20):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise InputError(
                    Problem(
                        "the uploaded file is too large",
                        field="files",
                        value=upload.filename,
                        allowed=f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MB per file",
                    )
                )
            out.write(chunk)


def _save_uploads(files: list[UploadFile], directory: Any, allowed: set[str] | None) -> list[str]:
    from pathlib import Path as FilePath

    from cartrial.web.views import upload_names

    names = upload_names([upload.filename for upload in files], allowed)
    for upload, name in zip(files, names, strict=True):
        _copy_upload(upload, FilePath(directory) / name)
    return names


def _uploaded_import(directory: str, run: Any) -> dict[str, Any]:
    """Run an import of files saved in `directory`; its report or its problems name the uploaded files."""
    from dataclasses import replace

    from cartrial.web.views import without_folder  # the one rule the import page follows too

    try:
        report = run()
    except InputError as exc:
        problems = [
            replace(p, file=without_folder(p.file, directory), value=without_folder(p.value, directory))
            for p in exc.problems
        ]
        header = without_folder(exc.header, directory) if exc.header else None
        raise type(exc)(problems, header=header) from None
    return dict(without_folder(report.as_dict(), directory))


@router.post("/import/templates", tags=["import"])
def import_templates(
    request: Request,
    files: Annotated[list[UploadFile], File(description="CSV templates, one <form>.csv per form")],
    user: Annotated[WebUser, Depends(permit(Action.IMPORT))],
    reason: Annotated[str | None, Form(max_length=MAX_REASON_LENGTH)] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Import uploaded CSV templates: the same atomic, validated import as `cartrial import templates`
    (every row-level problem as JSON, nothing written if any)."""
    import tempfile

    from cartrial.store.importing import FORMS
    from cartrial.store.importing import import_templates as run_import

    allowed = {spec.file_name for spec in FORMS}
    with tempfile.TemporaryDirectory(prefix="cartrial-web-import-") as directory:
        _save_uploads(files, directory, allowed)
        return _uploaded_import(
            directory,
            lambda: run_import(
                request.app.state.service.engine, directory, user.username, dry_run=dry_run, reason=reason
            ),
        )


@router.post("/import/redcap", tags=["import"])
def import_redcap(
    request: Request,
    records: Annotated[UploadFile, File(description="REDCap flat CSV export")],
    dictionary: Annotated[UploadFile, File(description="REDCap data dictionary (CSV)")],
    mapping: Annotated[UploadFile, File(description="cartrial REDCap mapping (YAML)")],
    user: Annotated[WebUser, Depends(permit(Action.IMPORT))],
    reason: Annotated[str | None, Form(max_length=MAX_REASON_LENGTH)] = None,
    dry_run: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Import a REDCap export through a mapping: the same atomic import as `cartrial import redcap`."""
    import tempfile
    from pathlib import Path as FilePath

    from cartrial.store.importing import import_redcap as run_import

    with tempfile.TemporaryDirectory(prefix="cartrial-web-redcap-") as directory:
        paths = {}
        for key, upload, suffix in (
            ("records", records, ".csv"),
            ("dictionary", dictionary, ".csv"),
            ("mapping", mapping, ".yaml"),
        ):
            name = FilePath(upload.filename or "").name or f"{key}{suffix}"
            path = FilePath(directory) / f"{key}-{name}"
            _copy_upload(upload, path)
            paths[key] = path
        return _uploaded_import(
            directory,
            lambda: run_import(
                request.app.state.service.engine,
                paths["records"],
                paths["dictionary"],
                paths["mapping"],
                user.username,
                dry_run=dry_run,
                reason=reason,
            ),
        )


@router.get(
    "/export/templates.zip",
    tags=["import"],
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_templates(user: Annotated[WebUser, Depends(permit(Action.READ))]) -> Response:
    """The study's forms (D-19.70, `views.study_form_names`) as CSV templates in one zip (the folder
    `cartrial import templates` reads back)."""
    import io
    import zipfile

    from cartrial.web import views

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in views.study_form_names(user.service):
            spec = _form(name)
            archive.writestr(spec.spec.file_name, _form_csv(spec, user))
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="study-templates.zip"'},
    )


@router.get(
    "/export/{form}.csv",
    tags=["import"],
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def export_form(form: FormName, user: Annotated[WebUser, Depends(permit(Action.READ))]) -> Response:
    """The records of a form as its CSV import template (the template's columns; re-importable)."""
    spec = _form(form)
    return Response(
        _form_csv(spec, user),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{spec.spec.file_name}"'},
    )


def _form_csv(spec: Any, user: WebUser) -> str:
    """The CSV template text of one form with the records this user may read (spreadsheet-safe cells)."""
    import csv
    import io

    from cartrial.store.fields import cell_text
    from cartrial.tabular import neutralise_cell

    rows, _ = user.service.page_records(spec.table)
    columns = [c.table_column for c in spec.spec.columns() if c.table_column]
    rules = {f.name: f.rule for f in spec.fields}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(
            [neutralise_cell(cell_text(rules[c], row.get(c)) or "") if c in rules else "" for c in columns]
        )
    return out.getvalue()


# -- escalation ---------------------------------------------------------------------------------------


class DecisionIn(BaseModel):
    """The safety review committee's decision for one cohort."""

    model_config = ConfigDict(extra="forbid")
    cohort: int = Field(ge=1, le=1000)
    dose_level: int = Field(ge=1, le=50)
    decided_on: dt.date
    outcomes: str = Field(min_length=1, max_length=2000)
    decision: str = Field(pattern="^(escalate|stay|de-escalate|expand|stop)$")
    reason: str | None = Field(default=None, max_length=MAX_REASON_LENGTH)
    approved_by: str | None = None
    """Who approved the decision (the committee or its chair): the column's rule, applied by the store as
    for an import (`cartrial/templates/FIELDS.md`); not the user recording it (D-19.410)."""


@router.get("/escalation", tags=["escalation"])
def escalation(
    request: Request,
    user: Annotated[WebUser, Depends(permit(Action.READ))],
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Cohorts by dose level, each patient's DLT window, DLTs so far, the protocol design's recommendation
    for the next cohort and its decision table (escalation engine with the protocol's design), as of `as_of`
    (default today, UTC; a later date is a 422 naming `as_of`: the data cut-off rule, D-19.386)."""
    from cartrial.web.escalation import escalation_state

    day = utc_today() if as_of is None else not_after_today(as_of, "as_of")
    return escalation_state(request.app.state.service, user.sites, day)


@router.post("/escalation/decisions", status_code=201, tags=["escalation"])
def record_escalation_decision(
    request: Request, body: DecisionIn, user: Annotated[WebUser, Depends(permit(Action.RECORD_ESCALATION))]
) -> dict[str, Any]:
    """Record the committee's decision (a reason is required when it differs from the design's)."""
    from cartrial.web.escalation import record_decision

    return record_decision(
        request.app.state.service,
        user.service,
        cohort=body.cohort,
        dose_level=body.dose_level,
        decided_on=body.decided_on,
        outcomes=body.outcomes,
        decision=body.decision,
        reason=body.reason,
        today=utc_today(),
        approved_by=body.approved_by,
    )
