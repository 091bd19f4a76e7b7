"""The PD titre column has one meaning in three places: the protocol's record table
(`protocol.records.pd_titre_column`), the kinetics templates' default (`kinetics.templates.PD_TITRE_COLUMN`,
what `kinetics popfit --model pd` reads from a CSV with no protocol at hand) and the store's titre fields
(`store.fields`, the AQP4 titre grid). A change to one must show here (D-19.534)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartrial.errors import InputError
from cartrial.kinetics.templates import PD_TITRE_COLUMN
from cartrial.protocol import load_protocol, records
from cartrial.protocol.records import ASSESSMENT_RECORDS, Recorded, pd_titre_column
from cartrial.store.fields import DOMAIN_RULES, ProtocolSet

REFERENCE = (
    Path(__file__).resolve().parents[2] / "src" / "cartrial" / "examples" / "ct103a-nmosd" / "protocol.yaml"
)


def test_the_reference_protocol_s_titre_is_the_templates_default() -> None:
    assert pd_titre_column(load_protocol(REFERENCE).collected_assessments) == PD_TITRE_COLUMN


def test_every_titre_column_is_a_titre_field_of_the_store() -> None:
    titres = [(name, c) for name, r in ASSESSMENT_RECORDS.items() if r.titre for c in r.columns]
    assert titres  # AQP4-IgG at least
    for name, column in titres:
        assert ASSESSMENT_RECORDS[name].form == "pd_samples", name
        assert DOMAIN_RULES["pd_sample"][column].protocol_set is ProtocolSet.AQP4_TITRE, column


def test_two_titres_collected_are_refused_not_one_guessed(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a second titre assessment collected, which antibody the PD model is fitted on is not the code's
    to pick: a clear error at ``schedule`` naming both columns (none of a record's values)."""
    second = Recorded("pd_samples", ("mog_igg_titre",), titre=True)
    monkeypatch.setattr(records, "ASSESSMENT_RECORDS", {**ASSESSMENT_RECORDS, "mog_igg": second})
    assert pd_titre_column({"pd", "mog_igg"}) == "mog_igg_titre"
    with pytest.raises(InputError) as caught:
        pd_titre_column({"pd", "aqp4_igg", "mog_igg"})
    [problem] = caught.value.problems
    assert problem.field == "schedule" and "aqp4_igg_titre" in problem.message
    assert "mog_igg_titre" in problem.message and "collect one titre assessment" in (problem.allowed or "")
