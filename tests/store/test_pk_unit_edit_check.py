"""PK-UNIT-DIMENSION: a PK sample whose unit is of another dimension than its analyte's declared unit is
queried (soft); a unit of the declared dimension is converted by the analysis and not queried (D-19.784).

Before: no edit check compared a sample's unit with anything, so a site reporting the transgene in
copies/mL beside the study's copies/ug gDNA was found only in the analysis (two summaries). By hand from
the declared units (`PK_ANALYTE_UNITS`): car_transgene copies/ug gDNA (copies per mass of genomic DNA),
car_t_cells cells/uL (cells per volume); copies/ng gDNA and cells/mL are of those dimensions, copies/mL
and copies/ug (no "gDNA": the mass of what?) are not.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from cartrial.store import StudyService, connect
from cartrial.store.edit_checks import CHECKS_BY_ID, Severity, pk_unit_dimension
from cartrial.store.importing import import_templates

from .test_death_checks import small_study
from .test_store_data_quality import PK_HEADER, located, pk_row, system_queries


@pytest.mark.parametrize(
    ("analyte", "unit", "queried"),
    [
        ("car_transgene", "copies/ug gDNA", False),
        ("car_transgene", "copies/\u00b5g gDNA", False),
        ("car_transgene", "copies/ng gDNA", False),  # converted × 1000, not queried
        # copies/mL (ddPCR) is the transgene's accepted second dimension: not queried (changed by design in
        # review of D-19.784: a legitimate copies/mL study was flooded with queries)
        ("car_transgene", "copies/mL", False),
        ("car_transgene", "copies/uL", False),
        ("car_t_cells", "copies/mL", True),
        ("car_transgene", "copies/ug", True),
        ("car_t_cells", "cells/uL", False),
        ("car_t_cells", "cells/mL", False),  # converted ÷ 1000, not queried
        ("car_t_cells", "cells/mm3", False),
        ("car_t_cells", "copies/ug gDNA", True),
        ("car_t_cells", "cells/ML", True),  # a megalitre: case is a prefix
        ("il6", "pg/mL", False),  # no declared unit: not judged
        ("car_t_cells", "", False),  # blank: not judged here
    ],
)
def test_the_rule_by_hand(analyte: str, unit: str, queried: bool) -> None:
    assert (pk_unit_dimension(analyte, unit) is not None) is queried


def test_the_check_is_soft_with_its_rule_and_source() -> None:
    check = CHECKS_BY_ID["PK-UNIT-DIMENSION"]
    assert check.severity is Severity.SOFT
    assert "cells/mL" in check.rule and "copies/ng gDNA" in check.rule and "D-19.781" in check.source


def _row(day: int, unit: str) -> str:
    return pk_row(day, "600", "50", "false").replace("copies/ug gDNA", unit)


def test_import_queries_another_dimension_and_not_a_convertible_unit(
    empty_study_url: str, tmp_path: Path
) -> None:
    """Failing first: no PK-UNIT-DIMENSION check. Rows 2-5: copies/ug gDNA, copies/ng gDNA (converted),
    copies/mL (the transgene's accepted second dimension, not queried since the review of D-19.784; it was
    queried before, changed by design), copies/ug (queried, row 5). The query says what is allowed and
    quotes no unit or analyte of the record."""
    folder = small_study(tmp_path / "in")
    rows = [_row(1, "copies/ug gDNA"), _row(2, "copies/ng gDNA"), _row(3, "copies/mL"), _row(4, "copies/ug")]
    (folder / "pk_samples.csv").write_text("\n".join([PK_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "PK-UNIT-DIMENSION") == [("pk_samples.csv", 5, "unit")]
    by_row = {f.record.row: f.message for f in planned if f.check.id == "PK-UNIT-DIMENSION"}
    assert "of no dimension the analysis converts" in by_row[5]
    for message in by_row.values():
        assert "copies/ng gDNA" in message and "converted by the analysis into copies/ug gDNA" in message
        assert "copies/ug " not in message.split("allowed")[0]  # the record's unit is not quoted
        assert "car_transgene" not in message  # nor its analyte (D-12.2)
    import_templates(empty_study_url, folder, "admin")
    assert len(system_queries(empty_study_url, "PK-UNIT-DIMENSION")) == 1


def test_a_single_write_in_another_dimension_raises_a_query(empty_study_url: str, tmp_path: Path) -> None:
    folder = small_study(tmp_path / "in")
    import_templates(empty_study_url, folder, "admin")
    service = StudyService(connect(empty_study_url))
    sample = {
        "subject_id": "CT-001",
        "analyte": "car_t_cells",
        "sampled_at": dt.datetime(2021, 5, 10, 1, tzinfo=dt.UTC),
        "value": 2500.0,
        "unit": "cells/mL",
    }
    service.insert_record("admin", "pk_sample", sample, "entry")
    assert system_queries(empty_study_url, "PK-UNIT-DIMENSION") == []
    service.insert_record(
        "admin",
        "pk_sample",
        {**sample, "sampled_at": dt.datetime(2021, 5, 11, 1, tzinfo=dt.UTC), "unit": "copies/ug gDNA"},
        "entry",
    )
    assert len(system_queries(empty_study_url, "PK-UNIT-DIMENSION")) == 1


def test_a_copies_per_ml_study_is_not_flooded_with_queries(empty_study_url: str, tmp_path: Path) -> None:
    """Failing first: every transgene sample of a ddPCR study in copies/mL was queried. copies/mL is the
    transgene's accepted second dimension (D-19.758, D-19.783): no query."""
    folder = small_study(tmp_path / "in")
    rows = [_row(day, "copies/mL") for day in (1, 2, 3)]
    (folder / "pk_samples.csv").write_text("\n".join([PK_HEADER, *rows]) + "\n", "utf-8")
    planned = import_templates(empty_study_url, folder, "admin", dry_run=True).edit_checks
    assert located(planned, "PK-UNIT-DIMENSION") == []
