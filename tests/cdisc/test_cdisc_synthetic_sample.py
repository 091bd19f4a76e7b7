"""The regular-suite form of the nightly synthetic-study check (tests/cdisc/test_cdisc_synthetic.py): a small
synthetic study (CARTRIAL_CDISC_SAMPLE_SUBJECTS, default 25) exported in both formats with zero validation
findings; every Dataset-JSON file's structure (all top-level members and columns) plus a sample of its rows
(first, last and up to 200 spread evenly) against the Dataset-JSON 1.1 schema; both define.xml files against
the Define-XML 2.1 XSD; `--check` re-reads every file with zero findings. The nightly test checks every row
of the 1,000-subject study."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "cdisc" / "dataset.schema.json"
SAMPLE_ROWS = 200


def _sampled(document: dict[str, Any]) -> dict[str, Any]:
    rows = document["rows"]
    if len(rows) <= SAMPLE_ROWS + 2:
        return document
    step = len(rows) / SAMPLE_ROWS
    picked = [rows[0], *(rows[int(i * step)] for i in range(SAMPLE_ROWS)), rows[-1]]
    return {**document, "rows": picked, "records": len(rows)}


def test_small_synthetic_study_exports_valid_files(tmp_path: Path) -> None:
    import jsonschema
    import odmlib
    from lxml import etree

    from cartrial import examples
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import check_folder, export_cdisc, read_sites
    from cartrial.store.importing import import_templates, write_synthetic_study
    from cartrial.store.snapshot import read_snapshot
    from cartrial.store.study_setup import init_study

    n = int(os.environ.get("CARTRIAL_CDISC_SAMPLE_SUBJECTS", "25"))
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
    assert all(d.findings == 0 for d in result.datasets)
    findings, seen = check_folder(out)
    assert findings == [] and len(seen) == 2 * len(result.datasets)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    files = sorted(p for p in out.rglob("*.json") if p.name != "cdisc-export.json")
    assert len(files) == len(result.datasets)
    for path in files:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["records"] == len(document["rows"]), path.name
        errors = [e.message for e in validator.iter_errors(_sampled(document))]
        assert not errors, (path.name, errors[:3])
    xsd = etree.XMLSchema(
        etree.parse(str(Path(odmlib.__file__).parent / "schemas/define/2.1/define2-1-0.xsd"))
    )
    for standard in ("sdtm", "adam"):
        document = etree.parse(str(out / standard / "define.xml"))
        assert xsd.validate(document), (standard, str(xsd.error_log)[:500])
