"""Demo step: store (to be moved here from `cartrial.commands.store_commands`)."""

from __future__ import annotations

from cartrial.commands.store_commands import demo as run

__all__ = ["run"]
