"""D-19.120: the web safety dashboard derives its datasets with the protocol's analysis options, as
`cartrial analyse` does. It called the toxicity derivations with their defaults, so under
`treatment_emergent_start: infusion` an adverse event between lymphodepletion and the infusion was a
treatment-emergent (and serious) event on the page and not in the report."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cartrial.analysis import analyse
from cartrial.store import StudyService, connect, init_study
from cartrial.store.snapshot import read_snapshot

from ..conftest import TEST_PASSWORD
from .conftest import PROTOCOL

CUTOFF = dt.date(2021, 6, 30)


def _study(tmp_path: Path, start: str) -> str:
    text = PROTOCOL.read_text(encoding="utf-8")
    assert "    treatment_emergent_start: lymphodepletion\n" in text
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(
        text.replace(
            "    treatment_emergent_start: lymphodepletion\n", f"    treatment_emergent_start: {start}\n"
        ),
        encoding="utf-8",
    )
    url = f"sqlite:///{tmp_path / 'study.db'}"
    init_study(url, protocol, "admin", admin_site="TJH", admin_password=TEST_PASSWORD)
    service = StudyService(connect(url))
    with service.transaction("admin", "test setup") as tx:
        service.upsert_rows(
            tx, "subject", [{"subject_id": "CT-001", "site_id": "TJH", "consent_date": "2021-04-01"}]
        )
        service.upsert_rows(
            tx,
            "lymphodepletion_administration",
            [
                {
                    "subject_id": "CT-001",
                    "drug": "fludarabine",
                    "administered_on": "2021-04-23",
                    "dose_mg_per_m2": 30,
                }
            ],
        )
        service.upsert_rows(
            tx,
            "infusion",
            [
                {
                    "subject_id": "CT-001",
                    "dose_level": 1,
                    "infused_at": "2021-04-27T02:00:00Z",
                    "weight_kg": 60.0,
                    "cells_per_kg": 500000,
                    "total_car_t_cells": 30000000,
                }
            ],
        )
        service.upsert_rows(
            tx,
            "adverse_event",
            [
                {  # after the first lymphodepletion dose, before the infusion
                    "subject_id": "CT-001",
                    "term": "Febrile neutropenia",
                    "category": "hematologic",
                    "started_on": "2021-04-25",
                    "ended_on": "2021-04-26",
                    "grade": 3,
                    "grading_scale": "CTCAE",
                    "grading_scale_version": "5.0",
                    "serious": True,
                    "outcome": "recovered",
                }
            ],
        )
    service.engine.dispose()
    return url


def test_the_safety_page_reads_the_protocols_treatment_emergence_start(tmp_path: Path) -> None:
    from cartrial.web import views

    for start, expected in (("lymphodepletion", 1), ("infusion", 0)):
        (tmp_path / start).mkdir()
        url = _study(tmp_path / start, start)
        report = analyse(read_snapshot(url, CUTOFF)).datasets["teae_listing"].table
        service = StudyService(connect(url))
        try:
            page = views.safety_data(service.as_user("admin"), CUTOFF).datasets["teae_listing"].table
            view = views.safety_view(service.as_user("admin"), None, CUTOFF)
        finally:
            service.engine.dispose()
        assert len(report) == len(page) == expected, start
        assert len(view.serious) == expected, start


def test_the_safety_page_shows_the_events_the_analysis_counts_serious(tmp_path: Path) -> None:
    """One reading of "serious" (D-19.1084): the page lists the rows of `teae_listing` the analysis flagged
    serious (`serious_flag`), as many as `teae_summary` counts (by hand: CT-001's febrile neutropenia, 1)."""
    from cartrial.web import views

    url = _study(tmp_path, "lymphodepletion")
    analysis = analyse(read_snapshot(url, CUTOFF))
    service = StudyService(connect(url))
    try:
        view = views.safety_view(service.as_user("admin"), None, CUTOFF)
    finally:
        service.engine.dispose()
    flagged = analysis.datasets["teae_listing"].table["serious_flag"]
    summary = analysis.datasets["teae_summary"].table
    k = summary[(summary["group"] == "all") & (summary["measure"] == "serious_teae")].iloc[0]["k"]
    assert len(view.serious) == int(flagged.sum()) == int(k) == 1
