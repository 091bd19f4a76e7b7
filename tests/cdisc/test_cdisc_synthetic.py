"""The synthetic study of the store benchmark (1,000 subjects by default; CARTRIAL_CDISC_SUBJECTS to change):
the export has zero validation findings, every Dataset-JSON file passes the 1.1 schema and both define.xml
files pass the Define-XML 2.1 XSD. Nightly: it takes minutes."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from cartrial.cdisc.spec import EDSS_DOMAINS


@pytest.mark.nightly
@pytest.mark.parametrize("edss_domain", EDSS_DOMAINS)
def test_synthetic_study_exports_with_zero_findings_and_valid_files(
    export_synthetic: Any, dataset_json_validator: Any, define_xsd: Any, edss_domain: str
) -> None:
    from lxml import etree

    from cartrial.cdisc.export import check_folder

    n = int(os.environ.get("CARTRIAL_CDISC_SUBJECTS", "1000"))
    exported = export_synthetic(n, edss_domain)
    assert edss_domain.upper() in {d.name for d in exported.result.datasets}
    out, result = exported.out, exported.result
    assert sum(d.records for d in result.datasets if d.name == "DM") == n
    findings, seen = check_folder(out)
    assert findings == [] and len(seen) == 2 * len(result.datasets)
    for path in sorted(out.rglob("*.json")):
        if path.name != "cdisc-export.json":
            document = json.loads(path.read_text(encoding="utf-8"))
            assert not list(dataset_json_validator.iter_errors(document)), path.name
    for standard in ("sdtm", "adam"):
        assert define_xsd.validate(etree.parse(str(out / standard / "define.xml"))), standard
