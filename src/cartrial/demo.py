"""`cartrial demo`: every capability on the shipped example data, results under `demo-output/`."""

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
