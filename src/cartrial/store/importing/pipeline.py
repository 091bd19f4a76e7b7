"""Atomic, validated, idempotent imports of CSV templates and REDCap exports into the study database.

Every import runs in three phases:

1. **read** every input file (SHA-256 of its bytes kept for the manifest);
2. **validate** every row of every file (types, required values, domain rules, natural-key duplicates within a
   file) and across files (a row for a subject that is neither in the import nor in the database; a subject at
   an unknown site); all problems are collected and raised together (`InputError`, exit 2), and nothing is
   written;
3. **write** everything in one database transaction through `cartrial.store.bulk.upsert_columns`: rows are
   matched on the table's natural key, so re-importing the same files inserts nothing and changes nothing, and
   a changed value is an audited update whose reason names the import and the file's SHA-256. One manifest row
   per file (file, SHA-256, kind, rows read / inserted / updated / unchanged per table, user, time) is written
   in the same transaction. If anything fails, or the process dies, the transaction is rolled back and the
   database is exactly as before (docs/science/data-standards.md §6.3 rule 6, §8.1 "validated transfer … with
   reconciliation").

Two bulk paths keep large imports near the physical limit (issue 19 section 5, docs/store.md "Bulk path"):
an unchanged re-import of identical files into a database nothing was written to since is decided per
file against the audit trail (`unchanged_since_import`: manifests only, no row read), and large template
files are streamed in chunks inside the one transaction (`cartrial.store.importing.streaming`).
"""

from __future__ import annotations

import gc
import hashlib
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, select

from cartrial.allowed import choice_text
from cartrial.errors import InputError, Problem, StoredValueError, shortened
from cartrial.protocol.model import Protocol
from cartrial.sources import refuse_special_source
from cartrial.store.edit_checks import (
    Finding,
    Severity,
    check_clock,
    hard_problems,
    import_findings,
    reconcile_queries,
    record_queries,
)
from cartrial.store.fields import study_protocol
from cartrial.store.importing import streaming
from cartrial.store.importing.forms import FORMS, FORMS_BY_NAME
from cartrial.store.importing.redcap_convert import (
    RedcapSummary,
    check_mapping,
    convert_export,
    mapped_columns,
)
from cartrial.store.importing.redcap_dictionary import DataDictionary, read_dictionary
from cartrial.store.importing.redcap_mapping import load_mapping
from cartrial.store.importing.redcap_records import (
    identifier_columns,
    read_records,
    without_identifier_values,
)
from cartrial.store.importing.validation import FormData, ValidatedForm, validate_form
from cartrial.store.models import Site, Study, Subject
from cartrial.store.stored_dates import LeftOut, leaving_out_unreadable
from cartrial.tabular import read_csv

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(form_name, rows_written_so_far, rows_total)`` while writing."""


@dataclass(frozen=True)
class FormCounts:
    """Reconciliation of one form: rows read from the file and what the database did with them."""

    form: str
    table: str
    file: str
    read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0
    """Stored records of the table whose natural key is not in the file: kept as they are (an import never
    deletes; decisions D-19.86)."""
    kept_ids: tuple[int, ...] = ()
    """The record ids of the first `KEPT_LISTED` kept records (by id); fewer than `kept` only past that
    limit, or when they could not be listed (`kept_message` says so)."""

    @property
    def reconciled(self) -> bool:
        """Every row read is accounted for (inserted + updated + unchanged = read)."""
        return self.inserted + self.updated + self.unchanged == self.read

    def kept_message(self) -> str | None:
        """What the report says of the kept records (None: there are none). Table and record ids only,
        never a record's values (docs/security.md)."""
        if not self.kept:
            return None
        ids = ", ".join(map(str, self.kept_ids))
        if not self.kept_ids:
            listed = " (ids not listed here: compare the table's export with the file)"
        elif len(self.kept_ids) < self.kept:
            listed = f" (ids {ids}, … the first {len(self.kept_ids)})"
        else:
            listed = f" (id{'s' if self.kept > 1 else ''} {ids})"
        return (
            f"kept: {self.kept} record{'s' if self.kept > 1 else ''} of {self.table} not in "
            f"{Path(self.file).name}{listed}; delete with `cartrial db delete {self.table} ID --reason ...` "
            f"if {'they were' if self.kept > 1 else 'it was'} removed on purpose"
        )


@dataclass(frozen=True)
class ManifestEntry:
    """One input file of an import: name, SHA-256 of its bytes, size."""

    file: str
    sha256: str
    size_bytes: int


@dataclass
class ImportReport:
    """What an import read and did (printed as the reconciliation report, stored as the manifest)."""

    kind: str
    user: str
    started_at: datetime
    dry_run: bool
    files: list[ManifestEntry]
    forms: list[FormCounts]
    options: dict[str, str] = field(default_factory=dict)
    redcap: RedcapSummary | None = None
    seconds: float = 0.0
    edit_checks: list[Finding] = field(default_factory=list)
    """Soft edit checks that fire (a data query each; listed by a dry run). Hard ones refuse the import."""

    @property
    def totals(self) -> dict[str, int]:
        return {
            "read": sum(f.read for f in self.forms),
            "inserted": sum(f.inserted for f in self.forms),
            "updated": sum(f.updated for f in self.forms),
            "unchanged": sum(f.unchanged for f in self.forms),
            "kept": sum(f.kept for f in self.forms),
        }

    def kept_messages(self) -> list[str]:
        """One line per form whose table holds records not in its file (decisions D-19.86)."""
        return [m for m in (f.kept_message() for f in self.forms) if m is not None]

    def as_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "kind": self.kind,
            "user": self.user,
            "started_at": self.started_at.isoformat(),
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "files": [asdict(f) for f in self.files],
            "forms": [asdict(f) for f in self.forms],
            "totals": self.totals,
            "options": self.options,
            "kept": self.kept_messages(),
        }
        payload["edit_checks"] = [f.as_dict() for f in self.edit_checks]
        if self.redcap is not None:
            payload["redcap"] = asdict(self.redcap)
        return payload


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------------


def template_files(directory: str | Path) -> list[ManifestEntry]:
    """The ``<form>.csv`` files of a folder in form order, each with its SHA-256 and size; a CSV that is
    not a cartrial form, or a folder without any, is an error (`InputError`)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError(Problem("not a folder of CSV templates", file=str(folder)))
    files = sorted(folder.glob("*.csv"))
    problems: list[Problem] = []
    for file in files:
        refuse_special_source(file)  # a FIFO would block the checksum below for ever
        if file.stem not in FORMS_BY_NAME:
            problems.append(
                Problem(
                    "not a cartrial form template (file name must be <form>.csv)",
                    file=str(file),
                    allowed=choice_text(f.file_name for f in FORMS),
                )
            )
    if not files:
        problems.append(
            Problem(
                "no CSV templates in the folder",
                file=str(folder),
                allowed=choice_text(f.file_name for f in FORMS),
            )
        )
    if problems:
        raise InputError(problems, header=f"{folder}: {len(problems)} problem(s); nothing was written")
    order = {spec.name: i for i, spec in enumerate(FORMS)}
    return [
        ManifestEntry(file=str(file), sha256=sha256_of(file), size_bytes=file.stat().st_size)
        for file in sorted(files, key=lambda f: order[f.stem])
    ]


def read_template_dir(
    directory: str | Path, entries: Sequence[ManifestEntry] | None = None
) -> tuple[list[FormData], list[ManifestEntry]]:
    """Read every ``<form>.csv`` of a folder; a CSV that is not a cartrial form is an error (never skipped).

    Files other than ``*.csv`` (a README, say) are not inputs and are left alone. `entries`: the folder's
    `template_files` when already listed (their SHA-256 is not computed again).
    """
    entries = list(entries) if entries is not None else template_files(directory)
    problems: list[Problem] = []
    forms: list[FormData] = []
    for entry in entries:
        file = Path(entry.file)
        long_cells: list[Problem] = []
        emptied: set[tuple[int, str]] = set()
        try:  # a form with no records yet
            frame = read_csv(file, header_only=True, long_cells=long_cells, emptied=emptied)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        forms.append(
            FormData(
                spec=FORMS_BY_NAME[file.stem],
                frame=frame,
                file=str(file),
                sha256=entry.sha256,
                read_problems=long_cells,
                emptied_cells=emptied,
                nul_free=True,  # `read_csv` refuses a NUL byte
            )
        )
    if problems:
        raise InputError(problems, header=f"{len(problems)} problem(s); nothing was written")
    return forms, entries


# ---------------------------------------------------------------------------------------------------------
# Validation across files
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatabaseState:
    """What the cross-file checks need from the database: known subjects and sites, privacy setting."""

    subjects: frozenset[str]
    sites: frozenset[str]
    birth_date_precision: str = "year"
    protocol: Protocol | None = None
    """The study's protocol (dose levels for the field rules), None before `db init`."""


def database_state(engine: Engine, user: str) -> DatabaseState:
    """What an import's rows are checked against: the stored subjects of the sites `user` may read (an
    investigator's import knows no other site's subject, whose row is then refused as for an unknown
    subject, its id not listed among those allowed, D-19.348; `user` is required so that no caller falls
    back to every site's subjects), the sites that user may read (D-19.415), birth-date precision and
    protocol."""
    from cartrial.store.reads import _site_condition
    from cartrial.store.transaction import load_actor

    with engine.connect() as connection:
        sites_read = importer_sites(load_actor(connection, user))
        subjects = frozenset(
            connection.scalars(select(Subject.subject_id).where(*_site_condition(Subject, sites_read))).all()
        )
        # the sites too: another site is unknown to such an importer, as a code no site has (D-19.415)
        sites = frozenset(
            connection.scalars(select(Site.site_id).where(*_site_condition(Site, sites_read))).all()
        )
        precision = connection.scalars(select(Study.birth_date_precision)).first()
        protocol = study_protocol(connection)
    return DatabaseState(
        subjects=subjects, sites=sites, birth_date_precision=precision or "year", protocol=protocol
    )


def validate_all(forms: Sequence[FormData], state: DatabaseState) -> list[ValidatedForm]:
    """Validate every form, then the cross-file references; raise one `InputError` listing everything."""
    problems: list[Problem] = []
    validated: list[ValidatedForm] = []
    for data in forms:
        result, form_problems = validate_form(data, protocol=state.protocol)
        problems.extend(form_problems)
        if result is not None:
            validated.append(result)
    by_form: dict[str, list[FormData]] = {}
    for data in forms:
        by_form.setdefault(data.spec.name, []).append(data)
    for name, group in by_form.items():
        if len(group) > 1 and len({d.file for d in group}) > 1:
            problems.append(
                Problem(
                    f"form '{name}' is given by more than one file",
                    file=", ".join(d.file for d in group),
                )
            )
    problems.extend(_cross_file_problems(forms, state))
    if problems:
        raise InputError(problems, header=f"{len(problems)} problem(s) found; nothing was written")
    return validated


def _cross_file_problems(forms: Sequence[FormData], state: DatabaseState) -> list[Problem]:
    problems: list[Problem] = []
    imported_sites: set[str] = set()
    imported_subjects: set[str] = set()
    for data in forms:
        if data.spec.name == "sites" and "site_id" in data.frame:
            imported_sites.update(data.frame["site_id"])
        if data.spec.name == "subjects" and "subject_id" in data.frame:
            imported_subjects.update(data.frame["subject_id"])
    sites = state.sites | imported_sites
    subjects = state.subjects | imported_subjects
    for data in forms:
        checks: list[tuple[str, set[str] | frozenset[str], str]] = []
        if data.spec.name == "subjects":
            checks.append(("site_id", sites, "sites"))
        elif data.spec.subject_column and data.spec.name != "sites":
            checks.append((data.spec.subject_column, subjects, "subjects"))
        for column, known, where in checks:
            if column not in data.frame:
                continue
            cells = data.frame[column]
            unknown = (cells != "") & ~cells.isin(list(known))
            for position in unknown.to_numpy().nonzero()[0]:
                label = data.source_columns.get(column, column)
                problems.append(
                    Problem(
                        f"unknown {column}: not in {where}.csv of this import nor in the database",
                        file=data.file,
                        row=int(data.rows_of([position])[0]),  # type: ignore[arg-type]
                        field=label,
                        value=str(cells.iat[position]),
                        allowed=_few(known),
                    )
                )
        if (
            data.spec.name == "subjects"
            and state.birth_date_precision == "year"
            and "birth_date" in data.frame
        ):
            for position in (data.frame["birth_date"] != "").to_numpy().nonzero()[0]:
                problems.append(
                    Problem(
                        "the study stores birth year only (privacy setting birth_date_precision = year)",
                        file=data.file,
                        row=int(data.rows_of([position])[0]),  # type: ignore[arg-type]
                        field="birth_date",
                        value=str(data.frame["birth_date"].iat[position]),
                        allowed="blank; give birth_year",
                    )
                )
    return problems


def plan_edit_checks(
    engine: Engine,
    validated: Sequence[ValidatedForm],
    state: DatabaseState,
    unchanged: UnchangedFiles | None = None,
    *,
    now: datetime | None = None,
    hidden: Collection[tuple[str, str]] = (),
) -> list[Finding]:
    """The edit checks that the validated forms fire (with the subjects' stored records): raise one
    `InputError` listing the hard ones (nothing is written); return the soft ones (one data query each).
    `unchanged`: the files a partial re-import does not read (`UnchangedFiles.restated`). `now`: the
    import's one instant (`check_clock`, read once per import; D-19.621). `hidden`: the (table, column)
    pairs whose findings carry no value — columns read from a REDCap field flagged ``Identifier? = y``
    (`redcap_hidden_columns`; D-19.1073): neither the hard refusal, the dry-run listing nor the report's
    ``edit_checks`` shows it."""
    with engine.connect() as connection, leaving_out_unreadable() as left_out:
        refused = [p for form in validated for p in committee_reason_problems(connection, form)]
        restated = unchanged.restated(connection, validated) if unchanged is not None else None
        findings = import_findings(connection, validated, state.protocol, restated=restated, now=now)
        findings += left_out_findings(connection, validated, left_out)
    if hidden:
        findings = [replace(f, value=None) if (f.record.table, f.field) in hidden else f for f in findings]
    hard = hard_problems(findings)
    if refused:  # the single write's rule on the import's new or changed decisions (D-19.834)
        problems = refused + hard
        raise InputError(
            problems, header=f"{len(problems)} problem(s) refuse the import; nothing was written"
        )
    if hard:
        raise InputError(hard, header=f"{len(hard)} edit check(s) refuse the import; nothing was written")
    return findings


def committee_reason_problems(connection: Any, form: ValidatedForm) -> list[Problem]:
    """The single write's committee-reason rule (`writes.check_committee_reason`, D-19.724) on each new or
    changed row of an imported escalation decisions form, judged as the record the row makes (the stored
    record of its natural key with the row's columns applied, as `Transaction.upsert_rows` judges it): a
    row restating its stored record unchanged is not written and not judged (a re-import of an exported
    study whose older decisions predate the rule, D-19.834). Each refusal is located at the row's file, row
    and ``design_state.committee_reason`` and shows no value (the reason judged may be the stored one)."""
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.writes import find_by_keys, judge_committee_reason

    table = form.spec.table
    if table != "escalation_decision" or not form.n_rows:
        return []
    rows = form.rows()
    keys = list(form.spec.key_columns)
    befores = find_by_keys(connection, STUDY_TABLES[table], rows, keys)
    numbers = form.row_numbers()
    problems: list[Problem] = []
    for position, (row, before) in enumerate(zip(rows, befores, strict=True)):
        try:  # new, or its decision or design state changed: as the single write (D-19.834)
            judge_committee_reason(table, before, row)
        except InputError as exc:
            problems.extend(
                replace(p, file=form.file, row=int(numbers[position]), value=None) for p in exc.problems
            )
    return problems


def left_out_findings(connection: Any, forms: Sequence[ValidatedForm], left_out: LeftOut) -> list[Finding]:
    """The single write's answer for each imported row of a subject whose stored records the import's edit
    checks left out (`left_out`: read within `leaving_out_unreadable`; D-19.643, D-19.651, D-19.652,
    D-19.796). Each row is looked up among the subject's stored records by its natural key, as
    `import_findings` merges them: an unchanged stored record is not written and gets nothing; a changed
    one is an edit, never refused for a record its checks cannot read, and gets the soft `CHECKS-LEFT-OUT`
    finding naming the records left out and the hard checks skipped; a new record gets a hard finding when
    a hard check of its table compares it with a left-out record (`writes.blind_checks`: the import is
    refused naming the row, the check and the records to repair), else the soft `CHECKS-LEFT-OUT` finding;
    a row restating a left-out record itself (`_restated_left_out`) is refused naming it (round 2).
    The rows of other subjects get nothing: their checks read everything."""
    from cartrial.store.edit_checks import (
        CHECKED_TABLES,
        CHECKS_LEFT_OUT,
        Record,
        blind_hard_checks,
        left_out_finding,
        stored_records,
    )
    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import unread_names
    from cartrial.store.tables import same_value
    from cartrial.store.writes import blind_checks, of_subject

    if not left_out:
        return []
    findings: list[Finding] = []
    mine: dict[str, LeftOut] = {}
    stored: dict[tuple[str, str], dict[tuple[Any, ...], Record]] = {}  # (subject, table) -> key -> record
    for form in forms:
        table = form.spec.table
        if table not in CHECKED_TABLES or "subject_id" not in form.columns:
            continue
        keys = STUDY_TABLES[table].natural_key
        numbers = form.row_numbers()
        for position, subject in enumerate(form.columns["subject_id"]):
            if subject is None:
                continue
            subject = str(subject)
            if subject not in mine:
                mine[subject] = of_subject(connection, left_out, subject)
            unseen = mine[subject]
            if not unseen:
                continue
            if (subject, table) not in stored:
                with leaving_out_unreadable():  # the unreadable ones: in `unseen` already
                    records = stored_records(connection, [subject], [table]).get(subject, {}).get(table, [])
                stored[(subject, table)] = {tuple(r.get(k) for k in keys): r for r in records}
            values = form.rows(position, position + 1)[0]
            old = stored[(subject, table)].get(tuple(values.get(k) for k in keys))
            if old is not None and all(same_value(old.get(n), v) for n, v in values.items()):
                continue  # unchanged: not written, nothing checked (a re-import of the file)
            record = Record(table, values, True, file=form.file, row=int(numbers[position]))
            hard: list[str] = []
            restated = _restated_left_out(connection, table, keys, values, unseen) if old is None else None
            if restated is not None:  # the row is (or may be) the unreadable record itself: not a new row
                names, maybe = restated
                findings.append(
                    Finding(
                        replace(CHECKS_LEFT_OUT, severity=Severity.HARD),
                        record,
                        ", ".join(keys),
                        None,
                        f"this {table} row restates {'; '.join(names)}, which cannot be read (a date "
                        "cartrial never stores"
                        f"{'; the row is the same in every field that can be read' if maybe else ''}): "
                        "the import can neither compare "
                        "the row with it nor write it; a data manager repairs that record first (cartrial "
                        "db edit, setting each date, with a reason), then imports again",
                    )
                )
                continue
            if old is None:  # an insert: refused when a hard check cannot run (D-19.651)
                blind, named = blind_checks(table, unseen)
                if blind:
                    findings.append(
                        Finding(
                            blind[0],
                            record,
                            "subject_id",
                            None,
                            f"the edit check(s) {', '.join(c.id for c in blind)} compare this {table} row "
                            f"with {'; '.join(unread_names(named))}, which cannot be read (a date cartrial "
                            "never stores): a data manager repairs these records first (cartrial db edit, "
                            "setting each date, with a reason)",
                        )
                    )
                    continue
            else:  # an edit: never refused for them, the hard checks skipped named (D-19.652)
                tables = {name for name, ids in unseen.records.items() if ids}
                hard = [check.id for check in blind_hard_checks(table, tables)]
            finding = left_out_finding(table, values, 0, unread_names(unseen), hard)
            findings.append(replace(finding, record=record))
    return findings


def _restated_left_out(
    connection: Any, table: str, keys: Sequence[str], values: Mapping[str, Any], unseen: LeftOut
) -> tuple[list[str], bool] | None:
    """The left-out records of `table` (`unseen`, one subject's) that the row `values` restates (round 2
    of D-19.796): by its natural key `keys`, the key columns read by record id. When an unreadable field is
    one of the key's, the key cannot tell: the row restates the record when every other field of the row
    that can be read is the same (True: told so in the message); a row differing in one is taken as a new
    record (a second infusion: its hard check refuses it, naming the record). The names (``<table> record
    <id>, <field>``, never a value) and that flag; None when the row restates none."""
    from sqlalchemy import select

    from cartrial.store.models import STUDY_TABLES
    from cartrial.store.stored_dates import unread_names, unread_records
    from cartrial.store.tables import same_value

    ids = sorted(unseen.records.get(table, ()))
    if not ids:
        return None
    model = STUDY_TABLES[table].__table__  # type: ignore[attr-defined]
    fields = unread_records(unseen)
    names: list[str] = []
    maybe = False
    for record_id in ids:
        name = f"{table} record {record_id}"
        unreadable = set(fields.get(name, ()))
        readable = [k for k in keys if k not in unreadable]
        if len(readable) < len(keys):  # the key cannot tell: every readable field of the row
            readable = [c for c in values if c not in unreadable and c in model.c and c != "id"]
        row = connection.execute(
            select(*(model.c[k] for k in readable)).where(model.c.id == record_id)
        ).first()
        if row is None or not all(same_value(v, values.get(k)) for k, v in zip(readable, row, strict=True)):
            continue
        maybe = maybe or any(k in unreadable for k in keys)
        names += unread_names([p for p in unseen if p.record == name])
    return (names, maybe) if names else None


def _few(values: set[str] | frozenset[str], limit: int = 8) -> str:
    ordered = sorted(values)
    if not ordered:
        return "(none known yet: import subjects.csv / sites.csv first or in the same import)"
    text = ", ".join(shortened(value) for value in ordered[:limit])  # an over-long id stays one short item
    return text + (f", … ({len(ordered)} in all)" if len(ordered) > limit else "")


def now() -> datetime:
    return datetime.now(UTC)


__all__ = [
    "DatabaseState",
    "FormCounts",
    "ImportReport",
    "ManifestEntry",
    "ProgressCallback",
    "RedcapSummary",
    "UnchangedFiles",
    "check_mapping",
    "convert_export",
    "database_state",
    "load_mapping",
    "plan_edit_checks",
    "read_dictionary",
    "read_records",
    "read_template_dir",
    "sha256_of",
    "template_files",
    "unchanged_since_import",
    "validate_all",
]


# ---------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------

WRITE_CHUNK_ROWS = 20_000
"""Rows per `upsert_rows` call (progress is reported after each; all calls share one transaction)."""


def import_reason(kind: str, file: str, reason: str | None) -> str:
    """The audit reason of every row written by an import: the user's reason (if any), the import kind and
    the file name. The file's SHA-256 is in each row's `source` (docs/science/data-standards.md §8.2: source =
    import
    file with its hash); repeating it in the reason would add ~75 bytes to each of a million audit rows."""
    base = f"{kind} import of {Path(file).name}"
    return f"{reason.strip()}: {base}" if reason and reason.strip() else base


def write_forms(
    engine: Engine,
    validated: Sequence[ValidatedForm],
    entries: Sequence[ManifestEntry],
    *,
    user: str,
    kind: str,
    reason: str | None = None,
    progress: ProgressCallback | None = None,
    manifest_counts: Callable[[ManifestEntry, list[FormCounts]], dict[str, Any]] | None = None,
    findings: Sequence[Finding] = (),
    unchanged: UnchangedFiles | None = None,
    now: datetime | None = None,
) -> list[FormCounts]:
    """Write every validated form in ONE transaction and record one manifest row per input file.

    Rows are upserted on the table's natural key (`cartrial.store.bulk.upsert_columns`; the forms are
    validated already, so the row checks of `Transaction.upsert_rows` do not run again, D-19.430): idempotent,
    audited, with `import_reason` as the reason of each update. Any error (permission, lock, database) rolls
    everything back; so does the process dying, since nothing is committed before the end. `unchanged`: files
    of a partial re-import that are not read (re-checked under the write lock; `UnchangedFiles`).
    """
    from cartrial.store.permissions import Action
    from cartrial.store.service import StudyService

    importer = StudyService(engine).as_user(user)
    counts: list[FormCounts] = []
    total = sum(form.n_rows for form in validated)
    done = 0
    first = validated[0] if validated else None
    with importer.transaction(
        source=f"{kind} import",
        reason=import_reason(kind, first.file, reason) if first else reason,
    ) as tx:
        tx.require(Action.IMPORT, f"{kind} import")
        if unchanged is not None:
            unchanged.recheck(tx.connection)
        for form in validated:
            result, done = write_form(
                tx, form, kind=kind, reason=reason, progress=progress, done=done, total=total
            )
            counted = form_counts(form, result)
            counts.append(
                with_kept(
                    tx.connection,
                    counted,
                    form.spec.key_columns,
                    key_lookup(form),
                    sites=importer_sites(tx.actor),
                )
            )
        if unchanged is not None:
            counts += unchanged.counts()
        record_manifests(
            tx,
            entries,
            counts,
            kind=kind,
            reason=reason,
            manifest_counts=manifest_counts,
            findings=findings,
            now=now,
        )
    return counts


def write_form(
    tx: Any,
    form: ValidatedForm,
    *,
    kind: str,
    reason: str | None,
    progress: ProgressCallback | None = None,
    done: int = 0,
    total: int = 0,
    known_new: bool = False,
) -> tuple[Any, int]:
    """Upsert one validated form in `WRITE_CHUNK_ROWS` calls (its reason and source name its file and
    hash); returns the summed `UpsertResult` (None: no rows) and the rows written so far. `known_new`: the
    caller knows no row's key is stored (`bulk.upsert_columns`); so does a form whose keys were found unique
    (`ValidatedForm.keys_unique`) written into a table that holds no record when its write begins: its new
    keys are then not gathered into the transaction's set of the table's keys, a million of them for a
    large import (D-19.1152)."""
    from cartrial.store import bulk

    # judged again under the write's transaction, as the rows are written (a streamed file's chunk too)
    refused = committee_reason_problems(tx.connection, form)
    if refused:
        raise InputError(refused, header=f"{len(refused)} problem(s) refuse the import; nothing was written")
    tx.reason = import_reason(kind, form.file, reason)
    tx.source = f"{kind} import {Path(form.file).name} sha256:{form.sha256}"
    if not known_new and form.keys_unique and form.n_rows:
        known_new = bulk.table_is_empty(tx, form.spec.table)
    result = None
    for start in range(0, form.n_rows, WRITE_CHUNK_ROWS):
        columns = form.written_columns(start, start + WRITE_CHUNK_ROWS)
        n = min(form.n_rows, start + WRITE_CHUNK_ROWS) - start
        # column by column: new rows go to the database without per-row dicts (decisions D-19.13)
        chunk = bulk.upsert_columns(tx, form.spec.table, columns, form.spec.key_columns, known_new=known_new)
        written = getattr(tx, "written_subjects", None)
        if isinstance(written, set) and "subject_id" in columns:
            written.update(str(s) for s in set(columns["subject_id"]) if s is not None)
        result = chunk if result is None else result + chunk
        done += n
        if progress is not None:
            progress(form.spec.name, done, max(total, done))
    return result, done


def form_counts(form: ValidatedForm, result: Any, read: int | None = None) -> FormCounts:
    return FormCounts(
        form=form.spec.name,
        table=form.spec.table,
        file=form.file,
        read=form.n_rows if read is None else read,
        inserted=result.inserted if result else 0,
        updated=result.updated if result else 0,
        unchanged=result.unchanged if result else 0,
    )


KEPT_LISTED = 100
"""How many kept record ids an import report lists (the count is always exact; decisions D-19.86)."""


Sites = tuple[str | None, ...] | None
"""The sites whose records an importer may read (`cartrial.store.permissions.readable_sites`; None:
every site)."""


def importer_sites(actor: Any) -> Sites:
    """The sites of the acting user's records (`Actor`): what the import report counts as kept (D-19.347)."""
    from cartrial.store.permissions import readable_sites

    return readable_sites(actor.role, actor.site_id)


def stored_count(connection: Any, table_name: str, sites: Sites = None) -> int:
    """How many records `table_name` holds (one COUNT), of `sites` only when given."""
    from sqlalchemy import func

    from cartrial.store.reads import _site_condition
    from cartrial.store.tables import model_of, table_of

    model = model_of(table_name)
    query = select(func.count()).select_from(table_of(model)).where(*_site_condition(model, sites))
    return int(connection.execute(query).scalar() or 0)


def kept_records(
    connection: Any,
    table_name: str,
    key_columns: Sequence[str],
    in_file: Callable[[list[tuple[Any, ...]]], Sequence[bool]],
    sites: Sites = None,
) -> list[int]:
    """The ids (ascending) of the stored records of `table_name` (of `sites` only, when given) whose
    natural key `in_file` does not find, read as typed key tuples in chunks of ids and keys only (never
    other values)."""
    from cartrial.store.reads import _site_condition
    from cartrial.store.tables import model_of, table_of

    model = model_of(table_name)
    table = table_of(model)
    result = connection.execute(
        select(table.c.id, *(table.c[k] for k in key_columns))
        .where(*_site_condition(model, sites))
        .order_by(table.c.id)
    )
    kept: list[int] = []
    while batch := result.fetchmany(50_000):
        found = in_file([tuple(row[1:]) for row in batch])
        kept += [int(row[0]) for row, hit in zip(batch, found, strict=True) if not hit]
    return kept


def with_kept(
    connection: Any,
    counts: FormCounts,
    key_columns: Sequence[str],
    in_file: Callable[[list[tuple[Any, ...]]], Sequence[bool]] | None,
    stored: int | None = None,
    sites: Sites = None,
) -> FormCounts:
    """`counts` with its kept records after the file's rows were stored: every row read is one stored
    record (keys are unique in a file), so kept = records of the table − rows read (one COUNT; `stored`
    when already counted). Only when some are kept are the ids listed: the table's ids and keys read once
    and looked up by `in_file` (None: not listed); a listing that does not give exactly that many ids is
    not shown (the count stays). `sites`: the importer's (`importer_sites`): the records of other sites are
    neither counted nor listed — every row the importer wrote is of their sites (D-19.347)."""
    from dataclasses import replace

    kept = (stored_count(connection, counts.table, sites) if stored is None else stored) - counts.read
    if kept <= 0:
        return counts
    ids: list[int] = []
    if in_file is not None:
        ids = kept_records(connection, counts.table, key_columns, in_file, sites)
        if len(ids) != kept:
            ids = []
    return replace(counts, kept=kept, kept_ids=tuple(ids[:KEPT_LISTED]))


def key_lookup(form: ValidatedForm) -> Callable[[list[tuple[Any, ...]]], list[bool]]:
    """`in_file` of `kept_records` for a validated form: its natural keys as a set of typed tuples, built
    at the first call (an import calls it only when the table keeps records the file lacks; D-19.934)."""
    keys: set[tuple[Any, ...]] | None = None

    def in_file(stored: list[tuple[Any, ...]]) -> list[bool]:
        nonlocal keys
        if keys is None:
            keys = set(form.key_tuples())
        return [key in keys for key in stored]

    return in_file


def dry_run_counts(engine: Engine, validated: Sequence[ValidatedForm], user: str) -> list[FormCounts]:
    """What a dry run reports per form: rows read, and the stored records (of the sites `user` may read,
    D-19.347) whose key is not in the file (nothing is compared or written, so these are found by the
    keys: one read of each table's ids and keys). Each form's table permission is checked as the write
    checks it (a site or an escalation decision: its own action, D-19.416): a dry run says what the import
    would refuse."""
    from dataclasses import replace

    from cartrial.store.permissions import Action, check, write_action
    from cartrial.store.transaction import load_actor

    out: list[FormCounts] = []
    with engine.connect() as connection:
        actor = load_actor(connection, user)
        sites = importer_sites(actor)
        for form in validated:
            table = form.spec.table
            check(actor.username, actor.role, write_action(table, Action.ENTER), f"insert into {table}")
            counts = FormCounts(form.spec.name, form.spec.table, form.file, form.n_rows)
            ids = kept_records(connection, form.spec.table, form.spec.key_columns, key_lookup(form), sites)
            out.append(replace(counts, kept=len(ids), kept_ids=tuple(ids[:KEPT_LISTED])))
    return out


def manifest_row_counts(counts: FormCounts) -> dict[str, Any]:
    """One table's row counts in an import manifest: read, inserted, updated, unchanged and (when some
    stored records are not in the file) kept with the listed ids (decisions D-19.86)."""
    row: dict[str, Any] = {
        "read": counts.read,
        "inserted": counts.inserted,
        "updated": counts.updated,
        "unchanged": counts.unchanged,
    }
    if counts.kept:
        row |= {"kept": counts.kept, "kept_ids": list(counts.kept_ids)}
    return row


def record_manifests(
    tx: Any,
    entries: Sequence[ManifestEntry],
    counts: Sequence[FormCounts],
    *,
    kind: str,
    reason: str | None,
    manifest_counts: Callable[[ManifestEntry, list[FormCounts]], dict[str, Any]] | None = None,
    findings: Sequence[Finding] = (),
    now: datetime | None = None,
) -> None:
    """The end of an import's transaction: one data query per soft edit-check finding, one manifest row per
    input file. `now`: the import's one instant, the one its findings were found at (D-19.621)."""
    tx.reason = reason.strip() if reason and reason.strip() else f"{kind} import"
    tx.source = f"{kind} import"
    record_queries(tx, findings)  # soft edit checks: one data query each, same transaction
    # the edit-check queries whose check no longer fires after the import are closed by the system; a
    # subject's records no reader reads are left out, its queries kept open (D-19.562, D-19.796)
    with leaving_out_unreadable():
        reconcile_queries(tx, getattr(tx, "written_subjects", ()), now=now)
    for entry in entries:
        mine = [c for c in counts if c.file == entry.file]
        row_counts: dict[str, Any] = (
            manifest_counts(entry, list(counts))
            if manifest_counts is not None
            else {c.table: manifest_row_counts(c) for c in mine}
        )
        tx.record_import(entry.file, entry.sha256, kind, row_counts)


_COLLECTOR_LOCK = threading.Lock()
_collector_pauses = 0
_collector_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block, restored after it (decisions D-19.935).

    An import read whole allocates millions of objects (typed values, row tuples, key tuples) and frees
    them together; the collector, triggered every 700 allocations, traverses the growing heap thousands of
    times (about 0.7 s of CPU in a 1,000-subject import) and finds a few thousand cyclic objects. Nothing
    is stored differently: reference counting still frees every object that is in no cycle at once, and
    the few cycles are collected after the block. Process-wide: only `import_templates(pause_collector=True)`
    (the CLI import, the store benchmark) uses it, never a server. Nested and concurrent blocks share one
    count: the collector is enabled again when the last block ends, and only when it was enabled before
    the first began (a `gc.disable()` by other code during a block is undone by its end)."""
    global _collector_pauses, _collector_was_enabled
    with _COLLECTOR_LOCK:
        if _collector_pauses == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_pauses += 1
    try:
        yield
    finally:
        with _COLLECTOR_LOCK:
            _collector_pauses -= 1
            if _collector_pauses == 0 and _collector_was_enabled:
                gc.enable()


def import_templates(
    url: str | Engine | None,
    directory: str | Path,
    user: str,
    *,
    dry_run: bool = False,
    reason: str | None = None,
    progress: ProgressCallback | None = None,
    stream_bytes: int | None = None,
    chunk_rows: int = streaming.CHUNK_ROWS,
    partial: bool = True,
    pause_collector: bool = False,
) -> ImportReport:
    """Import a folder of CSV templates (one ``<form>.csv`` per form) atomically; see the module docstring.

    `pause_collector`: a folder read whole is imported with Python's cyclic garbage collector paused
    (`collector_paused`, process-wide; D-19.935). Off by default (the web server and library callers keep
    it running); the one-shot `cartrial import` command and the store benchmark turn it on.

    `partial`: a re-import may leave out (not read) the files that are byte-identical to the ones an earlier
    import stored when nothing was written since (`UnchangedFiles`); False reads and compares every file.

    `dry_run` validates everything (including the cross-file and database checks) and writes nothing.
    Files larger than `stream_bytes` (default `streaming.STREAM_BYTES`) are read, validated and written
    `chunk_rows` rows at a time in the same one transaction (`cartrial.store.importing.streaming`).
    Raises `InputError` (every problem, nothing written), `PermissionDeniedError`, `ConflictError` (lock).
    """
    from cartrial.store.database import connect
    from cartrial.store.service import StudyService

    started = now()
    engine = url if isinstance(url, Engine) else connect(url)
    # refuse early, before reading
    StudyService(engine).as_user(user).check(_import_action(), "templates import")
    listed = template_files(directory)
    folder_bytes = sum(e.size_bytes for e in listed)
    large = [
        e
        for e in listed
        if streaming.streamed(FORMS_BY_NAME[Path(e.file).stem], e.size_bytes, folder_bytes, stream_bytes)
    ]
    unchanged: UnchangedFiles | None = None
    if not dry_run:
        written = _write_unchanged(engine, listed, user=user, kind="templates", reason=reason)
        if written is not None:
            report = ImportReport("templates", user, started, False, listed, written)
            report.seconds = (now() - started).total_seconds()
            return report
        if partial:
            sites = StudyService(engine).as_user(user).read_sites()
            with engine.connect() as connection:  # a look first; re-checked under the write lock
                unchanged = UnchangedFiles.find(connection, listed, "templates", sites)
    try:
        # asked for and a folder read whole: the cyclic garbage collector paused (D-19.935)
        with collector_paused() if pause_collector and not large else nullcontext():
            report = _import_templates(
                engine, listed, large, user=user, dry_run=dry_run, reason=reason, progress=progress,
                chunk_rows=chunk_rows, unchanged=unchanged,
            )  # fmt: skip
    except _ChangedSince:  # written to since the look: the full path, every file read and compared
        return import_templates(
            engine, directory, user, reason=reason, progress=progress, stream_bytes=stream_bytes,
            chunk_rows=chunk_rows, partial=False, pause_collector=pause_collector,
        )  # fmt: skip
    report.started_at = started
    report.seconds = (now() - started).total_seconds()
    return report


def _import_templates(
    engine: Engine,
    listed: Sequence[ManifestEntry],
    large: Sequence[ManifestEntry],
    *,
    user: str,
    dry_run: bool,
    reason: str | None,
    progress: ProgressCallback | None,
    chunk_rows: int,
    unchanged: UnchangedFiles | None,
) -> ImportReport:
    """`import_templates` after the listing: the files not in `unchanged` are read (streamed when in
    `large`), validated and written."""
    skipped = set(unchanged.entries()) if unchanged is not None else set()
    read = [e for e in listed if e not in skipped]
    if large:
        return _import_streamed(
            engine,
            read,
            [e for e in large if e not in skipped],
            user=user,
            dry_run=dry_run,
            reason=reason,
            progress=progress,
            chunk_rows=chunk_rows,
            unchanged=unchanged,
            listed=listed,
        )
    forms, _ = read_template_dir(Path(listed[0].file).parent, read)
    state = database_state(engine, user)
    validated = validate_all(forms, state)
    clock = check_clock()  # the import's one now (D-19.621)
    findings = plan_edit_checks(engine, validated, state, unchanged, now=clock)
    report = ImportReport(
        kind="templates",
        user=user,
        started_at=now(),
        dry_run=dry_run,
        files=list(listed),
        forms=[],
        edit_checks=findings,
    )
    if dry_run:
        report.forms = dry_run_counts(engine, validated, user)
    else:
        report.forms = write_forms(
            engine,
            validated,
            listed,
            user=user,
            kind="templates",
            reason=reason,
            progress=progress,
            findings=findings,
            unchanged=unchanged,
            now=clock,
        )
    return report


def import_redcap(
    url: str | Engine | None,
    records: str | Path,
    dictionary: str | Path,
    mapping: str | Path,
    user: str,
    *,
    dry_run: bool = False,
    reason: str | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a flat REDCap export through a mapping, atomically (see `redcap_convert` for the rules).

    The manifest keeps the export, the dictionary and the mapping, each with its SHA-256.
    """
    from cartrial.store.database import connect
    from cartrial.store.service import StudyService

    started = now()
    engine = url if isinstance(url, Engine) else connect(url)
    # refuse early, before reading
    StudyService(engine).as_user(user).check(_import_action(), "REDCap import")
    paths = [Path(records), Path(dictionary), Path(mapping)]
    for path in paths:
        if not path.is_file():
            raise InputError(Problem("file not found", file=str(path)))
    entries = [ManifestEntry(str(p), sha256_of(p), p.stat().st_size) for p in paths]
    data_dictionary = read_dictionary(dictionary)
    mapping_model = load_mapping(mapping)
    mapping_problems = check_mapping(mapping_model, data_dictionary, str(mapping))
    if mapping_problems:
        raise InputError(
            mapping_problems,
            header=f"{mapping}: {len(mapping_problems)} problem(s) in the mapping; nothing was written",
        )
    export = read_records(
        records,
        data_dictionary,
        mapping_model.missing_data_codes,
        needed_columns=mapped_columns(data_dictionary, mapping_model),
    )
    forms, summary, problems = convert_export(export, data_dictionary, mapping_model, entries[0].sha256)
    state = database_state(engine, user)
    try:
        validated = validate_all(forms, state)
    except StoredValueError:  # a stored date no reader reads: the refusal itself (D-19.556)
        raise
    except InputError as exc:  # an identifier's value is never shown (D-19.1073)
        later = without_identifier_values(
            after_conversion(problems, exc.problems, data_dictionary), data_dictionary
        )
        problems = [*problems, *later]
        validated = []
    if problems:
        raise InputError(problems, header=f"{len(problems)} problem(s) found; nothing was written")
    clock = check_clock()  # the import's one now (D-19.621)
    hidden = redcap_hidden_columns(forms, data_dictionary)  # an identifier's value is never shown (D-19.1073)
    findings = plan_edit_checks(engine, validated, state, now=clock, hidden=hidden)
    report = ImportReport(
        kind="redcap",
        user=user,
        started_at=started,
        dry_run=dry_run,
        files=entries,
        forms=[],
        options=mapping_model.options(),
        redcap=summary,
        edit_checks=findings,
    )
    if dry_run:
        report.forms = dry_run_counts(engine, [v for v in validated if v.n_rows], user)
        written = {c.form for c in report.forms}
        report.forms += [
            FormCounts(v.spec.name, v.spec.table, v.file, 0) for v in validated if v.spec.name not in written
        ]
    else:

        def redcap_counts(entry: ManifestEntry, counts: list[FormCounts]) -> dict[str, Any]:
            if entry.file != str(paths[0]):
                return {"role": "dictionary" if entry.file == str(paths[1]) else "mapping"}
            counts_out: dict[str, Any] = {c.table: manifest_row_counts(c) for c in counts} | {
                "options": mapping_model.options(),
                "ignored_fields": summary.ignored_fields,
            }
            if summary.data_access_group:  # what the data access groups were used for (D-19.77)
                counts_out["data_access_group"] = summary.data_access_group
            return counts_out

        report.forms = write_forms(
            engine,
            [v for v in validated if v.n_rows],
            entries,
            user=user,
            kind="redcap",
            reason=reason,
            progress=progress,
            manifest_counts=redcap_counts,
            findings=findings,
            now=clock,
        )
        written = {c.form for c in report.forms}
        report.forms += [
            FormCounts(v.spec.name, v.spec.table, v.file, 0) for v in validated if v.spec.name not in written
        ]
    report.seconds = (now() - started).total_seconds()
    return report


def after_conversion(
    converted: Sequence[Problem], validation: Sequence[Problem], dictionary: DataDictionary
) -> list[Problem]:
    """The forms' `validation` problems less those at a (file, row, REDCap field) whose value the mapping's
    conversion already refused (`converted`: a time a daylight-saving change skips or repeats, a code with
    no cartrial value): the conversion leaves such a cell blank, and "value is required (got '')" at the same
    row and field would report one bad cell twice, the second time with a blank the export does not have
    (D-19.1075). A checkbox column counts as its field (``ae_actions___9`` is ``ae_actions``)."""
    owner = {column: spec.name for column, (spec, _code) in dictionary.column_owner().items()}

    def field_of(problem: Problem) -> str:
        where = (problem.field or "").split(" (→ ", 1)[0]
        return owner.get(where, where)

    refused = {(p.file, p.row, field_of(p)) for p in converted if p.row is not None}
    return [p for p in validation if (p.file, p.row, field_of(p)) not in refused]


def redcap_hidden_columns(forms: Sequence[FormData], dictionary: DataDictionary) -> set[tuple[str, str]]:
    """(table, cartrial column) of each column read from a field the dictionary flags ``Identifier? = y``:
    an edit-check finding names the cartrial column (``started_on``), not the REDCap field (``ae_start``),
    so it is translated through `FormData.source_columns` (D-19.1073)."""
    fields = identifier_columns(dictionary)
    return {
        (data.spec.table, column)
        for data in forms
        for column, label in data.source_columns.items()
        if label in fields
    }


def _import_action() -> Any:
    from cartrial.store.permissions import Action

    return Action.IMPORT


# ---------------------------------------------------------------------------------------------------------
# Unchanged re-import: a file-level set-based diff against the audit trail (issue 19 section 5)
# ---------------------------------------------------------------------------------------------------------

UNCHANGED_TAIL_ROWS = 10_000
"""How many of the newest audit rows `unchanged_since_import` looks at (a run of manifest rows only)."""


def earlier_manifests(
    connection: Any, kind: str, sites: Sites = None
) -> dict[tuple[str, str], dict[str, Any]] | None:
    """(file name, SHA-256) -> row counts of the manifests of `kind` imports in the run of ``import`` audit
    rows that ends the trail, each written by this software version; None when there is no such run (or
    it cannot be shown whole). What such a run means: see `unchanged_since_import`. `sites`: only the
    manifests of imports made at these sites (`import_manifest.site_id`, the rule of every manifest read,
    `reads._site_condition`; D-19.487): another site's import is neither this user's earlier import nor
    theirs to learn the row counts of."""
    from sqlalchemy import desc

    from cartrial import __version__
    from cartrial.store.models import AuditLog, ImportManifest
    from cartrial.store.reads import _site_condition

    tail = connection.execute(
        select(AuditLog.action, AuditLog.table_name, AuditLog.record_id, AuditLog.software_version)
        .order_by(desc(AuditLog.id))
        .limit(UNCHANGED_TAIL_ROWS)
    ).all()
    manifest_ids: list[int] = []
    for action, table_name, record_id, version in tail:
        if action != "import" or table_name != "import_manifest" or record_id is None:
            break
        if version != __version__:
            return None
        manifest_ids.append(int(record_id))
    else:
        if len(tail) == UNCHANGED_TAIL_ROWS:
            return None  # the run may go on: not shown
    if not manifest_ids:
        return None
    earlier: dict[tuple[str, str], dict[str, Any]] = {}
    for start in range(0, len(manifest_ids), 1_000):
        for file_name, sha256, manifest_kind, row_counts in connection.execute(
            select(
                ImportManifest.file_name,
                ImportManifest.sha256,
                ImportManifest.kind,
                ImportManifest.row_counts,
            ).where(
                ImportManifest.id.in_(manifest_ids[start : start + 1_000]),
                *_site_condition(ImportManifest, sites),
            )
        ):
            if manifest_kind == kind:
                earlier.setdefault((Path(file_name).name, sha256), dict(row_counts or {}))
    return earlier


def unchanged_since_import(
    connection: Any, entries: Sequence[ManifestEntry], kind: str, sites: Sites = None
) -> list[tuple[ManifestEntry, dict[str, Any]]] | None:
    """For a re-import of byte-identical files into a database nothing has changed since: each entry with
    the row counts of its earlier manifest; None when that cannot be shown (then the full path runs).

    It holds when every file's (form name, SHA-256) is the manifest of an import of the same kind whose
    audit row lies in the run of ``import`` audit rows that ends the trail, each written by this software
    version. Every write is audited (data, locks, protocol, queries), and an import's manifest rows are its
    last audit rows, so such a run means: after the import that wrote those files' rows committed, only
    imports that changed nothing were made. The files being identical, each of their rows is stored exactly
    as given and passed this version's validation then: a full re-import would read, validate and
    compare every row only to find it unchanged. A change made outside the application (no audit row) is
    what `cartrial db audit verify` reports (store/tamper.py, replay of the trail)."""
    found = unchanged_files(connection, entries, kind, sites=sites)
    if found is None or len(found) != len(entries):
        return None
    return found


def unchanged_files(
    connection: Any,
    entries: Sequence[ManifestEntry],
    kind: str,
    skippable: Callable[[str], bool] | None = None,
    sites: Sites = None,
) -> list[tuple[ManifestEntry, dict[str, Any]]] | None:
    """The entries (of those `skippable` allows, by form name) whose (file name, SHA-256) is a manifest in
    the trailing run of import rows (`earlier_manifests`), each with that manifest's row counts; None when
    there is no such run. `sites`: the importing user's (`earlier_manifests`)."""
    earlier = earlier_manifests(connection, kind, sites)
    if earlier is None:
        return None
    found: list[tuple[ManifestEntry, dict[str, Any]]] = []
    for entry in entries:
        if skippable is not None and not skippable(Path(entry.file).stem):
            continue
        counts = earlier.get((Path(entry.file).name, entry.sha256))
        if counts:
            found.append((entry, counts))
    return found


class _ChangedSince(Exception):
    """Under the write lock, the files a partial re-import leaves out are no longer shown unchanged."""


READ_ON_REIMPORT = frozenset(
    {"sites", "subjects", "infusions", "adverse_events", "relapses", "escalation_decisions"}
)
"""Forms a partial re-import always reads, even when byte-identical: small, and the edit checks of a
subject's other records (or of the study's decisions) read them whole (`cartrial.store.edit_checks`)."""


def _unchanged_form_counts(entry: ManifestEntry, earlier: dict[str, Any]) -> FormCounts:
    """The counts of a byte-identical file: every row it gave at the earlier import, unchanged, and the
    records that import kept (decisions D-19.86): nothing was written since (`unchanged_since_import`),
    so the table holds the same records, and that manifest's kept count and ids are still exact (no
    row read, no COUNT; a manifest of this version without them kept none)."""
    form = FORMS_BY_NAME[Path(entry.file).stem]
    n = sum(int(c.get("read", 0)) for c in earlier.values() if isinstance(c, dict))
    before = earlier.get(form.table)
    before = before if isinstance(before, dict) else {}
    return FormCounts(
        form.name,
        form.table,
        entry.file,
        n,
        unchanged=n,
        kept=int(before.get("kept", 0)),
        kept_ids=tuple(int(i) for i in before.get("kept_ids", ())),
    )


@dataclass(frozen=True)
class UnchangedFiles:
    """The files of a partial re-import that are not read: each byte-identical to a file whose rows an
    earlier import stored, with nothing written since (the set-based diff at file level of issue 19
    section 5, so a re-import's cost follows what changed; docs/science/decisions.md D-19.7).

    Every file's (name, SHA-256) is looked up in the manifests of the run of ``import`` audit rows that
    ends the trail (`earlier_manifests`, the argument of `unchanged_since_import`): each such file's rows
    are stored exactly as given, and one table is written by one form, so reading and comparing them
    would find every row unchanged. The other files take the full path (read, validate, compare, write)
    in the same one transaction, and every file gets its manifest. The forms in `READ_ON_REIMPORT` are
    always read. The edit checks that the full path would run on a left-out file's rows for a subject whose
    context records (subject, infusion, adverse event) this import changes are run on those rows as stored
    (`restated`). The look is repeated under the write lock (`recheck`)."""

    kind: str
    files: tuple[tuple[ManifestEntry, dict[str, Any]], ...]
    sites: Sites = None
    """The importing user's sites (`earlier_manifests`)."""

    @classmethod
    def find(
        cls, connection: Any, entries: Sequence[ManifestEntry], kind: str, sites: Sites = None
    ) -> UnchangedFiles | None:
        """The left-out files of a re-import of `entries` by a user of `sites` (None: every file is read)."""
        found = unchanged_files(
            connection, entries, kind, lambda name: name not in READ_ON_REIMPORT, sites=sites
        )
        return cls(kind, tuple(found), sites) if found else None

    def entries(self) -> list[ManifestEntry]:
        return [entry for entry, _ in self.files]

    def recheck(self, connection: Any) -> None:
        """Under the write lock: raise `_ChangedSince` unless every left-out file is still shown unchanged."""
        found = unchanged_files(connection, self.entries(), self.kind, sites=self.sites)
        if found is None or [e for e, _ in found] != self.entries():
            raise _ChangedSince

    def counts(self) -> list[FormCounts]:
        return [_unchanged_form_counts(entry, earlier) for entry, earlier in self.files]

    def restated(
        self, connection: Any, validated: Sequence[ValidatedForm]
    ) -> dict[str, dict[str, list[Any]]]:
        """Subject -> table -> the stored records of the left-out assessment and lymphodepletion tables (their
        checks compare them with the infusion and the consent, D-19.167), for each subject whose context
        records (subject, infusion, adverse event) the validated forms change (or add), marked as imported
        (their edit checks run as on the full path, located by table and record id)."""
        from cartrial.store.edit_checks import ASSESSMENT_TABLES, CONTEXT_TABLES, stored_records
        from cartrial.store.models import STUDY_TABLES
        from cartrial.store.tables import same_value

        against_context = {*ASSESSMENT_TABLES, "lymphodepletion_administration"}
        tables = [
            FORMS_BY_NAME[Path(e.file).stem].table
            for e in self.entries()
            if FORMS_BY_NAME[Path(e.file).stem].table in against_context
        ]
        context = [form for form in validated if form.spec.table in CONTEXT_TABLES]
        if not tables or not context:
            return {}
        rows_by_form = [(form, form.rows()) for form in context]
        subject_ids = {
            str(values["subject_id"])
            for _, rows in rows_by_form
            for values in rows
            if values.get("subject_id") is not None
        }
        stored = stored_records(connection, subject_ids)
        changed: set[str] = set()
        for form, rows in rows_by_form:
            keys = STUDY_TABLES[form.spec.table].natural_key
            for values in rows:
                subject_id = values.get("subject_id")
                if subject_id is None or str(subject_id) in changed:
                    continue
                key = tuple(values.get(k) for k in keys)
                old = next(
                    (
                        r
                        for r in stored.get(str(subject_id), {}).get(form.spec.table, [])
                        if tuple(r.get(k) for k in keys) == key
                    ),
                    None,
                )
                if old is None or not all(same_value(old.get(n), v) for n, v in values.items()):
                    changed.add(str(subject_id))
        restated = stored_records(connection, changed, tables)
        for by_table in restated.values():
            for records in by_table.values():
                for record in records:
                    record.new = True
        return {s: {t: list(r) for t, r in by_table.items()} for s, by_table in restated.items()}


def _write_unchanged(
    engine: Engine, entries: Sequence[ManifestEntry], *, user: str, kind: str, reason: str | None
) -> list[FormCounts] | None:
    """Inside one write transaction (chain lock held): re-check `unchanged_since_import` and, when it
    holds, record one manifest per file with every row unchanged; None (nothing written) otherwise."""
    from cartrial.store.permissions import Action, readable_sites
    from cartrial.store.service import StudyService

    sites = StudyService(engine).as_user(user).read_sites()
    with engine.connect() as connection:  # a look first, without taking the write lock
        if unchanged_since_import(connection, entries, kind, sites) is None:
            return None
    counts: list[FormCounts] = []
    with (
        StudyService(engine)
        .as_user(user)
        .transaction(
            source=f"{kind} import",
            reason=reason.strip() if reason and reason.strip() else f"{kind} import",
        ) as tx
    ):
        tx.require(Action.IMPORT, f"{kind} import")
        actor_sites = readable_sites(tx.actor.role, tx.actor.site_id)  # as loaded under the write lock
        found = unchanged_since_import(tx.connection, entries, kind, actor_sites)
        if found is None:
            return None
        for entry, earlier in found:
            form_count = _unchanged_form_counts(entry, earlier)
            read = {table: int(c.get("read", 0)) for table, c in earlier.items() if isinstance(c, dict)}
            row_counts = {
                table: {"read": n, "inserted": 0, "updated": 0, "unchanged": n} for table, n in read.items()
            }
            if form_count.table in row_counts:
                row_counts[form_count.table] = manifest_row_counts(form_count)
            tx.record_import(entry.file, entry.sha256, kind, row_counts)
            counts.append(form_count)
    return counts


# ---------------------------------------------------------------------------------------------------------
# Large files: streamed in chunks inside the one transaction (`cartrial.store.importing.streaming`)
# ---------------------------------------------------------------------------------------------------------


class _DryRunDone(Exception):
    """Raised at the end of a streamed dry run: everything was checked; the transaction rolls back."""


def _import_streamed(
    engine: Engine,
    read: Sequence[ManifestEntry],
    large: Sequence[ManifestEntry],
    *,
    user: str,
    dry_run: bool,
    reason: str | None,
    progress: ProgressCallback | None,
    chunk_rows: int,
    unchanged: UnchangedFiles | None = None,
    listed: Sequence[ManifestEntry] | None = None,
) -> ImportReport:
    """A templates import with some files streamed: the other files are read, validated (with their
    cross-file and edit checks) and written first, then each large file chunk by chunk; every problem of
    every file is collected and raised together, and then nothing is written (one transaction).
    `read`: the files read; `listed`: every file of the import (default `read`; the others are in
    `unchanged`)."""
    from cartrial.store.permissions import Action
    from cartrial.store.service import StudyService

    kind = "templates"
    clock = check_clock()  # the import's one now: the whole files', every chunk's checks (D-19.621)
    listed = list(read) if listed is None else list(listed)
    whole_entries = [e for e in read if e not in large]
    problems: list[Problem] = []
    forms: list[FormData] = []
    if whole_entries:
        try:
            forms, _ = read_template_dir(Path(whole_entries[0].file).parent, whole_entries)
        except InputError as exc:
            problems.extend(exc.problems)
    state = database_state(engine, user)
    validated: list[ValidatedForm] = []
    findings: list[Finding] = []
    try:
        validated = validate_all(forms, state)
    except StoredValueError:  # a stored date no reader reads: the refusal itself (D-19.556)
        raise
    except InputError as exc:
        problems.extend(exc.problems)
    if not problems:
        try:
            findings = plan_edit_checks(engine, validated, state, unchanged, now=clock)
        except StoredValueError:  # a stored date no reader reads: the refusal itself (D-19.556)
            raise
        except InputError as exc:
            problems.extend(exc.problems)
    imported_subjects: set[str] = set()
    for data in forms:
        if data.spec.name == "subjects" and "subject_id" in data.frame:
            imported_subjects.update(data.frame["subject_id"])
    known = DatabaseState(
        subjects=state.subjects | imported_subjects,
        sites=state.sites,
        birth_date_precision=state.birth_date_precision,
        protocol=state.protocol,
    )
    del forms
    counts: list[FormCounts] = []
    report = ImportReport(
        kind=kind, user=user, started_at=now(), dry_run=dry_run, files=list(listed), forms=[]
    )
    try:
        with (
            StudyService(engine)
            .as_user(user)
            .transaction(source=f"{kind} import", reason=import_reason(kind, listed[0].file, reason)) as tx
        ):
            tx.require(Action.IMPORT, f"{kind} import")
            if unchanged is not None:
                unchanged.recheck(tx.connection)
            done = 0
            by_file = {form.file: form for form in validated}
            del validated
            for entry in read:  # form order: subjects and infusions are stored before what needs them
                if entry in large:
                    form_count, done = _stream_file(
                        tx, entry, known, problems, findings, kind=kind, reason=reason, progress=progress,
                        done=done, chunk_rows=chunk_rows, now=clock,
                    )  # fmt: skip
                    counts.append(form_count)
                elif not problems and (form := by_file.pop(entry.file, None)) is not None:
                    result, done = write_form(
                        tx, form, kind=kind, reason=reason, progress=progress, done=done
                    )
                    counts.append(with_kept(tx.connection, form_counts(form, result), form.spec.key_columns,
                                            key_lookup(form), sites=importer_sites(tx.actor)))  # fmt: skip
            if problems:
                raise InputError(problems, header=f"{len(problems)} problem(s) found; nothing was written")
            if unchanged is not None:
                counts += unchanged.counts()
            record_manifests(tx, listed, counts, kind=kind, reason=reason, findings=findings, now=clock)
            if dry_run:
                raise _DryRunDone
    except _DryRunDone:  # what was found, written nothing: read and kept stay
        counts = [
            FormCounts(c.form, c.table, c.file, c.read, kept=c.kept, kept_ids=c.kept_ids) for c in counts
        ]
    report.forms = counts
    report.edit_checks = findings
    return report


def _file_row_key(finding: Finding) -> tuple[Any, ...]:
    """A finding's check, record (file and row, else table and id) and field."""
    record = finding.record
    where = (record.file, record.row) if record.file is not None else (None, record.record_id)
    return (finding.check.id, record.table, *where, finding.field)


def _stream_file(
    tx: Any,
    entry: ManifestEntry,
    known: DatabaseState,
    problems: list[Problem],
    findings: list[Finding],
    *,
    kind: str,
    reason: str | None,
    progress: ProgressCallback | None,
    done: int,
    chunk_rows: int,
    now: datetime | None = None,
) -> tuple[FormCounts, int]:
    """Validate and (while no problem was found anywhere) write one large file chunk by chunk; problems and
    soft edit-check findings are appended to the given lists. `now`: the import's one instant, given to the
    checks of every chunk (D-19.621)."""
    from cartrial.store import bulk

    file = Path(entry.file)
    spec = FORMS_BY_NAME[file.stem]
    empty_at_start = bulk.table_is_empty(tx, spec.table)
    seen = streaming.KeyRuns()
    found_keys: set[tuple[Any, ...]] = set()  # the findings of this file's chunks so far (`_file_row_key`)
    read = 0
    total: Any = None
    if streaming.plain_layout(file):
        source: Any = streaming.read_chunks(file, entry.sha256, chunk_rows)
    else:  # the whole-file reader (its located errors); memory as for a small file
        try:
            source = iter([streaming.read_whole(file, entry.sha256)])
        except InputError as exc:
            problems.extend(exc.problems)
            return FormCounts(spec.name, spec.table, str(file), 0), done
    try:
        while True:
            try:
                data = next(source)
            except StopIteration:
                break
            except InputError as exc:  # a cell over the limit (D-19.581) or a NUL byte (D-19.1091) in a
                problems.extend(exc.problems)  # chunk: reported with the other files' problems, as
                break  # `read_whole` reports its read errors (D-19.586)
            validated, chunk_problems = validate_form(data, protocol=known.protocol)
            chunk_problems += _cross_file_problems([data], known)
            read += len(data.frame)
            keys = streaming.parsed_keys(data, known.protocol)
            hashes = streaming.key_hashes(keys)
            earlier = seen.earlier_rows(hashes)
            chunk_problems += streaming.repeated_key_problems(data, keys, earlier, chunk_rows)
            chunk_rows_now = data.rows_of(np.arange(len(data.frame)))
            seen.add(hashes, chunk_rows_now)
            first_row = int(chunk_rows_now.min()) if len(chunk_rows_now) else 0  # this chunk's first row
            if validated is None:
                problems.extend(chunk_problems)
                continue
            # the committee-reason rule with the chunk's other problems, so every file's are reported
            # together (write_form would raise it alone; D-19.834)
            chunk_problems += committee_reason_problems(tx.connection, validated)
            if not problems and not chunk_problems:

                def written(records: Sequence[Any], first: int = first_row) -> Any:
                    """The row of an earlier chunk of the file that wrote each record (0: none; D-19.1104)."""
                    columns = {k: [r.get(k) for r in records] for k in spec.key_columns}
                    rows = seen.earlier_rows(streaming.key_hashes(columns))
                    return np.where(rows < first, rows, 0)

                with leaving_out_unreadable() as left_out:  # as the whole files (D-19.796)
                    found = [
                        f
                        for f in import_findings(
                            tx.connection, [validated], known.protocol, now=now, written=written
                        )
                        if f.record.new
                    ]
                    found += left_out_findings(tx.connection, [validated], left_out)
                chunk_problems += hard_problems(found)
                # an earlier chunk's row checked again with this chunk's: this chunk's finding replaces it
                # (it compares the row with more of the file, as the whole file would; D-19.1104)
                chunk_found = {_file_row_key(f) for f in found if f.check.severity is not Severity.HARD}
                if again := chunk_found & found_keys:
                    findings[:] = [f for f in findings if _file_row_key(f) not in again]
                found_keys |= chunk_found
                findings.extend(f for f in found if f.check.severity is not Severity.HARD)
            problems.extend(chunk_problems)
            if problems:
                continue  # validate the rest; nothing will be written
            result, done = write_form(
                tx,
                validated,
                kind=kind,
                reason=reason,
                progress=progress,
                done=done,
                known_new=empty_at_start,
            )
            total = result if total is None else total + result
    except streaming.ReadWhole:
        problems.append(Problem("the file changed while it was imported; import it again", file=str(file)))
    counts = FormCounts(
        spec.name,
        spec.table,
        str(file),
        read,
        total.inserted if total else 0,
        total.updated if total else 0,
        total.unchanged if total else 0,
    )
    if not problems:  # every row stored: kept records found by the key hashes the stream kept (D-19.86)

        def in_file(stored: list[tuple[Any, ...]]) -> Any:
            columns = {k: [key[i] for key in stored] for i, k in enumerate(spec.key_columns)}
            return seen.earlier_rows(streaming.key_hashes(columns)) != 0

        counts = with_kept(tx.connection, counts, spec.key_columns, in_file, sites=importer_sites(tx.actor))
    return counts, done
