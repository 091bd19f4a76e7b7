"""The report's figures (matplotlib, Agg backend), each returned as deterministic SVG text.

Every figure is drawn from the analysis datasets (populations, episodes, Kaplan–Meier table, EDSS, AQP4-IgG
change) and, for the individual time courses the datasets summarise (transgene copies, titres, blood
counts), from the snapshot's records of the same subjects. Deterministic output: ``svg.hashsalt`` fixed,
text kept as text (``svg.fonttype = 'none'``) and no creation date in the metadata, so the same snapshot
gives byte-identical SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartrial.analysis.kinetics import has_result, sample_actual_days
from cartrial.analysis.model import Analysis
from cartrial.analysis.populations import site_days, subject_zones
from cartrial.analysis.toxicity import UNGRADED, episode_grade_days, episode_span, observed_days
from cartrial.columns import date_only_text, iso_instants
from cartrial.errors import InputError, Problem
from cartrial.grading.ctcae import canonical_counts, grade_bands
from cartrial.kinetics.units import conversion_notes, to_standard
from cartrial.protocol.disposition import STUDY_ENDED
from cartrial.wording import count

SVG_RC: dict[str, Any] = {
    "svg.hashsalt": "cartrial-report",
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
"""matplotlib settings of every figure (deterministic, readable on paper and on screen)."""

DOSE_LEVEL_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
"""Colour per dose level (1, 2, ...): distinguishable in colour and, with markers, in grey print."""

GRADE_COLOURS = ("#ffffff", "#fde68a", "#f59e0b", "#dc2626", "#7f1d1d", "#000000")
"""CRS/ICANS grade 0–5 fill of the heat map."""

UNGRADED_EDGE = "#555555"
"""The dots of an unresolved episode's days after its last graded day (D-19.767)."""
UNOBSERVED_COLOUR = "#d9d9d9"
"""Fill of the heat map's days after a subject's follow-up (hatched: not observed, not grade 0)."""


@dataclass(frozen=True)
class Figure:
    """One report figure: file stem, caption and the SVG text."""

    name: str
    caption: str
    svg: str


def _colour(dose_level: Any) -> str:
    try:
        index = int(dose_level) - 1
    except (TypeError, ValueError):
        return "#555555"
    return DOSE_LEVEL_COLOURS[index % len(DOSE_LEVEL_COLOURS)]


def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _dose_legend(ax: Any, levels: Mapping[str, Any], **kwargs: Any) -> None:
    """A legend of the dose-level colours used by the per-patient lines."""
    from matplotlib.lines import Line2D

    handles = [
        Line2D([], [], color=_colour(level), marker="o", markersize=3, label=f"dose level {level}")
        for level in sorted({str(v) for v in levels.values()})
    ]
    ax.legend(handles=handles, frameon=False, fontsize=8, **kwargs)


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce")


def _infusion_days(analysis: Analysis) -> dict[str, pd.Timestamp]:
    membership = analysis.datasets["populations"].table
    out: dict[str, pd.Timestamp] = {}
    for subject, day in zip(membership["subject_id"], membership["infusion_date"], strict=True):
        stamp = pd.to_datetime(day, errors="coerce")
        if not pd.isna(stamp):
            out[str(subject)] = pd.Timestamp(stamp).tz_localize(None).normalize()
    return out


def _dose_levels(analysis: Analysis) -> dict[str, Any]:
    membership = analysis.datasets["populations"].table
    return dict(zip(membership["subject_id"].astype(str), membership["dose_level"], strict=True))


def _study_day(
    frame: pd.DataFrame, column: str, infusion: Mapping[str, pd.Timestamp], zones: Mapping[str, str]
) -> pd.Series:
    """Days from the infusion date on the subject's site calendar (the analysis' `subject_zones`; a date
    value is the site's date as recorded, a date-time's date is read in the zone; D-19.607)."""
    # every cell read alike (`iso_instants`: a date, a date-time with or without an offset; D-19.777)
    texts = frame[column].astype(object).where(frame[column].notna(), "").astype(str)
    when = iso_instants(texts)
    # a date typed without a time by the one test of it (`date_only_text`, once per distinct text): a
    # space-separated date-time ('2021-06-02 02:00:00+00:00') is an instant on the site's clock, not a date
    codes, distinct = pd.factorize(texts)
    dated = np.array([date_only_text(t) for t in distinct], dtype=bool)
    timed = pd.Series(~dated[codes] if len(distinct) else np.zeros(len(texts), bool), index=frame.index)
    stamps = site_days(when, frame["subject_id"].astype(str).map(zones).where(timed, ""))
    base = frame["subject_id"].astype(str).map(infusion)
    return (stamps - pd.to_datetime(base)).dt.days


def km_band_text(analysis: Analysis) -> tuple[str, str]:
    """(legend label, caption sentence) of the Kaplan–Meier confidence band, read from the relapse
    derivation's options the analysis carries (``relapses``: ``confidence``, ``km_ci``, D-19.222): the band
    is the dataset's ``ci_low``/``ci_high``, never recomputed here. Without those options the level and
    method are said to be unrecorded, not guessed."""
    options = analysis.options.get("relapses") or {}
    confidence, method = options.get("confidence"), options.get("km_ci")
    if confidence is None or not method:
        return (
            "confidence band",
            "Shaded: the confidence band of the analysis dataset (level and method not recorded by the "
            "analysis).",
        )
    level = f"{100 * float(confidence):g} % CI"
    short = str(method).removeprefix("pointwise, ")
    return (
        f"{level} ({short})",
        f"Shaded: {level} of the Kaplan–Meier estimate, {method} (columns ci_low, ci_high of "
        "relapse_free_km).",
    )


def km_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Kaplan–Meier relapse-free survival (dataset ``relapse_free_km``) with numbers at risk."""
    import matplotlib.pyplot as plt

    km = analysis.datasets.get("relapse_free_km")
    if km is None or km.table.empty:
        return None
    table = km.table
    days = _num(table["time_days"]).to_numpy()
    survival = _num(table["survival"]).to_numpy()
    fig, (ax, risk_ax) = plt.subplots(
        2, 1, figsize=(7, 4.2), gridspec_kw={"height_ratios": [5, 1]}, sharex=True
    )
    ax.step(days, survival, where="post", color="#1f77b4", linewidth=1.8, label="relapse-free survival")
    band_label, band_caption = km_band_text(analysis)
    with_band = "ci_low" in table and "ci_high" in table
    if with_band:
        ax.fill_between(
            days,
            _num(table["ci_low"]),
            _num(table["ci_high"]),
            step="post",
            alpha=0.15,
            color="#1f77b4",
            label=band_label,
        )
    censored = _num(table["censored"]).to_numpy() > 0
    ax.plot(days[censored], survival[censored], "|", color="#1f77b4", markersize=9, label="censored")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("proportion relapse-free")
    ax.legend(loc="lower left", frameon=False, fontsize=8)
    horizon = float(days.max()) if len(days) else 0.0
    step = 30.0 if horizon <= 400 else 90.0
    ticks = [step * i for i in range(int(horizon // step) + 1)]
    at_risk = _num(table["at_risk"]).to_numpy()
    risk_ax.set_yticks([])
    risk_ax.set_ylabel("at risk", rotation=0, ha="right", va="center")
    for spine in ("left", "top", "right", "bottom"):
        risk_ax.spines[spine].set_visible(False)
    for tick in ticks:
        # numbers at risk at `tick`: the at-risk count of the first row at or after it (0 past the end)
        later = days >= tick
        n = int(at_risk[later][0]) if later.any() else 0
        risk_ax.text(tick, 0.5, str(n), ha="center", va="center")
    risk_ax.set_xticks(ticks)
    risk_ax.set_xlabel("days after infusion")
    return Figure(
        "km_relapse_free",
        "Kaplan–Meier relapse-free survival after infusion, with numbers at risk."
        + (f" {band_caption}" if with_band else ""),
        _svg(fig),
    )


END_MARKERS: dict[str, tuple[str, str, str]] = {
    "ongoing": (">", "", "on study at the cut-off"),
    "ended": ("|", "black", "study ended (completed or discontinued)"),
    "died": ("s", "black", "died"),
}
"""Marker at the end of a swimmer bar, by the populations dataset's ``died`` and ``study_status`` (D-19.210):
(marker, colour — empty for the dose-level colour, legend label)."""


def _end_of_bar(row: Mapping[str, Any]) -> str:
    """The `END_MARKERS` key of one populations row: died, else ended (completed or discontinued), else
    ongoing."""
    died = row.get("died")
    if not pd.isna(died) and bool(died):
        return "died"
    return "ended" if str(row.get("study_status", "")) in STUDY_ENDED else "ongoing"


def swimmer_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Follow-up per subject (bar to the end of the relapse follow-up, else of follow-up) by dose level, CRS
    episodes and relapses after infusion."""
    fig = swimmer_plot(analysis, tables)
    if fig is None:
        return None
    with_relapses = "relapses_by_subject" in analysis.datasets
    return Figure(
        "swimmer",
        "Swimmer plot: follow-up per infused patient, CRS episodes (by maximum grade)"
        + (" and relapses" if with_relapses else "")
        + "; days are calendar days on the site's calendar, day 0 = infusion date; a CRS episode spans its "
        "days from the day of onset through the day of resolution, or through the day of its last graded "
        "assessment while unresolved, within the follow-up bar; the marker at the bar's end says whether "
        "the patient is on study at the cut-off, left the study or died.",
        _svg(fig),
    )


def swimmer_plot(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Any:
    """The matplotlib figure of `swimmer_figure` (None without an infused patient)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    membership = analysis.datasets["populations"].table
    safety = membership[membership["safety"].astype(bool)]
    if safety.empty:
        return None
    infusion = _infusion_days(analysis)
    subjects = list(safety["subject_id"].astype(str))[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(subjects) + 1.4), layout="constrained")
    # the bar ends at the end of the relapse follow-up of `relapses_by_subject` (post_days: the last contact,
    # or a relapse reported after it, D-19.587, or the cut-off with relapse_follow_up_end: cutoff); at the end
    # of follow-up (populations.follow_up_days) when that dataset is absent
    relapses = analysis.datasets.get("relapses_by_subject")
    contact: dict[str, float] = {}
    if relapses is not None and "post_days" in relapses.table:
        for sid, post in zip(relapses.table["subject_id"], relapses.table["post_days"], strict=True):
            if not pd.isna(post):
                contact[str(sid)] = float(post)
    ends: set[str] = set()
    follow_ups: dict[str, float | None] = {}
    for row, record in enumerate(safety.iloc[::-1].to_dict("records")):
        sid, level, follow_up = str(record["subject_id"]), record["dose_level"], record["follow_up_days"]
        follow_ups[sid] = None if pd.isna(follow_up) else float(follow_up)
        days = contact.get(sid, float(follow_up) if not pd.isna(follow_up) else 0.0)
        ax.barh(row, days, color=_colour(level), alpha=0.55, height=0.6)
        end = _end_of_bar(record)
        ends.add(end)
        marker, colour, _label = END_MARKERS[end]
        ax.plot(days, row, marker, color=colour or _colour(level), markersize=6, markeredgewidth=2)
    positions = {subject: i for i, subject in enumerate(subjects)}
    crs_grades = {1, 2, 3}  # the legend always shows the scale up to grade 3, and every grade drawn
    episodes = analysis.datasets.get("crs_episodes")
    if episodes is not None and not episodes.table.empty:
        zones = subject_zones(analysis)
        for episode in episodes.table.to_dict("records"):
            subject = str(episode["subject_id"])
            # the episode's whole calendar days, as the heat map's: onset to resolution, or through its last
            # graded assessment while unresolved (`episode_span`, D-19.767), each day centred on its point
            # x = day as the follow-up bar's end and the relapse marks are: [first - 0.5, last + 0.5], within
            # the safety follow-up (populations `follow_up_days`, the heat map's `observed_days`, D-19.768):
            # clipped to [0, follow_up_days], never to the relapse bar, which may end before or
            # after it; an episode starting after the observed days is not drawn (D-19.767 amended)
            span = episode_span(episode, zones.get(subject)) if subject in positions else None
            follow_up = follow_ups.get(subject)
            if span is None or span[1] < 0 or follow_up is None:
                continue
            if span[0] >= observed_days(follow_up, math.floor(follow_up) + 2):
                continue
            left, right = max(span[0] - 0.5, 0.0), min(span[1] + 0.5, follow_up)
            grade = int(pd.to_numeric(episode.get("max_grade"), errors="coerce") or 0)
            crs_grades.add(min(grade, 5))
            ax.barh(
                positions[subject],
                right - left,
                left=left,
                height=0.6,
                color=GRADE_COLOURS[min(grade, 5)],
                edgecolor="black",
                linewidth=0.5,
            )
    with_relapses = "relapses_by_subject" in analysis.datasets  # D-19.61: relapses are analysed
    relapses = tables.get("relapses") if with_relapses else None
    if relapses is not None and not relapses.empty and "onset_date" in relapses:
        days = _study_day(relapses, "onset_date", infusion, subject_zones(analysis))
        for subject, day in zip(relapses["subject_id"].astype(str), days, strict=True):
            if subject in positions and not pd.isna(day) and day >= 0:
                ax.plot(day, positions[subject], "X", color="black", markersize=7)
    ax.set_yticks(range(len(subjects)))
    ax.set_yticklabels(subjects)
    ends_at = "the end of the relapse follow-up" if contact else "the end of follow-up"
    ax.set_xlabel(f"days after infusion (bar ends at {ends_at})")
    levels = sorted({str(v) for v in safety["dose_level"]})
    handles: list[Any] = [
        Patch(color=_colour(level), alpha=0.55, label=f"dose level {level}") for level in levels
    ]
    # each grade drawn has its own colour (GRADE_COLOURS), so each has its own legend entry
    handles += [
        Patch(facecolor=GRADE_COLOURS[g], edgecolor="black", label=f"CRS grade {g}")
        for g in sorted(crs_grades - {0})
    ]
    handles += [
        Line2D(
            [],
            [],
            marker=END_MARKERS[end][0],
            color=END_MARKERS[end][1] or "#555555",
            linestyle="",
            markeredgewidth=2,
            label=END_MARKERS[end][2],
        )
        for end in END_MARKERS
        if end in ends
    ]
    if with_relapses:
        handles.append(Line2D([], [], marker="X", color="black", linestyle="", label="relapse"))
    # below the axes and their label, whatever the figure's height (D-19.210)
    fig.legend(handles=handles, loc="outside lower center", ncol=3, frameon=False)
    return fig


def _pk_frame(tables: Mapping[str, pd.DataFrame], analyte: str, zones: Mapping[str, str]) -> pd.DataFrame:
    """`analyte`'s PK samples with a result, each at the analysis' time (``day``) on its subject's site clock
    (`zones`: the analysis' `subject_zones`; the report's tables carry no calendar column, D-19.1346)."""
    pk = tables.get("pk_samples")
    if pk is None or pk.empty:
        return pd.DataFrame()
    # a sample without a result (no value, not flagged BLQ) is no point of the figure (D-19.1280)
    pk = pk[(pk["analyte"].astype(str) == analyte).to_numpy() & has_result(pk)].reset_index(drop=True)
    # the analysis layer's time of each sample (pre-dose: negative, D-19.304), as ADPC and the NCA read it
    # (D-19.330), read with the site's zone as they read it: a date typed without a time west of UTC keeps
    # its stored day (D-19.1342, D-19.1346); a sample without one is placed on its nominal day
    infusions = tables.get("infusions")
    day = sample_actual_days(pk, infusions if infusions is not None else pd.DataFrame(), zones)
    pk["day"] = day.where(day.notna(), _num(pk["nominal_day"]))
    # values and LLOQs in the standard unit of their dimension, the analysis's one conversion (D-19.781)
    units = pk["unit"] if "unit" in pk else pd.Series("", index=pk.index)
    pk["value_num"], pk["unit_text"], _ = to_standard(_num(pk["value"]), units)
    pk["lloq_num"] = to_standard(_num(pk["lloq"]), units)[0]
    pk.attrs["conversion_notes"] = conversion_notes(units)
    return pk


def expansion_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """Transgene copies vs day (log scale): individual curves and the median per dose level, LLOQ line."""
    import matplotlib.pyplot as plt

    zones = subject_zones(analysis)
    pk = _pk_frame(tables, "car_transgene", zones)
    if pk.empty:
        pk = _pk_frame(tables, "car_t_cells", zones)
        analyte = "car_t_cells"
    else:
        analyte = "car_transgene"
    if pk.empty:
        return None
    levels = _dose_levels(analysis)
    pk["dose_level"] = pk["subject_id"].astype(str).map(levels)
    # one panel per concentration unit (the standard unit of its dimension, `_pk_frame`), the unit of most
    # subjects first: values of two units are never drawn on one axis, and no sample is left out (D-19.758,
    # D-19.759, D-19.781)
    subjects = pk.groupby("unit_text", sort=False)["subject_id"].nunique()
    units = sorted(subjects.index, key=lambda u: (-int(subjects[u]), str(u)))
    from cartrial.columns import RowProblems, parse_bool

    blq = parse_bool(pk, "blq", RowProblems("pk_samples"), required=False)  # the import's words
    dataset = analysis.datasets.get("pk_median_by_day")
    medians = dataset.table if dataset is not None else pd.DataFrame(columns=["analyte", "dose_level"])
    medians = medians[medians["analyte"].astype(str) == analyte]
    fig, axes = plt.subplots(len(units), 1, figsize=(7, 4 * len(units)), sharex=True, squeeze=False)
    all_blq: set[str] = set()
    for ax, unit in zip(axes[:, 0], units, strict=True):
        in_unit = (pk["unit_text"] == unit).to_numpy()
        if not _expansion_panel(ax, pk[in_unit], blq[in_unit], medians, analyte, unit):
            all_blq.add(unit)
    axes[-1, 0].set_xlabel("days after infusion")  # the shared axis, named once under the bottom panel
    caption = (
        f"Expansion and persistence: {analyte.replace('_', ' ')} by day (log scale), individual patients "
        "(thin) and median per dose level and nominal day (thick) over every sample, a BLQ sample ranked "
        "below the quantifiable ones; the line breaks where half or more are censored (BLQ, or measured "
        "below a BLQ sample's higher LLOQ; all, when a BLQ sample has no LLOQ): the median is not "
        "estimable there."
    )
    empty = ", no quantifiable sample"
    if len(units) > 1:
        caption += (
            " One panel per concentration unit (values of two units are never drawn on one axis, D-19.758): "
            + "; ".join(
                f"{u} ({count(int(subjects[u]), 'subject')}{empty if u in all_blq else ''})" for u in units
            )
            + "."
        )
    elif all_blq:  # the one panel is empty: said in the caption too (D-19.761)
        caption += " No sample is quantifiable."
    converted = pk.attrs.get("conversion_notes", [])
    if converted:  # the values drawn in another unit than recorded (D-19.781)
        text = "; ".join(converted)
        caption += f" {text[0].upper()}{text[1:]}."
    return Figure("expansion", caption, _svg(fig))


def _expansion_panel(
    ax: Any, pk: pd.DataFrame, blq: Any, medians: pd.DataFrame, analyte: str, unit: str
) -> bool:
    """One unit's panel of `expansion_figure`: its patients' curves, its medians, its first LLOQ. False when
    the unit has no quantifiable sample (each BLQ, 0 or without a result): the panel says so (else it would
    be blank when no LLOQ is recorded either)."""
    quantified = pk[(pk["value_num"] > 0).to_numpy() & ~blq]
    for _subject, rows in quantified.groupby("subject_id", sort=True):
        rows = rows.sort_values("day")
        ax.plot(
            rows["day"],
            rows["value_num"],
            color=_colour(rows["dose_level"].iloc[0]),
            alpha=0.3,
            linewidth=0.8,
        )
    # the analysis layer's median per dose level and nominal day (BLQ counted, NaN where not estimable:
    # the line breaks; D-19.624, D-19.627); a level with no estimable median gets no line nor legend entry
    if "unit" in medians:
        medians = medians[medians["unit"].astype(str) == unit]
    for level, rows in medians.groupby("dose_level", sort=True):
        if rows["median"].isna().all():
            continue
        ax.plot(
            rows["nominal_day"].to_numpy(),
            rows["median"].to_numpy(),
            color=_colour(level),
            linewidth=2.2,
            marker="o",
            markersize=3,
            label=f"dose level {level}: median",
        )
    lloq = pk["lloq_num"].dropna()
    if not lloq.empty:
        ax.axhline(
            float(lloq.iloc[0]),
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"LLOQ {float(lloq.iloc[0]):g}",
        )
    if quantified.empty:
        no_lloq = "" if not lloq.empty else " (no LLOQ recorded)"
        text = f"no quantifiable sample{no_lloq}"
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center")
    ax.set_yscale("log")
    ax.set_ylabel(f"{analyte.replace('_', ' ')} ({unit})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(frameon=False, fontsize=8)
    return not quantified.empty


def crs_heatmap_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """CRS / ICANS grade by day after infusion (days 0–28, calendar days on the site's calendar) per subject:
    each episode's peak grade over its days from onset to resolution, or through its last graded assessment
    while unresolved (`episode_grade_days`; datasets ``crs_episodes``, ``icans_episodes``; D-19.767)."""
    fig = crs_heatmap_plot(analysis, tables)
    if fig is None:
        return None
    return Figure(
        "crs_icans_heatmap",
        "CRS and ICANS grade by day after infusion (calendar days on the site's calendar, day 0 = infusion "
        "date): each episode's peak grade over its days, from the day of onset through the day of "
        "resolution, or through the day of its last graded assessment while unresolved (not each day's own "
        "grade).",
        _svg(fig),
    )


def crs_heatmap_plot(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Any:
    """The matplotlib figure of `crs_heatmap_figure` (None without an infused patient)."""
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Rectangle

    membership = analysis.datasets["populations"].table
    subjects = list(membership[membership["safety"].astype(bool)]["subject_id"].astype(str))
    if not subjects:
        return None
    n_days = 29
    follow_ups = {
        str(sid): float(days)
        for sid, days in zip(membership["subject_id"], membership["follow_up_days"], strict=True)
        if not pd.isna(days)
    }
    fig, axes = plt.subplots(1, 2, figsize=(8, 0.3 * len(subjects) + 1.6), sharey=True, layout="constrained")
    cmap = ListedColormap(list(GRADE_COLOURS))
    norm = BoundaryNorm([-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5], cmap.N)
    for ax, kind in zip(axes, ("crs", "icans"), strict=True):
        grid = np.zeros((len(subjects), n_days))
        dataset = analysis.datasets.get(f"{kind}_episodes")
        observed = {s: observed_days(follow_ups.get(s), n_days) for s in subjects}
        if dataset is not None:  # the analysis layer's days of each episode (D-19.767)
            days = episode_grade_days(dataset.table, subjects, n_days, subject_zones(analysis), observed)
            for row, subject in enumerate(subjects):
                grid[row] = [0 if g is None or g == UNGRADED else g for g in days[subject]]
                # an unresolved episode's days after its last graded day: unresolved, not graded, hatched
                # (never grade 0: it had not resolved, D-19.767); one patch per run of such days
                ungraded = [d for d, g in enumerate(days[subject]) if g == UNGRADED]
                for first in [d for d in ungraded if d - 1 not in ungraded]:
                    last = first
                    while last + 1 in ungraded:
                        last += 1
                    ax.add_patch(
                        Rectangle(
                            (first - 0.5, row - 0.5),
                            last - first + 1.0,
                            1.0,
                            facecolor="white",
                            edgecolor=UNGRADED_EDGE,
                            hatch="..",
                            linewidth=0,
                            gid=f"ungraded-{subject}",
                        )
                    )
        ax.imshow(grid, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest")
        # days after the subject's follow-up (populations `follow_up_days`: to the cut-off, the death or
        # the end of study) are not observed, not grade 0 (D-19.210)
        for row, subject in enumerate(subjects):
            if observed[subject] < n_days:  # `observed_days`, D-19.768: one rule with the web
                start = observed[subject] - 0.5
                ax.add_patch(
                    Rectangle(
                        (start, row - 0.5),
                        n_days - 0.5 - start,
                        1.0,
                        facecolor=UNOBSERVED_COLOUR,
                        edgecolor="#999999",
                        hatch="///",
                        linewidth=0,
                        gid=f"unobserved-{subject}",
                    )
                )
        ax.set_title(kind.upper())
        ax.set_xlabel("day after infusion")
        ax.set_xticks(range(0, n_days, 7))
        ax.set_yticks(range(len(subjects)))
        ax.set_yticklabels(subjects)
        ax.set_xticks(np.arange(-0.5, n_days, 1), minor=True)
        ax.grid(which="minor", axis="x", color="#eeeeee", linewidth=0.3)
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=colour, edgecolor="black", label=f"grade {g}")
        for g, colour in enumerate(GRADE_COLOURS)
    ]  # grade 5 (death) has its colour too
    if any(str(p.get_gid()).startswith("ungraded-") for ax in axes for p in ax.patches):
        handles.append(
            Patch(
                facecolor="white",
                edgecolor=UNGRADED_EDGE,
                hatch="..",
                label="unresolved, not graded (after its last graded assessment)",
            )
        )
    if any(str(p.get_gid()).startswith("unobserved-") for ax in axes for p in ax.patches):
        handles.append(
            Patch(
                facecolor=UNOBSERVED_COLOUR,
                edgecolor="#999999",
                hatch="///",
                label="not observed (after follow-up)",
            )
        )
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
    return fig


def edss_spider_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """EDSS change from baseline per subject over days after infusion (dataset ``edss_scored``), the
    baseline the analysis' (``edss_change.baseline_edss``: by ``analysis.options.edss_baseline_visit``, not a
    visit during an attack; D-19.864): a subject without one is not drawn, as `edss_change` leaves it out
    (D-19.1136)."""
    import matplotlib.pyplot as plt

    dataset = analysis.datasets.get("edss_scored")
    change = analysis.datasets.get("edss_change")
    if dataset is None or dataset.table.empty or change is None:
        return None
    # the one baseline rule: the analysis' (the figure took the last EDSS on or before day 0, D-19.1136)
    baselines = {
        str(s): float(b)
        for s, b in zip(change.table["subject_id"], _num(change.table["baseline_edss"]), strict=True)
        if pd.notna(b)
    }
    frame = dataset.table.copy()
    infusion = _infusion_days(analysis)
    frame["day"] = _study_day(frame, "assessed_at", infusion, subject_zones(analysis))
    frame["edss_num"] = _num(frame["edss"])
    levels = _dose_levels(analysis)
    fig, ax = plt.subplots(figsize=(7, 4))
    for subject, rows in frame.groupby("subject_id", sort=True):
        rows = rows.dropna(subset=["day", "edss_num"]).sort_values("day")
        if str(subject) not in baselines:
            continue
        baseline = baselines[str(subject)]
        post = rows[rows["day"] >= 0]
        ax.plot(
            [0, *post["day"][post["day"] > 0]],
            [0, *(post["edss_num"][post["day"] > 0] - baseline)],
            marker="o",
            markersize=3,
            color=_colour(levels.get(str(subject))),
            alpha=0.8,
            linewidth=1,
        )
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlabel("days after infusion")
    ax.set_ylabel("EDSS change from baseline")
    _dose_legend(ax, levels, loc="lower left")
    return Figure(
        "edss_spider", "Spider plot of EDSS change from baseline per patient (colour: dose level).", _svg(fig)
    )


def aqp4_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """AQP4-IgG titre (reciprocal dilution, log scale) over days after infusion per subject, from the
    analysis dataset ``aqp4_titres`` (D-19.631); `tables` is not read."""
    import matplotlib.pyplot as plt

    # every titre read once by the analysis (the titre rule: a negative titre 0, drawn at the floor; a
    # stored titre the rule refuses has refused the analysis by its record; D-19.626, D-19.631)
    dataset = analysis.datasets.get("aqp4_titres")
    if dataset is None or dataset.table.empty:
        return None
    frame = dataset.table.copy()
    frame["titre"] = _num(frame["reciprocal"])
    day = _num(frame["actual_day"])
    frame["day"] = day.where(day.notna(), _num(frame["nominal_day"]))
    frame = frame.dropna(subset=["titre", "day"])
    if frame.empty:
        return None
    levels = _dose_levels(analysis)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for subject, rows in frame.groupby("subject_id", sort=True):
        rows = rows.sort_values("day")
        ax.plot(
            rows["day"],
            rows["titre"].clip(lower=1),
            marker="o",
            markersize=3,
            linewidth=1,
            color=_colour(levels.get(str(subject))),
            alpha=0.8,
        )
    ax.set_yscale("log")
    # the floor (1) is "negative", below the first dilution; the other ticks the series' dilutions
    from matplotlib.ticker import NullLocator

    from cartrial.neuro.titres import DEFAULT_SERIES

    top = float(frame["titre"].max())
    dilutions = [d for d in DEFAULT_SERIES if d <= max(top, DEFAULT_SERIES[0])]
    ax.set_yticks([1.0, *map(float, dilutions)], ["neg", *(f"1:{d}" for d in dilutions)])
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("days after infusion")
    ax.set_ylabel("AQP4-IgG titre (reciprocal dilution)")
    _dose_legend(ax, levels, loc="upper right")
    return Figure(
        "aqp4_titre",
        "AQP4-IgG titre over time per patient (log scale; colour: dose level; a negative titre, below 1:10, "
        "drawn at 1).",
        _svg(fig),
    )


BAND_ANALYTES = ("neutrophils", "platelets")
DRAWN_LLN = {"neutrophils": 2.0, "platelets": 150.0}
"""Where the figure draws the top of a grade-1 band whose upper bound is the LLN (`grade_bands` gives None:
the LLN is each laboratory's): the usual 2.0 and 150 ×10^9/L. A drawing choice, not a grading rule."""


def ctcae_bands(analyte: str, ctcae_version: str) -> tuple[tuple[float, float, int], ...]:
    """The grade bands drawn behind `analyte`'s counts: the grading engine's (`grading.ctcae.grade_bands`, the
    thresholds the analysis grades by, for the study's CTCAE version; D-19.1217), the LLN at `DRAWN_LLN`."""
    return tuple(
        (lower, DRAWN_LLN[analyte] if upper is None else upper, grade)
        for lower, upper, grade in grade_bands(analyte, ctcae_version)
    )


def blood_counts_figure(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> Figure | None:
    """ANC and platelets by day after infusion per subject, on the CTCAE grade bands of the study's version
    (`analysis.options['ctcae_version']`, the one the analysis grades by; D-19.1217)."""
    import matplotlib.pyplot as plt

    labs = tables.get("labs")
    if labs is None or labs.empty:
        return None
    infusion = _infusion_days(analysis)
    frame = labs.copy()
    frame["day"] = _study_day(frame, "collected_at", infusion, subject_zones(analysis))
    frame = frame[frame["analyte"].astype(str).isin(BAND_ANALYTES)].reset_index(drop=True)
    # the grading engine's one count-unit conversion (D-19.844): the figure draws what CTCAE and ICAHT grade
    try:
        frame["value_num"] = canonical_counts(
            frame["analyte"].astype(str), _num(frame["value"]), frame["unit"]
        )
    except InputError as error:  # named by its stored record, never by its value (D-12.2)
        problem = error.problems[0]
        record = frame["record_id"].iat[problem.row - 1] if "record_id" in frame and problem.row else None
        raise InputError(
            Problem(
                problem.message,
                file=None if record is not None else "labs",
                record=None if record is None else f"labs record {record}",
                field="unit",
                allowed=problem.allowed,
            )
        ) from None
    version = str(analysis.options.get("ctcae_version") or "5.0")
    levels = _dose_levels(analysis)
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.6))
    drawn = False
    for ax, analyte in zip(axes, BAND_ANALYTES, strict=True):
        rows = frame[(frame["analyte"].astype(str) == analyte) & frame["day"].between(-14, 60)]
        for _lower, upper, grade in ctcae_bands(analyte, version):
            ax.axhspan(_lower, upper, color=GRADE_COLOURS[min(grade, 5)], alpha=0.25, linewidth=0)
            ax.text(61, (_lower + upper) / 2, f"G{grade}", va="center", fontsize=7)
        for subject, subject_rows in rows.groupby("subject_id", sort=True):
            subject_rows = subject_rows.sort_values("day")
            ax.plot(
                subject_rows["day"],
                subject_rows["value_num"],
                linewidth=0.9,
                marker=".",
                color=_colour(levels.get(str(subject))),
                alpha=0.8,
            )
            drawn = True
        ax.set_title("ANC" if analyte == "neutrophils" else "Platelets")
        ax.set_xlabel("days after infusion")
        ax.set_ylabel("10^9/L")
        ax.set_xlim(-14, 64)
    _dose_legend(axes[1], levels, loc="lower right")
    if not drawn:
        import matplotlib.pyplot as plt2

        plt2.close(fig)
        return None
    return Figure(
        "blood_counts",
        f"ANC and platelet counts by day after infusion (bands: CTCAE v{version} grades 1–4).",
        _svg(fig),
    )


FIGURE_BUILDERS: tuple[Callable[[Analysis, Mapping[str, pd.DataFrame]], Figure | None], ...] = (
    km_figure,
    swimmer_figure,
    expansion_figure,
    crs_heatmap_figure,
    edss_spider_figure,
    aqp4_figure,
    blood_counts_figure,
)


def build_figures(analysis: Analysis, tables: Mapping[str, pd.DataFrame]) -> dict[str, Figure]:
    """Every figure the data allow, by name (a figure without data is left out)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, Figure] = {}
    with plt.rc_context(SVG_RC):  # type: ignore[arg-type]
        for builder in FIGURE_BUILDERS:
            figure = builder(analysis, tables)
            if figure is not None:
                figures[figure.name] = figure
    return figures


__all__ = ["FIGURE_BUILDERS", "Figure", "build_figures"]
