"""Each character variable is written as wide as its longest value, in the XPT file and in define.xml
(D-19.657).

The FDA Study Data Technical Conformance Guide (SAS transport files, variable lengths) asks for the allotted
length of a character column to be the maximum length of the data, not a padded one (a validator's
"variable length is too long for actual data"): file size and review tools. TI.IETEST was written 200 wide
because its spec gave `length: 200`, the SDTM limit of the value, while the example's longest criterion is
far shorter. Expected widths are counted here from the values."""

from __future__ import annotations

import pandas as pd
import pyreadstat
from lxml import etree

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


def test_every_character_variable_is_as_wide_as_its_longest_value(exported) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for standard in ("sdtm", "adam"):
        define = etree.parse(str(exported.out / standard / "define.xml"))
        lengths = {i.get("OID"): i.get("Length") for i in define.findall(".//odm:ItemDef", NS)}
        for path in sorted((exported.out / standard).glob("*.xpt")):
            name = path.stem.upper()
            _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
            frame = exported.frames[name]
            for column, kind in meta.readstat_variable_types.items():
                if kind != "string":
                    continue
                values = [str(v) for v in pd.unique(frame[column]) if isinstance(v, str)]
                longest = max([1, *(len(v) for v in values)])
                assert meta.variable_storage_width[column] == longest, (name, column)
                declared = lengths[f"IT.{name}.{column}"]  # none for an ISO 8601 data type
                assert declared in (None, str(longest)), (name, column)
                checked += 1
    assert checked > 300
