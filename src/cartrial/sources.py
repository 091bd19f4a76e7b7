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
import sys
from pathlib import Path
from typing import Any, Literal

from cartrial.errors import InputError, Problem, shown_name


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


JSON_MAX_DEPTH = 100
"""The deepest nesting of a document a user gives: JSON arrays/objects here, YAML mappings/sequences in the
protocol reader (`cartrial.protocol.yaml_source`) — one limit and one message, `NESTED_TOO_DEEP`, for both
(D-19.509). Real documents nest a few levels; the parsers recurse once or more per level and the
interpreter's recursion limit (about 1000) would end them with a traceback."""

NESTED_TOO_DEEP = f"nested deeper than {JSON_MAX_DEPTH} levels"
"""The message of a document nested deeper than `JSON_MAX_DEPTH`, JSON or YAML."""


_FLOAT_MARKS = frozenset(".eE")
"""Characters beside a digit run that make it part of a float (a set: an empty neighbour, at the start or
end of the text, is not one of them, as it is a substring of any text)."""


def _scan_json(text: str, *, integer_digits: int | None = None) -> int | None:
    """The offset where `text` nests arrays/objects deeper than `JSON_MAX_DEPTH`, or (`integer_digits`
    given) where an integer of more than that many digits starts (its sign included) — both outside
    strings; else None. A digit run after or before '.', 'e' or 'E' is part of a float (a fraction or an
    exponent), which the parser converts whatever its length: not an integer."""
    depth, in_string, escaped = 0, False, False
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > JSON_MAX_DEPTH and integer_digits is None:
                return i
        elif char in "]}":
            depth -= 1
        elif integer_digits is not None and char.isascii() and char.isdigit():
            end = i
            while end < n and text[end].isascii() and text[end].isdigit():
                end += 1
            before = text[i - 1] if i else ""
            after = text[end] if end < n else ""
            if end - i > integer_digits and before not in _FLOAT_MARKS and after not in _FLOAT_MARKS:
                return i - 1 if before == "-" else i
            i = end
            continue
        i += 1
    return None


def _too_deep_at(text: str) -> int | None:
    """The offset where `text` nests arrays/objects deeper than `JSON_MAX_DEPTH` (outside strings), else
    None. Fewer brackets than the limit cannot nest deeper: counted at C speed, no scan (D-19.508)."""
    if text.count("[") + text.count("{") <= JSON_MAX_DEPTH:
        return None
    return _scan_json(text)


class _RepeatedKey(ValueError):
    """A key given twice in one JSON object (its text is the key)."""


def _object_of_distinct_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`parse_json`'s object hook: the object, unless a key repeats — which `json.loads` would read as the
    last value, dropping the first without a word (D-19.547)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _RepeatedKey(key)
        out[key] = value
    return out


class _NonFiniteNumber(ValueError):
    """A number JSON cannot hold: ``NaN``, ``Infinity``, ``-Infinity`` or a float beyond the double range."""


NON_FINITE_NUMBER = (
    "NaN and Infinity are not JSON numbers; a number beyond ±1.8e308 is beyond the range read "
    "(RFC 8259 §6 allows that limit); give a finite number, or null for a missing one"
)
"""The message of a document holding NaN or Infinity (not JSON numbers, RFC 8259 §6) or a float beyond the
double range (JSON by the grammar; RFC 8259 §6 lets an implementation limit the range it reads): D-19.1046.
An integer of any length up to the interpreter's digit limit (D-19.508) is read as an integer."""


def _refuse_constant(name: str) -> Any:
    """`parse_json`'s ``parse_constant``: ``NaN``, ``Infinity`` and ``-Infinity`` are Python's extensions,
    not JSON (RFC 8259 §6) — the standard parser reads them as floats without a word (D-19.1046)."""
    raise _NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    """`parse_json`'s ``parse_float``: the float of `text`, unless it overflows to infinity (``1e400``),
    which the standard parser reads as ``inf`` without a word (D-19.1046)."""
    import math

    value = float(text)
    if not math.isfinite(value):
        raise _NonFiniteNumber(text)
    return value


_JSON_NUMBER_TOKEN = r'"(?:[^"\\]|\\.)*"|(-?(?:NaN|Infinity))|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
"""A JSON string (skipped whole), a non-JSON constant (group 1) or a number (group 2): what
`_non_finite_at` reads."""


def _non_finite_at(text: str) -> int | None:
    """The offset of the first ``NaN``/``Infinity``/``-Infinity`` or float overflowing to infinity outside
    strings of `text`, else None. Run only once the parser has met one (D-19.1046)."""
    import math
    import re

    for token in re.finditer(_JSON_NUMBER_TOKEN, text):
        if token.group(1) is not None:
            return token.start()
        number = token.group(2)
        if number is not None and any(c in number for c in ".eE") and not math.isfinite(float(number)):
            return token.start()
    return None


_JSON_TOKEN = r'("[^"\\]*(?:\\.[^"\\]*)*")[ \t\n\r]*(:)?|[\[\]{}]'
"""A JSON string (with the colon after it, if any: then it is a key) or a bracket: what `_repeated_key_at`
reads (`re` caches the compiled pattern)."""


def _repeated_key_at(text: str) -> tuple[int, str] | None:
    """The first key, in text order, written a second time in the same object of `text`: the offset of
    the opening quote of its second occurrence, and the key; else None. A structural scan: one key set
    per open object, keys compared as decoded (``"\\u0061"`` is ``"a"``), strings skipped whole (a key's
    spelling inside a string value is not a key). Run only once `json.loads` has met a repeat, so the
    document is well formed up to that point (D-19.547)."""
    import json
    import re

    open_objects: list[set[str] | None] = []  # per open array (None) or object (its keys so far)
    for token in re.finditer(_JSON_TOKEN, text):
        char = text[token.start()]
        if char == "{":
            open_objects.append(set())
        elif char == "[":
            open_objects.append(None)
        elif char in "]}":
            if open_objects:
                open_objects.pop()
        elif token.group(2) is not None and open_objects and (keys := open_objects[-1]) is not None:
            key = json.loads(token.group(1))
            if key in keys:
                return token.start(), key
            keys.add(key)
    return None


def parse_json(text: str, *, repeated_keys: Literal["refuse", "allow"] = "refuse") -> Any:
    """The JSON document of `text`, from any source a user controls (a file, a CSV cell, a form): every way
    it cannot be read is a `json.JSONDecodeError` (a `ValueError`) with the line and column where it
    fails, so the callers' located errors cover it — also nesting deeper than `JSON_MAX_DEPTH` and an
    integer of more digits than `sys.get_int_max_str_digits()` (4300 by default), which the standard parser
    ends with a traceback (`RecursionError`, `ValueError`; `screen` candidates, `report --popfit`, JSON
    cells of `import templates`; D-19.496, D-19.508) — and a key given twice in one object, which the
    standard parser reads as its last value (D-19.547): the first such key in text order, at its second
    occurrence — and ``NaN``, ``Infinity``, ``-Infinity`` (not JSON numbers, RFC 8259 §6) or a float beyond
    the double range (beyond the range read, a limit RFC 8259 §6 allows), which the standard parser reads as
    non-finite floats (D-19.1046): at the offending token. A long integer is read as an integer.
    `repeated_keys="allow"` is for a caller that reports every repeated key itself with its field path and
    lines (the `screen` candidate reader, `cartrial.protocol.yaml_source.read_json`);
    the value read is then the standard parser's.

    >>> parse_json('{"a": [1, 2]}')
    {'a': [1, 2]}
    >>> parse_json("[" * 101 + "]" * 101)
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: nested deeper than 100 levels: line 1 column 101 (char 100)
    >>> try:
    ...     parse_json('{"a": [1, NaN]}')
    ... except ValueError as refused:
    ...     print(refused.pos)
    10
    """
    import json

    deep = _too_deep_at(text)
    if deep is not None:
        raise json.JSONDecodeError(NESTED_TOO_DEEP, text, deep)
    try:
        numbers: dict[str, Any] = {"parse_constant": _refuse_constant, "parse_float": _finite_float}
        if repeated_keys == "allow":
            return json.loads(text, **numbers)
        return json.loads(text, object_pairs_hook=_object_of_distinct_keys, **numbers)
    except _NonFiniteNumber:
        raise json.JSONDecodeError(NON_FINITE_NUMBER, text, _non_finite_at(text) or 0) from None
    except _RepeatedKey as repeated:
        where, key = _repeated_key_at(text) or (0, repeated.args[0])
        raise json.JSONDecodeError(
            f"the key {shown_name(key)!r} is given twice in one object (the second would replace the first)",
            text,
            where,
        ) from None
    except json.JSONDecodeError:
        raise
    except RecursionError:  # pragma: no cover - the depth check above comes first
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError:  # an integer too long to convert (the interpreter's limit, D-19.508)
        limit = sys.get_int_max_str_digits()
        at = _scan_json(text, integer_digits=limit) if limit else None
        raise json.JSONDecodeError(f"a number of more than {limit} digits", text, at or 0) from None


def load_json_file(path: str | os.PathLike[str]) -> Any:
    """The JSON document of a file the user names; every way it cannot be read is an `OSError` or a
    `ValueError` with a message a user can read: not UTF-8, not JSON, an integer too long to convert,
    or nesting too deep (these two were tracebacks of `kinetics map --population`, cli-sweep; D-19.337;
    `parse_json`). Callers turn either into their located `InputError`."""
    import json

    try:
        return parse_json(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
