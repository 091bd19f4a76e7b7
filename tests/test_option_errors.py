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
- one seed range for every ``--seed`` and every engine (0 to 2^63 − 1);
- an engine names its own fields (``n_subjects``, ``numeric_notation``, ``k1``), the command its flags;
- the escalation option registry declares each option's range once (`DesignOption.rule`, open or closed
  bounds as before): the commands, the design classes and the protocol's escalation keys refuse the same
  values with the same message.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main

from cartrial.allowed import MAX_SEED, SEED, Allowed, check_seed, declared
from cartrial.errors import ConfigurationError, InputError, OptionError
from cartrial.grading import CrsOptions, EpisodeOptions, IcahtOptions
from cartrial.kinetics import NcaOptions
from cartrial.kinetics.popfit import SaemSettings
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
#: Classes that declare some of their fields only (the rest are not options of any command).
PARTLY_DECLARED_CLASSES: tuple[type, ...] = (SaemSettings,)


def _bad_values(rule: Allowed) -> list[Any]:
    """Values outside `rule`: below/above its range, a fraction for a whole number, NaN, text, None."""
    bad: list[Any] = ["not-a-value", float("nan")]
    numeric = [v for v in rule.values if isinstance(v, int | float) and not isinstance(v, bool)]
    if not rule.has_range and numeric:
        bad.append(max(numeric) + 17)
    if rule.low is not None:
        bad.append(rule.low - 1)
        if rule.low_exclusive:
            bad.append(rule.low)
    if rule.high is not None:
        bad.append(rule.high + 1)
        if rule.high_exclusive:
            bad.append(rule.high)
    if rule.integer and rule.low is not None:
        bad.append(rule.low + 0.5)
    if not rule.optional:
        bad.append(None)
    return bad


DECLARED_CASES = [
    pytest.param(cls, name, value, id=f"{cls.__name__}.{name}={value!r}")
    for cls in (*OPTION_CLASSES, *PARTLY_DECLARED_CLASSES)
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


#: (arguments, flag, engine field not to be shown, value as shown (a number as typed, D-19.392), allowed)
CLI_CASES: list[tuple[list[str], str, str, str, str]] = [
    (_crs("--post-masking-grade", "5"), "--post-masking-grade", "post_masking_grade", "5", "0 | 1"),
    (
        _crs("--vasopressin-alone-grade", "1"),
        "--vasopressin-alone-grade",
        "vasopressin_alone_grade",
        "1",
        "2 | 3",
    ),
    (_crs("--sbp-threshold", "500"), "--sbp-threshold", "sbp_threshold_mmhg", "500", ""),
    (_episodes("--masked-stable-hours", "0"), "--masked-stable-hours", "masked_stable_hours", "0", ""),
    (_episodes("--post-masking-grade", "2"), "--post-masking-grade", "post_masking_grade", "2", "0 | 1"),
    (_episodes("--crs-masking", "always"), "--crs-masking", "masking", "'always'", "after_fever | recorded"),
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
    (_edss("--fs4-with-grade2-step", "3"), "--fs4-with-grade2-step", "fs4_with_grade2_step", "3", ""),
    (
        _edss("--fs4-with-3plus-grade3-step", "3"),
        "--fs4-with-3plus-grade3-step",
        "fs4_with_3plus_grade3_step",
        "3",
        "",
    ),
    (_edss("--ambulation1-floor", "3"), "--ambulation1-floor", "ambulation1_floor", "3", ""),
    (_edss("--ambulation1-floor", "abc"), "--ambulation1-floor", "ambulation1_floor", "'abc'", ""),
    (_edss("--no-aid-under-100m-step", "5"), "--no-aid-under-100m-step", "no_aid_under_100m_step", "5", ""),
    (
        _edss("--unilateral-under-100m-step", "5"),
        "--unilateral-under-100m-step",
        "unilateral_under_100m_step",
        "5",
        "",
    ),
    (
        _edss("--bilateral-over-20m-step", "5"),
        "--bilateral-over-20m-step",
        "bilateral_over_20m_step",
        "5",
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
        _relapses("--reverse-km-events", "deaths"),
        "--reverse-km-events",
        "reverse_km_events",
        "'deaths'",
        "follow_up_ends | relapse_free_censorings",
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


# ---------------------------------------------------------------- the escalation option registry

#: The bounds of every numeric design option as they were before the registry moved onto `Allowed`
#: (``(`` / ``)`` exclusive, ``[`` / ``]`` inclusive): the migration must not open or close any of them.
ESCALATION_BOUNDS: dict[str, str] = {
    "target": "[0.05, 0.6]",
    "start_dose": "[1, 50]",
    "cohort_size": "[1, 100]",
    "skeleton": "(0, 1)",
    "prior_var": "[1e-06, 100]",
    "conf_level": "(0, 1)",
    "safety_stop": "(0, 1)",
    "safety_stop_min_n": "[1, 10000]",
    "intercept": "[-20, 20]",
    "window": "(0, 3650]",
    "cutoff_eliminate": "(0, 1)",
    "exclusion_min_n": "[0, 10000]",
    "phi1": "(0, 1)",
    "phi2": "(0, 1)",
    "offset": "(0, 0.5)",
    "eps1": "(0, 1)",
    "eps2": "(0, 1)",
    "max_n": "[1, 10000]",
    "stop_n_at_dose": "[1, 10000]",
}


def _design_for(option: Any) -> str:
    return next(d for d in ("boin", "mtpi2", "tite-crm", "crm", "3+3") if d in option.designs)


def test_every_numeric_design_option_keeps_its_bounds() -> None:
    """Each bound is refused exactly when it was exclusive; the text says which (no "0 to 1" for (0, 1))."""
    from cartrial.escalation import DESIGN_OPTIONS

    numeric = {o.name: o for o in DESIGN_OPTIONS if o.kind in ("float", "int", "floats")}
    assert set(numeric) == set(ESCALATION_BOUNDS)
    for name, bounds in ESCALATION_BOUNDS.items():
        rule = numeric[name].rule
        low, high = (float(v) for v in bounds[1:-1].split(", "))
        assert (rule.low, rule.high) == (low, high), name
        if rule.integer:
            low, high = int(low), int(high)
        assert (rule.problem(name, low) is None) == (bounds[0] == "["), name
        assert (rule.problem(name, high) is None) == (bounds[-1] == "]"), name
        if bounds[0] == "(":
            assert f"greater than {low:g}" in rule.text(), rule.text()
        if bounds[-1] == ")":
            assert f"less than {high:g}" in rule.text(), rule.text()


ESCALATION_CASES = [
    pytest.param(option.name, value, id=f"{option.name}={value!r}")
    for option in __import__("cartrial.protocol.design_options", fromlist=["DESIGN_OPTIONS"]).DESIGN_OPTIONS
    if option.kind in ("float", "int")
    for value in _bad_values(option.rule)
    if value is not None
]


@pytest.mark.parametrize(("name", "value"), ESCALATION_CASES)
def test_a_design_option_outside_its_declaration_is_refused_naming_it(name: str, value: Any) -> None:
    from cartrial.escalation import OPTIONS, assemble_design

    option = OPTIONS[name]
    extra = {"skeleton": [0.1, 0.2, 0.3], "window": 28} if "crm" in _design_for(option) else {}
    with pytest.raises(OptionError) as caught:
        assemble_design(_design_for(option), 3, {"target": 0.3, **extra, name: value})
    [problem] = caught.value.problems
    assert problem.field == name and problem.allowed == option.rule.text(), str(caught.value)


#: (arguments, flag, value as shown: as typed, D-19.392; option whose declaration is the allowed text)
ESCALATE_CLI_CASES: list[tuple[list[str], str, str, str]] = [
    (["next", "--design", "boin", "--target", "1.5", "--doses", "3"], "--target", "1.5", "target"),
    (["next", "--design", "boin", "--target", "0", "--doses", "3"], "--target", "0", "target"),
    (["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--phi1", "1"], "--phi1", "1", "phi1"),
    (
        ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--cohort-size", "101"],
        "--cohort-size",
        "101",
        "cohort_size",
    ),
    (
        ["next", "--design", "crm", "--target", "0.3", "--doses", "3", "--skeleton", "0.1,0.2,0.3",
         "--prior-var", "0"],
        "--prior-var",
        "0",
        "prior_var",
    ),
    (
        ["next", "--design", "tite-crm", "--target", "0.3", "--doses", "3", "--skeleton", "0.1,0.2,0.3",
         "--window", "0"],
        "--window",
        "0",
        "window",
    ),
    (
        ["next", "--design", "boin", "--target", "0.3", "--doses", "3", "--max-n", "0"],
        "--max-n",
        "0",
        "max_n",
    ),
    (["simulate", "--design", "3+3", "--target", "1.5", "--truth", "0.1,0.2"], "--target", "1.5", "target"),
    (
        ["simulate", "--design", "boin", "--target", "0.3", "--truth", "0.1,0.2", "--mtd-target", "1"],
        "--mtd-target",
        "1",
        "target",
    ),
    (
        ["simulate", "--design", "tite-crm", "--target", "0.25", "--skeleton", "0.1,0.2,0.3", "--truth",
         "0.1,0.2,0.3", "--window", "28", "--accrual-days", "0", "--trials", "10"],
        "--accrual-days",
        "0",
        "window",
    ),
    (["next", "--design", "boin", "--target", "0.3", "--doses", "51"], "--doses", "51", ""),
    (
        ["paths", "--design", "boin", "--target", "0.3", "--doses", "3", "--cohorts", "7"],
        "--cohorts",
        "7",
        "",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "flag", "shown", "option"),
    ESCALATE_CLI_CASES,
    ids=[f"{c[0][0]} {c[1]}={c[2]}" for c in ESCALATE_CLI_CASES],
)
def test_an_escalation_option_error_names_the_flag_the_value_and_what_is_allowed(
    cli: Any, args: list[str], flag: str, shown: str, option: str
) -> None:
    from cartrial.escalation.tables import PATH_COHORTS
    from cartrial.protocol.design_options import DOSES, OPTIONS

    allowed = {"": {"--doses": DOSES, "--cohorts": PATH_COHORTS}.get(flag)}.get(option) or OPTIONS[
        option
    ].rule
    code, _, err = cli("escalate", *args)
    assert code == 2, err
    assert err.endswith(f"error: {flag}: out of range (got {shown}); allowed: {allowed.text()}\n"), err


def test_the_help_of_every_numeric_design_flag_states_its_declaration() -> None:
    from cartrial.commands.escalation_commands import escalate_app
    from cartrial.escalation import DESIGN_OPTIONS
    from cartrial.escalation.tables import PATH_COHORTS

    group = typer.main.get_group(escalate_app)
    helps = {opt: p.help or "" for p in group.commands["next"].params for opt in p.opts}
    for option in DESIGN_OPTIONS:
        if option.kind in ("float", "int", "floats"):
            assert (
                f"Allowed: {'each value ' if option.kind == 'floats' else ''}{option.rule.text()}."
                in (helps[option.flag])
            ), (option.flag, helps[option.flag])
    paths = {opt: p.help or "" for p in group.commands["paths"].params for opt in p.opts}
    assert f"({PATH_COHORTS.text()};" in paths["--cohorts"]


def _api_calls() -> dict[str, tuple[Callable[[], Any], str]]:
    """Python API calls with one option outside the registry's declaration, and the field named."""
    from cartrial.escalation import Boin, Crm, Mtpi2, StopAtN, TiteCrm, dose_pathways

    return {
        "Boin.offset": (lambda: Boin(5, 0.3, offset=1.5), "offset"),
        "Boin.cohort_size": (lambda: Boin(5, 0.3, cohort_size=101), "cohort_size"),
        "Boin.n_doses": (lambda: Boin(51, 0.3), "doses"),
        "Crm.conf_level": (lambda: Crm([0.1, 0.2], 0.3, conf_level=1.0), "conf_level"),
        "Crm.intercept": (lambda: Crm([0.1, 0.2], 0.3, intercept=50), "intercept"),
        "TiteCrm.window_days": (lambda: TiteCrm([0.1, 0.2], 0.3, window_days=5000), "window_days"),
        "Mtpi2.exclusion_min_n": (lambda: Mtpi2(5, 0.3, exclusion_min_n=-1), "exclusion_min_n"),
        "StopAtN.n": (lambda: StopAtN(20_000), "n"),
        "dose_pathways.cohorts": (lambda: dose_pathways(Boin(3, 0.3), "", 7), "cohorts"),
    }


@pytest.mark.parametrize("case", sorted(_api_calls()))
def test_the_python_api_refuses_what_the_registry_refuses(case: str) -> None:
    """The design classes check their options against the same declarations as the command line (each of
    these was accepted, or refused with other bounds, by the Python API)."""
    build, field = _api_calls()[case]
    with pytest.raises(OptionError) as caught:
        build()
    assert caught.value.problems[0].field == field
    assert str(caught.value).startswith(f"{field}: out of range (got ")


#: Stop rules and other behaviours of the Python API with one argument outside what it allows: (call,
#: argument named, message, allowed text). Each was accepted (a confidence of 1.5 never stopped,
#: ``when_escalating="no"`` is truthy, a level beyond the design failed with an IndexError when applied), or
#: named the registry's option (``max_n``, ``stop_n_at_dose``, ``skip_rule``) instead of the argument typed.
BEHAVIOUR_CASES: list[tuple[str, Callable[[], Any], str, str, str]] = [
    ("StopAtN.n", lambda: _escalation().StopAtN(0), "n", "out of range", "1 to 10000"),
    ("StopWhenNAtDose.n", lambda: _escalation().StopWhenNAtDose(0), "n", "out of range", "1 to 10000"),
    ("StopWhenNAtDose.dose", lambda: _escalation().StopWhenNAtDose(3, dose="top"), "dose",
     "not an allowed value", "recommended | any or 1 to 50"),
    ("StopWhenNAtDose.requires_stay", lambda: _escalation().StopWhenNAtDose(3, requires_stay="yes"),
     "requires_stay", "not an allowed value", "true | false"),
    ("StopWhenTooToxic.dose", lambda: _escalation().StopWhenTooToxic(dose=0), "dose", "out of range",
     "1 to 50"),
    ("StopWhenTooToxic.threshold", lambda: _escalation().StopWhenTooToxic(threshold=1.2), "threshold",
     "out of range", "greater than 0 and less than 1 or none"),
    ("StopWhenTooToxic.confidence", lambda: _escalation().StopWhenTooToxic(confidence=1.5), "confidence",
     "out of range", "greater than 0 and less than 1"),
    ("StopWhenTooToxic.min_n", lambda: _escalation().StopWhenTooToxic(min_n=0), "min_n", "out of range",
     "1 to 10000"),
    ("DontSkipDoses.when_escalating", lambda: _escalation().DontSkipDoses(when_escalating="no"),
     "when_escalating", "not an allowed value", "true | false"),
    ("DontSkipDoses.when_deescalating", lambda: _escalation().DontSkipDoses(when_deescalating=1),
     "when_deescalating", "not an allowed value", "true | false"),
    ("DontSkipDoses.restrict_mtd", lambda: _escalation().DontSkipDoses(restrict_mtd="false"),
     "restrict_mtd", "not an allowed value", "true | false"),
    ("DontSkipDoses.relative_to", lambda: _escalation().DontSkipDoses(relative_to="highest"), "relative_to",
     "not an allowed value", "current | highest_tried"),
    ("ExpansionCohort.n_patients", lambda: _escalation().ExpansionCohort(0), "n_patients", "out of range",
     "1 to 10000"),
    ("ExpansionCohort.cap_at_mtd", lambda: _escalation().ExpansionCohort(3, cap_at_mtd="no"), "cap_at_mtd",
     "not an allowed value", "true | false"),
    ("too toxic at a level beyond the design", lambda: _escalation().with_behaviours(
        _escalation().Boin(3, 0.3), _escalation().StopWhenTooToxic(dose=4)), "dose",
     "dose outside the design", "1 to 3"),
    ("n at a level beyond the design", lambda: _escalation().with_behaviours(
        _escalation().Boin(3, 0.3), _escalation().StopWhenNAtDose(6, dose=4)), "dose",
     "dose outside the design", "1 to 3"),
    ("expansion at a level beyond the design", lambda: _escalation().with_behaviours(
        _escalation().Boin(3, 0.3), _escalation().ExpansionCohort(3, 4)), "expansion.dose",
     "expansion dose outside the design", "1 to 3"),
]  # fmt: skip


def _escalation() -> Any:
    import cartrial.escalation

    return cartrial.escalation


@pytest.mark.parametrize(
    ("call", "field", "message", "allowed"),
    [case[1:] for case in BEHAVIOUR_CASES],
    ids=[case[0] for case in BEHAVIOUR_CASES],
)
def test_a_behaviour_refuses_an_argument_outside_what_it_allows_naming_it(
    call: Callable[[], Any], field: str, message: str, allowed: str
) -> None:
    with pytest.raises(InputError) as caught:
        call()
    [problem] = caught.value.problems
    assert (problem.field, problem.message, problem.allowed) == (field, message, allowed), str(caught.value)


_REQUIRED = "a value is required"
_SKELETON = [0.1, 0.2, 0.3]
#: Python API calls with None, a word or a number where the registry declares a flag, a number or a list of
#: numbers: (class, positional arguments, keyword arguments, field named, message, option whose declaration
#: is the allowed text). Each ended in a TypeError or ValueError traceback, or was accepted
#: (``extrasafe="no"`` is truthy: extrasafe on).
API_TYPE_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], str, str, str]] = [
    ("Boin", (5, 0.3), {"extrasafe": "no"}, "extrasafe", "not an allowed value", "extrasafe"),
    ("Boin", (5, 0.3), {"bound_mtd": 1}, "bound_mtd", "not an allowed value", "bound_mtd"),
    ("ThreePlusThree", (3,), {"require_six_at_top": "yes"}, "require_six_at_top", "not an allowed value",
     "require_six_at_top"),
    ("Boin", (5, 0.3), {"cohort_size": None}, "cohort_size", _REQUIRED, "cohort_size"),
    ("Boin", (5, 0.3), {"start_dose": None}, "start_dose", _REQUIRED, "start_dose"),
    ("Boin", (5, 0.3), {"offset": None}, "offset", _REQUIRED, "offset"),
    ("Crm", (_SKELETON, 0.3), {"prior_var": None}, "prior_var", _REQUIRED, "prior_var"),
    ("Crm", (_SKELETON, 0.3), {"intercept": None}, "intercept", _REQUIRED, "intercept"),
    ("TiteCrm", (_SKELETON, 0.3), {"window_days": None}, "window_days", _REQUIRED, "window"),
    ("Mtpi2", (5, 0.3), {"exclusion_min_n": None}, "exclusion_min_n", _REQUIRED, "exclusion_min_n"),
    ("StopAtN", (None,), {}, "n", _REQUIRED, "max_n"),
    ("Crm", (None, 0.3), {}, "skeleton", _REQUIRED, "skeleton"),
    ("Crm", ("0.1,0.2", 0.3), {}, "skeleton", "not a list of numbers", "skeleton"),
    ("Crm", ([0.1, ""], 0.3), {}, "skeleton", "not a number at position 2", "skeleton"),
    ("Crm", ([0.1, True], 0.3), {}, "skeleton", "not a number at position 2", "skeleton"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("cls", "args", "kwargs", "field", "message", "option"),
    API_TYPE_CASES,
    ids=[f"{c[0]}{c[1]!r}{c[2]!r}" for c in API_TYPE_CASES],
)
def test_the_python_api_refuses_a_missing_or_mistyped_option_naming_it(
    cls: str, args: tuple[Any, ...], kwargs: dict[str, Any], field: str, message: str, option: str
) -> None:
    import cartrial.escalation as escalation
    from cartrial.escalation import OPTIONS

    with pytest.raises(OptionError) as caught:
        getattr(escalation, cls)(*args, **kwargs)
    [problem] = caught.value.problems
    assert (problem.field, problem.message) == (field, message), str(caught.value)
    assert problem.allowed == OPTIONS[option].rule.text()


@pytest.mark.parametrize(
    ("key", "given", "option"),
    [
        ("target", "1.5", "target"),
        ("target", "0.01", "target"),  # below BOIN 2.7.2's range, 0.05 to 0.6 (D-19.39)
        ("prior_var", "0", "prior_var"),
        ("dlt_window_days", "5000", "window"),
    ],
)
def test_an_escalation_key_of_a_protocol_is_named_with_its_line_and_the_registry_range(
    cli: Any, tmp_path: Path, key: str, given: str, option: str
) -> None:
    from cartrial.escalation import OPTIONS

    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    assert "  dlt_window_days: 28\n" in text
    if key == "dlt_window_days":
        text = text.replace("  dlt_window_days: 28\n", "  dlt_window_days: 5000\n")
    else:
        text = text.replace("  dlt_window_days: 28\n", f"  dlt_window_days: 28\n  {key}: {given}\n")
    line = text.splitlines().index(f"  {key}: {given}") + 1
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(text, encoding="utf-8")
    code, _, err = cli("protocol", "check", str(protocol))
    assert code == 2, err
    allowed = OPTIONS[option].rule.text()
    expected = f"{protocol}, line {line}, escalation.{key}: out of range (got {given}); allowed: {allowed}"
    assert expected in err, err


# ---------------------------------------------------------------- engines name their fields, commands flags


def _va_form() -> str:
    return "subject_id,assessed_at,eye,acuity\nS1,2021-03-01,OD,0.5\n"


def _engine_calls() -> dict[str, tuple[Callable[[], Any], str]]:
    """Python API calls with one bad argument, and the engine field the error must name (each named the
    command-line flag, or had no declared range, before)."""
    from cartrial.kinetics import check_days, check_simulation
    from cartrial.kinetics.popfit import ErrorModel, parse_covariate_spec
    from cartrial.kinetics.popfit.fit import check_interval_methods
    from cartrial.kinetics.popfit.pdmodel import titre_observations
    from cartrial.neuro.derive import derive_responders, derive_visual_acuity

    infusions = {"S1": __import__("datetime").date(2021, 1, 1)}
    return {
        "check_simulation.n_subjects": (lambda: check_simulation(0, (0, 1, 1)), "n_subjects"),
        "check_simulation.residual_sd_log": (
            lambda: check_simulation(1, (0, 1, 1), residual_sd_log=11.0),
            "residual_sd_log",
        ),
        "check_days.days": (lambda: check_days([-1.0, 2.0]), "days"),
        "derive_visual_acuity.numeric_notation": (
            lambda: derive_visual_acuity(_va_form(), numeric_notation="percent"),
            "numeric_notation",
        ),
        "derive_visual_acuity.convention": (
            lambda: derive_visual_acuity(_va_form(), convention="x"),
            "convention",
        ),
        "derive_responders.follow_up": (lambda: derive_responders(infusions, follow_up="worst"), "follow_up"),
        "SaemSettings.k1": (lambda: SaemSettings(k1=0), "k1"),
        "SaemSettings.k2": (lambda: SaemSettings(k2=5001), "k2"),
        "parse_covariate_spec": (lambda: parse_covariate_spec("cmax-dose"), "covariates"),
        "ErrorModel.kind": (lambda: ErrorModel("mixed"), "kind"),
        "fit_population.variance_ci": (lambda: check_interval_methods("wald", "profile"), "variance_ci"),
        "titre_observations.censoring": (
            lambda: titre_observations(__import__("pandas").DataFrame({"v": ["1:10"]}), "v", censoring="mid"),
            "censoring",
        ),
    }


@pytest.mark.parametrize("case", sorted(_engine_calls()))
def test_an_engine_names_its_own_field(case: str) -> None:
    call, field = _engine_calls()[case]
    with pytest.raises(InputError) as caught:
        call()
    assert caught.value.problems[0].field == field, str(caught.value)
    assert str(caught.value).startswith(f"{field}: "), str(caught.value)
    assert "--" not in str(caught.value.problems[0].field)


def _saem(name: str) -> str:
    return declared(SaemSettings)[name].text()


PK = STUDY / "pk_samples.csv"

#: (arguments, flag, the message after the flag, up to the end of the line)
RENAMED_CLI_CASES: list[tuple[list[str], str, str]] = [
    (
        ["kinetics", "simulate", "--subjects", "2", "--days", "0:3", "--residual-sd", "11", "--out", OUT],
        "--residual-sd",
        "out of range (got 11); allowed: 0 to 10",
    ),
    (
        ["kinetics", "simulate", "--subjects", "0", "--days", "0:3", "--out", OUT],
        "--subjects",
        "at least one virtual subject",
    ),
    (
        ["kinetics", "simulate", "--subjects", "2", "--days", "-1:3", "--out", OUT],
        "--days",
        "days must be ≥ 0",
    ),
    (
        ["kinetics", "popfit", str(PK), "--k1", "0", "--out", OUT],
        "--k1",
        f"out of range (got 0); allowed: {_saem('k1')}",
    ),
    (
        ["kinetics", "popfit", str(PK), "--k2", "5001", "--out", OUT],
        "--k2",
        f"out of range (got 5001); allowed: {_saem('k2')}",
    ),
    (
        ["kinetics", "popfit", str(PK), "--proposal", "normal", "--out", OUT],
        "--proposal",
        f"not an allowed value (got 'normal'); allowed: {_saem('polish_proposal')}",
    ),
    (
        ["kinetics", "popfit", str(PK), "--omega", "block", "--out", OUT],
        "--omega",
        "not an allowed value (got 'block'); allowed: diagonal | full",
    ),
    (
        ["kinetics", "popfit", str(PK), "--error", "mixed", "--out", OUT],
        "--error",
        "not an allowed value (got 'mixed'); allowed: additive | proportional | combined",
    ),
    (
        ["kinetics", "popfit", str(PK), "--titre", "mid", "--out", OUT],
        "--titre",
        "not an allowed value (got 'mid'); allowed: interval | centre",
    ),
    (
        [
            *("kinetics", "popfit", str(PK), "--covariate", "cmax-dose"),
            *("--covariates", str(STUDY / "subjects.csv"), "--out", OUT),
        ],
        "--covariate",
        "a covariate effect is PARAMETER~COVARIATE (got 'cmax-dose')",
    ),
    (
        ["score", "va", str(STUDY / "visual_acuity.csv"), "--numeric-notation", "percent", "--out", OUT],
        "--numeric-notation",
        "not an allowed value (got 'percent'); allowed: decimal | logmar | etdrs_letters",
    ),
    (
        [
            *("score", "responders", "--infusions", str(STUDY / "infusions.csv")),
            *("--edss", str(STUDY / "edss.csv"), "--follow-up", "worst", "--out", OUT),
        ],
        "--follow-up",
        "not an allowed value (got 'worst'); allowed: last | best",
    ),
    (
        ["simulate", "trial", "--scenario", str(EXAMPLE / "scenario.yaml"), "--trials", "0", "--out", OUT],
        "--trials",
        "out of range (got 0); allowed: 1 to 1000000",
    ),
    (
        [
            *("simulate", "study", "--scenario", str(EXAMPLE / "scenario.yaml")),
            *("--expansion-patients", "0", "--out", OUT),
        ],
        "--expansion-patients",
        "out of range (got 0); allowed: 1 to 10000",
    ),
]


@pytest.mark.parametrize(
    ("args", "flag", "message"), RENAMED_CLI_CASES, ids=[f"{c[0][1]} {c[1]}" for c in RENAMED_CLI_CASES]
)
def test_an_engine_error_names_the_flag_as_typed(
    cli: Any, tmp_path: Path, args: list[str], flag: str, message: str
) -> None:
    out = tmp_path / "out"
    code, _, err = cli(*[str(out) if a == OUT else a for a in args])
    assert code == 2, err
    assert err.startswith(f"error: {flag}: {message}"), err
    assert not out.exists()


def test_the_help_of_the_engine_backed_flags_states_the_declaration() -> None:
    """Help texts that cannot import the engine at start-up state its declaration; kept equal here."""
    from cartrial.commands import kinetics_commands, simulation_commands
    from cartrial.kinetics.simulation import RESIDUAL_SD_LOG
    from cartrial.protocol.design_options import DAYS
    from cartrial.simulation.scenario import EXPANSION_PATIENTS, TRIALS

    scratch = typer.Typer()
    kinetics_commands.register(scratch)
    simulation_commands.register(scratch)
    root = typer.main.get_group(scratch)

    def helps(group: str, command: str) -> dict[str, str]:
        params = root.commands[group].commands[command].params  # type: ignore[attr-defined]
        return {opt: p.help or "" for p in params for opt in p.opts}

    expected = {
        ("kinetics", "popfit", "--k1"): _saem("k1"),
        ("kinetics", "popfit", "--k2"): _saem("k2"),
        ("kinetics", "simulate", "--residual-sd"): RESIDUAL_SD_LOG.text(),
        ("simulate", "trial", "--trials"): TRIALS.text(),
        ("simulate", "study", "--expansion-patients"): EXPANSION_PATIENTS.text(),
    }
    for (group, command, flag), text in expected.items():
        assert f"allowed: {text}" in helps(group, command)[flag], (flag, helps(group, command)[flag])
    from cartrial.commands.escalation_commands import escalate_app

    simulate = typer.main.get_group(escalate_app).commands["simulate"]
    accrual = next(p.help or "" for p in simulate.params if "--accrual-days" in p.opts)
    assert f"allowed: {DAYS.text()}" in accrual


@pytest.mark.parametrize(
    ("where", "key", "given"),
    [("grid", "trials", "0"), ("scenario", "expansion_patients", "100001")],
)
def test_a_scenario_or_grid_range_is_named_with_its_line(
    cli: Any, tmp_path: Path, where: str, key: str, given: str
) -> None:
    """The scenario's and the sweep grid's ranges are the ones the commands check (`TRIALS`,
    `EXPANSION_PATIENTS`), named with file, line and key."""
    from cartrial.simulation.scenario import EXPANSION_PATIENTS, TRIALS

    scenario = tmp_path / "scenario.yaml"
    grid = tmp_path / "sweep.yaml"
    scenario_text = (EXAMPLE / "scenario.yaml").read_text(encoding="utf-8")
    grid_text = (EXAMPLE / "sweep.yaml").read_text(encoding="utf-8")
    scenario_text = scenario_text.replace("protocol: protocol.yaml", f"protocol: {EXAMPLE / 'protocol.yaml'}")
    assert f"protocol: {EXAMPLE / 'protocol.yaml'}" in scenario_text
    if where == "grid":
        grid_text = f"{key}: {given}\n" + "\n".join(
            line for line in grid_text.splitlines() if not line.startswith("trials:")
        )
        rule, path, field = TRIALS, grid, key
    else:
        assert "\ndesign:\n" not in scenario_text
        scenario_text += f"\ndesign:\n  {key}: {given}\n"
        rule, path, field = EXPANSION_PATIENTS, scenario, f"design.{key}"
    scenario.write_text(scenario_text, encoding="utf-8")
    grid.write_text(grid_text.replace("scenario.yaml", str(scenario)), encoding="utf-8")
    line = (
        path.read_text(encoding="utf-8")
        .splitlines()
        .index(f"{key}: {given}" if where == "grid" else f"  {key}: {given}")
        + 1
    )
    args = [
        "simulate",
        "sweep",
        "--scenario",
        str(scenario),
        "--grid",
        str(grid),
        "--out",
        str(tmp_path / "o"),
    ]
    code, _, err = cli(*args)
    assert code == 2, err
    expected = f"{path}, line {line}, {field}: out of range (got {given}); allowed: {rule.text()}"
    assert expected in err, err
