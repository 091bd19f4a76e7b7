"""`--user NAME` and `$CARTRIAL_USER` behave the same for every command that needs an acting user
(decisions §11); with neither, the command exits 2 with one line saying how to give one."""

from __future__ import annotations

import pytest

from cartrial import examples as cartrial_examples

from ..conftest import Cli

STUDY_FOLDER = cartrial_examples.path("ct103a-nmosd") / "study"

COMMANDS: dict[str, tuple[str, ...]] = {
    "db records": ("db", "records", "subject", "--json"),
    "db user list": ("db", "user", "list", "--json"),
    "db query list": ("db", "query", "list", "--json"),
    "audit log": ("audit", "log", "--subject", "CT-001", "--json"),
    "db lock (refused for a monitor)": ("db", "lock", "--cutoff", "2022-03-20", "--reason", "r"),
    "db unlock (refused for a monitor)": ("db", "unlock", "--reason", "r"),
    "db edit (refused for a monitor)": (
        *("db", "edit", "subject", "1", "--set", "sex=M", "--expected-version", "1", "--reason", "r"),
    ),
    "db delete (refused for a monitor)": ("db", "delete", "subject", "1", "--reason", "r"),
    "db derive (refused for a monitor)": ("db", "derive", "crs"),
    "db site add (refused for a monitor)": ("db", "site", "add", "XYZ"),
    "db user add (refused for a monitor)": ("db", "user", "add", "zed", "--role", "monitor"),
    "db user role (refused for a monitor)": (
        "db",
        "user",
        "role",
        "dm",
        "--role",
        "monitor",
        "--reason",
        "r",
    ),
    "db query answer": ("db", "query", "answer", "Q-000009", "--answer", "a"),
    "db query close": ("db", "query", "close", "Q-000009", "--reason", "r"),
    "import templates (refused for a monitor)": ("import", "templates", str(STUDY_FOLDER), "--dry-run"),
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_user_option_and_environment_are_the_same(name: str, study, cli: Cli) -> None:
    args = (*COMMANDS[name], "--url", study.url)
    by_option = cli(*args, "--user", "mon", env={"CARTRIAL_USER": None})
    by_environment = cli(*args, env={"CARTRIAL_USER": "mon"})
    assert (by_option.exit_code, by_option.stdout, by_option.stderr) == (
        by_environment.exit_code,
        by_environment.stdout,
        by_environment.stderr,
    )
    assert "no acting user" not in by_option.stderr
    neither = cli(*args, env={"CARTRIAL_USER": None})
    assert neither.exit_code == 2
    assert neither.stderr.strip() == "error: --user: no acting user: pass --user NAME or set CARTRIAL_USER"


def test_the_option_wins_over_the_environment(study, cli: Cli) -> None:
    result = cli(
        "db",
        "lock",
        "--cutoff",
        "2022-03-20",
        "--reason",
        "r",
        "--url",
        study.url,
        "--user",
        "stat",
        env={"CARTRIAL_USER": "mon"},
    )
    assert result.exit_code == 0, result.stderr
