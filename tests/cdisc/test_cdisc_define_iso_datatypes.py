"""define.xml declares each ISO 8601 character variable with the Define-XML data type its values have
(D-19.655).

Define-XML 2.1 takes its ItemDef DataType values from ODM 1.3.2's data formats: ``date`` is a complete
date (xs:date, YYYY-MM-DD), ``datetime`` a complete date-time (xs:dateTime, to the second, with an optional
offset), ``partialDate`` a right-truncated date (YYYY, YYYY-MM or YYYY-MM-DD) and ``partialDatetime`` a
right-truncated date-time (down to a date or a year). The example's DM.BRTHDTC holds birth years ("1965")
and was declared ``date``; AE.AESTDTC holds dates and date-times to the minute and was declared
``datetime``: a define validator reads the values against the declared type.

Each value below is checked against the format its declared type allows (patterns from the ODM 1.3.2
definitions, not from the code under test)."""

from __future__ import annotations

import re

import pandas as pd
from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
TZ = r"(Z|[+-][0-9]{2}:[0-9]{2})?"
FORMATS = {
    "date": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
    "datetime": re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?" + TZ + "$"),
    "partialDate": re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"),
    "partialDatetime": re.compile(
        r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2}(T[0-9]{2}(:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?" + TZ + ")?)?)?$"
    ),
}


def test_every_iso_8601_item_s_data_type_admits_its_values(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.spec import dataset_specs

    specs = dataset_specs()
    document = etree.parse(str(exported.out / "sdtm" / "define.xml"))
    declared = {item.get("OID"): item.get("DataType") for item in document.findall(".//odm:ItemDef", NS)}
    checked: dict[str, str] = {}
    for name, frame in exported.frames.items():
        if specs[name].standard != "SDTMIG":
            continue
        for variable in specs[name].variables:
            if variable.date != "iso8601" or variable.name not in frame.columns:
                continue
            data_type = declared[f"IT.{name}.{variable.name}"]
            assert data_type in FORMATS, (name, variable.name, data_type)
            values = [str(v) for v in pd.unique(frame[variable.name]) if isinstance(v, str) and v]
            bad = [v for v in values if not FORMATS[data_type].match(v)]
            assert not bad, (
                f"{name}.{variable.name} declared {data_type}: {len(bad)} value(s) of another form"
            )
            checked[f"{name}.{variable.name}"] = data_type
    # by hand, from the example's values: birth years; dates with date-times to the minute; dates only
    assert checked["DM.BRTHDTC"] == "partialDate"
    assert checked["AE.AESTDTC"] == "partialDatetime"
    assert checked["DM.RFICDTC"] == "date"


def test_iso_8601_durations_and_ts_dates_are_declared_as_such(exported) -> None:  # type: ignore[no-untyped-def]
    """PC.PCELTM ("P1D") and TE.TEDUR ("P28D") hold ISO 8601 durations (SDTMIG 3.4 PC, TE), TS.TSVAL for
    AGEMIN/AGEMAX a duration ("P18Y") and for SSTDTC/DCUTDTC a date (SDTMIG 3.4 TS, Appendix C1): declared
    durationDatetime and date (value level for TS), not text (D-19.660)."""
    document = etree.parse(str(exported.out / "sdtm" / "define.xml"))
    declared = {item.get("OID"): item.get("DataType") for item in document.findall(".//odm:ItemDef", NS)}
    frames = exported.frames
    expected = {"IT.PC.PCELTM": "durationDatetime", "IT.TE.TEDUR": "durationDatetime"}
    ts = frames["TS"]
    for code, data_type in (
        ("AGEMIN", "durationDatetime"),
        ("AGEMAX", "durationDatetime"),
        ("SSTDTC", "date"),
        ("DCUTDTC", "date"),
    ):
        assert code in set(ts["TSPARMCD"])
        expected[f"IT.TS.TSVAL.{code}"] = data_type
    assert {oid: declared.get(oid) for oid in expected} == expected
    # the values, by hand from the example protocol: PK days 1-270 after the infusion, a 4-day
    # lymphodepletion element, a 28-day screening element and a 29-day treatment element (infusion day 0 to
    # day 28 of the 28-day DLT window, D-19.1019), ages 18 to 75 (ISO 8601 durations PnD, PnY)
    days = (1, 4, 7, 10, 14, 21, 28, 60, 90, 180, 270)
    eltm = {v for v in pd.unique(frames["PC"]["PCELTM"]) if isinstance(v, str) and v}
    assert eltm == {f"P{d}D" for d in days}
    tedur = {v for v in pd.unique(frames["TE"]["TEDUR"]) if isinstance(v, str) and v}
    assert tedur == {"P4D", "P28D", "P29D"}
    ages = dict(zip(ts["TSPARMCD"], ts["TSVAL"], strict=True))
    assert (ages["AGEMIN"], ages["AGEMAX"]) == ("P18Y", "P75Y")
    for code in ("SSTDTC", "DCUTDTC"):
        assert all(FORMATS["date"].match(v) for v in ts.loc[ts["TSPARMCD"] == code, "TSVAL"])
    # a duration item, like a date, has no Length (Define-XML 2.1: Length for text, integer, float)
    items = {item.get("OID"): item for item in document.findall(".//odm:ItemDef", NS)}
    assert all(items[oid].get("Length") is None for oid in expected)
