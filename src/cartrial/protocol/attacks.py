"""The one rule that merges close relapse onsets into attacks, shared by screening and the neuro engine.

An onset less than ``merge_window_days`` days after the anchor of the current attack belongs to that
attack (strict "<"; default 30 days). The anchor is the attack's first onset (``first``, default) or its
latest merged onset (``chain``). Each attack is dated by its first onset. Sources: the < 30-day
convention for counting separate NMOSD/MS attacks (Thompson AJ et al., *Lancet Neurol* 2018;17:162; as
implemented in PyPI ``msclinical`` 0.1.0 ``relapses``); the ``chain`` anchoring is an option, not a
published rule. See ``docs/science/`` (neuro outcomes) for the choices.

The eligibility rule (`cartrial.protocol.screening`) merges plain onset dates with `merge_onset_dates`;
the neuro engine (`cartrial.neuro.merge_attacks`) merges recorded episodes with the same `group_onsets`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum


class MergeAnchor(StrEnum):
    """How the merging window is anchored.

    ``first`` (default): a new onset joins the current attack if it is within the window of the attack's
    *first* onset. ``chain``: within the window of the most recent merged onset (an attack can then grow
    beyond the window).
    """

    FIRST = "first"
    CHAIN = "chain"


def group_onsets(
    onsets: Sequence[date], merge_window_days: int | None, anchor: MergeAnchor | str = MergeAnchor.FIRST
) -> list[list[int]]:
    """Positions of `onsets` grouped into attacks, in onset order (ties keep their input order).

    ``merge_window_days=None`` keeps every onset as its own attack.

    >>> from datetime import date
    >>> group_onsets([date(2020, 1, 1), date(2020, 1, 25), date(2020, 2, 20)], 30)
    [[0, 1], [2]]
    >>> group_onsets([date(2020, 1, 1), date(2020, 1, 25), date(2020, 2, 20)], 30, "chain")
    [[0, 1, 2]]
    """
    return group_day_onsets([onset.toordinal() for onset in onsets], merge_window_days, anchor)


def group_day_onsets(
    days: Sequence[int], merge_window_days: int | None, anchor: MergeAnchor | str = MergeAnchor.FIRST
) -> list[list[int]]:
    """Positions of onsets given as whole-day numbers (any day origin; `date.toordinal` for dates) grouped
    into attacks, in onset order (ties keep their input order): the one rule of `group_onsets`, which calls
    it with the dates' ordinals, for callers that place onsets on day numbers (the simulation, D-19.1320).

    >>> group_day_onsets([0, 24, 50], 30), group_day_onsets([0, 24, 50], 30, "chain")
    ([[0, 1], [2]], [[0, 1, 2]])
    """
    try:
        how = MergeAnchor(anchor)
    except ValueError:
        raise ValueError(f"anchor must be 'first' or 'chain', got {anchor!r}") from None
    if merge_window_days is not None and merge_window_days < 0:
        raise ValueError(f"merge_window_days must be >= 0, got {merge_window_days}")
    order = sorted(range(len(days)), key=lambda i: days[i])
    groups: list[list[int]] = []
    for i in order:
        if groups and merge_window_days is not None:
            group = groups[-1]
            reference = days[group[0]] if how is MergeAnchor.FIRST else days[group[-1]]
            if days[i] - reference < merge_window_days:
                group.append(i)
                continue
        groups.append([i])
    return groups


def merge_onset_dates(
    onsets: Sequence[date], merge_window_days: int | None, anchor: MergeAnchor | str = MergeAnchor.FIRST
) -> list[date]:
    """Onset dates of the attacks after merging (`group_onsets`), each attack dated by its first onset.

    >>> from datetime import date
    >>> merge_onset_dates([date(2020, 1, 25), date(2020, 1, 1), date(2020, 3, 1)], 30)
    [datetime.date(2020, 1, 1), datetime.date(2020, 3, 1)]
    """
    return [onsets[group[0]] for group in group_onsets(onsets, merge_window_days, anchor)]


__all__ = ["MergeAnchor", "group_day_onsets", "group_onsets", "merge_onset_dates"]
