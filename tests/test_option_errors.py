"""Option errors name what the user typed, the value and what is allowed (issue 19; decisions D-19.19).

Each engine option dataclass declares its allowed values once (`cartrial.allowed`, field metadata) and raises
`OptionError` naming its field; each command module maps fields to its flags in one table
(`cartrial.commands.option_names`), a protocol reader to its YAML keys. Checked here, table-driven:

- every declared field of every option class refuses values outside its declaration, naming the field,
  the value and the declaration's text (the default passes);
- every option flag a user can give a bad value to ends with exit 2 and
  ``error: --flag: … (got VALUE); allowed: …`` — never the engine's field name;
- the help of every mapped flag states what is allowed, as declared;
- a protocol's relapse parameters and NCA options are named by their YAML key;
- one seed range for every ``--seed`` and every engine (0 to 2^63 − 1).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from cartrial.allowed import MAX_SEED, SEED, Allowed, check_seed, declared
from cartrial.errors import ConfigurationError, InputError, OptionError
from cartrial.grading import CrsOptions, EpisodeOptions, IcahtOptions
from cartrial.kinetics import NcaOptions
from cartrial.neuro import DisabilityOptions, EdssOptions, RelapseOptions
from cartrial.neuro.edss_scale import KurtzkeGapOptions

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = REPO_ROOT / "examples" / "ct103a-nmosd"
STUDY = EXAMPLE / "study"

OPTION_CLASSES: tuple[type, ...] = (
    CrsOptions,
    EpisodeOptions,
    IcahtOptions,
    DisabilityOptions,
    EdssOptions,
    KurtzkeGapOptions,
    RelapseOptions,
    NcaOptions,
)


def _bad_values(rule: Allowed) -> list[Any]:
    """Values outside `rule`: below/above its range, a fraction for a whole number, NaN, text, None."""
    bad: list[Any] = ["not-a-value", float("nan")]
    numeric = [v for v in rule.values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not rule.has_range and numeric:
        bad.append(max(numeric) + 17)
    if rule.low is not None:
        bad.append(rule.low - 1)
    if rule.high is not None:
        bad.append(rule.high + 1)
    if rule.integer and rule.low is not None:
        bad.append(rule.low + 0.5)
    if not rule.optional:
        bad.append(None)
    return bad


DECLARED_CASES = [
    pytest.param(cls, name, value, id=f"{cls.__name__}.{name}={value!r}")
    for cls in OPTION_CLASSES
    for name, rule in declared(cls).items()
    for value in _bad_values(rule)
]


def test_every_option_class_declares_its_numeric_fields() -> None:
    """Every int/float field of an option class has a declaration (a documented range or set)."""
    for cls in OPTION_CLASSES:
        hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        numeric = {n for n, t in hints.items() if t.split(" | ")[0] in ("int", "float")}
        undeclared = numeric - set(declared(cls))
        if cls is KurtzkeGapOptions:  # the distance cut points are not options of any command or protocol
            undeclared -= {f.name for f in dataclasses.fields(cls) if f.name.endswith("_m")}
        assert not undeclared, f"{cls.__name__}: {sorted(undeclared)} have no allowed range"
        cls()  # the defaults are allowed


@pytest.mark.parametrize(("cls", "name", "value"), DECLARED_CASES)
def test_a_value_outside_the_declaration_is_refused_naming_the_field(
    cls: type, name: str, value: Any
) -> None:
    rule = declared(cls)[name]
    with pytest.raises(OptionError) as caught:
        cls(**{name: value})
    error = caught.value
    assert isinstance(error, InputError) and isinstance(error, ConfigurationError)
    [problem] = error.problems
    assert problem.field == name and problem.allowed == rule.text()
    assert problem.value is value or (isinstance(value, float) and math.isnan(value))
    assert str(error).startswith(f"{name}: ") and f"; allowed: {rule.text()}" in str(error)


# ---------------------------------------------------------------- the command line


def _crs(*extra: str) -> list[str]:
    return ["grade", "crs", str(STUDY / "crs_assessments.csv"), *extra]


def _episodes(*extra: str) -> list[str]:
    return [
        "grade",
        "episodes",
        str(STUDY / "crs_assessments.csv"),
        "--infusion-dates",
        str(STUDY / "infusions.csv"),
        *extra,
    ]


def _icaht(*extra: str) -> list[str]:
    return [
        "grade",
        "icaht",
        str(STUDY / "labs.csv"),
        "--infusion-dates",
        str(STUDY / "infusions.csv"),
        *extra,
    ]


def _edss(*extra: str) -> list[str]:
    return ["score", "edss", str(STUDY / "edss.csv"), *extra]


def _relapses(*extra: str) -> list[str]:
    return ["relapses", str(STUDY / "relapses.csv"), "--infusion-dates", str(STUDY / "infusions.csv"), *extra]


def _rule(cls: type, name: str) -> str:
    return declared(cls)[name].text()


#: (arguments, flag, engine field that must not be shown, value as shown, allowed text)
CLI_CASES: list[tuple[list[str], str, str, str, str]] = [
    (_crs("--post-masking-grade", "5"), "--post-masking-grade", "post_masking_grade", "5", "0 | 1"),
    (
        _crs("--vasopressin-alone-grade", "1"),
        "--vasopressin-alone-grade",
        "vasopressin_alone_grade",
        "1",
        "2 | 3",
    ),
    (_crs("--sbp-threshold", "500"), "--sbp-threshold", "sbp_threshold_mmhg", "500.0", ""),
    (_episodes("--masked-stable-hours", "0"), "--masked-stable-hours", "masked_stable_hours", "0.0", ""),
    (_episodes("--post-masking-grade", "2"), "--post-masking-grade", "post_masking_grade", "2", "0 | 1"),
    (_icaht("--early-g4-min-days", "3"), "--early-g4-min-days", "early_g4_min_days", "3", ""),
    (_icaht("--min-recovery-days", "0"), "--min-recovery-days", "min_recovery_days", "0", ""),
    (_icaht("--late-min-values", "3"), "--late-min-values", "late_min_values", "3", ""),
    (_icaht("--max-interpolated-days", "101"), "--max-interpolated-days", "max_interpolated_days", "101", ""),
    (
        ["grade", "labs", str(STUDY / "labs.csv"), "--ctcae-version", "4.03"],
        "--ctcae-version",
        "ctcae_version",
        "'4.03'",
        "5.0 | 6.0",
    ),
    (_edss("--fs4-with-grade2-step", "3"), "--fs4-with-grade2-step", "fs4_with_grade2_step", "3.0", ""),
    (
        _edss("--fs4-with-3plus-grade3-step", "3"),
        "--fs4-with-3plus-grade3-step",
        "fs4_with_3plus_grade3_step",
        "3.0",
        "",
    ),
    (_edss("--ambulation1-floor", "3"), "--ambulation1-floor", "ambulation1_floor", "3.0", ""),
    (_edss("--ambulation1-floor", "abc"), "--ambulation1-floor", "ambulation1_floor", "'abc'", ""),
    (_edss("--no-aid-under-100m-step", "5"), "--no-aid-under-100m-step", "no_aid_under_100m_step", "5.0", ""),
    (
        _edss("--unilateral-under-100m-step", "5"),
        "--unilateral-under-100m-step",
        "unilateral_under_100m_step",
        "5.0",
        "",
    ),
    (
        _edss("--bilateral-over-20m-step", "5"),
        "--bilateral-over-20m-step",
        "bilateral_over_20m_step",
        "5.0",
        "",
    ),
    (_edss("--preset", "nope"), "--preset", "preset", "'nope'", ""),
    (_relapses("--merge-window-days", "400"), "--merge-window-days", "merge_window_days", "400", ""),
    (_relapses("--pre-window-months", "0"), "--pre-window-months", "pre_window_months", "0", ""),
    (_relapses("--merge-anchor", "last"), "--merge-anchor", "merge_anchor", "'last'", "first | chain"),
    (
        _relapses("--follow-up-method", "mean"),
        "--follow-up-method",
        "follow_up_method",
        "'mean'",
        "reverse_km | observed_median",
    ),
    (
        _relapses("--rate-ratio-method", "wald"),
        "--rate-ratio-method",
        "rate_ratio_method",
        "'wald'",
        "stratified_conditional | pooled_conditional",
    ),
]

#: the allowed text of the cases above whose expectation is the engine's declaration
_DECLARED_FIELDS = {
    "sbp_threshold_mmhg": (CrsOptions, "sbp_threshold_mmhg"),
    "masked_stable_hours": (EpisodeOptions, "masked_stable_hours"),
    "early_g4_min_days": (IcahtOptions, "early_g4_min_days"),
    "min_recovery_days": (IcahtOptions, "min_recovery_days"),
    "late_min_values": (IcahtOptions, "late_min_values"),
    "max_interpolated_days": (IcahtOptions, "max_interpolated_days"),
    "fs4_with_grade2_step": (EdssOptions, "fs4_with_grade2_step"),
    "fs4_with_3plus_grade3_step": (EdssOptions, "fs4_with_3plus_grade3_step"),
    "ambulation1_floor": (EdssOptions, "ambulation1_floor"),
    "no_aid_under_100m_step": (KurtzkeGapOptions, "no_aid_under_100m_step"),
    "unilateral_under_100m_step": (KurtzkeGapOptions, "unilateral_under_100m_step"),
    "bilateral_over_20m_step": (KurtzkeGapOptions, "bilateral_over_20m_step"),
    "merge_window_days": (RelapseOptions, "merge_window_days"),
    "pre_window_months": (RelapseOptions, "pre_window_months"),
}


@pytest.mark.parametrize(
    ("args", "flag", "field", "shown", "allowed"), CLI_CASES, ids=[c[1] + "=" + c[3] for c in CLI_CASES]
)
def test_an_option_error_names_the_flag_the_value_and_what_is_allowed(
    cli: Any, args: list[str], flag: str, field: str, shown: str, allowed: str
) -> None:
    if not allowed:
        if field == "preset":
            from cartrial.neuro.edss_scale import PRESETS

            allowed = " | ".join(sorted(PRESETS))
        else:
            allowed = _rule(*_DECLARED_FIELDS[field])
    code, _, err = cli(*args)
    assert code == 2, err
    assert err.startswith(f"error: {flag}: "), err
    assert f"(got {shown}); allowed: {allowed}\n" in err, err
    if "_" in field:  # an engine identifier (a plain word such as "preset" may be part of the message)
        assert field not in err.replace(flag, ""), f"the engine field {field} is shown: {err}"


def _commands() -> dict[str, Any]:
    """The click commands of `grade`, `score` and `relapses`, by name."""
    from cartrial.commands import grading_commands, neuro_commands

    scratch = typer.Typer()
    grading_commands.register(scratch)
    neuro_commands.register(scratch)
    root = typer.main.get_group(scratch)
    found: dict[str, Any] = {"relapses": root.commands["relapses"]}
    for group in ("grade", "score"):
        for name, command in root.commands[group].commands.items():  # type: ignore[attr-defined]
            found[f"{group} {name}"] = command
    return found


def test_the_help_of_every_mapped_option_states_what_is_allowed() -> None:
    """Each flag of the field → flag tables whose field has a declaration shows ``allowed: <declaration>``
    in its help, so the documented range is the checked one."""
    from cartrial.commands.grading_commands import OPTION_NAMES as GRADING
    from cartrial.commands.neuro_commands import OPTION_NAMES as NEURO

    rules: dict[str, Allowed] = {}
    for cls in OPTION_CLASSES:
        rules.update(declared(cls))
    checked = 0
    for command in _commands().values():
        for param in command.params:
            for field, flag in {**GRADING, **NEURO}.items():
                if flag in param.opts and field in rules:
                    assert f"allowed: {rules[field].text()}" in (param.help or ""), (flag, param.help)
                    checked += 1
    assert checked >= 15


# ---------------------------------------------------------------- protocol YAML keys


def test_relapse_parameters_of_a_protocol_are_named_by_their_yaml_key(cli: Any, tmp_path: Path) -> None:
    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    assert "pre_window_months: 24," in text
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(text.replace("pre_window_months: 24,", "pre_window_months: 500,"), encoding="utf-8")
    code, _, err = cli(*_relapses("--protocol", str(protocol)))
    allowed = _rule(RelapseOptions, "pre_window_months")
    assert code == 2
    # refused when the protocol is loaded, at its line (D-19.20), before any form is read
    line = 1 + text[: text.index("pre_window_months: 24,")].count("\n")
    assert err.startswith(f"error: {protocol}: 1 problem in the protocol"), err
    assert f"{protocol}, line {line}, endpoints." in err, err
    assert f".parameters.pre_window_months: out of range (got 500); allowed: {allowed}" in err, err


# ---------------------------------------------------------------- one seed range


def test_one_seed_range_for_every_engine() -> None:
    from cartrial.escalation import Boin, simulate
    from cartrial.kinetics import check_simulation
    from cartrial.kinetics.popfit import SaemSettings

    assert SEED.low == 0 and SEED.high == MAX_SEED == 2**63 - 1
    check_seed(MAX_SEED)
    SaemSettings(seed=MAX_SEED)  # was refused on the command line above 2^32 - 1
    check_simulation(1, (0, 1, 1), seed=MAX_SEED)
    calls = (
        check_seed,
        lambda seed: SaemSettings(seed=seed),
        lambda seed: check_simulation(1, (0, 1, 1), seed=seed),
        lambda seed: simulate(Boin(2, 0.3), [0.1, 0.3], cohorts=1, trials=1, seed=seed),
    )
    for bad in (-1, MAX_SEED + 1, 1.5, True):
        for call in calls:
            with pytest.raises(InputError) as caught:
                call(bad)
            assert f"allowed: {SEED.text()}" in str(caught.value)


OUT = "{out}"
"""Replaced by a path in the test's temporary folder: nothing may be written there."""

SEED_COMMANDS: dict[str, list[str]] = {
    "escalate simulate": [
        *("escalate", "simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.3"),
        *("--trials-out", OUT),
    ],
    "simulate trial": ["simulate", "trial", "--scenario", str(EXAMPLE / "scenario.yaml"), "--out", OUT],
    "simulate study": ["simulate", "study", "--scenario", str(EXAMPLE / "scenario.yaml"), "--out", OUT],
    "simulate sweep": [
        *("simulate", "sweep", "--scenario", str(EXAMPLE / "scenario.yaml")),
        *("--grid", str(EXAMPLE / "sweep.yaml"), "--out", OUT),
    ],
    "kinetics simulate": ["kinetics", "simulate", "--subjects", "2", "--days", "0:3", "--out", OUT],
    "kinetics popfit": ["kinetics", "popfit", str(STUDY / "pk_samples.csv"), "--out", OUT],
}


def _seed_args(command: str, tmp_path: Path) -> list[str]:
    return [str(tmp_path / "out") if a == OUT else a for a in SEED_COMMANDS[command]]


def test_every_seed_option_is_covered() -> None:
    """Every command with a ``--seed`` is in `SEED_COMMANDS` (a new one cannot escape the check)."""
    from cartrial.commands import AREA_MODULES

    scratch = typer.Typer()
    for module in AREA_MODULES:
        __import__(module, fromlist=["register"]).register(scratch)

    def walk(command: Any, path: str) -> list[str]:
        if hasattr(command, "commands"):
            return [p for name, sub in command.commands.items() for p in walk(sub, f"{path} {name}".strip())]
        return [path] if any("--seed" in p.opts for p in command.params) else []

    assert set(walk(typer.main.get_group(scratch), "")) == set(SEED_COMMANDS)


@pytest.mark.parametrize("seed", [-1, MAX_SEED + 1])
@pytest.mark.parametrize("command", sorted(SEED_COMMANDS))
def test_every_seed_option_refuses_the_same_values(cli: Any, tmp_path: Path, command: str, seed: int) -> None:
    code, _, err = cli(*_seed_args(command, tmp_path), "--seed", str(seed))
    assert code == 2, err
    assert err == f"error: --seed: out of range (got {seed}); allowed: {SEED.text()}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["escalate simulate", "kinetics simulate"])
def test_the_largest_seed_is_accepted(cli: Any, tmp_path: Path, command: str) -> None:
    extra = ["--trials", "5", "--cohorts", "2"] if command == "escalate simulate" else []
    code, _, err = cli(*_seed_args(command, tmp_path), *extra, "--seed", str(MAX_SEED), "--json")
    assert code == 0, err
    assert (tmp_path / "out").is_file()


def test_every_seed_help_states_the_range() -> None:
    from cartrial.commands import AREA_MODULES

    scratch = typer.Typer()
    for module in AREA_MODULES:
        __import__(module, fromlist=["register"]).register(scratch)
    helps: list[str] = []

    def walk(command: Any) -> None:
        for sub in getattr(command, "commands", {}).values():
            walk(sub)
        helps.extend(p.help or "" for p in getattr(command, "params", []) if "--seed" in p.opts)

    walk(typer.main.get_group(scratch))
    assert len(helps) == len(SEED_COMMANDS)
    assert all(SEED.text() in text for text in helps), helps
