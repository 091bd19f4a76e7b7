"""Demo step: neuro — score the example EDSS/VA/OSIS forms, responders (with the protocol's a-priori
definitions, under both denominators), relapses (ARR, rate ratio, KM) and confirmed disability change;
results in ``demo-output/neuro/``."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from rich.table import Table

from cartrial.demo import DemoContext
from cartrial.rounding import fixed


def _rate_cell(rate: Any) -> str:
    """An ARR and its CI, rounded as the report's finding (a tie half away from zero; D-19.189, D-19.1137)."""
    if rate.rate is None:
        return "not estimable"
    return f"{fixed(rate.rate, 2)} (95% CI {fixed(rate.ci_low, 2)}-{fixed(rate.ci_high, 2)})"


def _percent(value: float | None) -> str:
    """A percentage, rounded as the report's (a tie half away from zero; D-19.189, D-19.1137)."""
    return "n/a" if value is None else f"{fixed(value, 0)}%"


def run(ctx: DemoContext) -> None:
    """Score the example forms, derive responders, relapses and disability; print a summary table."""
    from cartrial.analysis.options import analysis_spec
    from cartrial.neuro import (
        DEFAULT_RESPONDERS,
        RESPONDER_DEFINITIONS,
        DisabilityOptions,
        derive_disability,
        derive_edss,
        derive_osis,
        derive_relapses,
        derive_responders,
        derive_visual_acuity,
        format_ratio,
        km_frame,
        median_follow_up_text,
        percent_of_infused,
        relapse_options_from_protocol,
        responder_definitions_from_protocol,
    )
    from cartrial.neuro.derive import has_edss_change, infusion_time_zones
    from cartrial.neuro.disability import BaselineVisit
    from cartrial.protocol import load_protocol
    from cartrial.tabular import csv_text, dumps_json, read_csv, write_atomic

    study = ctx.examples_dir / "ct103a-nmosd" / "study"
    out_dir = ctx.out_dir / "neuro"
    out_dir.mkdir(parents=True, exist_ok=True)
    cutoff = date(2022, 3, 20)

    def save(name: str, frame: Any) -> None:
        write_atomic(out_dir / name, csv_text(frame))

    edss_form = read_csv(study / "edss.csv")
    va_form = read_csv(study / "visual_acuity.csv")
    infusions = read_csv(study / "infusions.csv")
    zones = infusion_time_zones(infusions)  # the site calendars of the cut-off check (D-19.732)
    # each row by its own method, as the analysis scores it (D-19.746)
    edss = derive_edss(edss_form, cutoff=cutoff, source=str(study / "edss.csv"), method=None, zones=zones)
    save("edss_scored.csv", edss.table)
    save("visual_acuity_scored.csv", derive_visual_acuity(va_form, cutoff=cutoff, zones=zones).table)
    osis_form = read_csv(study / "osis.csv")
    save("osis_scored.csv", derive_osis(osis_form, cutoff=cutoff, zones=zones).table)

    forms = {
        "edss": edss_form,
        "visual_acuity": va_form,
        "osis": osis_form,
        "timed_walk": read_csv(study / "timed_walk.csv"),
    }
    protocol = load_protocol(ctx.protocol_file)
    relapses = derive_relapses(
        read_csv(study / "relapses.csv"),
        infusions,
        assessments=[edss_form],
        cutoff=cutoff,
        subjects=read_csv(study / "subjects.csv"),
        options=relapse_options_from_protocol(protocol),  # the protocol's relapse definition
        source=str(study / "relapses.csv"),
    )
    save("arr_by_subject.csv", relapses.table)
    write_atomic(out_dir / "relapses.json", dumps_json(relapses.payload()) + "\n")
    # the responder baseline as the analysis takes it: the protocol's responder_baseline_visit with the
    # attacks of the relapse derivation (D-19.896, D-19.900)
    baseline_visit = analysis_spec(protocol).options.responder_baseline_visit.value
    responders = derive_responders(
        infusions, **forms, definitions=list(RESPONDER_DEFINITIONS), cutoff=cutoff,
        relapses=relapses.attacks, baseline_visit=baseline_visit,
    )  # fmt: skip
    save("responders.csv", responders.table)
    write_atomic(out_dir / "responders.json", dumps_json(responders.payload()) + "\n")
    # the endpoints of the protocol name the responder definitions chosen a priori (with their sources)
    a_priori = responder_definitions_from_protocol(protocol)
    planned = derive_responders(
        infusions, **forms, definitions=[d for d, _ in a_priori.values()],
        parameters={d: p for d, p in a_priori.values()}, cutoff=cutoff,
        relapses=relapses.attacks, baseline_visit=baseline_visit,
    )  # fmt: skip
    save("responders_protocol.csv", planned.table)

    assert relapses.arr is not None and relapses.km is not None and relapses.rate_ratio is not None
    save("relapse_free_km.csv", km_frame(relapses.km))

    # the EDSS baseline visit the protocol chooses, as the analysis takes it (D-19.869)
    edss_baseline = BaselineVisit(analysis_spec(protocol).options.edss_baseline_visit.value)
    disability_result = derive_disability(
        edss, infusions, relapses=relapses.attacks, options=DisabilityOptions(baseline_visit=edss_baseline)
    )
    disability = disability_result.table
    save("disability_change.csv", disability)

    # EDSS change baseline -> last visit per subject: the disability derivation's baseline (the last visit on
    # or before day 0 not within 30 days after a relapse onset, D-19.187, D-19.864) and last visit, never the
    # first visit of the form (D-19.709); the evaluable subjects (with a baseline) are the denominator of this
    # line and of the worsening line
    changed = disability[has_edss_change(disability)]
    first_last = pd.DataFrame(
        {"first": changed["baseline_edss"].astype(float), "last": changed["last_edss"].astype(float)}
    )
    reduced = int((first_last["last"] < first_last["first"]).sum())

    table = Table(title="neuro: CT103A-like example (synthetic)", show_lines=False)
    table.add_column("outcome")
    table.add_column("result")
    table.add_column("definition")
    table.add_row(
        "EDSS",
        f"reduced in {reduced}/{len(first_last)} evaluable (median {first_last['first'].median():.1f} -> "
        f"{first_last['last'].median():.1f})",
        "Neurostatus-EDSS, default options",
    )
    for summary in responders.summaries:
        if summary.definition in DEFAULT_RESPONDERS.values():
            share = percent_of_infused(summary.n_responders, responders.n_infused)
            table.add_row(
                f"{summary.domain.value} improved",
                f"{summary.label()}; "
                f"{summary.n_responders}/{responders.n_infused} infused ({_percent(share)})",
                summary.description,
            )
    for endpoint, summary in zip(a_priori, planned.summaries, strict=True):
        share = percent_of_infused(summary.n_responders, planned.n_infused)
        table.add_row(
            f"{endpoint} (protocol)",
            f"{summary.n_responders}/{summary.n_evaluable} evaluable ({_percent(summary.percent)}); "
            f"{summary.n_responders}/{planned.n_infused} infused ({_percent(share)})",
            summary.definition,
        )
    # over the patients whose baseline can improve (the engine's improvement_evaluable), the analysis
    # finding's denominator (D-19.623)
    # a direction not evaluable for a method switch is pd.NA (D-19.746): out of its denominator
    improvable = disability[disability["improvement_evaluable"].astype("boolean").fillna(False)]
    worsening = changed["worsening_confirmed"].astype("boolean")
    table.add_row(
        "EDSS improvement",
        f"confirmed in {_count(improvable['improvement_confirmed'])}/{len(improvable)} evaluable, "
        f"unconfirmed in {_count(improvable['improvement_unconfirmed'])}",
        "cdi_common (>= 1.0 if baseline <= 5.5, else 0.5), confirmed at >= 84 days, fixed reference",
    )
    table.add_row(
        "EDSS worsening",
        f"confirmed in {_count(worsening)}/{int(worsening.notna().sum())} evaluable, "
        f"unconfirmed in {_count(changed['worsening_unconfirmed'])}",
        "nmosd_trial thresholds, confirmed at >= 84 days, fixed reference",
    )
    options = relapses.relapse_options
    table.add_row(
        "ARR before", _rate_cell(relapses.arr.pre), f"{options.pre_window_months} months before infusion"
    )
    table.add_row("ARR after", _rate_cell(relapses.arr.post), "infusion to last assessment")
    table.add_row(
        "ARR after/before", format_ratio(relapses.rate_ratio), "within-patient; inflated baseline (see note)"
    )
    km = relapses.km
    table.add_row(
        "relapse-free",
        (
            f"{km.relapse_free_at_last}/{km.n_subjects} at median follow-up "
            f"{km.median_follow_up_months:.1f} months"
            if km.median_follow_up_months is not None
            else f"{km.relapse_free_at_last}/{km.n_subjects}; {median_follow_up_text(km)}"  # D-19.100
        ),
        "Kaplan-Meier from day 0, censored at last assessment; reverse-KM median follow-up",
    )
    ctx.console.print(table)
    ctx.console.print(f"note: {relapses.rate_ratio.note}")
    for note in disability_result.notes:  # subjects or visits left out of the disability change (D-19.685)
        ctx.console.print(f"note: {note}")
    ctx.console.print(f"neuro results written to {out_dir}/")


def _count(flags: Any) -> int:
    """How many True in a flag column that may hold pd.NA (not evaluable; D-19.746)."""
    return int(pd.Series(flags).astype("boolean").fillna(False).sum())


__all__ = ["run"]
