"""CLI of authentication: `cartrial login`, `cartrial logout`, `cartrial password` (placeholder)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the authentication commands to the root app."""
