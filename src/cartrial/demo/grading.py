"""Demo step: grade the example study's CRS, ICANS and lab forms; write graded CSVs, episodes, ICAHT and the
graded events of the DLT rules; print one line per subject. Calls `cartrial.grading`'s frame functions, and
`cartrial.analysis.safety.pre_treatment` for the labs' baseline flags the graded events need (D-19.1197)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.table import Table

from cartrial.demo import DemoContext


def run(ctx: DemoContext) -> None:
    """Grade the example study's CRS, ICANS and lab forms; write graded CSVs, episodes and ICAHT."""
    from cartrial.grading import (
        derive_crs_episodes,
        derive_crs_grades,
        derive_graded_events,
        derive_icaht,
        derive_icans_episodes,
        derive_icans_grades,
        derive_lab_grades,
        infusion_times,
        therapy_records,
    )
    from cartrial.grading.tables import (
        CRS_ONE_OF,
        CRS_OPTIONAL,
        CRS_REQUIRED,
        ICANS_OPTIONAL,
        ICANS_REQUIRED,
        INFUSIONS_REQUIRED,
        LABS_REQUIRED,
        THERAPIES_OPTIONAL,
        THERAPIES_REQUIRED,
    )
    from cartrial.tabular import csv_text, read_csv, write_atomic

    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "grading"
    out_dir.mkdir(parents=True, exist_ok=True)
    infusions = infusion_times(
        read_csv(study / "infusions.csv", required=INFUSIONS_REQUIRED), file=study / "infusions.csv"
    )
    therapies = therapy_records(
        read_csv(
            study / "therapies.csv",
            required=THERAPIES_REQUIRED,
            optional=THERAPIES_OPTIONAL,
            header_only=True,
        ),
        file=study / "therapies.csv",
    )
    crs_file, icans_file, labs_file = (
        study / "crs_assessments.csv",
        study / "icans_assessments.csv",
        study / "labs.csv",
    )
    crs = read_csv(crs_file, required=CRS_REQUIRED, optional=CRS_OPTIONAL, one_of=CRS_ONE_OF)
    icans = read_csv(
        icans_file,
        required=ICANS_REQUIRED,
        optional=ICANS_OPTIONAL,
        one_of=(("ice_orientation", "ice_total"),),
    )
    labs = read_csv(labs_file, required=LABS_REQUIRED)

    write_atomic(
        out_dir / "crs_graded.csv",
        csv_text(derive_crs_grades(crs, legacy=True, file=crs_file).table),
    )
    crs_episodes = derive_crs_episodes(crs, infusions, therapies=therapies, file=crs_file).table
    write_atomic(out_dir / "crs_episodes.csv", csv_text(crs_episodes))
    write_atomic(out_dir / "icans_graded.csv", csv_text(derive_icans_grades(icans, file=icans_file).table))
    icans_episodes = derive_icans_episodes(icans, infusions, therapies=therapies, file=icans_file).table
    write_atomic(out_dir / "icans_episodes.csv", csv_text(icans_episodes))
    labs_graded = derive_lab_grades(labs, file=labs_file).table
    write_atomic(out_dir / "labs_graded.csv", csv_text(labs_graded))
    # no follow-up dates (D-19.717): every example subject has a count after day 30, so the early window ends
    # on day 30 (D-19.673); for a subject whose counts stopped earlier the last count would end follow-up
    icaht = derive_icaht(labs, infusions, file=labs_file).table
    write_atomic(out_dir / "icaht.csv", csv_text(icaht))
    # the study's treatment-emergent period (default rule: from the first lymphodepletion dose, D-19.710): a
    # cytopenia begun before it is pre-existing unless it worsens (D-19.1195, D-19.1196, D-19.1197)
    from cartrial.analysis.safety import pre_treatment

    periods = {name: read_csv(study / f"{name}.csv") for name in ("infusions", "lymphodepletion")}
    before = pre_treatment(labs, periods, "lymphodepletion").to_numpy(dtype=bool)
    events = derive_graded_events(
        infusions, crs=crs, icans=icans, labs=labs, therapies=therapies, pre_treatment=before
    ).table
    write_atomic(out_dir / "graded_events.csv", csv_text(events))

    table = Table(
        title="Toxicity grading (ASTCT 2019 CRS/ICANS, CTCAE v5.0, ICAHT) — synthetic example study"
    )
    for name in (
        "subject",
        "max CRS",
        "CRS onset day",
        "CRS days",
        "toci",
        "max ICANS",
        "worst ANC gr",
        "worst PLT gr",
        "early ICAHT",
        "late ICAHT",
    ):
        table.add_column(name)
    # the worst CRS episode of each subject (the first of equal grades)
    worst_crs = crs_episodes.sort_values(
        ["subject_id", "max_grade", "episode"], ascending=[True, False, True]
    )
    crs_by_subject = worst_crs.drop_duplicates("subject_id").set_index("subject_id")
    icans_max = icans_episodes.groupby("subject_id")["max_grade"].max() if len(icans_episodes) else None
    worst = labs_graded.groupby(["subject_id", "analyte"])["grade"].max()
    icaht_by = icaht.set_index("subject_id") if len(icaht) else None

    def number(value: Any, digits: int) -> str:
        return "-" if value is None or pd.isna(value) else f"{float(value):.{digits}f}"

    for sid in sorted(infusions):
        episode = crs_by_subject.loc[sid] if sid in crs_by_subject.index else None
        early = late = "-"
        if icaht_by is not None and sid in icaht_by.index:
            early = str(icaht_by.loc[sid, "early_grade"])
            late = str(icaht_by.loc[sid, "late_grade"])
        table.add_row(
            sid,
            str(episode["max_grade"]) if episode is not None else "-",
            number(episode["onset_day"], 1) if episode is not None else "-",
            number(episode["duration_days"], 1) if episode is not None else "-",
            str(episode["tocilizumab_doses"]) if episode is not None else "-",
            str(icans_max.get(sid, "-")) if icans_max is not None else "-",
            str(worst.get((sid, "neutrophils"), "-")),
            str(worst.get((sid, "platelets"), "-")),
            early,
            late,
        )
    ctx.console.print(table)
    ctx.console.print(
        f"grading: wrote graded CSVs, CRS/ICANS episodes, ICAHT and {len(events)} graded events (for the DLT "
        f"rules) to {out_dir}"
    )


__all__ = ["run"]
