"""Demo step: neuro (to be moved here from `cartrial.commands.neuro_commands`)."""

from __future__ import annotations

from cartrial.commands.neuro_commands import demo as run

__all__ = ["run"]
