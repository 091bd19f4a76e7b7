"""Shared fixtures of the CDISC tests: one export of the example study per session (read only); the setup
of the synthetic-study checks (a synthetic study imported into a fresh SQLite study and exported, the
Dataset-JSON 1.1 schema validator and the Define-XML 2.1 XSD)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ..conftest import example_analysis_copy

CUTOFF = dt.date(2022, 3, 20)
SCHEMA = Path(__file__).resolve().parents[1] / "data" / "cdisc" / "dataset.schema.json"
# the example's CT-002 dies on 2022-03-01: a fatal adverse event (adverse_events.csv fields, as text)
CT002_DEATH_2022_03_01 = {
    "subject_id": "CT-002",
    "term": "Death",
    "category": "death",
    "started_on": "2022-03-01",
    "ended_on": "2022-03-01",
    "grade": "5",
    "grading_scale": "CTCAE",
    "grading_scale_version": "5.0",
    "serious": "true",
    "serious_death": "true",
    "relatedness": "unrelated",
    "dlt": "false",
    "outcome": "fatal",
    "record_id": "999998",
}


@dataclass(frozen=True)
class Exported:
    url: str
    out: Path
    snapshot: Any
    analysis: Any
    frames: dict[str, pd.DataFrame]


def _export_example(
    template: Path, analysed: tuple[Any, Any], factory: pytest.TempPathFactory, edss_domain: str
) -> Exported:
    """The export of a copy of the example study `template`; its snapshot at `CUTOFF` and analysis are a
    private deep copy of the session's `analysed` (read and analysed once, tests/conftest.py)."""
    from cartrial.cdisc.export import export_cdisc, read_sites

    folder = factory.mktemp(f"cdisc_export_{edss_domain}")
    db = folder / "study.db"
    shutil.copyfile(template, db)
    url = f"sqlite:///{db}"
    snapshot, analysis = example_analysis_copy(analysed)
    assert snapshot.cutoff == CUTOFF
    sites = read_sites(url)
    out = folder / "out"
    result = export_cdisc(
        snapshot,
        analysis,
        out,
        formats="both",
        edss_domain=edss_domain,
        sites=sites,
        created="2026-01-01T00:00:00",
    )
    return Exported(url, out, snapshot, analysis, dict(result.frames))


def export_command(exported: Exported, folder: Path, out: Path) -> tuple[object, ...]:
    """`cartrial export cdisc` of a copy (in `folder`) of the example study at the cut-off, into `out`: the
    arguments before any option a test adds."""
    db = folder / "study.db"
    shutil.copyfile(exported.url.removeprefix("sqlite:///"), db)
    return (
        "export",
        "cdisc",
        "--url",
        f"sqlite:///{db}",
        "--user",
        "admin",
        "--cutoff",
        "2022-03-20",
        "--out",
        out,
    )


def frames_with_a_subject_never_infused(exported: Exported, subject_id: str) -> dict[str, pd.DataFrame]:
    """The export's frames of the example with one more subject, `subject_id` (screening number S-099, the
    first subject's other values), consented and never infused (no infusion record)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    subjects = exported.snapshot.tables["subjects"]
    row = subjects.iloc[0].to_dict() | {
        "subject_id": subject_id,
        "screening_number": "S-099",
        "record_id": "999999",
    }
    tables = {
        **exported.snapshot.tables,
        "subjects": pd.concat([subjects, pd.DataFrame([row])], ignore_index=True),
    }
    snapshot = dataclasses.replace(exported.snapshot, tables=tables)
    return build_all(snapshot, analyse(snapshot), {"TJH": "China"})


# CT-001's added neutrophil results (UTC instants, as labs.csv writes them) of the regression of a site west
# of UTC (`pacific_frames`): on America/Los_Angeles (PDT, UTC-7, until 2021-11-07 09:00Z) they fall on
# 05-27 23:00, 05-28 01:00, 05-21 (a date typed without a time, D-19.947), 11-07 00:30 and 11-06 23:30
PACIFIC_ZONE = "America/Los_Angeles"
PACIFIC_LABS = (
    "2021-05-28T06:00:00Z",
    "2021-05-28T08:00:00Z",
    "2021-05-21T00:00:00Z",
    "2021-11-07T07:30:00Z",
    "2021-11-07T06:30:00Z",
)


def frames_of(exported: Exported, snapshot: Any) -> dict[str, pd.DataFrame]:
    """`build_all` of a changed copy `snapshot` of the example, analysed afresh (the example's one site)."""
    from cartrial.analysis import analyse
    from cartrial.cdisc.export import build_all

    return build_all(snapshot, analyse(snapshot), {"TJH": "China"})


def with_labs(exported: Exported, subject_id: str, instants: tuple[str, ...]) -> Any:
    """A copy of the example's snapshot with one more neutrophil result (3.10 x 10^9/L, normal) of
    `subject_id` at each of `instants` (labs.csv text)."""
    labs = exported.snapshot.tables["labs"]
    blank = dict.fromkeys(labs.columns, "")
    added = [
        blank
        | {
            "subject_id": subject_id,
            "analyte": "neutrophils",
            "collected_at": instant,
            "value": "3.10",
            "unit": "10^9/L",
            "lln": "1.8",
            "record_id": str(999900 + i),
        }
        for i, instant in enumerate(instants)
    ]
    tables = {**exported.snapshot.tables, "labs": pd.concat([labs, pd.DataFrame(added)], ignore_index=True)}
    return dataclasses.replace(exported.snapshot, tables=tables)


@pytest.fixture(scope="session")
def pacific_frames(exported: Exported) -> dict[str, pd.DataFrame]:
    """The frames of the example with its one site (TJH) on America/Los_Angeles instead of Asia/Shanghai and
    CT-001's neutrophil results at `PACIFIC_LABS` added (built once; read only). CT-001's infusion,
    2021-04-27T02:00:00Z, is 2021-04-26 19:00 PDT there: protocol day 0 is 2021-04-26."""
    snapshot = dataclasses.replace(
        with_labs(exported, "CT-001", PACIFIC_LABS), time_zones={"TJH": PACIFIC_ZONE}
    )
    return frames_of(exported, snapshot)


@pytest.fixture(scope="session")
def exported(
    example_sqlite_template: Path,
    _example_analysis_template: tuple[Any, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Exported:
    """The example study exported once (both formats) as of the README cut-off, with the frames written
    (EDSS/KFSS in QS, the default)."""
    return _export_example(example_sqlite_template, _example_analysis_template, tmp_path_factory, "qs")


@pytest.fixture(scope="session")
def exported_rs(
    example_sqlite_template: Path,
    _example_analysis_template: tuple[Any, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Exported:
    """The same export with the EDSS domain option ``rs`` (EDSS/KFSS in RS, no QS; D-15.11)."""
    return _export_example(example_sqlite_template, _example_analysis_template, tmp_path_factory, "rs")


@pytest.fixture(params=["qs", "rs"])
def exported_each(request: pytest.FixtureRequest) -> Exported:
    """`exported` and `exported_rs` in turn: the file, validation and reconciliation checks hold for both
    choices of the EDSS domain."""
    return request.getfixturevalue("exported" if request.param == "qs" else "exported_rs")  # type: ignore[no-any-return]


@dataclass(frozen=True)
class SyntheticExport:
    subjects: int
    out: Path
    result: Any


@pytest.fixture
def export_synthetic(tmp_path: Path) -> Callable[[int], SyntheticExport]:
    """Writes the store benchmark's synthetic study of `n` subjects, imports it into a fresh SQLite study of
    the example protocol and exports it in both formats (cut-off 2024-06-30, after every record; EDSS/KFSS
    in `edss_domain`)."""

    def run(n: int, edss_domain: str = "qs") -> SyntheticExport:
        from cartrial import examples
        from cartrial.analysis import analyse
        from cartrial.cdisc.export import export_cdisc, read_sites
        from cartrial.store.importing import import_templates, write_synthetic_study
        from cartrial.store.snapshot import read_snapshot
        from cartrial.store.study_setup import init_study

        folder = tmp_path / "study"
        write_synthetic_study(folder, n)
        url = f"sqlite:///{tmp_path / 'study.db'}"
        init_study(url, examples.path("ct103a-nmosd") / "protocol.yaml", "admin")
        import_templates(url, folder, "admin")
        snapshot = read_snapshot(url, dt.date(2024, 6, 30))  # after the last synthetic record (2023-12-04)
        out = tmp_path / "cdisc"
        result = export_cdisc(
            snapshot, analyse(snapshot), out, formats="both", edss_domain=edss_domain, sites=read_sites(url)
        )
        return SyntheticExport(n, out, result)

    return run


@pytest.fixture(scope="session")
def dataset_json_validator() -> Any:
    """A validator of the Dataset-JSON 1.1 schema (tests/data/cdisc/dataset.schema.json)."""
    import json

    import jsonschema

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.fixture(scope="session")
def define_xsd() -> Any:
    """The Define-XML 2.1 XSD bundled with odmlib."""
    import odmlib
    from lxml import etree

    return etree.XMLSchema(
        etree.parse(str(Path(odmlib.__file__).parent / "schemas/define/2.1/define2-1-0.xsd"))
    )


@pytest.fixture(scope="session")
def _example_frames_template(_example_analysis_template: tuple[Any, Any]) -> dict[str, pd.DataFrame]:
    """The frames `build_all` makes of the unchanged example snapshot at the cut-off with its analysis and
    the example's one site (TJH, China): built once per session (of a private copy of the session's
    snapshot and analysis); tests get copies (`example_frames`)."""
    from cartrial.cdisc.export import build_all

    snapshot, analysis = example_analysis_copy(_example_analysis_template)
    assert snapshot.cutoff == CUTOFF
    return build_all(snapshot, analysis, {"TJH": "China"})


@pytest.fixture
def example_frames(_example_frames_template: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """A private copy of the frames of the unchanged example (``build_all(exported.snapshot,
    analyse(exported.snapshot), {"TJH": "China"})``, built once per session)."""
    return {name: frame.copy() for name, frame in _example_frames_template.items()}
