"""`cartrial demo`: every capability on the shipped example data, results under `demo-output/`.

One module per area (`cartrial.demo.protocol`, `.grading`, ...), each with `run(ctx)`, called in the order of
`STEPS`. A step calls the engines' public functions (the same ones a notebook uses) and prints what a person
would want to see; it holds no scientific rule of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from cartrial.errors import CartrialError


@dataclass(frozen=True)
class DemoContext:
    """What each area's demo step gets: where the shipped examples are (`examples_dir` holds
    ``ct103a-nmosd/``), the CSV templates, and where to write."""

    examples_dir: Path
    templates_dir: Path
    out_dir: Path
    console: Console

    @property
    def protocol_file(self) -> Path:
        return self.examples_dir / "ct103a-nmosd" / "protocol.yaml"


DEMO_EXAMPLE = "ct103a-nmosd"
"""The shipped example the demo runs on (`cartrial.examples`)."""


def shipped_context(out_dir: Path, console: Console, examples_dir: Path | None = None) -> DemoContext:
    """The demo's context on the data shipped inside the installed package (`cartrial.examples`,
    `cartrial.templates`), so the demo runs from any folder after a plain ``pip install``.

    `examples_dir`, when given, is a folder holding ``ct103a-nmosd/`` (for instance the parent of a folder
    written by ``cartrial examples copy ct103a-nmosd DIR/ct103a-nmosd``) to run the demo on instead; a
    source checkout (a folder with ``examples/ct103a-nmosd``) is accepted too."""
    from cartrial import examples, templates

    if examples_dir is None:
        examples_dir = examples.path(DEMO_EXAMPLE).parent
    elif not (examples_dir / DEMO_EXAMPLE).is_dir() and (examples_dir / "examples" / DEMO_EXAMPLE).is_dir():
        examples_dir = examples_dir / "examples"
    if not (examples_dir / DEMO_EXAMPLE / "protocol.yaml").is_file():
        raise CartrialError(
            f"cannot find {DEMO_EXAMPLE}/protocol.yaml in {examples_dir}; --examples takes a folder holding "
            f"{DEMO_EXAMPLE}/ (see `cartrial examples copy`)"
        )
    return DemoContext(
        examples_dir=examples_dir, templates_dir=templates.path(), out_dir=out_dir, console=console
    )


STEPS: tuple[str, ...] = (
    "protocol",
    "grading",
    "neuro",
    "escalation",
    "kinetics",
    "importing",
    "store",
    "analysis",
    "popfit",
    "simulation",
    "cdisc",
    "web",
)
"""The demo steps, in the order they run: module names under `cartrial.demo`."""


def run_demo(ctx: DemoContext) -> None:
    """Run every demo step in order."""
    import importlib

    for step in STEPS:
        importlib.import_module(f"cartrial.demo.{step}").run(ctx)
