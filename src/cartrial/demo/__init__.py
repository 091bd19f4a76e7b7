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
    """What each area's demo step gets: where the shipped examples are and where to write."""

    examples_dir: Path
    templates_dir: Path
    out_dir: Path
    console: Console

    @property
    def protocol_file(self) -> Path:
        return self.examples_dir / "ct103a-nmosd" / "protocol.yaml"


def repository_root() -> Path:
    """The source checkout holding `examples/` and `docs/templates/` (the package is installed editable)."""
    for candidate in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (candidate / "examples" / "ct103a-nmosd").is_dir():
            return candidate
    raise CartrialError(
        "cannot find the shipped examples (examples/ct103a-nmosd); run `cartrial demo` from the cartrial "
        "source checkout or pass --examples DIR"
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
)
"""The demo steps, in the order they run: module names under `cartrial.demo`."""


def run_demo(ctx: DemoContext) -> None:
    """Run every demo step in order."""
    import importlib

    for step in STEPS:
        importlib.import_module(f"cartrial.demo.{step}").run(ctx)
