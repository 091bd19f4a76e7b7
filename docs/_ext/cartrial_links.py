"""Sphinx extension: links into a linked folder of the docs resolve to its pages.

``docs/templates`` is a link to the package data ``src/cartrial/templates`` (the CSV templates ship in the
wheel). Sphinx resolves a linked file's path to its real place, outside the docs, so a Markdown link such as
``[templates](templates/grading.md)`` would not find the page ``templates/grading``. This maps such a path
back into the docs folder (every link of the docs that points into a linked folder of the docs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sphinx.environment import BuildEnvironment

_original = BuildEnvironment.relfn2path


def _relfn2path(self: BuildEnvironment, filename: str | Path, docname: str | None = None) -> tuple[str, str]:
    rel_fn, abs_fn = _original(self, filename, docname)
    srcdir = Path(self.srcdir)
    for entry in srcdir.iterdir():
        if entry.is_symlink() and entry.is_dir():
            real = entry.resolve()
            target = Path(abs_fn)
            if target.is_relative_to(real):
                mapped = entry / target.relative_to(real)
                return mapped.relative_to(srcdir).as_posix(), os.fspath(mapped)
    return rel_fn, abs_fn


def setup(app: Any) -> dict[str, Any]:
    BuildEnvironment.relfn2path = _relfn2path  # type: ignore[method-assign]
    return {"parallel_read_safe": True, "parallel_write_safe": True}
