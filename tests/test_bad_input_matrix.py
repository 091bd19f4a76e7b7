"""Table-driven bad-input suite over every command and option (issue 19, "What must hold").

Every command and sub-command is found by walking the typer tree (`cartrial.cli` with the lazy command
table `cartrial.commands.COMMANDS`); `VALID` holds one valid invocation of each, and a test checks that the
table covers the whole tree, so a new command cannot escape the suite. Each option and argument of each
command is then given bad values chosen by its type — for a file: a missing file, a folder, an empty file,
a binary file, a file with a wrong header; for a number: NaN, ±inf, a negative and a huge value; for a
date: 9999-12-31 and 2021-13-40; for a text choice: an unknown value; for ``--url``: files that are not a
database — and the run must end with exit 0 (the value is valid) or 2 (a located message on stderr),
never a traceback, a Python repr or an unhandled exception, and within a few seconds (numeric limits are
checked before anything is allocated).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cartrial.cli import FOLDER_OUTPUTS as FOLDER_COMMANDS

from .conftest import EXAMPLE_PK_NCA_OPTIONS, copy_sqlite_file

REPO_ROOT = Path(__file__).resolve().parents[1]
Cli = Callable[..., Any]  # the `cli` fixture of tests/conftest.py

EXAMPLE = REPO_ROOT / "examples" / "ct103a-nmosd"
STUDY = EXAMPLE / "study"
PROTOCOL = EXAMPLE / "protocol.yaml"
REDCAP = EXAMPLE / "redcap"
SIM = REPO_ROOT / "tests" / "simulation" / "data"
CASE_SECONDS = 20
"""Wall-clock limit of one case: a bad number must be refused before any work, not after."""

# placeholders replaced per case: a fresh copy of the example study database, the case's temp folder
DB = "{db}"
TMP = "{tmp}"
QUERY = "{query}"


def _file(path: Path) -> str:
    return str(path)


VALID: dict[str, list[str]] = {
    "demo": ["demo", "--out", f"{TMP}/demo-out"],
    "protocol check": ["protocol", "check", _file(PROTOCOL)],
    "protocol show": ["protocol", "show", _file(PROTOCOL), "--weight", "60", "--height", "165"],
    "escalate next": [
        "escalate",
        "next",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--doses",
        "5",
        "--outcomes",
        "1NNN 2NTN",
    ],
    "escalate table": [
        "escalate",
        "table",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--max-n",
        "9",
        "--cohort-size",
        "3",
    ],
    "escalate paths": [
        "escalate",
        "paths",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--doses",
        "3",
        "--outcomes",
        "1NNN",
        "--cohorts",
        "1",
    ],
    "escalate simulate": [
        "escalate",
        "simulate",
        "--design",
        "boin",
        "--target",
        "0.3",
        "--truth",
        "0.05,0.15,0.30",
        "--cohorts",
        "3",
        "--trials",
        "20",
        "--seed",
        "1",
    ],
    "escalate replay": [
        "escalate",
        "replay",
        "--decisions",
        _file(STUDY / "escalation_decisions.csv"),
        "--infusions",
        _file(STUDY / "infusions.csv"),
        "--protocol",
        _file(PROTOCOL),
    ],
    "screen": ["screen", _file(PROTOCOL), _file(EXAMPLE / "candidates" / "cand-01-eligible.yaml")],
    "import templates": ["import", "templates", _file(STUDY), "--url", DB, "--user", "admin", "--dry-run"],
    "import redcap": [
        "import",
        "redcap",
        _file(REDCAP / "records.csv"),
        "--dictionary",
        _file(REDCAP / "dictionary.csv"),
        "--mapping",
        _file(REDCAP / "mapping.yaml"),
        "--url",
        DB,
        "--user",
        "admin",
        "--dry-run",
    ],
    "db init": [
        "db",
        "init",
        "--protocol",
        _file(PROTOCOL),
        "--admin",
        "admin",
        "--url",
        f"sqlite:///{TMP}/new.db",
    ],
    "db upgrade": ["db", "upgrade", "--url", DB],
    "db summary": ["db", "summary", "--url", DB],
    "db records": ["db", "records", "site", "--url", DB, "--user", "admin"],
    "db edit": [
        "db",
        "edit",
        "site",
        "1",
        "--set",
        "name=Renamed",
        "--expected-version",
        "1",
        "--reason",
        "typo",
        "--url",
        DB,
        "--user",
        "admin",
    ],
    "db delete": [
        "db",
        "delete",
        "therapy",
        "1",
        "--reason",
        "entered twice",
        "--url",
        DB,
        "--user",
        "admin",
    ],
    "db derive": ["db", "derive", "crs", "--url", DB, "--user", "admin"],
    "db respell": ["db", "respell", "--reason", "one spelling", "--url", DB, "--user", "admin"],
    "db lock": ["db", "lock", "--cutoff", "2030-01-01", "--reason", "cut", "--url", DB, "--user", "admin"],
    "db unlock": ["db", "unlock", "--reason", "reopen", "--url", DB, "--user", "admin"],
    "db roles": ["db", "roles"],
    "db roles-sql": ["db", "roles-sql", "--database", "trial"],
    "db user add": ["db", "user", "add", "bob", "--role", "monitor", "--url", DB, "--user", "admin"],
    "db user role": [
        "db",
        "user",
        "role",
        "admin",
        "--role",
        "admin",
        "--reason",
        "same",
        "--url",
        DB,
        "--user",
        "admin",
    ],
    "db user password": [
        "db",
        "user",
        "password",
        "admin",
        "--reason",
        "rotate",
        "--url",
        DB,
        "--user",
        "admin",
    ],
    "db user list": ["db", "user", "list", "--url", DB, "--user", "admin"],
    "db site add": ["db", "site", "add", "NEW", "--name", "New site", "--url", DB, "--user", "admin"],
    "db query raise": [
        "db",
        "query",
        "raise",
        "site",
        "1",
        "--text",
        "check the name",
        "--url",
        DB,
        "--user",
        "admin",
    ],
    "db query answer": ["db", "query", "answer", QUERY, "--answer", "fine", "--url", DB, "--user", "admin"],
    "db query close": ["db", "query", "close", QUERY, "--reason", "fine", "--url", DB, "--user", "admin"],
    "db query list": ["db", "query", "list", "--url", DB, "--user", "admin"],
    "audit verify": ["audit", "verify", "--url", DB],
    "examples list": ["examples", "list", "--json"],
    "examples copy": ["examples", "copy", "ct103a-nmosd", f"{TMP}/example-copy"],
    "templates write": ["templates", "write", f"{TMP}/blank-templates"],
    "report": [
        "report",
        "--url",
        DB,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        f"{TMP}/report-out",
        "--no-pdf",
    ],
    "export cdisc": [
        "export",
        "cdisc",
        "--url",
        DB,
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        f"{TMP}/cdisc-out",
    ],
    "audit log": ["audit", "log", "--limit", "5", "--url", DB, "--user", "admin"],
    "audit checkpoint": ["audit", "checkpoint", "--out", f"{TMP}/head.json", "--url", DB],
    "audit keygen": ["audit", "keygen", "--out", f"{TMP}/audit.key"],
    "login": ["login", "--user", "admin", "--url", DB],
    "logout": ["logout", "--url", DB],
    "password": ["password", "--user", "admin", "--reason", "rotate", "--url", DB],
    "grade crs": ["grade", "crs", _file(STUDY / "crs_assessments.csv")],
    "grade icans": ["grade", "icans", _file(STUDY / "icans_assessments.csv")],
    "grade labs": ["grade", "labs", _file(STUDY / "labs.csv")],
    "grade episodes": [
        "grade",
        "episodes",
        _file(STUDY / "crs_assessments.csv"),
        "--infusion-dates",
        _file(STUDY / "infusions.csv"),
        "--therapies",
        _file(STUDY / "therapies.csv"),
    ],
    "grade icaht": [
        "grade",
        "icaht",
        _file(STUDY / "labs.csv"),
        "--infusion-dates",
        _file(STUDY / "infusions.csv"),
    ],
    "score edss": ["score", "edss", _file(STUDY / "edss.csv")],
    "score va": ["score", "va", _file(STUDY / "visual_acuity.csv")],
    "score osis": ["score", "osis", _file(STUDY / "osis.csv")],
    "score responders": [
        "score",
        "responders",
        "--infusions",
        _file(STUDY / "infusions.csv"),
        "--edss",
        _file(STUDY / "edss.csv"),
        "--va",
        _file(STUDY / "visual_acuity.csv"),
        "--osis",
        _file(STUDY / "osis.csv"),
        "--timed-walk",
        _file(STUDY / "timed_walk.csv"),
    ],
    "relapses": [
        "relapses",
        _file(STUDY / "relapses.csv"),
        "--infusion-dates",
        _file(STUDY / "infusions.csv"),
    ],
    "nca": [
        "nca",
        _file(STUDY / "pk_samples.csv"),
        *EXAMPLE_PK_NCA_OPTIONS,
    ],
    "kinetics simulate": ["kinetics", "simulate", "--subjects", "2", "--days", "0:28", "--seed", "1"],
    "kinetics fit": [
        "kinetics",
        "fit",
        _file(STUDY / "pk_samples.csv"),
        "--by",
        "analyte",
        "--blq-col",
        "blq",
        "--lloq-col",
        "lloq",
        "--subject",
        "subject_id",
        "--time",
        "actual_day",
        "--conc",
        "value",
    ],
    "kinetics popfit": [
        "kinetics",
        "popfit",
        _file(STUDY / "pk_samples.csv"),
        "--model",
        "stein2019",
        "--k1",
        "10",
        "--k2",
        "5",
        "--no-figures",
        "--out",
        f"{TMP}/popfit",
    ],
    "kinetics map": [
        "kinetics",
        "map",
        _file(STUDY / "pk_samples.csv"),
        "--patient",
        "CT-001",
        "--population",
        _file(REPO_ROOT / "tests" / "data" / "popfit" / "estimates.json"),
    ],
    "analyse": [
        "analyse",
        "--url",
        DB,
        "--cutoff",
        "2022-03-20",
        "--out",
        f"{TMP}/analysis",
        "--user",
        "admin",
    ],
    "simulate trial": [
        "simulate",
        "trial",
        "--scenario",
        _file(SIM / "tiny_scenario.yaml"),
        "--trials",
        "20",
        "--out",
        f"{TMP}/oc",
    ],
    "simulate study": [
        "simulate",
        "study",
        "--scenario",
        _file(SIM / "tiny_scenario.yaml"),
        "--out",
        f"{TMP}/study",
    ],
    "simulate sweep": [
        "simulate",
        "sweep",
        "--scenario",
        _file(SIM / "tiny_scenario.yaml"),
        "--grid",
        _file(SIM / "tiny_grid.yaml"),
        "--workers",
        "0",
        "--out",
        f"{TMP}/sweep",
    ],
}
"""One valid invocation of every command (placeholders: `{db}` a copy of the example study, `{tmp}` a
temporary folder)."""

NOT_IN_MATRIX: dict[str, str] = {
    "serve": "starts a web server that runs until stopped; tests/web/test_serve_demo.py checks its input",
}
"""Commands left out of the matrix, each with the reason and where its input is tested instead."""

SETUP: dict[str, str] = {"db unlock": "db lock"}
"""Commands whose valid run needs another command first (on the same database copy)."""

SLOW_COMMANDS = {"demo", "kinetics fit", "import templates", "import redcap", "analyse", "db init", "screen"}
SLOW_COMMANDS |= {"export cdisc"}
"""Commands whose every run takes seconds: their bad-input cases are marked slow."""


# ---------------------------------------------------------------------------------------------------------
# the command tree
# ---------------------------------------------------------------------------------------------------------


def command_tree() -> dict[str, Any]:
    """Every leaf command of the CLI by its space-separated path, with all area modules loaded."""
    import typer

    from cartrial.cli import app
    from cartrial.commands import COMMANDS

    group: Any = typer.main.get_command(app)
    for entry in COMMANDS:
        if entry.module is not None:
            group.load_module(entry.module)

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        children = getattr(command, "commands", None)
        if isinstance(children, dict) and children:
            for name, child in children.items():
                yield from walk(child, (*path, name))
        else:
            yield " ".join(path), command

    return dict(walk(group, ()))


TREE = command_tree()


def _kind(param: Any) -> str:
    """'path-in', 'path-out', 'float', 'int', 'bool', 'date', 'url', 'text' or 'list' for one parameter."""
    annotation = param.type_descriptor.annotation
    name = (param.name or "").lower()
    text = str(annotation)
    if annotation is bool:
        return "bool"
    if "Path" in text:
        return "path-out" if "out" in name or name in {"trials_out", "km_out", "params_out"} else "path-in"
    if annotation is float:
        return "float"
    if annotation is int:
        return "int"
    if name == "url":
        return "url"
    if name in {"cutoff", "screening_date", "decided_on"}:
        return "date"
    if "list" in text:
        return "list"
    return "text"


def _option_name(param: Any) -> str | None:
    """The long option (`--x`), or None for a positional argument."""
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0] if longs else None


@dataclass(frozen=True)
class Case:
    command: str
    target: str  # option name, or "#N" for the N-th positional argument
    value: str  # a value key of `bad_values` or literal text
    expected: frozenset[int]


BAD_PATHS_IN = ("missing", "folder", "empty", "binary", "wrong-header", "fifo")
BAD_PATHS_OUT = ("folder", "under-a-file", "fifo")
BAD_FOLDERS_OUT = ("a-file", "under-a-file", "fifo")
"""A FIFO (named pipe): opening one waits for a writer, so every reader hung until killed (sweepcli)."""
FOLDER_OUTPUTS = {(command, "--out") for command in FOLDER_COMMANDS}
"""Output options that name a folder (every other output option names a file): the command line's own list
(`cartrial.cli.FOLDER_OUTPUTS`, D-19.907), not a copy."""
OUTPUT_FOLDER_ARGUMENTS = {("examples copy", "directory"), ("templates write", "directory")}
"""Positional arguments that name a folder to write into (new or empty)."""
BAD_FLOATS = (("nan", {2}), ("inf", {2}), ("-inf", {2}), ("-1", {0, 2}), ("1e300", {0, 2}))
BAD_INTS = (("0", {0, 2}), ("-1", {0, 2}), ("1000000000000", {0, 2}), ("2000000000", {0, 2}), ("abc", {2}))
BAD_DATES = (("9999-12-31", {0, 2}), ("2021-13-40", {2}), ("31/12/2021", {2}))
BAD_TEXT = (("banana", {0, 2}), ("", {0, 2}))
FREE_TEXT = {
    ("audit log", "--subject"),  # a subject id: an unknown one lists nothing
    ("db query raise", "--text"),
    ("db roles-sql", "--database"),
    ("db roles-sql", "--owner"),
    ("db roles-sql", "--app"),
    ("db roles-sql", "--schema"),
    ("db site add", "--name"),
    ("db site add", "--country"),
    ("db user add", "--name"),
    ("nca", "--conc-unit"),  # a unit is free text (letters, digits and / ^ · * . % - µ)
    ("kinetics fit", "--conc-unit"),  # the same unit text (D-19.242)
    ("db init", "--admin"),  # a new user name
    ("db init", "--admin-site"),  # a new site code
    ("db init", "--protocol-version"),  # a label
    ("db query answer", "--answer"),
    ("db site add", "#0"),  # a new site code
    ("db user add", "#0"),  # a new user name
}
"""Text options where any word is valid; every other text option is a choice: an unknown value is exit 2."""
FUTURE_ALLOWED = {"db lock", "screen"}
"""Commands whose date may lie in the future (a lock as of a planned date; screening on a planned date, where
each criterion states the ages and windows it used). The neuro commands, `analyse`, `report` and `export
cdisc` refuse a future cut-off: follow-up after today has not happened (an analysis as of 9999-12-31 reported
28,000 days of follow-up; D-19.51)."""
BAD_URLS = ("url-text", "url-binary", "folder", "missing-url", "url-fifo")


REFUSED: set[tuple[str, str, str]] = {
    # (command, option, value) that must be refused though the generic rule allows exit 0: each was once
    # accepted silently
    ("escalate table", "--doses", "0"),  # was taken for "not given" (`doses or 5`)
    ("escalate next", "--doses", "0"),
    ("escalate paths", "--doses", "0"),
    ("grade icaht", "--min-recovery-days", "1000000000000"),  # bounded 1-100
    ("score edss", "--offchart-convention", "banana"),  # ignored when no acuity file was given
    # an LLOQ is 1e-12 to 1e15 in the concentration unit (D-19.37)
    ("nca", "--lloq", "1e300"),
    ("kinetics fit", "--lloq", "1e300"),
    ("kinetics popfit", "--lloq", "1e300"),
    ("kinetics map", "--lloq", "1e300"),
    ("audit log", "--limit", "1000000000000"),  # 1 to 100000 (D-19.38)
    ("audit log", "--limit", "2000000000"),
}


def _positionals(command: Any) -> list[Any]:
    return [p for p in command.params if not _option_name(p)]


def _cases() -> Iterator[Any]:
    for path, command in sorted(TREE.items()):
        if path not in VALID:
            continue
        positionals = _positionals(command)
        for param in command.params:
            option = _option_name(param)
            if option in {"--help", "--user", "--reason", "--json", "--keep-going"}:
                continue
            target = f"#{positionals.index(param)}" if option is None else option
            kind = _kind(param)
            values: tuple[tuple[str, set[int]], ...]
            if (path, param.name) in OUTPUT_FOLDER_ARGUMENTS:
                values = tuple((v, {2}) for v in BAD_FOLDERS_OUT)
            elif kind == "path-in":
                values = tuple((v, {2}) for v in BAD_PATHS_IN)
            elif kind == "path-out" and (path, option) in FOLDER_OUTPUTS:
                values = tuple((v, {2}) for v in BAD_FOLDERS_OUT)
            elif kind == "path-out":
                values = tuple((v, {2}) for v in BAD_PATHS_OUT)
            elif kind == "float":
                values = BAD_FLOATS
            elif kind == "int":
                values = BAD_INTS
            elif kind == "date":
                values = tuple(
                    (v, expected if path in FUTURE_ALLOWED or v != "9999-12-31" else {2})
                    for v, expected in BAD_DATES
                )
            elif kind == "url":
                # logout only forgets a saved session: it never opens the database
                values = tuple((v, {0, 2} if path == "logout" else {2}) for v in BAD_URLS)
            elif kind in {"text", "list"}:
                values = BAD_TEXT if (path, target) in FREE_TEXT else (("banana", {2}), ("", {0, 2}))
            else:
                continue
            for value, allowed in values:
                expected = {2} if (path, target, value) in REFUSED else allowed
                # the database commands each copy and open a study: only their --url cases run by default
                heavy = path in SLOW_COMMANDS or (_needs_db(VALID[path]) and kind != "url")
                marks = [pytest.mark.slow] if heavy else []
                yield pytest.param(
                    Case(path, target, value, frozenset(expected)),
                    id=f"{path.replace(' ', '-')}[{target}={value}]",
                    marks=marks,
                )


# ---------------------------------------------------------------------------------------------------------
# fixtures and the checks of one run
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def study_template(tmp_path_factory: pytest.TempPathFactory, example_sqlite_template: Path) -> Path:
    """The example study imported once into SQLite (tests get a copy), with one open data query: a copy of
    the session's imported example study (tests/conftest.py; `PROTOCOL` and `STUDY`, its admin with
    the test password tests/conftest.py gives the CLI), not a second import."""
    from cartrial.store import StudyService, connect

    path = tmp_path_factory.mktemp("matrix") / "study.db"
    copy_sqlite_file(example_sqlite_template, path)
    url = f"sqlite:///{path}"
    service = StudyService(connect(url))
    # another question than the one `db query raise` asks below: the same open question is refused (D-19.1258)
    code = service.raise_query("admin", "site", 1, "check the country", None)
    service.engine.dispose()
    (path.parent / "query-code").write_text(code)
    return path


def bad_value(key: str, tmp: Path) -> str:
    """The text passed on the command line for the bad-value key `key`."""
    if key == "missing":
        return str(tmp / "no-such-file.csv")
    if key == "missing-url":
        return f"sqlite:///{tmp}/no-such-folder/study.db"
    if key == "folder":
        folder = tmp / "a-folder"
        folder.mkdir(exist_ok=True)
        return str(folder)
    if key == "empty":
        (tmp / "empty.csv").write_bytes(b"")
        return str(tmp / "empty.csv")
    if key in {"binary", "url-binary"}:
        (tmp / "binary.bin").write_bytes(bytes(range(256)) * 8)
        return str(tmp / "binary.bin") if key == "binary" else f"sqlite:///{tmp / 'binary.bin'}"
    if key == "wrong-header":
        (tmp / "wrong.csv").write_text("foo,bar\n1,2\n")
        return str(tmp / "wrong.csv")
    if key == "url-text":
        (tmp / "notes.txt").write_text("this is not a database\n" * 200)
        return f"sqlite:///{tmp / 'notes.txt'}"
    if key == "url-fifo":
        return f"sqlite:///{bad_value('fifo', tmp)}"
    if key == "fifo":
        pipe = tmp / "pipe.csv"
        if not pipe.exists():
            os.mkfifo(pipe)
        return str(pipe)
    if key == "a-file":
        (tmp / "plain").write_text("x")
        return str(tmp / "plain")
    if key == "under-a-file":
        (tmp / "plain").write_text("x")
        return str(tmp / "plain" / "out.csv")
    return key


REPR = re.compile(
    r"datetime\.(date|datetime)\(|<[\w.]+ object at 0x|<\w+(\.\w+)+: |<class '"
    r"|Traceback \(most recent call last\)"
)
"""What a user must never see: a traceback, or a Python repr (a date, an object, an enum member, a class)."""


class TooSlow(BaseException):
    """A case ran past its time limit. Not an `Exception`: a `TimeoutError` is an `OSError`, which
    `cartrial.cli.main` turns into exit 2 with a message — so a hang passed as a refusal (sweepcli)."""


def check_run(
    cli: Cli,
    args: list[str],
    expected: frozenset[int],
    seconds: int = CASE_SECONDS,
    env: dict[str, str] | None = None,
) -> Any:
    """Run `args` (with the environment variables `env`); assert exit code in `expected`, a message on
    stderr for exit 2, no traceback or repr."""

    def too_slow(signum: int, frame: Any) -> None:
        raise TooSlow(f"cartrial {' '.join(args)} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(seconds)
    try:
        result = cli(*args, env=env) if env else cli(*args)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    shown = result.stdout + result.stderr
    assert not REPR.search(shown), shown[-2000:]
    assert result.exit_code in expected, (result.exit_code, shown[-2000:])
    if result.exit_code == 2:
        # a message on stderr: ours ("error: ... field/row/value") or the usage error of the parser
        assert re.search(r"error|usage", result.stderr, re.IGNORECASE), f"exit 2 without a message: {shown}"
    return result


def _prepare(args: list[str], tmp: Path, template: Path | None) -> list[str]:
    out = []
    for arg in args:
        if DB in arg:
            assert template is not None
            database = tmp / "study.db"
            if not database.exists():
                shutil.copyfile(template, database)
            arg = arg.replace(DB, f"sqlite:///{database}")
        if QUERY in arg:
            assert template is not None
            arg = arg.replace(QUERY, (template.parent / "query-code").read_text())
        out.append(arg.replace(TMP, str(tmp)))
    return out


def _needs_db(args: list[str]) -> bool:
    return any(DB in a or QUERY in a for a in args)


# ---------------------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------------------


def test_every_command_has_a_valid_invocation() -> None:
    """The table covers the whole command tree (a new command must be added here)."""
    assert sorted(set(TREE) - set(VALID) - set(NOT_IN_MATRIX)) == []
    assert sorted(set(VALID) - set(TREE)) == []


def _valid_cases() -> list[Any]:
    """Every command; `demo` (minutes: every capability) runs nightly here, since every `make test` runs it
    from the installed wheel (tests/packaging/test_release.py)."""
    return [pytest.param(p, marks=pytest.mark.nightly) if p == "demo" else p for p in sorted(VALID)]


@pytest.mark.slow
@pytest.mark.parametrize("path", _valid_cases())
def test_valid_invocation_runs(path: str, cli: Cli, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The base of every case is itself valid (so a bad value, not a missing argument, is what fails)."""
    args = VALID[path]
    template = request.getfixturevalue("study_template") if _needs_db(args) else None
    if path in SETUP:
        check_run(cli, _prepare(VALID[SETUP[path]], tmp_path, template), frozenset({0}))
    check_run(cli, _prepare(args, tmp_path, template), frozenset({0}), seconds=120)


def _replace(args: list[str], command: Any, case: Case, value: str) -> list[str]:
    """`args` with the target option or positional argument set to `value` (added if absent)."""
    args = list(args)
    if case.target.startswith("#"):
        index = int(case.target[1:])
        n_words = len(case.command.split())
        # positionals follow the command words; a positional is a word not preceded by an option that
        # takes a value
        words = []
        i = n_words
        while i < len(args):
            if args[i].startswith("--"):
                i += 1
                param = next((p for p in command.params if args[i - 1] in p.opts), None)
                if param is not None and _kind(param) != "bool":
                    i += 1
                continue
            words.append(i)
            i += 1
        if index < len(words):
            args[words[index]] = value
        else:
            args.insert(n_words, value)
        return args
    if case.target in args:
        args[args.index(case.target) + 1] = value
    else:
        args += [case.target, value]
    return args


@pytest.mark.parametrize("case", list(_cases()))
def test_bad_value(case: Case, cli: Cli, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    command = TREE[case.command]
    value = bad_value(case.value, tmp_path)
    base = VALID[case.command]
    template = request.getfixturevalue("study_template") if _needs_db(base) else None
    if case.command in SETUP:
        check_run(cli, _prepare(VALID[SETUP[case.command]], tmp_path, template), frozenset({0}))
    args = _prepare(_replace(base, command, case, value), tmp_path, template)
    check_run(cli, args, case.expected)


def test_every_refused_case_is_generated() -> None:
    """Each entry of `REFUSED` names a real command, option and bad value of the matrix."""
    generated = {(p.values[0].command, p.values[0].target, p.values[0].value) for p in _cases()}
    assert sorted(REFUSED - generated) == []


def test_db_edit_same_field_twice_is_refused(cli: Cli, tmp_path: Path, study_template: Path) -> None:
    """`--set name=X --set name=Y` kept the last value silently (review sweep 2)."""
    args = [*_prepare(VALID["db edit"], tmp_path, study_template), "--set", "name=Other"]
    result = check_run(cli, args, frozenset({2}))
    assert "--set: field set more than once (got 'name=Other'); allowed: each once" in result.stderr


@pytest.mark.parametrize("value", ["1e308", "3651", "inf"])
def test_escalate_simulate_accrual_days_is_bounded(cli: Cli, value: str) -> None:
    """TITE-CRM's --accrual-days had no upper bound: 1e308 overflowed the arrival times (a numpy warning and
    exit 0); bounded as the DLT window, 0 < days ≤ 3650 (review sweep 2)."""
    args = ["escalate", "simulate", "--design", "tite-crm", "--target", "0.3", "--skeleton", "0.1,0.2,0.3"]
    args += ["--window", "28", "--truth", "0.05,0.15,0.3", "--cohorts", "3", "--trials", "5"]
    from cartrial.protocol.design_options import DAYS

    result = check_run(cli, [*args, "--accrual-days", value], frozenset({2}))
    assert result.stderr.startswith("error: --accrual-days: "), result.stderr  # before the progress bar
    assert f"allowed: {DAYS.text()}" in result.stderr
    assert "RuntimeWarning" not in result.stderr


@pytest.mark.parametrize("value", ["1e308", "1e6", "1e-308", "0"])
def test_crm_prior_variance_is_bounded(cli: Cli, value: str) -> None:
    """`--prior-var` was only > 0: 1e308 gave NaN intervals with numpy overflow warnings and 1e6 every
    estimate 0.000 (the fixed grid too coarse), both with exit 0; now 1e-6 ≤ value ≤ 100 (review sweep 2)."""
    args = ["escalate", "next", "--design", "crm", "--target", "0.3", "--skeleton", "0.1,0.2,0.3"]
    result = check_run(
        cli, [*args, "--doses", "3", "--outcomes", "1NNN", "--prior-var", value], frozenset({2})
    )
    assert (
        result.stderr.startswith("error: --prior-var: out of range")
        and "allowed: 1e-06 to 100" in result.stderr
    )
    assert "RuntimeWarning" not in result.stderr


@pytest.mark.parametrize("value", ["1.0e308", "-60.0"])
def test_sweep_logit_coefficient_is_bounded(cli: Cli, tmp_path: Path, value: str) -> None:
    """A sweep of `toxicity.crs.slope_log_exposure` over 1e308 overflowed (numpy warnings) and was written
    with exit 0; logit-scale coefficients are now bounded to ±50 (review sweep 2)."""
    grid = tmp_path / "grid.yaml"
    grid.write_text(
        f"trials: 20\naxes:\n  - parameter: toxicity.crs.slope_log_exposure\n    values: [{value}]\n"
    )
    args = ["simulate", "sweep", "--scenario", str(SIM / "tiny_scenario.yaml"), "--grid", str(grid)]
    result = check_run(cli, [*args, "--workers", "0", "--out", str(tmp_path / "out")], frozenset({2}))
    assert "slope_log_exposure" in result.stderr and "50" in result.stderr, result.stderr
    assert "RuntimeWarning" not in result.stderr


@pytest.mark.parametrize("command", ["db records", "audit log"])
def test_empty_subject_filter_is_refused(
    cli: Cli, tmp_path: Path, study_template: Path, command: str
) -> None:
    """`--subject ""` was no filter: `db records` listed every subject's records (review sweep)."""
    args = [*_prepare(VALID[command], tmp_path, study_template), "--subject", ""]
    result = check_run(cli, args, frozenset({2}))
    assert "--subject: empty subject id" in result.stderr


def test_a_fifo_among_the_templates_is_refused(cli: Cli, tmp_path: Path, study_template: Path) -> None:
    """A FIFO named like a form in the folder given to `import templates` blocked the import's checksum
    for ever (sweepcli); it is refused, naming the file, before anything is read."""
    folder = tmp_path / "templates"
    shutil.copytree(STUDY, folder)
    (folder / "labs.csv").unlink()
    os.mkfifo(folder / "labs.csv")
    args = _prepare(
        ["import", "templates", str(folder), "--url", DB, "--user", "admin"], tmp_path, study_template
    )
    result = check_run(cli, args, frozenset({2}))
    assert "labs.csv: is a FIFO (named pipe), not a regular file" in result.stderr, result.stderr


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
def test_db_edit_moment_outside_the_calendar_in_utc_is_refused(
    cli: Cli, tmp_path: Path, study_template: Path, moment: str
) -> None:
    """`db edit … --set assessed_at=0001-01-01T00:00:00+14:00` raised `OverflowError` converting to UTC, a
    traceback (sweepcli); refused naming the field, the value and the years allowed."""
    args = ["db", "edit", "crs_assessment", "1", "--set", f"assessed_at={moment}", "--expected-version", "1"]
    args += ["--reason", "typo", "--url", DB, "--user", "admin"]
    result = check_run(cli, _prepare(args, tmp_path, study_template), frozenset({2}))
    # `db edit` reads a value as the import reads a cell (D-19.26): the import's date-time range
    assert (
        f"crs_assessment.assessed_at: date-time out of range (got '{moment}'); allowed: a date-time from "
        "1677-09-22 to 2262-04-11 (UTC)" in result.stderr
    ), result.stderr


@pytest.mark.parametrize(
    ("option", "value", "what"),
    [("--admin", " admin", "username"), ("--admin", "admin ", "username"), ("--admin-site", "S1 ", "site")],
)
def test_db_init_refuses_a_padded_admin_or_site_as_user_add_does(
    cli: Cli, tmp_path: Path, option: str, value: str, what: str
) -> None:
    """`db init --admin ' admin'` created a user no sign-in could name (`--user admin` failed), while
    `db user add` refuses padded names; the first admin and site now go through the same rules
    (sweepcli). Nothing is created."""
    args = [*VALID["db init"]]
    if option in args:
        args[args.index(option) + 1] = value
    else:
        args += [option, value]
    result = check_run(cli, _prepare(args, tmp_path, None), frozenset({2}))
    assert f"{option}: not a usable {what} (got '{value}')" in result.stderr, result.stderr
    assert not (tmp_path / "new.db").exists()


@pytest.mark.parametrize(
    ("variable", "args"),
    [
        ("CARTRIAL_PASSWORD_FILE", ["db", "user", "list", "--url", DB, "--user", "admin"]),
        ("CARTRIAL_AUDIT_KEY_FILE", ["audit", "verify", "--url", DB]),
    ],
)
def test_a_fifo_named_by_an_environment_variable_is_refused(
    cli: Cli, tmp_path: Path, study_template: Path, variable: str, args: list[str]
) -> None:
    """The password file and the audit key file are named by environment variables, not options: a FIFO
    there blocked the command for ever (sweepcli); refused naming the variable."""
    pipe = bad_value("fifo", tmp_path)
    result = check_run(cli, [*_prepare(args, tmp_path, study_template)], frozenset({2}), env={variable: pipe})
    assert f"{pipe}, {variable}: is a FIFO (named pipe), not a regular file" in result.stderr, result.stderr


LLOQ_COMMANDS = ("nca", "kinetics fit", "kinetics popfit", "kinetics map")


@pytest.mark.parametrize("value", ["1e-320", "1e-13", "1e+16"])
@pytest.mark.parametrize("command", LLOQ_COMMANDS)
def test_lloq_is_bounded(cli: Cli, tmp_path: Path, command: str, value: str) -> None:
    """`kinetics popfit --lloq 1e-320` printed numpy overflow warnings and exited 0 (a subnormal LLOQ in the
    M3 likelihood); every --lloq now has the one range `cartrial.kinetics.templates.LLOQ` (D-19.37)."""
    from cartrial.kinetics.templates import LLOQ

    args = [a for a in VALID[command]]
    if "--lloq-col" in args:  # --lloq and --lloq-col are exclusive
        del args[args.index("--lloq-col") : args.index("--lloq-col") + 2]
    result = check_run(cli, [*_prepare(args, tmp_path, None), "--lloq", value], frozenset({2}))
    assert f"error: --lloq: out of range (got {value}); allowed: {LLOQ.text()}" in result.stderr, (
        result.stderr
    )
    assert "RuntimeWarning" not in result.stderr


def test_an_lloq_column_outside_the_range_is_refused_at_its_row(cli: Cli, tmp_path: Path) -> None:
    """The per-sample LLOQ column had the same hole (> 0 only): it has the range of --lloq (D-19.37)."""
    lines = (STUDY / "pk_samples.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("lloq")] = "1e-320"
    table = tmp_path / "pk.csv"
    table.write_text("".join([lines[0], ",".join(cells) + "\n", *lines[2:]]), encoding="utf-8")
    args = [str(table) if a == _file(STUDY / "pk_samples.csv") else a for a in VALID["kinetics fit"]]
    result = check_run(cli, args, frozenset({2}))
    assert f"{table}, row 2, lloq: out of range (got '1e-320')" in result.stderr, result.stderr


def test_audit_log_limit_is_bounded(cli: Cli, tmp_path: Path, study_template: Path) -> None:
    """`audit log --limit N` had no upper bound (D-19.38)."""
    from cartrial.commands.store_commands import MAX_AUDIT_ROWS

    args = _prepare(VALID["audit log"], tmp_path, study_template)
    args[args.index("--limit") + 1] = str(MAX_AUDIT_ROWS + 1)
    result = check_run(cli, args, frozenset({2}))
    assert (
        f"--limit: out of range (got {MAX_AUDIT_ROWS + 1}); allowed: 1 to {MAX_AUDIT_ROWS}" in result.stderr
    )
    args[args.index("--limit") + 1] = str(MAX_AUDIT_ROWS)
    check_run(cli, args, frozenset({0}))


@pytest.mark.parametrize("value", ["1e-320", "0.04", "0.61", "0.9"])
@pytest.mark.parametrize("design", ["boin", "mtpi2", "i3+3", "crm"])
def test_escalation_target_is_bounded(cli: Cli, design: str, value: str) -> None:
    """`--target 1e-320` was accepted (BOIN stopped at the first DLT; mTPI-2 took 0.9); the target has
    BOIN 2.7.2's range 0.05 to 0.6, declared once for the commands, the designs and the protocol (D-19.39)."""
    from cartrial.protocol.design_options import TARGET

    args = ["escalate", "next", "--design", design, "--target", value, "--doses", "3", "--outcomes", "1NNN"]
    if design == "crm":
        args += ["--skeleton", "0.1,0.2,0.3"]
    result = check_run(cli, args, frozenset({2}))
    assert f"error: --target: out of range (got {value}); allowed: {TARGET.text()}" in result.stderr


HEADER_ONLY_ALLOWED = {
    ("grade episodes", "therapies.csv"),  # a study in which no one needed a therapy
    ("relapses", "relapses.csv"),  # no relapse: every subject relapse-free, a result
}
"""(command, file) pairs of `VALID` where a header without data rows is legitimate (D-19.41)."""
HEADER_ONLY_MESSAGES = {("import redcap", "records.csv"): "the export has a header but no records"}
"""Readers refusing a header without rows in their own words (every other: "no data rows (header only)")."""


def _header_only_cases() -> Iterator[Any]:
    for path, args in sorted(VALID.items()):
        for position, arg in enumerate(args):
            if arg.endswith(".csv") and Path(arg).is_file():
                name = Path(arg).name
                allowed = (path, name) in HEADER_ONLY_ALLOWED
                marks = [pytest.mark.slow] if path in SLOW_COMMANDS or _needs_db(args) else []
                yield pytest.param(
                    path, position, allowed, id=f"{path.replace(' ', '-')}[{name}]", marks=marks
                )


@pytest.mark.parametrize(("command", "position", "allowed"), list(_header_only_cases()))
def test_a_csv_with_a_header_and_no_rows(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest, command: str, position: int, allowed: bool
) -> None:
    """A CSV with its header and no data rows gave an empty result and exit 0 (`grade crs`, `score edss`,
    `nca`, `kinetics fit`, …): an engine command given nothing to compute refuses it, naming the file; a
    file that may list nothing (therapies, relapses) is still read (D-19.41)."""
    args = list(VALID[command])
    source = Path(args[position])
    copy = tmp_path / "header-only" / source.name
    copy.parent.mkdir()
    copy.write_text(source.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    args[position] = str(copy)
    template = request.getfixturevalue("study_template") if _needs_db(args) else None
    result = check_run(
        cli, _prepare(args, tmp_path, template), frozenset({0} if allowed else {2}), seconds=120
    )
    if not allowed:
        message = HEADER_ONLY_MESSAGES.get((command, source.name), "no data rows (header only)")
        assert f"{copy}: {message}" in result.stderr, result.stderr


CHOICE_CASES = [
    ("escalate next", "--design", "BOIN"),
    ("escalate table", "--design", "Boin"),
    ("escalate paths", "--design", "BOIN"),
    ("escalate simulate", "--design", "BOIN"),
    ("nca", "--time-unit", "DAY"),
    ("kinetics popfit", "--model", "STEIN2019"),
    ("score edss", "--offchart-convention", "NONE"),
]
"""(command, choice option, its valid value in other letters): a choice is exact (D-19.38)."""


@pytest.mark.parametrize(("command", "option", "value"), CHOICE_CASES)
def test_a_choice_in_other_letters_is_refused(
    cli: Cli, tmp_path: Path, command: str, option: str, value: str
) -> None:
    """`--design BOIN` was taken for boin (the design registry lowered the name) while `escalate next`
    compared the name as typed (`--design TITE-CRM --followup` was refused as "tite-crm only"); every other
    choice was exact. One rule: a choice is exact (`cartrial.allowed.same_value`, typer's choices)."""
    args = _prepare(
        _replace(VALID[command], TREE[command], Case(command, option, value, frozenset()), value),
        tmp_path,
        None,
    )
    result = check_run(cli, args, frozenset({2}))
    assert f"{option}: " in result.stderr and f"'{value}'" in result.stderr, result.stderr
    assert value.lower() in result.stderr.split("allowed:")[-1], result.stderr


def test_the_python_api_takes_a_design_name_exactly() -> None:
    from cartrial.errors import InputError
    from cartrial.escalation import assemble_design

    with pytest.raises(InputError, match=r"design: unknown design \(got 'BOIN'\); allowed: 3\+3 \| boin"):
        assemble_design("BOIN", 3, {"target": 0.3})


def test_every_choice_of_the_command_line_is_case_sensitive() -> None:
    """typer's choices (enums, literals) compare exactly unless told otherwise: none is told otherwise."""
    lenient = [
        f"{path} {param.name}"
        for path, command in TREE.items()
        for param in command.params
        if getattr(param.type_descriptor.parameter_info, "case_sensitive", True) is not True
    ]
    assert lenient == []


def test_a_decreasing_truth_is_simulated_and_said_so(cli: Cli) -> None:
    """A truth that falls with dose is a legitimate robustness scenario (BOIN 2.7.2 `get.oc` takes one): it
    is accepted, but the output read "patients above the true MTD: 94% (true MTD: 4)" for the top level —
    above by position. Now each level counts by its own true p(DLT), and the scenario is noted (D-19.40)."""
    import json

    args = ["escalate", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.6,0.4,0.2,0.05"]
    args += ["--cohorts", "10", "--trials", "200", "--seed", "1"]
    shown = " ".join(check_run(cli, args, frozenset({0})).stdout.split())
    assert "above the true MTD" not in shown
    assert "patients at levels with true p(DLT) > 0.3:" in shown and "falls with dose" in shown, shown
    document = json.loads(check_run(cli, [*args, "--json"], frozenset({0})).stdout)
    assert document["truth_non_decreasing"] is False and document["true_mtd"] == 4
    # the share treated at toxic levels is the share at levels 1-2 (true p 0.6, 0.4), not at levels above 4
    above = sum(document["mean_n"][:2]) / sum(document["mean_n"]) * 100
    assert document["pct_treated_above_mtd"] == pytest.approx(above)
    monotone = [*args[:7], "0.05,0.2,0.4,0.6", *args[8:], "--json"]
    assert json.loads(check_run(cli, monotone, frozenset({0})).stdout)["truth_non_decreasing"] is True


def test_no_true_mtd_is_written_none(cli: Cli) -> None:
    """`true MTD: None` (a Python None) was printed when every level is above the target."""
    args = ["escalate", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.5,0.6,0.7"]
    shown = " ".join(
        check_run(cli, [*args, "--cohorts", "5", "--trials", "50"], frozenset({0})).stdout.split()
    )
    assert "true MTD: none," in shown and "None" not in shown, shown


def test_no_final_mtd_estimate_is_written_none(cli: Cli) -> None:
    """`escalate next` printed "final MTD estimate (not the next dose): None" when the trial stopped."""
    args = ["escalate", "next", "--design", "boin", "--target", "0.3", "--doses", "3", "--outcomes", "1TTT"]
    shown = " ".join(check_run(cli, args, frozenset({0})).stdout.split())
    assert "final MTD estimate (not the next dose): none —" in shown and "None" not in shown, shown


@pytest.mark.parametrize("value", ["1e-320", "1e300", "0"])
def test_popfit_initial_value_is_bounded(cli: Cli, tmp_path: Path, value: str) -> None:
    """`kinetics popfit --initial cmax=1e-320` overflowed SAEM's predictions (numpy warnings, exit 0) and
    1e300 passed: an initial typical value is within 10^6 of the model's default (D-19.37)."""
    from cartrial.kinetics.popfit.structural import STEIN2019

    args = [*_prepare(VALID["kinetics popfit"], tmp_path, None), "--initial", f"cmax={value}"]
    result = check_run(cli, args, frozenset({2}))
    # in the unit of the data fitted (the example's transgene rows; D-19.463)
    allowed = STEIN2019.initial_rule(STEIN2019.index("cmax"), "copies/ug gDNA").text()
    shown = f"cmax={value}"  # as typed (D-19.372)
    assert f"error: --initial: out of range (got '{shown}'); allowed: cmax {allowed}" in result.stderr, (
        result.stderr
    )
    assert "RuntimeWarning" not in result.stderr


def _output_onto_input_cases() -> Iterator[Any]:
    """Every command with a file ``--out`` and an input file among its valid arguments: (command, index of
    the first input file argument)."""
    for path, command in sorted(TREE.items()):
        if path not in VALID or (path, "--out") in FOLDER_OUTPUTS:
            continue
        if not any("--out" in getattr(p, "opts", ()) for p in command.params):
            continue
        index = next((i for i, a in enumerate(VALID[path]) if a.startswith(str(REPO_ROOT))), None)
        if index is not None and Path(VALID[path][index]).is_file():
            yield pytest.param(path, index, id=path)


@pytest.mark.parametrize("spelling", ["same", "dot-slash", "symlink"])
@pytest.mark.parametrize(("command", "index"), list(_output_onto_input_cases()))
def test_out_naming_an_input_file_is_refused(
    cli: Cli, tmp_path: Path, request: pytest.FixtureRequest, command: str, index: int, spelling: str
) -> None:
    """``--out`` naming one of the command's own input files (`score edss form.csv --out form.csv`)
    replaced the user's form with the result and exited 0 (attackcli, D-19.575). Refused before the
    command runs: exit 2 naming both, and the input is byte-identical afterwards."""
    base = list(VALID[command])
    source = Path(base[index])
    copy = tmp_path / "input" / source.name
    copy.parent.mkdir()
    shutil.copyfile(source, copy)
    base[index] = str(copy)
    out = {
        "same": str(copy),
        "dot-slash": str(copy.parent / "." / copy.name),
        "symlink": str(tmp_path / "link.csv"),
    }[spelling]
    if spelling == "symlink":
        (tmp_path / "link.csv").symlink_to(copy)
    before = copy.read_bytes()
    template = request.getfixturevalue("study_template") if _needs_db(base) else None
    args = _prepare([a for a in base if a != "--json"], tmp_path, template)
    if "--out" in args:
        args[args.index("--out") + 1] = out
    else:
        args += ["--out", out]
    result = check_run(cli, args, frozenset({2}))
    assert f"{out}, --out: is also an input of the command ({copy})" in result.stderr, result.stderr
    assert copy.read_bytes() == before
    assert copy.is_file() and not copy.is_symlink()


@pytest.mark.parametrize(
    "command", ["grade crs", "grade icans", "grade labs", "score edss", "score va", "score osis"]
)
def test_grading_a_graded_file_again_gives_the_same_table(cli: Cli, tmp_path: Path, command: str) -> None:
    """A per-row grading or scoring command run on its own output (a result column already in the input)
    gives the same table as from the raw form: the result columns are replaced, never doubled. `score edss`
    on `score edss` output ended in a pandas traceback ("cannot insert edss_options, already exists";
    attackcli, D-19.576); `score va` on its own output was refused, its `notation` column read as the input
    hint ("notation: unknown category (got 'snellen_20')"; review L1, D-19.580)."""
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    check_run(cli, [*VALID[command], "--out", str(first)], frozenset({0}))
    again = [*VALID[command][:-1], str(first), "--out", str(second)]
    check_run(cli, again, frozenset({0}))
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")


@pytest.mark.parametrize("keep_going", [False, True])
@pytest.mark.parametrize(
    "command", ["grade crs", "grade icans", "grade labs", "score edss", "score va", "score osis"]
)
def test_an_error_column_of_an_earlier_run_is_not_kept(
    cli: Cli, tmp_path: Path, command: str, keep_going: bool
) -> None:
    """``error`` is the result column of ``--keep-going``. A form graded with ``--keep-going``, its bad row
    corrected, and graded again kept the old message on the now graded row ("temperature_c: out of range
    (got '99')" beside grade 0): the input's ``error`` column was carried over when no row had a problem
    (attackcli, D-19.576). A form whose every row carries a stale message gives the raw form's table."""
    import csv

    source = Path(VALID[command][-1])
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    stale = tmp_path / "stale.csv"
    with stale.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [[*rows[0], "error"], *([*r, "temperature_c: out of range (got '99')"] for r in rows[1:])]
        )
    flag = ["--keep-going"] if keep_going else []
    raw, again = tmp_path / "raw.csv", tmp_path / "again.csv"
    check_run(cli, [*VALID[command], *flag, "--out", str(raw)], frozenset({0}))
    check_run(cli, [*VALID[command][:-1], str(stale), *flag, "--out", str(again)], frozenset({0}))
    assert again.read_text(encoding="utf-8") == raw.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "command", ["grade crs", "grade icans", "grade labs", "score edss", "score va", "score osis"]
)
def test_a_users_error_column_is_not_dropped_silently(cli: Cli, tmp_path: Path, command: str) -> None:
    """A user's own ``error`` column ("reviewer: check temp") was dropped from the result with no word
    (review2 M1, D-19.582): a warning names the file and the count of non-blank cells, never their text;
    an all-blank ``error`` column is replaced with no warning."""
    import csv

    source = Path(VALID[command][-1])
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    own, blank = tmp_path / "own.csv", tmp_path / "blank.csv"
    notes = ["reviewer: check temp", *([""] * (len(rows) - 2))]
    with own.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [[*rows[0], "error"], *([*r, n] for r, n in zip(rows[1:], notes, strict=True))]
        )
    with blank.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([[*rows[0], "error"], *([*r, ""] for r in rows[1:])])
    result = check_run(
        cli, [*VALID[command][:-1], str(own), "--out", str(tmp_path / "o.csv")], frozenset({0})
    )
    assert (
        f"warning: {own}: the input column `error` (1 non-blank cells) is replaced: `error` is the "
        "command's result column"
    ) in result.stderr, result.stderr
    assert "reviewer" not in result.stderr
    result = check_run(
        cli, [*VALID[command][:-1], str(blank), "--out", str(tmp_path / "b.csv")], frozenset({0})
    )
    assert "`error`" not in result.stderr, result.stderr


def test_a_users_error_column_is_a_note_of_the_python_result() -> None:
    """The Python API carries the same warning in `Result.notes` (review2 M1, D-19.582)."""
    import pandas as pd

    from cartrial.neuro import derive_osis

    form = pd.DataFrame(
        {"subject_id": ["S1", "S2"], "assessed_at": ["2021-03-01"] * 2, "visual_od": [2, 1],
         "visual_os": [4, 0], "motor": [1, 0], "sensory": [0, 0], "sphincter": [1, 0],
         "error": ["reviewer: check", None]}
    )  # fmt: skip
    result = derive_osis(form, source="osis.csv")
    assert "error" not in result.table.columns
    assert result.notes == (
        "warning: osis.csv: the input column `error` (1 non-blank cells) is replaced: `error` is the "
        "command's result column",
    )


def test_a_subject_infused_after_the_cutoff_is_left_out_by_relapses(cli: Cli, tmp_path: Path) -> None:
    """`relapses --cutoff` with an infusion dated after the cut-off counted that subject, not yet infused
    as of the cut-off, as "relapse-free 1/1" with 0 days of follow-up and a pre-treatment window running
    past the cut-off; exit 0 (attackcli, D-19.577). The first fix refused the whole file, unlike `analyse`
    (which leaves such an infusion out) and ignoring --keep-going (review M2): the subject is left out
    with their relapses — no "no infusion date" error for them — and a warning names them."""
    infusions = tmp_path / "infusions.csv"
    infusions.write_text(
        "subject_id,infused_at\nB,2021-06-01T02:00:00Z\nA,2022-03-01T02:00:00Z\n", encoding="utf-8"
    )
    relapses = tmp_path / "relapses.csv"
    relapses.write_text(
        "subject_id,onset_date,phenotype,severity\nA,2021-06-01,myelitis,moderate\n", encoding="utf-8"
    )
    args = ["relapses", str(relapses), "--infusion-dates", str(infusions)]
    out = tmp_path / "arr.csv"
    result = check_run(cli, [*args, "--cutoff", "2022-02-28", "--out", str(out)], frozenset({0}))
    assert (
        f"warning: 1 subject(s) infused after the data cut-off 2022-02-28 in {infusions} are left out "
        "with their relapses: A"
    ) in result.stderr, result.stderr
    assert "relapse-free 1/1" in result.stderr
    assert "no infusion date" not in result.stderr
    with out.open(encoding="utf-8", newline="") as handle:
        assert [row["subject_id"] for row in csv.DictReader(handle)] == ["B"]
    # on the cut-off day itself the infusion is in the data: day 0, no follow-up yet
    result = check_run(cli, [*args, "--cutoff", "2022-03-01"], frozenset({0}))
    assert "relapse-free 2/2" in result.stderr + result.stdout
    assert "infused after the data cut-off" not in result.stderr
    # in the data, but with no post-infusion time: out of the rate ratio only, and said so (D-19.1188)
    assert "note: 1 patient left out of the rate ratio: A (0 post-infusion patient-years" in result.stderr


def test_relapses_json_names_the_subjects_infused_after_the_cutoff(cli: Cli, tmp_path: Path) -> None:
    """`relapses --json` lists the subjects left out as infused after the cut-off, as `score responders
    --json` lists `subjects_without_infusion` (review2 L6, D-19.577)."""
    import json

    infusions = tmp_path / "infusions.csv"
    infusions.write_text(
        "subject_id,infused_at\nB,2021-06-01T02:00:00Z\nA,2022-03-01T02:00:00Z\n", encoding="utf-8"
    )
    relapses = tmp_path / "relapses.csv"
    relapses.write_text("subject_id,onset_date,phenotype,severity\n", encoding="utf-8")
    args = ["relapses", str(relapses), "--infusion-dates", str(infusions), "--json"]
    result = check_run(cli, [*args, "--cutoff", "2022-02-28"], frozenset({0}))
    assert json.loads(result.stdout)["infused_after_cutoff"] == ["A"]
    result = check_run(cli, [*args, "--cutoff", "2022-03-01"], frozenset({0}))
    assert json.loads(result.stdout)["infused_after_cutoff"] == []


def test_relapses_with_every_subject_infused_after_the_cutoff_says_why(cli: Cli, tmp_path: Path) -> None:
    """With every infusion after the cut-off `relapses` printed only "no subjects with follow-up: the ARR is
    not estimable", not why (review2 L5): a located error names the infusions file and the cut-off
    (D-19.585)."""
    infusions = tmp_path / "infusions.csv"
    infusions.write_text(
        "subject_id,infused_at\nB,2022-04-01T02:00:00Z\nA,2022-03-01T02:00:00Z\n", encoding="utf-8"
    )
    relapses = tmp_path / "relapses.csv"
    relapses.write_text(
        "subject_id,onset_date,phenotype,severity\nA,2021-06-01,myelitis,moderate\n", encoding="utf-8"
    )
    args = ["relapses", str(relapses), "--infusion-dates", str(infusions), "--cutoff", "2022-02-28"]
    result = check_run(cli, args, frozenset({2}))
    assert (
        f"{infusions}: every subject is infused after the data cut-off 2022-02-28: no subject has follow-up, "
        "so the ARR is not estimable; allowed: at least one infusion on or before the data cut-off"
    ) in result.stderr, result.stderr


@pytest.mark.parametrize(
    "command", ["grade crs", "grade icans", "grade labs", "score edss", "score va", "score osis"]
)
def test_a_long_quoted_cell_is_read_as_pandas_reads_it(cli: Cli, tmp_path: Path, command: str) -> None:
    """A form with an extra ``note`` column holding a quoted 140,000-character text (a pasted narrative)
    and a row whose note is blank was refused "row 2: not a readable CSV file: field larger than field
    limit (131072)" — the csv module's default limit in the row checks — while the same cell unquoted was
    read (attackcli, D-19.578). It is graded, the note kept whole."""
    import csv

    source = Path(VALID[command][-1])
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    note = "pasted narrative, with a comma\n" * 4700 + "end"
    form = tmp_path / "with-note.csv"
    with form.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*rows[0], "note"])
        writer.writerow([*rows[1], note])
        writer.writerows([*r, ""] for r in rows[2:])
    out = tmp_path / "out.csv"
    check_run(cli, [*VALID[command][:-1], str(form), "--out", str(out)], frozenset({0}))
    with out.open(encoding="utf-8", newline="") as handle:
        graded = list(csv.DictReader(handle))
    assert len(graded) == len(rows) - 1
    assert graded[0]["note"] == note


@pytest.mark.parametrize("target", ["url", "environment-url", "password-file"])
def test_out_naming_the_study_database_or_a_secret_file_is_refused(
    cli: Cli, tmp_path: Path, study_template: Path, target: str
) -> None:
    """`audit checkpoint --out study.db --url sqlite:///study.db` replaced the whole audited study database
    with a 363-byte JSON checkpoint and exited 0; the SQLite file of the URL (given or from
    $CARTRIAL_DB_URL) and the password file are inputs of a command on the database too (attackcli,
    D-19.575). Refused before anything is opened; the file is byte-identical afterwards."""
    database = tmp_path / "study.db"
    shutil.copyfile(study_template, database)
    args = ["audit", "checkpoint"]
    env: dict[str, str] | None = None
    if target == "url":
        out, args = database, [*args, "--url", f"sqlite:///{database}"]
        expected = f"{database}, --out: is also an input of the command ({database})"
        named = "--url"
    elif target == "environment-url":
        out, env = database, {"CARTRIAL_DB_URL": f"sqlite:///{database}"}
        expected = f"{database}, --out: is also an input of the command ({database})"
        named = "the study database ($CARTRIAL_DB_URL, else sqlite:///cartrial.db)"
    else:
        out, args = Path(os.environ["CARTRIAL_PASSWORD_FILE"]), [*args, "--url", f"sqlite:///{database}"]
        expected = f"{out}, --out: is also an input of the command ({out})"
        named = "$CARTRIAL_PASSWORD_FILE"
    before = out.read_bytes()
    result = check_run(cli, [*args, "--out", str(out)], frozenset({2}), env=env)
    assert expected in result.stderr, result.stderr
    assert f"allowed: a file that is not an input (here not the file of {named})" in result.stderr
    assert out.read_bytes() == before


def _multi_output_cases() -> Iterator[Any]:
    """Every command with a file ``--out`` and another output option (``--km-out``, ``--params-out``,
    ``--trials-out``): (command, the other option)."""
    from cartrial.cli import OUTPUT_PARAMETERS

    for path, command in sorted(TREE.items()):
        if path not in VALID or (path, "--out") in FOLDER_OUTPUTS:
            continue
        names = {p.name for p in command.params}
        for param in command.params:
            if param.name != "out" and param.name in OUTPUT_PARAMETERS and "out" in names:
                yield pytest.param(path, param.opts[0], id=f"{path} {param.opts[0]}")


def test_every_output_option_is_declared_an_output() -> None:
    """The output options the command line guards are the ones this matrix treats as outputs: one set."""
    from cartrial.cli import OUTPUT_PARAMETERS

    outputs = {p.name for command in TREE.values() for p in command.params if _kind(p) == "path-out"}
    assert outputs == set(OUTPUT_PARAMETERS)
    assert {c.values[1] for c in _multi_output_cases()} >= {"--km-out", "--params-out"}


@pytest.mark.parametrize("exists", [False, True])
@pytest.mark.parametrize(("command", "option"), list(_multi_output_cases()))
def test_two_outputs_naming_the_same_file_are_refused(
    cli: Cli, tmp_path: Path, command: str, option: str, exists: bool
) -> None:
    """`relapses … --km-out r.csv --out r.csv` wrote one result over the other (or, once r.csv existed,
    was refused with the wrong reason "is also an input"; attackcli review M1, D-19.579). Refused with exit
    2 whether or not the file exists yet; nothing is written."""
    out = tmp_path / "r.csv"
    if exists:
        out.write_text("keep\n", encoding="utf-8")
    other = str(tmp_path / "." / "r.csv")
    result = check_run(cli, [*VALID[command], option, other, "--out", str(out)], frozenset({2}))
    assert f"{other}, {option}: is also the output of --out ({out})" in result.stderr, result.stderr
    assert "allowed: a file that is not another output of the command" in result.stderr
    assert out.read_text(encoding="utf-8") == "keep\n" if exists else not out.exists()


def test_an_output_option_naming_an_input_file_is_refused(cli: Cli, tmp_path: Path) -> None:
    """`relapses relapses.csv --infusion-dates infusions.csv --km-out infusions.csv --out r.csv` exited 0
    and replaced the infusions form with the Kaplan-Meier table: only ``--out`` was compared with the
    inputs (attackcli review M1, D-19.579). Every output option is."""
    option, input_option = "--km-out", "--infusion-dates"
    given = tmp_path / "infusions.csv"
    shutil.copyfile(STUDY / "infusions.csv", given)
    before = given.read_bytes()
    args = [
        "relapses",
        str(STUDY / "relapses.csv"),
        input_option,
        str(given),
        "--out",
        str(tmp_path / "r.csv"),
    ]
    result = check_run(cli, [*args, option, str(given)], frozenset({2}))
    assert f"{given}, {option}: is also an input of the command ({given})" in result.stderr, result.stderr
    assert f"allowed: a file that is not an input (here not the file of {input_option})" in result.stderr
    assert given.read_bytes() == before
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize(
    ("command", "name", "option"),
    [
        ("map", "map_profile.csv", None),
        ("map", "map_parameters.csv", "--individual-parameters"),
        ("popfit", "ebe.csv", "--individual-parameters"),
        ("popfit", "kinetics/ebe.csv", "--individual-parameters"),
    ],
)
def test_a_folder_output_holding_an_input_under_a_written_name_is_refused(
    cli: Cli, tmp_path: Path, command: str, name: str, option: str | None
) -> None:
    """`kinetics map D/map_profile.csv … --out D` replaced its own input with the new profile, exit 0; so did
    `kinetics map pd.csv --individual-parameters P/map_parameters.csv --out P` and `kinetics popfit …
    --individual-parameters fit/ebe.csv --out fit`: the folder outputs were not compared with the inputs
    (review2 M2, D-19.583). Refused with exit 2 before anything is read or written; an input in the folder
    under a name the command does not write is allowed."""
    folder = tmp_path / "out"
    given = folder / name
    given.parent.mkdir(parents=True)
    shutil.copyfile(STUDY / "pk_samples.csv", given)
    before = given.read_bytes()
    args = [*VALID[f"kinetics {command}"]]
    if command == "popfit":
        args = args[: args.index("--out")]
    if option is None:
        args[2] = str(given)
        used = "argument FILE"
    else:
        args += [option, str(given)]
        used = option
    result = check_run(cli, [*args, "--out", str(folder / ".")], frozenset({2}))
    assert (
        f"--out: is a folder where the command writes {name}, which is also an input of the command "
        f"({given}); writing the result there would replace it; allowed: a folder that does not hold that "
        f"file (here the file of {used})"
    ) in result.stderr, result.stderr
    assert given.read_bytes() == before
    assert sorted(p.name for p in folder.rglob("*")) == sorted(Path(name).parts)


@pytest.mark.parametrize("quoted", [True, False])
def test_a_cell_longer_than_the_limit_is_refused_at_its_row_and_column(
    cli: Cli, tmp_path: Path, quoted: bool
) -> None:
    """D-19.578 removed the csv module's cell limit: one 50 MB quoted cell then peaked near 476 MB while the
    row checks split the file (attackcli review L2). A cell longer than 1,000,000 characters is refused at
    its file, row and column (D-19.581), quoted or not; one of exactly 1,000,000 is read whole."""
    import csv

    source = Path(VALID["grade crs"][-1])
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for length, expected in ((1_000_001, 2), (1_000_000, 0)):
        note = ("a,\nbc" if quoted else "abcde") * (length // 5) + "x" * (length % 5)
        form = tmp_path / f"note-{length}.csv"
        with form.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow([*rows[0], "note"])
            writer.writerows([*r, ""] for r in rows[1:-1])
            writer.writerow([*rows[-1], note])
        out = tmp_path / f"out-{length}.csv"
        result = check_run(cli, ["grade", "crs", str(form), "--out", str(out)], frozenset({expected}))
        if expected == 2:
            assert (
                f"{form}, row {len(rows)}, note: the cell is too long (1,000,001 characters); "
                "allowed: at most 1,000,000 characters per cell"
            ) in result.stderr, result.stderr
            assert not out.exists()
        else:
            with out.open(encoding="utf-8", newline="") as handle:
                assert list(csv.DictReader(handle))[-1]["note"] == note


def test_a_header_with_a_long_unclosed_quoted_cell_is_located(cli: Cli, tmp_path: Path) -> None:
    """A header row whose last name opens a quote never closed, swallowing more than 131,072 characters,
    was refused "not a readable CSV file: field larger than field limit" before D-19.578; it is the located
    unclosed-quote error at row 1 (attackcli review, minor)."""
    form = tmp_path / "header-quote.csv"
    form.write_text('subject_id,assessed_at,"note\n' + ("x" * 200 + "\n") * 800 + "S1,2021-01-01\n")
    result = check_run(cli, ["grade", "crs", str(form)], frozenset({2}))
    assert (
        f'{form}, row 1: a quote (") opens a cell that is never closed: every later row would be read into it'
    ) in result.stderr, result.stderr


def test_a_folder_output_may_hold_an_input_under_another_name(cli: Cli, tmp_path: Path) -> None:
    """The folder rule of D-19.583 refuses only the names the command writes: `kinetics map out/pk.csv …
    --out out` writes its files beside the input, which stays as it was."""
    folder = tmp_path / "out"
    folder.mkdir()
    given = folder / "pk_samples.csv"
    shutil.copyfile(STUDY / "pk_samples.csv", given)
    before = given.read_bytes()
    args = [*VALID["kinetics map"]]
    args[2] = str(given)
    check_run(cli, [*args, "--no-figures", "--out", str(folder)], frozenset({0}))
    assert given.read_bytes() == before
    assert (folder / "map_profile.csv").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_a_non_finite_number_in_an_imported_json_cell_is_refused(
    cli: Cli, tmp_path: Path, study_template: Path, number: str
) -> None:
    """D-19.1046: `import templates` stored `{"n_treated": {"1": NaN}}` (and 1e400 as Infinity) in
    escalation_decisions.csv's design_state, which no JSON reader accepts; `db records --json` showed it as
    null. Refused at its row and column, nothing written."""
    folder = tmp_path / "templates"
    shutil.copytree(STUDY, folder)
    decisions = folder / "escalation_decisions.csv"
    lines = decisions.read_text(encoding="utf-8").splitlines()
    assert '{""n_treated"": {""1"": 3}' in lines[1]
    lines[1] = lines[1].replace('{""n_treated"": {""1"": 3}', '{""n_treated"": {""1"": ' + number + "}", 1)
    decisions.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = _prepare(
        ["import", "templates", str(folder), "--url", DB, "--user", "admin", "--dry-run"],
        tmp_path,
        study_template,
    )
    result = check_run(cli, args, frozenset({2}))
    assert "escalation_decisions.csv, row 2, design_state: not valid JSON" in result.stderr, result.stderr
    assert (
        "NaN and Infinity are not JSON numbers; a number beyond ±1.8e308 is beyond the range read"
        in result.stderr
    )


@pytest.mark.parametrize("number", ["NaN", "-Infinity", "1e400"])
def test_a_non_finite_number_in_a_population_file_is_refused(cli: Cli, tmp_path: Path, number: str) -> None:
    """D-19.1046: a `kinetics map --population` file holding a number JSON does not allow (here in a field
    no range check reads) is refused where it stands, before any field is read."""
    population = REPO_ROOT / "tests" / "data" / "popfit" / "estimates.json"
    document = json.loads(population.read_text(encoding="utf-8"))
    document["settings"]["acceptance_last"][0] = "__NUMBER__"
    target = tmp_path / "estimates.json"
    target.write_text(json.dumps(document, indent=2).replace('"__NUMBER__"', number), encoding="utf-8")
    args = list(VALID["kinetics map"])
    args[args.index("--population") + 1] = str(target)
    result = check_run(cli, args, frozenset({2}))
    assert (
        "estimates.json: cannot read the population model: not JSON: NaN and Infinity are not"
        in result.stderr
    )


@pytest.mark.parametrize(
    ("extra", "option"),
    [
        (["--weight", "600", "--height", "165"], "--weight"),  # 1-500 kg (its --help)
        (["--weight", "0.5", "--height", "165"], "--weight"),
        (["--weight", "60", "--height", "10"], "--height"),  # 30-272 cm (its --help)
        (["--weight", "60", "--height", "1e6"], "--height"),
        (["--bsa", "9"], "--bsa"),  # 0.1-5 m²
        (["--crcl", "500"], "--crcl"),  # 0-400 mL/min
    ],
)
def test_protocol_show_names_the_option_of_a_patient_value_out_of_range(
    cli: Cli, extra: list[str], option: str
) -> None:
    """D-19.1047: with --height given, a weight or a height out of range was reported at the engine's
    keyword (`error: weight_kg: ...`, `error: height_cm: ...`), an option the command line does not have;
    --crcl and --bsa were already named. The engine's message repeated the keyword in its text (`error:
    --weight: weight_kg is outside the plausible range`): the field names the value, the text does not."""
    result = check_run(cli, ["protocol", "show", _file(PROTOCOL), *extra], frozenset({2}))
    assert result.stderr.startswith(f"error: {option}: "), result.stderr
    for keyword in ("weight_kg", "height_cm", "bsa_m2", "creatinine_clearance_ml_min"):
        assert keyword not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["grade", "crs", _file(STUDY / "crs_assessments.csv")],  # `write_atomic`
        ["kinetics", "simulate", "--subjects", "2", "--days", "0:28", "--seed", "1"],  # its streamed writer
        ["kinetics", "simulate", "--subjects", "2", "--days", "0:28", "--seed", "1", "--params-out"],
    ],
    ids=["grade-crs", "kinetics-simulate", "kinetics-simulate-params-out"],
)
def test_an_out_that_is_a_symbolic_link_is_refused_before_the_work(
    cli: Cli, tmp_path: Path, args: list[str]
) -> None:
    """D-19.1048: a single-file output that is a symbolic link is refused (exit 2) before the work, naming the
    path as given and what is allowed; the link and the file it points at are left as they were. The rename
    replaced the link with a regular file and left its file unwritten (exit 0); writing through the link
    overwrote an input through a link, half-moved a folder across devices and raced a FIFO."""
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    if args[-1] == "--params-out":
        args = [*args, str(link), "--out", str(tmp_path / "samples.csv")]
    else:
        args = [*args, "--out", str(link)]
    result = check_run(cli, args, frozenset({2}))
    option = "--params-out" if "--params-out" in args else "--out"
    assert f"{link}, {option}: is a symbolic link" in result.stderr, result.stderr
    assert "give the file the link points to" in result.stderr, result.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "old\n"
    assert not (tmp_path / "samples.csv").exists()  # refused before the work: nothing else written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.csv", "real.csv"]


def test_a_report_over_a_link_to_its_database_leaves_the_database_intact(
    cli: Cli, tmp_path: Path, study_template: Path
) -> None:
    """D-19.1048, folder rule: `report --url sqlite:///study.db --out R` with R/report.html a link to study.db
    overwrote the study database through the link (exit 0) while outputs were written through links. A link
    inside an output folder is replaced by the new file: the link removed, nothing it points at written."""
    args = _prepare(VALID["report"], tmp_path, study_template)
    database = tmp_path / "study.db"
    before = database.read_bytes()
    out = Path(args[args.index("--out") + 1])
    out.mkdir()
    (out / "report.html").symlink_to(database)
    check_run(cli, args, frozenset({0}), seconds=120)  # a whole report: the valid-invocation test's bound
    assert database.read_bytes() == before
    assert not (out / "report.html").is_symlink() and (out / "report.html").is_file()
    assert (out / "report.html").read_bytes() != before
