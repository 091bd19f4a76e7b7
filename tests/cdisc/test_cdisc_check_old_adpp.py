"""`export cdisc --check` judges an export by the rules it was written under (D-19.891).

Before one ADPP parameter per partial-AUC interval (D-19.890) an export coded every interval's AUC
<prefix>AUCINT (CTAUCINT, TGAUCINT, TVAUCINT; PARAM "... AUC from T1 to T2 (...)") and its
``cdisc-export.json`` recorded only the responder codelist (``study_codelists`` = {PARAMRS: ...}, main's
shape, built here by hand). Failing first: `--check` of such a folder fell back to the shipped ADPPPRCD,
which no longer lists those codes, and reported "value outside non-extensible codelist ADPPPRCD".
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.cdisc.conftest import Exported

from cartrial.cdisc.export import check_folder


def _old_export(exported: Exported, folder: Path, *, with_adpp_codelist: bool) -> None:
    """adam/adpp.json of the example export with its partial AUCs coded as before D-19.890, and a manifest
    of the old shape (no ADPPPRCD) or of the new one (`with_adpp_codelist`, the study's ADPPPRCD)."""
    (folder / "adam").mkdir(parents=True)
    document = json.loads((exported.out / "adam" / "adpp.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in document["columns"]]
    code, param, testcd = names.index("PARAMCD"), names.index("PARAM"), names.index("PPTESTCD")
    changed = 0
    for row in document["rows"]:
        if row[testcd] == "AUCINT":
            prefix = row[code][:2]  # CT / TG / TV
            unit = row[param][row[param].rindex(" (") :]
            text = row[param].split(" AUC from Day ")[0]
            row[code], row[param] = f"{prefix}AUCINT", f"{text} AUC from T1 to T2{unit}"
            changed += 1
    assert changed  # the example has partial AUCs
    (folder / "adam" / "adpp.json").write_text(json.dumps(document), encoding="utf-8")
    manifest = json.loads((exported.out / "cdisc-export.json").read_text(encoding="utf-8"))
    recorded = manifest["study_codelists"]
    manifest["study_codelists"] = recorded if with_adpp_codelist else {"PARAMRS": recorded["PARAMRS"]}
    (folder / "cdisc-export.json").write_text(json.dumps(manifest), encoding="utf-8")


def test_check_of_an_export_written_before_interval_params_accepts_its_aucint_codes(
    exported: Exported, tmp_path: Path
) -> None:
    _old_export(exported, tmp_path, with_adpp_codelist=False)
    findings, seen = check_folder(tmp_path)
    assert [s[0] for s in seen] == ["adam/adpp.json"]
    assert findings == []


def test_check_of_a_new_export_still_refuses_the_old_aucint_codes(exported: Exported, tmp_path: Path) -> None:
    """A manifest recording the study's ADPPPRCD (written under D-19.890) is judged by it: TGAUCINT is not
    one of its codes."""
    _old_export(exported, tmp_path, with_adpp_codelist=True)
    findings, _seen = check_folder(tmp_path)
    assert [(f.dataset, f.variable, f.rule) for f in findings] == [
        ("adam/adpp.json:ADPP", "PARAMCD", "codelist")
    ]
    assert "ADPPPRCD" in findings[0].message


def test_the_example_export_checks_clean_as_written(exported: Exported, tmp_path: Path) -> None:
    """The unchanged ADPP and manifest of this version: no finding (old codes only for old manifests)."""
    (tmp_path / "adam").mkdir()
    shutil.copyfile(exported.out / "adam" / "adpp.json", tmp_path / "adam" / "adpp.json")
    shutil.copyfile(exported.out / "cdisc-export.json", tmp_path / "cdisc-export.json")
    findings, _seen = check_folder(tmp_path)
    assert findings == []
