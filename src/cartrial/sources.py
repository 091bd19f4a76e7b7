"""What a file named by the user may be: a regular file (or, where a folder is asked for, a folder).

Opening a FIFO (named pipe) for reading waits for a writer that never comes: the command would hang, with
no message, until killed; a device or a socket is no more a data file. Every path a command reads or writes
is checked here once — the command line checks each path option and argument before the command runs
(`cartrial.cli`), and readers that find files themselves (the CSV templates of a folder) check each file —
so the rule and its wording exist once (`special_kind` is also what `cartrial.tabular.refuse_special_target`
says of an output).

Standard library and `cartrial.errors` only (the command line imports it at start-up).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from cartrial.errors import InputError, Problem


def special_kind(mode: int) -> str | None:
    """What a file of `mode` (``os.stat().st_mode``) is when it is neither a regular file nor a folder —
    ``a FIFO (named pipe)``, ``a device``, ``a socket`` — else None.

    >>> special_kind(stat.S_IFIFO | 0o644)
    'a FIFO (named pipe)'
    >>> special_kind(stat.S_IFREG | 0o644) is None
    True
    """
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refuse_special_source(path: str | os.PathLike[str], field: str | None = None) -> None:
    """`InputError` when `path` exists and is a FIFO, a device or a socket (reading it could block for ever
    or never end). A missing file, a folder or a broken link is left to the reader, which says what it
    expected; so is a file that cannot be examined (the reader's own error names the reason)."""
    try:
        mode = Path(path).stat().st_mode  # follows a symbolic link to what it points at
    except (OSError, ValueError):
        return
    kind = special_kind(mode)
    if kind is not None:
        raise InputError(
            Problem(
                f"is {kind}, not a regular file",
                file=str(path),
                field=field,
                allowed="a regular file",
            )
        )


__all__ = ["refuse_special_source", "special_kind"]


def refuse_destination_inside(
    destination: Path, package_folder: object, what: str, field: str = "DIR"
) -> None:
    """Refuse a folder to write into that is `package_folder` (cartrial's own data: the shipped examples or
    templates) or lies inside it. Copying an example into itself recursed until Python's limit (a
    traceback, 800 nested folders left behind); ``--force`` onto the package's own folder emptied the
    shipped files (each was opened for writing before it was read) and exited 0."""
    if not isinstance(package_folder, Path):  # a zipped install: nothing on disk to overwrite
        return
    try:
        target = destination.resolve()
        root = package_folder.resolve()
    except OSError:
        return
    if target == root or root in target.parents:
        raise InputError(
            Problem(
                f"the folder is inside cartrial's own {what} (the installed package); writing there would "
                "overwrite or nest the shipped files",
                file=str(destination),
                field=field,
                allowed="a folder outside the installed package",
            )
        )


def load_json_file(path: str | os.PathLike[str]) -> Any:
    """The JSON document of a file the user names; every way it cannot be read is an `OSError` or a
    `ValueError` with a message a user can read: not UTF-8, not JSON, an integer of more than 4300 digits,
    or nesting deeper than the interpreter's recursion limit (these two were tracebacks of `kinetics map
    --population`, cli-sweep; D-19.337). Callers turn either into their located `InputError`."""
    import json

    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except ValueError as exc:  # an integer too long to convert
        raise ValueError(str(exc).split(";")[0]) from None
