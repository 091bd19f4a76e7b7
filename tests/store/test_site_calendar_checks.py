"""D-19.607: the edit checks count a subject's days on its site's calendar. The example's site TJH is in
Asia/Shanghai; CT-001's lymphodepletion is stored on 2021-04-23 as day -4. An infusion at 07:30 on the Wuhan
ward on 2021-04-27 is stored 2021-04-26T23:30Z: on the ward calendar day 0 is 2021-04-27, so 2021-04-23 is
day -4 as recorded (no LYMPHODEPLETION-DAY finding); on the UTC calendar (a site without a time zone) day 0
is 2021-04-26 and the dose's date is day -3, which disagrees with the -4 recorded."""

from __future__ import annotations

from pathlib import Path

from cartrial.store.importing import import_templates

from .test_cross_form_checks import empty_study_url, first_import, only, stored_side  # noqa: F401

EARLY_MORNING_IN_WUHAN = "2021-04-26T23:30:00Z"


def test_the_lymphodepletion_day_counts_from_the_infusion_on_the_ward_calendar(
    empty_study_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    first_import(tmp_path / "first", empty_study_url, infused=False)
    folder = only(tmp_path / "infusions", "infusions", "infused_at", EARLY_MORNING_IN_WUHAN)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "LYMPHODEPLETION-DAY") == []


def test_a_site_without_a_time_zone_keeps_the_utc_calendar(
    empty_study_url: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    from sqlalchemy import create_engine, text

    first_import(tmp_path / "first", empty_study_url, infused=False)
    engine = create_engine(empty_study_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE site SET time_zone = NULL"))
    engine.dispose()
    folder = only(tmp_path / "infusions", "infusions", "infused_at", EARLY_MORNING_IN_WUHAN)
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert stored_side(planned, "LYMPHODEPLETION-DAY") == [
        ("lymphodepletion_administration", "day_relative_to_infusion")
    ]
