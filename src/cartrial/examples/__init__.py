"""The example studies shipped inside the package (package data, read with `importlib.resources`).

Each example is a folder of this package holding a ``protocol.yaml`` and whatever goes with it (candidate
files, a synthetic study in the import templates' form, a REDCap export). They are found through the
installed package, never through the source tree, so ``pip install cartrial`` is enough for `cartrial demo`
and ``cartrial examples copy``. In the source checkout the top-level ``examples`` folder is a link to this
one, so ``examples/ct103a-nmosd/protocol.yaml`` is the same file.

>>> names()
('ct103a-nmosd',)
>>> (path("ct103a-nmosd") / "protocol.yaml").is_file()
True
"""

from __future__ import annotations

import shutil
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from cartrial.allowed import choice_text
from cartrial.errors import InputError, Problem
from cartrial.sources import refuse_destination_inside

PROTOCOL_FILE = "protocol.yaml"
"""Every example folder holds its protocol under this name."""


def _root() -> Traversable:
    return files(__name__)


def names() -> tuple[str, ...]:
    """The names of the shipped examples (folders holding a ``protocol.yaml``), sorted.

    >>> "ct103a-nmosd" in names()
    True
    """
    return tuple(
        sorted(
            entry.name for entry in _root().iterdir() if entry.is_dir() and (entry / PROTOCOL_FILE).is_file()
        )
    )


def _check_name(name: str) -> Traversable:
    known = names()
    if name not in known:
        raise InputError(Problem("no such example", field="NAME", value=name, allowed=choice_text(known)))
    return _root() / name


def title(name: str) -> str:
    """The example's one-line title: the first comment line of its protocol.

    >>> title("ct103a-nmosd").startswith("CT103A")
    True
    """
    for line in (_check_name(name) / PROTOCOL_FILE).read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and line.strip("# ").strip():
            return line.strip("# ").strip()
    return name


def path(name: str) -> Path:
    """The folder of the shipped example `name` on disk (inside the installed package).

    The package is installed as files (wheel or editable install), so this is a real folder; to hand a
    user a copy to edit, use `copy`.

    >>> path("ct103a-nmosd").name
    'ct103a-nmosd'
    """
    folder = _check_name(name)
    if not isinstance(folder, Path):  # a zipped install: not supported (the wheel is installed unpacked)
        raise InputError(Problem("the example is not available as a folder", value=str(folder)))
    return folder


def _copy_tree(source: Traversable, destination: Path, written: list[Path]) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(("__", ".")):
            continue
        target = destination / entry.name
        if entry.is_dir():
            _copy_tree(entry, target, written)
        else:
            with entry.open("rb") as reader, open(target, "wb") as writer:
                shutil.copyfileobj(reader, writer)
            written.append(target)


def copy(name: str, destination: Path, *, force: bool = False) -> list[Path]:
    """Copy the example `name` into the folder `destination` (created if needed); returns the files written.

    A `destination` that exists and is not empty is refused (`InputError`) unless `force`, in which case the
    example's files are written over any of the same name (other files are left alone).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     written = copy("ct103a-nmosd", Path(tmp) / "study")
    ...     (Path(tmp) / "study" / "protocol.yaml").is_file()
    True
    """
    source = _check_name(name)
    refuse_destination_inside(destination, _root(), "examples")
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
    written: list[Path] = []
    _copy_tree(source, destination, written)
    return written


__all__ = ["PROTOCOL_FILE", "copy", "names", "path", "title"]
