"""Define-XML 2.1 (ODM 1.3.2 + the ``def:`` v2.1 namespace) for the SDTM and the ADaM datasets, built from
the dataset specs and the shipped codelists with the standard library's ElementTree.

What it carries (CDISC Define-XML 2.1 specification; shared reference data-standards.md §4.3):
- def:Standards: the IG (SDTMIG 3.4 or ADaMIG 1.3) and the CT packages of the shipped codelists;
- one ItemGroupDef per dataset (structure, class, keys as KeySequence, def:leaf to the XPT file);
- one ItemDef per variable (type, length = the longest value written, def:Origin, codelist, method);
- MethodDef per derivation, citing its source (README rule 1);
- value-level metadata (def:ValueListDef + def:WhereClauseDef) per test code of QS/RS/LB/PC/PP/FA/... and, for
  AETOXGR, the grading scale and version per AE category (ASTCT 2019 for CRS/ICANS, NCI CTCAE v5.0 otherwise;
  data-standards.md §2.3, CORE rule CG0428);
- CodeLists with NCI C-codes as ``Alias Context="nci:ExtCodeID"``; sponsor-defined codelists carry
  ``def:IsNonStandard="Yes"`` and sponsor extensions of extensible codelists ``def:ExtendedValue="Yes"``.

odmlib (0.2.1) was not used to build: its model objects add nothing the ElementTree code needs and it would
become a runtime dependency; the tests validate every file against the Define-XML 2.1 XSD that odmlib bundles.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

import pandas as pd

from cartrial.cdisc.adam import FULL_TEXTS, GENERIC, SHORTENABLE, SHORTENED
from cartrial.cdisc.sdtm import AE_QUALIFIERS, EDSS_QUALIFIERS, TS_VALUE_ORIGINS
from cartrial.cdisc.spec import Codelist, DatasetSpec, Variable, codelists, ct_package, dataset_specs
from cartrial.cdisc.transport import char_lengths, study_char_lengths
from cartrial.cdisc.validate import TS_VALUE_TYPES
from cartrial.errors import InternalError

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
DEF_NS = "http://www.cdisc.org/ns/def/v2.1"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ET.register_namespace("", ODM_NS)
ET.register_namespace("def", DEF_NS)
ET.register_namespace("xlink", XLINK_NS)

IG_VERSIONS = {"SDTMIG": "3.4", "ADaMIG": "1.3"}
AE_SCALES = {"CRS": "ASTCT 2019", "ICANS": "ASTCT 2019"}
"""AETOXGR grading scale per AECAT (value-level metadata); any other category: NCI CTCAE v5.0."""
CTCAE = "NCI CTCAE v5.0"


def _o(tag: str) -> str:
    return f"{{{ODM_NS}}}{tag}"


def _d(tag: str) -> str:
    return f"{{{DEF_NS}}}{tag}"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    translated = ET.SubElement(element, _o("TranslatedText"), {f"{{{XML_NS}}}lang": "en"})
    translated.text = text
    return element


def _oid(*parts: str) -> str:
    return ".".join(p.replace(" ", "_") for p in parts if p)


COMPLETE_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
COMPLETE_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
)


def _iso_data_type(values: list[str]) -> str:
    """The Define-XML (ODM 1.3.2) data type of ISO 8601 texts: ``date`` when every one is a complete date
    (xs:date), ``datetime`` when every one is a complete date-time to the second (xs:dateTime),
    else the right-truncated forms: ``partialDate`` without a time, ``partialDatetime`` with one
    (D-19.655). No value: ``date``."""
    if all(COMPLETE_DATE.match(v) for v in values):
        return "date"
    if all(COMPLETE_DATETIME.match(v) for v in values):
        return "datetime"
    return "partialDatetime" if any("T" in v for v in values) else "partialDate"


def _data_type(variable: Variable, frame: pd.DataFrame | None) -> str:
    if variable.type == "Char":
        if variable.date == "iso8601":
            values = (
                [str(x) for x in pd.unique(frame[variable.name]) if isinstance(x, str) and x]
                if frame is not None and variable.name in frame.columns
                else []
            )
            return _iso_data_type(values)
        if variable.date == "duration":  # an ISO 8601 duration (ODM 1.3.2 durationDatetime; D-19.660)
            return "durationDatetime"
        return "text"
    if variable.date in ("sasdate", "sasdatetime"):
        return "integer"
    if frame is not None and variable.name in frame.columns:
        return _numeric_type(frame[variable.name])
    return "float"


def _numeric_type(column: pd.Series, empty: str = "float") -> str:
    """The Define-XML DataType of a numeric variable's values: integer when every value is a whole number,
    float otherwise; `empty` when it has no value. One rule for a variable and each of its value-level items
    (a value-level item's values are a part of the variable's, so an integer variable has only integer
    items and a float variable covers both; D-19.892)."""
    values = pd.to_numeric(column, errors="coerce").dropna()
    if not len(values):
        return empty
    return "integer" if bool((values == values.round()).all()) else "float"


def _method_oid(dataset: str, variable: str) -> str:
    return _oid("MT", dataset, variable)


def _vlm_values(frame: pd.DataFrame | None, testcd: str) -> list[str]:
    if frame is None or testcd not in frame.columns:
        return []
    return sorted({str(v) for v in pd.unique(frame[testcd]) if str(v)})


def build_define(
    standard: str,
    specs: Sequence[DatasetSpec],
    frames: Mapping[str, pd.DataFrame],
    *,
    study_id: str,
    study_title: str,
    created: str,
    version: str,
    file_format: str = "xpt",
    lengths: Mapping[str, Mapping[str, int]] | None = None,
    terms: Mapping[str, Codelist] | None = None,
) -> bytes:
    """The define.xml document (UTF-8 bytes) of one standard (``SDTMIG`` or ``ADaMIG``); `lengths`: the
    character lengths per dataset as the transport files have them (`study_char_lengths`); without it,
    `study_char_lengths` of `frames` (each variable as wide as its longest value across them; D-19.657)."""
    terms = codelists() if terms is None else terms
    if lengths is None:
        known = {**dataset_specs(), **{spec.name: spec for spec in specs}}
        lengths = study_char_lengths({n: f for n, f in frames.items() if n in known}, known)
    odm = ET.Element(
        _o("ODM"),
        {
            "FileType": "Snapshot",
            "FileOID": _oid("DEF", study_id, standard),
            "CreationDateTime": created,
            "ODMVersion": "1.3.2",
            "Originator": "cartrial",
            "SourceSystem": "cartrial",
            "SourceSystemVersion": version,
            _d("Context"): "Submission",
        },
    )
    study = ET.SubElement(odm, _o("Study"), {"OID": _oid("ST", study_id)})
    gv = ET.SubElement(study, _o("GlobalVariables"))
    ET.SubElement(gv, _o("StudyName")).text = study_id
    ET.SubElement(gv, _o("StudyDescription")).text = study_title
    ET.SubElement(gv, _o("ProtocolName")).text = study_id
    mdv = ET.SubElement(
        study,
        _o("MetaDataVersion"),
        {
            "OID": _oid("MDV", study_id, standard),
            "Name": f"{study_id} {standard} {IG_VERSIONS[standard]}",
            "Description": f"{standard} {IG_VERSIONS[standard]} datasets written by cartrial",
            _d("DefineVersion"): "2.1.0",
        },
    )
    standards = ET.SubElement(mdv, _d("Standards"))
    ig_oid = _oid("STD", standard)
    ET.SubElement(
        standards,
        _d("Standard"),
        {"OID": ig_oid, "Name": standard, "Type": "IG", "Version": IG_VERSIONS[standard], "Status": "Final"},
    )
    ct_oids: dict[str, str] = {}
    """def:Standard OID of each declared CT package, by its text (``SDTM CT 2025-03-28``; D-15.8)."""
    for publishing, version_text in ct_package().items():
        oid = _oid("STD.CT", publishing)
        ct_oids[version_text] = oid
        ET.SubElement(
            standards,
            _d("Standard"),
            {
                "OID": oid,
                "Name": "CDISC/NCI",
                "Type": "CT",
                "PublishingSet": publishing,
                "Version": version_text.rsplit(" ", 1)[-1],
                "Status": "Final",
            },
        )

    used_codelists: set[str] = set()
    methods: dict[str, tuple[str, str]] = {}
    comments: dict[str, str] = {}
    value_lists: list[ET.Element] = []
    where_clauses: list[ET.Element] = []
    item_groups: list[ET.Element] = []
    item_defs: list[ET.Element] = []

    for spec in specs:
        frame = frames.get(spec.name)
        if lengths is not None and spec.name in lengths:
            char_length = lengths[spec.name]
        else:
            char_length = char_lengths(frame, spec) if frame is not None else {}
        purpose = "Tabulation" if standard == "SDTMIG" else "Analysis"
        attrs = {
            "OID": _oid("IG", spec.name),
            "Name": spec.name,
            "SASDatasetName": spec.name,
            "Repeating": "No" if spec.name in ("DM", "ADSL") or spec.klass == "TRIAL DESIGN" else "Yes",
            "IsReferenceData": "Yes" if spec.klass == "TRIAL DESIGN" else "No",
            "Purpose": purpose,
            _d("Structure"): spec.structure,
            _d("StandardOID"): ig_oid,
            _d("ArchiveLocationID"): _oid("LF", spec.name),
        }
        if standard == "SDTMIG" and not spec.name.startswith(("SUPP", "RELREC")):
            attrs["Domain"] = spec.name
        if spec.name.startswith("SUPP"):
            attrs["Domain"] = spec.name[4:]
        if frame is not None and not len(frame):
            attrs[_d("HasNoData")] = "Yes"
        group = ET.Element(_o("ItemGroupDef"), attrs)
        _text(group, _o("Description"), spec.label)
        keys = {k: i + 1 for i, k in enumerate(spec.keys)}
        order = 0
        for variable in spec.variables:
            if frame is not None and variable.name not in frame.columns:
                continue
            order += 1
            item_oid = _oid("IT", spec.name, variable.name)
            ref = {
                "ItemOID": item_oid,
                "OrderNumber": str(order),
                "Mandatory": "Yes" if variable.core == "Req" and not variable.may_be_null else "No",
            }
            if variable.name in keys:
                ref["KeySequence"] = str(keys[variable.name])
            if variable.method:
                ref["MethodOID"] = _method_oid(spec.name, variable.name)
                methods[ref["MethodOID"]] = (f"{spec.name}.{variable.name}", _method_text(variable))
            ET.SubElement(group, _o("ItemRef"), ref)
            item_def = _item_def(
                item_oid, variable, frame, char_length, terms, used_codelists, comments, spec.name
            )
            item_defs.append(item_def)
            vl = _value_list(
                spec,
                variable,
                frame,
                item_oid,
                where_clauses,
                item_defs,
                terms,
                used_codelists,
                methods,
                comments,
            )
            if vl is not None:  # on the variable's ItemDef (the value-level ItemDefs follow it in item_defs)
                value_lists.append(vl)
                ET.SubElement(item_def, _d("ValueListRef"), {"ValueListOID": vl.get("OID", "")})
        ET.SubElement(group, _d("Class"), {"Name": spec.klass})
        name = f"{spec.name.lower()}.{file_format}"
        leaf = ET.SubElement(group, _d("leaf"), {"ID": _oid("LF", spec.name), f"{{{XLINK_NS}}}href": name})
        ET.SubElement(leaf, _d("title")).text = name
        item_groups.append(group)

    mdv.extend(value_lists)
    mdv.extend(where_clauses)
    mdv.extend(item_groups)
    mdv.extend(item_defs)
    for name in sorted(used_codelists):
        mdv.append(_codelist(terms[name], ct_oids))
    for oid, (name, text) in methods.items():
        method = ET.SubElement(
            mdv, _o("MethodDef"), {"OID": oid, "Name": f"Algorithm for {name}", "Type": "Computation"}
        )
        _text(method, _o("Description"), text)
    for oid, text in comments.items():
        comment = ET.SubElement(mdv, _d("CommentDef"), {"OID": oid})
        _text(comment, _o("Description"), text)
    ET.indent(odm)
    return ET.tostring(odm, encoding="UTF-8", xml_declaration=True)


def _method_text(variable: Variable) -> str:
    text = variable.method or ""
    if variable.source:
        text += f" [source: {variable.source}]"
    return text


def _item_def(
    oid: str,
    variable: Variable,
    frame: pd.DataFrame | None,
    lengths: Mapping[str, int],
    terms: Mapping[str, Codelist],
    used: set[str],
    comments: dict[str, str],
    dataset: str,
) -> ET.Element:
    data_type = _data_type(variable, frame)
    attrs = {"OID": oid, "Name": variable.name, "DataType": data_type, "SASFieldName": variable.name}
    if data_type == "text":
        attrs["Length"] = str(lengths.get(variable.name, variable.length or 1))
    elif data_type in ("integer", "float"):
        attrs["Length"] = "8"
    if variable.date == "sasdate":
        attrs[_d("DisplayFormat")] = "DATE9."
    elif variable.date == "sasdatetime":
        attrs[_d("DisplayFormat")] = "E8601DT19."
    if variable.name == "AETOXGR":
        cid = _oid("COM", dataset, variable.name)
        comments[cid] = (
            "Grading scale and version per record: ASTCT 2019 (Lee DW et al., BBMT 2019;25:625-638) where "
            "AECAT is CRS or ICANS, NCI CTCAE v5.0 otherwise; see the value-level metadata and SUPPAE "
            "QNAM AEGRSCL"
        )
        attrs[_d("CommentOID")] = cid
    item = ET.Element(_o("ItemDef"), attrs)
    _text(item, _o("Description"), variable.label)
    if variable.codelist and variable.codelist in terms:
        used.add(variable.codelist)
        ET.SubElement(item, _o("CodeListRef"), {"CodeListOID": _oid("CL", variable.codelist)})
    item.append(_origin(variable))
    return item


def _origin(variable: Variable) -> ET.Element:
    attrs: dict[str, str] = {"Type": str(variable.origin)}
    if variable.origin == "Collected":
        attrs["Source"] = "Investigator"
    origin = ET.Element(_d("Origin"), attrs)
    if variable.source and variable.origin in ("Collected", "Predecessor"):
        _text(origin, _o("Description"), variable.source)
    return origin


SUPP_QUALIFIERS = {q.qnam: q for q in (*AE_QUALIFIERS, *EDSS_QUALIFIERS.values())}
"""The supplemental qualifiers the export writes, by QNAM: each value-level QVAL states the QORIG written
and, when Derived, its own method (D-19.656)."""


def _vlm_derivation(
    ref: ET.Element,
    origin: ET.Element,
    spec: DatasetSpec,
    variable: Variable,
    methods: dict[str, tuple[str, str]] | None,
) -> None:
    """A value-level ItemRef whose item is Derived names the variable's method (Define-XML 2.1: MethodOID
    is required for a Derived origin, D-19.656)."""
    if origin.get("Type") == "Derived" and variable.method and methods is not None:
        oid = _method_oid(spec.name, variable.name)
        ref.set("MethodOID", oid)
        methods.setdefault(oid, (f"{spec.name}.{variable.name}", _method_text(variable)))


def _supp_origin(
    ref: ET.Element, spec: DatasetSpec, qnam: str, methods: dict[str, tuple[str, str]] | None
) -> ET.Element | None:
    """The origin of a SUPP-- QVAL for one QNAM: its QORIG (SDTMIG 3.4 §8.4.1), with the qualifier's own
    method when Derived and the store column it was collected in when Collected (D-19.662); None for a
    QNAM the export does not know (the variable's origin then)."""
    qualifier = SUPP_QUALIFIERS.get(qnam)
    if qualifier is None:
        return None
    attrs = {
        "Type": qualifier.origin,
        **({"Source": "Investigator"} if qualifier.origin == "Collected" else {}),
    }
    if qualifier.origin == "Derived" and qualifier.method and methods is not None:
        oid = _method_oid(spec.name, f"QVAL_{qnam}")
        ref.set("MethodOID", oid)
        methods[oid] = (f"{spec.name}.QVAL ({qnam})", qualifier.method)
    origin = ET.Element(_d("Origin"), attrs)
    if qualifier.origin == "Collected" and qualifier.source:  # where it was collected (D-19.662)
        _text(origin, _o("Description"), qualifier.source)
    return origin


def _value_list(
    spec: DatasetSpec,
    variable: Variable,
    frame: pd.DataFrame | None,
    item_oid: str,
    where_clauses: list[ET.Element],
    item_defs: list[ET.Element],
    terms: Mapping[str, Codelist],
    used: set[str],
    methods: dict[str, tuple[str, str]] | None = None,
    comments: dict[str, str] | None = None,
) -> ET.Element | None:
    """def:ValueListDef for a result variable (one entry per test code in the data), for AETOXGR (one
    entry per grading scale) and for a variable whose codelist depends on another variable (DSDECOD by DSCAT:
    one entry per DSCAT value in the data, each with its codelist; D-15.9)."""
    if variable.value_codelists:
        return _value_codelists(spec, variable, frame, item_oid, where_clauses, item_defs, used, methods)
    full = frame.attrs.get(FULL_TEXTS, {}).get(variable.name) if frame is not None else None
    if frame is not None and (spec.name, variable.name) in SHORTENABLE and variable.name in frame.columns:
        _check_full_texts(spec, variable, frame, full or {})
    if full and spec.testcd:
        assert frame is not None
        return _full_texts(spec, variable, frame, full, item_oid, where_clauses, item_defs, methods)
    if variable.name == "AETOXGR" or (spec.name == "ADAE" and variable.name == "ATOXGR"):
        by = "AECAT"
        if frame is None or by not in frame.columns:
            return None
        groups: dict[str, list[str]] = {}
        for cat in sorted({str(v) for v in frame[by] if str(v)}):
            groups.setdefault(AE_SCALES.get(cat, CTCAE), []).append(cat)
        vl = ET.Element(_d("ValueListDef"), {"OID": _oid("VL", spec.name, variable.name)})
        for i, (scale, cats) in enumerate(sorted(groups.items()), start=1):
            wc_oid = _oid("WC", spec.name, variable.name, scale.replace(".", "_").replace(" ", "_"))
            wc = ET.Element(_d("WhereClauseDef"), {"OID": wc_oid})
            check = ET.SubElement(
                wc,
                _o("RangeCheck"),
                {
                    "SoftHard": "Soft",
                    _d("ItemOID"): _oid("IT", spec.name, by),
                    "Comparator": "IN" if len(cats) > 1 else "EQ",
                },
            )
            for cat in cats:
                ET.SubElement(check, _o("CheckValue")).text = cat
            where_clauses.append(wc)
            vl_item = _oid(item_oid, scale.replace(".", "_").replace(" ", "_"))
            ref = ET.SubElement(
                vl, _o("ItemRef"), {"ItemOID": vl_item, "OrderNumber": str(i), "Mandatory": "No"}
            )
            ET.SubElement(ref, _d("WhereClauseRef"), {"WhereClauseOID": wc_oid})
            d = ET.Element(
                _o("ItemDef"), {"OID": vl_item, "Name": variable.name, "DataType": "text", "Length": "1"}
            )
            _text(d, _o("Description"), f"{variable.label}: {scale}")
            if variable.codelist:
                ET.SubElement(d, _o("CodeListRef"), {"CodeListOID": _oid("CL", variable.codelist)})
            if spec.standard == "SDTMIG":  # the reported CTCAE grade is collected, the ASTCT grade derived
                origin = ET.Element(
                    _d("Origin"),
                    {
                        "Type": "Derived" if scale.startswith("ASTCT") else "Collected",
                        **({} if scale.startswith("ASTCT") else {"Source": "Investigator"}),
                    },
                )
            else:  # an ADaM value is never collected: the variable's own origin (D-19.144)
                origin = _origin(variable)
            d.append(origin)
            _vlm_derivation(ref, origin, spec, variable, methods)
            item_defs.append(d)
        return vl
    if not variable.vlm or not spec.testcd or variable.name == spec.testcd:
        return None
    codes = _vlm_values(frame, spec.testcd)
    if not codes:
        return None
    assert frame is not None
    if variable.type == "Char":
        pairs = pd.DataFrame({"code": frame[spec.testcd], "value": frame[variable.name].astype(str)})
        pairs = pairs.drop_duplicates()
        longest = pairs["value"].map(len).groupby(pairs["code"]).max()
    else:  # each item's type by the variable's rule; an item with no value takes the variable's (D-19.892)
        whole = _data_type(variable, frame)
        test_codes = frame[spec.testcd].astype(str)
    vl = ET.Element(_d("ValueListDef"), {"OID": _oid("VL", spec.name, variable.name)})
    for i, code in enumerate(codes, start=1):
        vl_item, ref = _where_item_ref(vl, spec, spec.testcd, code, item_oid, i, where_clauses)
        ts_type = TS_VALUE_TYPES.get(code) if spec.name == "TS" and variable.name == "TSVAL" else None
        if ts_type is not None:  # a TS value that is an ISO 8601 date or duration (D-19.660)
            values = [str(v) for v in pd.unique(frame.loc[frame[spec.testcd] == code, variable.name]) if v]
            data_type = "durationDatetime" if ts_type == "duration" else _iso_data_type(values)
            attrs = {"OID": vl_item, "Name": variable.name, "DataType": data_type}
        elif variable.type == "Char":
            length = max(1, int(longest.get(code, 1)))
            attrs = {"OID": vl_item, "Name": variable.name, "DataType": "text", "Length": str(length)}
        else:
            dates = variable.date in ("sasdate", "sasdatetime")
            item_type = whole if dates else _numeric_type(frame.loc[test_codes == code, variable.name], whole)
            attrs = {"OID": vl_item, "Name": variable.name, "DataType": item_type, "Length": "8"}
        d = ET.Element(_o("ItemDef"), attrs)
        sponsor = _is_sponsor_code(spec, code, terms)
        _text(
            d,
            _o("Description"),
            f"{variable.label} for {spec.testcd} = {code}"
            + (" (sponsor-defined test code)" if sponsor else ""),
        )
        own = TS_VALUE_ORIGINS.get(code) if spec.name == "TS" and variable.name == "TSVAL" else None
        supp = _supp_origin(ref, spec, code, methods) if spec.name.startswith("SUPP") else None
        if supp is not None:  # a supplemental value: its QNAM's QORIG (D-19.656)
            d.append(supp)
        elif own is None:
            origin = _origin(variable)
            d.append(origin)
            _vlm_derivation(ref, origin, spec, variable, methods)
        else:  # a TS value the export derives from the data or assigns, not the protocol's (D-19.260)
            d.append(ET.Element(_d("Origin"), {"Type": own[0]}))
            if own[1] and own[0] == "Derived" and methods is not None:
                ref.set("MethodOID", _method_oid(spec.name, f"{variable.name}_{code}"))
                methods[ref.get("MethodOID", "")] = (f"{spec.name}.{variable.name} ({code})", own[1])
            elif own[1] and comments is not None:  # the rule or default of a value not derived (D-19.305)
                cid = _oid("COM", spec.name, variable.name, code)
                comments[cid] = own[1]
                d.set(_d("CommentOID"), cid)
        item_defs.append(d)
    return vl


def _check_full_texts(
    spec: DatasetSpec, variable: Variable, frame: pd.DataFrame, full: Mapping[str, str]
) -> None:
    """A value shortened to fit the XPT cell (ending " [... see define.xml]" or the generic "see define.xml")
    promises its full text here: refuse a frame that lost it (D-19.738; the full texts ride in
    `DataFrame.attrs`, which a concat or merge drops), never a define.xml pointing at nothing."""
    values = frame[variable.name].dropna().astype(str)
    shortened = values.str.endswith(SHORTENED) | (values == GENERIC)
    if not shortened.any():
        return
    codes = set(frame.loc[shortened[shortened].index, spec.testcd].astype(str)) if spec.testcd else {""}
    lost = sorted(codes - set(full))
    if lost:
        raise InternalError(
            f"{spec.name}.{variable.name} is shortened for {', '.join(lost)} but its full text did not reach "
            "define.xml (build the frame with cartrial.cdisc.adam, keep DataFrame.attrs; D-19.738)"
        )


def _full_texts(
    spec: DatasetSpec,
    variable: Variable,
    frame: pd.DataFrame,
    full: Mapping[str, str],
    item_oid: str,
    where_clauses: list[ET.Element],
    item_defs: list[ET.Element],
    methods: dict[str, tuple[str, str]] | None,
) -> ET.Element:
    """def:ValueListDef of a text variable whose value was shortened to fit the XPT v5 cell (ADRS.CRIT1):
    one entry per test code, its ItemDef's Description the full text (D-19.738)."""
    testcd = spec.testcd or ""
    vl = ET.Element(_d("ValueListDef"), {"OID": _oid("VL", spec.name, variable.name)})
    for i, code in enumerate(sorted(full), start=1):
        vl_item, ref = _where_item_ref(vl, spec, testcd, code, item_oid, i, where_clauses)
        values = frame.loc[frame[testcd].astype(str) == code, variable.name].astype(str)
        length = str(max([1, *(len(v) for v in values)]))
        d = ET.Element(
            _o("ItemDef"), {"OID": vl_item, "Name": variable.name, "DataType": "text", "Length": length}
        )
        _text(d, _o("Description"), f"{variable.label} for {testcd} = {code}, in full: {full[code]}")
        origin = _origin(variable)
        d.append(origin)
        _vlm_derivation(ref, origin, spec, variable, methods)
        item_defs.append(d)
    return vl


def _where_item_ref(
    vl: ET.Element,
    spec: DatasetSpec,
    column: str,
    value: str,
    item_oid: str,
    order: int,
    where_clauses: list[ET.Element],
) -> tuple[str, ET.Element]:
    """The value-level ItemRef (number `order` of `vl`) of the records where `column` = `value`, with its
    WhereClauseDef (added to `where_clauses` once per study): the value-level item's OID and the ItemRef."""
    wc_oid = _oid("WC", spec.name, column, value)
    if not any(w.get("OID") == wc_oid for w in where_clauses):
        wc = ET.Element(_d("WhereClauseDef"), {"OID": wc_oid})
        check = ET.SubElement(
            wc,
            _o("RangeCheck"),
            {"SoftHard": "Soft", _d("ItemOID"): _oid("IT", spec.name, column), "Comparator": "EQ"},
        )
        ET.SubElement(check, _o("CheckValue")).text = value
        where_clauses.append(wc)
    vl_item = _oid(item_oid, value)
    ref = ET.SubElement(vl, _o("ItemRef"), {"ItemOID": vl_item, "OrderNumber": str(order), "Mandatory": "No"})
    ET.SubElement(ref, _d("WhereClauseRef"), {"WhereClauseOID": wc_oid})
    return vl_item, ref


def _value_codelists(
    spec: DatasetSpec,
    variable: Variable,
    frame: pd.DataFrame | None,
    item_oid: str,
    where_clauses: list[ET.Element],
    item_defs: list[ET.Element],
    used: set[str],
    methods: dict[str, tuple[str, str]] | None = None,
) -> ET.Element | None:
    by = variable.codelist_by or ""
    if frame is None or by not in frame.columns or variable.name not in frame.columns:
        return None
    selectors = sorted({str(v) for v in frame[by] if str(v) and variable.codelist_for(str(v))})
    if not selectors:
        return None
    vl = ET.Element(_d("ValueListDef"), {"OID": _oid("VL", spec.name, variable.name)})
    for i, selector in enumerate(selectors, start=1):
        codelist = variable.codelist_for(selector) or ""
        vl_item, ref = _where_item_ref(vl, spec, by, selector, item_oid, i, where_clauses)
        values = frame.loc[frame[by].astype(str) == selector, variable.name].astype(str)
        length = max([1, *(len(v.encode("ascii", "replace")) for v in values)])
        d = ET.Element(
            _o("ItemDef"), {"OID": vl_item, "Name": variable.name, "DataType": "text", "Length": str(length)}
        )
        _text(d, _o("Description"), f"{variable.label} for {by} = {selector}")
        used.add(codelist)
        ET.SubElement(d, _o("CodeListRef"), {"CodeListOID": _oid("CL", codelist)})
        origin = _origin(variable)
        d.append(origin)
        _vlm_derivation(ref, origin, spec, variable, methods)
        item_defs.append(d)
    return vl


def _is_sponsor_code(spec: DatasetSpec, code: str, terms: Mapping[str, Codelist]) -> bool:
    variable = spec.variable(spec.testcd) if spec.testcd else None
    if variable is None or not variable.codelist or variable.codelist not in terms:
        return True
    codelist = terms[variable.codelist]
    if codelist.sponsor_defined:
        return True
    return any(t.value == code and t.extended for t in codelist.terms)


def _codelist(codelist: Codelist, ct_oids: Mapping[str, str]) -> ET.Element:
    attrs = {"OID": _oid("CL", codelist.name), "Name": codelist.label, "DataType": codelist.data_type}
    if not codelist.sponsor_defined and codelist.ct_version in ct_oids:
        attrs[_d("StandardOID")] = ct_oids[codelist.ct_version]
    else:  # sponsor-defined, or a CT version that is not a declared package (ISO 3166)
        attrs[_d("IsNonStandard")] = "Yes"
    element = ET.Element(_o("CodeList"), attrs)
    decoded = any(t.decode for t in codelist.terms)
    for i, term in enumerate(codelist.terms, start=1):
        item_attrs = {"CodedValue": term.value, "OrderNumber": str(i)}
        if term.extended:
            item_attrs[_d("ExtendedValue")] = "Yes"
        if decoded:
            item = ET.SubElement(element, _o("CodeListItem"), item_attrs)
            _text(item, _o("Decode"), term.decode or term.value)
        else:
            item = ET.SubElement(element, _o("EnumeratedItem"), item_attrs)
        if term.nci_code and not term.unverified:  # an unverified C-code is not published (D-15.6)
            ET.SubElement(item, _o("Alias"), {"Context": "nci:ExtCodeID", "Name": term.nci_code})
    if codelist.nci_code and not codelist.unverified:
        ET.SubElement(element, _o("Alias"), {"Context": "nci:ExtCodeID", "Name": codelist.nci_code})
    return element


def define_sha256(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


__all__ = ["build_define", "define_sha256"]
