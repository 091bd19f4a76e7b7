"""What every page module shares: the user's visible sites, redirects with a fixed message, the protocol
and the data-entry form context (fields, values, problems)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse

from cartrial.web import views

if TYPE_CHECKING:
    from cartrial.errors import Problem

DONE_MESSAGES: Mapping[str, str] = {
    "saved": "Saved.",
    "updated": "Changes saved (the reason is in the audit trail).",
    "raised": "Query raised.",
    "answered": "Query answered.",
    "closed": "Query closed.",
    "decision": "The committee's decision is recorded.",
    "user_added": "User created.",
    "role_set": "Role and site changed.",
    "password_set": "Password reset.",
    "deactivated": "User deactivated.",
    "activated": "User activated.",
}
"""Fixed confirmation texts a redirect may name (``?done=saved``): never text taken from the URL."""


def not_found() -> Iterator[None]:
    """Router dependency: a `views.NotVisible` (unknown record, or a subject of another site) is a 404 page,
    which says the same whether the record does not exist or may not be seen."""
    try:
        yield
    except views.NotVisible as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from exc


def page_router() -> APIRouter:
    """A router of HTML pages (not in the API schema; `views.NotVisible` → 404)."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(not_found)])


sites = views.user_sites
"""The sites a user may see (None: every site), as the API reads them (`views.user_sites`)."""


QUERY_CODES = re.compile(r"Q-[0-9]{6}(,Q-[0-9]{6}){0,49}")
"""The ``queries`` parameter of a confirmation: query codes only (nothing else from the URL is shown)."""


def done_message(request: Request) -> str | None:
    """The fixed confirmation ``done`` names, and the codes of the data queries the save raised (the
    ``queries`` parameter, read only when it is a list of query codes; D-19.130)."""
    message = DONE_MESSAGES.get(request.query_params.get("done", ""))
    codes = request.query_params.get("queries", "")
    if message and QUERY_CODES.fullmatch(codes):
        listed = codes.split(",")
        message += (
            f" The edit checks raised data quer{'y' if len(listed) == 1 else 'ies'} {', '.join(listed)}"
            " (see the queries page)."
        )
    return message


def subject_path(subject_id: str) -> str:
    """The casebook page of `subject_id`, the id one percent-encoded path segment (D-19.1128)."""
    from cartrial.web.templating import path_segment

    return f"/subjects/{path_segment(subject_id)}"


def redirect(path: str, done: str | None = None, **params: Any) -> RedirectResponse:
    """A 303 redirect to `path` (with a fixed confirmation `done` and other query parameters)."""
    query = {k: v for k, v in {**params, "done": done}.items() if v is not None}
    return RedirectResponse(path + (f"?{urlencode(query)}" if query else ""), status_code=303)


@dataclass(frozen=True)
class FieldView:
    """One input of a data-entry form, ready for the template."""

    name: str
    label: str
    kind: str
    required: bool
    unit: str
    allowed: str
    help: str
    choices: list[str] | None
    value: str
    problems: list[str]
    readonly: bool = False
    suggestions: list[str] | None = None
    """Known spellings of a free-text field (`FieldRule.known_values`), offered while typing."""
    utc: str = ""
    """A date-time field's clinic time read in the zone chosen, as UTC (shown under it; D-19.285)."""

    @property
    def input_id(self) -> str:
        return f"in-{self.name}"


GROUPS: Mapping[str, Sequence[tuple[str, Sequence[str]]]] = {
    "icans_assessment": (
        (
            "ICE score items (Immune effector Cell-associated Encephalopathy; ASTCT 2019)",
            ("ice_orientation", "ice_naming", "ice_command", "ice_writing", "ice_attention", "ice_total"),
        ),
    ),
    "crs_assessment": (
        ("Fever", ("temperature_c", "temperature_f", "fever_masked", "fever_other_cause")),
        (
            "Hypotension",
            (
                "hypotension",
                "systolic_bp_mmhg",
                "vasopressors",
                "vasopressin",
                "vasopressor_names",
                "norepinephrine_ug_min",
                "dopamine_ug_kg_min",
                "phenylephrine_ug_min",
                "epinephrine_ug_min",
                "life_threatening_hypotension",
            ),
        ),
        ("Hypoxia", ("oxygen", "oxygen_l_min", "fio2_pct")),
    ),
    "edss_assessment": (
        (
            "Functional systems (Neurostatus raw scores)",
            ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral"),
        ),
        ("Ambulation", ("ambulation", "walking_distance_m", "assistance")),
    ),
}
"""Fields shown together in a fieldset with a legend (the rest go under 'Record' and 'Details')."""


def field_views(
    form_name: str,
    values: Mapping[str, Any],
    problems: Sequence[Problem],
    protocol: Any,
    *,
    fixed: Sequence[str] = (),
    left_out: Collection[str] = (),
    utc: Mapping[str, str] | None = None,
) -> list[tuple[str, list[FieldView]]]:
    """The form's fields grouped into (legend, fields): values as text, problems by field. A field in
    `left_out` (of an outcome the study does not collect, D-19.82) is not offered, unless the record holds
    a value or a problem for it (data are never hidden)."""
    from cartrial.web.forms import form

    spec = form(form_name)
    by_field = problems_by_field(problems)
    made: dict[str, FieldView] = {}
    for web_field in spec.fields:
        if (
            web_field.name in left_out
            and values.get(web_field.name) in (None, "")
            and not by_field.get(web_field.name)
        ):
            continue
        described = web_field.describe(protocol)
        choices = described.get("choices")
        known = described.get("known_values")
        made[web_field.name] = FieldView(
            name=web_field.name,
            label=web_field.label,
            kind=str(described["type"]),
            required=bool(described["required"]),
            unit=str(described.get("unit") or ""),
            allowed=str(described.get("allowed") or ""),
            help=str(described.get("help") or ""),
            choices=None if choices is None else [str(c) for c in choices],
            value=views.form_value(values.get(web_field.name)),
            problems=by_field.get(web_field.name, []),
            readonly=web_field.name in fixed,
            suggestions=None if known is None else [str(k) for k in known],
            utc=(utc or {}).get(web_field.name, ""),
        )
    key = [n for n in (*spec.key_columns, *fixed) if n in made]
    groups: list[tuple[str, list[FieldView]]] = [("Record", [made[n] for n in dict.fromkeys(key)])]
    used = set(key)
    for legend, names in GROUPS.get(spec.table, ()):
        members = [made[n] for n in names if n in made and n not in used]
        used.update(n for n in names)
        if members:
            groups.append((legend, members))
    rest = [f for n, f in made.items() if n not in used]
    if rest:
        groups.append(("Details", rest))
    return [(legend, fields) for legend, fields in groups if fields]


def other_problems(problems: Sequence[Problem], form_name: str) -> list[str]:
    """Problems that name no field of the form (shown above it)."""
    from cartrial.web.forms import form

    names = set(form(form_name).field_names)
    return [problem_text(p) for p in problems if field_name(p) not in names]


def unreadable_context(
    left_out: Sequence[Problem], subjects: Sequence[str] = (), effect: str | None = None
) -> dict[str, Any]:
    """The template context of a list page's notice of the records it left out (`views.unreadable_records`,
    ``partials/unreadable.html``): each ``<table> record <id>, <field>``, what is allowed, never the value
    (the problems hold none), under the refusal's own header pointing to `cartrial audit verify`
    (D-19.559); `subjects`: the subjects of these records, `effect`: what the page does with them, in
    words (D-19.563)."""
    from cartrial.store.stored_dates import unreadable_header

    return {
        "unreadable": [str(p) for p in left_out],
        "unreadable_header": unreadable_header(left_out),  # dates, numbers or both (D-19.1096)
        # the subjects of these records (their ids are readable) and what the page does with them (D-19.563)
        "unreadable_subjects": list(subjects),
        "unreadable_effect": effect or "These records are not shown below.",
    }


def problem_text(problem: Problem) -> str:
    """A problem as a page shows it: its message and what is allowed (never the value typed, D-12.2)."""
    return problem.message + (f" (allowed: {problem.allowed})" if problem.allowed else "")


def field_name(problem: Problem) -> str:
    """The form field a problem concerns (``subject.subject_id`` → ``subject_id``; "" for none)."""
    return (problem.field or "").split(".")[-1]


def problems_by_field(problems: Iterable[Problem]) -> dict[str, list[str]]:
    """The texts of `problems` (`problem_text`) by the form field each concerns (`field_name`)."""
    by_field: dict[str, list[str]] = {}
    for problem in problems:
        by_field.setdefault(field_name(problem), []).append(problem_text(problem))
    return by_field


def true_or_false(field: str, text: object, *, blank: bool | None = None) -> bool:
    """A page form's true/false value, read by the import's words (`cartrial.columns.TRUE_WORDS`,
    `FALSE_WORDS`, as `cartrial.columns.parse_bool`); a blank or absent value is `blank` (None: required).
    Anything else is a located `InputError` with the value sent — never read as false (D-19.552)."""
    from cartrial.columns import BOOL_ALLOWED, FALSE_WORDS, TRUE_WORDS, trim_blanks
    from cartrial.errors import InputError, Problem

    word = trim_blanks(text).lower() if isinstance(text, str) else ""
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    if not word and blank is not None:
        return blank
    raise InputError(
        Problem(
            "not true or false" if word else "value is required",
            field=field,
            value=text if isinstance(text, str) and text else None,
            allowed=BOOL_ALLOWED,
        )
    )


def one_of(field: str, text: object, choices: Sequence[str], *, blank: str) -> str:
    """A page form's choice among `choices` (as sent; blank or absent: `blank`), else a located
    `InputError` with the value sent — never read as the default (D-19.552)."""
    from cartrial.errors import InputError, Problem

    if text is None or text == "":
        return blank
    if isinstance(text, str) and text in choices:
        return text
    raise InputError(
        Problem(
            "not one of the choices",
            field=field,
            value=text if isinstance(text, str) else None,
            allowed=" | ".join(choices),
        )
    )
