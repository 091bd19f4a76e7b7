"""ADTTE TTRELAP censoring says where its time comes from (D-19.127): the relapse analysis's `post_days`,
the end of the relapse follow-up — the last contact by default, which no SDTM/ADaM variable holds, or the
end of follow-up (ADSL.FUPDUR) with `relapse_follow_up_end: cutoff`. The export cited ADSL.FUPDUR for
both, although by default the time differs from FUPDUR."""

from __future__ import annotations

import dataclasses

import pandas as pd


def _adtte_and_adsl(snapshot, frames=None):  # type: ignore[no-untyped-def]
    """TTRELAP's censored records and their subjects' ADSL.FUPDUR in the export of `snapshot` (`frames`:
    that export's frames when built already, `example_frames` of the unchanged example)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    if frames is None:
        frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    findings = validate_all(frames)
    assert all(v == [] for v in findings.values()), {k: v[:2] for k, v in findings.items() if v}
    adtte = frames["ADTTE"]
    censored = adtte[(adtte["PARAMCD"] == "TTRELAP") & (adtte["CNSR"] == 1)]
    fupdur = frames["ADSL"].set_index("USUBJID")["FUPDUR"]
    return censored, censored["USUBJID"].map(fupdur)


def test_censored_ttrelap_by_default_does_not_cite_fupdur(exported, example_frames) -> None:  # type: ignore[no-untyped-def]
    censored, fupdur = _adtte_and_adsl(exported.snapshot, example_frames)
    assert len(censored) > 0
    # by default the relapse follow-up ends at the last contact, before the cut-off for some subjects
    assert (censored["AVAL"] != fupdur).any()
    assert "ADSL" not in set(censored["SRCDOM"]) and "FUPDUR" not in set(censored["SRCVAR"])


def test_censored_ttrelap_at_the_last_contact_cites_dm_rfpendtc_when_it_is_that_date(example_frames) -> None:  # type: ignore[no-untyped-def]
    """D-19.257: the censoring date of TTRELAP (last contact) is DM.RFPENDTC for a subject whose last
    record of any kind is that contact; it then names DM/RFPENDTC, and nothing when the dates differ."""
    frames = example_frames
    adtte = frames["ADTTE"]
    censored = adtte[(adtte["PARAMCD"] == "TTRELAP") & (adtte["CNSR"] == 1)]
    rfpendtc = censored["USUBJID"].map(frames["DM"].set_index("USUBJID")["RFPENDTC"]).astype(str).str[:10]
    adt = censored["ADT"].map(lambda d: d.isoformat() if hasattr(d, "isoformat") else "")
    same = (adt == rfpendtc).to_numpy()
    assert same.any()  # the example has censored subjects whose last contact is their last record
    cited = censored[same]
    assert set(cited["SRCDOM"]) == {"DM"} and set(cited["SRCVAR"]) == {"RFPENDTC"}
    assert cited["SRCSEQ"].isna().all()  # DM has no sequence number
    other = censored[~same]
    assert set(other["SRCDOM"]) <= {""} and set(other["SRCVAR"]) <= {""}


def test_censored_ttrelap_to_the_cutoff_is_fupdur_and_says_so(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.protocol import parse_protocol

    snapshot = exported.snapshot
    text = snapshot.protocol_yaml.replace(
        "relapse_follow_up_end: last_contact", "relapse_follow_up_end: cutoff"
    )
    assert "relapse_follow_up_end: cutoff" in text
    changed = dataclasses.replace(snapshot, protocol=parse_protocol(text), protocol_yaml=text)
    censored, fupdur = _adtte_and_adsl(changed)
    assert len(censored) > 0
    pd.testing.assert_series_equal(censored["AVAL"], fupdur, check_names=False)
    assert set(censored["SRCDOM"]) == {"ADSL"} and set(censored["SRCVAR"]) == {"FUPDUR"}


def test_define_says_fupdur_runs_to_the_cutoff_not_the_last_contact(exported, example_frames) -> None:  # type: ignore[no-untyped-def]
    """D-19.261: ADSL.FUPDUR of a subject on study runs to the cut-off (potential follow-up), past the last
    contact (DM.RFPENDTC); its Define-XML method said only "analysis populations.follow_up_days"."""
    import xml.etree.ElementTree as ET

    frames = example_frames
    adsl = frames["ADSL"].set_index("USUBJID")
    dm = frames["DM"].set_index("USUBJID")
    last = pd.to_datetime(dm["RFPENDTC"].str[:10]) - pd.to_datetime(dm["RFSTDTC"].str[:10])
    on_study = adsl["EOSSTT"] == "ONGOING"
    # the example has a subject on study whose follow-up to the cut-off exceeds the days to the last contact
    assert (adsl.loc[on_study, "FUPDUR"] > last.dt.days[on_study]).any()
    root = ET.parse(exported.out / "adam" / "define.xml").getroot()
    texts = {
        m.get("OID"): "".join(m.itertext()) for m in root.iter("{http://www.cdisc.org/ns/odm/v1.3}MethodDef")
    }
    text = texts["MT.ADSL.FUPDUR"]
    assert "cut-off" in text and "RFPENDTC" in text
    assert "to the cut-off for a subject on study" in texts["MT.ADTTE.AVAL"]  # TTCRSON censored at FUPDUR
