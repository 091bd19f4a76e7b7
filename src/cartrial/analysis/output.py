"""The analysis as files (text only, no I/O here): one CSV per dataset, a README.md of the columns, and
``analysis.json`` (snapshot, options, populations, datasets, findings). The command line writes them."""

from __future__ import annotations

from typing import Any

from cartrial.analysis.model import Analysis


def _column_text(name: str, dtype: Any, described: dict[str, str]) -> str:
    return described.get(name, f"({dtype})")


def view_lines(view: Any) -> list[str]:
    """The README lines naming whose view of the study the datasets are (`StudySnapshot.view`; D-19.459):
    a site-restricted view in bold, as a heading reader sees it first; nothing for a snapshot without one."""
    if not isinstance(view, dict) or not view.get("statement"):
        return []
    statement = str(view["statement"])
    return [f"**{statement}**" if not view.get("whole_study") else f"Subjects included: {statement}.", ""]


def readme_text(analysis: Analysis) -> str:
    """README.md of an analysis folder: the snapshot (a locked one with the audit-chain head its lock
    recorded, the checkpoint every output of the lock carries; D-19.1059), then each dataset with its
    population, derivation, sources, notes and columns."""
    from cartrial.store.snapshot import lock_checkpoint_text

    snap = analysis.snapshot
    lines = [
        f"# Analysis datasets — {snap.get('study', '')}, data cut-off {snap.get('cutoff', '')}",
        "",
        "**DRAFT — unlocked data**" if snap.get("unlocked") else f"Locked data (lock {snap.get('lock_id')}).",
        "",
        *view_lines(snap.get("view")),
        f"- protocol SHA-256: `{snap.get('protocol_sha256', '')}`",
        *([] if snap.get("unlocked") else [f"- audit-chain head at the lock: {lock_checkpoint_text(snap)}"]),
        f"- audit-chain head when read: id {snap.get('audit_head_id')}, `{snap.get('audit_head_hash')}`",
        f"- proportions: {analysis.options.get('proportion_ci', '')}",
        *([f"- rates: {analysis.options['rate_ci']}"] if "rate_ci" in analysis.options else []),
        "",
        "Populations:",
        "",
    ]
    for population in analysis.populations.values():
        lines.append(f"- **{population.name}** (n = {population.n}): {population.definition}")
        if population.excluded:
            lines.append(f"  - {population.not_evaluable_text()}")
    lines.append("")
    for name, dataset in analysis.datasets.items():
        lines += [
            f"## {name}.csv — {dataset.title}",
            "",
            f"- population: {dataset.population}",
            f"- derivation: {dataset.derivation}",
            f"- source tables: {', '.join(dataset.source_tables)}",
        ]
        lines += [f"- note: {note}" for note in dataset.notes]
        lines += ["", "| column | description |", "|---|---|"]
        described = dict(dataset.columns)
        for column, dtype in dataset.table.dtypes.items():
            text = _column_text(str(column), dtype, described).replace("|", "\\|")
            lines.append(f"| `{column}` | {text} |")
        lines.append("")
    return "\n".join(lines)


def analysis_files(analysis: Analysis) -> dict[str, str]:
    """File name → text: ``<dataset>.csv`` for each dataset, ``README.md`` and ``analysis.json``."""
    from cartrial.tabular import csv_text, dumps_json

    files = {f"{name}.csv": csv_text(dataset.table) for name, dataset in analysis.datasets.items()}
    files["README.md"] = readme_text(analysis)
    files["analysis.json"] = dumps_json(analysis.metadata()) + "\n"
    return files


__all__ = ["analysis_files", "readme_text"]
