"""The shipped package data and the commands that hand it to a user (issue 20, "The wheel is
self-sufficient"): `cartrial examples list|copy`, `cartrial templates write`, and the demo's context built
from the installed package rather than the source checkout."""

from __future__ import annotations

import doctest
import importlib
import re
import shlex
from pathlib import Path

import pytest
from rich.console import Console

from cartrial import examples, templates
from cartrial.errors import CartrialError, InputError

from ..conftest import Cli

EXAMPLE = "ct103a-nmosd"


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize("module_name", ["cartrial.examples", "cartrial.templates"])
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(module, module_name):
        runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


def test_the_example_lives_in_the_package_and_the_checkout_link_points_at_it() -> None:
    folder = examples.path(EXAMPLE)
    assert folder.is_relative_to(Path(examples.__file__).parent)
    assert (folder / "protocol.yaml").is_file() and (folder / "study" / "subjects.csv").is_file()
    checkout = Path(__file__).resolve().parents[2]
    assert (checkout / "examples" / EXAMPLE).resolve() == folder.resolve()
    assert (checkout / "docs" / "templates").resolve() == templates.path().resolve()


def test_examples_copy_writes_every_shipped_file_unchanged(cli: Cli, tmp_path: Path) -> None:
    code, out, err = cli("examples", "copy", EXAMPLE, tmp_path / "my-study")
    assert code == 0, err
    copied = _files(tmp_path / "my-study")
    assert copied == _files(examples.path(EXAMPLE))
    assert {"protocol.yaml", "study/README.md", "redcap/mapping.yaml"} <= set(copied)
    assert f"{len(copied)} files" in out


def test_examples_copy_refuses_a_folder_that_is_not_empty_unless_forced(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "protocol.yaml").write_text("edited")
    code, _, err = cli("examples", "copy", EXAMPLE, target)
    assert code == 2 and "not empty" in err and "--force" in err
    assert (target / "protocol.yaml").read_text() == "edited"
    code, _, err = cli("examples", "copy", EXAMPLE, target, "--force")
    assert code == 0, err
    assert (target / "protocol.yaml").read_bytes() == (examples.path(EXAMPLE) / "protocol.yaml").read_bytes()
    assert (target / "notes.txt").read_text() == "mine"


def test_examples_copy_of_an_unknown_example_names_the_known_ones(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("examples", "copy", "no-such-study", tmp_path / "x")
    assert code == 2 and "no such example" in err and EXAMPLE in err
    assert not (tmp_path / "x").exists()
    (tmp_path / "a-file").write_text("")
    code, _, err = cli("examples", "copy", EXAMPLE, tmp_path / "a-file")
    assert code == 2 and "not a folder" in err


def test_examples_list_json(cli: Cli) -> None:
    import json

    code, out, _ = cli("examples", "list", "--json")
    assert code == 0
    (entry,) = json.loads(out)
    assert entry["name"] == EXAMPLE and entry["title"].startswith("CT103A")
    assert "protocol.yaml" in entry["files"]


def test_templates_write_gives_blank_templates_of_every_form_and_the_generated_field_reference(
    cli: Cli, tmp_path: Path
) -> None:
    from cartrial.store.importing.forms import FORMS_BY_NAME, field_reference_markdown

    code, _, err = cli("templates", "write", tmp_path / "blank")
    assert code == 0, err
    written = tmp_path / "blank"
    assert {p.stem for p in written.glob("*.csv")} == set(FORMS_BY_NAME)
    for form in FORMS_BY_NAME.values():
        text = (written / form.file_name).read_text(encoding="utf-8")
        shipped = (templates.path() / form.file_name).read_text(encoding="utf-8")
        assert text == shipped.splitlines()[0] + "\n", form.name  # the header only
        assert set(text.strip().split(",")) <= set(form.column_names())
    assert (written / "FIELDS.md").read_text(encoding="utf-8") == field_reference_markdown()
    for page in ("README.md", "import.md", "grading.md", "neuro.md", "kinetics.md"):
        assert (written / page).read_bytes() == (templates.path() / page).read_bytes()


def test_templates_write_with_example_rows_copies_the_shipped_templates(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("templates", "write", tmp_path / "t", "--example-rows")
    assert code == 0, err
    for name in templates.template_files():
        assert (tmp_path / "t" / name).read_bytes() == (templates.path() / name).read_bytes()
    code, _, err = cli("templates", "write", tmp_path / "t")
    assert code == 2 and "not empty" in err
    assert cli("templates", "write", tmp_path / "t", "--force").exit_code == 0
    assert (tmp_path / "t" / "sites.csv").read_text() == "site_id,name,country,time_zone\n"


def test_blank_templates_import_as_an_empty_study(cli: Cli, tmp_path: Path) -> None:
    """The blank templates are valid import input (headers the import accepts, no rows)."""
    assert cli("templates", "write", tmp_path / "blank").exit_code == 0
    url = f"sqlite:///{tmp_path / 'study.db'}"
    protocol = examples.path(EXAMPLE) / "protocol.yaml"
    assert cli("db", "init", "--url", url, "--protocol", protocol, "--admin", "admin").exit_code == 0
    code, _, err = cli(
        "import", "templates", tmp_path / "blank", "--user", "admin", "--url", url, "--dry-run"
    )
    assert code == 0, err


def test_demo_context_uses_the_installed_package_data_or_a_given_copy(tmp_path: Path) -> None:
    from cartrial.demo import shipped_context

    console = Console()
    ctx = shipped_context(tmp_path / "out", console)
    assert ctx.examples_dir == examples.path(EXAMPLE).parent
    assert ctx.templates_dir == templates.path()
    assert ctx.protocol_file.is_file()
    examples.copy(EXAMPLE, tmp_path / "mine" / EXAMPLE)
    assert shipped_context(tmp_path / "out", console, tmp_path / "mine").examples_dir == tmp_path / "mine"
    with pytest.raises(CartrialError, match="--examples takes a folder holding"):
        shipped_context(tmp_path / "out", console, tmp_path)


def test_reading_a_template_that_does_not_exist_is_a_located_error() -> None:
    with pytest.raises(InputError, match="no such template"):
        templates.header("nope.csv")


def test_every_help_of_the_starter_commands_ends_with_an_example_that_runs(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cartrial.commands import starter_commands

    monkeypatch.chdir(tmp_path)
    epilogs = [starter_commands.LIST_EXAMPLE, starter_commands.COPY_EXAMPLE, starter_commands.WRITE_EXAMPLE]
    for epilog in epilogs:
        text = re.sub(r"\[/?[a-z ]*\]", "", epilog)
        args = shlex.split(text.removeprefix("Example: cartrial ").split("  (")[0])
        code, _, err = cli(*args)
        assert code == 0, (args, err)
    assert (tmp_path / "my-study" / "protocol.yaml").is_file()
    assert (tmp_path / "my-templates" / "FIELDS.md").is_file()


@pytest.mark.parametrize("inside", ["", "nested/deeper"])
def test_examples_copy_into_the_shipped_example_itself_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    """Into the example's own folder: `--force` emptied every shipped file (each opened for writing before it
    was read) and exited 0; a folder inside it recursed until RecursionError, leaving 800 nested folders in
    the package. The package folder is a copy here, so the old code damages nothing real."""
    import shutil

    package = tmp_path / "package"
    shutil.copytree(examples.path("ct103a-nmosd"), package / "ct103a-nmosd")
    monkeypatch.setattr(examples, "_root", lambda: package)
    destination = package / "ct103a-nmosd" / inside
    protocol = (package / "ct103a-nmosd" / "protocol.yaml").read_bytes()
    result = cli("examples", "copy", "ct103a-nmosd", str(destination), "--force")
    assert result.exit_code == 2, result.output
    assert "cartrial's own examples" in result.stderr and str(destination) in result.stderr
    assert (package / "ct103a-nmosd" / "protocol.yaml").read_bytes() == protocol
    assert not (package / "ct103a-nmosd" / "nested").exists()


def test_templates_write_onto_the_shipped_templates_is_refused(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`templates write PKG/templates --force` replaced the shipped example rows by bare headers (exit 0)."""
    import shutil

    package = tmp_path / "templates"
    shutil.copytree(templates.path(), package)
    monkeypatch.setattr(templates, "_root", lambda: package)
    before = (package / "subjects.csv").read_bytes()
    result = cli("templates", "write", str(package), "--force")
    assert result.exit_code == 2, result.output
    assert "cartrial's own templates" in result.stderr
    assert (package / "subjects.csv").read_bytes() == before
