"""A lock as of a planned date (after today, which `db lock` allows) is read by the web safety page as of
today: a cut-off after today is refused by `read_snapshot` (D-19.380), and follow-up after today has not
happened."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartrial.columns import utc_today
from cartrial.store import StudyService, connect

from .test_safety_options import _study


def test_the_safety_page_reads_a_planned_lock_as_of_today(tmp_path: Path) -> None:
    from cartrial.web import views

    url = _study(tmp_path, "lymphodepletion")
    service = StudyService(connect(url))
    try:
        planned = utc_today() + dt.timedelta(days=30)
        service.as_user("admin").lock(planned, "planned database lock")
        view = views.safety_view(service.as_user("admin"), None)
    finally:
        service.engine.dispose()
    assert view.cutoff == utc_today()
    assert len(view.serious) == 1  # the page shows its data, not an error
