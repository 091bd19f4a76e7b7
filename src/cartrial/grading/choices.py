"""The named options (enums) of the grading engine, in a module light enough for the command line to import
at start-up (no numpy or pandas): fever-masking drug classes, episode grading unit and resolution rule,
masked-episode resolution, and how ICAHT treats unsampled days. Each enum documents its values, the default
and the source of the choice; the engines re-export them from their own modules.
"""

from __future__ import annotations

from enum import StrEnum


class MaskingClasses(StrEnum):
    """Which drug classes mask fever (ambiguity A2).

    ``antipyretic_anticytokine_corticosteroid`` (default): PMC8021214 includes antipyretics, the broader
    rule. ``anticytokine_corticosteroid``: the JITC rendering names only tocilizumab or steroids.

    >>> sorted(MaskingClasses.ANTICYTOKINE_CORTICOSTEROID.therapies)
    ['anakinra', 'corticosteroid', 'tocilizumab']
    """

    ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID = "antipyretic_anticytokine_corticosteroid"
    ANTICYTOKINE_CORTICOSTEROID = "anticytokine_corticosteroid"

    @property
    def therapies(self) -> frozenset[str]:
        """Therapy categories (as in the therapies form) that mask fever under this setting."""
        anti_cytokine = {"tocilizumab", "anakinra", "corticosteroid"}
        if self is MaskingClasses.ANTIPYRETIC_ANTICYTOKINE_CORTICOSTEROID:
            return frozenset(anti_cytokine | {"antipyretic"})
        return frozenset(anti_cytokine)


class GradingUnit(StrEnum):
    """What one grade is given to (ambiguity A6): ``day`` (default [P]: per calendar day relative to the
    infusion, worst values of the day) or ``assessment`` (each assessment on its own)."""

    DAY = "day"
    ASSESSMENT = "assessment"


class RowMasking(StrEnum):
    """The CRS fever-masking rule of the episodes and of each assessment's grade alike (D-19.1355,
    D-19.1356): the ``masking`` argument of `cartrial.grading.crs_episodes`, `derive_crs_episodes`,
    `derive_crs_assessment_grades`, `derive_crs_episodes_and_grades` and `derive_graded_events`; in the
    analysis the protocol's ``analysis.options.crs_masking`` (default ``after_fever``).

    ``after_fever`` (default, D-19.1308): a row's ``fever_masked`` flag, or a masking drug of the therapies
    list, masks only at or after a CRS fever recorded after the infusion, carried to the resolution
    (ASTCT 2019, Lee DW et al., BBMT 2019;25:625, CRS table footnote, JITC rendering: fever is not needed for
    *subsequent* grading; docs/science/toxicity-grading.md §1.3 ``fever_seen_in_episode``). ``recorded``: the
    row's flag masks as the investigator recorded it, no earlier CRS fever needed (the masking drugs still
    count only from a CRS fever); such rows, and the rows the masking carries to, are labelled in their
    grade reason. Both need the infusions; the per-row grader without infusions
    (`cartrial.grading.derive_crs_grades`) always takes the flag as recorded, labelled."""

    AFTER_FEVER = "after_fever"
    RECORDED = "recorded"


class ResolutionRule(StrEnum):
    """When an episode ends (ambiguity A6).

    ``recorded`` (default [P]): at the investigator-recorded resolution (``crs_resolved=true``) when one is
    recorded during the episode — it wins over an earlier grade-0 unit — falling back to the first grade-0
    unit after onset when none is recorded. ``first_grade_0``: at the first grade-0 unit, ignoring recorded
    resolutions."""

    RECORDED = "recorded"
    FIRST_GRADE_0 = "first_grade_0"


class MaskedResolution(StrEnum):
    """How a CRS episode whose fever is masked (antipyretic / anti-cytokine / corticosteroid therapy given
    for CRS) resolves when the investigator records no resolution.

    ``afebrile_stable`` (default): masking ends, and the episode can resolve, once the subject has been free
    of fever, hypotension and oxygen need for `masked_stable_hours` (default 24 h) after the last masking drug
    — a grade-1-by-masking unit then counts as grade 0. The ASTCT 2019 text (Lee DW et al., BBMT
    2019;25:625, CRS table footnote) makes fever unnecessary for grading *subsequent* CRS after such
    therapy; it does not make an episode with no hypotension and no hypoxia last for ever. The 24 h period
    matches the 24-hour stability commonly required before de-escalating CRS care (project choice, stated
    in docs/grading.md). ``until_recorded``: masking is carried until ``crs_resolved`` is recorded (the
    behaviour before this option existed; such episodes stay ongoing without a recorded resolution)."""

    AFEBRILE_STABLE = "afebrile_stable"
    UNTIL_RECORDED = "until_recorded"


class UnsampledDays(StrEnum):
    """How days between sparse counts are treated in ICAHT (ambiguity H4).

    ``linear`` (default): the count of an unsampled day is interpolated linearly (on the count scale)
    between the neighbouring counts, as the published grader does, and the day is below the threshold when
    the interpolated count is; grading ends at the last count. The grader interpolates at most 7
    consecutive unsampled days: `IcahtOptions.max_interpolated_days` (decisions D-3.5).
    Source: the EHA/EBMT consensus (Rejeski K et al., Blood
    2023;142:865-877) grades the duration of neutropenia from the ANC course; the open-source ICAHT grader
    published with it interpolates linearly between measurements. ``locf``: the most recent count on or
    before the day is carried forward (the default before). ``sampled_only``: only days with a count are
    counted.
    """

    LINEAR = "linear"
    LOCF = "locf"
    SAMPLED_ONLY = "sampled_only"


__all__ = [
    "GradingUnit",
    "MaskedResolution",
    "MaskingClasses",
    "ResolutionRule",
    "RowMasking",
    "UnsampledDays",
]
