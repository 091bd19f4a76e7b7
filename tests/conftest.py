"""Shared test fixtures: repository paths, the one PostgreSQL fixture, and the CLI runner.

PostgreSQL: `CARTRIAL_TEST_POSTGRES_URL` (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
Without a reachable server the PostgreSQL cases skip with the reason shown, unless
`CARTRIAL_REQUIRE_POSTGRES=1` (set by `.ci/run`), which turns the skip into a failure.

CLI: the `cli` fixture runs `cartrial.cli.main` in-process with the given arguments (and optional
environment variables) and returns the exit code, stdout and stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# No test asserts a timing (benchmarks/ measures them): Hypothesis's per-example deadline is one, and on a
# loaded 2-core CI machine an example that once takes 266 ms failed a correct test as "flaky".
settings.register_profile("cartrial", deadline=None)
settings.load_profile("cartrial")

NIGHTLY = os.environ.get("CARTRIAL_NIGHTLY") == "1"
"""`make nightly` (CARTRIAL_NIGHTLY=1): the long studies run, and every property test its full examples."""


def property_examples(full: int) -> int:
    """The Hypothesis examples of a property test: `full` in `make nightly`; in `make test` a quarter of it,
    never fewer than 10 (nor more than `full`). Every property still runs on every `make test`; the nightly
    run explores four times as far (suite time: the setup contract's 15 minutes on a 2-core machine)."""
    return full if NIGHTLY else min(full, max(10, full // 4))


REPO_ROOT = Path(__file__).resolve().parents[1]
TEST_PASSWORD = "test-password-0123"
"""Password of every test user (`make_study`, CLI `db init`, `db user add --password`): commands run
non-interactively authenticate with it through CARTRIAL_PASSWORD_FILE (decisions §19)."""
VALIDATION = REPO_ROOT / "tests" / "data" / "validation"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEST_SESSION_SETTINGS = "-csynchronous_commit=off"
"""PostgreSQL setting of every test connection: a commit returns before its WAL is flushed to disk. It
changes no result any test reads (what a committed transaction holds, lock and constraint behaviour, a
terminated backend are all the same); it only gives up durability across a crash of the server itself,
which no test causes. Without it a PostgreSQL test waits for one disk flush per commit (D-19.946)."""
os.environ.setdefault("PGOPTIONS", TEST_SESSION_SETTINGS)  # libpq's default for connections without options


def schema_url(base: str, schema: str) -> str:
    """`base` with its search_path set to `schema` (the test session setting kept: `options` replaces
    PGOPTIONS)."""
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{schema}%20{TEST_SESSION_SETTINGS.replace('=', '%3D')}"


EXAMPLE_PK_NCA_OPTIONS: tuple[str, ...] = (
    *("--subject", "subject_id", "--time", "actual_day", "--conc", "value"),
    *("--by", "analyte", "--unit-col", "unit", "--blq-col", "blq"),
)
"""The column options of `cartrial nca` for the example study's pk_samples.csv (per analyte, units and BLQ
flags from its columns)."""
EXAMPLE_STUDY = REPO_ROOT / "examples" / "ct103a-nmosd" / "study"
"""The example study's CSV forms (the repository's copy of `cartrial.examples`' ct103a-nmosd/study)."""
EXAMPLE_READERS: dict[str, tuple[str, list[str]]] = {
    "grade crs": ("crs_assessments.csv", []),
    "grade icans": ("icans_assessments.csv", []),
    "grade labs": ("labs.csv", []),
    "grade episodes": ("crs_assessments.csv", ["--infusion-dates", str(EXAMPLE_STUDY / "infusions.csv")]),
    "grade icaht": ("labs.csv", ["--infusion-dates", str(EXAMPLE_STUDY / "infusions.csv")]),
    "score edss": ("edss.csv", []),
    "score va": ("visual_acuity.csv", []),
    "score osis": ("osis.csv", []),
    "relapses": ("relapses.csv", ["--infusion-dates", str(EXAMPLE_STUDY / "infusions.csv")]),
    "nca": ("pk_samples.csv", list(EXAMPLE_PK_NCA_OPTIONS)),
    "kinetics fit": (
        "pk_samples.csv",
        [*EXAMPLE_PK_NCA_OPTIONS[:6], "--by", "analyte", "--blq-col", "blq", "--lloq-col", "lloq"],
    ),
}
"""Every command that reads a CSV form: (the example study's file it reads, the arguments after the file);
the reader tests edit a copy of the file, so the base run is a real, valid input."""
BACKENDS = ("sqlite", "postgresql")


CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium: every browser test drives it through Playwright, never a downloaded browser."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; installed with apt when missing and we are root; otherwise the browser tests skip
    with the reason (they fail when CARTRIAL_REQUIRE_BROWSER=1 or CARTRIAL_REQUIRE_DOCS=1)."""
    if not CHROMIUM.exists() and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "chromium-driver"],
        ):
            subprocess.run(command, check=False, capture_output=True, timeout=900)
    if not CHROMIUM.exists():
        reason = "Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        if "1" in (os.environ.get("CARTRIAL_REQUIRE_BROWSER"), os.environ.get("CARTRIAL_REQUIRE_DOCS")):
            pytest.fail(f"browser check required but {reason}")
        pytest.skip(reason)
    return CHROMIUM


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long studies marked `nightly` run only with CARTRIAL_NIGHTLY=1 (`make nightly`), not in `make test`."""
    if NIGHTLY:
        return
    skip = pytest.mark.skip(reason="nightly study: run with `make nightly` (CARTRIAL_NIGHTLY=1)")
    for item in items:
        if "nightly" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def examples_dir() -> Path:
    """The folder holding the shipped example studies (package data, `cartrial.examples`)."""
    from cartrial import examples

    return examples.path("ct103a-nmosd").parent


@pytest.fixture
def validation_dir() -> Path:
    """Public reference data (vendored copy of `../shared/validation/`, see its README); tests that use it
    cite the source."""
    return VALIDATION


@pytest.fixture(autouse=True)
def _test_credentials(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Non-interactive authentication for CLI tests: the acting user's password (and a new user's) from a
    file holding `TEST_PASSWORD`; login sessions kept in a temporary config folder, never the real one."""
    folder = tmp_path_factory.mktemp("credentials")
    secret = folder / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    monkeypatch.setenv("CARTRIAL_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(secret))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))


# ---------------------------------------------------------------------------------------------------------
# password hashes (decision D-19.488)
# ---------------------------------------------------------------------------------------------------------

TEST_ONLY_HASHER_PARAMETERS = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
"""argon2id parameters of the test-only hasher: argon2's minimum work (one pass over 8 KiB). Production
(`cartrial.store.users.password_hasher`: RFC 9106 low-memory, t=3, m=64 MiB, p=4) takes ~0.12 s per hash
AND per verification on the 2-core CI machine, and every CLI command that acts as a user verifies one."""
_PRODUCTION_PASSWORD_HASHER: list[Callable[[], Any]] = []


@pytest.fixture(scope="session", autouse=True)
def _test_only_password_hasher() -> Iterator[None]:
    """Every password hash the tests make (session templates included: this session fixture is set up before
    them) uses `TEST_ONLY_HASHER_PARAMETERS`; verification reads the parameters stored in each hash, so
    the production verify path runs unchanged on cheap hashes. Set ONLY here, never by an environment
    variable or setting a production run could pick up; `production_password_hasher` restores the real
    hasher for the tests of the production parameters (tests/store/test_password_hashing.py)."""
    from argon2 import PasswordHasher

    from cartrial.store import users

    if not _PRODUCTION_PASSWORD_HASHER:
        _PRODUCTION_PASSWORD_HASHER.append(users.password_hasher)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(users, "password_hasher", lambda: PasswordHasher(**TEST_ONLY_HASHER_PARAMETERS))
        yield


@pytest.fixture
def production_password_hasher(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production hasher (`cartrial.store.users.password_hasher` as shipped) for this test (and a fresh
    dummy hash of `cartrial.store.auth`, so that neither kind leaks into the other tests)."""
    from cartrial.store import auth, users

    monkeypatch.setattr(users, "password_hasher", _PRODUCTION_PASSWORD_HASHER[0])
    monkeypatch.setattr(auth, "_DUMMY_HASH", [])


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------------------


def postgres_base_url() -> str:
    """The test server's URL (`CARTRIAL_TEST_POSTGRES_URL`, else the local default)."""
    return os.environ.get("CARTRIAL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The reachable test server's base URL; skips (fails under CARTRIAL_REQUIRE_POSTGRES=1) with the
    reason when there is none."""
    from sqlalchemy import create_engine, text

    base = postgres_base_url()
    try:
        engine = create_engine(base)
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # any driver or connection failure means: no usable server
        reason = f"PostgreSQL not reachable at {base} ({type(exc).__name__}: {exc})"
        if os.environ.get("CARTRIAL_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"CARTRIAL_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(f"{reason}; PostgreSQL tests skipped")
    return base


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A URL whose search_path is a fresh, empty schema (dropped afterwards)."""
    from sqlalchemy import create_engine, text

    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema_url(postgres_server, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend (a SQLite file; a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    return str(request.getfixturevalue("postgres_url"))


# ---------------------------------------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CliResult:
    """What one `cartrial` run gave: exit code, stdout, stderr."""

    exit_code: int
    stdout: str
    stderr: str

    def __iter__(self) -> Iterator[object]:  # `code, out, err = cli(...)`
        return iter((self.exit_code, self.stdout, self.stderr))

    def __getitem__(self, index: int) -> object:
        return (self.exit_code, self.stdout, self.stderr)[index]

    @property
    def output(self) -> str:
        """stdout then stderr (what `typer.testing.CliRunner`'s ``.output`` gave the tests that used it)."""
        return self.stdout + self.stderr

    def astuple(self) -> tuple[int, str, str]:
        """``(exit_code, stdout, stderr)`` typed, for helpers that return a plain tuple."""
        return self.exit_code, self.stdout, self.stderr


Cli = Callable[..., CliResult]


ESCALATION_DECISION: dict[str, Any] = {
    "cohort": 1,
    "dose_level": 1,
    "decided_on": "2021-07-06",
    "outcomes": "1NNN",
    "decision": "escalate",
    "approved_by": "safety review committee",
}
"""The safety review committee's decision the tests record (cohort 1 escalates): `record_decision`."""


def record_decision(service: Any, username: str = "dm", **changes: Any) -> int:
    """Insert `ESCALATION_DECISION` with `changes` as `username` through the `StudyService` (what the
    committee's decision form writes); returns its id. The one helper of the tests that need a decision
    stored."""
    return int(service.insert_record(username, "escalation_decision", {**ESCALATION_DECISION, **changes}))


def run_cartrial(
    *args: object,
    capsys: pytest.CaptureFixture[str] | None = None,
    env: Mapping[str, str | None] | None = None,
) -> CliResult:
    """THE test runner of ``cartrial ARGS…``: `cartrial.cli.main` in-process (so a `CartrialError` is exit 2
    with ``error: …`` on stderr, exactly as the installed command reports it), returning a `CliResult`.

    Output is read from `capsys` when a test has it (anything printed before the run is dropped); without
    it (module-level helpers) stdout and stderr are captured with `redirect_stdout`/`redirect_stderr` —
    typer and rich look up `sys.stdout`/`sys.stderr` when they print, so both ways see everything.
    `env` sets variables for this run only (a value of None unsets one); the old values come back after.

    Deliberately separate runners: `tests/test_cli_basics.py::run_cli` (a real subprocess, for start-up and
    import checks) and `tests/packaging/test_release.py::_run` (the installed wheel)."""
    from cartrial.cli import main

    argv = [str(arg) for arg in args]
    saved = {name: os.environ.get(name) for name in env or {}}
    try:
        for name, value in (env or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if capsys is not None:
            capsys.readouterr()  # drop anything printed before
            code = main(argv)
            captured = capsys.readouterr()
            return CliResult(code, captured.out, captured.err)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        return CliResult(code, out.getvalue(), err.getvalue())
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


def run_captured(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`run_cartrial` with the test's `capsys`, as (exit code, stdout, stderr)."""
    return run_cartrial(*args, capsys=capsys).astuple()


def write_file(folder: Path, name: str, text: str) -> Path:
    """Write `text` (UTF-8) to `folder`/`name` and return the path (a test's input file)."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """Run ``cartrial ARGS…`` in-process: ``cli("db", "summary", "--url", url, env={"CARTRIAL_USER":
    "bob"})`` returns a `CliResult` (exit code, stdout, stderr). `env` values of None unset the variable
    (for the rest of the test, as with `monkeypatch`)."""

    def run(*args: object, env: Mapping[str, str | None] | None = None) -> CliResult:
        for name, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return run_cartrial(*args, capsys=capsys)

    return run


# ---------------------------------------------------------------------------------------------------------
# the example study in a database (analysis and report tests)
# ---------------------------------------------------------------------------------------------------------


def build_example(url: str) -> str:
    """Initialise the study with the example protocol and import the example study's templates."""
    from cartrial import examples as cartrial_examples
    from cartrial.store import init_study
    from cartrial.store.importing import import_templates

    example = cartrial_examples.path("ct103a-nmosd")
    init_study(url, example / "protocol.yaml", "admin", admin_password=TEST_PASSWORD)
    import_templates(url, example / "study", "admin")
    return url


@pytest.fixture(scope="session")
def example_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The imported example study, built once per session (read only: copy it with `example_sqlite`)."""
    path = tmp_path_factory.mktemp("example_template") / "study.db"
    build_example(f"sqlite:///{path}")
    return path


EXAMPLE_CUTOFF = "2022-03-20"
"""The README's data cut-off of the example study (after its last record): the cut-off of the analysis,
report and CDISC tests of the unchanged example."""


@pytest.fixture(scope="session")
def _example_analysis_template(example_sqlite_template: Path) -> tuple[Any, Any]:
    """(snapshot, default analysis) of the imported example study at `EXAMPLE_CUTOFF`, read and analysed ONCE
    per session (``read_snapshot`` then ``analyse``: the analysis, report and CDISC test modules each made
    their own before). Never handed out as is: `example_analysis_copy` gives each user a deep copy, so
    that no test's change to a table or dataset reaches another module."""
    import datetime as dt

    from cartrial.analysis import analyse
    from cartrial.store.snapshot import read_snapshot

    snapshot = read_snapshot(f"sqlite:///{example_sqlite_template}", dt.date.fromisoformat(EXAMPLE_CUTOFF))
    return snapshot, analyse(snapshot)


def example_analysis_copy(template: tuple[Any, Any]) -> tuple[Any, Any]:
    """A private deep copy of `_example_analysis_template`'s (snapshot, analysis): a test module's own, as
    if it had read and analysed the example itself (its tables, datasets and findings equal, not shared)."""
    import copy

    return copy.deepcopy(template)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def _module_example(_example_analysis_template: tuple[Any, Any]) -> tuple[Any, Any]:
    """This test module's own deep copy of the session's (snapshot, analysis) of the example at
    `EXAMPLE_CUTOFF` (the one definition for the analysis and report tests; a module may change it)."""
    import datetime as dt

    assert _example_analysis_template[0].cutoff == dt.date.fromisoformat(EXAMPLE_CUTOFF)
    return example_analysis_copy(_example_analysis_template)


@pytest.fixture(scope="module")
def snapshot(_module_example: tuple[Any, Any]) -> Any:
    """The example study's `StudySnapshot` at `EXAMPLE_CUTOFF` (read once per session from the SQLite
    template; this module's copy). A module that needs another snapshot defines its own `snapshot`."""
    return _module_example[0]


@pytest.fixture(scope="module")
def analysis(_module_example: tuple[Any, Any]) -> Any:
    """The default `Analysis` of `snapshot` (analysed once per session; this module's copy)."""
    return _module_example[1]


@pytest.fixture
def example_analysed(_example_analysis_template: tuple[Any, Any]) -> tuple[Any, Any]:
    """This test's own (snapshot, default analysis) of the unchanged example study at `EXAMPLE_CUTOFF`: a
    deep copy of the session's, free to change."""
    return example_analysis_copy(_example_analysis_template)


@pytest.fixture
def example_sqlite(example_sqlite_template: Path, tmp_path: Path) -> str:
    """A private copy of the imported example study (SQLite URL)."""
    target = tmp_path / "study.db"
    copy_sqlite_file(example_sqlite_template, target)
    return f"sqlite:///{target}"


@dataclass(frozen=True)
class PopfitExampleRun:
    """One run of the example of `cartrial kinetics popfit --help` (`POPFIT_EXAMPLE`), as written."""

    argv: list[str]
    """The example's arguments after ``cartrial``."""
    folder: Path
    """The folder it ran in: the example study at examples/ct103a-nmosd, the fit's output in popfit-out."""
    result: CliResult


@pytest.fixture(scope="session")
def popfit_example_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PopfitExampleRun]:
    """The popfit example run ONCE per session (a full SAEM fit with figures, the suite's costliest single
    command), in a folder holding the example study as ``cartrial examples copy ct103a-nmosd
    examples/ct103a-nmosd`` writes it: tests/docs/test_help_examples.py checks that it runs and gives
    `kinetics map`'s example ("after the popfit example") its popfit-out/estimates.json;
    tests/kinetics/popfit/test_popfit_cli.py checks that it converges. Read only (`make_read_only`)."""
    import re
    import shlex

    from cartrial.commands.kinetics_commands import POPFIT_EXAMPLE

    found = re.search(r"\[bold\](.+?)\[/\]", POPFIT_EXAMPLE, re.DOTALL)
    assert found is not None, POPFIT_EXAMPLE
    argv = shlex.split(" ".join(found.group(1).split()))
    assert argv[:3] == ["cartrial", "kinetics", "popfit"], argv
    with _once_per_run(tmp_path_factory, "popfit_example") as (folder, saved):
        if saved.exists():  # another xdist worker of this run made it
            result = CliResult(**json.loads(saved.read_text(encoding="utf-8")))
        else:
            folder.mkdir()
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(folder)
                copied = run_cartrial("examples", "copy", "ct103a-nmosd", "examples/ct103a-nmosd")
                assert copied.exit_code == 0, copied.output
                result = run_cartrial(*argv[1:])
            saved.write_text(json.dumps(dataclasses.asdict(result)), encoding="utf-8")
    with make_read_only(folder):
        yield PopfitExampleRun(argv[1:], folder, result)


@contextlib.contextmanager
def _once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, Path]]:
    """(folder, saved result file) of a session template that the xdist workers of one pytest run share:
    the folder `name` in the temporary folder all workers of the run have in common, held under an
    exclusive file lock, so that the first worker to need the template makes it (and saves its result) while
    the others wait and then read what it made. Without xdist (or without `fcntl`) the folder is this
    session's own. Neither path exists the first time."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        base = tmp_path_factory.mktemp(name)
        yield base / name, base / f"{name}.json"
        return
    try:
        import fcntl
    except ImportError:  # no POSIX file locks: every worker makes its own
        base = tmp_path_factory.mktemp(name)
        yield base / name, base / f"{name}.json"
        return
    shared = tmp_path_factory.getbasetemp().parent  # the run's folder, parent of every worker's own
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield shared / name, shared / f"{name}.json"
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _folder_digests(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@contextlib.contextmanager
def make_read_only(*folders: Path) -> Iterator[None]:
    """Make every file under `folders` (a session or module template's output) read-only (0o444) while the
    tests use it, so that a test that writes into a shared template fails loudly instead of changing what
    later tests read; on leaving, check that no file was added, removed or changed (file modes do not stop
    root, which CI containers may run as). A test that needs to edit one copies it with
    `copy_writable_tree`."""
    before = {folder: _folder_digests(folder) for folder in folders}
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                path.chmod(0o444)
    yield
    for folder in folders:
        after = _folder_digests(folder)
        changed = sorted(
            name
            for name in before[folder].keys() | after.keys()
            if before[folder].get(name) != after.get(name)
        )
        assert not changed, f"a test changed the read-only template {folder}: {changed}"


def copy_writable_tree(source: Path, target: Path) -> Path:
    """A private, writable copy of the folder `source` (a read-only template, `make_read_only`): the files
    are copied without their modes (`shutil.copyfile`), so the copies are writable again."""
    return Path(shutil.copytree(source, target, copy_function=shutil.copyfile))


def copy_sqlite_file(source: Path, target: Path) -> None:
    """Copy a SQLite database file and its write-ahead log (`-wal`), if any, to `target`: the one copy of
    a session template's database the fixtures make."""
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")


def edit_ct004_crs_to_grade_3(url: str) -> None:
    """An audited edit of the example study at `url`: CT-004's first febrile CRS assessment gets hypotension
    needing one vasopressor, ASTCT 2019 CRS grade 3 (Lee et al. 2019, Table 3); before it, CT-004's maximum
    CRS grade is 1."""
    from sqlalchemy import select

    from cartrial.store import StudyService, connect
    from cartrial.store.models import CrsAssessment

    service = StudyService(connect(url))
    with service.engine.connect() as connection:
        record_id, version = connection.execute(
            select(CrsAssessment.id, CrsAssessment.version)
            .where(CrsAssessment.subject_id == "CT-004", CrsAssessment.temperature_c >= 38.0)
            .order_by(CrsAssessment.assessed_at)
        ).first()  # type: ignore[misc]
    grade_3 = {"hypotension": True, "vasopressors": 1}
    service.update_record("admin", "crs_assessment", record_id, grade_3, version, "source check")
    service.engine.dispose()


THEOPH = VALIDATION / "theoph.csv"
"""R datasets::Theoph (Boeckmann, Sheiner & Beal 1994): 12 subjects, 132 samples, one oral dose each."""
THEOPH_SAS_START = {
    "initial": {"cl": math.exp(-3.22), "ka": math.exp(0.47), "ke": math.exp(-2.45)},
    "initial_omega2": {"cl": 0.03, "ka": 0.4},
    "initial_sigma": [math.sqrt(0.5)],
}
"""The start values of the SAS/STAT PROC NLMIXED Theophylline example (PARMS beta1..3, s2b1, s2b2, s2)."""


def uncensored_population_data(
    frame: Any, source: Path, subject: str, time: str, conc: str, *, dose: str | None = None
) -> Any:
    """`PopulationData` of a published data set (R's Theoph, Indometh, CO2): every value quantified (no BLQ
    or LLOQ column), one analyte, zero concentrations taken as measured."""
    from cartrial.kinetics.popfit import PopulationData

    return PopulationData.from_frame(
        frame.astype(str),
        subject=subject,
        time=time,
        conc=conc,
        blq_column=None,
        lloq_column=None,
        dose_column=dose,
        analyte_column=None,
        zero_is_blq=False,
        source=str(source),
    )


def fit_theoph(*, omega: str, **options: Any) -> Any:
    """The Theophylline population fit of the popfit validation tests: `one_compartment_oral_ke` (SSfol),
    log-normal IIV on Cl and ka (`omega` "full" or "diagonal"), additive error on the linear scale, from
    `THEOPH_SAS_START`; `options` go to `fit_population` (settings, method)."""
    import pandas as pd

    from cartrial.kinetics.popfit import ErrorModel, fit_population

    data = uncensored_population_data(pd.read_csv(THEOPH), THEOPH, "Subject", "Time", "conc", dose="Dose")
    assert data.n_subjects == 12 and data.n_observations == 132
    return fit_population(
        data,
        "one_compartment_oral_ke",
        error=ErrorModel("additive", "linear"),
        iiv=["cl", "ka"],
        omega=omega,
        **THEOPH_SAS_START,
        **options,
    )


def with_relapse(snapshot: Any, subject_id: str, onset_date: str, record_id: str = "999999") -> Any:
    """`snapshot` with one more relapse (a qualifying moderate myelitis of `subject_id` at `onset_date`) in
    its `relapses` table: a case the shipped example does not have (D-19.587, D-19.590)."""
    import dataclasses

    import pandas as pd

    relapses = snapshot.tables["relapses"]
    added = {c: "" for c in relapses.columns} | {
        "subject_id": subject_id,
        "onset_date": onset_date,
        "phenotype": "myelitis",
        "severity": "moderate",
        "lasted_over_24h": "true",
        "fever_or_infection": "false",
        "record_id": record_id,
    }
    tables = {**snapshot.tables, "relapses": pd.concat([relapses, pd.DataFrame([added])], ignore_index=True)}
    return dataclasses.replace(snapshot, tables=tables)


# ---------------------------------------------------------------------------------------------------------
# the command line's options, enumerated from the typer app
# ---------------------------------------------------------------------------------------------------------


def cli_options() -> list[tuple[tuple[str, ...], str, Any]]:
    """Every option with a long flag of every leaf command of the typer app (every command module loaded):
    (the command's path below the program, its first ``--flag``, its typer annotation) — for the tests that
    check a rule over every option, so that an option added later is covered without editing them."""
    import typer.main

    from cartrial.cli import app

    root: Any = typer.main.get_command(app)
    for entry in root.entries:
        if entry.module is not None:
            root.load_module(entry.module)

    def leaves(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                yield from leaves(sub, (*path, name))
        else:
            yield path, command

    found = []
    for path, command in leaves(root, ()):
        for param in command.params:
            flags = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
            if param.param_type_name != "option" or not flags:
                continue
            runtime = param.get_runtime_param() if hasattr(param, "get_runtime_param") else None
            found.append((path, flags[0], getattr(runtime, "annotation", None)))
    return found
