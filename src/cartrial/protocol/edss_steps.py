"""The steps of the Expanded Disability Status Scale: 0, 1.0, 1.5, …, 9.5, 10 — there is no 0.5 (Kurtzke
1983; docs/science/neuro-outcomes.md §1).

The one EDSS-step rule (D-19.691): the neuro engine (`cartrial.neuro.disability`, which re-exports
`edss_step_problem`) and a screening candidate's EDSS (`cartrial.protocol.candidate.EdssRecord`) both use
it. It lives in `protocol` because engines use `protocol`, never the reverse (ARCHITECTURE.md).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from cartrial.errors import Problem

#: Every EDSS step: 0, then 1.0 to 10 by 0.5.
EDSS_STEPS: tuple[float, ...] = (0.0, *(1.0 + 0.5 * k for k in range(19)))

#: What an EDSS may be, as error messages name it.
EDSS_STEPS_TEXT = "0, 1.0, 1.5, ..., 9.5, 10"

EDSS_STEP_MESSAGE = f"EDSS must be a step of the scale: {EDSS_STEPS_TEXT} (there is no 0.5)"


def edss_step_problem(field: str, value: Any) -> Problem | None:
    """None when `value` is a step of the EDSS (`EDSS_STEPS`), else a `Problem` naming `field`.

    >>> edss_step_problem("edss", 1.5) is None, edss_step_problem("edss", 0.5).allowed
    (True, '0, 1.0, 1.5, ..., 9.5, 10')
    """
    number = float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) else math.nan
    if number not in EDSS_STEPS:
        return Problem(EDSS_STEP_MESSAGE, field=field, value=value, allowed=EDSS_STEPS_TEXT)
    return None


__all__ = ["EDSS_STEPS", "EDSS_STEPS_TEXT", "EDSS_STEP_MESSAGE", "edss_step_problem"]
