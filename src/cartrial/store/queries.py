"""Data queries: a question on one record raised by a monitor or data manager, answered by the site, closed
with a reason. Codes are ``Q-000001`` in order of raising. Every step is an audited write through an open
`Transaction`; the permission (raise / answer) is checked by the caller (`StudyService`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
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
    shows_nothing,
)
from cartrial.store.writes import check_record_sites, current_record

if TYPE_CHECKING:
    from cartrial.store.transaction import Transaction


def query_text(text: str | None, what: str = "query text") -> str:
    """Refuse an empty or blank query text or answer (a query must say what is asked), or one breaking the
    rule of a free text (`cartrial.store.tables.check_note`)."""
    field = what.replace(" ", "_")
    if text is None or shows_nothing(text):  # invisible characters only: as empty (D-19.819)
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
    _refuse_open_twice(tx.connection, table_name, record_id, field_name, text)
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


def same_question(one: str, other: str) -> bool:
    """Whether two questions are the same words: compared after NFKC (a no-break space is a space), with
    every run of white space one space, none around, and case folded (D-19.1260)."""

    def words(text: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()

    return words(one) == words(other)


def _refuse_open_twice(
    connection: Connection, table_name: str, record_id: int, field_name: str | None, text: str
) -> None:
    """Refuse a question still open on the same record and field (or the whole record) in the same words: a
    form sent twice (Back button, a reload re-posting) would leave the site two codes for one question
    (D-19.1258). Answered or closed, the same question may be asked again. The message names the open
    query's code, never the question's text (a question may quote a record's values). The same words in
    other spacing or case are the same question (`same_question`, D-19.1260)."""
    table = query_table()
    field_match = table.c.field.is_(None) if field_name is None else table.c.field == field_name
    open_ones = connection.execute(
        select(table.c.query_code, table.c.text)
        .where(
            table.c.table_name == table_name,
            table.c.record_id == record_id,
            field_match,
            table.c.status == "open",
        )
        .order_by(table.c.query_code)
    ).all()
    found = next((row for row in open_ones if same_question(str(row[1] or ""), text)), None)
    if found is not None:
        raise InputError(
            Problem(
                f"the same question is already open on this record as query {found[0]}: "
                "answer or close it first",
                field="text",
                allowed="a question not already open on the same record and field",
            )
        )


def answer_query(tx: Transaction, query_code: str, answer: str, hidden: Sequence[str] = ()) -> None:
    """Answer an open query (the subject's site for site-restricted roles); `hidden`: a query on a record of
    these tables is unknown to the answerer (`query_row`, D-19.913)."""
    query_text(answer, "answer")
    row = query_row(tx.connection, query_code, hidden)
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


def close_query(tx: Transaction, query_code: str, reason: str, hidden: Sequence[str] = ()) -> None:
    """Close a query (reason required: given by the caller). A CHECKS-LEFT-OUT query is not closed while
    its subject still has records no reader reads (`refuse_left_out_closure`, D-19.652); `hidden` as for
    `answer_query`."""
    row = query_row(tx.connection, query_code, hidden)
    refuse_closed(row, "closed again")
    refuse_left_out_closure(tx.connection, row)
    apply_update(
        tx, STUDY_TABLES["data_query"], "data_query", row, {"status": "closed"}, int(row["version"]), reason
    )


def refuse_left_out_closure(connection: Connection, row: RowLike) -> None:
    """`ConflictError` (409) for the closure of a system CHECKS-LEFT-OUT query while a read of every checked
    table of its subject still leaves records out: closed by hand, it would never come back (a closed query
    is raised again only when its field changes) and the subject's other system queries would close with
    records unread. Names the records (``<table> record <id>, <field>``), never a value; the repair of the
    last of them closes the query (D-19.652)."""
    from cartrial.store.edit_checks import CHECKS_LEFT_OUT, EDIT_CHECK_USER, check_of, left_out_of
    from cartrial.store.stored_dates import subjects_left_out, unread_names

    if row["raised_by"] != EDIT_CHECK_USER or check_of(row) != CHECKS_LEFT_OUT.id:
        return
    subject = str(row["subject_id"])
    found = left_out_of(connection, {subject})
    if found is not None and subject not in subjects_left_out(connection, found):
        return
    names = "; ".join(unread_names(found)) if found is not None else "records of the subject"
    raise ConflictError(
        f"query {row['query_code']} cannot be closed: the edit checks of subject {subject} still cannot "
        f"read {names}; a data manager repairs them (`cartrial db edit`, with a reason), which closes it",
        problem=Problem(
            "records are still left out of the edit checks",
            field="query",
            value=row["query_code"],
            allowed="a CHECKS-LEFT-OUT query is closed by the repair of the records it names",
        ),
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


def query_row(connection: Connection, query_code: str, hidden: Sequence[str] = ()) -> RowLike:
    """The `data_query` record with this code (`InputError` if there is none, or if it is on a record of a
    `hidden` table: a query the user may not read is as unknown, D-19.913)."""
    table = query_table()
    row = connection.execute(select(table).where(table.c.query_code == query_code)).mappings().first()
    if row is None or row["table_name"] in hidden:
        raise InputError(Problem("unknown query", field="query", value=query_code))
    return row
