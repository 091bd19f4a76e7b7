"""The CLI contract of decisions §2: --version, --help listing every command, exit 2 for user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cartrial import __version__
from cartrial.cli import app, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # Deliberately NOT the shared in-process runner (tests/conftest.py `run_cartrial` / `cli`): a real
    # `python -m cartrial.cli` subprocess, so start-up, imports and the process exit code are what is tested.
    return subprocess.run(
        [sys.executable, "-m", "cartrial.cli", *args], capture_output=True, text=True, check=False
    )


def test_version_prints_package_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cartrial {__version__}"


def test_help_lists_every_registered_command_with_a_description() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    import typer.main

    group = typer.main.get_group(app)
    assert group.commands, "no command registered"
    for name, command in group.commands.items():
        assert name in result.stdout
        assert (command.help or command.short_help or "").strip(), f"command {name} has no description"


def test_unknown_command_is_a_usage_error_exit_2_without_traceback() -> None:
    result = run_cli("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_user_error_exits_2_and_debug_shows_traceback(tmp_path) -> None:
    missing = tmp_path / "missing.yaml"
    plain = run_cli("protocol", "check", str(missing))
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr
    assert str(missing) in plain.stderr
    debug = run_cli("--debug", "protocol", "check", str(missing))
    assert debug.returncode != 0
    assert "Traceback" in debug.stderr


def test_main_returns_exit_code_for_version() -> None:
    assert main(["--version"]) == 0


# ------------------------------------------------------------------ fast start-up (decisions §11 "What must
# hold")

HEAVY_MODULES = ("pandas", "numpy", "scipy", "lifelines", "sqlalchemy", "matplotlib", "pydantic")


def _modules_after(code: str) -> set[str]:
    """Top-level module names imported by a fresh interpreter after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(result.stdout.split())


def test_importing_the_cli_imports_no_heavy_library() -> None:
    """Decisions §11: `cartrial --help` must not pay for pandas/numpy/scipy or any engine at start-up."""
    loaded = _modules_after("import cartrial.cli")
    assert not loaded & set(HEAVY_MODULES), loaded & set(HEAVY_MODULES)


def test_root_help_loads_no_command_module() -> None:
    """The root help is built from the `COMMANDS` table: no area module (and so no engine) is imported."""
    code = (
        "import sys\nfrom cartrial.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', *sorted(m for m in sys.modules if m.startswith('cartrial.')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded_line = next(line for line in result.stdout.splitlines() if line.startswith("LOADED"))
    loaded = set(loaded_line.split()[1:])
    assert not {
        m for m in loaded if m.startswith(("cartrial.commands.", "cartrial.protocol", "cartrial.grading"))
    }
    assert "protocol" in result.stdout and "grade" in result.stdout


def test_protocol_command_module_imports_no_engine() -> None:
    """The protocol command module (owned here) imports its engine inside the command functions."""
    loaded = _modules_after("import cartrial.commands.protocol_commands")
    assert not loaded & set(HEAVY_MODULES)
    probe = (
        "import sys, cartrial.commands.protocol_commands\n"
        "print(*sorted(m for m in sys.modules if m.startswith('cartrial.')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert set(result.stdout.split()) == {
        "cartrial.commands",
        "cartrial.commands.protocol_commands",
        "cartrial.commands.terminal",
        "cartrial.errors",
    }


def test_command_table_matches_what_each_module_registers() -> None:
    """`COMMANDS` (names, modules, one-line help) is what the area modules really register: the lazy root
    group can list them without importing anything, and cannot drift from them unnoticed."""
    import importlib

    import typer
    import typer.main

    from cartrial.commands import AREA_MODULES, COMMANDS

    for module_name in AREA_MODULES:
        scratch = typer.Typer()
        importlib.import_module(module_name).register(scratch)
        registered = typer.main.get_group(scratch).commands
        listed = {e.name: e for e in COMMANDS if e.module == module_name}
        assert set(registered) == set(listed), (
            f"{module_name} registers {sorted(registered)} but cartrial.commands.COMMANDS lists "
            f"{sorted(listed)}: add/remove the entry (name, module, one-line help, panel) there"
        )
        for name, command in registered.items():
            real_help = (command.short_help or command.help or "").strip().split("\n\n")[0]
            assert " ".join(real_help.split()) == listed[name].help, (
                f"the one-line help of `{name}` changed: copy it into cartrial.commands.COMMANDS"
            )


def test_help_groups_commands_by_workflow_panels() -> None:
    """Decisions §20: commands in design / conduct / analyse panels, in workflow order, with a runnable
    example."""
    result = run_cli("--help")
    out = result.stdout
    positions = [out.index(f"─ {title} ") for title in ("Get started", "Design", "Conduct", "Analyse")]
    assert positions == sorted(positions)
    design, conduct, analyse = (
        out[positions[1] : positions[2]],
        out[positions[2] : positions[3]],
        out[positions[3] :],
    )
    assert "protocol" in design and "escalate" in design
    assert all(name in conduct for name in ("screen", "import", "db", "audit"))
    assert all(name in analyse for name in ("grade", "score", "relapses", "nca", "kinetics"))
    assert "Example: cartrial demo" in out


def test_lazy_command_runs_and_its_help_loads_it() -> None:
    """A command's help imports its module on demand; a misspelt command still gets a suggestion."""
    result = run_cli("protocol", "--help")
    assert result.returncode == 0 and "check" in result.stdout and "show" in result.stdout
    typo = run_cli("grad")
    assert typo.returncode == 2 and "grade" in typo.stderr


def test_cli_literals_match_the_engine_values() -> None:
    """The light copies the protocol command module keeps for its help (to import no engine) equal the
    engine's values."""
    import typing

    from cartrial.commands import protocol_commands
    from cartrial.protocol import BsaMethod
    from cartrial.protocol.summary import REFERENCE_BSA_M2

    assert set(typing.get_args(protocol_commands.BsaMethodName)) == {m.value for m in BsaMethod}
    assert protocol_commands.REFERENCE_BSA_HELP_M2 == REFERENCE_BSA_M2


def _example_of(epilog: str | None) -> list[str]:
    """The argument list of the `Example: cartrial ...` line of a help epilog (rich markup removed)."""
    import re
    import shlex

    assert epilog, "no example in the help"
    text = re.sub(r"\[/?[a-z ]*\]", "", epilog)
    line = next(part for part in text.split("\n") if part.startswith("Example: cartrial "))
    command = line.removeprefix("Example: cartrial ").split("  (")[0]
    return shlex.split(command)


def test_every_owned_command_help_ends_with_a_runnable_example(
    repo_root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Decisions §20: the help of `protocol check|show`, `screen` (and the root and `demo`) ends with one
    example, and the example runs from the repository root (exit 0)."""
    import typer.main

    from cartrial.cli import LazyGroup
    from cartrial.commands import protocol_commands

    group = typer.main.get_group(app)
    assert isinstance(group, LazyGroup)
    group.load_module(protocol_commands.__name__)
    protocol_group = group.commands["protocol"]
    commands = {
        "protocol check": protocol_group.commands["check"],  # type: ignore[attr-defined]
        "protocol show": protocol_group.commands["show"],  # type: ignore[attr-defined]
        "screen": group.commands["screen"],
    }
    monkeypatch.chdir(repo_root)
    for name, command in commands.items():
        args = _example_of(command.epilog)
        assert " ".join(args).startswith(name), (name, args)
        assert main(args) == 0, (name, args, capsys.readouterr().err)
    assert _example_of(group.commands["demo"].epilog) == ["demo", "--out", "demo-output"]
    assert _example_of(group.epilog)[0] == "demo"
    assert "--install-completion" in (group.epilog or "")


def test_commands_print_without_rich_highlighting() -> None:
    """Rich's automatic highlighting ran its repr regexes over every printed string: a 1 MB cell of a user's
    file used as a group label (`kinetics fit --by analyte`) kept a command busy for minutes before it
    printed (issue 19 §4, a hang). Every command makes its console with `terminal()`, which does not."""
    from pathlib import Path

    import cartrial
    from cartrial.commands.terminal import terminal

    assert terminal().render_str("x(1.5, 'a', None)").spans == []
    assert terminal(stderr=True).stderr
    package = Path(cartrial.__file__).parent
    direct = [
        str(path.relative_to(package))
        for path in [package / "cli.py", *sorted((package / "commands").glob("*.py"))]
        if path.name != "terminal.py" and "Console(" in path.read_text(encoding="utf-8")
    ]
    assert direct == []


def test_running_the_cli_again_in_one_process_adds_no_command_again() -> None:
    """Every in-process run of `main` registers the command groups again (a notebook, the tests); the `db`
    and `audit` groups gained their other modules' commands on every run, so each later run built every
    copy and ran slower (D-19.541). The groups hold the same commands after one run as after five."""
    import io
    from contextlib import redirect_stdout

    import typer

    from cartrial.commands import AREA_MODULES

    def sizes() -> dict[str, int]:
        found = {}
        for name in AREA_MODULES:
            for attribute, value in vars(sys.modules[name]).items():
                if isinstance(value, typer.Typer):
                    size = len(value.registered_commands) + len(value.registered_groups)
                    found[f"{name}.{attribute}"] = size
        return found

    def run_all() -> None:
        for module in AREA_MODULES:
            __import__(module)
        for argv in (["db", "--help"], ["audit", "--help"], ["kinetics", "--help"], ["--help"]):
            with redirect_stdout(io.StringIO()):
                assert main(argv) == 0

    run_all()
    once = sizes()
    for _ in range(4):
        run_all()
    assert sizes() == once
    assert any(name.endswith("store_commands.db_app") for name in once)


def test_library_warnings_print_once_as_warning_lines_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """A warning of a cartrial library logger (e.g. a password hash that could not be upgraded, D-19.545)
    reaches a CLI user as the commands print theirs, ``warning: …`` on stderr, once however often `main`
    ran in the process (a handler added per run would repeat it, D-19.541); stdout gets nothing."""
    import logging

    for _ in range(3):
        assert main(["--version"]) == 0
    capsys.readouterr()
    logging.getLogger("cartrial.store.auth").warning("a library warning (%s)", "KindOfError")
    logging.getLogger("cartrial.store.auth").info("an information line")
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "warning: a library warning (KindOfError)\n"
