"""Optional adapter for the CDISC CORE rules engine (cdisc-rules-engine, MIT licence).

CORE cannot run in cartrial's CI: the PyPI wheel has neither the command-line entry point nor the rules and
standards cache it needs, and 0.17.x needs Python 3.12 (shared reference data-standards.md §5). A user who has
the CORE executable (a GitHub release, or a clone with its ``resources/cache``) passes its path with
``--core PATH``; cartrial runs ``core validate -s sdtmig -v 3-4 -d <sdtm folder> -of JSON -o <report>`` (and
``-s adamig``… is not offered by CORE's SDTM rule set, so only SDTM is run) and summarises the JSON report by
rule status. Nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from cartrial.errors import CartrialError

INSTALL_HINT = (
    "CDISC CORE is not installed. Download a release executable from "
    "https://github.com/cdisc-org/cdisc-rules-engine/releases (it ships the rules cache), or clone the "
    "repository and run it with Python 3.12; then pass its path with --core PATH. The PyPI wheel alone "
    "cannot "
    "validate (no entry point, no cache)."
)


@dataclass(frozen=True)
class CoreSummary:
    report: Path
    statuses: dict[str, int]
    issues: int

    def lines(self) -> list[str]:
        parts = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return [
            f"CORE report {self.report}",
            f"rule statuses: {parts or 'none'}",
            f"issues reported: {self.issues}",
        ]


def resolve_core(path: str) -> Path:
    """The CORE executable named by `path` (a file or a command on PATH), or a CartrialError with the
    installation hint."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    found = shutil.which(path)
    if found:
        return Path(found)
    raise CartrialError(f"--core: {path} not found. {INSTALL_HINT}")


def run_core(
    executable: Path, sdtm_dir: Path, define: Path | None = None, timeout_s: float = 1800.0
) -> CoreSummary:
    """Run CORE on the SDTM folder and summarise its JSON report (rule statuses, issue count)."""
    report = sdtm_dir.parent / "core-report"
    command = [
        str(executable),
        "validate",
        "-s",
        "sdtmig",
        "-v",
        "3-4",
        "-d",
        str(sdtm_dir),
        "-of",
        "JSON",
        "-o",
        str(report),
    ]
    if define is not None and define.is_file():
        command += ["-dxp", str(define)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CartrialError(f"--core: could not run {executable}: {exc}") from None
    path = report.with_suffix(".json")
    if completed.returncode != 0 or not path.is_file():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-5:]
        raise CartrialError(f"--core: CORE exited with code {completed.returncode}: " + " | ".join(tail))
    return summarise_report(path)


def summarise_report(path: Path) -> CoreSummary:
    """Rule statuses and issue count of a CORE JSON report (``Rules_Report`` and ``Issue_Details``).

    A report that is not such a JSON object (an outside tool's file, read by `parse_json`, whose errors
    say where the text stops being JSON) is a `CartrialError` naming the file, not a traceback."""
    from cartrial.sources import parse_json

    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CartrialError(f"--core: cannot read CORE's report {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise CartrialError(f"--core: CORE's report {path} is not JSON{where}") from None
    rules = data.get("Rules_Report") or [] if isinstance(data, dict) else None
    issues = data.get("Issue_Details") or [] if isinstance(data, dict) else None
    if not (isinstance(rules, list) and isinstance(issues, list) and all(isinstance(r, dict) for r in rules)):
        raise CartrialError(
            f"--core: CORE's report {path} is not a CORE JSON report "
            "(an object with the lists Rules_Report, of objects, and Issue_Details)"
        )
    statuses = Counter(str(r.get("status", "")).upper() for r in rules)
    return CoreSummary(path, dict(statuses), len(issues))


__all__ = ["INSTALL_HINT", "CoreSummary", "resolve_core", "run_core", "summarise_report"]
