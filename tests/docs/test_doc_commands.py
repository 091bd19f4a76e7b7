"""The shell commands of README.md and of the docs' getting-started and how-to pages run as written.

Each document's ``bash`` blocks are run in order, in one fresh folder per document that holds the shipped
example study at ``examples/ct103a-nmosd`` (the checkout's path; `cartrial examples copy` writes the same
files), so a later command sees what an earlier one wrote (``db init`` before ``import``); a page that
starts where another ends says so with ``<!-- needs: that-page.md -->``, whose commands run first. Only
`cartrial` commands run (in-process, non-interactive test password); lines that change the machine
outside that folder (``--install-completion``, output redirected into the home folder) and the
``make``/``pip``/``python`` set-up lines are left out. Marked `docs`: `make docs` runs these (about a
minute, with the demo); plain `make test` skips them (tests/docs/conftest.py)."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import run_cartrial

pytestmark = pytest.mark.docs

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    REPO_ROOT / "README.md",
    REPO_ROOT / "docs" / "getting-started.md",
    *sorted(p for p in (REPO_ROOT / "docs" / "howto").glob("*.md") if p.name != "index.md"),
]
#: A page that continues another (``<!-- needs: other-page.md -->``) runs after that page's commands.
NEEDS = re.compile(r"<!-- needs: (?P<page>[\w./-]+) -->")
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.DOTALL | re.MULTILINE)
#: Commands that act outside the test folder (the user's shell set-up): documented, not run.
NOT_RUN = ("--install-completion",)


def commands(document: Path) -> list[list[str]]:
    """The `cartrial` command lines of a document's bash blocks, comments removed, continuations joined."""
    found: list[list[str]] = []
    for block in BLOCK.findall(document.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            argv = shlex.split(line, comments=True)
            if not argv or argv[0] != "cartrial" or ">" in argv or any(a in NOT_RUN for a in argv):
                continue
            found.append(argv[1:])
    return found


def _show_completion_in_bash(argv: list[str]) -> None:
    """``--show-completion`` answers for the shell it is started from: run it from bash, as documented."""
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to start `cartrial --show-completion` from")
    cartrial = Path(sys.executable).with_name("cartrial")
    command = [bash, "-c", shlex.join([str(cartrial), *argv]) + "; exit $?"]  # no exec: bash stays the parent
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "complete" in done.stdout and "cartrial" in done.stdout, done.stdout[:500]


def test_every_document_has_commands() -> None:
    assert all(commands(document) for document in DOCUMENTS), [d.name for d in DOCUMENTS if not commands(d)]


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_document_commands_run(document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    copied = run_cartrial("examples", "copy", "ct103a-nmosd", "examples/ct103a-nmosd")
    assert copied.exit_code == 0, copied.output
    needed = [document.parent / m["page"] for m in NEEDS.finditer(document.read_text(encoding="utf-8"))]
    for argv in [*(a for page in needed for a in commands(page)), *commands(document)]:
        expanded = [m for a in argv for m in (sorted(glob.glob(a)) if "*" in a else [a])]
        if "--show-completion" in argv:
            _show_completion_in_bash(expanded)
            continue
        result = run_cartrial(*expanded)
        assert result.exit_code == 0, (
            f"{document.name}: cartrial {shlex.join(argv)} exited {result.exit_code}\n{result.output[-2000:]}"
        )
