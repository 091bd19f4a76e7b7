"""Written files: Dataset-JSON against the Dataset-JSON 1.1 JSON Schema, define.xml against the Define-XML 2.1
XSD bundled with odmlib, XPT round trip through two independent readers, Dataset-JSON round trip."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from cartrial.cdisc.spec import dataset_specs

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "cdisc" / "dataset.schema.json"


def _dataset_files(out: Path, suffix: str) -> list[Path]:
    return sorted(p for p in out.rglob(f"*{suffix}") if p.name != "cdisc-export.json")


def test_every_dataset_json_file_validates_against_the_dataset_json_1_1_schema(exported_each) -> None:  # type: ignore[no-untyped-def]
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)
    files = _dataset_files(exported_each.out, ".json")
    assert len(files) == len(exported_each.frames)
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        errors = [e.message for e in validator.iter_errors(document)]
        assert errors == [], (path.name, errors[:3])
        assert document["datasetJSONVersion"].startswith("1.1")
        assert document["records"] == len(document["rows"])


def test_the_schema_rejects_a_broken_document(exported) -> None:  # type: ignore[no-untyped-def]
    """The schema check can fail: a document without `columns` and with a bad version is rejected."""
    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    document = json.loads((exported.out / "sdtm" / "dm.json").read_text(encoding="utf-8"))
    del document["columns"]
    document["datasetJSONVersion"] = "2.0"
    validator = jsonschema.validators.validator_for(schema)(schema)
    messages = [e.message for e in validator.iter_errors(document)]
    assert any("columns" in m for m in messages)
    assert any("2.0" in m for m in messages)


def _define_schema():  # type: ignore[no-untyped-def]
    import odmlib
    from lxml import etree

    xsd = Path(odmlib.__file__).parent / "schemas" / "define" / "2.1" / "define2-1-0.xsd"
    return etree.XMLSchema(etree.parse(str(xsd)))


@pytest.mark.parametrize("standard", ["sdtm", "adam"])
def test_define_xml_validates_against_the_define_2_1_xsd(exported_each, standard: str) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    schema = _define_schema()
    document = etree.parse(str(exported_each.out / standard / "define.xml"))
    assert schema.validate(document), [str(e) for e in schema.error_log][:5]
    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    groups = document.findall(".//odm:ItemGroupDef", ns)
    expected = [
        n
        for n, s in dataset_specs().items()
        if s.standard == ("SDTMIG" if standard == "sdtm" else "ADaMIG") and n in exported_each.frames
    ]
    assert sorted(g.get("Name") for g in groups) == sorted(expected)
    # every spec but the EDSS domain not chosen (QS or RS) and its SUPP-- is written
    unwritten = {n for n, s in dataset_specs().items() if n not in exported_each.frames}
    assert unwritten in ({"QS", "SUPPQS"}, {"RS", "SUPPRS"})
    assert document.getroot().get("{http://www.cdisc.org/ns/def/v2.1}Context") == "Submission"


def test_define_xml_carries_methods_scales_vlm_and_sponsor_flags(exported_each) -> None:  # type: ignore[no-untyped-def]
    from lxml import etree

    ns = {"odm": "http://www.cdisc.org/ns/odm/v1.3", "def": "http://www.cdisc.org/ns/def/v2.1"}
    doc = etree.parse(str(exported_each.out / "sdtm" / "define.xml"))
    text = etree.tostring(doc).decode()
    # grading scales per AE category as value-level metadata on AETOXGR
    assert doc.find(".//def:ValueListDef[@OID='VL.AE.AETOXGR']", ns) is not None
    assert "ASTCT 2019" in text and "NCI CTCAE v5.0" in text
    # VLM per test code for QS (or RS), LB, PC, PP, FA
    edss = "RS" if "RS" in exported_each.frames else "QS"
    for domain, result in (
        (edss, f"{edss}ORRES"),
        ("LB", "LBORRES"),
        ("PC", "PCORRES"),
        ("PP", "PPORRES"),
        ("FA", "FAORRES"),
    ):
        vl = doc.find(f".//def:ValueListDef[@OID='VL.{domain}.{result}']", ns)
        assert vl is not None, domain
        assert len(vl.findall("odm:ItemRef", ns)) >= 1
    # sponsor-defined codelists and extensions are flagged
    sponsor = doc.find(".//odm:CodeList[@OID='CL.PCTESTCD']", ns)
    assert sponsor is not None and sponsor.get("{http://www.cdisc.org/ns/def/v2.1}IsNonStandard") == "Yes"
    fatest = doc.find(".//odm:CodeList[@OID='CL.FATESTCD']", ns)
    assert fatest is not None
    items = fatest.findall("odm:EnumeratedItem", ns) + fatest.findall("odm:CodeListItem", ns)
    assert items and all(i.get("{http://www.cdisc.org/ns/def/v2.1}ExtendedValue") == "Yes" for i in items)
    # NCI codes as aliases
    ny = doc.find(".//odm:CodeList[@OID='CL.NY']", ns)
    assert ny is not None and ny.find("odm:Alias", ns).get("Name") == "C66742"
    # every Derived ItemDef of the datasets has a MethodDef that says something
    methods = {m.get("OID"): "".join(m.itertext()).strip() for m in doc.findall(".//odm:MethodDef", ns)}
    assert methods and all(methods.values())
    assert any("cartrial.grading" in m for m in methods.values())


def _equal(a: object, b: object) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NaT or a == ""
    nb = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NaT or b == ""
    if na or nb:
        return na and nb
    if isinstance(a, dt.datetime):  # an ADaM datetime: SAS seconds since 1960-01-01T00:00 (D-19.262)
        return _as_datetime(a) == _as_datetime(b)
    if isinstance(a, dt.date) or isinstance(b, dt.date):
        return _as_date(a) == _as_date(b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    return str(a) == str(b)


SAS_EPOCH = dt.date(1960, 1, 1)
"""SAS dates are days since 1960-01-01 (SAS Language Reference, 'SAS date value'); pandas' XPORT reader
returns the number, as it does not apply the DATE9. format."""


def _as_date(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, int | float):
        return SAS_EPOCH + dt.timedelta(days=float(value))
    return value


def _as_datetime(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0)
    if isinstance(value, int | float):
        return dt.datetime.combine(SAS_EPOCH, dt.time()) + dt.timedelta(seconds=float(value))
    return value


def _assert_frame_equal(source: pd.DataFrame, back: pd.DataFrame, name: str) -> None:
    assert list(back.columns) == list(source.columns), name
    assert len(back) == len(source), name
    for column in source.columns:
        for i, (a, b) in enumerate(zip(source[column], back[column], strict=True)):
            assert _equal(a, b), (name, column, i + 1, a, b)


def test_xpt_round_trip_with_pandas_read_sas_and_pyreadstat(exported_each) -> None:  # type: ignore[no-untyped-def]
    import pyreadstat

    for name, frame in exported_each.frames.items():
        path = (
            exported_each.out
            / ("sdtm" if dataset_specs()[name].standard == "SDTMIG" else "adam")
            / f"{name.lower()}.xpt"
        )
        by_pandas = pd.read_sas(path, format="xport", encoding="ascii")
        _assert_frame_equal(frame, by_pandas, f"{name} (pandas)")
        by_readstat, meta = pyreadstat.read_xport(str(path))
        _assert_frame_equal(frame, by_readstat, f"{name} (pyreadstat)")
        spec = dataset_specs()[name]
        assert meta.file_label == spec.label
        assert meta.column_names_to_labels == {c: spec.variable(c).label for c in frame.columns}


def test_dataset_json_round_trip(exported_each) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.transport import read_dataset_json

    for name, frame in exported_each.frames.items():
        path = (
            exported_each.out
            / ("sdtm" if dataset_specs()[name].standard == "SDTMIG" else "adam")
            / f"{name.lower()}.json"
        )
        back, meta = read_dataset_json(path)
        _assert_frame_equal(frame, back, name)
        assert meta["name"] == name


def test_check_folder_finds_nothing_in_a_fresh_export(exported_each) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.export import check_folder

    findings, seen = check_folder(exported_each.out)
    assert findings == []
    assert len(seen) == 2 * len(exported_each.frames)
