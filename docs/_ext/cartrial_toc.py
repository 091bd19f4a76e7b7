"""Sphinx extension: a page added to the docs later is in the navigation without an edit of the tables of
contents.

The area guides (``docs/<area>.md``, ``docs/templates/*.md``) are listed in ``guides.md`` and the science
pages (``docs/science/*.md``) in the last table of contents of ``index.md``. When another page of those
folders exists, it is appended to that table of contents as the page is read (sorted by name), so a guide
written with a new feature is published, and the build does not fail on a page "not included in any
toctree"."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

#: Top-level pages that are not area guides (the site's own pages).
SITE_PAGES = {"index", "getting-started", "guides"}
#: (page holding the table of contents, the folders whose pages belong to it).
TARGETS = {"guides": ("", "templates"), "index": ("science",)}


def _pages(srcdir: Path, folder: str) -> list[str]:
    base = srcdir / folder if folder else srcdir
    names = sorted(p.stem for p in base.glob("*.md"))
    if not folder:
        return [n for n in names if n not in SITE_PAGES]
    return [f"{folder}/{n}" for n in names]


def add_missing(app: Any, docname: str, source: list[str]) -> None:
    folders = TARGETS.get(docname)
    if folders is None:
        return
    text = source[0]
    listed = set(re.findall(r"^([\w./-]+)$", text, re.MULTILINE))
    srcdir = Path(app.srcdir)
    missing = [page for folder in folders for page in _pages(srcdir, folder) if page not in listed]
    if not missing:
        return
    end = text.rstrip().rfind("```")  # the closing fence of the last table of contents
    source[0] = text[:end] + "".join(f"{page}\n" for page in missing) + text[end:]


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", add_missing)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
