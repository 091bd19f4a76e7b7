"""The store's refusal of a history date that is no date names the entry and the key (D-19.1219).

The record rules TREATMENT-HISTORY-DATE / RELAPSE-HISTORY-DATE named only the column ("a date of the
treatment history … is no date"), while the edit check HISTORY-DATE and the CDISC export name the entry
(1-based) and the key: a data manager with a history of ten entries could not tell which one to correct.
Now the import (template file, row) and the web API name ``entry 2: stopped_on``; never the value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from cartrial import templates
from cartrial.store import StudyService, connect

from ..conftest import Cli

BAD = "2019--07-01"
HISTORY = [{"drug": "rituximab", "started_on": "2019-03"}, {"drug": "tocilizumab", "stopped_on": BAD}]


def test_the_template_import_names_the_entry_and_key_of_the_bad_date(
    cli: Cli, password_study_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(Path(templates.__file__).parent / "sites.csv", folder / "sites.csv")
    cell = '"' + json.dumps(HISTORY).replace('"', '""') + '"'
    (folder / "subjects.csv").write_text(
        f"subject_id,site_id,consent_date,sex,treatment_history\nCT-001,TJH,2021-05-06,F,{cell}\n",
        encoding="utf-8",
    )
    result = cli("import", "templates", folder, "--url", password_study_url, "--user", "admin")
    assert result.exit_code == 2, result.output
    assert "subjects.csv" in result.stderr and "treatment_history" in result.stderr
    assert "entry 2: stopped_on" in result.stderr
    assert "entry 1" not in result.stderr  # the good entry is not named
    assert BAD not in result.output and "tocilizumab" not in result.output
    assert "Traceback" not in result.output
    service = StudyService(connect(password_study_url))
    try:
        assert service.find_records("admin", "subject") == []  # nothing was written
    finally:
        service.engine.dispose()
