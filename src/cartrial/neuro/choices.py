"""Reading an option value into its enumeration with a clear error (never a bare ValueError)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from cartrial.allowed import enum_member

E = TypeVar("E", bound=StrEnum)


def choose(kind: type[E], value: object, option: str) -> E:
    """`kind(value)`, or an `OptionError` (a `ConfigurationError`) naming the option, the value and the
    allowed values (`cartrial.allowed.enum_member`; the command line renames an engine field to its flag)."""
    return enum_member(kind, str(value) if value is not None else value, option)
