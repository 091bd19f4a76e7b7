"""The regular-suite form of the nightly synthetic-study check (tests/cdisc/test_cdisc_synthetic.py): a small
synthetic study (CARTRIAL_CDISC_SAMPLE_SUBJECTS, default 25) exported in both formats with zero validation
findings; every Dataset-JSON file's structure (all top-level members and columns) plus a sample of its rows
(first, last and up to 200 spread evenly) against the Dataset-JSON 1.1 schema; both define.xml files against
the Define-XML 2.1 XSD; `--check` re-reads every file with zero findings. The nightly test checks every row
of the 1,000-subject study."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from cartrial.cdisc.spec import EDSS_DOMAINS

SAMPLE_ROWS = 200


def _sampled(document: dict[str, Any]) -> dict[str, Any]:
    rows = document["rows"]
    if len(rows) <= SAMPLE_ROWS + 2:
        return document
    step = len(rows) / SAMPLE_ROWS
    picked = [rows[0], *(rows[int(i * step)] for i in range(SAMPLE_ROWS)), rows[-1]]
    return {**document, "rows": picked, "records": len(rows)}


@pytest.mark.parametrize("edss_domain", EDSS_DOMAINS)
def test_small_synthetic_study_exports_valid_files(
    export_synthetic: Any, dataset_json_validator: Any, define_xsd: Any, edss_domain: str
) -> None:
    from lxml import etree

    from cartrial.cdisc.export import check_folder

    n = int(os.environ.get("CARTRIAL_CDISC_SAMPLE_SUBJECTS", "25"))
    exported = export_synthetic(n, edss_domain)
    assert edss_domain.upper() in {d.name for d in exported.result.datasets}
    out, result = exported.out, exported.result
    assert sum(d.records for d in result.datasets if d.name == "DM") == n
    assert all(d.findings == 0 for d in result.datasets)
    findings, seen = check_folder(out)
    assert findings == [] and len(seen) == 2 * len(result.datasets)
    files = sorted(p for p in out.rglob("*.json") if p.name != "cdisc-export.json")
    assert len(files) == len(result.datasets)
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["records"] == len(document["rows"]), path.name
        errors = [e.message for e in dataset_json_validator.iter_errors(_sampled(document))]
        assert not errors, (path.name, errors[:3])
    for standard in ("sdtm", "adam"):
        document = etree.parse(str(out / standard / "define.xml"))
        assert define_xsd.validate(document), (standard, str(define_xsd.error_log)[:500])
