"""Reading an option value into its enumeration with a clear error (never a bare ValueError)."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from cartrial.errors import ConfigurationError

E = TypeVar("E", bound=StrEnum)


def choose(kind: type[E], value: object, option: str) -> E:
    """`kind(value)`, or a `ConfigurationError` naming the option, the value and the allowed values."""
    try:
        return kind(str(value)) if value is not None else kind(value)  # type: ignore[arg-type]
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ConfigurationError(f"{option}: {value!r} is not allowed; allowed: {allowed}") from None
