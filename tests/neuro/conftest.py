"""Shared helpers of the neuro tests."""

from __future__ import annotations

from cartrial.neuro.edss_scale import FunctionalSystems


def fs(
    visual: int = 0,
    brainstem: int = 0,
    pyramidal: int = 0,
    cerebellar: int = 0,
    sensory: int = 0,
    bowel_bladder: int = 0,
    cerebral: int = 0,
) -> FunctionalSystems:
    """Raw functional-system scores, 0 unless given (a shorthand for the EDSS test cases)."""
    return FunctionalSystems(visual, brainstem, pyramidal, cerebellar, sensory, bowel_bladder, cerebral)
