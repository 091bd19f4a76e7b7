"""Partial re-import and the edit checks (issue 19 section 5, decisions D-19.7): a new infusion makes a
subject's stored assessments (in a file that is not read again) early, and files streamed in chunks on the
partial path; each compared with the full path (`partial=False`) on a second database, both backends.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cartrial.store.database import connect
from cartrial.store.importing import import_templates
from cartrial.store.tamper import verify_complete

sys.path.insert(0, str(Path(__file__).parent))
from partial_import_support import edit, stored, two_databases  # noqa: F401 - fixture `two`


def test_a_new_infusion_rechecks_the_stored_assessments_it_makes_early(two: tuple[str, str, Path]) -> None:
    """The assessments of a subject whose infusion is added later are left out (byte-identical files), but
    the edit checks the full path would run on them (assessment long before the infusion) still run."""
    partial_url, full_url, folder = two
    infusions = folder / "infusions.csv"
    lines = infusions.read_text(encoding="utf-8").splitlines(keepends=True)
    (line,) = [x for x in lines if x.startswith("CT-004,")]
    infusions.write_text("".join(x for x in lines if x != line), encoding="utf-8")
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    infusions.write_text(
        "".join(lines).replace("CT-004,2,2021-07-13", "CT-004,2,2022-09-13"), encoding="utf-8"
    )
    partial = import_templates(partial_url, folder, "admin", reason="infusion added")
    full = import_templates(full_url, folder, "admin", reason="infusion added", partial=False)
    assert partial.totals == full.totals
    assert partial.totals["inserted"] == 1
    early = {f.check.id for f in full.edit_checks}
    assert "ASSESSMENT-LONG-BEFORE-INFUSION" in early  # the case is not vacuous
    assert sorted((f.check.id, f.record.table, f.field) for f in partial.edit_checks) == sorted(
        (f.check.id, f.record.table, f.field) for f in full.edit_checks
    )
    assert stored(partial_url) == stored(full_url)
    assert verify_complete(connect(partial_url)).ok


def test_the_partial_path_with_streamed_files(two: tuple[str, str, Path]) -> None:
    """Files streamed in chunks (`stream_bytes`) on the partial path: the changed one is streamed, the
    left-out ones get their manifests, and everything verifies."""
    partial_url, full_url, folder = two
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    edit(folder, "labs", 5, "value", "6.5")
    partial = import_templates(
        partial_url, folder, "admin", reason="lab corrected", stream_bytes=2_000, chunk_rows=40
    )
    full = import_templates(full_url, folder, "admin", reason="lab corrected", partial=False)
    assert partial.totals == full.totals
    assert partial.totals["updated"] == 1
    assert stored(partial_url) == stored(full_url)
    assert verify_complete(connect(partial_url)).ok


def test_a_partial_re_import_lists_the_death_checks_of_the_full_path(two: tuple[str, str, Path]) -> None:
    """D-19.93: the adverse events date a death, so `adverse_events.csv` is read on every re-import (as the
    subjects and infusions are): a byte-identical adverse-events file left out would drop the
    RECORD-AFTER-DEATH finding of an adverse event that began after the death."""
    partial_url, full_url, folder = two
    events = folder / "adverse_events.csv"
    # serious, then the six ICH E2A criteria (D-19.328): death; hospitalisation
    fatal = (
        "CT-001,Sepsis,,infection,2021-06-10,2021-06-12,5,CTCAE,5.0,true,true,,,,,,possible,false,,fatal,,\n"
    )
    later = (
        "CT-001,Pneumonia,,infection,2021-06-15,,3,CTCAE,5.0,true,,,true,,,,possible,false,,not_recovered,,\n"
    )
    events.write_text(events.read_text(encoding="utf-8") + fatal + later, encoding="utf-8")
    for url in (partial_url, full_url):
        import_templates(url, folder, "admin")
    edit(folder, "labs", 5, "value", "6.5")
    partial = import_templates(partial_url, folder, "admin", reason="lab corrected")
    full = import_templates(full_url, folder, "admin", reason="lab corrected", partial=False)
    after_death = sorted(
        (f.record.table, f.field) for f in full.edit_checks if f.check.id == "RECORD-AFTER-DEATH"
    )
    assert ("adverse_event", "started_on") in after_death  # the case is not vacuous
    assert (
        sorted((f.record.table, f.field) for f in partial.edit_checks if f.check.id == "RECORD-AFTER-DEATH")
        == after_death
    )
