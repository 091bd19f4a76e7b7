"""Demo step: escalation (to be moved here from `cartrial.commands.escalation_commands`)."""

from __future__ import annotations

from cartrial.commands.escalation_commands import demo as run

__all__ = ["run"]
