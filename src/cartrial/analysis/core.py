"""`analyse(snapshot)`: the statistical analysis plan as code — populations, then every derivation (each
calling its engine), then the key findings. Pure: plain tables and the protocol in, datasets out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cartrial.analysis import safety
from cartrial.analysis.demographics import demographics_datasets
from cartrial.analysis.disposition import disposition_summary
from cartrial.analysis.dlt import DltEvaluation, dlt_datasets, evaluate_dlts
from cartrial.analysis.efficacy import edss_datasets, osis_dataset, relapse_datasets, responder_datasets
from cartrial.analysis.findings import (
    data_status_finding,
    efficacy_findings,
    pk_pd_findings,
    safety_findings,
    underived_endpoint_findings,
)
from cartrial.analysis.kinetics import nca_datasets, pd_datasets
from cartrial.analysis.model import Analysis, Dataset, Population, SnapshotLike
from cartrial.analysis.options import analysis_spec, option_sources
from cartrial.analysis.outcomes import DATASET_OUTCOME, OPTION_OUTCOME, POPULATION_OUTCOME, collected_outcomes
from cartrial.analysis.populations import (
    CONTACT_COLUMNS,
    ENROLLED,
    SAFETY,
    derive_populations,
    last_contact,
    last_known_alive,
    protocol_levels,
    site_calendar,
    subject_time_zones,
    with_last_contact,
)
from cartrial.analysis.toxicity import (
    TREATMENT_EMERGENT_TEXT,
    adverse_event_datasets,
    crs_icans_datasets,
    lab_datasets,
)
from cartrial.columns import TIME_ZONE_COLUMN, cutoff_date
from cartrial.errors import InputError, Problem, stored_rows_errors
from cartrial.protocol.disposition import DISPOSITION_TEXT, STUDY_ENDED
from cartrial.wording import count, noun

SNAPSHOT_TABLES = (
    "subjects",
    "infusions",
    "lymphodepletion",
    "crs_assessments",
    "icans_assessments",
    "therapies",
    "labs",
    "adverse_events",
    "edss",
    "visual_acuity",
    "osis",
    "timed_walk",
    "relapses",
    "pk_samples",
    "pd_samples",
    "escalation_decisions",
)
"""The template-layout tables a snapshot holds (`cartrial.store.snapshot.SNAPSHOT_TABLES`, whose names the
store test checks against this list)."""


def study_tables(tables: Any, time_zones: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """`given_study_tables` without the given rows' index."""
    return given_study_tables(tables, time_zones)[0]


def given_study_tables(
    tables: Any, time_zones: Mapping[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, list[int] | None]]:
    """(`study_tables`, per table the position in the caller's frame of each returned row — None when
    the rows are the caller's as given; `cartrial.store.snapshot.given_snapshot_table`, D-19.929).

    `tables` checked where they enter the analysis, before anything is derived (decisions D-19.67,
    D-19.73): a mapping of every snapshot table name to a DataFrame in the layout of its CSV template; an
    unknown table name (``subject`` for ``subjects``), a missing table, a value that is not a DataFrame, a
    missing required column, a column the template does not have or a value a column cannot hold is an
    `InputError` naming the table and the column and what is allowed
    (`cartrial.store.snapshot.snapshot_table`, from the one declaration of the form fields). A table with no
    record is an empty DataFrame with the template's columns, as `read_snapshot` gives; the tables are
    returned in that layout (all text, in the snapshot's row order), the infusions with the study-day
    calendar's ``time_zone`` column (`cartrial.analysis.populations.site_calendar`: `time_zones` is site_id
    → IANA zone, `StudySnapshot.time_zones`; D-19.607)."""
    from cartrial.allowed import choice_text
    from cartrial.store.importing.forms import FORMS_BY_TABLE
    from cartrial.store.snapshot import given_snapshot_table

    if not isinstance(tables, Mapping):
        raise InputError(
            Problem(
                f"the tables must be a mapping of table name to DataFrame, not a {type(tables).__name__}",
                field="tables",
            )
        )
    problems: list[Problem] = []
    for name in tables:
        if name in SNAPSHOT_TABLES:
            continue
        form = FORMS_BY_TABLE.get(name) if isinstance(name, str) else None
        hint = f" (the store's table {name!r} is the snapshot table {form.name!r})" if form else ""
        problems.append(
            Problem(
                f"unknown snapshot table{hint}",
                field="tables",
                value=name if isinstance(name, str) else type(name).__name__,
                allowed=choice_text(SNAPSHOT_TABLES),
            )
        )
    missing = [name for name in SNAPSHOT_TABLES if name not in tables]
    if missing:
        problems.append(
            Problem(
                f"snapshot {noun(len(missing), 'table')} missing",
                field="tables",
                value=", ".join(missing),
                allowed="every table of the import templates (docs/templates/*.csv), "
                "empty when it has no record",
            )
        )
    if problems:
        raise InputError(problems)
    wrong = [name for name in SNAPSHOT_TABLES if not isinstance(tables[name], pd.DataFrame)]
    if wrong:
        raise InputError(Problem("not a pandas DataFrame", field="tables", value=", ".join(wrong)))
    checked: dict[str, pd.DataFrame] = {}
    given: dict[str, list[int] | None] = {}
    zone_column = None  # tables `study_tables` returned: their calendar column kept (D-19.607)
    for name in SNAPSHOT_TABLES:
        frame = tables[name]
        if name == "infusions" and TIME_ZONE_COLUMN in frame.columns:
            zone_column = frame[TIME_ZONE_COLUMN]
            frame = frame.drop(columns=[TIME_ZONE_COLUMN])
        try:
            checked[name], given[name] = given_snapshot_table(name, frame)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    if time_zones is not None:
        return site_calendar(checked, time_zones), given
    if zone_column is not None:
        checked["infusions"] = checked["infusions"].assign(**{TIME_ZONE_COLUMN: zone_column.to_numpy()})
    return checked, given


@dataclass(frozen=True)
class StudyPopulations:
    """The analysis populations of a snapshot with the DLT evaluation they rest on (and the graded CRS/ICANS
    episodes and labs it used, so that callers grade once)."""

    populations: dict[str, Population]
    membership: pd.DataFrame
    evaluation: DltEvaluation
    crs: Any
    icans: Any
    labs: Any
    last_contact: dict[str, dt.date]
    """The last contact of each subject of the safety set (`cartrial.analysis.populations.last_contact`),
    computed once: the populations dataset's ``last_contact_date`` and the relapse follow-up's default end
    read it."""


def study_populations(
    tables: Mapping[str, pd.DataFrame],
    protocol: Any,
    cutoff: dt.date,
    *,
    allow_future_cutoff: bool = False,
    time_zones: Mapping[str, str] | None = None,
    as_of_day_of_snapshot_read_later: bool = False,
) -> StudyPopulations:
    """Populations (enrolled, safety, DLT-evaluable) as of `cutoff`, the DLTs judged by the protocol's DLT
    rules on the graded events (`cartrial.analysis.dlt.evaluate_dlts`). The one entry point for every
    reader of the populations: `analyse`, the web dashboards and the CDISC export. A cut-off after today is
    an `InputError` unless `allow_future_cutoff` (`cartrial.columns.cutoff_date`, D-19.380). `time_zones`:
    the sites' zones (`StudySnapshot.time_zones`), the study-day calendar (`study_tables`, D-19.607).

    The tables are read at the cut-off by `analyse`'s rule (D-19.931): a record that ended after it is read
    as ongoing (`open_ended_after_cutoff`), a record dated after it is refused
    (`refuse_records_after_cutoff`). `as_of_day_of_snapshot_read_later`: only for the web escalation page,
    which reads the populations of one snapshot (read at the study's today) as of each site's own today, a
    day earlier for a site behind UTC (D-19.607): the tables are then taken as given, neither refused nor
    opened — a record of the site's tomorrow is that of the snapshot's day, not an error."""
    cutoff = cutoff_date(cutoff, allow_future=allow_future_cutoff)
    checked, given = given_study_tables(tables, time_zones)
    if not as_of_day_of_snapshot_read_later:
        checked, _ = open_ended_after_cutoff(checked, cutoff, time_zones)
        refuse_records_after_cutoff(checked, cutoff, time_zones, given)
        refuse_records_of_other_subjects(checked, given)  # D-19.1290
    # the escalation page's re-read takes records of the site's tomorrow as given: it shows no last contact,
    # and the follow-up ends are not derived from tables not read at the cut-off (left blank)
    return _study_populations(checked, protocol, cutoff, contacts=not as_of_day_of_snapshot_read_later)


def _subject_zones(
    tables: Mapping[str, pd.DataFrame], time_zones: Mapping[str, str] | None
) -> dict[str, str]:
    """subject_id → IANA zone of the subject's site: `time_zones` (site_id → zone) read through the subjects'
    ``site_id``; else the infusions' ``time_zone`` column (`study_tables`'); else none (UTC)."""
    subjects = tables.get("subjects")
    if time_zones and subjects is not None and "site_id" in subjects.columns:
        return {
            str(sid): time_zones[str(site)]
            for sid, site in zip(subjects["subject_id"], subjects["site_id"], strict=True)
            if str(site) in time_zones
        }
    if "infusions" in tables and TIME_ZONE_COLUMN in tables["infusions"].columns:
        return subject_time_zones(tables["infusions"])
    return {}


def open_ended_after_cutoff(
    tables: Mapping[str, pd.DataFrame], cutoff: dt.date, time_zones: Mapping[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """(`tables` with every record that ended after `cutoff` read as ongoing at it, how many per table —
    tables with none omitted): `read_snapshot`'s own rule, `cartrial.store.snapshot.open_at_cutoff`
    (D-19.85: the end blank, what only the end tells — a fatal or recovered outcome, grade 5, the death
    category and seriousness, a disposition — not yet known), on each subject's site calendar (D-19.729).
    `analyse` and `study_populations` apply it to the tables they are given, so that a notebook's own tables
    or a snapshot given an earlier cut-off are read as `read_snapshot` would read them; a snapshot from
    `read_snapshot` holds no such record and is unchanged (D-19.928)."""
    from cartrial.store.snapshot import open_at_cutoff

    zones = _subject_zones(tables, time_zones)
    out: dict[str, pd.DataFrame] = {}
    opened: dict[str, int] = {}
    for name, frame in tables.items():
        out[name], n = open_at_cutoff(name, frame, cutoff, zones)
        if n:
            opened[name] = n
    return out, opened


def tables_at_cutoff(snapshot: SnapshotLike) -> dict[str, pd.DataFrame]:
    """The tables of `snapshot` as `analyse` reads them at its cut-off (D-19.990): in the layout
    `read_snapshot` gives (`study_tables`, without the site calendar column, which the readers take from the
    analysis), every record that ended after the cut-off read as ongoing at it (`open_ended_after_cutoff`,
    the one rule, on each subject's site calendar from `StudySnapshot.time_zones`). The readers of the
    analysis layer (the CDISC export) read these, never the snapshot's own tables: a notebook's own tables,
    or a snapshot given an earlier cut-off, can hold a real end after the cut-off that the analysis read as
    ongoing. A snapshot from `read_snapshot` holds none, and its tables are returned as they are."""
    return _read_at_cutoff(snapshot.tables, snapshot.cutoff, getattr(snapshot, "time_zones", None))


def analysed_tables(analysis: Analysis, tables: Any) -> dict[str, pd.DataFrame]:
    """`tables` (the snapshot's record tables `analysis` was made from) as `analysis` read them at its
    cut-off (`tables_at_cutoff`'s one rule, with the cut-off and the sites' zones `analyse` kept in
    `Analysis.intermediates`, D-19.997): what the report lists and plots. An `Analysis` that kept no
    cut-off (built by hand) reads them in the snapshot layout only."""
    checked = study_tables(tables)  # every snapshot table in its layout, named when missing
    refuse_tables_not_analysed(analysis, tables, "tables")
    cutoff = analysis.intermediates.get("cutoff")
    if cutoff is None:
        return checked
    return _read_at_cutoff(tables, cutoff, analysis.intermediates.get("site_time_zones"))


def refuse_tables_not_analysed(analysis: Analysis, tables: Mapping[str, pd.DataFrame], field: str) -> None:
    """An `InputError` (naming `field`, never a record value) when `tables` are not the tables `analysis`
    was made from (D-19.1291): the report (`report_files(analysis, tables)`) and the CDISC export
    (`export_cdisc(snapshot, analysis, out)`) take the records apart from the analysis, and listed or exported
    the records of subjects, or dates, the analysis never read (the full tables with the analysis of a cut
    by subject). Compared by the SHA-256 the analysis recorded of its snapshot's tables
    (`metadata()["tables_sha256"]`, `cartrial.store.snapshot.tables_sha256`); an analysis without one (an
    object of its own, D-19.67) has its tables read by `analyse`'s rules instead: a record dated after its
    cut-off or of a subject not in its subjects table refused (D-19.926, D-19.1290)."""
    from cartrial.store.snapshot import tables_sha256

    recorded = analysis.snapshot.get("tables_sha256") if isinstance(analysis.snapshot, Mapping) else None
    if isinstance(recorded, str) and recorded:
        if tables_sha256(tables) != recorded:
            raise InputError(
                Problem(
                    "not the tables the analysis was made from (their SHA-256 differs from the analysis's "
                    "snapshot tables_sha256)",
                    field=field,
                    allowed="the tables of the snapshot analysed: analyse(snapshot) with snapshot.tables "
                    "(a cut by subject or date cuts the snapshot first, then analyses it)",
                )
            )
        return
    cutoff = analysis.intermediates.get("cutoff")
    zones = analysis.intermediates.get("site_time_zones")
    checked, given = given_study_tables(tables, zones)
    if isinstance(cutoff, dt.date):
        checked, _ = open_ended_after_cutoff(checked, cutoff, zones)
        refuse_records_after_cutoff(checked, cutoff, zones, given)
    refuse_records_of_other_subjects(checked, given)


def _read_at_cutoff(
    tables: Any, cutoff: Any, time_zones: Mapping[str, str] | None
) -> dict[str, pd.DataFrame]:
    """`tables_at_cutoff` of the tables, cut-off and sites' zones (site_id → IANA zone) of a snapshot."""
    checked = study_tables(tables)
    # the analysis checked the cut-off (a future one only with the snapshot's opt-in); here it is only read
    when = cutoff_date(cutoff, "snapshot.cutoff", allow_future=True)
    return open_ended_after_cutoff(checked, when, dict(time_zones or {}))[0]


def refuse_records_after_cutoff(
    tables: Mapping[str, pd.DataFrame],
    cutoff: dt.date,
    time_zones: Mapping[str, str] | None = None,
    given_rows: Mapping[str, list[int] | None] | None = None,
) -> None:
    """An `InputError` when `tables` hold a record whose own clinical date is after `cutoff` (D-19.926,
    D-19.928): what `read_snapshot` leaves out (and counts), but a notebook's own tables, or a snapshot given
    another cut-off (``dataclasses.replace(snapshot, cutoff=...)``, D-19.67), can hold. A record that only
    ended after the cut-off is not refused: it is read as ongoing at it (`open_ended_after_cutoff`, the
    snapshot's `open_at_cutoff`). Each table's clinical date (`SNAPSHOT_TABLES`' models) is compared with
    the cut-off by the one rule, `cartrial.store.snapshot.on_or_before_cutoff` (a date-time on its subject's
    site calendar: `time_zones`, site_id → IANA zone, read through the subjects' ``site_id``; else the
    infusions' ``time_zone`` column; else UTC). Each record is named by its store table and id — a row of a
    table without ``record_id`` by its position in the caller's own frame (`given_rows`: table → the position
    of each row, `cartrial.store.snapshot.given_snapshot_table`; never the index label, which may be a record
    value; D-19.929) — the column and the rule, never
    its value (D-12.2). At most `cartrial.store.tamper.MAX_FINDINGS` are listed, then one line counting the
    rest per table and column (D-19.930)."""
    from cartrial.store.snapshot import SNAPSHOT_TABLES as MODELS
    from cartrial.store.snapshot import on_or_before_cutoff

    zones = _subject_zones(tables, time_zones)
    problems: list[Problem] = []
    for name, frame in tables.items():
        model = MODELS.get(name)
        column = getattr(model, "clinical_date_column", None)
        if model is None or not len(frame) or not column or column not in frame.columns:
            continue
        owners = frame["subject_id"] if "subject_id" in frame.columns else [None] * len(frame)
        stored = str(getattr(model, "__tablename__", name))  # the table `cartrial db edit` takes
        values = ["" if pd.isna(v) else v for v in frame[column]]
        after = ~on_or_before_cutoff(values, owners, zones, cutoff)
        ids = frame["record_id"].astype(str).tolist() if "record_id" in frame.columns else None
        labels = (given_rows or {}).get(name)
        for i in after.nonzero()[0]:
            record = _record_name(stored, ids, labels, int(i))
            problems.append(
                Problem(
                    "dated after the data cut-off",
                    file=name,
                    field=column,
                    allowed=f"on or before {cutoff.isoformat()} (read_snapshot(url, cutoff) reads the study "
                    "at a cut-off: records dated after it left out and counted, D-19.926)",
                    record=record,
                )
            )
    if problems:
        raise InputError(_bounded_after_cutoff(problems))


def _record_name(stored: str, ids: list[str] | None, labels: list[int] | None, i: int) -> str:
    """Row `i` of a given table named by its store table and id, or without one by its position in the
    caller's own frame (`given_rows`; never the index label, which may be a record value; D-19.929)."""
    if ids and ids[i].strip():
        return f"{stored} record {ids[i]}"
    position = labels[i] if labels is not None else i  # never a sorted position
    return f"row {position + 1} of the given table (1 = its first row)"


def refuse_records_of_other_subjects(
    tables: Mapping[str, pd.DataFrame], given_rows: Mapping[str, list[int] | None] | None = None
) -> None:
    """An `InputError` when `tables` hold a record whose ``subject_id`` is not a subject of its ``subjects``
    table (D-19.1290): a data cut keeps its subjects with all their records and no record of another
    (`cartrial.store.snapshot.of_subjects_enrolled`, D-19.1147), so `read_snapshot` never gives one, but a
    notebook's own tables cut by subject can hold them. Compared as `of_subjects_enrolled` compares (ids
    trimmed; a record without a subject is no subject's). Each record named by its store table and id (or
    its row in the caller's frame), the column and what is allowed, never its value (D-12.2); bounded as
    `refuse_records_after_cutoff` (D-19.930)."""
    from cartrial.store.snapshot import SNAPSHOT_TABLES as MODELS
    from cartrial.store.snapshot import subject_ids

    subjects = tables.get("subjects")
    if subjects is None or "subject_id" not in subjects.columns:
        return
    enrolled = set(subject_ids(subjects))  # the patient cut's own comparison (D-19.1294)
    problems: list[Problem] = []
    for name, frame in tables.items():
        if name == "subjects" or "subject_id" not in frame.columns or not len(frame):
            continue
        owner = subject_ids(frame)
        other = ((owner != "") & ~owner.isin(enrolled)).to_numpy()  # as `of_subjects_enrolled`
        stored = str(getattr(MODELS.get(name), "__tablename__", name))
        ids = frame["record_id"].astype(str).tolist() if "record_id" in frame.columns else None
        labels = (given_rows or {}).get(name)
        for i in other.nonzero()[0]:
            problems.append(
                Problem(
                    "a subject not in the subjects table",
                    file=name,
                    field="subject_id",
                    allowed="a subject of the subjects table: a data cut keeps its subjects with all their "
                    "records (cut the subjects and their records alike — escalation_decisions, which name no "
                    "subject, too — or read_snapshot(url, cutoff); D-19.1147)",
                    record=_record_name(stored, ids, labels, int(i)),
                )
            )
    if problems:
        raise InputError(_bounded_after_cutoff(problems, "of a subject not in the subjects table"))


def _bounded_after_cutoff(
    problems: list[Problem], what: str = "dated after the data cut-off"
) -> list[Problem]:
    """The first `cartrial.store.tamper.MAX_FINDINGS` of `problems`, then one line counting the rest per
    table and column (``and 12 more record(s) dated after the data cut-off: adverse_events.started_on 10,
    labs.collected_at 2``; D-19.930) — a long list stays bounded and still says where the rest are."""
    from cartrial.store.tamper import MAX_FINDINGS

    if len(problems) <= MAX_FINDINGS:
        return problems
    rest = problems[MAX_FINDINGS:]
    where: dict[str, int] = {}
    for problem in rest:
        key = f"{problem.file}.{problem.field}"
        where[key] = where.get(key, 0) + 1
    counted = ", ".join(f"{key} {n}" for key, n in where.items())
    return [
        *problems[:MAX_FINDINGS],
        Problem(f"and {count(len(rest), 'more record')} {what}: {counted}"),
    ]


def _study_populations(
    tables: dict[str, pd.DataFrame], protocol: Any, cutoff: dt.date, *, contacts: bool = True
) -> StudyPopulations:
    """`study_populations` of tables and a cut-off already checked (`analyse` checks them once). `contacts`
    False (the web escalation page's re-read of tables as given, `as_of_day_of_snapshot_read_later`): no last
    contact and no date last known alive are derived (blank columns, an empty `last_contact`)."""
    opts = analysis_spec(protocol).options
    # graded once through the grading adapter (one episode-grader run gives the CRS episodes and each
    # assessment's grade, crs_assessment_grades), shared by the safety datasets; the DLT evaluation's graded
    # events rebuild the episodes of subjects with an episode, under the same crs_masking (D-19.1371)
    crs = safety.crs_episodes(tables, opts.crs_masking.value)
    icans = safety.icans_episodes(tables)
    labs = safety.graded_labs(tables, opts.ctcae_version, opts.treatment_emergent_start)
    evaluation = evaluate_dlts(
        tables,
        protocol,
        cutoff,
        ctcae_version=opts.ctcae_version,
        crs=crs,
        icans=icans,
        labs=labs,
        treatment_emergent_start=opts.treatment_emergent_start,
        lab_min_recovery_days=opts.lab_min_recovery_days,
        crs_masking=opts.crs_masking.value,
    )
    populations, membership = derive_populations(
        tables, protocol, cutoff, evaluation.engine_days, evaluation.investigator_days
    )
    safety_ids = populations[SAFETY].subject_ids
    last = last_contact(tables, safety_ids, cutoff) if safety_ids and contacts else {}
    # the populations dataset's last contact and date last known alive, ADSL.LSTALVDT (D-19.1435, D-19.1437)
    membership = with_last_contact(membership, last, last_known_alive(tables, last, cutoff))
    return StudyPopulations(populations, membership, evaluation, crs, icans, labs, last)


SafetyDerivation = Callable[[], dict[str, Dataset]]


def safety_derivations(
    tables: Mapping[str, pd.DataFrame], protocol: Any, study: StudyPopulations
) -> dict[str, SafetyDerivation]:
    """The toxicity derivations of `analyse`, each with the protocol's analysis options (CTCAE version,
    treatment-emergence start), its dose levels (D-19.108) and the study's graded episodes and labs, by
    name (`crs_icans_datasets`, `adverse_event_datasets`, `lab_datasets`): the one wiring that `analyse` and
    the web safety dashboard both call, so that a page shows what the report shows (D-19.120)."""
    opts = analysis_spec(protocol).options
    levels = protocol_levels(protocol)  # every protocol dose level is a group, n = 0 if undosed (D-19.108)
    populations = study.populations
    return {
        "crs_icans_datasets": lambda: crs_icans_datasets(
            tables,
            populations,
            (study.crs, study.icans),
            levels,
            opts.therapies_collected,
            opts.crs_masking.value,
        ),
        "adverse_event_datasets": lambda: adverse_event_datasets(
            tables,
            populations,
            opts.treatment_emergent_start,
            levels,
            opts.teae_expected_cytopenias,
            membership=study.membership,
            infection_periods=opts.infection_periods,
        ),
        "lab_datasets": lambda: lab_datasets(
            tables,
            populations,
            opts.ctcae_version,
            study.labs,
            study.membership,
            opts.treatment_emergent_start,
        ),
    }


def _disposition_notes(membership: pd.DataFrame) -> tuple[str, ...]:
    """A note naming the subjects whose stored disposition is not of its vocabulary (stored before D-19.92):
    they are read as ongoing; `cartrial db edit` sets the disposition. Another naming the subjects whose end
    of study is stored without its date: followed up to the last contact, the date itself blank (D-19.126)."""
    notes: list[str] = []
    unread = sorted(membership.loc[membership["study_status"] == "", "subject_id"].astype(str))
    if unread:
        notes.append(
            f"disposition not read for {count(len(unread), 'subject')} ({', '.join(unread)}): not one of "
            f"{DISPOSITION_TEXT}; counted as ongoing until corrected"
        )
    ended = membership["study_status"].isin(STUDY_ENDED)
    undated = sorted(
        membership.loc[ended & (membership["end_of_study_date"] == ""), "subject_id"].astype(str)
    )
    if undated:
        notes.append(
            f"end of study not dated for {count(len(undated), 'subject')} ({', '.join(undated)}; "
            "stored before disposition_date was required): followed up to the last contact, "
            "end_of_study_date (ADSL.EOSDT, DS.DSSTDTC) left blank, never imputed; `cartrial db edit` sets "
            "disposition_date (D-19.126)"
        )
    return tuple(notes)


def analyse(snapshot: SnapshotLike) -> Analysis:
    """Populations, datasets and key findings of one study snapshot (see docs/analysis.md).

    `snapshot` is a `cartrial.store.snapshot.StudySnapshot` or any object with `tables` (template-layout
    frames by template name), `protocol`, `cutoff` and `metadata()`.

    The tables are the study's records, not the user's own input: a problem an engine finds in a row of
    them names the record (``edss_assessment record 53``, the store table and id `cartrial db edit` takes),
    the field and what is allowed, never the value (`Problem.value` dropped for every problem at a row;
    D-12.2, D-19.500) — `analyse`, `report` and `export cdisc` print these errors. Each engine call names
    the frames it is handed (`cartrial.analysis.model.stored_rows`); a row no such frame locates keeps its
    table and field only, never a row number of an in-memory frame (D-19.542). A problem of the protocol
    or of a column name keeps what it quotes.
    """
    # D-19.507: the one clean-up of every path running engines on stored rows (rows without a frame
    # dropped, D-19.542)
    with stored_rows_errors():
        return _analyse(snapshot)


def _analyse(snapshot: SnapshotLike) -> Analysis:
    missing = [name for name in ("tables", "protocol", "cutoff", "metadata") if not hasattr(snapshot, name)]
    if missing:
        raise InputError(
            Problem(
                f"not a study snapshot: a {type(snapshot).__name__} without {', '.join(missing)}",
                field="snapshot",
                allowed="a StudySnapshot (cartrial.store.snapshot.read_snapshot(url, cutoff)) "
                "or an object with tables, protocol, cutoff and metadata()",
            )
        )
    time_zones = dict(getattr(snapshot, "time_zones", None) or {})
    tables, given = given_study_tables(snapshot.tables, time_zones)
    protocol = snapshot.protocol
    # after today only for a snapshot read with the opt-in (read_snapshot's allow_future_cutoff, D-19.380)
    future = getattr(snapshot, "allow_future_cutoff", False) is True
    cutoff = cutoff_date(snapshot.cutoff, "snapshot.cutoff", allow_future=future)
    spec = analysis_spec(protocol)
    opts = spec.options
    # a snapshot holds nothing after its cut-off; own tables or another cut-off may: read as read_snapshot
    # reads them, an end after the cut-off as ongoing (D-19.85, D-19.928), a record dated after it refused
    # (D-19.926)
    tables, opened = open_ended_after_cutoff(tables, cutoff, time_zones)
    refuse_records_after_cutoff(tables, cutoff, time_zones, given)
    refuse_records_of_other_subjects(tables, given)  # a cut by subject keeps their records too (D-19.1290)
    study = _study_populations(tables, protocol, cutoff)
    evaluation, populations, membership = study.evaluation, study.populations, study.membership
    datasets: dict[str, Dataset] = {
        "populations": Dataset(
            "populations",
            "Analysis populations: membership per enrolled subject",
            membership,
            ENROLLED,
            "cartrial.analysis.populations.derive_populations",
            # the membership's tables, the contact forms of last_contact_date and the relapses of
            # last_known_alive_date
            ("subjects", "infusions", "adverse_events", *CONTACT_COLUMNS, "relapses"),
            notes=_disposition_notes(membership),
        )
    }
    levels = protocol_levels(protocol)
    datasets["disposition_summary"] = disposition_summary(membership, levels)  # D-19.129
    datasets |= dlt_datasets(tables, protocol, populations, membership, evaluation)
    for derive in safety_derivations(tables, protocol, study).values():
        datasets |= derive()
    relapses, relapse_result = relapse_datasets(
        tables, protocol, cutoff, populations, opts.relapse_follow_up_end, last_contacts=study.last_contact
    )
    outcomes = collected_outcomes(protocol, tables)
    # without relapse data a confirmed worsening is neither relapse-associated nor PIRA (D-19.867, D-19.870)
    attacks = relapse_result.attacks if "relapses" in outcomes else None
    datasets |= edss_datasets(tables, cutoff, populations, attacks, opts.edss_baseline_visit.value)
    datasets |= responder_datasets(
        tables, protocol, cutoff, populations, spec.populations, attacks, opts.responder_baseline_visit.value
    )
    datasets |= osis_dataset(tables, cutoff, populations, attacks, opts.responder_baseline_visit.value)
    datasets |= relapses
    datasets |= demographics_datasets(tables, protocol, populations, datasets, outcomes)
    datasets |= nca_datasets(tables, populations, opts, getattr(protocol, "schedule", None), levels)
    datasets |= pd_datasets(tables, populations, opts.aqp4_igg_baseline)
    for name, outcome in DATASET_OUTCOME.items():  # D-19.61: an outcome the study does not collect
        if outcome not in outcomes:
            datasets.pop(name, None)
    for name, outcome in POPULATION_OUTCOME.items():
        if outcome not in outcomes:
            populations.pop(name, None)
    meta = snapshot.metadata()
    if opened:  # stated with the snapshot's own count (data_status_finding; D-19.928)
        ended = dict(meta.get("records_ended_after_cutoff") or {})
        meta["records_ended_after_cutoff"] = {k: ended.get(k, 0) + opened.get(k, 0) for k in ended | opened}
        meta["records_ended_after_cutoff_read_as_ongoing_by_the_analysis"] = dict(opened)
    findings = (
        data_status_finding(meta),
        *safety_findings(datasets, populations, protocol, refused=evaluation.refused),
        *efficacy_findings(datasets, populations, protocol, outcomes),
        *pk_pd_findings(datasets, populations, opts.persistence_day, outcomes),
        *underived_endpoint_findings(protocol),
    )
    sources = option_sources(spec)
    options: dict[str, Any] = {
        "proportion_ci": sources["proportion_ci"]["value"],
        "rate_ci": sources["rate_ci"]["value"],
        "persistence_day": opts.persistence_day,
        "treatment_emergent": TREATMENT_EMERGENT_TEXT[opts.treatment_emergent_start],
        "dlt_window_days": protocol.escalation.dlt_window_days,
        "dlt_rules": [r.id for r in protocol.escalation.dlt_rules],
        "nca_intervals": [list(i) for i in opts.nca_intervals_days],
        "nca_options": dict(opts.nca_options),
        "nca_interval_summary": sources["nca_interval_summary"]["value"],
        "relapse_follow_up_end": sources["relapse_follow_up_end"]["value"],
        "aqp4_igg_baseline": sources["aqp4_igg_baseline"]["value"],
        "teae_expected_cytopenias": sources["teae_expected_cytopenias"]["value"],  # D-19.269
        "edss_baseline_visit": sources["edss_baseline_visit"]["value"],  # D-19.869
        "responder_baseline_visit": sources["responder_baseline_visit"]["value"],  # D-19.896
        "efficacy_evaluable": sources["efficacy_evaluable"]["value"],
        "crs_icans": "ASTCT 2019 (cartrial.grading defaults)",
        "ctcae_version": opts.ctcae_version,
        # the relapse derivation's options in force: the protocol's relapse definition and the engine's
        # documented defaults (KM median rule, median follow-up method, rate ratio, D-19.212)
        "relapses": dict(relapse_result.options),
    }
    fixed = {
        "dlt_window_days": "protocol escalation.dlt_window_days",
        "dlt_rules": "protocol escalation.dlt_rules",
        "crs_icans": "cartrial.grading defaults (CrsOptions, EpisodeOptions)",
        "treatment_emergent": sources["treatment_emergent_start"]["source"],
        "nca_intervals": sources["nca_intervals_days"]["source"],
        "relapses": "protocol endpoints (relapse definition parameters) and cartrial.neuro.derive_relapses "
        "defaults",
    }
    for name, outcome in OPTION_OUTCOME.items():  # D-19.71: options of an outcome the study does not collect
        if outcome not in outcomes:
            options.pop(name)
    if not any(name.startswith("efficacy:") for name in populations):  # no efficacy population to rule
        options.pop("efficacy_evaluable")
    option_source = {name: fixed.get(name) or sources[name]["source"] for name in options}
    return Analysis(
        meta,
        populations,
        datasets,
        findings,
        options,
        option_source,
        # the subjects' study-day calendars, the one the CDISC export and the report read (D-19.607)
        intermediates={
            "graded_labs": study.labs,
            "outcomes": outcomes,
            "time_zones": subject_time_zones(tables["infusions"]),
            # what the report reads its record tables at (`analysed_tables`, D-19.997)
            "cutoff": cutoff,
            "site_time_zones": time_zones,
        },
    )


__all__ = ["analyse"]
