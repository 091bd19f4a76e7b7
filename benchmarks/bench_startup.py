"""Command-line start-up: CPU time of `cartrial --help`, `cartrial --version` and a command's `--help`.

Decisions §11 ("What must hold"): the command line starts fast — about 1.7 s of CPU before, because every
engine (and scipy.stats) was imported at start-up. Targets: ≤ 0.3 s for `cartrial --help` (and
`--version`), ≤ 0.6 s for a command's `--help`. Each run is a fresh process (the real cost a user pays);
the value is the best of several runs of the child's user + system CPU time, with the wall time beside it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT_TARGET_S = 0.3
COMMAND_TARGET_S = 0.6

CASES: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("startup_cartrial_help", ("--help",), ROOT_TARGET_S),
    ("startup_cartrial_version", ("--version",), ROOT_TARGET_S),
    ("startup_cartrial_grade_help", ("grade", "--help"), COMMAND_TARGET_S),
    ("startup_cartrial_protocol_help", ("protocol", "--help"), COMMAND_TARGET_S),
)


def cartrial_command() -> list[str]:
    """The installed console script next to this interpreter, else `python -m cartrial.cli`."""
    script = Path(sys.executable).with_name("cartrial")
    return [str(script)] if script.exists() else [sys.executable, "-m", "cartrial.cli"]


def child_seconds(args: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of `args` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def run(repeat: int = 5) -> list[dict[str, Any]]:
    base = cartrial_command()
    results: list[dict[str, Any]] = []
    for name, args, target in CASES:
        child_seconds([*base, *args])  # warm the file cache and the bytecode
        runs = [child_seconds([*base, *args]) for _ in range(repeat)]
        cpu = min(r[0] for r in runs)
        wall = min(r[1] for r in runs)
        results.append(
            {
                "name": name,
                "value": cpu,
                "unit": "s CPU",
                "target": f"≤ {target} s CPU (decisions §11; about 1.7 s before lazy loading)",
                "meets_target": cpu <= target,
                "command": " ".join(["cartrial", *args]),
                "wall_seconds": wall,
                "runs": repeat,
            }
        )
    return results
