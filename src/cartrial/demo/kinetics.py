"""Demo step: kinetics (to be moved here from `cartrial.commands.kinetics_commands`)."""

from __future__ import annotations

from cartrial.commands.kinetics_commands import demo as run

__all__ = ["run"]
