"""The documentation runs: every docstring example of the engine packages (doctest) and every ``python``
code block of ``docs/*.md`` and ``README.md`` is executed here, so an example that stops working fails the
suite. A docs code block that is deliberately not runnable is written as ``text``, not ``python``."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil
import re
from pathlib import Path

import pytest

import cartrial

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCTEST_PACKAGES = (
    "cartrial.protocol",
    "cartrial.grading",
    "cartrial.neuro",
    "cartrial.escalation",
    "cartrial.kinetics",
    "cartrial.allowed",
    "cartrial.columns",
    "cartrial.results",
    "cartrial.rounding",
    "cartrial.wording",
)


def _modules() -> list[str]:
    names: list[str] = []
    for package_name in DOCTEST_PACKAGES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        if hasattr(package, "__path__"):
            names.extend(m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."))
    return sorted(set(names))


@pytest.mark.parametrize("module_name", _modules())
def test_docstring_examples(module_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run from the repository root: examples that read a shipped file give its path relative to it."""
    monkeypatch.chdir(REPO_ROOT)
    module = importlib.import_module(module_name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, module_name):
        if (
            test.docstring
            and test.filename
            and not test.filename.startswith(str(Path(cartrial.__file__).parent))
        ):
            continue  # objects re-exported from elsewhere are tested in their own module
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module_name} failed"


_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
DOC_FILES = sorted([*(REPO_ROOT / "docs").rglob("*.md"), REPO_ROOT / "README.md"])
NOTEBOOK_PAGES = (REPO_ROOT / "docs" / "api" / "walkthrough.md",)
"""Pages whose blocks are the cells of one notebook: they run in order in one namespace
(`test_notebook_page_runs`, a `docs` test: a whole study, about 20 s), not block by block."""


def _blocks() -> list[tuple[str, int, str]]:
    found: list[tuple[str, int, str]] = []
    for path in DOC_FILES:
        if path in NOTEBOOK_PAGES:
            continue
        text = path.read_text(encoding="utf-8")
        for i, match in enumerate(_BLOCK.finditer(text)):
            found.append((str(path.relative_to(REPO_ROOT)), i + 1, match.group(1)))
    return found


@pytest.mark.parametrize(
    ("doc", "number", "code"),
    _blocks(),
    ids=lambda v: str(v) if not isinstance(v, str) or len(v) < 60 else "code",
)
def test_docs_python_blocks_run(doc: str, number: int, code: str, tmp_path: Path) -> None:
    """Each block runs in a fresh namespace from the repository root (paths in the docs are written
    relative to it), with a temporary folder as ``tmp`` for anything a block writes."""
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        exec(
            compile(code, f"{doc} (python block {number})", "exec"),
            {"__name__": "__doc_example__", "tmp": tmp_path},
        )
    finally:
        os.chdir(cwd)


@pytest.mark.docs
@pytest.mark.parametrize("page", NOTEBOOK_PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_notebook_page_runs(page: Path, tmp_path: Path) -> None:
    """The blocks of a notebook page run one after the other in one namespace, as a notebook's cells do,
    from the repository root (`tmp`: a temporary folder)."""
    blocks = _BLOCK.findall(page.read_text(encoding="utf-8"))
    assert blocks, f"{page}: no python block"
    namespace: dict[str, object] = {"__name__": "__doc_example__", "tmp": tmp_path}
    cwd = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        for number, code in enumerate(blocks, start=1):
            label = f"{page.relative_to(REPO_ROOT)} (python block {number})"
            exec(compile(code, label, "exec"), namespace)
    finally:
        os.chdir(cwd)
