"""Data queries: a question on one record raised by a monitor or data manager, answered by the site, closed
with a reason. Codes are ``Q-000001`` in order of raising. Every step is an audited write through an open
`Transaction`; the permission (raise / answer) is checked by the caller (`StudyService`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, select

from cartrial.allowed import choice_text
from cartrial.errors import ConflictError, InputError, Problem
from cartrial.store.bulk import apply_update, upsert_rows
from cartrial.store.models import STUDY_TABLES, utc_now
from cartrial.store.tables import (
    MASKED_COLUMNS,
    NOTE_ALLOWED,
    RowLike,
    check_note,
    data_columns,
    model_of,
    query_table,
)
from cartrial.store.writes import check_record_sites, current_record

if TYPE_CHECKING:
    from cartrial.store.transaction import Transaction


def query_text(text: str | None, what: str = "query text") -> str:
    """Refuse an empty or blank query text or answer (a query must say what is asked), or one breaking the
    rule of a free text (`cartrial.store.tables.check_note`)."""
    field = what.replace(" ", "_")
    if text is None or not text.strip():
        raise InputError(Problem(f"empty {what}", field=field, value=text, allowed=NOTE_ALLOWED))
    check_note(text, field)
    return text


def raise_query(
    tx: Transaction, table_name: str, record_id: int, text: str, field_name: str | None = None
) -> str:
    """Raise a data query on one record; returns its code ``Q-000001``."""
    model = model_of(table_name)
    query_text(text)
    current = current_record(tx.connection, model, table_name, record_id)
    record_id = int(current["id"])  # a numpy integer id bound as the int it names
    # a recorded value: not a column the service maintains (id, version, timestamps, D-19.417) nor a masked
    # one (a password hash)
    fields = [name for name in data_columns(model) if name not in MASKED_COLUMNS]
    if field_name is not None and field_name not in fields:
        raise InputError(
            Problem("unknown field", field="field", value=field_name, allowed=choice_text(fields))
        )
    count = tx.connection.execute(select(func.count()).select_from(query_table())).scalar_one()
    code = f"Q-{int(count) + 1:06d}"
    subject = current.get(model.subject_column) if model.subject_column else None
    upsert_rows(
        tx,
        "data_query",
        [
            {
                "query_code": code,
                "subject_id": subject,
                "table_name": table_name,
                "record_id": record_id,
                "field": field_name,
                "text": text,
                "status": "open",
                "raised_by": tx.actor.username,
                "raised_at": utc_now(),
            }
        ],
    )
    return code


def answer_query(tx: Transaction, query_code: str, answer: str) -> None:
    """Answer an open query (the subject's site for site-restricted roles)."""
    query_text(answer, "answer")
    row = query_row(tx.connection, query_code)
    model = STUDY_TABLES["data_query"]
    check_record_sites(tx, model, "data_query", [row])
    refuse_closed(row, "answered")
    apply_update(
        tx,
        model,
        "data_query",
        row,
        {"answer": answer, "answered_by": tx.actor.username, "answered_at": utc_now(), "status": "answered"},
        int(row["version"]),
        f"answer to query {query_code}",
    )


def close_query(tx: Transaction, query_code: str, reason: str) -> None:
    """Close a query (reason required: given by the caller)."""
    row = query_row(tx.connection, query_code)
    refuse_closed(row, "closed again")
    apply_update(
        tx, STUDY_TABLES["data_query"], "data_query", row, {"status": "closed"}, int(row["version"]), reason
    )


def refuse_closed(row: RowLike, what: str) -> None:
    """A closed query is final (its answer and closure are the record of how it was resolved): it is not
    answered or closed again; a new question is a new query (decisions D-19.29)."""
    if row["status"] == "closed":
        code = row["query_code"]
        raise ConflictError(
            f"query {code} is closed and cannot be {what}; raise a new query on the record instead",
            problem=Problem(
                "the query is closed", field="query", value=code, allowed="an open or answered query"
            ),
        )


def query_row(connection: Connection, query_code: str) -> RowLike:
    """The `data_query` record with this code (`InputError` if there is none)."""
    table = query_table()
    row = connection.execute(select(table).where(table.c.query_code == query_code)).mappings().first()
    if row is None:
        raise InputError(Problem("unknown query", field="query", value=query_code))
    return row
