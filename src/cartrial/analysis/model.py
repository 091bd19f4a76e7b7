"""The analysis result objects: datasets (tables with population and provenance), populations, findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd


class SnapshotLike(Protocol):
    """What the analysis needs of a study snapshot (`cartrial.store.snapshot.StudySnapshot` is one):
    template-layout tables, the protocol, the cut-off, and a JSON-ready description."""

    @property
    def cutoff(self) -> dt.date: ...

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]: ...

    @property
    def protocol(self) -> Any: ...

    def metadata(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Population:
    """An analysis population: who is in it, its definition, and who is not, by reason."""

    name: str
    definition: str
    subject_ids: tuple[str, ...]
    excluded: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Reason → subjects of the parent population left out for that reason."""

    @property
    def n(self) -> int:
        return len(self.subject_ids)

    def not_evaluable_text(self) -> str:
        """``"not evaluable: 2 — no baseline VA: CT-003, CT-007"`` (empty string when nobody is left out)."""
        if not self.excluded:
            return ""
        total = sum(len(v) for v in self.excluded.values())
        parts = "; ".join(f"{reason}: {', '.join(ids)}" for reason, ids in sorted(self.excluded.items()))
        return f"not evaluable: {total} — {parts}"


@dataclass(frozen=True)
class Dataset:
    """One analysis dataset: a table and where it comes from."""

    name: str
    title: str
    table: pd.DataFrame
    population: str
    derivation: str
    """Engine function(s) called, e.g. ``cartrial.grading.crs_episodes``."""
    source_tables: tuple[str, ...]
    columns: Mapping[str, str] = field(default_factory=dict)
    """Column → description (unit included) for the README of the output folder."""
    notes: tuple[str, ...] = ()
    engine: tuple[Mapping[str, Any], ...] = ()
    """The engine `Result.metadata()` of each derivation behind the table (derivation, options, sources,
    cartrial version): what the report's methods section cites."""
    facts: Mapping[str, str] = field(default_factory=dict)
    """Parts of the notes a finding quotes, by name (e.g. ``median_follow_up`` of ``relapse_free_km``): the
    finding takes the part, never splits a note's text. Not in `metadata` (the notes say it)."""

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description, in the `cartrial.results.Result` convention: what the table is, its
        population, the derivation and source tables, column descriptions, notes and the engine metadata."""
        return {
            "name": self.name,
            "title": self.title,
            "population": self.population,
            "derivation": self.derivation,
            "source_tables": list(self.source_tables),
            "columns": dict(self.columns),
            "notes": list(self.notes),
            "engine": [dict(e) for e in self.engine],
        }


@dataclass(frozen=True)
class Finding:
    """One plain-language statement generated from derived numbers, with what it rests on."""

    domain: str
    statement: str
    numerator: int | None
    denominator: int | None
    population: str
    definition: str
    source: str
    """The dataset the numbers come from."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "statement": self.statement,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "population": self.population,
            "definition": self.definition,
            "source": self.source,
        }


@dataclass(frozen=True)
class Analysis:
    """Everything `analyse` derives from one snapshot."""

    snapshot: Mapping[str, Any]
    populations: Mapping[str, Population]
    datasets: Mapping[str, Dataset]
    findings: tuple[Finding, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    option_sources: Mapping[str, str] = field(default_factory=dict)
    """Option → where its value comes from (``protocol analysis.options.<name>``, ``default (...)``)."""
    intermediates: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Engine results the datasets were built from, for renderers that need them row by row without grading
    again (``graded_labs``: `cartrial.analysis.safety.graded_labs` of this snapshot); not part of
    `metadata`."""

    def metadata(self) -> dict[str, Any]:
        """JSON-ready: snapshot, options, populations, datasets (population, derivation, sources, notes)."""
        return {
            "snapshot": dict(self.snapshot),
            "options": dict(self.options),
            "option_sources": dict(self.option_sources),
            "populations": {
                name: {
                    "definition": p.definition,
                    "n": p.n,
                    "subjects": list(p.subject_ids),
                    "excluded": {k: list(v) for k, v in p.excluded.items()},
                }
                for name, p in self.populations.items()
            },
            "datasets": {
                name: {
                    **{k: v for k, v in d.metadata().items() if k not in ("name", "columns")},
                    "rows": len(d.table),
                }
                for name, d in self.datasets.items()
            },
            "findings": [f.as_dict() for f in self.findings],
        }


@contextmanager
def stored_rows(frames: Mapping[str, pd.DataFrame]) -> Iterator[None]:
    """Around ONE engine call on the study's stored rows: `frames` are the snapshot tables that call is
    handed, by snapshot table name (the problem file the engines use: ``edss``, ``infusions``, ...), each
    the very frame handed — filtered, re-ordered or cut to some columns as the call gets it, the rows in the
    same order, with their ``record_id``. A problem the engine finds at a row of one of them is named by
    its record, ``edss_assessment record 53, pyramidal``, the store table and id `cartrial db edit` takes;
    any other problem at a row keeps its table (the store table, as `stored_record` names one without a
    record id) and field only; no value of a stored record in either
    (`cartrial.errors.stored_rows_errors`, D-19.507, D-19.542). The one way the analysis (and so `analyse`,
    `report`, `export cdisc` and the web safety page) locates an engine's refusal of a stored row: a
    mapping from the snapshot's own tables would name the wrong record whenever the call was handed a
    subset (the safety population's rows) or the tables in another order."""
    from cartrial.errors import stored_rows_errors
    from cartrial.store.importing.forms import FORMS_BY_NAME  # snapshot table → the store's (as core)

    located = {name: (frame, FORMS_BY_NAME[name].table) for name, frame in frames.items()}
    with stored_rows_errors(located):
        yield


def record_name(table: str, record_id: Any) -> str | None:
    """``<table> record <id>`` (`Problem.record`, the store table and id `cartrial db edit` takes) from a
    frame's ``record_id`` cell; None when the cell is no record id (a frame not read from the store)."""
    try:
        return f"{table} record {int(record_id)}"
    except (TypeError, ValueError):
        return None


@contextmanager
def stored_record(table: str, record_id: Any, field: str) -> Iterator[None]:
    """Around an engine call on ONE stored value that is not a row of a frame (`stored_rows` cannot place
    it: a titre parsed on its own): a problem the engine finds is located at that value, `<table> record
    <id>, <field>` (`record_name`; the store table and field only when `record_id` is none: the table
    `cartrial db records` takes, as `stored_rows` names a row no record locates), without the value
    (D-12.2, D-19.542)."""
    from dataclasses import replace

    from cartrial.errors import InputError

    try:
        yield
    except InputError as exc:
        record = record_name(table, record_id)
        raise exc.with_problems(
            replace(
                p,
                file=None if record else table,
                line=None,
                row=None,
                record=record,
                field=field,
                value=None,
            )
            for p in exc.problems
        ) from None


__all__ = [
    "Analysis",
    "Dataset",
    "Finding",
    "Population",
    "SnapshotLike",
    "record_name",
    "stored_record",
    "stored_rows",
]
