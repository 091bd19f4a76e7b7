"""Demo step: importing (to be moved here from `cartrial.commands.import_commands`)."""

from __future__ import annotations

from cartrial.commands.import_commands import demo as run

__all__ = ["run"]
