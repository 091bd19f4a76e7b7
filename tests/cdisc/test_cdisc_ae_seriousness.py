"""D-19.328: SDTM AE carried AESER but none of the seriousness criteria AESDTH, AESLIFE, AESHOSP,
AESDISAB, AESCONG, AESMIE, which FDA expects whenever AESER = Y (SDTMIG 3.4 AE; ICH E2A §II.B). The example's
one serious event (CT-006's grade 3 pneumonia) required hospitalisation (example study README): AESHOSP = Y
and the other criteria N; a non-serious event has every criterion null (SDTMIG: the criteria are expected
when AESER = Y)."""

from __future__ import annotations

CRITERIA = ("AESDTH", "AESLIFE", "AESHOSP", "AESDISAB", "AESCONG", "AESMIE")


def test_a_serious_event_carries_its_criteria_and_others_none(exported) -> None:  # type: ignore[no-untyped-def]
    ae = exported.frames["AE"]
    assert set(CRITERIA) <= set(ae.columns)
    serious = ae[ae["AESER"] == "Y"]
    (pneumonia,) = serious[serious["AETERM"].str.upper() == "PNEUMONIA"].to_dict("records")
    assert pneumonia["USUBJID"].endswith("CT-006")
    assert [pneumonia[name] for name in CRITERIA] == ["N", "N", "Y", "N", "N", "N"]
    not_serious = ae[ae["AESER"] != "Y"]
    assert len(not_serious) and (not_serious[list(CRITERIA)].astype(str) == "").all().all()


def test_the_criteria_are_collected_variables_of_the_spec_with_the_ny_codelist() -> None:
    from cartrial.cdisc.spec import dataset_specs

    variables = {v.name: v for v in dataset_specs()["AE"].variables}
    names = list(variables)
    assert names.index("AESER") < names.index("AESDTH")
    for name in CRITERIA:
        assert variables[name].origin == "Collected", name
        assert variables[name].codelist == "NY", name
        assert variables[name].core == "Perm", name  # SDTMIG 3.4 AE: Perm (expected with AESER = Y by FDA)
