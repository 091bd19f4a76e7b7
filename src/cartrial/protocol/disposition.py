"""A subject's disposition: the one vocabulary of the subjects form's ``disposition`` field (D-19.92).

The field holds one word, optionally followed by ``: reason`` in free text (``withdrawn: moved abroad``):

| word | end-of-study status (ADaM ADSL.EOSSTT) | disposition event (SDTM DS.DSDECOD, NCOMPLT C66727) |
|---|---|---|
| ``ongoing`` | ONGOING | none (not a disposition event) |
| ``completed`` | COMPLETED | COMPLETED (C25250) |
| ``withdrawn`` | DISCONTINUED | WITHDRAWAL BY SUBJECT (C49634) |
| ``lost`` | DISCONTINUED | LOST TO FOLLOW-UP (C48227) |
| ``death`` | DISCONTINUED | DEATH (C28554) |

The word is case-insensitive and may also be written as its decoded term (``lost to follow-up``,
``withdrawal by subject``); blank means ongoing. Every write path refuses any other text (the field
rule's `DISPOSITION_PATTERN`); the analysis reads the stored text with `parse_disposition`, the one parser
(`cartrial.analysis.populations.end_of_study`). Sources: CDISC SDTM CT NCOMPLT (C66727, 2025-03-28) for the
decoded terms; ADaMIG v1.3 §3.2 (ADSL EOSSTT: COMPLETED, DISCONTINUED, ONGOING).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from cartrial.columns import ONE_LINE_CHARACTER, trim_blanks


class StudyStatus(StrEnum):
    """End-of-study status of a subject at the data cut-off (ADaMIG v1.3 ADSL.EOSSTT)."""

    ONGOING = "ONGOING"
    COMPLETED = "COMPLETED"
    DISCONTINUED = "DISCONTINUED"


STUDY_ENDED: frozenset[str] = frozenset({StudyStatus.COMPLETED.value, StudyStatus.DISCONTINUED.value})
"""The end-of-study statuses of a subject whose study ended (EOSSTT other than ONGOING)."""


@dataclass(frozen=True)
class Disposition:
    """What one disposition word means."""

    word: str
    """The word as written on the subjects form (lower case)."""
    status: StudyStatus
    decoded: str
    """The SDTM disposition event (DS.DSDECOD, NCOMPLT); empty for ``ongoing``."""

    @property
    def ends_study(self) -> bool:
        """Whether the word records an end of study (every word but ``ongoing``)."""
        return self.status is not StudyStatus.ONGOING

    def spellings(self) -> tuple[str, ...]:
        """The word and its decoded term, lower case (each accepted on the form)."""
        return tuple(dict.fromkeys(s for s in (self.word, self.decoded.lower()) if s))


DISPOSITIONS: dict[str, Disposition] = {
    d.word: d
    for d in (
        Disposition("ongoing", StudyStatus.ONGOING, ""),
        Disposition("completed", StudyStatus.COMPLETED, "COMPLETED"),
        Disposition("withdrawn", StudyStatus.DISCONTINUED, "WITHDRAWAL BY SUBJECT"),
        Disposition("lost", StudyStatus.DISCONTINUED, "LOST TO FOLLOW-UP"),
        Disposition("death", StudyStatus.DISCONTINUED, "DEATH"),
    )
}
"""The disposition words in form order (module docstring)."""

DEATH = DISPOSITIONS["death"]

_SPELLINGS = {spelling: d for d in DISPOSITIONS.values() for spelling in d.spellings()}


def _any_case(text: str) -> str:
    """`text` as a pattern that matches it in any case, without an inline flag: each letter a class of its
    two cases (``lost`` → ``[lL][oO][sS][tT]``); the spellings hold only letters, spaces and hyphens."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in text)


_WORDS = "|".join(_any_case(s) for s in sorted(_SPELLINGS, key=len, reverse=True))

DISPOSITION_PATTERN = "(" + _WORDS + r")( *:" + ONE_LINE_CHARACTER + "*)?"
"""A stored ``disposition`` (`re.fullmatch` of the stripped text): a word of `DISPOSITIONS` (or its decoded
term) in any case, then optionally ``:`` and a free-text reason on one line — no control character and no
line break of `str.splitlines`, U+2028, U+2029 and NEL included (`cartrial.columns.ONE_LINE_CHARACTER`,
D-19.128). Written without inline flags or escapes other than hexadecimal ones, so that the field rule's
published pattern is also a valid JSON Schema (ECMA 262) pattern for API clients."""

DISPOSITION_TEXT = (
    "one of "
    + ", ".join(DISPOSITIONS)
    + " (or its CDISC term, e.g. 'lost to follow-up'), optionally followed by ': reason' "
    "(e.g. 'withdrawn: moved abroad')"
)
"""`DISPOSITION_PATTERN` in words (shown with every refused value and next to the form field)."""

_PATTERN = re.compile(DISPOSITION_PATTERN)


def parse_disposition(text: str | None) -> Disposition | None:
    """The disposition a stored ``disposition`` text records: blank → ``ongoing``; text that is not of the
    form `DISPOSITION_PATTERN` (a value stored before the rule, D-19.92) → None.

    >>> parse_disposition("Withdrawn: moved abroad").decoded
    'WITHDRAWAL BY SUBJECT'
    >>> parse_disposition("").status, parse_disposition("left the study")
    (<StudyStatus.ONGOING: 'ONGOING'>, None)
    """
    if text is None or not trim_blanks(str(text)):
        return DISPOSITIONS["ongoing"]
    match = _PATTERN.fullmatch(trim_blanks(str(text)))
    return None if match is None else _SPELLINGS[match.group(1).lower()]


def reported_term(text: str) -> str:
    """The disposition as reported (SDTM DS.DSTERM): the stripped text, without the ``:`` of an empty reason
    (``death:`` → ``death``; D-19.115); a text outside `DISPOSITION_PATTERN` is returned stripped.

    >>> reported_term(" Withdrawn : "), reported_term("lost: moved abroad")
    ('Withdrawn', 'lost: moved abroad')
    """
    stripped = trim_blanks(str(text))
    match = _PATTERN.fullmatch(stripped)
    if match is None or (match.group(2) or "").strip(" :"):
        return stripped
    return match.group(1)


def ended_before_death(disposition: Disposition | None, ended_on: dt.date | None, died: dt.date) -> bool:
    """Whether an end of study other than a death — completed, withdrawn, lost — dated `ended_on` comes
    strictly before the date of death `died`: the study ended first, and the death (learnt in follow-up)
    does not move that end (D-19.92). The one rule of the analysis's end of study
    (`cartrial.analysis.populations.end_of_study`) and the store's edit check FATAL-AE-DISPOSITION
    (D-19.124). An undated end, or one dated on or after the death, is not: the death is the end.

    >>> day = dt.date(2021, 6, 12)
    >>> ended_before_death(DISPOSITIONS["withdrawn"], dt.date(2021, 6, 1), day)
    True
    >>> ended_before_death(DISPOSITIONS["withdrawn"], day, day), ended_before_death(DEATH, None, day)
    (False, False)
    """
    return (
        disposition is not None
        and disposition.ends_study
        and disposition is not DEATH
        and ended_on is not None
        and ended_on < died
    )


__all__ = [
    "DEATH",
    "DISPOSITIONS",
    "DISPOSITION_PATTERN",
    "DISPOSITION_TEXT",
    "STUDY_ENDED",
    "Disposition",
    "StudyStatus",
    "ended_before_death",
    "parse_disposition",
    "reported_term",
]
