"""CLI commands for study data import (placeholder: filled in by its issue)."""

from __future__ import annotations

import typer

from cartrial.demo import DemoContext


def register(app: typer.Typer) -> None:
    """Add this area's commands to the root app."""


def demo(ctx: DemoContext) -> None:
    """This area's part of `cartrial demo`."""
