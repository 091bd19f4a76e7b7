"""Every written virtual patient meets the inclusion criteria at its written consent date (D-19.876).

Before D-19.876 `simulate study` dated the drawn relapse history back from the infusion (D-19.854) while the
eligibility screen had judged it as of its end: an onset of the last vein-to-vein + 14 days, counted by the
screen, was written after the consent, and 7.3 % of the written patients (reference scenario, expansion
400, seeds 1-2) did not meet the relapse-activity criterion at their consent. Here each written patient is
screened again by the protocol engine (`cartrial.protocol.screen`) on what its written forms say at its
consent date: the subjects form (consent date, sex, birth year, AQP4-IgG) and the relapses form; the
criteria those forms cannot inform are "cannot assess", never "not met".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from cartrial.protocol import Candidate, CriterionKind, Protocol, load_protocol, screen
from cartrial.protocol.screening import CriterionStatus
from cartrial.simulation import load_scenario, prepare
from cartrial.simulation.study import simulate_study


def _rescreen(forms: dict[str, pd.DataFrame], protocol: Protocol) -> dict[str, list[str]]:
    """Subject → the inclusion criteria not met at its written consent date, and whether the relapse
    criterion was met (the example protocol's `inc_relapse_activity`)."""
    relapses = forms["relapses"]
    failed: dict[str, list[str]] = {}
    for subject in forms["subjects"].to_dict("records"):
        consent = dt.date.fromisoformat(str(subject["consent_date"]))
        onsets = relapses.loc[relapses["subject_id"] == subject["subject_id"], "onset_date"]
        candidate = Candidate.model_validate(
            {
                "id": subject["subject_id"],
                "age_years": consent.year - int(subject["birth_year"]) - 1,
                "sex": "female" if subject["sex"] == "F" else "male",
                "aqp4_igg": [
                    {
                        "result": subject["aqp4_igg_status"],
                        "assay": "fixed_cell_based",
                        "date": consent.isoformat(),
                        "titre": subject["aqp4_igg_titre"],
                    }
                ],
                "relapses": [{"onset_date": str(d)} for d in onsets],
            }
        )
        result = screen(protocol, candidate, consent)  # as of the consent: later onsets are not used
        bad = [
            c.id
            for c in result.criteria
            if c.kind is CriterionKind.INCLUSION and c.status is CriterionStatus.NOT_MET
        ]
        if result.by_id("inc_relapse_activity").status is not CriterionStatus.MET:
            bad.append("inc_relapse_activity (not met)")
        if bad:
            failed[subject["subject_id"]] = sorted(set(bad))
    return failed


def _study(
    make_scenario: Callable[..., Path], seed: int, expansion: int
) -> tuple[dict[str, pd.DataFrame], Protocol]:
    scenario, protocol_path = load_scenario(
        make_scenario({"accrual": {"candidates_per_month": 60}, "design": {"expansion_patients": expansion}})
    )
    protocol = load_protocol(protocol_path)
    prepared = prepare(scenario.model_copy(update={"pool_size": 300}), protocol, seed)
    return simulate_study(prepared, seed).forms, protocol


def test_every_written_patient_is_eligible_at_its_consent(make_scenario: Callable[..., Path]) -> None:
    forms, protocol = _study(make_scenario, 2, 60)
    assert len(forms["subjects"]) >= 60
    assert _rescreen(forms, protocol) == {}


@pytest.mark.nightly
def test_every_written_patient_is_eligible_at_its_consent_large(make_scenario: Callable[..., Path]) -> None:
    """The D-19.854 quantification's size: expansion 400, seeds 1-2 (59 of 812 failed before D-19.876)."""
    for seed in (1, 2):
        forms, protocol = _study(make_scenario, seed, 400)
        assert len(forms["subjects"]) >= 400
        assert _rescreen(forms, protocol) == {}
