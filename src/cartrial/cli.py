"""The `cartrial` command line: parse, call the engines, print. Every command lives in `cartrial.commands`.

Start-up is fast because nothing heavy is imported until it is needed: the root group (`LazyGroup`) knows
each top-level command's name, module, one-line help and help panel from `cartrial.commands.COMMANDS`, so
``cartrial --help`` and ``cartrial --version`` import no engine, no pandas, no scipy. A command's module is
imported when that command is invoked (or its own ``--help`` is asked), and the command modules import
their engines inside the command functions.

User errors (`CartrialError`) print their message and exit 2 without a traceback; `--debug` shows it.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Hashable, Sequence
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import typer
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import TyperException

from cartrial import __version__
from cartrial.allowed import PARSER_ERROR_WORDS, Allowed
from cartrial.commands import COMMANDS, CommandEntry
from cartrial.errors import CartrialError, InputError, Problem, shortened

ROOT_EXAMPLE = "Example: [bold]cartrial demo --out demo-output[/]  (then see `cartrial COMMAND --help`)"
SHELL_COMPLETION_HINT = (
    "Shell completion: [bold]cartrial --install-completion[/] (bash, zsh, fish, PowerShell)."
)


def _check_paths_before_running(command: Any) -> None:
    """Make `command` (and every sub-command of a group) refuse, before it runs, a path option or argument
    naming a FIFO, a device or a socket (`cartrial.sources.refuse_special_source`): opening a FIFO waits
    for ever, so no reader or writer may meet one."""
    children = getattr(command, "commands", None)
    if isinstance(children, dict):
        for child in children.values():
            _check_paths_before_running(child)
        return
    if getattr(command, "_paths_checked", False):
        return
    invoke = command.invoke

    def checked_invoke(ctx: Any) -> Any:
        from cartrial.sources import refuse_special_source

        by_name = {p.name: p for p in ctx.command.params}
        for name, value in ctx.params.items():
            values = value if isinstance(value, list | tuple) else [value]
            for item in values:
                if isinstance(item, Path):
                    param = by_name.get(name)
                    flags = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
                    refuse_special_source(item, field=flags[0] if flags else None)
        _refuse_output_onto_an_input(ctx.params, by_name)
        words = _command_words(ctx)
        _refuse_folder_output_onto_an_input(words[-2:], ctx.params, by_name)
        _refuse_an_unwritable_output_file(words, ctx.params, by_name)
        return invoke(ctx)

    command.invoke = checked_invoke
    parse_args = command.parse_args

    def checked_parse_args(ctx: Any, args: list[str]) -> list[str]:
        _refuse_a_repeated_single_value(command, ctx, args)
        return parse_args(ctx, args)

    command.parse_args = checked_parse_args
    command._paths_checked = True


def _command_words(ctx: Any) -> list[str]:
    """The command's names below the program (``["simulate", "trial"]``), from click's context chain: not
    from `ctx.command_path`, whose first word is the program as it was called (``python -m cartrial`` is
    three words)."""
    words: list[str] = []
    while ctx is not None and ctx.parent is not None:
        words.append(str(ctx.info_name))
        ctx = ctx.parent
    return words[::-1]


def _refuse_a_repeated_single_value(command: Any, ctx: Any, args: list[str]) -> None:
    """`InputError` (exit 2) naming an option that takes one value and is given more than once
    (``--cutoff A --cutoff B``): click keeps the last one silently, and which one the user meant cannot be
    told (D-19.646); and a flag given both ways (``--pdf --no-pdf``: the last would win as silently,
    D-19.704). An option declared to repeat (``--set``, several values), a counted option and a flag given
    the same way twice (``--json --json`` asks the same) are not refused. An option typed as a number
    whose text is not written in digits 0-9 (``--lloq 1_0``) is refused too (`_numbers_not_in_digits`).
    Reads the command line as the command's own parser reads it (every spelling of the option, ``--opt=V``
    too); a line the parser refuses (an unknown option) is left to the command's parse, which refuses it
    in its own words; a line asking for the help (``--help``) gets it. Nothing has run yet."""
    if ctx.resilient_parsing:  # shell completion: never refuse what is being typed
        return
    parser = command.make_parser(ctx)
    seen: dict[Any, list[Any]] = {}  # param → what each occurrence gave (a value, or a flag's constant)
    try:  # click's parser keeps its options in private tables: a click without them is read plainly
        options = (*parser._long_opt.values(), *parser._short_opt.values())
    except AttributeError:
        options = None
    if options is None:
        seen = _counted(command.get_params(ctx), args)
    else:
        for option in {id(o): o for o in options}.values():
            option.process = _noting(option, seen)
        try:
            parser.parse_args(args=list(args))
        except TyperException:
            return
    help_names = set(ctx.help_option_names)
    if any(help_names & set(getattr(param, "opts", ())) for param in seen):
        return  # the help wins: nothing runs
    problems = [] if options is None else _numbers_not_in_digits(seen)
    for param in command.params:
        given = seen.get(param, [])
        if getattr(param, "param_type_name", "") != "option" or len(given) < 2:
            continue
        name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
        if param.is_flag and param.secondary_opts:
            if len(set(given)) > 1:
                other = next((o for o in param.secondary_opts if o.startswith("--")), param.secondary_opts[0])
                problems.append(
                    Problem(
                        "given both ways",
                        field=f"{name}/{other}",
                        allowed=f"one of {name} or {other} (give the one you mean)",
                    )
                )
        elif not (param.multiple or param.count or param.is_flag):
            problems.append(
                Problem(
                    f"given {len(given)} times",
                    field=name,
                    allowed="once: the option takes one value (give the one you mean)",
                )
            )
    if problems:
        raise InputError(problems)


def _numbers_not_in_digits(seen: dict[Any, list[Any]]) -> list[Problem]:
    """A problem per option typed as a number (``int`` or ``float``) whose text the parser would read but
    the one number rule does not (`cartrial.commands.option_names.option_number`, digits 0-9, D-19.1425):
    Python's ``int``/``float`` read ``1_0`` as 10. `seen`: each option's texts as given. A text the parser
    refuses itself (``abc``, ``1e3`` for a whole number) keeps the parser's refusal (`_bad_parameter`)."""
    from cartrial.commands.option_names import OPTION_DIGITS, option_number

    problems = []
    for param, given in seen.items():
        kind = getattr(_runtime_param(param), "annotation", None)
        if kind not in (int, float) or getattr(param, "param_type_name", "") != "option":
            continue
        what = "a whole number" if kind is int else "a number"
        for text in given:
            if not isinstance(text, str):
                continue
            try:
                kind(text)  # the parser reads it …
            except ValueError:
                continue
            try:
                option_number(text)  # … and so does the one rule: nothing to refuse
            except ValueError:
                name = next((o for o in param.opts if o.startswith("--")), param.opts[0])
                problems.append(
                    Problem(f"not {what}", field=name, value=text, allowed=f"{what} in {OPTION_DIGITS}")
                )
                break
    return problems


def _counted(params: Sequence[Any], args: Sequence[str]) -> dict[Any, list[Any]]:
    """What `_refuse_a_repeated_single_value` notes, read plainly from the command line (a click whose
    parser lacks the private option tables; `params`: the command's, the help option too): each occurrence
    of an option's spelling (``--opt``,
    ``--opt=V``; up to ``--``) gives the option's param, a flag its constant (True, or False for a
    secondary spelling ``--no-…``), any other option the spelling given (so repeats are counted).

    Its limits (a fallback only, never the path of the click cartrial pins): it reads tokens, not what the
    parser consumes, so an option's value spelled like an option (``--reason --force``) counts as that
    option too, and a cluster of short options (``-fv``) or a short option with its value attached
    (``-ofile``) is not split, so a repeat spelled that way is not counted (the command then runs as
    click parses it: the last value wins)."""
    seen: dict[Any, list[Any]] = {}
    for token in args:
        if token == "--":
            break
        spelling = token.split("=", 1)[0] if token.startswith("--") else token
        for param in params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            if spelling in param.opts:
                seen.setdefault(param, []).append(True if param.is_flag else token)
            elif spelling in getattr(param, "secondary_opts", ()):
                seen.setdefault(param, []).append(False)
    return seen


def _noting(option: Any, seen: dict[Any, list[Any]]) -> Any:
    """`option.process` (a parser option of click's) that also notes what the occurrence gave: the value,
    or the flag's constant (``--pdf`` True, ``--no-pdf`` False)."""
    process = option.process

    def noting(value: Any, state: Any) -> None:
        given = option.const if option.action in ("store_const", "append_const") else value
        seen.setdefault(option.obj, []).append(given if isinstance(given, Hashable) else repr(given))
        process(value, state)

    return noting


OUTPUT_PARAMETERS = frozenset({"out", "km_out", "params_out", "trials_out"})
"""The parameters of a command that name a file (or folder) it writes: every other path option or argument is
an input. One set: the output checks below and the bad-input matrix use it (D-19.579)."""


def _refuse_output_onto_an_input(params: dict[str, Any], by_name: dict[str, Any]) -> None:
    """`InputError` when the file of an output option (`OUTPUT_PARAMETERS`: ``--out``, ``--km-out``,
    ``--params-out``, ``--trials-out``) is one of the command's input files (the same path, another spelling
    of it, a symbolic or hard link to it): the result would replace what the user gave — `score edss form.csv
    --out form.csv` exited 0 with the raw form gone (D-19.575, D-19.579) — or when two output options name the
    same file, exists it yet or not: one result would replace the other (D-19.579). The inputs are the
    command's other path options and arguments and, for a command on the study database (a ``--url``
    option), the SQLite file of the URL it opens (given, `$CARTRIAL_DB_URL` or the default) and the password
    and audit key files named by environment variables: `audit checkpoint --out study.db --url
    sqlite:///study.db` replaced the audited database with 363 bytes of JSON and exited 0. Checked before
    the command runs, so nothing is read or written."""
    import os

    def option_of(name: str) -> str:
        flags = [o for o in getattr(by_name.get(name), "opts", ()) if o.startswith("--")]
        return flags[0] if flags else f"argument {name.upper()}"

    outputs = [
        (value, option_of(name))
        for name, value in params.items()
        if name in OUTPUT_PARAMETERS and isinstance(value, Path)
    ]
    if not outputs:
        return
    inputs: list[tuple[Path, str]] = []
    for name, value in params.items():
        if name in OUTPUT_PARAMETERS:
            continue
        inputs += [(item, option_of(name)) for item in (value if isinstance(value, list | tuple) else [value])
                   if isinstance(item, Path)]  # fmt: skip
    if "url" in by_name:
        inputs += _study_files(params.get("url"))
    for out, out_option in outputs:
        if not out.is_file():
            continue
        for item, option in inputs:
            if _same_file(item, out):
                raise InputError(
                    Problem(
                        f"is also an input of the command ({item}); "
                        "writing the result there would replace it",
                        file=str(out),
                        field=out_option,
                        allowed=f"a file that is not an input (here not the file of {option})",
                    )
                )
    # the output given last on the command line is named (`--km-out r.csv --out r.csv`: --km-out's file is
    # also the output of --out); `--out` is checked first, so it is the one the message points to
    ordered = sorted(outputs, key=lambda pair: pair[1] != "--out")
    for i, (first, first_option) in enumerate(ordered):
        for other, other_option in ordered[i + 1 :]:
            if _same_file(first, other) or os.path.realpath(first) == os.path.realpath(other):
                raise InputError(
                    Problem(
                        f"is also the output of {first_option} ({first}); one result would replace the other",
                        file=str(other),
                        field=other_option,
                        allowed="a file that is not another output of the command",
                    )
                )


FOLDER_OUTPUTS = frozenset(
    {
        "demo",
        "analyse",
        "report",
        "simulate trial",
        "simulate study",
        "simulate sweep",
        "export cdisc",
        "kinetics popfit",
        "kinetics map",
    }
)
"""The commands whose ``--out`` names a folder (`cartrial.tabular.check_output_folder`); every other output
option (`OUTPUT_PARAMETERS`) names one file."""


def _refuse_an_unwritable_output_file(
    path: list[str], params: dict[str, Any], by_name: dict[str, Any]
) -> None:
    """`InputError` (exit 2) when a file output option (`OUTPUT_PARAMETERS`, but a folder ``--out`` of
    `FOLDER_OUTPUTS`) names a place the file cannot be written (`cartrial.tabular.check_output_file`: a
    folder, a FIFO or device, under a file, read-only): checked before the command runs, so nothing is read,
    computed or half written first (D-19.907)."""
    from cartrial.tabular import check_output_file

    command = " ".join(path)
    for name, value in params.items():
        if name not in OUTPUT_PARAMETERS or not isinstance(value, Path):
            continue
        if name == "out" and command in FOLDER_OUTPUTS:
            continue
        flags = [o for o in getattr(by_name.get(name), "opts", ()) if o.startswith("--")]
        check_output_file(value, flags[0] if flags else f"argument {name.upper()}")


FOLDER_OUTPUT_COMMANDS = {("kinetics", "popfit"): "popfit", ("kinetics", "map"): "map"}
"""The commands whose ``--out`` is a folder of files with names of their own
(`cartrial.report.popfit.written_file_names`)."""


def _refuse_folder_output_onto_an_input(
    path: list[str], params: dict[str, Any], by_name: dict[str, Any]
) -> None:
    """`InputError` when an input of a command writing a folder (`FOLDER_OUTPUT_COMMANDS`) is a file that
    command writes in its ``--out`` folder: `kinetics map D/map_profile.csv … --out D` replaced its own
    input, exit 0 (D-19.583). The rule of `_refuse_output_onto_an_input` for a folder output: the input's
    resolved path is compared with OUT/NAME for every NAME the command may write."""
    import os

    command = FOLDER_OUTPUT_COMMANDS.get((path[0], path[-1]) if path else ("", ""))
    out = params.get("out")
    if command is None or not isinstance(out, Path):
        return
    from cartrial.report.popfit import written_file_names

    folder = os.path.realpath(out)
    written = {os.path.join(folder, *name.split("/")) for name in written_file_names(command)}
    for name, value in params.items():
        if name in OUTPUT_PARAMETERS:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(item, Path) or not item.is_file():
                continue
            target = next(
                (
                    Path(w)
                    for w in sorted(written)
                    if os.path.realpath(item) == w or _same_file(item, Path(w))
                ),
                None,
            )
            if target is None:
                continue
            flags = [o for o in getattr(by_name.get(name), "opts", ()) if o.startswith("--")]
            option = flags[0] if flags else f"argument {name.upper()}"
            raise InputError(
                Problem(
                    f"is a folder where the command writes {target.relative_to(folder)}, which is also an "
                    f"input of the command ({item}); writing the result there would replace it",
                    file=str(out),
                    field="--out",
                    allowed=f"a folder that does not hold that file (here the file of {option})",
                )
            )


def _same_file(one: Path, other: Path) -> bool:
    """True when both name one existing file (another spelling, a symbolic or hard link)."""
    import os

    try:
        return one.is_file() and other.is_file() and os.path.samefile(one, other)
    except OSError:
        return False


def _study_files(url: object) -> list[tuple[Path, str]]:
    """The files a command on the study database reads besides its path options: the SQLite file of its
    URL (none for PostgreSQL or a URL that does not parse: the command names that itself) and the files
    named by `$CARTRIAL_PASSWORD_FILE`, `$CARTRIAL_NEW_PASSWORD_FILE` and `$CARTRIAL_AUDIT_KEY_FILE`."""
    import os

    from cartrial.commands.auth_commands import NEW_PASSWORD_FILE_VARIABLE, PASSWORD_FILE_VARIABLE
    from cartrial.store.audit import AUDIT_KEY_ENVIRONMENT_VARIABLE
    from cartrial.store.database import DEFAULT_URL, URL_ENVIRONMENT_VARIABLE, parse_url

    files: list[tuple[Path, str]] = []
    try:
        parsed = parse_url(url if isinstance(url, str) else None)
    except CartrialError:
        parsed = None
    if parsed is not None and parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            given = (
                "--url"
                if isinstance(url, str) and url
                else f"the study database (${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})"
            )
            files.append((Path(database).expanduser(), given))
    for variable in (PASSWORD_FILE_VARIABLE, NEW_PASSWORD_FILE_VARIABLE, AUDIT_KEY_ENVIRONMENT_VARIABLE):
        named = os.environ.get(variable)
        if named:
            files.append((Path(named), f"${variable}"))
    return files


_BUILT: dict[str, tuple[tuple[tuple[str, Any], ...], dict[str, Any]]] = {}
"""The click commands built from each command module (`LazyGroup.load_module`), with the module's
callables they were built from."""


def _module_callables(module: Any) -> tuple[tuple[str, Any], ...]:
    """The module's names that hold a callable, with the object each holds."""
    return tuple((name, value) for name, value in vars(module).items() if callable(value))


def _same_callables(one: tuple[tuple[str, Any], ...], other: tuple[tuple[str, Any], ...]) -> bool:
    """True when both hold the same names bound to the very same objects: a name rebound since the build (a
    test's `monkeypatch.setattr` of a command function, a reloaded module) builds the commands again, so a
    command never runs a function the module no longer holds."""
    return len(one) == len(other) and all(
        a[0] == b[0] and a[1] is b[1] for a, b in zip(one, other, strict=True)
    )


class LazyGroup(TyperGroup):
    """The root command group: lists every command of `COMMANDS` without importing its module.

    Until a command is resolved, the group holds a light placeholder (name, one-line help, help panel), which
    is all `--help` and shell completion of command names need. Resolving a command (running it, or asking
    its ``--help``) imports its module, calls the module's `register` on a scratch typer app, and swaps the
    real commands of that module into the group in place of their placeholders (order kept)."""

    entries: tuple[CommandEntry, ...] = COMMANDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ordered: dict[str, Any] = {}
        for entry in self.entries:
            if entry.module is None:
                command = self.commands.get(entry.name)
                if command is None:
                    continue
                command.rich_help_panel = entry.panel  # type: ignore[attr-defined]
                _check_paths_before_running(command)
                ordered[entry.name] = command
            else:
                ordered[entry.name] = TyperCommand(
                    entry.name, help=entry.help, short_help=entry.help, rich_help_panel=entry.panel
                )
        for name, command in self.commands.items():  # commands defined here but not in COMMANDS
            ordered.setdefault(name, command)
        self.commands = ordered
        self._loaded: set[str] = set()

    def load_module(self, module_name: str) -> None:
        """Import `module_name` and put the real commands it registers into the group. The click commands
        typer builds from the module are kept for the next in-process run (`_BUILT`): building them reads
        every command function's signature again (~8 ms a run)."""
        if module_name in self._loaded:
            return
        module = importlib.import_module(module_name)
        identity = _module_callables(module)
        built = _BUILT.get(module_name)
        if built is not None and _same_callables(built[0], identity):
            real = built[1]
        else:
            scratch = typer.Typer(rich_markup_mode="rich", add_completion=False)
            module.register(scratch)
            real = dict(typer.main.get_group(scratch).commands)
            _BUILT[module_name] = (identity, real)
        panels = {e.name: e.panel for e in self.entries}
        for command in real.values():
            _check_paths_before_running(command)
        for name, command in real.items():
            if name in panels:
                command.rich_help_panel = panels[name]
            self.commands[name] = command
        self._loaded.add(module_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args:
            entry = next((e for e in self.entries if e.name == args[0]), None)
            if entry is not None and entry.module is not None:
                self.load_module(entry.module)
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="cartrial",
    cls=LazyGroup,
    help="Design, run and analyse first-in-human CAR-T cell therapy trials in autoimmune disease.",
    epilog=f"{ROOT_EXAMPLE}\n\n{SHELL_COMPLETION_HINT}",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cartrial {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of any error."),
) -> None:
    """cartrial: protocol, grading, neuro outcomes, escalation, kinetics and an audited study database."""


@app.command(epilog="Example: [bold]cartrial demo --out demo-output[/]")
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder to write the results to."),
    examples: Path | None = typer.Option(
        None,
        "--examples",
        help="Folder holding ct103a-nmosd/ to run on (default: the example shipped in the package).",
    ),
) -> None:
    """Run every capability on the shipped example study and write the results to demo-output/."""

    from cartrial.commands.terminal import terminal
    from cartrial.demo import run_demo, shipped_context

    console = terminal()
    ctx = shipped_context(out, console, examples)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            Problem(f"cannot create the output folder: {exc.strerror or exc}", file=str(out), field="--out")
        ) from None
    run_demo(ctx)
    console.print(f"[bold green]demo complete[/]: results in {out}/")


_DATE_PARSE_ERRORS: dict[str, tuple[str, str]] = {
    "date_from_datetime_parsing": ("not a date", "a date YYYY-MM-DD"),
    "date_parsing": ("not a date", "a date YYYY-MM-DD"),
}
"""The parser's date error types of an option value → (message, what is allowed): the CLI's own words for a
date (the protocol reader says "a calendar date"); every other type is worded by the one table
`cartrial.allowed.PARSER_ERROR_WORDS` (D-19.1455)."""


def _parse_error_words(kind: str) -> tuple[str, str] | None:
    """(message, what is allowed) of a value the parser could not convert to the option's type (a number,
    true/false, a date), or None for another error type (a range, a choice: worded by `_bad_parameter`)."""
    if kind in _DATE_PARSE_ERRORS:
        return _DATE_PARSE_ERRORS[kind]
    words = PARSER_ERROR_WORDS.get(kind)
    if words is None or words.message is None or words.allowed is None:
        return None
    return words.message, words.allowed


_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal", "greater_than", "less_than"})
"""The parser's error types of a value outside an option's typer ``min``/``max``."""


def _runtime_param(param: Any) -> Any:
    """A click parameter's typer declaration (its ``annotation`` and ``parameter_info``), or None for a
    parameter typer did not declare (the help option)."""
    runtime_of = getattr(param, "get_runtime_param", None)
    return runtime_of() if callable(runtime_of) else None


def _declared_range(param: Any) -> str | None:
    """An option's typer ``min``/``max`` worded as every declared range (`cartrial.allowed.Allowed`)."""
    runtime = _runtime_param(param)
    info = getattr(runtime, "parameter_info", None)
    low, high = getattr(info, "min", None), getattr(info, "max", None)
    if low is None and high is None:
        return None
    return Allowed(low=low, high=high, integer=getattr(runtime, "annotation", None) is int).text()


def _declared_choices(annotation: Any) -> tuple[Any, ...] | None:
    """The values an option's annotation fixes: an `Enum`'s members or a `Literal`'s values, also inside
    ``X | None`` or ``list[X]``; None for any other annotation (D-19.1420)."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return tuple(annotation)
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    for arg in get_args(annotation):
        choices = _declared_choices(arg) if arg is not type(None) else None
        if choices is not None:
            return choices
    return None


def _option_choices(param: Any) -> tuple[Any, ...] | None:
    """The fixed choices of a parser option (`_declared_choices` of its annotation), or None."""
    return _declared_choices(getattr(_runtime_param(param), "annotation", None))


def _as_number(text: Any) -> Any:
    """A range error's input as the number it was read as (an int when it is one), else as given."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            continue
    return text


def _bad_parameter(error: typer.BadParameter) -> Problem:
    """A value the parser could not convert, as every other bad input is told: the option as typed, the
    value given and what is allowed (the option's declared range from its help text when it states one)."""
    param = error.param
    name = None
    if param is not None:
        flags = [o for o in getattr(param, "opts", ()) if o.startswith("--")]
        name = flags[0] if flags else str(getattr(param, "human_readable_name", param.name))
    value: Any = None
    message, allowed = error.message, None
    cause = error.__cause__
    errors = getattr(cause, "errors", None)
    if callable(errors):
        first = (errors() or [{}])[0]
        value = first.get("input")
        known = _parse_error_words(str(first.get("type")))
        choices = _option_choices(param)
        if choices is not None and known is None and first.get("type") not in _RANGE_ERRORS:
            # an option with fixed choices (an Enum or a Literal): worded as `cartrial.allowed.enum_member`
            # words an engine option's bad choice, never the parser's "Value error, 'x' is not one of …"
            message, allowed = "not an allowed value", Allowed(values=choices).text()
        elif known is not None:
            message, allowed = known
        elif first.get("type") in _RANGE_ERRORS:
            message, allowed = "out of range", _declared_range(param)
            value = _as_number(value)  # the number it was read as (got 100001, as the engines' checks say)
        elif "expected" in (first.get("ctx") or {}):
            message, allowed = "not an allowed value", str(first["ctx"]["expected"]).replace(" or ", " | ")
    declared = re.search(r"Allowed: (.+?)\.(?:\s|$)", str(getattr(param, "help", None) or ""))
    if declared is not None and allowed is not None:
        allowed = declared.group(1)
    elif allowed is not None:
        allowed = _declared_range(param) or allowed
    return Problem(message, field=name, value=value, allowed=allowed)


class _Typed:
    """A number as the user typed it: shown bare, as a number is (``got 0``, not ``got 0.0``), and
    shortened as any value shown (`cartrial.errors.shortened`)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return shortened(self.text)

    __str__ = __repr__


def _flag_names(flag: str, command: Any) -> list[str]:
    """`flag` and its aliases among `command`'s options (``--count`` and ``-c``); only option names (a
    parser command: typer's or click's, read by its attributes)."""
    names = [flag]
    for param in getattr(command, "params", ()):
        opts = list(getattr(param, "opts", ()))
        if getattr(param, "param_type_name", "") == "option" and flag in opts:
            names = [o for o in opts if o.startswith("-")]
    return names


def _last_typed_text(args: list[str], names: list[str]) -> str | None:
    """The text the parser kept for the option called any of `names` in `args`: the last one given, as the
    parser keeps the last (``--lloq 0``, ``--lloq=0``, ``-l 0``, ``-l0``); None when not given."""
    last = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            break
        if arg in names and i + 1 < len(args):
            last = args[i + 1]
            i += 2
            continue
        for name in names:
            if name.startswith("--") and arg.startswith(name + "="):
                last = arg[len(name) + 1 :]
            elif not name.startswith("--") and len(name) == 2 and arg.startswith(name) and len(arg) > 2:
                last = arg[2:]
        i += 1
    return last


def _command_of(args: list[str]) -> Any:
    """The click command `args` invoke (the subcommand named by the leading words), for its aliases."""
    try:
        command: Any = typer.main.get_command(app)
    except Exception:  # pragma: no cover - the app always builds; the aliases are then the flag alone
        return None
    for arg in args:
        if isinstance(command, LazyGroup):
            entry = next((e for e in command.entries if e.name == arg), None)
            if entry is not None and entry.module is not None:
                command.load_module(entry.module)  # already imported by the run that raised
        if arg in getattr(command, "commands", {}):
            command = command.commands[arg]
        elif not arg.startswith("-"):
            break
    return command


def as_typed(error: CartrialError, args: list[str], command: Any = None) -> CartrialError:
    """`error` with each option's number quoted as the user typed it (decisions D-19.392, as D-19.372 for
    ``--fix``): the parser hands the commands ``0.0`` for ``--lloq 0``, and the checks quoted that. A
    problem naming an option (``--flag``, or a short alias declared by `command`) that the command line
    gave (not located in a file), whose value is the number the option's last text reads as, takes that
    text (shortened as any value shown); anything else is unchanged.

    >>> str(as_typed(InputError(Problem("out of range", field="--lloq", value=0.0)), ["--lloq", "0"]))
    '--lloq: out of range (got 0)'
    """
    if not isinstance(error, InputError):
        return error
    problems, changed = [], False
    for problem in error.problems:
        value, field = problem.value, str(problem.field or "")
        located = problem.file is not None or problem.row is not None or problem.line is not None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if field.startswith("-") and not located and number:
            text = _last_typed_text(args, _flag_names(field, command))
            try:
                same = text is not None and float(text) == float(value)
            except ValueError:
                same = False
            if same and text != repr(value):
                problem, changed = replace(problem, value=_Typed(str(text))), True
        problems.append(problem)
    return error.with_problems(problems) if changed else error


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    _show_library_warnings()
    try:
        code = app(args=args, prog_name="cartrial", standalone_mode=False)
        return code if isinstance(code, int) and not isinstance(code, bool) else 0
    except SystemExit as exc:  # a command that ends the run itself
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except typer.BadParameter as exc:
        if debug:
            raise
        # a required option or argument not given: the parser's own words (it builds that message itself;
        # `.message` is empty, so `_bad_parameter` would print a bare `error: --cutoff: `)
        if type(exc).__name__ == "MissingParameter":
            _show_usage_error(exc)
            return 2
        typer.echo(f"error: {InputError(_bad_parameter(exc))}", err=True)
        if exc.ctx is not None:
            typer.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
        return 2
    except typer.Abort:
        typer.echo("Aborted!", err=True)
        return 1
    except TyperException as exc:  # other usage errors (unknown option, missing argument): the parser's form
        _show_usage_error(exc)
        return int(getattr(exc, "exit_code", 2))
    except CartrialError as exc:
        if debug:
            raise
        typer.echo(f"error: {as_typed(exc, args, _command_of(args))}", err=True)
        return exc.exit_code
    except OSError as exc:
        # a file the user named cannot be read or written (folder, permissions, disk full): a user error
        if debug:
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    return 0


class _WarningLine(logging.Handler):
    """Writes a record of the ``cartrial`` loggers to the current stderr as ``warning: <message>``, as the
    commands print their own warnings (``typer.echo(..., err=True)``; the stream is looked up at each record,
    so a caller that replaces `sys.stderr` between runs gets them) — unless another handler the record
    reaches already writes it to the terminal (`_on_the_terminal_already`, D-19.601)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _on_the_terminal_already(record) and bool(super().filter(record))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            typer.echo(self.format(record), err=True)
        except Exception:
            self.handleError(record)


def _on_the_terminal_already(record: logging.LogRecord) -> bool:
    """Whether a handler other than `_WarningLine` that `record` reaches — on its logger or an ancestor it
    propagates to, the root's included — is a `logging.StreamHandler` whose stream IS the current
    `sys.stderr`, at a level that lets the record through: an application that configured logging
    (``logging.basicConfig()``) and runs `main` in-process would otherwise see each warning twice, its own
    line and the CLI's (D-19.601). Only the level is checked, never the handler's filters (a stateful one, a
    dedupe or a rate limit, would count the call and drop the record); a handler writing elsewhere — a file,
    pytest's capture, stdout, the process's stderr while `sys.stderr` is redirected — does not count, so a
    miss gives a second line, never a lost one."""
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        for handler in logger.handlers:
            if (
                not isinstance(handler, _WarningLine)
                and isinstance(handler, logging.StreamHandler)
                and handler.stream is sys.stderr
                and record.levelno >= handler.level
            ):
                return True
        logger = logger.parent if logger.propagate else None
    return False


def _show_library_warnings() -> None:
    """Attach `_WarningLine` (level WARNING) to the ``cartrial`` logger, once per process: every in-process
    run of `main` calls this, and a handler added per run would print each warning once per earlier run
    (the trap of D-19.541). The library itself configures no handler (D-19.545); without this, a CLI user
    would get Python's last-resort handler's bare text. The record still propagates (an application's log
    file keeps it); the line is left out when the application's own handler shows it (D-19.601)."""
    logger = logging.getLogger("cartrial")
    if any(isinstance(handler, _WarningLine) for handler in logger.handlers):
        return
    handler = _WarningLine(logging.WARNING)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    logger.addHandler(handler)


def _show_usage_error(error: TyperException) -> None:
    """The parser's own rendering of a usage error (the rich box typer draws when it ends the run itself)."""
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(error)  # type: ignore[arg-type]
    except (ImportError, AttributeError):  # pragma: no cover - typer without rich
        show = getattr(error, "show", None)
        if callable(show):
            show()


if __name__ == "__main__":
    sys.exit(main())
