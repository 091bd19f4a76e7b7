"""The CSV import templates shipped inside the package (package data, read with `importlib.resources`).

One ``<form>.csv`` per importable form (`cartrial.store.importing.forms.FORMS`): its header is the form's
contract and its rows a valid example. Beside them the column documentation: ``FIELDS.md``, generated from
the field rules the import validates against (`cartrial.store.fields`, via
`cartrial.store.importing.forms.field_reference_markdown`), and the per-area pages (``README.md``,
``import.md``, ``grading.md``, ``neuro.md``, ``kinetics.md``). In the source checkout ``docs/templates`` is a
link to this folder.

>>> "subjects.csv" in template_files()
True
"""

from __future__ import annotations

from collections.abc import Collection
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from cartrial.allowed import choice_text
from cartrial.errors import InputError, Problem
from cartrial.sources import refuse_destination_inside

FIELD_REFERENCE = "FIELDS.md"
"""The generated column reference (written fresh from the field rules by `write`)."""


def _root() -> Traversable:
    return files(__name__)


def path() -> Path:
    """The templates folder on disk (inside the installed package).

    >>> (path() / "labs.csv").is_file()
    True
    """
    folder = _root()
    if not isinstance(folder, Path):  # a zipped install: not supported (the wheel is installed unpacked)
        raise InputError(Problem("the templates are not available as a folder", value=str(folder)))
    return folder


def template_files() -> tuple[str, ...]:
    """The file names of the CSV templates, sorted.

    >>> template_files()[:2]
    ('adverse_events.csv', 'crs_assessments.csv')
    """
    return tuple(sorted(e.name for e in _root().iterdir() if e.is_file() and e.name.endswith(".csv")))


def documentation_files() -> tuple[str, ...]:
    """The Markdown pages that document the templates (``FIELDS.md`` among them), sorted.

    >>> "README.md" in documentation_files()
    True
    """
    return tuple(sorted(e.name for e in _root().iterdir() if e.is_file() and e.name.endswith(".md")))


def header(file_name: str) -> str:
    """The header line of the template `file_name` (its column names, comma-separated).

    >>> header("sites.csv")
    'site_id,name,country,time_zone'
    """
    if file_name not in template_files():
        raise InputError(Problem("no such template", value=file_name, allowed=choice_text(template_files())))
    text = (_root() / file_name).read_text(encoding="utf-8")
    return text.splitlines()[0]


def _without_columns(text: str, columns: Collection[str]) -> str:
    """The CSV `text` less the `columns` (header and every row), "\n" line ends."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, name in enumerate(rows[0]) if name not in columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        writer.writerow([row[i] for i in keep if i < len(row)])
    return out.getvalue()


def write(
    destination: Path,
    *,
    force: bool = False,
    example_rows: bool = False,
    forms: Collection[str] | None = None,
    leave_out: Collection[tuple[str, str]] = (),
) -> list[Path]:
    """Write the blank templates (header only; with `example_rows`, the shipped example rows too) and their
    column documentation into `destination` (created if needed); returns the files written. `forms`: the
    forms (template names without ``.csv``) to write, default all; `leave_out`: (form, column) fields left
    out of the header and the example rows — a study's forms and fields (`cartrial templates write
    --protocol`: `cartrial.analysis.outcomes.collected_forms` and `uncollected_fields`, D-19.206).

    ``FIELDS.md`` is generated from the field rules at the time of writing, so it always describes the
    rules this version of cartrial validates against. A `destination` that exists and is not empty is
    refused (`InputError`) unless `force`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = write(Path(tmp))
    ...     (Path(tmp) / "sites.csv").read_text()
    'site_id,name,country,time_zone\\n'
    """
    from cartrial.store.importing.forms import field_reference_markdown

    refuse_destination_inside(destination, _root(), "templates")
    if destination.exists() and not destination.is_dir():
        raise InputError(Problem("not a folder", file=str(destination), field="DIR"))
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise InputError(
            Problem(
                "the folder is not empty; choose an empty or new folder, or pass --force to write over it",
                file=str(destination),
                field="DIR",
            )
        )
    destination.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in template_files():
        form = name.removesuffix(".csv")
        if forms is not None and form not in forms:
            continue
        text = (_root() / name).read_text(encoding="utf-8") if example_rows else header(name) + "\n"
        dropped = {column for f, column in leave_out if f == form}
        if dropped:
            text = _without_columns(text, dropped)
        target = destination / name
        target.write_text(text, encoding="utf-8", newline="")
        written.append(target)
    for name in documentation_files():
        text = field_reference_markdown() if name == FIELD_REFERENCE else (_root() / name).read_text("utf-8")
        target = destination / name
        target.write_text(text, encoding="utf-8", newline="")
        written.append(target)
    return written


__all__ = ["FIELD_REFERENCE", "documentation_files", "header", "path", "template_files", "write"]
