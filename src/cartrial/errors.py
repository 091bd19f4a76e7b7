"""The one exception hierarchy of cartrial: every error meant for the user derives from `CartrialError`.

A `Problem` pinpoints one bad input: the file, the line (YAML) or row (CSV), the field or column, the value
given, and what is allowed. `InputError` carries one or more problems so that a command can report every
bad row at once rather than stopping at the first.

Row numbers are spreadsheet rows: the CSV header is row 1 and the first data row is row 2, which is what a
data manager sees when the file is opened in a spreadsheet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, NamedTuple

SHOWN_VALUE_CHARACTERS = 120
"""A longer value given is shown by its first characters and its length: a 2 MB cell never floods the
terminal, a log or an API response, and the message stays one line."""


def _shortened(text: str, *, quoted: bool = False) -> str:
    """`text` (as its repr when `quoted`), cut to `SHOWN_VALUE_CHARACTERS` with its length when longer."""
    head = text[:SHOWN_VALUE_CHARACTERS]
    shown = repr(head) if quoted else head
    return shown if len(text) <= SHOWN_VALUE_CHARACTERS else f"{shown}… ({len(text):,} characters)"


SHOWN_NAME_CHARACTERS = 40
"""A name quoted in a message — a JSON key, a form field or query parameter the user gave twice or that a
route does not take — is shown whole up to this many characters, else by its first ones and "…" (D-19.599):
a name is a short word, so its length is not added as `shortened` adds a value's."""


def shown_name(name: str) -> str:
    """`name` whole when at most `SHOWN_NAME_CHARACTERS` long, else its first ones and "…".

    >>> shown_name("subject_id")
    'subject_id'
    >>> shown_name("k" * 41) == "k" * 40 + "…"
    True
    """
    return name if len(name) <= SHOWN_NAME_CHARACTERS else name[:SHOWN_NAME_CHARACTERS] + "…"


def shortened(text: str) -> str:
    """`text` cut to `SHOWN_VALUE_CHARACTERS` with its length when longer: for a value quoted in a message's
    allowed list (a 100,000-character subject id among the known ones stays one short item)."""
    return _shortened(text)


@dataclass(frozen=True)
class Problem:
    """One bad input value, located as precisely as the input allows."""

    message: str
    file: str | None = None
    line: int | None = None
    row: int | None = None
    field: str | None = None
    value: Any = None
    allowed: str | None = None
    record: str | None = None
    """A stored record, by the table and id `cartrial db edit` takes (``pk_sample record 123``): ids are
    not values (docs/security.md §5; D-19.507)."""

    def location(self) -> str:
        parts: list[str] = []
        if self.file:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.record:
            parts.append(str(self.record))
        if self.field:
            parts.append(str(self.field))
        return ", ".join(parts)

    def __str__(self) -> str:
        text = self.message
        if self.value is not None:
            # dates and date-times as ISO 8601 (never Python's repr, datetime.date(2030, 6, 10))
            if isinstance(self.value, date | datetime):
                shown = self.value.isoformat()
            elif isinstance(self.value, str):
                shown = _shortened(self.value, quoted=True)
            elif type(self.value).__module__ == "numpy" and hasattr(self.value, "item"):
                # a numpy scalar as the number it holds (-2.0, never np.float64(-2.0))
                shown = repr(self.value.item())
            else:
                shown = repr(self.value)
            text += f" (got {shown})"
        if self.allowed:
            text += f"; allowed: {self.allowed}"
        where = self.location()
        return f"{where}: {text}" if where else text

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "row": self.row,
            "record": self.record,
            "field": self.field,
            "value": None if self.value is None else _shortened(str(self.value)),
            "allowed": self.allowed,
            "message": self.message,
        }


class CartrialError(Exception):
    """Base class of every user-facing error. The CLI prints the message and exits with `exit_code`."""

    exit_code = 2


class InputError(CartrialError):
    """Bad user input: one or more located problems."""

    def __init__(self, problems: Problem | str | Iterable[Problem], *, header: str | None = None) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.header = header
        super().__init__(self._text())

    def _text(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.header:
            return "\n".join([self.header, *("  " + line for line in lines)])
        if len(lines) == 1:
            return lines[0]
        return "\n".join([f"{len(lines)} problems:", *("  " + line for line in lines)])

    def renamed(
        self, names: Mapping[str, str] | Callable[[str], str | None], *, file: str | None = None
    ) -> InputError:
        """The same error (same class) with each unlocated problem's field renamed — an engine field to the
        option the user typed (``post_masking_grade`` → ``--post-masking-grade``) or to its YAML key — and
        `file` set on them when given. `names` maps a field to its new name, or is a function returning it
        (None: unchanged). Problems located at a file, line or row (a form's column) are left alone."""
        lookup = names.get if isinstance(names, Mapping) else names
        problems = []
        for p in self.problems:
            if p.field and p.file is None and p.line is None and p.row is None:
                p = replace(p, field=lookup(p.field) or p.field, file=file)
            problems.append(p)
        return self.with_problems(problems)

    def with_problems(self, problems: Iterable[Problem]) -> InputError:
        """A copy of this error (same class, same attributes, same header) holding `problems`: built
        without calling the constructor, whose signature a subclass may have changed."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.problems = list(problems)
        new.args = (new._text(),)
        return new


class ConfigurationError(CartrialError):
    """A requested option, version or method that cartrial does not implement."""


class OptionError(InputError, ConfigurationError):
    """An option value outside what the option allows (`cartrial.allowed`): one `Problem` per bad option,
    each naming the engine's field, the value and what is allowed, for the caller to rename to what the
    user typed (`InputError.renamed`). Also a `ConfigurationError`, which option checks raised before."""


class NotEstimableError(CartrialError):
    """The data cannot identify the requested quantity (too few points, all values missing, ...)."""


class PermissionDeniedError(CartrialError):
    """The acting user's role does not allow the requested action."""


class ConflictError(CartrialError):
    """The record changed since it was read (optimistic concurrency), is locked, or its key is taken.

    `problem`, when given, locates the conflict (the fields and values of a natural key that already has a
    record), as an `InputError`'s problems do, for the API's ``field``/``value``/``allowed``; `existing`
    names that record (table, id), for a link to it where the user may see it (D-19.283)."""

    def __init__(
        self,
        message: str,
        *,
        problem: Problem | None = None,
        existing: tuple[str, int] | None = None,
        problems: Sequence[Problem] = (),
        records_total: int | None = None,
        more: Problem | None = None,
    ) -> None:
        super().__init__(message)
        listed = tuple(problems) or ((problem,) if problem is not None else ())
        self.problems: tuple[Problem, ...] = listed + ((more,) if more is not None else ())
        """Every located problem (a bulk write's frozen records, one each; D-19.1331), then `more` if given;
        `problem` the first."""
        self.problem = problem if problem is not None else (self.problems[0] if self.problems else None)
        self.existing = existing
        self.records_total = records_total
        """How many records the refusal concerns (a data lock's frozen records), when its problems list only
        the first of them (`more` counts the rest): the store's true count (D-19.1364)."""
        self.more = more
        """The problem counting the records not listed one by one ("50 more record(s) of …"), last of
        `problems`: a summary, not a record (D-19.1364)."""


MAX_PROBLEMS_SHOWN = 1000
"""Problems listed in one error answer (the API's ``problems``, `problems_total` counting them all; the CLI's
and the web import page's list of a refusal): an import's thousand row-level problems are all shown, a
request of 50,000 unknown fields does not get a 36 MB answer (D-19.349, D-19.1351)."""


class RefusalListing(NamedTuple):
    """A refusal's records as the CLI and the web import page list them (`conflict_problems`)."""

    problems: list[dict[str, Any]]
    """At most the API's cap, each `Problem.as_dict` with ``value`` None (never a value, D-12.2)."""
    total: int
    """How many records the refusal concerns (`ConflictError.records_total`, else the problems counted)."""
    more: str | None
    """The store's count of the records not listed one by one (`ConflictError.more`): a footer, not a row."""


def conflict_records(exc: ConflictError) -> list[Problem]:
    """A refusal's located records (each a problem), without the store's "N more record(s)" summary
    (`ConflictError.more`): the one filter the CLI, the web import page and the API list (D-19.1364,
    D-19.1421)."""
    return [p for p in exc.problems if p is not exc.more]


def conflict_problems(exc: ConflictError, limit: int = MAX_PROBLEMS_SHOWN) -> RefusalListing:
    """The located problems of a refusal (a data lock's frozen records, one each: D-19.1331) as the CLI and
    the web import page list them: at most `limit` (the API's cap), each in the API's shape
    (`Problem.as_dict`: file, line, row, record, field, value, allowed, message) with its value None — a
    record's values stay out of every list (D-12.2); the true number of records (`records_total`: the
    store lists at most `MAX_LOCKED_LISTED` and counts the rest in `more`) and that count's message as a
    footer (D-19.1351, D-19.1364, D-19.1366)."""
    located = conflict_records(exc)
    shown = [{**p.as_dict(), "value": None} for p in located[:limit]]
    total = exc.records_total if exc.records_total is not None else len(located)
    return RefusalListing(shown, total, exc.more.message if exc.more is not None else None)


class StoredValueError(InputError):
    """A value held in the study database that cartrial never writes (put in by a direct change, e.g. text
    that is no date in a SQLite date column): located by its record (``infusion record 12, infused_at``) and
    what is allowed, never the value (D-12.2, D-19.543, D-19.556). The server's data, not the request's:
    the web answers 409 with the problems (`cartrial.web.errors.status_of`)."""


class InternalError(CartrialError):
    """An invariant of cartrial itself failed (not the user's input): the operation stops, nothing is
    written (the transaction rolls back). Raised, not asserted, so that ``python -O`` keeps the check."""

    exit_code = 1


__all__ = [
    "CartrialError",
    "ConfigurationError",
    "ConflictError",
    "InputError",
    "InternalError",
    "NotEstimableError",
    "OptionError",
    "PermissionDeniedError",
    "Problem",
    "RefusalListing",
    "StoredValueError",
    "conflict_problems",
    "conflict_records",
]


@contextmanager
def stored_rows_errors(frames: Mapping[str, tuple[Any, str]] | None = None) -> Iterator[None]:
    """Around an engine run on the study's stored rows (a snapshot's tables, never the user's own file):
    an `InputError` leaving it has `Problem.value` dropped from every problem located at a row or record —
    the table, row, field and what is allowed remain (D-12.2, D-19.500). A problem of the protocol or of a
    column name (no row) keeps what it quotes. The one place the analysis, `kinetics popfit --url` and
    the web safety page clean an engine's error (D-19.507).

    `frames`: problem file → (the frame the engine was given, with its ``record_id`` column; the store
    table `cartrial db edit` names). A problem at a row of that frame (spreadsheet numbering: position + 2)
    is then located at its record instead, ``pk_sample record 123, value`` — a row number of a filtered
    frame is no place a user can find (D-19.507). A problem at a row that no frame of `frames` locates (no
    file, its file not in it, the frame without ``record_id``, the row outside it) keeps its table and
    field only, the row dropped (the store table when its file is in `frames`, as `db records` and a
    record's name use it; else the engine's file name, which no wrapper without frames can map): which
    record it is only the frame the engine was given can tell, and
    naming one from another frame (the snapshot's table, in another order or with more rows) could name the
    wrong record (D-19.542). So a wrapper names the frames of the one engine call it is around
    (`cartrial.analysis.model.stored_rows`), and an outer one without frames leaves no row number."""
    try:
        yield
    except InputError as exc:
        problems = [_stored_problem(p, frames or {}) for p in exc.problems]
        raise exc.with_problems(problems) from None


def _stored_problem(problem: Problem, frames: Mapping[str, tuple[Any, str]]) -> Problem:
    if problem.row is None and problem.record is None:
        return problem
    problem = replace(problem, value=None)
    if problem.row is None:
        return problem
    # the table and field, never a row of a frame the user cannot see nor a guessed record (D-19.542); a
    # row without a file is of no frame at all
    unlocated = replace(problem, row=None)
    if problem.file is None or problem.file not in frames:
        return unlocated
    from cartrial.columns import FIRST_DATA_ROW  # here: cartrial.columns imports this module

    frame, table = frames[problem.file]
    unlocated = replace(unlocated, file=table)  # the store table `db records` takes, as a record names it
    position = problem.row - FIRST_DATA_ROW  # spreadsheet numbering: the header is row 1
    if "record_id" not in getattr(frame, "columns", ()) or not 0 <= position < len(frame):
        return unlocated
    record = frame["record_id"].iat[position]
    try:
        record_id = int(record)
    except (TypeError, ValueError):
        return unlocated
    return replace(problem, file=None, row=None, record=f"{table} record {record_id}")
