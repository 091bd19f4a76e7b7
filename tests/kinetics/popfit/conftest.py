"""Fixtures of the population-fit tests."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

FEW_DRAWS = {"is_draws": 200, "fim_draws": 300, "polish_draws": 100, "polish_final_draws": 300}
"""Importance-sampling draws per subject of `fewer_draws` (the defaults: 1000, 2000, 300, 2000)."""


@contextlib.contextmanager
def fewer_draws() -> Iterator[None]:
    """Every `cartrial kinetics popfit` run inside builds its `SaemSettings` with `FEW_DRAWS`
    importance-sampling draws (the -2LL, the final maximisation, the observed Fisher information), the
    other settings as typed (--k1, --k2, --seed, --proposal): for the tests of the command's plumbing (what
    it reads, names, labels and writes), whose assertions do not depend on the precision of the -2LL or of
    the standard errors. The fits whose numbers are checked (recovery, agreement with nlme or the exact MLE,
    the Fisher information itself) keep the defaults."""
    from cartrial.kinetics import popfit

    defaults = popfit.SaemSettings

    def with_few_draws(**settings: Any) -> Any:
        fewer = {name: draws for name, draws in FEW_DRAWS.items() if name not in settings}
        return dataclasses.replace(defaults(**settings), **fewer)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(popfit, "SaemSettings", with_few_draws)
        yield


@pytest.fixture
def few_draws() -> Iterator[None]:
    """`fewer_draws` for this test."""
    with fewer_draws():
        yield
