"""The synthetic study of the store benchmark (1,000 subjects by default; CARTRIAL_CDISC_SUBJECTS to change):
the export has zero validation findings, every Dataset-JSON file passes the 1.1 schema and both define.xml
files pass the Define-XML 2.1 XSD. Nightly: it takes minutes."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "cdisc" / "dataset.schema.json"


@pytest.mark.nightly
def test_synthetic_study_exports_with_zero_findings_and_valid_files(tmp_path: Path) -> None:
    import jsonschema
    import odmlib
    from lxml import etree

    from cartrial import examples
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import check_folder, export_cdisc, read_sites
    from cartrial.store.importing import import_templates, write_synthetic_study
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    n = int(os.environ.get("CARTRIAL_CDISC_SUBJECTS", "1000"))
    folder = tmp_path / "study"
    write_synthetic_study(folder, n)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
    import_templates(url, folder, "admin")
    snapshot = read_snapshot(url, dt.date(2030, 12, 31))
    # the synthetic site's country ("Nowhere") is not an ISO 3166 country; DM.COUNTRY is required
    sites = {site: "China" for site in read_sites(url)}
    out = tmp_path / "cdisc"
    result = export_cdisc(snapshot, analyse(snapshot), out, formats="both", sites=sites)
    assert sum(d.records for d in result.datasets if d.name == "DM") == n
    findings, seen = check_folder(out)
    assert findings == [] and len(seen) == 2 * len(result.datasets)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    for path in sorted(out.rglob("*.json")):
        if path.name != "cdisc-export.json":
            assert not list(validator.iter_errors(json.loads(path.read_text(encoding="utf-8")))), path.name
    xsd = etree.XMLSchema(
        etree.parse(str(Path(odmlib.__file__).parent / "schemas/define/2.1/define2-1-0.xsd"))
    )
    for standard in ("sdtm", "adam"):
        assert xsd.validate(etree.parse(str(out / standard / "define.xml"))), standard
