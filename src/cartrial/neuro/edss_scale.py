"""Expanded Disability Status Scale (EDSS) from raw functional-system (FS) scores and walking ability.

Sources (see docs/science/neuro-outcomes.md §1): Kurtzke JF, *Neurology* 1983;33:1444 (step definitions and
FS);
Neurostatus-EDSS (Kappos, neurostatus.net: FS conversions, cerebral grade-1 rule, the 16-level ambulation
score); the FS-combination table §1.8 restates the Neurostatus logic as implemented by the npm package
``edss`` (adobrasinovic/edss); the disagreements with the R package ``EDSScalculator`` 0.3.0
(jirimotyl/edss, ``edss_calculation``) are exposed as the options of `EdssOptions` (§1.10).

Two entry points compute the same thing: `edss` for one examination (a frozen `EdssResult` naming the rule
that fired) and `edss_array` for numpy arrays (millions of rows; returns the EDSS and the index of the rule
in `RULES`). A property test checks that they agree.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from cartrial.allowed import allowed, check_fields
from cartrial.errors import InputError, OptionError, Problem

#: Functional systems in the order used throughout cartrial, with their raw ranges
# (docs/science/neuro-outcomes.md §1.1).
FS_NAMES: tuple[str, ...] = (
    "visual",
    "brainstem",
    "pyramidal",
    "cerebellar",
    "sensory",
    "bowel_bladder",
    "cerebral",
)
FS_MAX: dict[str, int] = {
    "visual": 6,
    "brainstem": 5,
    "pyramidal": 6,
    "cerebellar": 5,
    "sensory": 6,
    "bowel_bladder": 6,
    "cerebral": 5,
}
AMBULATION_MAX = 16

#: Raw visual FS 0-6 -> converted 0-4 (Neurostatus; docs/science/neuro-outcomes.md §1.3, all calculators
# agree).
VISUAL_CONVERSION: tuple[int, ...] = (0, 1, 2, 2, 3, 3, 4)
#: Raw bowel/bladder FS 0-6 -> converted 0-5 (Neurostatus; docs/science/neuro-outcomes.md §1.3).
BOWEL_BLADDER_CONVERSION: tuple[int, ...] = (0, 1, 2, 3, 3, 4, 5)

#: Neurostatus ambulation score 0-16 -> EDSS for scores >= 3 (docs/science/neuro-outcomes.md §1.6). Scores 0-2
# are NaN:
#: they do not fix the EDSS on their own (0/1: from the FS; 2: at least 4.5).
AMBULATION_EDSS: tuple[float, ...] = (
    np.nan, np.nan, np.nan,  # 0, 1, 2
    5.0, 5.5, 6.0, 6.0, 6.0, 6.5, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0,
)  # fmt: skip


class EdssMethod(StrEnum):
    """How walking was recorded: the Neurostatus 0-16 ambulation score, or Kurtzke 1983 distance and aid."""

    NEUROSTATUS_16 = "neurostatus_16"
    KURTZKE = "kurtzke"


@dataclass(frozen=True)
class EdssOptions:
    """The points where open EDSS calculators disagree (docs/science/neuro-outcomes.md §1.10), each a named
    option.

    Defaults follow the Neurostatus definitions as restated in docs/science/neuro-outcomes.md §1.8/§1.10; they
    are
    provisional (the official Neurostatus "Definitions" document was not available to adjudicate;
    awaiting confirmation).

    - ``cerebral_grade1_as_zero`` (a): cerebral FS grade 1 ("mood alteration only") counts as 0 in the step
      calculation. Default **True**: the Neurostatus convention (``EDSScalculator`` applies it, npm ``edss``
      does not).
    - ``fs4_with_grade2_step`` (b): one FS grade 4 with one or more FS grade 2 and no FS 3. Default **4.5**
      (npm ``edss``): grade-2 partners exceed the "others 0 or 1" of step 4.0; 4.0 is ``EDSScalculator``.
    - ``fs4_with_3plus_grade3_step`` (c): one FS grade 4 with three or four FS grade 3. Default **5.0**
      (npm ``edss``): the combination exceeds steps 4.0/4.5; 4.5 is ``EDSScalculator``. One FS 4 with
      five or more FS 3 is always 5.0 (d'): never return a missing value for a valid input.
    - ``ambulation1_catchall_first`` (d): ``EDSScalculator`` evaluates "ambulation score 1 and no FS above 4
      gives 4.0" before its 5.0 rules (two or more FS 4, one FS 4 with several FS 3, six or more FS 3),
      so those patterns give 4.0 with ambulation score 1. Default **False**: FS-combination rules take
      precedence (the R ordering looks accidental; it also makes EDSS fall when walking worsens from
      ambulation 0 to 1).
    - ``ambulation2_catchall_first``: the same ordering in ``EDSScalculator`` for ambulation score 2 (4.5
      before the 5.0 rules). Not listed in §1.10 but the same cause as (d), found reading the R package;
      default **False** for the same reason.
    - ``ambulation1_floor`` (e): with ambulation score 1 an FS pattern giving less than 2.0 is raised to
      2.0 (npm ``edss`` and ``EDSScalculator`` both do). Default **2.0**; ``None`` disables the floor (the
      floor is an implementation convention not stated in the Kurtzke text; awaiting confirmation).
    - ``ambulation2_floor``: ambulation score 2 (>= 300 m, < 500 m) raises any lower pattern to 4.5
      (§1.6, §1.8 row 9); fixed by the definition of step 4.5, recorded for completeness.

    Cross-check (done while writing this module, by re-deriving each package's rule order from its source
    text): preset ``edss_js`` reproduces npm ``edss`` (adobrasinovic/edss ``src/index.js``) on every FS
    combination; preset ``edsscalculator_r`` reproduces ``EDSScalculator`` 0.3.0 ``neurostatus_16`` on
    every FS combination with ambulation 0-3, except the 401 combinations where the R package returns NA
    (one FS 4 with five or more FS 3: 5.0 here, rule d').
    """

    cerebral_grade1_as_zero: bool = True
    fs4_with_grade2_step: float = field(default=4.5, metadata=allowed(values=(4.0, 4.5)))
    fs4_with_3plus_grade3_step: float = field(default=5.0, metadata=allowed(values=(4.5, 5.0)))
    ambulation1_catchall_first: bool = False
    ambulation2_catchall_first: bool = False
    ambulation1_floor: float | None = field(default=2.0, metadata=allowed(values=(2.0,), optional=True))
    preset: str = "neurostatus_default"

    def __post_init__(self) -> None:
        check_fields(self)

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> EdssOptions:
        """Options named by a preset: ``neurostatus_default``, ``edss_js`` or ``edsscalculator_r`` (§1.10)."""
        try:
            base = dict(PRESETS[preset])
        except KeyError:
            raise OptionError(
                Problem(
                    "unknown EDSS preset", field="preset", value=preset, allowed=" | ".join(sorted(PRESETS))
                )
            ) from None
        base.update(overrides)
        label = preset if not overrides else f"{preset}+custom"
        return cls(**base, preset=label)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Presets for cross-checking against the open calculators (docs/science/neuro-outcomes.md §1.10).
PRESETS: dict[str, dict[str, Any]] = {
    "neurostatus_default": {},
    "edss_js": {
        "cerebral_grade1_as_zero": False,
        "fs4_with_grade2_step": 4.5,
        "fs4_with_3plus_grade3_step": 5.0,
        "ambulation1_catchall_first": False,
        "ambulation2_catchall_first": False,
        "ambulation1_floor": 2.0,
    },
    "edsscalculator_r": {
        "cerebral_grade1_as_zero": True,
        "fs4_with_grade2_step": 4.0,
        "fs4_with_3plus_grade3_step": 4.5,
        "ambulation1_catchall_first": True,
        "ambulation2_catchall_first": True,
        "ambulation1_floor": 2.0,
    },
}


@dataclass(frozen=True)
class EdssRule:
    """One row of the EDSS decision table; `edss` is NaN where the value depends on an option or input."""

    code: str
    description: str


#: The decision rules in evaluation order (docs/science/neuro-outcomes.md §1.8; "M" = highest converted FS
# grade,
#: "c_k" = number of converted FS at grade k). `edss_array` returns indices into this tuple.
RULES: tuple[EdssRule, ...] = (
    EdssRule("ambulation_ge3", "ambulation score >= 3 fixes the EDSS (Neurostatus table, §1.6; row 1)"),
    EdssRule("max_fs_ge5", "an FS grade 5 or more gives 5.0 (Kurtzke step 5.0; §1.8 row 2)"),
    EdssRule(
        "ambulation1_catchall",
        "ambulation score 1 and no FS above 4 gives 4.0 before the 5.0 rules (EDSScalculator ordering; "
        "option ambulation1_catchall_first)",
    ),
    EdssRule(
        "ambulation2_catchall",
        "ambulation score 2 and no FS above 4 gives 4.5 before the 5.0 rules (EDSScalculator ordering; "
        "option ambulation2_catchall_first)",
    ),
    EdssRule("fs4_two_or_more", "two or more FS grade 4 give 5.0 (§1.8 row 3, decision d)"),
    EdssRule("fs4_with_5plus_grade3", "one FS grade 4 with five or more FS grade 3 gives 5.0 (§1.10 d')"),
    EdssRule(
        "fs4_with_3plus_grade3",
        "one FS grade 4 with three or four FS grade 3 (§1.8 row 4; option fs4_with_3plus_grade3_step)",
    ),
    EdssRule("fs4_with_1_2_grade3", "one FS grade 4 with one or two FS grade 3 gives 4.5 (§1.8 row 5)"),
    EdssRule(
        "fs4_with_grade2",
        "one FS grade 4, no FS 3, one or more FS 2 (§1.8 row 6; option fs4_with_grade2_step)",
    ),
    EdssRule("fs4_alone", "one FS grade 4, others 0 or 1 gives 4.0 (§1.8 row 7)"),
    EdssRule("fs3_six_or_more", "six or more FS grade 3 give 5.0 (§1.8 row 8)"),
    EdssRule("ambulation2", "ambulation score 2 (>= 300 m, < 500 m) gives at least 4.5 (§1.8 row 9)"),
    EdssRule("fs3_five", "five FS grade 3 give 4.5 (§1.8 row 10)"),
    EdssRule("fs3_three_or_four", "three or four FS grade 3 give 4.0 (§1.8 row 11)"),
    EdssRule("fs3_two_with_grade2", "two FS grade 3 with one or more FS grade 2 give 4.0 (§1.8 row 12)"),
    EdssRule("fs3_two", "two FS grade 3, others 0 or 1 give 3.5 (§1.8 row 13)"),
    EdssRule("fs3_one_with_3plus_grade2", "one FS grade 3 with three or more FS 2 gives 4.0 (§1.8 row 14)"),
    EdssRule("fs3_one_with_1_2_grade2", "one FS grade 3 with one or two FS 2 gives 3.5 (§1.8 row 15)"),
    EdssRule("fs3_one", "one FS grade 3, others 0 or 1 gives 3.0 (§1.8 row 16)"),
    EdssRule("fs2_six_or_more", "six or more FS grade 2 give 4.0 (§1.8 row 17)"),
    EdssRule("fs2_five", "five FS grade 2 give 3.5 (§1.8 row 18)"),
    EdssRule("fs2_three_or_four", "three or four FS grade 2 give 3.0 (§1.8 row 19)"),
    EdssRule("fs2_two", "two FS grade 2 give 2.5 (§1.8 row 20)"),
    EdssRule("fs2_one", "one FS grade 2 gives 2.0 (§1.8 row 21)"),
    EdssRule(
        "ambulation1", "ambulation score 1 with FS all <= 1 gives 2.0 (§1.8 row 22; option ambulation1_floor)"
    ),
    EdssRule("fs1_two_or_more", "two or more FS grade 1 give 1.5 (§1.8 row 23)"),
    EdssRule("fs1_one", "one FS grade 1 gives 1.0 (§1.8 row 24)"),
    EdssRule("normal", "all FS 0 and ambulation score 0 give 0 (§1.8 row 25)"),
)
RULE_INDEX: dict[str, int] = {rule.code: i for i, rule in enumerate(RULES)}

SOURCE = (
    "Kurtzke 1983 Neurology 33:1444 step definitions; Neurostatus-EDSS (Kappos, neurostatus.net) FS "
    "conversions and ambulation score; FS-combination table "
    "docs/science/neuro-outcomes.md §1.8 (npm edss logic), "
    "options §1.10"
)


@dataclass(frozen=True)
class FunctionalSystems:
    """Raw FS scores as recorded by the examiner (visual and bowel/bladder before conversion)."""

    visual: int
    brainstem: int
    pyramidal: int
    cerebellar: int
    sensory: int
    bowel_bladder: int
    cerebral: int

    def __post_init__(self) -> None:
        problems = []
        for name in FS_NAMES:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or not 0 <= value <= FS_MAX[name]
            ):
                problems.append(
                    Problem(
                        "FS score out of range",
                        field=name,
                        value=value,
                        allowed=f"whole number 0-{FS_MAX[name]}",
                    )
                )
        if problems:
            raise InputError(problems)

    def as_tuple(self) -> tuple[int, ...]:
        return tuple(int(getattr(self, name)) for name in FS_NAMES)


@dataclass(frozen=True)
class EdssResult:
    """One EDSS with its provenance: the rule that fired, the converted FS used and the options."""

    edss: float
    rule: str
    rule_description: str
    method: EdssMethod
    converted_fs: dict[str, int]
    ambulation_score: int
    options: dict[str, Any]
    source: str = SOURCE
    details: dict[str, Any] = field(default_factory=dict)


def convert_fs(raw: FunctionalSystems, options: EdssOptions | None = None) -> dict[str, int]:
    """Converted FS grades used in the step calculation (docs/science/neuro-outcomes.md §1.3 and §1.4).

    Visual 0-6 -> 0-4 and bowel/bladder 0-6 -> 0-5 by the Neurostatus tables; cerebral grade 1 -> 0 when
    ``options.cerebral_grade1_as_zero``.

    >>> convert_fs(FunctionalSystems(6, 0, 0, 0, 0, 6, 1))["visual"]
    4
    """
    options = options or EdssOptions()
    cerebral = raw.cerebral
    if options.cerebral_grade1_as_zero and cerebral == 1:
        cerebral = 0
    return {
        "visual": VISUAL_CONVERSION[raw.visual],
        "brainstem": raw.brainstem,
        "pyramidal": raw.pyramidal,
        "cerebellar": raw.cerebellar,
        "sensory": raw.sensory,
        "bowel_bladder": BOWEL_BLADDER_CONVERSION[raw.bowel_bladder],
        "cerebral": cerebral,
    }


def _step_from_rules(grades: tuple[int, ...], ambulation: int, options: EdssOptions) -> tuple[float, str]:
    """Walk the ordered decision table of docs/science/neuro-outcomes.md §1.8 for one examination."""
    m = max(grades)
    c = [sum(1 for g in grades if g == k) for k in range(7)]
    if ambulation >= 3:
        return AMBULATION_EDSS[ambulation], "ambulation_ge3"
    if m >= 5:
        return 5.0, "max_fs_ge5"
    # FS-combination steps giving 5.0 with all FS <= 4 (rows 3, 4, 8 and d'); EDSScalculator evaluates its
    # ambulation catch-alls before these (options d and its ambulation-2 twin).
    gives_five = (
        (m == 4 and c[4] >= 2)
        or (m == 4 and c[3] >= 5)
        or (m == 4 and c[3] >= 3 and options.fs4_with_3plus_grade3_step == 5.0)
        or (m == 3 and c[3] >= 6)
    )
    if gives_five and ambulation == 1 and options.ambulation1_catchall_first:
        return 4.0, "ambulation1_catchall"
    if gives_five and ambulation == 2 and options.ambulation2_catchall_first:
        return 4.5, "ambulation2_catchall"
    if m == 4:
        if c[4] >= 2:
            return 5.0, "fs4_two_or_more"
        if c[3] >= 5:
            return 5.0, "fs4_with_5plus_grade3"
        if c[3] >= 3:
            return options.fs4_with_3plus_grade3_step, "fs4_with_3plus_grade3"
        if c[3] >= 1:
            return 4.5, "fs4_with_1_2_grade3"
        if c[2] >= 1 and not (ambulation == 2 and options.fs4_with_grade2_step < 4.5):
            return options.fs4_with_grade2_step, "fs4_with_grade2"
        if ambulation <= 1:
            return 4.0, "fs4_alone"
    if m == 3 and c[3] >= 6:
        return 5.0, "fs3_six_or_more"
    if ambulation == 2:
        return 4.5, "ambulation2"
    if m == 3:
        if c[3] == 5:
            return 4.5, "fs3_five"
        if c[3] >= 3:
            return 4.0, "fs3_three_or_four"
        if c[3] == 2:
            return (4.0, "fs3_two_with_grade2") if c[2] >= 1 else (3.5, "fs3_two")
        if c[2] >= 3:
            return 4.0, "fs3_one_with_3plus_grade2"
        if c[2] >= 1:
            return 3.5, "fs3_one_with_1_2_grade2"
        return 3.0, "fs3_one"
    if m == 2:
        if c[2] >= 6:
            return 4.0, "fs2_six_or_more"
        if c[2] == 5:
            return 3.5, "fs2_five"
        if c[2] >= 3:
            return 3.0, "fs2_three_or_four"
        if c[2] == 2:
            return 2.5, "fs2_two"
        return 2.0, "fs2_one"
    if ambulation == 1 and options.ambulation1_floor is not None:
        return options.ambulation1_floor, "ambulation1"
    if m == 1:
        return (1.5, "fs1_two_or_more") if c[1] >= 2 else (1.0, "fs1_one")
    return 0.0, "normal"


def _check_ambulation(ambulation_score: int) -> None:
    if (
        isinstance(ambulation_score, bool)
        or not isinstance(ambulation_score, int | np.integer)
        or not 0 <= ambulation_score <= AMBULATION_MAX
    ):
        raise InputError(
            Problem(
                "ambulation score out of range",
                field="ambulation",
                value=ambulation_score,
                allowed=f"whole number 0-{AMBULATION_MAX} (Neurostatus ambulation score)",
            )
        )


def edss(fs: FunctionalSystems, ambulation_score: int, options: EdssOptions | None = None) -> EdssResult:
    """EDSS (0-10, steps of 0.5) from raw FS scores and the Neurostatus ambulation score (0-16).

    Source: Kurtzke 1983 step definitions with the Neurostatus-EDSS conventions, evaluated by the ordered
    decision table of docs/science/neuro-outcomes.md §1.8 (first matching row wins); ambulation table §1.6;
    options
    for the points where the open calculators disagree, §1.10 (see `EdssOptions`).

    >>> result = edss(FunctionalSystems(3, 1, 2, 2, 1, 4, 1), ambulation_score=0)
    >>> result.edss, result.rule
    (4.0, 'fs3_one_with_3plus_grade2')
    """
    options = options or EdssOptions()
    _check_ambulation(ambulation_score)
    converted = convert_fs(fs, options)
    value, code = _step_from_rules(tuple(converted.values()), int(ambulation_score), options)
    return EdssResult(
        edss=float(value),
        rule=code,
        rule_description=RULES[RULE_INDEX[code]].description,
        method=EdssMethod.NEUROSTATUS_16,
        converted_fs=converted,
        ambulation_score=int(ambulation_score),
        options=options.as_dict(),
    )


def edss_array(
    fs: npt.ArrayLike, ambulation_score: npt.ArrayLike, options: EdssOptions | None = None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
    """Vectorised `edss`: ``fs`` is an (n, 7) integer array of raw FS in `FS_NAMES` order,
    ``ambulation_score`` an (n,) array. Returns (edss, rule index into `RULES`). Inputs must be in range
    (validate first, e.g. with `cartrial.neuro.tables.parse_edss_table`); out-of-range values raise
    `InputError`.

    Same source and decision table as `edss` (docs/science/neuro-outcomes.md §1.3, §1.4, §1.6, §1.8, §1.10).

    >>> import numpy as np
    >>> values, rules = edss_array(np.array([[0, 0, 2, 0, 1, 0, 0]]), np.array([0]))
    >>> values.tolist(), rule_codes(rules).tolist()
    ([2.0], ['fs2_one'])
    """
    options = options or EdssOptions()
    raw = np.asarray(fs)
    amb = np.asarray(ambulation_score)
    if raw.ndim != 2 or raw.shape[1] != len(FS_NAMES):
        raise InputError(f"fs must be an (n, {len(FS_NAMES)}) array in the order {', '.join(FS_NAMES)}")
    if amb.shape != (raw.shape[0],):
        raise InputError("ambulation_score must be a 1-D array with one value per FS row")
    maxima = np.array([FS_MAX[name] for name in FS_NAMES])
    if raw.size and (raw.min() < 0 or (raw > maxima).any() or np.any(raw != np.round(raw))):
        raise InputError(
            f"FS scores out of range; allowed: whole numbers 0 to {dict(zip(FS_NAMES, maxima, strict=True))}"
        )
    if amb.size and (amb.min() < 0 or amb.max() > AMBULATION_MAX or np.any(amb != np.round(amb))):
        raise InputError("ambulation score out of range; allowed: whole numbers 0-16")
    if raw.dtype.kind == "f" and np.any(raw != np.round(raw)):
        raise InputError("FS scores must be whole numbers")
    if amb.dtype.kind == "f" and np.any(amb != np.round(amb)):
        raise InputError("ambulation score must be a whole number 0-16")
    raw = raw.astype(np.intp, copy=False)
    amb = amb.astype(np.intp, copy=False)
    values, rules, weights = _lookup_table(options)
    # The EDSS depends only on how many converted FS sit at each grade 1-5 (and the ambulation score):
    # encode those counts in base 8 (each count <= 7) and read the precomputed decision table.
    key = weights[0][raw[:, 0]]
    for j in range(1, len(FS_NAMES)):
        key = key + weights[j][raw[:, j]]
    index = key * (AMBULATION_MAX + 1) + amb
    return values[index], rules[index]


# Weight of one FS at converted grade 0-6 in the base-8 count key; grades 5 and 6 share a digit because the
# §1.8 table only asks whether some FS is >= 5 (row 2).
_BASE8 = np.array([0, 1, 8, 64, 512, 4096, 4096], dtype=np.intp)


@functools.lru_cache(maxsize=16)
def _lookup_table(
    options: EdssOptions,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8], tuple[npt.NDArray[np.intp], ...]]:
    """Decision table over (counts of converted FS at grades 1-5, ambulation) built with `_edss_select`,
    and per-FS weight tables folding the conversions (§1.3, §1.4) into the base-8 count key."""
    conversions = []
    for name in FS_NAMES:
        converted = np.arange(FS_MAX[name] + 1)
        if name == "visual":
            converted = np.asarray(VISUAL_CONVERSION)
        elif name == "bowel_bladder":
            converted = np.asarray(BOWEL_BLADDER_CONVERSION)
        elif name == "cerebral" and options.cerebral_grade1_as_zero:
            converted = np.where(converted == 1, 0, converted)
        conversions.append(_BASE8[converted])
    patterns = [
        counts
        for counts in itertools.product(range(len(FS_NAMES) + 1), repeat=5)
        if sum(counts) <= len(FS_NAMES)
    ]
    grades = np.array(
        [[g for g, c in zip(range(1, 6), counts, strict=True) for _ in range(c)] + [0] * (7 - sum(counts))
         for counts in patterns],
        dtype=np.intp,
    )  # fmt: skip
    keys = (np.asarray(patterns, dtype=np.intp) * _BASE8[1:6]).sum(axis=1)
    n_amb = AMBULATION_MAX + 1
    all_grades = np.repeat(grades, n_amb, axis=0)
    all_amb = np.tile(np.arange(n_amb), len(patterns))
    pattern_values, pattern_rules = _edss_select(all_grades, all_amb, options)
    size = int(_BASE8[5]) * 8 * n_amb
    values = np.full(size, np.nan)
    rules = np.full(size, -1, dtype=np.int8)
    slots = np.repeat(keys, n_amb) * n_amb + all_amb
    values[slots] = pattern_values
    rules[slots] = pattern_rules
    return values, rules, tuple(conversions)


def _edss_select(
    grades: npt.NDArray[np.intp], amb: npt.NDArray[np.intp], options: EdssOptions
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int8]]:
    """The §1.8 decision table evaluated with `np.select` on converted grades (first true condition wins,
    as in the scalar walk `_step_from_rules`)."""
    m = grades.max(axis=1)
    c2 = (grades == 2).sum(axis=1)
    c3 = (grades == 3).sum(axis=1)
    c4 = (grades == 4).sum(axis=1)
    c1 = (grades == 1).sum(axis=1)
    m4, m3, m2 = m == 4, m == 3, m == 2
    amb1, amb2 = amb == 1, amb == 2
    c_opt = options.fs4_with_3plus_grade3_step == 5.0
    gives_five = (m4 & (c4 >= 2)) | (m4 & (c3 >= 5)) | (m4 & (c3 >= 3) & c_opt) | (m3 & (c3 >= 6))
    b_low = options.fs4_with_grade2_step < 4.5
    floor1 = options.ambulation1_floor is not None

    # Conditions in the order of RULES; np.select takes the first that holds (as the scalar walk does).
    conditions = [
        amb >= 3,
        m >= 5,
        gives_five & amb1 & options.ambulation1_catchall_first,
        gives_five & amb2 & options.ambulation2_catchall_first,
        m4 & (c4 >= 2),
        m4 & (c3 >= 5),
        m4 & (c3 >= 3),
        m4 & (c3 >= 1),
        m4 & (c2 >= 1) & ~(amb2 & b_low),
        m4 & (amb <= 1) & (c2 == 0),
        m3 & (c3 >= 6),
        amb2,
        m3 & (c3 == 5),
        m3 & (c3 >= 3),
        m3 & (c3 == 2) & (c2 >= 1),
        m3 & (c3 == 2),
        m3 & (c2 >= 3),
        m3 & (c2 >= 1),
        m3,
        m2 & (c2 >= 6),
        m2 & (c2 == 5),
        m2 & (c2 >= 3),
        m2 & (c2 == 2),
        m2,
        amb1 & floor1,
        c1 >= 2,
        c1 == 1,
    ]
    rule = np.select(conditions, np.arange(len(conditions), dtype=np.int8), default=RULE_INDEX["normal"])
    rule = rule.astype(np.int8)
    values = np.array(
        [
            np.nan,  # ambulation_ge3: from the table below
            5.0,
            4.0,
            4.5,
            5.0,
            5.0,
            options.fs4_with_3plus_grade3_step,
            4.5,
            options.fs4_with_grade2_step,
            4.0,
            5.0,
            4.5,
            4.5,
            4.0,
            4.0,
            3.5,
            4.0,
            3.5,
            3.0,
            4.0,
            3.5,
            3.0,
            2.5,
            2.0,
            options.ambulation1_floor if options.ambulation1_floor is not None else np.nan,
            1.5,
            1.0,
            0.0,
        ]
    )
    result = values[rule]
    walking = rule == RULE_INDEX["ambulation_ge3"]
    result[walking] = np.asarray(AMBULATION_EDSS)[amb[walking]]
    return result, rule


def rule_codes(indices: npt.ArrayLike) -> npt.NDArray[np.object_]:
    """Rule codes (`EdssRule.code`) for the indices returned by `edss_array`.

    >>> import numpy as np
    >>> rule_codes(edss_array(np.zeros((1, 7), dtype=int), np.array([0]))[1]).tolist()
    ['normal']
    """
    codes = np.array([rule.code for rule in RULES], dtype=object)
    return codes[np.asarray(indices, dtype=np.intp)]


# --- Kurtzke 1983 variant: walking recorded as distance and aid -----------------------------------------


class Assistance(StrEnum):
    """Walking aid or mobility level for the Kurtzke variant (Kurtzke 1983 steps 6.0-10; §1.5, §1.7).

    An ankle-foot orthosis alone is not assistance; a cane plus an AFO is unilateral (Neurostatus forum).
    """

    NONE = "none"
    UNILATERAL = "unilateral"
    BILATERAL = "bilateral"
    WHEELCHAIR_SELF = "wheelchair_self"  # 7.0: wheels self, transfers alone
    WHEELCHAIR_WITH_HELP = "wheelchair_with_help"  # 7.5
    BED_CHAIR = "bed_chair"  # 8.0
    BED = "bed"  # 8.5
    HELPLESS_COMMUNICATES = "helpless_communicates"  # 9.0
    HELPLESS = "helpless"  # 9.5
    DEATH = "death"  # 10


@dataclass(frozen=True)
class KurtzkeGapOptions:
    """Gap rules for walking situations the Kurtzke 1983 text does not cover (docs/science/neuro-outcomes.md
    §1.7) [P].

    - ``no_aid_under_100m_step``: walks < 100 m without aid. Default **6.0** (as Neurostatus ambulation 5).
    - ``unilateral_under_100m_step``: unilateral aid, < 100 m. Default **6.5** (Kurtzke 6.0 needs ~100 m).
    - ``bilateral_over_20m_step``: constant bilateral aid, more than 20 m (strict ">", §1.7 "bilateral
      aid > 20 m"; exactly ~20 m is Kurtzke step 6.5 itself). Default **6.5** (literal Kurtzke reading;
      Neurostatus gives 6.0 from 120 m).
    Distance cut points (m) for "about 500/300/200/100/20/5 m" are parameters too. Each is read as "at
    least" (``>=``): the Neurostatus reading of Kurtzke's "about" (a patient who walks the distance reaches
    the step), so exactly 5 m with aid gives the aided step (6.5 with bilateral aid, not 7.0; Kurtzke's
    7.0 "unable to walk beyond about 5 m even with aid" could be read to include exactly 5 m), and only
    less than 5 m with aid gives 7.0. Without aid, less than 5 m is not 7.0 (7.0 is "even with aid"): it
    falls in ``no_aid_under_100m_step``, 6.0 by default (D-19.745).
    """

    no_aid_under_100m_step: float = field(default=6.0, metadata=allowed(values=(5.5, 6.0)))
    unilateral_under_100m_step: float = field(default=6.5, metadata=allowed(values=(6.0, 6.5)))
    bilateral_over_20m_step: float = field(default=6.5, metadata=allowed(values=(6.0, 6.5)))
    unrestricted_m: float = 500.0
    step_4_5_m: float = 300.0
    step_5_0_m: float = 200.0
    step_5_5_m: float = 100.0
    bilateral_m: float = 20.0
    with_aid_min_m: float = 5.0

    def __post_init__(self) -> None:
        check_fields(self)


#: Neurostatus ambulation score giving a given ambulation-driven EDSS (used to reuse the decision table).
_SCORE_FOR_STEP: dict[float, int] = {
    5.0: 3, 5.5: 4, 6.0: 5, 6.5: 8, 7.0: 10, 7.5: 11, 8.0: 12, 8.5: 13, 9.0: 14, 9.5: 15, 10.0: 16,
}  # fmt: skip
_RESTRICTION_STEP: dict[Assistance, float] = {
    Assistance.WHEELCHAIR_SELF: 7.0,
    Assistance.WHEELCHAIR_WITH_HELP: 7.5,
    Assistance.BED_CHAIR: 8.0,
    Assistance.BED: 8.5,
    Assistance.HELPLESS_COMMUNICATES: 9.0,
    Assistance.HELPLESS: 9.5,
    Assistance.DEATH: 10.0,
}


def _assistance(assistance: Any) -> Assistance:
    """The walking aid or mobility level, or an `InputError` naming `assistance` and the allowed values."""
    try:
        return Assistance(assistance)
    except ValueError:
        raise InputError(
            Problem(
                "unknown assistance",
                field="assistance",
                value=assistance,
                allowed=" | ".join(a.value for a in Assistance),
            )
        ) from None


def _walking_distance_m(walking_distance_m: float | None) -> float:
    """A walking patient's distance (m), or an `InputError` naming `walking_distance_m`."""
    if walking_distance_m is None or not np.isfinite(walking_distance_m) or walking_distance_m < 0:
        raise InputError(
            Problem(
                "walking distance is required for a walking patient",
                field="walking_distance_m",
                value=walking_distance_m,
                allowed="a number >= 0 (metres)",
            )
        )
    return float(walking_distance_m)


def kurtzke_walking_step(
    walking_distance_m: float | None, assistance: Assistance | str, gaps: KurtzkeGapOptions | None = None
) -> tuple[int, str]:
    """Kurtzke 1983 walking step as an equivalent Neurostatus ambulation score, and the rule that fired.

    Kurtzke 1983 (docs/science/neuro-outcomes.md §1.5, §1.7): 4.5 ~300 m, 5.0 ~200 m, 5.5 ~100 m without aid
    or rest;
    6.0 intermittent or unilateral constant aid for ~100 m; 6.5 constant bilateral aid for ~20 m; 7.0
    cannot walk beyond ~5 m even with aid; 7.5-10 by mobility level. Gaps in the text follow
    `KurtzkeGapOptions`. Returns (ambulation score 0-16 giving the same EDSS under the §1.8 table, rule).

    >>> kurtzke_walking_step(150, "bilateral")[0]
    8
    """
    gaps = gaps or KurtzkeGapOptions()
    aid = _assistance(assistance)
    if aid in _RESTRICTION_STEP:
        step = _RESTRICTION_STEP[aid]
        return _SCORE_FOR_STEP[step], f"kurtzke_{aid.value}"
    d = _walking_distance_m(walking_distance_m)
    if aid is Assistance.NONE:
        if d >= gaps.unrestricted_m:
            return 0, "kurtzke_unrestricted"
        if d >= gaps.step_4_5_m:
            return 2, "kurtzke_no_aid_300m"
        if d >= gaps.step_5_0_m:
            return 3, "kurtzke_no_aid_200m"
        if d >= gaps.step_5_5_m:
            return 4, "kurtzke_no_aid_100m"
        return _SCORE_FOR_STEP[gaps.no_aid_under_100m_step], "kurtzke_gap_no_aid_under_100m"
    if d < gaps.with_aid_min_m:
        return 10, "kurtzke_under_5m_with_aid"
    if aid is Assistance.UNILATERAL:
        if d >= gaps.step_5_5_m:
            return 5, "kurtzke_unilateral_100m"
        return _SCORE_FOR_STEP[gaps.unilateral_under_100m_step], "kurtzke_gap_unilateral_under_100m"
    if d > gaps.bilateral_m:
        return _SCORE_FOR_STEP[gaps.bilateral_over_20m_step], "kurtzke_gap_bilateral_over_20m"
    return 8, "kurtzke_bilateral_20m"


#: §1.6 ambulation score of a mobility level that fixes it without a walking distance (wheelchair or worse).
_RESTRICTION_SCORE: dict[Assistance, int] = {
    Assistance.WHEELCHAIR_SELF: 10,
    Assistance.WHEELCHAIR_WITH_HELP: 11,
    Assistance.BED_CHAIR: 12,
    Assistance.BED: 13,
    Assistance.HELPLESS_COMMUNICATES: 14,
    Assistance.HELPLESS: 15,
    Assistance.DEATH: 16,
}

AMBULATION_0_OR_1 = "0 or 1"
"""What `neurostatus_ambulation_score` cannot tell apart: walking >= 500 m without aid is Neurostatus score
0 (unrestricted) or 1 (fully ambulatory but not unrestricted), which distance and aid do not decide."""


def neurostatus_ambulation_score(
    walking_distance_m: float | None, assistance: Assistance | str
) -> int | None:
    """The Neurostatus ambulation score (0-16) of walking recorded as distance (m) and aid, by the §1.6 table
    (docs/science/neuro-outcomes.md §1.6) with its fixed cut points, or None where distance and aid cannot
    decide it: no aid at >= 500 m is score 0 or 1 (`AMBULATION_0_OR_1`; D-19.1006).

    No aid: 300-499 m 2, 200-299 m 3, 100-199 m 4, < 100 m 5 (§1.6 row 5; < 5 m without aid stays 5: row 10
    is "< 5 m even with aid", as D-19.745 reads Kurtzke 7.0). Unilateral aid: >= 50 m 6, 5-49 m 8. Bilateral
    aid: >= 120 m 7, 5-119 m 9. Less than 5 m with aid, or wheelchair_self, 10; wheelchair_with_help 11;
    bed_chair 12; bed 13; helpless_communicates 14; helpless 15; death 16. Unlike `kurtzke_walking_step` (the
    Kurtzke 1983 step, which gives the EDSS of a Kurtzke visit), this is the score a Neurostatus examiner
    would have recorded: the one a responder on the ambulation score compares.

    >>> neurostatus_ambulation_score(150, "unilateral"), neurostatus_ambulation_score(600, "none")
    (6, None)
    """
    aid = _assistance(assistance)
    if aid in _RESTRICTION_SCORE:
        return _RESTRICTION_SCORE[aid]
    d = _walking_distance_m(walking_distance_m)
    if aid is Assistance.NONE:
        for low, score in ((500.0, None), (300.0, 2), (200.0, 3), (100.0, 4)):
            if d >= low:
                return score
        return 5
    if d < 5.0:
        return 10
    if aid is Assistance.UNILATERAL:
        return 6 if d >= 50.0 else 8
    return 7 if d >= 120.0 else 9


def edss_kurtzke(
    fs: FunctionalSystems,
    walking_distance_m: float | None,
    assistance: Assistance | str,
    options: EdssOptions | None = None,
    gaps: KurtzkeGapOptions | None = None,
) -> EdssResult:
    """EDSS with walking recorded as distance (m) and aid, Kurtzke 1983 variant
    (docs/science/neuro-outcomes.md §1.7).

    The walking step is mapped by `kurtzke_walking_step` and combined with the FS-combination rules of
    §1.8 exactly as a Neurostatus ambulation score would be; the result records both rules.

    >>> edss_kurtzke(FunctionalSystems(0, 0, 3, 0, 0, 0, 0), 150, "bilateral").edss
    6.5
    """
    gaps = gaps or KurtzkeGapOptions()
    score, walking_rule = kurtzke_walking_step(walking_distance_m, assistance, gaps)
    base = edss(fs, score, options)
    return EdssResult(
        edss=base.edss,
        rule=base.rule if base.rule != "ambulation_ge3" else walking_rule,
        rule_description=base.rule_description,
        method=EdssMethod.KURTZKE,
        converted_fs=base.converted_fs,
        ambulation_score=score,
        options={**base.options, **asdict(gaps)},
        details={
            "walking_rule": walking_rule,
            "walking_distance_m": walking_distance_m,
            "assistance": str(assistance),
        },
    )


MethodName = Literal["neurostatus_16", "kurtzke"]

__all__ = [
    "AMBULATION_0_OR_1",
    "AMBULATION_EDSS",
    "BOWEL_BLADDER_CONVERSION",
    "FS_MAX",
    "FS_NAMES",
    "PRESETS",
    "RULES",
    "VISUAL_CONVERSION",
    "Assistance",
    "EdssMethod",
    "EdssOptions",
    "EdssResult",
    "EdssRule",
    "FunctionalSystems",
    "KurtzkeGapOptions",
    "convert_fs",
    "edss",
    "edss_array",
    "edss_kurtzke",
    "kurtzke_walking_step",
    "neurostatus_ambulation_score",
    "rule_codes",
]
