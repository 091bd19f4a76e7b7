"""SDTM SE (Subject Elements, SDTMIG 3.4 §5.3; D-19.255): the elements each subject actually passed through.
The export had TE and TA (the planned elements) but no SE, so a reviewer could not see when each subject
entered each element, nor check the EPOCH of any record against the subject's own elements. These tests
check SE against DM and against the EPOCH every other domain assigns, read independently of the builder."""

from __future__ import annotations

import dataclasses

import pandas as pd

NEW = "CT-099"


def _by_subject(se: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(k): g.sort_values("SESEQ") for k, g in se.groupby("USUBJID")}


def test_every_subject_has_contiguous_elements_in_chronological_order(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import validate_all

    frames = exported.frames
    assert "SE" in frames and validate_all({"SE": frames["SE"]})["SE"] == []
    se, dm, ta = frames["SE"], frames["DM"].set_index("USUBJID"), frames["TA"]
    planned = {(r.ETCD, r.TAETORD, r.EPOCH) for r in ta.itertuples()}
    subjects = _by_subject(se)
    assert set(subjects) == set(dm.index)
    for usubjid, rows in subjects.items():
        assert list(rows["SESEQ"]) == list(range(1, len(rows) + 1))
        starts, ends = list(rows["SESTDTC"]), list(rows["SEENDTC"])
        assert starts == sorted(starts)  # SESEQ is chronological (assumption 5)
        assert ends[:-1] == starts[1:]  # no gaps (assumption 8)
        assert rows["ETCD"].iloc[0] == "SCRN" and starts[0] == dm.loc[usubjid, "RFICDTC"]
        for r in rows.itertuples():
            assert (r.ETCD, r.TAETORD, r.EPOCH) in planned  # every element as planned in TA
        cart = rows[rows["ETCD"] == "CART"]
        assert list(cart["SESTDTC"]) == [dm.loc[usubjid, "RFSTDTC"]]
        assert (cart["SESTDY"] == 1).all()
        if ends[-1]:  # a closed last element ends the participation
            assert ends[-1] == dm.loc[usubjid, "RFPENDTC"]


def test_the_epoch_of_every_record_is_the_epoch_of_the_subject_element_it_falls_in(exported) -> None:  # type: ignore[no-untyped-def]
    """SDTMIG 3.4 §4.1.3.1: EPOCH of a record is the epoch of the element the subject was in on its date."""
    frames = exported.frames
    subjects = _by_subject(frames["SE"])
    checked = 0
    for name, frame in frames.items():
        if name == "SE" or "EPOCH" not in frame.columns or "USUBJID" not in frame.columns:
            continue
        dtc = next((c for c in frame.columns if c in (f"{name}DTC", f"{name}STDTC")), None)
        if dtc is None:
            continue
        for usubjid, day, epoch in zip(
            frame["USUBJID"], frame[dtc].astype(str).str[:10], frame["EPOCH"], strict=True
        ):
            rows = subjects.get(str(usubjid))
            if not epoch or len(day) != 10 or rows is None or day < rows["SESTDTC"].iloc[0][:10]:
                continue
            starts = [s[:10] for s in rows["SESTDTC"]]
            inside = [i for i, s in enumerate(starts) if s <= day]
            # the element of the day: the last one started on or before it (a later start the same day wins)
            assert rows["EPOCH"].iloc[inside[-1]] == epoch, (name, usubjid, day)
            checked += 1
    assert checked > 100


def test_a_subject_never_infused_passed_through_screening_only(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"]
    row = subjects.iloc[0].to_dict() | {"subject_id": NEW, "screening_number": "S-099", "record_id": "999999"}
    tables["subjects"] = pd.concat([subjects, pd.DataFrame([row])], ignore_index=True)
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    usubjid = frames["DM"].set_index("SUBJID").loc[NEW, "USUBJID"]
    rows = frames["SE"][frames["SE"]["USUBJID"] == usubjid]
    assert list(rows["ETCD"]) == ["SCRN"] and list(rows["EPOCH"]) == ["SCREENING"]
    assert rows["TAETORD"].isna().all()  # assigned to no arm (assumption 6)
    assert list(rows["SEENDTC"]) == [""]  # still in screening: open


def test_follow_up_starts_at_the_window_end_and_the_last_element_closes_at_the_study_end(
    exported,
) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all
    from cartrial.cdisc.sdtm import LAST_DATE_COLUMNS

    window = int(exported.snapshot.protocol.escalation.dlt_window_days)
    tables = dict(exported.snapshot.tables)
    subjects = tables["subjects"].copy()
    sid = str(subjects["subject_id"].iloc[0])
    infused = str(tables["infusions"].set_index("subject_id").loc[sid, "infused_at"])[:10]
    end = dt.date.fromisoformat(infused) + dt.timedelta(days=window - 3)  # withdrawn inside the DLT window
    subjects.loc[subjects["subject_id"] == sid, ["disposition", "disposition_date"]] = [
        "withdrawn",
        end.isoformat(),
    ]
    tables["subjects"] = subjects
    for name, frame in tables.items():  # the records after the withdrawal are not in a snapshot of that study
        for column in set(LAST_DATE_COLUMNS) - {"disposition_date"}:
            if column in frame.columns and "subject_id" in frame.columns:
                late = (frame["subject_id"] == sid) & (frame[column].astype(str).str[:10] > end.isoformat())
                frame = frame[~late]
        tables[name] = frame
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    frames = build_all(snapshot, analyse(snapshot), {"TJH": "China"})
    dm = frames["DM"].set_index("SUBJID")
    rows = frames["SE"][frames["SE"]["USUBJID"] == dm.loc[sid, "USUBJID"]]
    assert "FU" not in set(rows["ETCD"])  # never reached the follow-up
    assert rows["SEENDTC"].iloc[-1] == dm.loc[sid, "RFPENDTC"] != ""
    # the others who passed day `window`, the last day of the DLT window (days 0 to `window` inclusive, as the
    # DLT assessment counts it; D-19.1019), entered follow-up the day after
    se = exported.frames["SE"]
    fu = se[se["ETCD"] == "FU"]
    dm_all = exported.frames["DM"].set_index("USUBJID")
    assert len(fu)
    for r in fu.itertuples():
        infusion = dt.date.fromisoformat(dm_all.loc[r.USUBJID, "RFSTDTC"][:10])
        assert (infusion + dt.timedelta(days=window + 1)).isoformat() == r.SESTDTC
        assert window + 2 == r.SESTDY  # study day 1 is the infusion day
