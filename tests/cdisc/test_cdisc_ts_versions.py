"""TS names how many subjects the study enrolled and which SDTM model and IG the datasets follow (D-19.258):
a reviewer reads TS first, and the export had neither ACTSUB nor SDTIGVER/SDTMVER."""

from __future__ import annotations

import pandas as pd


def _frames(snapshot):  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all, validate_all

    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    findings = validate_all(frames)
    assert findings["TS"] == [], findings["TS"][:3]
    return frames


def _ts(frames: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    ts = frames["TS"]
    out: dict[str, list[str]] = {}
    for code, value in zip(ts["TSPARMCD"], ts["TSVAL"], strict=True):
        out.setdefault(str(code), []).append(str(value))
    return out


def test_ts_actsub_is_the_number_of_enrolled_subjects(exported) -> None:  # type: ignore[no-untyped-def]
    frames = _frames(exported.snapshot)
    ts = _ts(frames)
    enrolled = int((frames["ADSL"]["ENRLFL"] == "Y").sum())
    assert enrolled > 0
    assert ts["ACTSUB"] == [str(enrolled)]


def test_ts_names_the_sdtm_ig_and_model_versions(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.define import IG_VERSIONS

    ts = _ts(_frames(exported.snapshot))
    assert ts["SDTIGVER"] == [IG_VERSIONS["SDTMIG"]]
    # SDTMIG 3.4 implements SDTM v2.0
    assert ts["SDTMVER"] == ["2.0"]
    frame = _frames(exported.snapshot)["TS"]
    parms = dict(zip(frame["TSPARMCD"], frame["TSPARM"], strict=True))
    assert parms["ACTSUB"] == "Actual Number of Subjects"
    assert parms["SDTIGVER"] == "SDTM IG Version"
    assert parms["SDTMVER"] == "SDTM Version"
