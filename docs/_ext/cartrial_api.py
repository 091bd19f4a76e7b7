"""Sphinx extension: one API reference page per public package of cartrial, generated at every build.

A public package is a direct sub-package or module of `cartrial` with a non-empty ``__all__`` (the command
line, the demo and private modules excepted), or one of the nested packages of `NESTED` whose API the
command line calls (population fitting, the imports); its page documents exactly that ``__all__`` with
autodoc. The pages are written to ``docs/api/generated/`` (not kept in git), so a package added later gets
its page without an edit here."""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
import re
from pathlib import Path
from typing import Any

from docutils.core import publish_doctree
from docutils.nodes import system_message
from docutils.parsers.rst import roles
from sphinx.util import logging

import cartrial

LOGGER = logging.getLogger(__name__)

EXCLUDED = {"cartrial.cli", "cartrial.commands", "cartrial.demo"}
NESTED = ("cartrial.kinetics.popfit", "cartrial.store.importing")
"""Nested public packages with a page of their own: `kinetics popfit`/`map` and `import` call their API."""


def public_packages() -> list[str]:
    """The dotted names of cartrial's public packages and modules (non-empty ``__all__``), sorted."""
    names: list[str] = []
    for info in pkgutil.iter_modules(cartrial.__path__, prefix="cartrial."):
        name = info.name
        if name in EXCLUDED or name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # an optional extra that is not installed: no page, said in the log
            LOGGER.info("no API page for %s: %s", name, exc)
            continue
        if getattr(module, "__all__", None):
            names.append(name)
    names += [name for name in NESTED if getattr(importlib.import_module(name), "__all__", None)]
    return sorted(names)


def _owner(obj: Any, packages: list[str]) -> str | None:
    """The public package an object is defined in (the longest matching prefix of its module)."""
    module = getattr(obj, "__module__", None) or ""
    owners = [p for p in packages if module == p or module.startswith(p + ".")]
    return max(owners, key=len) if owners else None


def _kind(obj: Any) -> str:
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def _directive(module: Any, name: str, member: str) -> str:
    """The autodoc directive of one public name; a constant's value is shown when it is short."""
    obj = getattr(module, member, None)
    kind = _kind(obj)
    text = f".. auto{kind}:: {name}.{member}\n"
    if kind == "data" and len(repr(obj)) > 80:
        text += "   :no-value:\n"
    return text + "\n"


def _canonical(obj: Any) -> tuple[str, str] | None:
    """Where a class or function is defined (autodoc registers that name too, so it is documented once)."""
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return (getattr(obj, "__module__", ""), getattr(obj, "__qualname__", ""))
    return None


def homes(packages: list[str]) -> dict[tuple[str, str], str]:
    """The one package page that documents each class or function exported by several packages: the
    package that defines it when it exports it, else the first (by name) that does."""
    found: dict[tuple[str, str], str] = {}
    for name in packages:
        module = importlib.import_module(name)
        for member in module.__all__:
            obj = getattr(module, member, None)
            key = _canonical(obj)
            if key is None:
                continue
            owner = _owner(obj, packages)
            if owner is not None and member in getattr(importlib.import_module(owner), "__all__", ()):
                found[key] = owner
            else:
                found.setdefault(key, name)
    return found


def _page(name: str, home: dict[tuple[str, str], str]) -> str:
    """The page of one package: its module docstring, then each name of its ``__all__``; a class or
    function documented on another package's page (`homes`) is listed with that package instead."""
    module = importlib.import_module(name)
    own: list[str] = []
    elsewhere: list[tuple[str, str]] = []
    for member in module.__all__:
        key = _canonical(getattr(module, member, None))
        where = home.get(key, name) if key is not None else name
        if where != name:
            elsewhere.append((member, where))
        else:
            own.append(member)
    text = f"# `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n   :no-members:\n```\n\n"
    if own:
        directives = "".join(_directive(module, name, m) for m in own)
        text += "```{eval-rst}\n" + directives + "```\n\n"
    if elsewhere:
        listed = ", ".join(f"`{m}` (`{o}`)" for m, o in elsewhere)
        text += f"Also exported here, documented with another package: {listed}.\n"
    return text


def generate(app: Any) -> None:
    out = Path(app.srcdir) / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    packages = public_packages()
    home = homes(packages)
    wanted = {f"{name}.md": _page(name, home) for name in packages}
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for filename, text in wanted.items():
        target = out / filename
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")


_BULLET = re.compile(r"^\s*(?:[-*+] |\d+[.)] )")
_IGNORED = ("Unknown directive type", "Unknown interpreted text role", "No role entry", "No directive entry")


def _spaced(lines: list[str]) -> list[str]:
    """A blank line before a list that follows a paragraph line (a Markdown habit RST does not accept)."""
    out: list[str] = []
    for i, line in enumerate(lines):
        previous = lines[i - 1] if i else ""
        if (
            _BULLET.match(line)
            and previous.strip()
            and not _BULLET.match(previous)
            and (len(previous) - len(previous.lstrip()) >= len(line) - len(line.lstrip()))
        ):
            out.append("")
        out.append(line)
    return out


def _problems(text: str) -> list[str]:
    """docutils' warnings and errors for `text` as reStructuredText (Sphinx-only roles ignored)."""
    saved = roles._roles.pop("", None)  # Sphinx's default role (py:obj) needs a Sphinx document
    try:
        tree = publish_doctree(
            text, settings_overrides={"report_level": 5, "halt_level": 5, "warning_stream": io.StringIO()}
        )
    finally:
        if saved is not None:
            roles._roles[""] = saved
    found = []
    for message in tree.findall(system_message):
        body = message.astext()
        if message["level"] >= 2 and not any(marker in body for marker in _IGNORED):
            found.append(body.splitlines()[0] if body else "")
    return found


def plain_when_not_rst(app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Docstrings are written for people reading the code, not always as valid reStructuredText: fix the
    common Markdown habit (a list straight after a paragraph line); a docstring that still is not valid
    reStructuredText is shown as preformatted text, so a new docstring never breaks the docs build."""
    if what in ("data", "attribute") and lines:
        inherited = inspect.getdoc(type(obj))
        if inherited and "\n".join(lines).strip() == inherited.strip():
            lines[:] = []  # a constant without its own doc: not the docstring of its type (tuple, str, ...)
            return
    fixed = _spaced(lines)
    if fixed and _problems("\n".join(fixed)):
        LOGGER.info("docstring of %s shown as plain text (not valid reStructuredText)", name)
        fixed = ["::", "", *("    " + line for line in fixed), ""]
    lines[:] = fixed


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("autodoc-process-docstring", plain_when_not_rst, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
