"""Sphinx extension: the CLI reference, generated from the command tree at every build.

The directive ``{cartrial-cli}`` walks the real `cartrial` command tree (every area module loaded, so
commands added later appear without an edit here) and writes one section per command and sub-command with
its full ``--help`` text, exactly as a terminal of 76 columns shows it (no colour)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles


def command_tree() -> Iterator[tuple[list[str], Any]]:
    """Every command of the tree as (path of names after ``cartrial``, command), groups before their
    sub-commands, in the order ``--help`` lists them."""
    import typer

    from cartrial.cli import app
    from cartrial.commands import AREA_MODULES

    root = typer.main.get_command(app)
    for module in AREA_MODULES:
        root.load_module(module)  # type: ignore[attr-defined]

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            if not getattr(sub, "hidden", False):
                yield from walk(sub, [*path, name])

    yield from walk(root, [])


def help_text(path: list[str]) -> str:
    """The ``--help`` output of ``cartrial PATH…`` as plain text."""
    from cartrial.cli import main

    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "TERM", "TERMINAL_WIDTH")}
    os.environ.update({"COLUMNS": "76", "NO_COLOR": "1", "TERM": "dumb", "TERMINAL_WIDTH": "76"})
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main([*path, "--help"])
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return out.getvalue().rstrip() + "\n"


class CliReference(SphinxDirective):
    has_content = False

    def run(self) -> list[nodes.Node]:
        lines: list[str] = []
        for path, _command in command_tree():
            title = " ".join(["cartrial", *path])
            level = "#" * min(len(path) + 2, 6)
            lines += [f"{level} `{title}`", "", "```{code-block} text", ":class: cli-help", ""]
            lines += [*help_text(path).splitlines(), "```", ""]
        container = nodes.section()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source="cartrial command tree"), container)
        return list(container.children)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("cartrial-cli", CliReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
