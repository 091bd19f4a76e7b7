"""`export_cdisc`: SDTM and ADaM of one cut-off snapshot, validated, then written as XPT v5 and/or
Dataset-JSON v1.1 with a define.xml per standard; `check_folder` re-validates a written folder.

Layout of the output folder::

    OUT/sdtm/<name>.xpt, <name>.json, define.xml
    OUT/adam/<name>.xpt, <name>.json, define.xml
    OUT/cdisc-export.json   (snapshot metadata, options, per-dataset records/variables/findings)
    OUT/README.md           (study, cut-off and who read it; always the whole study, D-19.461)

Nothing is written when any dataset has a finding (`CdiscValidationError`, CLI exit 2): the export fails, it
never truncates or drops.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cartrial.allowed import choice_text
from cartrial.cdisc.adam import ADPP_CODELIST, RESPONDER_CODELIST, study_codelists
from cartrial.cdisc.spec import EDSS_DOMAINS, Codelist, DatasetSpec, Term, codelists, dataset_specs
from cartrial.cdisc.validate import Finding, records_after_death, validate_dataset
from cartrial.errors import CartrialError, ConfigurationError, InputError, Problem
from cartrial.sources import parse_json

FORMATS = ("xpt", "json", "both")
SDTMIG_VERSIONS = ("3.4",)


class CdiscValidationError(CartrialError):
    """One or more datasets break a transport/SDTM rule: nothing was written."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        shown = "\n".join(f"  {f}" for f in findings[:50])
        more = f"\n  … and {len(findings) - 50} more" if len(findings) > 50 else ""
        super().__init__(f"{len(findings)} CDISC validation finding(s); nothing was written:\n{shown}{more}")


@dataclass(frozen=True)
class DatasetSummary:
    standard: str
    name: str
    records: int
    variables: int
    findings: int
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    datasets: tuple[DatasetSummary, ...]
    snapshot: Mapping[str, Any]
    files: tuple[str, ...] = field(default_factory=tuple)
    frames: Mapping[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    """The datasets as written (for callers that summarise or test them)."""
    data_issues: tuple[Finding, ...] = ()
    """Data errors written as recorded, not refused (severity ``warning``): records dated after the
    subject's death (`records_after_death`, D-19.653)."""

    def metadata(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "snapshot": dict(self.snapshot),
            "datasets": [d.__dict__ | {"files": list(d.files)} for d in self.datasets],
            "files": list(self.files),
            "data_issues": [issue.as_dict() for issue in self.data_issues],
        }


def build_all(
    snapshot: Any,
    analysis: Any,
    sites: Mapping[str, str] | None = None,
    *,
    edss_domain: str = "qs",
) -> dict[str, pd.DataFrame]:
    """SDTM then ADaM frames of one snapshot and its analysis (no validation, no files); the EDSS/KFSS
    records in QS or RS (`edss_domain`, one of `EDSS_DOMAINS`)."""
    from cartrial.analysis.core import refuse_tables_not_analysed
    from cartrial.analysis.model import Analysis
    from cartrial.cdisc.adam import build_adam
    from cartrial.cdisc.common import read_at_cutoff, uncollected_empty_datasets
    from cartrial.cdisc.sdtm import build_sdtm

    if isinstance(analysis, Analysis):  # the records the analysis read, no other (D-19.1291)
        refuse_tables_not_analysed(analysis, getattr(snapshot, "source", snapshot).tables, "snapshot")
    snapshot = read_at_cutoff(snapshot)  # once for SDTM and ADaM (D-19.990)
    sdtm = build_sdtm(snapshot, analysis, sites, edss_domain=edss_domain)
    adam = build_adam(snapshot, analysis, sdtm)
    frames = {**sdtm, **adam}
    for name in uncollected_empty_datasets(frames, analysis):  # D-19.203
        del frames[name]
    return frames


def validate_all(
    frames: Mapping[str, pd.DataFrame], terms: Mapping[str, Codelist] | None = None
) -> dict[str, list[Finding]]:
    """Every finding of every dataset (`terms`: the study's codelists, `study_codelists`; default the
    shipped ones)."""
    specs = dataset_specs()
    return {name: validate_dataset(frame, specs[name], terms=terms) for name, frame in frames.items()}


def check_options(formats: str, sdtmig: str, edss_domain: str = "qs") -> None:
    """A ConfigurationError (exit 2) for a format, SDTMIG version or EDSS domain cartrial does not offer."""
    if formats not in FORMATS:
        raise ConfigurationError(f"--format: {formats!r} is not allowed; allowed: {choice_text(FORMATS)}")
    if sdtmig not in SDTMIG_VERSIONS:
        raise ConfigurationError(
            f"--sdtmig: {sdtmig!r} is not offered; allowed: {choice_text(SDTMIG_VERSIONS)}"
        )
    if edss_domain not in EDSS_DOMAINS:
        raise ConfigurationError(
            f"--edss-domain: {edss_domain!r} is not allowed; allowed: {choice_text(EDSS_DOMAINS)}"
        )


def export_cdisc(
    snapshot: Any,
    analysis: Any,
    out_dir: Path,
    *,
    formats: str = "both",
    sdtmig: str = "3.4",
    edss_domain: str = "qs",
    sites: Mapping[str, str] | None = None,
    created: str | None = None,
) -> ExportResult:
    """Build, validate (fail on any finding) and write SDTM + ADaM for one snapshot.

    `sites` (site_id → country, for DM.COUNTRY): default the sites `read_snapshot` read with the snapshot
    (`StudySnapshot.sites`), so that a notebook calls ``export_cdisc(snapshot, analyse(snapshot), out)``;
    a mapping given is used instead (D-19.383).

    `edss_domain`: ``qs`` (default) writes the EDSS and Kurtzke FS in QS, ``rs`` in RS (SDTMIG 3.4
    clinical classification; QS is then not written, it holds nothing else). See D-15.11.

    A site-restricted snapshot (`StudySnapshot.view`) is refused: SDTM/ADaM describe the whole study
    (TS.ACTSUB, SSTDTC, the define.xml title; D-19.461)."""
    from cartrial import __version__
    from cartrial.allowed import path_argument
    from cartrial.cdisc.define import build_define

    out_dir = path_argument(out_dir, "out_dir")
    from cartrial.cdisc.transport import study_char_lengths, write_dataset_json_frame, write_xpt
    from cartrial.tabular import staged_folder, write_atomic

    check_options(formats, sdtmig, edss_domain)
    if not snapshot.view()["whole_study"]:  # submission datasets describe the whole study (D-19.461)
        raise InputError(
            Problem(
                "a CDISC export describes the whole study; this snapshot is a site-restricted view",
                field="snapshot",
                allowed="a snapshot of the whole study (read_snapshot without sites=)",
            )
        )
    frames = build_all(snapshot, analysis, sites, edss_domain=edss_domain)
    terms = study_codelists(snapshot.protocol)
    findings = validate_all(frames, terms)
    problems = [f for fs in findings.values() for f in fs]
    if problems:
        raise CdiscValidationError(problems)
    specs = dataset_specs()
    created = created or dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    study_id = str(frames["DM"]["STUDYID"].iloc[0]) if len(frames["DM"]) else str(snapshot.protocol.study.id)
    view = snapshot.view()
    study_title = str(snapshot.protocol.study.title)
    # character lengths once per export, one per variable across the study (SUPP-- per dataset): the XPT
    # file, the Dataset-JSON file and define.xml share them (D-19.657)
    lengths = study_char_lengths(frames, specs)
    summaries: list[DatasetSummary] = []
    written: list[str] = []
    with staged_folder(out_dir, field="--out") as stage:  # all or nothing in out_dir (D-19.501)
        for standard, folder in (("SDTMIG", "sdtm"), ("ADaMIG", "adam")):
            target = stage / folder
            target.mkdir(parents=True, exist_ok=True)
            group = [specs[n] for n in frames if specs[n].standard == standard]
            for spec in group:
                frame = frames[spec.name]
                files = []
                if formats in ("xpt", "both"):
                    path = target / f"{spec.name.lower()}.xpt"
                    write_xpt(frame, spec, path, created=created, lengths=lengths[spec.name])
                    files.append(str(path.relative_to(stage)))
                if formats in ("json", "both"):
                    path = target / f"{spec.name.lower()}.json"
                    write_dataset_json_frame(
                        frame,
                        spec,
                        path,
                        study_oid=study_id,
                        created=created,
                        version=__version__,
                        lengths=lengths[spec.name],
                    )
                    files.append(str(path.relative_to(stage)))
                written.extend(files)
                summaries.append(
                    DatasetSummary(standard, spec.name, len(frame), len(frame.columns), 0, tuple(files))
                )
            define = build_define(
                standard,
                group,
                frames,
                study_id=study_id,
                study_title=study_title,
                created=created,
                version=__version__,
                file_format="xpt" if formats != "json" else "json",
                lengths=lengths,
                terms=terms,
            )
            (target / "define.xml").write_bytes(define)
            written.append(f"{folder}/define.xml")
        issues = tuple(records_after_death(frames))  # written as recorded, listed (D-19.653)
        result = ExportResult(out_dir, tuple(summaries), snapshot.metadata(), tuple(written), frames, issues)
        manifest = {
            **result.metadata(),
            "options": {"format": formats, "sdtmig": sdtmig, "edss_domain": edss_domain, "adamig": "1.3"},
            # the study's own terms of a sponsor codelist (ADRS.PARAMCD, ADPP.PARAMCD), for `--check`
            "study_codelists": {
                name: [[term.value, term.decode] for term in terms[name].terms]
                for name in (RESPONDER_CODELIST, ADPP_CODELIST)
            },
        }
        write_atomic(stage / "cdisc-export.json", json.dumps(manifest, indent=2, default=str) + "\n")
        write_atomic(stage / "README.md", _readme(snapshot, study_id, view, issues))
    return result


def _readme(snapshot: Any, study_id: str, view: Mapping[str, Any], issues: Sequence[Finding] = ()) -> str:
    """The export folder's README.md: study, cut-off and whose view of the study the datasets hold
    (`StudySnapshot.view`: always the whole study, D-19.461), and the data issues the manifest lists:
    dates after the subject's death, in how many distinct records (dataset and record number; D-19.653,
    D-19.659)."""
    lines = [
        f"# CDISC export of {study_id}, data cut-off {snapshot.cutoff.isoformat()}",
        "",
        f"Subjects included: {view['statement']}.",
        f"Sites: {', '.join(view['sites']) or 'none'}.",
    ]
    if issues:
        records = len({(i.dataset, i.record) for i in issues})
        lines += [
            "",
            f"Data issues: {len(issues)} date(s) in {records} record(s) dated after the subject's death, "
            "written as recorded (`data_issues` in cdisc-export.json; DM.RFPENDTC ends at the death).",
        ]
    lines += ["", "cdisc-export.json records the snapshot (its `view`), the options and every dataset.", ""]
    return "\n".join(lines)


def check_folder(folder: Path) -> tuple[list[Finding], list[tuple[str, int, int]]]:
    """Re-validate every ``*.xpt`` and ``*.json`` dataset under `folder` (recursively) against its spec.

    Returns (findings, [(file, records, variables)]). A file whose name is not a known dataset is a
    finding. `check_folder_issues` also lists the data issues (D-19.659)."""
    findings, seen, _ = _check_folder(folder, with_issues=False)
    return findings, seen


def check_folder_issues(
    folder: Path,
) -> tuple[list[Finding], list[tuple[str, int, int]], list[Finding]]:
    """`check_folder` and the data issues of the files read: the records dated after the subject's death
    (`records_after_death` over the datasets of each folder and format, as the export lists them; warnings
    that do not fail the check, D-19.653, D-19.659). An issue of a record in both the XPT and the
    Dataset-JSON file of a folder is listed once: its ``dataset`` the dataset's name, its ``files`` both
    files (shown ``sdtm/lb.json and lb.xpt:LB``).
    Returns (findings, seen, data issues)."""
    return _check_folder(folder, with_issues=True)


def _check_folder(
    folder: Path, *, with_issues: bool
) -> tuple[list[Finding], list[tuple[str, int, int]], list[Finding]]:
    from cartrial.allowed import path_argument
    from cartrial.cdisc.transport import DatasetJSONError, read_dataset_json, read_xpt

    folder = path_argument(folder, "folder")
    if not folder.is_dir():
        raise CartrialError(f"--check: {folder} is not a folder")
    specs = dataset_specs()
    terms = _written_codelists(folder)
    findings: list[Finding] = []
    seen: list[tuple[str, int, int]] = []
    groups: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    where: dict[tuple[str, str, str], str] = {}
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in (".xpt", ".json") and p.name != "cdisc-export.json"
    )
    for path in files:
        name = path.stem.upper()
        relative = str(path.relative_to(folder))
        if name not in specs:
            findings.append(Finding(relative, "unknown-dataset", f"no cartrial spec for dataset {name!r}"))
            continue
        spec = specs[name]
        try:
            if path.suffix.lower() == ".xpt":
                frame, label, labels = read_xpt(path)
                frame = _restore_types(frame, spec)
            else:
                frame, meta = read_dataset_json(path)
                label = meta.get("label", "")
                if not isinstance(label, str):
                    raise DatasetJSONError("the dataset's label must be text")
                labels = {c["name"]: c.get("label", "") for c in meta["columns"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            findings.append(
                Finding(relative, "unreadable", f"cannot read the file: {_unreadable(exc, path)}")
            )
            continue
        except Exception as exc:  # pyreadstat's ReadstatError (its own class, not an OSError; D-19.342)
            if type(exc).__module__.split(".")[0] != "pyreadstat":
                raise
            findings.append(
                Finding(relative, "unreadable", f"cannot read the file: {_unreadable(exc, path)}")
            )
            continue
        for f in validate_dataset(frame, spec, labels=labels, dataset_label=label, terms=terms):
            findings.append(
                Finding(f"{relative}:{f.dataset}", f.rule, f.message, f.variable, f.record, f.severity)
            )
        seen.append((relative, len(frame), len(frame.columns)))
        if with_issues:
            group = (str(path.parent), path.suffix.lower())
            groups.setdefault(group, {})[name] = frame
            where[(*group, name)] = relative
    if not files:
        raise CartrialError(f"--check: no dataset files (*.xpt, *.json) in {folder}")
    # one issue per folder, dataset, variable and record: the files of each format it is in
    files_of: dict[tuple[str, str, str, int | None, str, str, str], list[str]] = {}
    for group, frames in groups.items():
        for i in records_after_death(frames):
            key = (group[0], i.dataset, i.variable, i.record, i.rule, i.message, i.severity)
            files_of.setdefault(key, []).append(where[(*group, i.dataset)])
    issues = [
        Finding(dataset, rule, message, variable, record, severity, files=tuple(names))
        for (_, dataset, variable, record, rule, message, severity), names in files_of.items()
    ]
    return findings, seen, issues


def _unreadable(exc: BaseException, path: Path) -> str:
    """Why a dataset file of `check_folder` cannot be read, in words (no Python class names)."""
    if isinstance(exc, OSError):
        return exc.strerror or "the file cannot be opened"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    from cartrial.cdisc.transport import DatasetJSONError

    if isinstance(exc, DatasetJSONError):
        return f"not a Dataset-JSON document of the expected structure: {exc}"
    if isinstance(exc, json.JSONDecodeError):  # `parse_json`: where the text stops being JSON (D-19.1046)
        return f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if path.suffix.lower() == ".xpt":
        return "not a SAS XPORT (XPT) file"
    return "not a Dataset-JSON document of the expected structure"


def _written_codelists(folder: Path) -> dict[str, Codelist]:
    """The codelists an export of `folder` was validated against: the shipped ones, with the study's own
    terms of a sponsor codelist as its ``cdisc-export.json`` records them (`study_codelists`)."""
    terms = dict(codelists())  # a copy: the shipped codelists are cached and shared
    manifest = folder / "cdisc-export.json"
    if not manifest.is_file():
        return terms
    try:
        recorded = parse_json(manifest.read_text(encoding="utf-8")).get("study_codelists") or {}
        for name, pairs in recorded.items():
            if name in terms:
                own = [Term(value=str(code), decode=str(decode)) for code, decode in pairs]
                terms[name] = terms[name].model_copy(update={"terms": own})
        if ADPP_CODELIST not in recorded:
            terms[ADPP_CODELIST] = _before_partial_auc_params(terms[ADPP_CODELIST])
    except (OSError, ValueError, TypeError, AttributeError):
        raise CartrialError(f"--check: {manifest} is not an export manifest of cartrial") from None
    return terms


def _before_partial_auc_params(shipped: Codelist) -> Codelist:
    """ADPPPRCD of an export written before one parameter per partial-AUC interval (D-19.890), its
    manifest recording no ADPPPRCD: that export coded every interval's AUC <prefix>AUCINT ("... AUC from T1
    to T2"), so its check accepts those codes too (with the shipped ones); the rules it was written under,
    not today's (D-19.891)."""
    from cartrial.cdisc.adam import adpp_analyte_prefixes
    from cartrial.cdisc.sdtm import AUCINT

    old = [
        Term(value=prefix + AUCINT[0], decode=f"{text} {AUCINT[1]}")
        for prefix, text in adpp_analyte_prefixes().values()
    ]
    known = {term.value for term in shipped.terms}
    return shipped.model_copy(update={"terms": [*shipped.terms, *(t for t in old if t.value not in known)]})


def _restore_types(frame: pd.DataFrame, spec: DatasetSpec) -> pd.DataFrame:
    """XPT read back: dates formatted DATE9. come back as dates; integers as floats (fine for the checks)."""
    frame = frame.copy()
    for v in spec.variables:
        if v.name in frame.columns and v.date == "sasdate":
            frame[v.name] = [
                x.date() if isinstance(x, dt.datetime) else x if isinstance(x, dt.date) else None
                for x in frame[v.name]
            ]
        elif v.name in frame.columns and v.date == "sasdatetime":
            frame[v.name] = [
                pd.Timestamp(x).to_pydatetime() if isinstance(x, dt.datetime) and not pd.isna(x) else None
                for x in frame[v.name]
            ]
    return frame


def read_sites(url: str | None) -> dict[str, str]:
    """site_id → country of the study database's sites (for DM.COUNTRY); read-only. The query
    `read_snapshot` reads into `StudySnapshot.sites` (`cartrial.store.snapshot.site_countries`)."""
    from cartrial.store.database import connect
    from cartrial.store.snapshot import site_countries

    engine = connect(url)
    try:
        with engine.connect() as connection:
            return site_countries(connection)
    finally:
        engine.dispose()


__all__ = [
    "EDSS_DOMAINS",
    "FORMATS",
    "CdiscValidationError",
    "DatasetSummary",
    "ExportResult",
    "build_all",
    "check_folder",
    "check_folder_issues",
    "check_options",
    "export_cdisc",
    "read_sites",
]
