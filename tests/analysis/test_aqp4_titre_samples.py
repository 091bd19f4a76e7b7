"""Every stored AQP4-IgG titre is read once, by the analysis, into the per-sample dataset ``aqp4_titres``
(D-19.631); the report's figure and SDTM LB read that dataset, never the titre text.

Before: the analysis parsed only each patient's baseline and last titre, so a stored titre off the assay
grid between them (a database of an older version, or a direct SQL change: CT-003's day-28 titre set to
"1:7") let `analyse` succeed, and the report's AQP4-IgG figure and SDTM LB then stopped with
"titre: dilution not in the assay series (got '1:7')": a stored value shown (D-12.2: "(got …)" only for the
user's own input) and no table or record named.

Expected (the convention of the analysis for unreadable stored values, D-19.542/D-19.543: the analysis is
refused by record, never run without the record): `analyse` refuses with "pd_sample record <id>,
aqp4_igg_titre", without the value; every refused titre named at once. The dataset's reading, by the titre
rule (docs/science/neuro-outcomes.md §6), by hand: CT-005's 1:32 (day -7) → step 2, reciprocal 32, standard
"32"; its "negative" (nominal day 180) → step 0, reciprocal 0, standard "NEGATIVE", no standard number
(src/cartrial/examples/ct103a-nmosd/study/pd_samples.csv).
"""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest

from cartrial.analysis import Analysis, analyse
from cartrial.errors import InputError
from cartrial.report import figures
from cartrial.store.snapshot import StudySnapshot


def _with_titres(
    snapshot: StudySnapshot, titres: dict[tuple[str, str], str]
) -> tuple[StudySnapshot, list[int]]:
    samples = snapshot.tables["pd_samples"].copy()
    ids = []
    for (subject, day), text in titres.items():
        at = samples["subject_id"].eq(subject) & samples["nominal_day"].astype(str).eq(day)
        assert at.sum() == 1
        samples.loc[at, "aqp4_igg_titre"] = text
        ids.append(int(samples.loc[at, "record_id"].iloc[0]))
    return dataclasses.replace(snapshot, tables={**snapshot.tables, "pd_samples": samples}), ids


def test_an_off_grid_titre_between_baseline_and_last_refuses_the_analysis_by_its_record(
    snapshot: StudySnapshot,
) -> None:
    changed, [record_id] = _with_titres(snapshot, {("CT-003", "28"): "1:7"})
    with pytest.raises(InputError) as caught:
        analyse(changed)
    text = str(caught.value)
    assert f"pd_sample record {record_id}, aqp4_igg_titre" in text, text
    assert "1:7" not in text and "(got" not in text


def test_every_refused_titre_is_named_at_once(snapshot: StudySnapshot) -> None:
    changed, ids = _with_titres(snapshot, {("CT-003", "28"): "1:7", ("CT-004", "28"): "<1:32"})
    with pytest.raises(InputError) as caught:
        analyse(changed)
    text = str(caught.value)
    for record_id in ids:
        assert f"pd_sample record {record_id}, aqp4_igg_titre" in text, text
    assert "1:7" not in text and "<1:32" not in text


def test_the_dataset_holds_every_titre_read_by_the_titre_rule(
    analysis: Analysis, snapshot: StudySnapshot
) -> None:
    table = analysis.datasets["aqp4_titres"].table
    stored = snapshot.tables["pd_samples"]
    with_titre = stored[stored["aqp4_igg_titre"].astype(str).str.strip() != ""]
    assert sorted(table["record_id"].astype(int)) == sorted(with_titre["record_id"].astype(int))
    ct005 = table[table["subject_id"] == "CT-005"]
    ct005 = ct005.set_index(pd.to_numeric(ct005["nominal_day"]).astype(int))
    first = ct005.loc[-7]
    assert (int(first["step"]), float(first["reciprocal"]), first["standard"]) == (2, 32.0, "32")
    assert float(first["standard_numeric"]) == 32.0
    last = ct005.loc[180]
    assert (int(last["step"]), float(last["reciprocal"]), last["standard"]) == (0, 0.0, "NEGATIVE")
    assert math.isnan(float(last["standard_numeric"]))


def test_the_figure_draws_the_analysis_dataset_not_the_stored_text(
    analysis: Analysis, snapshot: StudySnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[object] = []
    monkeypatch.setattr(figures, "_svg", lambda fig: captured.append(fig) or "")
    tables = {name: frame for name, frame in snapshot.tables.items() if name != "pd_samples"}
    # formerly None: the figure read (and parsed) the stored pd_samples itself
    assert figures.aqp4_figure(analysis, tables) is not None
    ax = captured[0].axes[0]  # type: ignore[attr-defined]
    subjects = sorted(set(analysis.datasets["aqp4_titres"].table["subject_id"].astype(str)))
    line = ax.get_lines()[subjects.index("CT-005")]
    points = dict(zip(line.get_xdata(), line.get_ydata(), strict=True))
    assert points[182.0] == 1.0 and points[min(points)] == 32.0
