"""Demo step: protocol (to be moved here from `cartrial.commands.protocol_commands`)."""

from __future__ import annotations

from cartrial.commands.protocol_commands import demo as run

__all__ = ["run"]
