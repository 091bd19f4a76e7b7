"""Each character variable is written as wide as its longest value across the study's datasets, in the XPT
file, the Dataset-JSON file and define.xml (D-19.657).

The FDA Study Data Technical Conformance Guide (SAS transport files, variable lengths) asks for the allotted
length of a character column to be the maximum length of the variable used across all datasets in the
study, except for SUPPQUAL datasets, where it is the maximum within the individual dataset: not a padded
one (a validator's "variable length is too long for actual data"), and one width for a variable of the same
name (VISIT in LB and in VS). TI.IETEST was written 200 wide because its spec gave `length: 200`, the SDTM
limit of the value, while the example's longest criterion is far shorter. Expected widths are counted here
from the values."""

from __future__ import annotations

import json

import pandas as pd
import pyreadstat
from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def _longest(frame: pd.DataFrame, column: str) -> int:
    return max([1, *(len(v) for v in pd.unique(frame[column]) if isinstance(v, str))])


def test_every_character_variable_is_as_wide_as_its_longest_value(exported) -> None:  # type: ignore[no-untyped-def]
    frames = exported.frames
    study: dict[str, int] = {}  # the longest value of each variable over the datasets other than SUPP--
    for name, frame in frames.items():
        if not name.startswith("SUPP"):
            for column in frame.columns:
                if frame[column].dtype == object and any(isinstance(v, str) for v in frame[column]):
                    study[column] = max(study.get(column, 1), _longest(frame, column))
    checked = 0
    wider_than_own = set()
    for standard in ("sdtm", "adam"):
        define = etree.parse(str(exported.out / standard / "define.xml"))
        lengths = {i.get("OID"): i.get("Length") for i in define.findall(".//odm:ItemDef", NS)}
        for path in sorted((exported.out / standard).glob("*.xpt")):
            name = path.stem.upper()
            _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
            frame = frames[name]
            document = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
            json_lengths = {c["name"]: c.get("length") for c in document["columns"]}
            for column, kind in meta.readstat_variable_types.items():
                if kind != "string":
                    continue
                own = _longest(frame, column)
                expected = own if name.startswith("SUPP") else study.get(column, own)
                assert meta.variable_storage_width[column] == expected, (name, column)
                assert json_lengths[column] == expected, (name, column)
                declared = lengths[f"IT.{name}.{column}"]  # none for an ISO 8601 data type
                assert declared in (None, str(expected)), (name, column)
                if expected > own:
                    wider_than_own.add(column)
                checked += 1
    assert checked > 300
    assert "USUBJID" in study and {"VISIT"} <= wider_than_own  # the case discriminates


def test_define_without_lengths_takes_the_study_wide_widths() -> None:
    """`build_define` called without `lengths` declares each character variable as wide as its longest value
    across the datasets given (D-19.657), as the export does: by hand, USUBJID is "S-1" in DM and "S-1000"
    in AE, so 6 in both; AETERM only in AE, 4 ("Rash"). It used each dataset's own width (DM 3)."""
    from cartrial.cdisc.define import build_define
    from cartrial.cdisc.spec import dataset_specs

    specs = dataset_specs()
    frames = {
        "DM": pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["DM"], "USUBJID": ["S-1"]}),
        "AE": pd.DataFrame({"STUDYID": ["S"], "DOMAIN": ["AE"], "USUBJID": ["S-1000"], "AETERM": ["Rash"]}),
    }
    document = build_define(
        "SDTMIG",
        [specs["DM"], specs["AE"]],
        frames,
        study_id="S",
        study_title="t",
        created="2026-01-01T00:00:00",
        version="0",
    )
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
    length = {
        item.get("OID"): item.get("Length")
        for item in etree.fromstring(document).findall(".//odm:ItemDef", ns)
    }
    assert (length["IT.DM.USUBJID"], length["IT.AE.USUBJID"], length["IT.AE.AETERM"]) == ("6", "6", "4")
