"""A site-restricted user's web snapshot held every site's country (`StudySnapshot.sites`, read with the
snapshot for DM.COUNTRY, D-19.383): only its subjects' tables were filtered. The sites are now filtered
with the subjects."""

from __future__ import annotations

import datetime as dt

from cartrial.web import views

CUTOFF = dt.date(2021, 6, 30)


def test_an_investigators_snapshot_names_only_their_sites(web_study) -> None:  # type: ignore[no-untyped-def]
    everyone = views.snapshot_for(web_study.service.as_user("admin"), CUTOFF)
    assert {"TJH", "PUMCH"} <= set(everyone.sites)  # admin: every site
    mine = views.snapshot_for(web_study.service.as_user("inv2"), CUTOFF)
    assert set(mine.sites) == {"PUMCH"}
    assert set(mine.tables["subjects"]["site_id"]) == {"PUMCH"}
