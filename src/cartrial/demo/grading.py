"""Demo step: grading (to be moved here from `cartrial.commands.grading_commands`)."""

from __future__ import annotations

from cartrial.commands.grading_commands import demo as run

__all__ = ["run"]
