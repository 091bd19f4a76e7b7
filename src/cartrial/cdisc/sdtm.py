"""SDTM (SDTMIG 3.4) datasets from a study snapshot and its analysis.

Every collected value comes from the snapshot (`cartrial.store.snapshot.read_snapshot`, the same cut-off
snapshot `cartrial analyse` reads); every graded or derived value (CRS/ICANS episodes and their ASTCT grades,
CTCAE lab grades, the EDSS, NCA parameters) comes from the analysis layer (`cartrial.analysis`), which calls
the engines. This module only re-shapes: the representation decisions are in the dataset specs
(`specs/sdtm/*.yaml`, rendered in docs/cdisc.md).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.cdisc.common import (
    SubjectTimeline,
    TimingTables,
    Visit,
    analysis_table,
    ascii_text,
    by_distinct,
    cdisc_unit,
    date_of,
    date_part,
    disease_of,
    dtc,
    empty_frame,
    finalize,
    is_scheduled_visit,
    number_unscheduled,
    parse_instant,
    protocol_visits,
    reference_range_indicator,
    result_text,
    study_day,
    timing_columns,
)
from cartrial.cdisc.spec import EDSS_DOMAINS, DatasetSpec, codelists, dataset_specs
from cartrial.columns import iso_instants
from cartrial.countries import country_alpha3
from cartrial.errors import ConfigurationError, InputError, Problem
from cartrial.kinetics.units import COPIES_PER_VOLUME
from cartrial.protocol.calendar import completed_years
from cartrial.protocol.disposition import DISPOSITIONS, STUDY_ENDED, parse_disposition, reported_term
from cartrial.protocol.lab_tests import LAB_TESTS, PK_ANALYTES
from cartrial.protocol.seriousness import CRITERIA_FIELDS, sdtm_flags

CRS_TERM = "Cytokine release syndrome"
ICANS_TERM = "Immune effector cell-associated neurotoxicity syndrome"
CRS_SCALE = "ASTCT 2019"
CTCAE_SCALE = "NCI CTCAE v5.0"

LB_TESTS = LAB_TESTS
"""Lab test codes by analyte (`cartrial.protocol.lab_tests.LAB_TESTS`)."""
PD_TESTS: Mapping[str, tuple[str, str, str, str]] = {
    # pd_samples column: (LBTESTCD, LBTEST, LBCAT, unit)
    "aqp4_igg_titre": ("AQP4AB", "Aquaporin-4 IgG Antibody Titer", "IMMUNOLOGY", "titer"),
    "cd19_b_cells_per_ul": ("CD19BC", "CD19+ B Cells", "IMMUNOLOGY", "cells/uL"),
    "bcma_plasma_cells_per_ul": ("BCMAPC", "BCMA+ Plasma Cells", "IMMUNOLOGY", "cells/uL"),
    "igg_g_per_l": ("IGG", "Immunoglobulin G", "IMMUNOLOGY", "g/L"),
    "iga_g_per_l": ("IGA", "Immunoglobulin A", "IMMUNOLOGY", "g/L"),
    "igm_g_per_l": ("IGM", "Immunoglobulin M", "IMMUNOLOGY", "g/L"),
}
PC_TESTS = PK_ANALYTES
"""PK test codes by analyte (`cartrial.protocol.lab_tests.PK_ANALYTES`)."""

PC_DIMENSION_TESTS: Mapping[tuple[str, str], tuple[str, str]] = {
    # (PCTESTCD of the analyte, dimension of the standard unit): (PCTESTCD, suffix of the analyte's PCTEST)
    ("CARTRGN", COPIES_PER_VOLUME): ("CARTRGNV", " per Volume"),
}
"""A PK test recorded in a dimension other than its analyte's declared one (`cartrial.kinetics.templates.
PK_ANALYTE_UNITS`) is a test of its own: one standard unit per PCTESTCD (SDTMIG v3.4 §4.5.1; D-19.888), the
transgene in copies per volume (no exact factor to copies/ug gDNA, D-19.781) is CARTRGNV."""


def pc_tests() -> dict[str, str]:
    """Every PCTESTCD cartrial writes → its PCTEST: the analytes of `PK_ANALYTES` and their tests of a
    second dimension (`PC_DIMENSION_TESTS`, the analyte's PCTEST and the suffix)."""
    names = {code: test for code, test in PK_ANALYTES.values()}
    return names | {own: names[code] + suffix for (code, _d), (own, suffix) in PC_DIMENSION_TESTS.items()}


def _dimension_code(test: str, dimension: str) -> str | None:
    found = PC_DIMENSION_TESTS.get((test, dimension))
    return found[0] if found else None


def pc_test_codes(
    codes: Sequence[str] | pd.Series | np.ndarray,
    units: Sequence[str] | pd.Series | np.ndarray,
    locations: Sequence[str] | None = None,
) -> np.ndarray:
    """The PCTESTCD of each PK record of test `codes` (the analyte's, `PK_ANALYTES`) and standard unit
    `units` (PCSTRESU): one standard unit per test code (SDTMIG v3.4 §4.5.1; D-19.888), the one rule PC,
    PP.PPCAT and ADPC's PARAMCD follow (D-19.783).

    The code is fixed by the record's test and the dimension of its unit, never by the other records of
    the data cut: a test in the dimension of its analyte's declared unit (or with no declared unit) keeps
    its code; in another dimension with a code of its own (`PC_DIMENSION_TESTS`) it gets that code, whether
    or not the cut holds a record of the declared dimension. A unit of no known dimension, or of a
    dimension without its own code, keeps the code when it is the test's only unit; beside another unit it
    is refused, naming the records at fault (`locations`, e.g. PC.PCREFID) and a test code of
    `PK_ANALYTES`, never an analyte's recorded text or any other value (D-12.2, D-19.887). Applied to
    codes it wrote, it gives them back.

    >>> pc_test_codes(["CARTRGN"] * 3, ["copies/mL", "copies/ug gDNA", "copies/ug gDNA"]).tolist()
    ['CARTRGNV', 'CARTRGN', 'CARTRGN']
    """
    from cartrial.kinetics.templates import PK_ANALYTE_UNITS
    from cartrial.kinetics.units import declared_dimension, standard_conc_unit

    declared = {code: declared_dimension(analyte) for analyte, (code, _test) in PK_ANALYTES.items()}
    declared |= {own: dimension for (_c, dimension), (own, _s) in PC_DIMENSION_TESTS.items()}
    code = pd.Series(np.asarray(codes, dtype=object)).astype(str)
    unit = pd.Series(np.asarray(units, dtype=object)).astype(str)
    out = code.to_numpy(dtype=object).copy()
    for test in dict.fromkeys(code):
        distinct = sorted(set(unit[code == test]))
        declared_here = declared.get(test, "")
        for one in distinct:
            dimension = standard_conc_unit(one).dimension
            rows = ((code == test) & (unit == one)).to_numpy()
            own = _dimension_code(test, dimension) if dimension else None
            if own is not None and dimension != declared_here:
                out[rows] = own
                continue
            if (dimension and dimension == declared_here) or len(distinct) < 2:  # one code, one unit
                continue
            allowed = "; ".join(
                [
                    f"{PK_ANALYTE_UNITS[a]} (its {declared[c]})"
                    for a, (c, _t) in PK_ANALYTES.items()
                    if c == test and a in PK_ANALYTE_UNITS
                ]
                + [f"{d} ({p})" for (c, d), (p, _s) in PC_DIMENSION_TESTS.items() if c == test]
            )
            where = ""
            if locations is not None:
                at = [str(locations[int(i)]) for i in np.flatnonzero(rows)]
                where = f" (records {', '.join(at[:10])}{', ...' if len(at) > 10 else ''})"
            # a test code of PK_ANALYTES is the export's vocabulary; any other is the recorded analyte's
            # text (D-12.2): refused by location only (D-19.887)
            named = f"the PK test {test}" if test in declared else "a PK test"
            raise InputError(
                Problem(
                    f"{named} is recorded in concentration units of more than one dimension, "
                    "and a PK test code (and ADPC parameter) has one standard unit: the samples in a unit of "
                    f"no known dimension, or of a dimension without its own code, cannot be exported{where}",
                    file="pk_samples",
                    field="unit",
                    allowed=(allowed or "one concentration unit (or units of one dimension) per analyte")
                    + "; units of one dimension are converted (D-19.781)",
                )
            )
    return out


KFSS: Mapping[str, tuple[str, str]] = {
    # store column: (QSTESTCD C112443, QSTEST C112442) — QRS KFSS v1.1 (data-standards.md §2.2)
    "pyramidal": ("KFSS101", "KFSS1-Pyramidal Functions"),
    "cerebellar": ("KFSS102", "KFSS1-Cerebellar Functions"),
    "brainstem": ("KFSS103", "KFSS1-Brain Stem Functions"),
    "sensory": ("KFSS104", "KFSS1-Sensory Functions"),
    "bowel_bladder": ("KFSS105", "KFSS1-Bowel and Bladder Functions"),
    "visual": ("KFSS106", "KFSS1-Visual or Optic Functions"),
    "cerebral": ("KFSS107", "KFSS1-Cerebral or Mental Functions"),
}
EDSS_EVALUATOR = "INVESTIGATOR"
"""--EVAL of the EDSS/KFSS records and QEVAL of their supplemental qualifiers (the examiner's assessment)."""


@dataclass(frozen=True)
class Qualifier:
    """One supplemental qualifier of a parent domain (SDTMIG 3.4 §8.4): its QNAM (a term of the SUPP spec's
    QNAM codelist, whose decode is the QLABEL: written once), QORIG and QEVAL."""

    qnam: str
    origin: str
    evaluator: str = ""
    method: str = ""
    """How a Derived value is derived (define.xml value-level MethodDef, D-19.656)."""
    source: str = ""
    """Where a Collected value was collected (store table.column; define.xml value-level origin, D-19.662)."""


AE_QUALIFIERS: tuple[Qualifier, ...] = (
    Qualifier(
        "AEGRSCL",
        "Derived",
        method="The grading scale of AETOXGR: ASTCT 2019 for a CRS or ICANS episode graded by cartrial's "
        "grading engine (Lee DW et al., BBMT 2019;25:625-638) and for a grade the adverse event form reports "
        "on the ASTCT scale; else NCI CTCAE v<adverse_events.grading_scale_version> (5.0 when blank); no "
        "record without a grade",
    ),
    Qualifier(
        "AEREPGR", "Collected", source="adverse_events.grade (the grade the adverse event form reports)"
    ),
    Qualifier("AEDLTFL", "Collected", source="adverse_events.dlt (the DLT flag the form reports)"),
)
"""SUPPAE: grading scale and version of AETOXGR, grade reported on the AE form, DLT flag."""
EDSS_QUALIFIERS: Mapping[str, Qualifier] = {
    # store column of the EDSS form: qualifier of the assessment's EDSS0101 record in SUPPQS/SUPPRS (D-15.12);
    # no CDISC test code exists and the EDSS/KFSS test-code codelists are non-extensible
    "ambulation": Qualifier("EDSSAMB", "Collected", EDSS_EVALUATOR, source="edss.ambulation"),
    "walking_distance_m": Qualifier(
        "EDSSWDST", "Collected", EDSS_EVALUATOR, source="edss.walking_distance_m"
    ),
    "assistance": Qualifier("EDSSAID", "Collected", EDSS_EVALUATOR, source="edss.assistance"),
    "method": Qualifier("EDSSMETH", "Collected", EDSS_EVALUATOR, source="edss.method"),
    # the form's `examiner` (a person's name) is not submitted: SDTM records the evaluator's role (--EVAL)
}
FA_CRS: Mapping[str, tuple[str, str, str]] = {
    # crs_assessments column: (FATESTCD, FATEST, unit) — sponsor-defined extensions of FATESTCD (C101832)
    "temperature_c": ("TEMP", "Temperature", "C"),
    "hypotension": ("HYPOTEN", "Hypotension", ""),
    "systolic_bp_mmhg": ("SYSBP", "Systolic Blood Pressure", "mmHg"),
    "vasopressors": ("VASOPNUM", "Number of Vasopressors", ""),
    "vasopressin": ("VASOPSIN", "Vasopressin Given", ""),
    "oxygen": ("OXYDEV", "Oxygen Delivery Device", ""),
    "oxygen_l_min": ("OXYFLOW", "Oxygen Flow Rate", "L/min"),
    "fio2_pct": ("FIO2", "Fraction of Inspired Oxygen", "%"),
}
FA_ICANS: Mapping[str, tuple[str, str, str]] = {
    # icans_assessments column: ICE items (Lee 2019 ASTCT ICE score) and ICANS domains — sponsor-defined
    "ice_orientation": ("ICEORIEN", "ICE-Orientation", ""),
    "ice_naming": ("ICENAMIN", "ICE-Naming", ""),
    "ice_command": ("ICECOMND", "ICE-Following Commands", ""),
    "ice_writing": ("ICEWRITE", "ICE-Writing", ""),
    "ice_attention": ("ICEATTN", "ICE-Attention", ""),
    "ice_total": ("ICETOTAL", "ICE-Total Score", ""),
    "consciousness": ("CONSC", "Depressed Level of Consciousness", ""),
    "seizure": ("SEIZURE", "Seizure", ""),
    "motor": ("MOTORFND", "Motor Findings", ""),
    "cerebral_edema": ("CEREDEMA", "Elevated ICP/Cerebral Edema", ""),
}
OUTCOME = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
ROUTE = {
    "iv": "INTRAVENOUS",
    "intravenous": "INTRAVENOUS",
    "oral": "ORAL",
    "po": "ORAL",
    "sc": "SUBCUTANEOUS",
    "subcutaneous": "SUBCUTANEOUS",
}


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a frame as dicts (much faster than iterrows)."""
    return frame.to_dict("records")


def _yn(text: str) -> str:
    return {"true": "Y", "false": "N"}.get(str(text).strip().lower(), "")


def _num(text: Any) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return math.nan
    return value


def _aeptcd(code: object) -> float:
    """AE.AEPTCD of a stored `meddra_code`: NaN when blank; otherwise its 8 digits, which
    `_refuse_stored_meddra_codes` checked before any row is built (D-19.510) — no other text reaches here."""
    if code is None or (isinstance(code, float) and math.isnan(code)) or not str(code).strip():
        return math.nan
    return float(str(code))


def _code_text(code: object) -> str:
    """A stored `meddra_code` as text, blank when not recorded (None, NaN, spaces)."""
    return "" if code is None or (isinstance(code, float) and math.isnan(code)) else str(code).strip()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class SdtmContext:
    """What the SDTM builders share: the snapshot tables, the analysis, study id and subject timelines."""

    snapshot: Any
    analysis: Any
    sites: Mapping[str, str] = field(default_factory=dict)
    """site_id → country (name as stored)."""
    timelines: dict[str, SubjectTimeline] = field(default_factory=dict)
    visits: tuple[Visit, ...] = ()
    built: dict[str, pd.DataFrame] = field(default_factory=dict)
    last_dates: dict[str, str] | None = None
    visit_dtc: dict[str, str] = field(default_factory=dict)
    """Domain → its --DTC column, for the domains with VISITNUM (`number_unscheduled`)."""
    _timing_tables: TimingTables | None = None
    _deaths: dict[str, dt.date] | None = None
    _graded_labs: pd.DataFrame | None = None
    _decoded: dict[tuple[str, str], str] | None = None

    def __post_init__(self) -> None:
        protocol = self.snapshot.protocol
        window = int(protocol.escalation.dlt_window_days)
        # each subject's study-day calendar, the analysis' (its site's time zone; D-19.607)
        zones = dict(getattr(self.analysis, "intermediates", {}).get("time_zones") or {})
        for row in _rows(self.table("subjects")):
            sid = row["subject_id"]
            self.timelines[sid] = SubjectTimeline(
                dlt_window_days=window,
                zone=zones.get(str(sid)),
                # a subjects table without the column (tables built by hand): no consent date
                consent=date_of(str(row.get("consent_date") or "")),
            )
        for row in _rows(self.table("infusions")):
            tl = self.timelines.setdefault(
                row["subject_id"],
                SubjectTimeline(dlt_window_days=window, zone=zones.get(str(row["subject_id"]))),
            )
            when = parse_instant(row["infused_at"])
            if tl.infusion is None or (when is not None and when < tl.infusion):
                tl.infusion = when
        for row in _rows(self.table("lymphodepletion")):
            tl = self.timelines.setdefault(row["subject_id"], SubjectTimeline(dlt_window_days=window))
            day = date_of(row["administered_on"])
            if day is not None and (tl.ld_start is None or day < tl.ld_start):
                tl.ld_start = day
        self.visits = protocol_visits(protocol)
        self._timing_tables = TimingTables.of(self.timelines)

    @property
    def study_id(self) -> str:
        return ascii_text(self.snapshot.protocol.study.id)

    def usubjid(self, subject: str) -> str:
        return f"{self.study_id}-{subject}"

    def table(self, name: str) -> pd.DataFrame:
        return self.snapshot.tables[name]

    def decoded_term(self, record: Mapping[str, Any]) -> str:
        """AE.AEDECOD of an adverse event of the snapshot (`record`, one row of its table): the display
        spelling of its term group by the analysis' one rule (`cartrial.analysis.toxicity.ae_term_groups`:
        the MedDRA code when recorded, else the folded text; D-19.932) — the term `teae_by_term` shows."""
        if self._decoded is None:
            from cartrial.analysis.toxicity import ae_term_groups

            ae = self.table("adverse_events")
            codes = ae["meddra_code"] if "meddra_code" in ae.columns else [""] * len(ae)
            # a record's group is its text and its code (with the table's other records): one display each
            self._decoded = {
                (str(term), _code_text(code)): shown
                for term, code, shown in zip(ae["term"], codes, ae_term_groups(ae)[1], strict=True)
            }
        term = str(record["term"])
        return self._decoded.get((term, _code_text(record.get("meddra_code"))), term)

    def deaths(self) -> dict[str, dt.date]:
        """Each subject's date of death by the cut-off (`death_dates`, D-19.83), computed once per export:
        DM.DTHDTC, the end of participation and the end of study read this one mapping."""
        if self._deaths is None:
            from cartrial.analysis.populations import death_dates

            self._deaths = death_dates(self.table("adverse_events"), self.snapshot.cutoff)
        return self._deaths

    def timeline(self, subject: str) -> SubjectTimeline:
        return self.timelines.get(subject) or SubjectTimeline()

    def timing(
        self, subjects: pd.Series, values: pd.Series, prefix: str, domain: str, *, visit: bool = True
    ) -> pd.DataFrame:
        """--DTC, --DY, EPOCH and (with `visit`) VISITNUM/VISIT of many records (`timing_columns`); the
        unscheduled visits are numbered across all domains by `build_sdtm` (`number_unscheduled`)."""
        assert self._timing_tables is not None
        if visit:
            self.visit_dtc[domain] = f"{prefix}DTC"
        return timing_columns(subjects, values, prefix, self._timing_tables, self.visits if visit else None)

    def base(self, subject: str, domain: str) -> dict[str, Any]:
        return {"STUDYID": self.study_id, "DOMAIN": domain, "USUBJID": self.usubjid(subject)}

    def base_columns(self, subjects: pd.Series, domain: str) -> dict[str, Any]:
        """STUDYID, DOMAIN, USUBJID of many records (arrays)."""
        ids = subjects.astype(str).to_numpy(dtype=object)
        return {
            "STUDYID": np.full(len(ids), self.study_id, dtype=object),
            "DOMAIN": np.full(len(ids), domain, dtype=object),
            "USUBJID": (self.study_id + "-") + ids,
        }

    def graded_labs(self) -> pd.DataFrame:
        """The analysis layer's CTCAE-graded labs (`cartrial.analysis.safety.graded_labs`): the table the
        analysis graded (`Analysis.intermediates['graded_labs']`) when it carries it, else graded here once
        (SDTM LB and ADaM ADLB share it)."""
        if self._graded_labs is None:
            kept = getattr(self.analysis, "intermediates", {}).get("graded_labs")
            if kept is None:
                from cartrial.analysis import safety
                from cartrial.analysis.populations import subject_zones
                from cartrial.analysis.toxicity import analysis_ctcae_version, treatment_emergent_rule

                # the site calendar the analysis decided (D-19.607): the snapshot's infusions have no
                # time_zone (D-19.714)
                kept = safety.graded_labs(
                    self.snapshot.tables,
                    analysis_ctcae_version(self.analysis),  # the study's, not v5.0 (D-19.988)
                    treatment_emergent_start=treatment_emergent_rule(self.analysis),
                    zones=subject_zones(self.analysis),
                )
            self._graded_labs = kept.table
        return self._graded_labs


def _frame(rows: list[dict[str, Any]], spec: DatasetSpec, sort: list[str] | None = None) -> pd.DataFrame:
    if not rows:
        return empty_frame(spec)
    return finalize(pd.DataFrame(rows), spec, sort)


def _arm(protocol: Any, level: str) -> tuple[str, str]:
    for d in protocol.dose_levels:
        if str(d.level) == str(level):
            return f"DL{d.level}", f"{d.cells_per_kg / 1e6:g}x10^6 CAR+ T cells/kg"
    return "", ""


def _refuse_unknown_countries(ctx: SdtmContext) -> None:
    """An `InputError` naming each site of an exported subject whose stored country ISO 3166-1 does not know
    (stored before decisions D-19.59, which now refuses it on every write path): DM.COUNTRY cannot be
    written, and the fix is the site record's, not the export's (D-19.76). The country itself is not
    repeated."""
    used = set(ctx.table("subjects")["site_id"]) if len(ctx.table("subjects")) else set()
    unknown = sorted(
        site for site in used if ctx.sites.get(site) and country_alpha3(str(ctx.sites[site])) is None
    )
    if unknown:
        raise InputError(
            [
                Problem(
                    "the site's stored country is not one ISO 3166-1 knows (stored before decisions "
                    "D-19.59): DM.COUNTRY needs its ISO 3166-1 alpha-3 code",
                    field=f"site {site}: country",
                    allowed="enter the country on the site record: `cartrial db edit site RECORD_ID --set "
                    "country=CODE --expected-version N --reason TEXT` (`cartrial db respell --dry-run` lists "
                    "the sites with their record ids)",
                )
                for site in unknown
            ],
            header=f"{len(unknown)} site(s) without an ISO 3166-1 country; nothing was written:",
        )


def _infusion_maps(ctx: SdtmContext) -> tuple[dict[str, Any], dict[str, str]]:
    """Each subject's dose level and first infusion date-time (snapshot text) from the infusions table."""
    infusions = ctx.table("infusions")
    level = {r["subject_id"]: r["dose_level"] for _, r in infusions.iterrows()}
    first = {str(s): str(v) for s, v in infusions.groupby("subject_id")["infused_at"].min().items()}
    return level, first


def build_dm(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    protocol = ctx.snapshot.protocol
    level, first_infusion = _infusion_maps(ctx)
    last_dates = _last_dates(ctx)
    ex_first = {s: tl.ld_start for s, tl in ctx.timelines.items()}
    died = ctx.deaths()  # D-19.83
    _refuse_unknown_countries(ctx)
    rows = []
    for r in _rows(ctx.table("subjects")):
        sid = r["subject_id"]
        tl = ctx.timeline(sid)
        armcd, arm = _arm(protocol, level.get(sid, ""))
        infusion = tl.dtc(first_infusion.get(sid, ""))
        first_ex = infusion
        if ex_first.get(sid) is not None and tl.reference is not None and ex_first[sid] < tl.reference:  # type: ignore[operator]
            first_ex = ex_first[sid].isoformat()  # type: ignore[union-attr]
        birth = r["birth_date"] or r["birth_year"]
        consent = date_of(r["consent_date"])
        age = math.nan
        if consent is not None and r["birth_date"]:
            b = dt.date.fromisoformat(r["birth_date"])
            # completed years by the one rule of the screening and ADSL (a 29 February birthday is reached on
            # 28 February in a common year; D-19.1016); a consent before birth (refused at import) has none
            age = float(completed_years(b, consent)) if consent >= b else math.nan
        elif consent is not None and r["birth_year"]:
            age = float(consent.year - int(r["birth_year"]))
        country_name = ctx.sites.get(r["site_id"], "")
        rows.append(
            {
                **ctx.base(sid, "DM"),
                "SUBJID": sid,
                "RFSTDTC": infusion,
                # the reference period is the exposure: no end without a start (D-19.254)
                "RFENDTC": last_dates.get(sid, "") if infusion else "",
                "RFXSTDTC": first_ex,
                "RFXENDTC": infusion,
                "RFICDTC": dtc(r["consent_date"]),
                "RFPENDTC": last_dates.get(sid, ""),
                "DTHDTC": died[sid].isoformat() if sid in died else "",
                "DTHFL": "Y" if sid in died else "",
                "SITEID": r["site_id"],
                "BRTHDTC": birth,
                "AGE": age,
                "AGEU": "YEARS" if not math.isnan(age) else "",
                "SEX": {"F": "F", "M": "M"}.get(r["sex"].upper(), "U"),
                "RACE": "NOT REPORTED",
                "ETHNIC": "NOT REPORTED",
                "ARMCD": armcd,
                "ARM": arm,
                "ACTARMCD": armcd,
                "ACTARM": arm,
                # no arm in the data (the level is recorded at the infusion): not assigned (D-19.658)
                "ARMNRS": "" if armcd else "NOT ASSIGNED",
                "ACTARMUD": "",
                "COUNTRY": country_alpha3(country_name) or "",
                "DMDTC": dtc(r["consent_date"]),
                "DMDY": study_day(r["consent_date"], tl.reference),
            }
        )
    return _frame(rows, spec)


def build_se(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """SE: the planned elements each subject actually passed through, one record each, in chronological order
    (SDTMIG 3.4 §5.3; D-19.255). The elements are TE's (`trial_elements`), entered at the dates the EPOCH of
    every other domain is assigned by (`SubjectTimeline.epoch`): screening from consent, lymphodepletion from
    its first dose, the infusion element from the infusion, follow-up from the end of the DLT window once that
    day is reached (by the cut-off, and by the end of a study that ended). An element ends where the next
    starts (assumption 8); the last one at the end of participation (RFPENDTC) when the study ended, else it
    is open (SEENDTC null)."""
    protocol = ctx.snapshot.protocol
    elements = {
        code: (element, epoch, float(order))
        for order, (code, element, *_, epoch) in enumerate(trial_elements(protocol), start=1)
    }
    cutoff = ctx.snapshot.cutoff
    subjects = ctx.table("subjects")
    # whose study ended by the cut-off: the analysis populations' end of study (D-19.92)
    membership = analysis_table(ctx.analysis, "populations")
    ended_ids = (
        set(membership.loc[membership["study_status"].isin(STUDY_ENDED), "subject_id"].astype(str))
        if len(membership)
        else set()
    )
    level, first_infusion = _infusion_maps(ctx)
    last_dates = _last_dates(ctx)
    rows = []
    for r in _rows(subjects):
        sid = r["subject_id"]
        consent = dtc(r["consent_date"])
        if not consent:
            continue
        tl = ctx.timeline(sid)
        ended = sid in ended_ids
        last = last_dates.get(sid, "") if ended else ""
        starts = [("SCRN", consent)]
        if tl.ld_start is not None and (tl.reference is None or tl.ld_start < tl.reference):
            starts.append(("LD", tl.ld_start.isoformat()))
        if tl.reference is not None:
            starts.append(("CART", tl.dtc(first_infusion.get(sid, ""))))
            # the day after the DLT window (days 0 to dlt_window_days, `in_dlt_window`; D-19.1019)
            follow_up = (tl.reference + dt.timedelta(days=tl.dlt_window_days + 1)).isoformat()
            if follow_up <= cutoff.isoformat() and (not ended or follow_up <= last[:10]):
                starts.append(("FU", follow_up))
        assigned = bool(_arm(protocol, level.get(sid, ""))[0])
        for i, (code, start) in enumerate(starts):
            end = starts[i + 1][1] if i + 1 < len(starts) else last
            element, epoch, order = elements[code]
            rows.append(
                {
                    **ctx.base(sid, "SE"),
                    "ETCD": code,
                    "ELEMENT": element,
                    "TAETORD": order if assigned else math.nan,
                    "EPOCH": epoch,
                    "SESTDTC": start,
                    "SEENDTC": end,
                    "SESTDY": study_day(start, tl.reference),
                    "SEENDY": study_day(end, tl.reference),
                    "SEUPDES": "",
                }
            )
    return _frame(rows, spec, ["USUBJID", "SESTDTC"])


def _cutoff_description(lock_id: int | None) -> str:
    """TS DCUTDESC: what the data cut-off is and whether the data were locked at it (D-19.186)."""
    state = f"locked data (lock {lock_id})" if lock_id is not None else "unlocked data (a draft)"
    return f"Data cut-off of this analysis: records dated by it are included; {state}"


def _last_dates(ctx: SdtmContext) -> dict[str, str]:
    """Last date with any record per subject (RFENDTC/RFPENDTC): the last contact in the snapshot, the dated
    end of study (subjects' ``disposition_date``) and a relapse onset on study (`_relapse_ends`, D-19.590)
    included (computed once per export). Snapshot cells are ISO 8601 in UTC: a date-time's date is taken on
    the subject's site calendar (D-19.607); a relapse onset (a date) is compared with the end of study on
    that calendar. A record dated after the subject's death (DM.DTHDTC, `death_dates`) is no date of
    participation: a data error the store queries (RECORD-AFTER-DEATH, D-19.93), kept in its domain and
    listed by the export (`validate.records_after_death`), never the end of participation (D-19.653)."""
    from cartrial.analysis.populations import site_date_texts
    from cartrial.protocol.death import is_after_death

    if ctx.last_dates is not None:
        return ctx.last_dates
    cutoff = ctx.snapshot.cutoff.isoformat()
    zones = {sid: tl.zone for sid, tl in ctx.timelines.items() if tl.zone}
    ends = _relapse_ends(ctx)
    died = {sid: day.isoformat() for sid, day in ctx.deaths().items()}
    parts = []
    for frame in ctx.snapshot.tables.values():
        if "subject_id" not in frame.columns:
            continue
        for column in LAST_DATE_COLUMNS:
            if column in frame.columns and len(frame):
                values = site_date_texts(frame, column, zones) if zones else frame[column]
                days = date_part(values)
                keep = by_distinct(
                    days, lambda u: np.array([len(d) == 10 and d <= cutoff for d in u], dtype=bool)
                ).astype(bool)
                if column == RELAPSE_ONSET:  # only an onset on study (`_relapse_ends`, D-19.590)
                    on_study = [
                        (end := ends.get(str(sid))) is None or day <= end
                        for sid, day in zip(frame["subject_id"], days, strict=True)
                    ]
                    keep &= np.array(on_study, dtype=bool)
                if died:  # nothing after the death is participation (D-19.653)
                    alive = [
                        (death := died.get(str(sid))) is None or not is_after_death(day, death)
                        for sid, day in zip(frame["subject_id"], days, strict=True)
                    ]
                    keep &= np.array(alive, dtype=bool)
                parts.append(pd.DataFrame({"sid": frame["subject_id"].to_numpy()[keep], "day": days[keep]}))
    out: dict[str, str] = {}
    if parts:
        both = pd.concat(parts, ignore_index=True).drop_duplicates()
        last = both.sort_values("day", kind="mergesort").drop_duplicates("sid", keep="last")
        out = {str(k): str(v) for k, v in zip(last["sid"], last["day"], strict=True)}
    ctx.last_dates = out
    return out


RELAPSE_ONSET = "onset_date"
LAST_DATE_COLUMNS = (
    "collected_at",
    "assessed_at",
    "sampled_at",
    "given_at",
    "infused_at",
    "started_on",
    "ended_on",
    "administered_on",
    "consent_date",
    "disposition_date",  # the end of study is a contact (RFPENDTC on or after DS.DSSTDTC, D-19.111)
    # a relapse on study is a record of the subject: the relapse follow-up reaches its onset (D-19.587), so
    # the end of participation is never before it (ADTTE TTRELAP's ADT on or before RFPENDTC, D-19.590);
    # one after the death or the end of study is not (`_relapse_ends`)
    RELAPSE_ONSET,
)


def _relapse_ends(ctx: SdtmContext) -> dict[str, str]:
    """The last day a relapse onset is on study, as `derive_relapses` extends the relapse follow-up
    (D-19.587), per subject whose study ended: its end of study — the death or the dated completion,
    withdrawal or loss — from the one mapping the analysis hands the engine
    (`cartrial.analysis.populations.study_ends` of `end_of_study`, D-19.92), as an ISO date; "" for an end
    stored undated (before D-19.92), which is the last contact itself, so no onset extends it. A subject on
    study is not in it: every onset by the cut-off counts."""
    from cartrial.analysis.populations import end_of_study, study_ends

    died = ctx.deaths()
    ends = study_ends(end_of_study(ctx.table("subjects"), died))
    return {sid: "" if day is None else day.isoformat() for sid, day in ends.items()}


def _strip(series: pd.Series) -> pd.Series:
    """A snapshot text column as stripped strings (index 0..n-1), once per distinct value."""
    return pd.Series(by_distinct(series, lambda u: u.astype(str).str.strip().to_numpy()), dtype=object)


def _map_distinct(series: pd.Series, function: Any) -> pd.Series:
    """`function` of every value, computed once per distinct value (index 0..n-1)."""
    return pd.Series(by_distinct(series, lambda u: _apply(u, function)), dtype=object)


def _apply(values: pd.Series, function: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = [function(v) for v in values]
    return out


def _map_parts(series: pd.Series, function: Any, n: int) -> list[np.ndarray]:
    """`function` (value → tuple of `n`) once per distinct value; the `n` result columns as arrays."""
    codes, uniques = pd.factorize(pd.Series(series).fillna("").to_numpy(dtype=object))
    results = [function(u) for u in uniques]
    out = []
    for i in range(n):
        part = np.empty(len(results), dtype=object)
        part[:] = [r[i] for r in results]
        out.append(part[codes] if len(codes) else part[:0])
    return out


def _plain_number(value: float) -> str:
    """A number as text, never in exponent notation, with the fewest digits that read back to it."""
    return np.format_float_positional(float(value), trim="-")


def pc_standard_text(
    value_text: Sequence[object],
    units: Sequence[object],
    blq: Sequence[bool],
    lloq_text: Sequence[object],
    values_std: npt.ArrayLike | None = None,
    lloq_std: npt.ArrayLike | None = None,
) -> np.ndarray:
    """PC.PCSTRESC of samples recorded in a unit converted into its standard unit (D-19.781, D-19.782): the
    collected number with its decimal point moved by the power-of-ten factor (`cartrial.kinetics.units.
    shifted_text`, exact: 1.005 copies/ng gDNA is "1005" copies/ug gDNA, never the float product's
    "1004.9999999999999"); a BLQ sample "<" + its LLOQ so shifted, "BLQ" without one. A text that is no
    plain decimal falls back to the converted number (`values_std`/`lloq_std`) in its shortest form."""
    from cartrial.kinetics.units import shifted_text, standard_conc_unit

    out = np.empty(len(value_text), dtype=object)
    for i, (text, unit, below, limit) in enumerate(zip(value_text, units, blq, lloq_text, strict=True)):
        factor = standard_conc_unit(unit).factor
        source, fallback = (limit, lloq_std) if below else (text, values_std)
        if below and (limit is None or not str(limit).strip() or str(limit) == "nan"):
            out[i] = "BLQ"
            continue
        shifted = shifted_text(source, factor)
        if shifted is None:
            number = math.nan if fallback is None else float(np.asarray(fallback, dtype=float)[i])
            shifted = "" if math.isnan(number) else _plain_number(number)
        out[i] = ("<" + shifted) if below and shifted else shifted
    return out


def _numbers(series: pd.Series) -> np.ndarray:
    """`_num` of every value (NaN where the text is not a number), once per distinct value."""
    return by_distinct(series, lambda u: np.array([_num(v) for v in u], dtype=float)).astype(float)


def _vector_frame(
    parts: list[dict[str, Any]], spec: DatasetSpec, sort: list[str] | None = None
) -> pd.DataFrame:
    """Column blocks (dicts of equal-length arrays) concatenated in order, then `finalize`d."""
    frames = [pd.DataFrame(p) for p in parts if len(next(iter(p.values()), ()))]
    if not frames:
        return empty_frame(spec)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return finalize(frame, spec, sort)


def _vector_frame_with_instant(parts: list[dict[str, Any]], spec: DatasetSpec, prefix: str) -> pd.DataFrame:
    """Column blocks concatenated in order, sorted by subject, test and `_instant` (stable), finalised; keeps
    `_instant` (the vectorised `_frame_with_instant`)."""
    parts = [p for p in parts if len(next(iter(p.values()), ()))]
    if not parts:
        return empty_frame(spec)
    frame = _concat_blocks(parts)
    test = f"{prefix}TESTCD" if f"{prefix}TESTCD" in frame.columns else None
    order = ["USUBJID", *([test] if test else []), "_instant"]
    perm = frame[order].sort_values(order, kind="mergesort").index.to_numpy()
    instants = frame["_instant"].to_numpy()[perm]
    columns = {c: frame[c].to_numpy()[perm] for c in frame.columns if c != "_instant"}
    out = finalize(pd.DataFrame(columns, copy=False), spec, sort=[])
    out["_instant"] = instants
    return out


def _concat_blocks(parts: list[dict[str, Any]]) -> pd.DataFrame:
    """`pd.concat` of one frame per block (RangeIndex), without consolidating each block first when every
    block has the same columns of the same kind (the usual case)."""
    frames = [pd.DataFrame(p, copy=False) for p in parts]
    if len(frames) == 1:
        return frames[0]
    names = list(frames[0].columns)
    same = all(list(f.columns) == names for f in frames) and all(
        len({f[c].dtype for f in frames}) == 1 and isinstance(frames[0][c].dtype, np.dtype) for c in names
    )
    if not same:
        return pd.concat(frames, ignore_index=True)
    columns = {c: np.concatenate([f[c].to_numpy() for f in frames]) for c in names}
    return pd.DataFrame(columns, copy=False)


def _instants(values: pd.Series) -> np.ndarray:
    """Snapshot date-time cells as naive-UTC datetime64 (NaT when blank or not a date-time); a cell without
    an offset is UTC, whatever the row before it (`iso_instants`, D-19.777)."""
    parsed = iso_instants(values.astype(str))
    return parsed.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def _timing_block(t: pd.DataFrame, rows: Any = None) -> dict[str, Any]:
    """The timing columns of `SdtmContext.timing` as arrays (optionally only the rows `rows`)."""
    return {c: (t[c].to_numpy() if rows is None else t[c].to_numpy()[rows]) for c in t.columns}


def _grade_text(grade: np.ndarray, has: np.ndarray) -> np.ndarray:
    out = np.full(len(grade), "", dtype=object)
    if has.any():
        out[has] = pd.Series(grade[has]).astype(float).astype(int).astype(str).to_numpy(dtype=object)
    return out


def _single_day_timing(t: pd.DataFrame, prefix: str) -> dict[str, np.ndarray]:
    """Visit, epoch and timing of a one-day administration from `SdtmContext.timing(..., f"{prefix}ST", ...)`:
    the end repeats the start (--ENDTC = --STDTC, --ENDY = --STDY)."""
    start, day = t[f"{prefix}STDTC"].to_numpy(), t[f"{prefix}STDY"].to_numpy()
    return {
        "VISITNUM": t["VISITNUM"].to_numpy(),
        "VISIT": t["VISIT"].to_numpy(),
        "EPOCH": t["EPOCH"].to_numpy(),
        f"{prefix}STDTC": start,
        f"{prefix}ENDTC": start,
        f"{prefix}STDY": day,
        f"{prefix}ENDY": day,
    }


def build_ex(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    product = ascii_text(ctx.snapshot.protocol.study.product.name).upper()
    parts = []
    inf = ctx.table("infusions").reset_index(drop=True)
    if len(inf):
        t = ctx.timing(inf["subject_id"], inf["infused_at"], "EXST", "EX")
        parts.append(
            {
                **ctx.base_columns(inf["subject_id"], "EX"),
                "EXTRT": product,
                "EXCAT": "CAR-T CELL INFUSION",
                "EXDOSE": _numbers(inf["cells_per_kg"]) / 1e6,
                "EXDOSU": "10^6/kg",  # UNIT C198380 Million per Kilogram (D-15.8)
                "EXDOSFRM": "SUSPENSION",
                "EXDOSFRQ": "ONCE",
                "EXROUTE": "INTRAVENOUS",
                "EXLOT": inf["product_lot"].to_numpy(),
                **_single_day_timing(t, "EX"),
            }
        )
    ld = ctx.table("lymphodepletion").reset_index(drop=True)
    if len(ld):
        t = ctx.timing(ld["subject_id"], ld["administered_on"], "EXST", "EX")
        parts.append(
            {
                **ctx.base_columns(ld["subject_id"], "EX"),
                "EXTRT": _map_distinct(ld["drug"], lambda x: ascii_text(x).upper()).to_numpy(),
                "EXCAT": "LYMPHODEPLETION",
                "EXDOSE": _numbers(ld["dose_mg_per_m2"]),
                "EXDOSU": "mg/m2",
                "EXDOSFRM": "INJECTION",
                "EXDOSFRQ": "QD",
                "EXROUTE": "INTRAVENOUS",
                "EXLOT": "",
                **_single_day_timing(t, "EX"),
            }
        )
    return _vector_frame(parts, spec, ["USUBJID", "EXSTDTC", "EXCAT", "EXTRT"])


@dataclass(frozen=True)
class EpisodeRow:
    subject: str
    kind: str
    episode: int
    onset: str
    resolved: str
    grade: int


def episodes(analysis: Any) -> list[EpisodeRow]:
    """CRS and ICANS episodes (episode >= 1) with their ASTCT grade, from the analysis layer."""
    out = []
    for name in ("crs_episodes", "icans_episodes"):
        table = analysis.datasets[name].table
        for r in _rows(table):
            if int(r["episode"]) < 1:
                continue
            out.append(
                EpisodeRow(
                    str(r["subject_id"]),
                    str(r["kind"]),
                    int(r["episode"]),
                    str(r["onset_at"] or ""),
                    "" if r["resolved_at"] is None or pd.isna(r["resolved_at"]) else str(r["resolved_at"]),
                    int(r["max_grade"]),
                )
            )
    return out


def _refuse_stored_meddra_codes(ae: pd.DataFrame) -> None:
    """`InputError` naming each adverse-event record (by record id) whose stored `meddra_code` is not blank
    and not an 8-digit MedDRA code (stored before D-19.506, which refuses it on every write path): AEPTCD
    cannot be written and was left empty without a word. Never the code itself (D-12.2); the fix is the
    record's (`db edit`), as for a site's country (D-19.76, D-19.510)."""
    from cartrial.store.fields import MEDDRA_CODE_PATTERN

    if not len(ae) or "meddra_code" not in ae:
        return
    code = ae["meddra_code"].fillna("").astype(str).str.strip()
    bad = (code != "") & ~code.str.fullmatch(MEDDRA_CODE_PATTERN)
    if not bad.any():
        return
    records = [str(r) for r in ae.loc[bad, "record_id"]] if "record_id" in ae else []
    raise InputError(
        [
            Problem(
                "the stored MedDRA code is not an 8-digit code (stored before decisions D-19.506): AE.AEPTCD "
                "cannot be written",
                file="adverse_events",
                field=f"adverse_event record {record}: meddra_code",
                allowed="an 8-digit MedDRA code, or blank: `cartrial db edit adverse_event RECORD_ID --set "
                "meddra_code=CODE --expected-version N --reason TEXT`",
            )
            for record in (records or ["?"])
        ],
        header=f"{int(bad.sum())} adverse event(s) with an invalid stored MedDRA code; nothing was written:",
    )


def build_ae(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """One record per AE of the AE form that is not CRS/ICANS, one per CRS/ICANS episode graded by the
    analysis layer (ASTCT 2019), and the reported CRS/ICANS rows that match no episode (kept, never dropped).
    A reported CRS/ICANS row is matched to the episode of the same subject and kind in onset order."""
    ae = ctx.table("adverse_events")
    _refuse_stored_meddra_codes(ae)
    cutoff = ctx.snapshot.cutoff.isoformat()
    rows: list[dict[str, Any]] = []
    reported: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in _rows(ae):
        category = r["category"].strip().lower()
        if category in ("crs", "icans"):
            reported.setdefault((r["subject_id"], category), []).append(r)
            continue
        rows.append(_ae_row(ctx, r, cutoff))
    by_subject: dict[tuple[str, str], list[EpisodeRow]] = {}
    for e in episodes(ctx.analysis):
        by_subject.setdefault((e.subject, e.kind), []).append(e)
    for key, eps in by_subject.items():
        eps.sort(key=lambda e: e.onset)
        reports = sorted(reported.get(key, []), key=lambda r: r["started_on"])
        for i, e in enumerate(eps):
            match = reports[i] if i < len(reports) else None
            rows.append(_episode_row(ctx, e, match, cutoff))
        for r in reports[len(eps) :]:
            rows.append(_ae_row(ctx, r, cutoff))
    for key, reports in reported.items():
        if key not in by_subject:
            rows.extend(_ae_row(ctx, r, cutoff) for r in reports)
    return _frame(rows, spec, ["USUBJID", "AESTDTC", "AECAT", "AETERM", "AESPID"])


def _ae_common(ctx: SdtmContext, sid: str, start: str, end: str, cutoff: str) -> dict[str, Any]:
    tl = ctx.timeline(sid)
    s, e = tl.dtc(start), tl.dtc(end)
    return {
        **ctx.base(sid, "AE"),
        "EPOCH": tl.epoch(s),
        "AESTDTC": s,
        "AEENDTC": e,
        "AESTDY": study_day(s, tl.reference),
        "AEENDY": study_day(e, tl.reference),
        "AEENRTPT": "" if e else "ONGOING",
        "AEENTPT": "" if e else cutoff,
    }


def ae_category(category: str) -> str:
    """AE.AECAT of a store category (`cartrial.protocol.dlt.ToxicityCategory`): the readable upper-case term
    of the sponsor AECAT codelist, words joined by a hyphen, not the internal code (``non_hematologic`` →
    ``NON-HEMATOLOGIC``; D-19.306)."""
    return category.strip().lower().replace("_", "-").upper()


def _seriousness(record: dict[str, Any] | None) -> dict[str, str]:
    """AESDTH … AESMIE of a stored adverse event (None: no record; every criterion null): Y/N for each
    criterion of a serious event, null otherwise (`cartrial.protocol.seriousness.sdtm_flags`, D-19.328)."""
    if record is None:
        return sdtm_flags(None, {})
    return sdtm_flags(record.get("serious"), {name: record.get(name) for name in CRITERIA_FIELDS})


def _ae_row(ctx: SdtmContext, r: dict[str, Any], cutoff: str) -> dict[str, Any]:
    scale = r["grading_scale"].strip().upper()
    category = r["category"].strip().lower()
    return {
        **_ae_common(ctx, r["subject_id"], r["started_on"], r["ended_on"], cutoff),
        "AESPID": f"AE-{r['record_id']}",
        "AETERM": ascii_text(r["term"]),
        # the analysis' one term grouping and display spelling (`ae_term_groups`, D-19.932)
        "AEDECOD": ascii_text(ctx.decoded_term(r)),
        "AEPTCD": _aeptcd(r["meddra_code"]),
        "AECAT": ae_category(category),
        "AESER": _yn(r["serious"]),
        **_seriousness(r),
        "AEREL": r["relatedness"].upper(),
        "AEACNOTH": ascii_text(r["action_taken"]).upper(),
        "AEOUT": OUTCOME.get(r["outcome"].strip().lower(), ""),
        "AETOXGR": r["grade"],
        "AEGRSCL": (CRS_SCALE if scale == "ASTCT" else f"NCI CTCAE v{r['grading_scale_version'] or '5.0'}")
        if r["grade"]
        else "",
        "AEDLTFL": _yn(r["dlt"]),
    }


def _episode_row(
    ctx: SdtmContext, e: EpisodeRow, match: dict[str, Any] | None, cutoff: str
) -> dict[str, Any]:
    term = CRS_TERM if e.kind == "crs" else ICANS_TERM
    common = _ae_common(ctx, e.subject, e.onset, e.resolved, cutoff)
    return {
        **common,
        "AESPID": f"{e.kind.upper()}-{e.episode}",
        "AEGRPID": f"{e.kind.upper()}-{e.episode}",
        "AETERM": term,
        "AEDECOD": term,
        "AEPTCD": _aeptcd(match["meddra_code"]) if match is not None else math.nan,
        "AECAT": ae_category(e.kind),
        "AESER": _yn(match["serious"]) if match is not None else "",
        **_seriousness(match),
        "AEREL": match["relatedness"].upper() if match is not None else "",
        "AEACNOTH": ascii_text(match["action_taken"]).upper() if match is not None else "",
        "AEOUT": OUTCOME.get(match["outcome"].strip().lower(), "")
        if match is not None and common["AEENDTC"] == ""
        else ("RECOVERED/RESOLVED" if common["AEENDTC"] else ""),
        "AETOXGR": str(e.grade),
        "AEGRSCL": CRS_SCALE,
        "AEREPGR": match["grade"] if match is not None else "",
        "AEDLTFL": _yn(match["dlt"]) if match is not None else "",
    }


def build_cm(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    rows = []
    for r in _rows(ctx.table("therapies")):
        sid = r["subject_id"]
        tl = ctx.timeline(sid)
        start, end = tl.dtc(r["given_at"]), tl.dtc(r["stopped_at"])
        rows.append(
            {
                **ctx.base(sid, "CM"),
                "CMSPID": f"CM-{r['record_id']}",
                "CMTRT": ascii_text(r["agent"] or r["therapy"]).upper(),
                "CMCAT": ascii_text(r["therapy"]).upper(),
                "CMINDC": ascii_text(r["indication"]).upper(),
                "CMDOSE": _num(r["dose"]),
                "CMDOSU": r["unit"],
                "CMROUTE": ROUTE.get(r["route"].strip().lower(), r["route"].upper()),
                "EPOCH": tl.epoch(start),
                "CMSTDTC": start,
                "CMENDTC": end,
                "CMSTDY": study_day(start, tl.reference),
                "CMENDY": study_day(end, tl.reference),
            }
        )
    for r in _rows(ctx.table("subjects")):
        for item in _json_list(r["treatment_history"]):
            sid = r["subject_id"]
            tl = ctx.timeline(sid)
            start, end = history_dtc(item.get("started_on")), history_dtc(item.get("stopped_on"))
            rows.append(
                {
                    **ctx.base(sid, "CM"),
                    "CMSPID": "HISTORY",
                    "CMTRT": ascii_text(item.get("drug") or item.get("agent") or "").upper(),
                    "CMCAT": "PRIOR IMMUNOTHERAPY",
                    "CMINDC": disease_of(ctx.snapshot.protocol).label,
                    "CMDOSE": math.nan,
                    "CMDOSU": "",
                    "CMROUTE": "",
                    "EPOCH": tl.epoch(start),
                    "CMSTDTC": start,
                    "CMENDTC": end,
                    "CMSTDY": study_day(start, tl.reference),
                    "CMENDY": study_day(end, tl.reference),
                }
            )
    return _frame(rows, spec, ["USUBJID", "CMSTDTC", "CMTRT", "CMSPID"])


def history_dtc(value: Any) -> str:
    """--DTC of a date of the subject form's histories (`cartrial.neuro.tables.HISTORY_DATE_KEYS`; free
    JSON): blank for none; the date the analysis reads from it (`cartrial.neuro.tables.onset_period`, the one
    reader of a history date and its one form, D-19.711, D-19.1214) at date precision at most: a complete
    date as its day, without the time written after it (the analysis reads only the day; one style whatever
    the subject's other dates carry, and no clock moves the day: D-19.1215, D-19.1220), a partial one
    right-truncated (``2019-07-UN`` → ``2019-07``, ``2019-UN-UN`` → ``2019``). `ValueError` (without the
    value) when it is no date of that form (D-19.1212).

    >>> history_dtc("2019-07-UN"), history_dtc("2019"), history_dtc(None)
    ('2019-07', '2019', '')
    >>> history_dtc("2019-07-01T02:00+08:00")
    '2019-07-01'
    """
    from cartrial.neuro.tables import onset_period

    text = "" if value is None else str(value).strip()
    if not text:
        return ""
    first, last = onset_period(text)
    if first == last:
        return first.isoformat()  # a complete date (a time written after it is not kept: D-19.1220)
    if (first.year, first.month) == (last.year, last.month):
        return first.isoformat()[:7]
    return first.isoformat()[:4]


def check_history_dates(subjects: pd.DataFrame) -> None:
    """Refuse, every one at once, the histories that are no list of entries and the dates of
    `cartrial.neuro.tables.HISTORY_DATE_KEYS` that are no history date (`history_date_faults`, the one
    reader, D-19.1218): an InputError naming the subject record, the history and, for a date, the entry
    (1-based) and its key, never the stored text (D-12.2; D-19.1212). The store keeps the histories as free
    JSON, so this is the export's last guard before any domain is built."""
    from cartrial.analysis.model import record_name
    from cartrial.neuro.tables import (
        HISTORY_ALLOWED,
        HISTORY_DATE_ALLOWED,
        HISTORY_DATE_KEYS,
        history_date_faults,
    )

    problems = []
    for r in _rows(subjects):
        record = record_name("subject", r.get("record_id")) or f"subject {r['subject_id']}"
        for column in HISTORY_DATE_KEYS:
            if column not in r:
                continue
            domain = "CM" if column == "treatment_history" else "MH"
            try:
                faults = history_date_faults(r[column], column)
            except ValueError:
                problems.append(
                    Problem(
                        f"the {column.replace('_', ' ')} is no JSON list of entries: {domain} cannot hold it",
                        record=record,
                        field=column,
                        allowed=HISTORY_ALLOWED,
                    )
                )
                continue
            problems.extend(
                Problem(
                    f"a date of the {column.replace('_', ' ')} is no ISO 8601 date: {domain} cannot hold it",
                    record=record,
                    field=f"{column} (entry {k}): {key}",
                    allowed=HISTORY_DATE_ALLOWED,
                )
                for k, key in faults
            )
    if problems:
        raise InputError(
            problems,
            header=f"{len(problems)} history problem(s): a history or a date of it is not read; nothing was "
            "written:",
        )


def _json_list(value: Any) -> list[dict[str, Any]]:
    """The entries of a history that are objects (`cartrial.neuro.tables.history_entries`; checked first by
    `check_history_dates`)."""
    from cartrial.neuro.tables import history_entries

    return [v for v in history_entries(value) if isinstance(v, dict)]


def build_lb(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Labs of the lab form and the immunology markers of the PD form; LBTOXGR from the analysis layer's
    CTCAE grading (`cartrial.analysis.safety.graded_labs`); a value that is not a number (e.g. ``<0.1``)
    stays in LBORRES/LBSTRESC with LBSTRESN empty."""
    parts: list[dict[str, Any]] = []
    labs = ctx.table("labs").reset_index(drop=True)
    if len(labs):
        keys = ["subject_id", "analyte", "collected_at"]
        graded = ctx.graded_labs()
        g = graded.reindex(
            columns=[
                *keys,
                "grade",
                "scale",
                "value_canonical",
                "canonical_unit",
                "lln_canonical",
                "uln_canonical",
            ]
        ).astype({k: str for k in keys})
        g = g.drop_duplicates(keys, keep="last")
        g["_graded"] = True
        m = labs[keys].astype(str).merge(g, how="left", on=keys, sort=False)
        has = m["_graded"].notna().to_numpy(dtype=bool)
        analyte = _strip(labs["analyte"]).str.lower()
        unmapped = int((~analyte.isin(list(LB_TESTS))).sum())
        if unmapped:  # D-19.207: say why LB cannot be written, before the codelist findings it would raise
            raise InputError(
                Problem(
                    f"{unmapped} laboratory record(s) of an analyte without a CDISC laboratory test code in "
                    "cartrial (LBTESTCD/LBTEST, cartrial.protocol.lab_tests.LAB_TESTS): the SDTM LB domain "
                    "cannot be written with them",
                    file="labs",
                    field="analyte",
                    allowed=f"{' | '.join(LB_TESTS)} (any case); an analyte without a CDISC test code in "
                    "cartrial (e.g. anti-dsDNA, complement) is not exported yet",
                )
            )
        codes = _map_parts(analyte, lambda a: LB_TESTS[a], 3)
        value = _strip(labs["value"])
        canonical = m["value_canonical"].to_numpy(dtype=float)
        formatted = _map_distinct(pd.Series(canonical[has]), result_text).to_numpy(dtype=object)
        stresc = value.to_numpy(dtype=object).copy()
        stresc[has] = formatted
        stresn = np.where(has, canonical, _numbers(value))
        # the reference range in the standard unit: the grading engine's conversion of the LLN/ULN where the
        # result is graded (analysis layer), else as collected (D-19.385)
        uln = labs["uln"] if "uln" in labs else pd.Series("", index=labs.index)
        stnrlo = np.where(has, m["lln_canonical"].to_numpy(dtype=float), _numbers(labs["lln"]))
        stnrhi = np.where(has, m["uln_canonical"].to_numpy(dtype=float), _numbers(uln))
        unit = cdisc_unit(labs["unit"])
        grade = m["grade"].to_numpy(dtype=object)
        t = ctx.timing(labs["subject_id"], labs["collected_at"], "LB", "LB")
        parts.append(
            {
                **ctx.base_columns(labs["subject_id"], "LB"),
                "LBREFID": ("LB-" + labs["record_id"].astype(str)).to_numpy(),
                "LBTESTCD": codes[0],
                "LBTEST": codes[1],
                "LBCAT": codes[2],
                "LBORRES": value.to_numpy(),
                "LBORRESU": unit,
                "LBORNRLO": labs["lln"].to_numpy(),
                "LBORNRHI": labs["uln"].to_numpy(),
                # standard units: the grading engine's canonical value and unit (analysis layer),
                # else as collected
                "LBSTRESC": stresc,
                "LBSTRESN": stresn,
                "LBSTRESU": np.where(has, cdisc_unit(m["canonical_unit"].astype(str)), unit),
                "LBSTNRLO": stnrlo,
                "LBSTNRHI": stnrhi,
                "LBNRIND": reference_range_indicator(stresn, stnrlo, stnrhi),
                "LBNAM": _map_distinct(labs["laboratory"], ascii_text).to_numpy(),
                "LBSPEC": "BLOOD",
                "LBTOXGR": _grade_text(grade, has),
                "LBTOXSCL": np.where(has, m["scale"].astype(str).to_numpy(dtype=object), ""),
                "_instant": labs["collected_at"].to_numpy(),
                **_timing_block(t),
            }
        )
    pd_samples = ctx.table("pd_samples").reset_index(drop=True)
    if len(pd_samples):
        t = ctx.timing(pd_samples["subject_id"], pd_samples["sampled_at"], "LB", "LB")
        for column, (testcd, test, cat, unit_text) in PD_TESTS.items():
            values = _strip(pd_samples[column])
            keep = (values != "").to_numpy()
            if not keep.any():
                continue
            value = values[keep].reset_index(drop=True)
            subjects = pd_samples["subject_id"][keep]
            pd_unit: Any = unit_text
            if column == "aqp4_igg_titre":
                # the titre as collected in LBORRES; LBSTRESC/LBSTRESN the analysis' reading by the one
                # titre rule (dataset aqp4_titres, D-19.629, D-19.631); a NEGATIVE result is qualitative:
                # no unit (SDTMIG 3.4: the unit "when applicable")
                from cartrial.analysis.kinetics import NEGATIVE_TITRE

                stresc, stresn = _titre_standard(ctx, pd_samples[keep])
                pd_unit = np.where(stresc == NEGATIVE_TITRE, "", unit_text).astype(object)
            else:
                stresc, stresn = value.to_numpy(), _numbers(value)
            serum = column.endswith("g_per_l") or column == "aqp4_igg_titre"
            parts.append(
                {
                    **ctx.base_columns(subjects, "LB"),
                    "LBREFID": ("PD-" + pd_samples["record_id"][keep].astype(str)).to_numpy(),
                    "LBTESTCD": testcd,
                    "LBTEST": test,
                    "LBCAT": cat,
                    "LBORRES": value.to_numpy(),
                    "LBORRESU": pd_unit,
                    "LBORNRLO": "",
                    "LBORNRHI": "",
                    "LBSTRESC": stresc,
                    "LBSTRESN": stresn,
                    "LBSTRESU": pd_unit,
                    "LBSTNRLO": math.nan,
                    "LBSTNRHI": math.nan,
                    "LBNRIND": "",
                    "LBNAM": "",
                    "LBSPEC": "SERUM" if serum else "BLOOD",
                    "LBMETHOD": "CELL-BASED ASSAY" if column == "aqp4_igg_titre" else "",
                    "LBTOXGR": "",
                    "LBTOXSCL": "",
                    "_instant": pd_samples["sampled_at"][keep].to_numpy(),
                    **_timing_block(t, keep),
                }
            )
    return _baseline_flag(_vector_frame_with_instant(parts, spec, "LB"), ctx, "LB")


def _titre_standard(ctx: SdtmContext, samples: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """LBSTRESC and LBSTRESN of the PD samples `samples` (each with a titre): the analysis dataset
    ``aqp4_titres`` (`cartrial.analysis.kinetics.titre_samples`, D-19.631) by record id — a positive end-point
    titre its reciprocal dilution ("1:320", "1/320", "320" → "320", 320); every negative spelling
    "NEGATIVE", LBSTRESN null; ">=1:1000" → ">=1000", LBSTRESN null (SDTMIG 3.4 LB: LBSTRESN holds only an
    exact numeric result; D-19.629). A sample the analysis does not carry (an analysis built without the
    dataset) is read by the same analysis function, which refuses a stored titre off the rule by its
    record, without the value (D-12.2)."""
    from cartrial.analysis.kinetics import titre_samples

    dataset = getattr(ctx.analysis, "datasets", {}).get("aqp4_titres")
    known = dataset.table if dataset is not None else pd.DataFrame(columns=["record_id"])
    by_record = known.drop_duplicates("record_id").set_index(known["record_id"].drop_duplicates().astype(str))
    ids = samples["record_id"].astype(str)
    missing = samples[~ids.isin(by_record.index).to_numpy()]
    if len(missing):
        read, _ = titre_samples(missing, {})
        by_record = pd.concat([by_record, read.set_index(read["record_id"].astype(str))])
    rows = by_record.loc[ids.to_numpy()]
    stresc = rows["standard"].astype(str).to_numpy(dtype=object)
    stresn = pd.to_numeric(rows["standard_numeric"], errors="coerce").to_numpy(dtype=float)
    return stresc, stresn


def _baseline_flag(frame: pd.DataFrame, ctx: SdtmContext, prefix: str) -> pd.DataFrame:
    """--LOBXFL = "Y" on the last non-missing result of each subject and test before the CAR-T infusion
    (SDTMIG 3.4 --LOBXFL; the study treatment is the infusion — documented in docs/cdisc.md)."""
    flag = f"{prefix}LOBXFL"
    if not len(frame):
        return frame.drop(columns=["_instant"], errors="ignore")
    test = f"{prefix}TESTCD"
    result = f"{prefix}ORRES"
    infusion = {ctx.usubjid(s): tl.infusion for s, tl in ctx.timelines.items() if tl.infusion is not None}
    reference = (
        frame["USUBJID"].map(pd.Series(infusion, dtype="datetime64[ns]")).to_numpy(dtype="datetime64[ns]")
    )
    when = _instants(frame["_instant"])
    candidate = (
        (frame[result].astype(str) != "").to_numpy()
        & ~np.isnat(reference)
        & ~np.isnat(when)
        & (when < reference)
    )
    flags = np.full(len(frame), "", dtype=object)
    if candidate.any():
        from cartrial.analysis.safety import last_in_site_order

        # the one order of the analysis' lab_shift baseline and ADLB ABLFL: site study day (--DY, on the
        # site's calendar), instant, record id (--REFID when the domain has one; D-19.986)
        rows = np.flatnonzero(candidate)
        day = frame[f"{prefix}DY"].to_numpy()[rows] if f"{prefix}DY" in frame else np.full(len(rows), np.nan)
        refid = f"{prefix}REFID"
        record = frame[refid].to_numpy()[rows] if refid in frame else None
        keys = [frame["USUBJID"].to_numpy()[rows], frame[test].to_numpy()[rows]]
        flags[rows[last_in_site_order(keys, day, when[rows], record)]] = "Y"
    frame[flag] = flags
    frame = frame.drop(columns=["_instant"])
    spec = dataset_specs()[frame["DOMAIN"].iloc[0]]
    return frame[[v.name for v in spec.variables if v.name in frame.columns]]


PRE_INFUSION = "PRE-INFUSION"
"""PC.PCTPT of the day-0 sample drawn before the CAR-T infusion (PCTPTREF; SDTMIG 3.4 PC's pre-dose time
point; D-19.329). The protocol's schedule names visits, not PK time points: no label of its own to use."""
PRE_INFUSION_NUMBER = -0.5
"""PC.PCTPTNUM of `PRE_INFUSION` in a study without a planned day between -1 and 0 (the usual case):
halfway between day -1 and day 0; see `pre_infusion_number` (D-19.381, D-19.388)."""


def pre_infusion_number(nominal: np.ndarray) -> float:
    """PC.PCTPTNUM of `PRE_INFUSION` for a study whose PK samples have planned days `nominal` (NaN: none):
    halfway between 0 and the larger of -1 and the study's largest planned day below 0 (-0.5 without a
    planned day between -1 and 0; -0.25 with a planned day -0.5; -0.125 with -0.25). Strictly between that
    day and 0, so that it is no planned day of the study (PCTPT and PCTPTNUM one-to-one) and sorts after
    every planned day before the infusion and before DAY 0 (D-19.388). Halving is exact in binary floating
    point; a planned day within about 1e-323 of 0 leaves no number between (the export's validator then
    names the clash, rule ``time-point``)."""
    days = np.asarray(nominal, dtype=float)
    below = days[days < 0]
    if not len(below) or float(below.max()) <= -1.0:
        return PRE_INFUSION_NUMBER  # no planned day between -1 and 0: halfway between -1 and 0
    return float(below.max()) / 2


def _day_number(value: float) -> str:
    """A planned day as PCTPT writes it: ``7``, ``-5``, ``0.25``: the shortest text that reads back as the
    day (`result_text`, D-19.142), so that distinct days get distinct texts (D-19.389)."""
    return result_text(value)


def _planned_elapsed(value: float) -> str:
    """A planned day as an ISO 8601 duration from the infusion, to the second: ``P7D``, ``-P5D``, ``PT6H``,
    ``P7DT12H``, ``PT57M36S``. The day is rounded to the second first, then split into days, hours,
    minutes and seconds (6.9999999999 days is ``P7D``, never ``P6DT24H``; D-19.389)."""
    total = round(abs(value) * 86400)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days or not clock else "") + (f"T{clock}" if clock else "")
    return ("-" if value < 0 and total else "") + text


def planned_time_points(nominal: np.ndarray, before: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PC.PCTPT, PCTPTNUM and PCELTM of PK samples with planned (nominal) day `nominal` (NaN: none) and
    `before` (True: a day-0 sample drawn before the infusion): the one derivation of a PK sample's planned
    time point (D-19.329, D-19.381).

    ``DAY n`` / n / ``PnD`` (``-PnD`` before the infusion day; a fraction of a day in hours, ``P7DT12H``);
    `PRE_INFUSION` / `pre_infusion_number` of the study's planned days / empty PCELTM: its planned elapsed
    time from the infusion is negative (SDTMIG 3.4 PC, PCELTM: planned elapsed time relative to PCTPTREF,
    e.g. ``-PT15M`` before it) and the store holds no planned offset before the dose, so it is unknown —
    never ``P0D``, DAY 0's (D-19.473). PCTPT, PCTPTNUM and a given PCELTM are one-to-one (SDTMIG 3.4 PC:
    PCTPTNUM is the numeric version of PCTPT); no planned day: all three empty."""
    nominal = np.asarray(nominal, dtype=float)
    missing = np.isnan(nominal)
    days = pd.Series(nominal)
    distinct = pd.unique(nominal[~missing]).tolist()
    text = days.map({v: _day_number(v) for v in distinct}).fillna("")
    eltm = days.map({v: _planned_elapsed(v) for v in distinct}).fillna("").to_numpy(dtype=object)
    tpt = np.where(missing, "", ("DAY " + text).to_numpy(dtype=object))
    number = nominal.copy()
    pre = np.asarray(before, dtype=bool) & ~missing
    tpt = np.where(pre, PRE_INFUSION, tpt).astype(object)
    number[pre] = pre_infusion_number(nominal)
    eltm[pre] = ""  # planned before the infusion by an offset the store does not hold (D-19.473)
    return tpt, number, eltm


def build_pc(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """PK samples: a BLQ sample is PCORRES/PCSTRESC ``<LLOQ`` with PCSTRESN empty and PCLLOQ set; the
    day-0 sample drawn before the infusion is PCTPT ``PRE-INFUSION`` (PCTPTNUM -0.5 or nearer 0, PCELTM
    empty; `planned_time_points`)."""
    from cartrial.analysis.kinetics import flagged_blq, has_result

    pk = ctx.table("pk_samples").reset_index(drop=True)
    # a sample whose result is not reported yet (no value, not flagged BLQ) is no PC record until it is:
    # --ORRES is populated unless --STAT is NOT DONE, which an outstanding result is not (SDTMIG v3.4
    # §4.5.1.1; D-19.1283)
    pk = pk[has_result(pk)].reset_index(drop=True)
    if not len(pk):
        return empty_frame(spec)
    codes = _map_parts(pk["analyte"], lambda a: PC_TESTS.get(a, (a.upper()[:8], a)), 2)
    t = ctx.timing(pk["subject_id"], pk["sampled_at"], "PC", "PC")
    blq = flagged_blq(pk)  # the import's reading of the flag, as has_result reads it (D-19.1345)
    value = _strip(pk["value"])
    lloq = pk["lloq"].astype(str).reset_index(drop=True)
    blq_text = np.where(lloq != "", "<" + lloq, "BLQ")
    orres = np.where(blq, blq_text, value.to_numpy(dtype=object))
    nominal = _numbers(pk["nominal_day"])
    # the day-0 sample drawn before the infusion is the pre-infusion time point (D-19.329), by the one
    # derivation of a sample's time that ADPC and the NCA read (pre-dose: negative, D-19.304)
    from cartrial.analysis.kinetics import sample_actual_days
    from cartrial.analysis.populations import subject_zones
    from cartrial.kinetics.units import canonical_conc_unit, to_standard

    zones = subject_zones(ctx.analysis)  # the site's clock the analysis decided (D-19.947, D-19.1341)
    before = (sample_actual_days(pk, ctx.table("infusions"), zones).to_numpy(dtype=float) < 0) & (
        nominal == 0
    )
    tpt, number, eltm = planned_time_points(nominal, before)
    # the unit as collected (in ASCII, spaces at the ends dropped and runs collapsed: a doubled space is no
    # term of PKUNIT) and its standard spelling, the one the NCA, PP and ADPP use: "copies/µg gDNA" and
    # "copies/ug gDNA" are one PCSTRESU, so one ADPC PARAM (D-19.759, D-19.760)
    # a recognised unit in the notation of its PKUNIT term ("cells/ml" is "cells/mL", "cells/mm^3"
    # "cells/mm3"; D-19.782): the unit is the one collected, only its spelling is the term's
    unit = _map_distinct(
        pk["unit"], lambda u: ascii_text(canonical_conc_unit(u) if isinstance(u, str) else u)
    ).to_numpy()
    # the standardised result: PCSTRESN, PCSTRESC and PCLLOQ (in --STRESU units, SDTMIG v3.4 §4.5.1) in the
    # standard unit of the unit's dimension, the one conversion the NCA reads (2500 cells/mL is 2.5 cells/uL;
    # D-19.781); PCORRES/PCORRESU stay as collected
    units = pk["unit"].reset_index(drop=True)
    values_std, units_std, found = to_standard(_numbers(value), units)
    lloq_std = to_standard(_numbers(pk["lloq"]), units)[0]
    standard_unit = _map_distinct(pd.Series(units_std, dtype=object), ascii_text).to_numpy()
    stresn = np.where(blq, math.nan, values_std)
    stresc = orres.copy()
    converted = np.flatnonzero([standard.converted for standard in found])
    if len(converted):
        stresc[converted] = pc_standard_text(
            value.to_numpy(dtype=object)[converted],
            units.to_numpy(dtype=object)[converted],
            blq[converted].tolist(),
            lloq.to_numpy(dtype=object)[converted],
            values_std[converted],
            lloq_std[converted],
        )
        # PCSTRESN (and so ADPC AVAL) and PCLLOQ are the engine's standard-unit values (`to_standard`), the
        # numbers the NCA reads: the decimal shift of the number as written, the number PCSTRESC writes
        # (1.005 copies/ng gDNA is 1005, not 1004.9999999999999; D-19.782, D-19.846)
    rftdtc = {s: tl.dtc(tl.infusion.isoformat()) for s, tl in ctx.timelines.items() if tl.infusion}
    refid = ("PK-" + pk["record_id"].astype(str)).to_numpy()
    # one standard unit per PCTESTCD: a test in a second dimension is a test of its own (CARTRGNV, D-19.888)
    testcd = pc_test_codes(codes[0], standard_unit, refid.tolist())
    names = pc_tests()
    own = testcd != np.asarray(codes[0], dtype=object)
    pctest = np.where(own, [names.get(str(c), "") for c in testcd], codes[1]).astype(object)
    frame = _vector_frame_with_instant(
        [
            {
                **ctx.base_columns(pk["subject_id"], "PC"),
                "PCREFID": refid,
                "PCTESTCD": testcd,
                "PCTEST": pctest,
                "PCCAT": _map_distinct(
                    pk["assay"], lambda a: ascii_text(a).upper().replace("_", " ")
                ).to_numpy(),
                "PCORRES": orres,
                "PCORRESU": unit,
                "PCSTRESC": stresc,
                "PCSTRESN": stresn,
                "PCSTRESU": standard_unit,
                "PCSPEC": "BLOOD",
                "PCLLOQ": lloq_std,
                "PCTPT": tpt,
                "PCTPTNUM": number,
                "PCELTM": eltm,
                "PCTPTREF": "CAR-T INFUSION",
                "PCRFTDTC": pk["subject_id"].astype(str).map(rftdtc).fillna("").to_numpy(),
                "_instant": pk["sampled_at"].to_numpy(),
                **_timing_block(t),
            }
        ],
        spec,
        "PC",
    )
    return frame.drop(columns=["_instant"])


PP_PARAMS: Mapping[str, tuple[str, str, str]] = {
    # nca_by_subject column: (PPTESTCD C85839, PPTEST C85493, unit column)
    "cmax": ("CMAX", "Max Conc", "conc_unit"),
    "tmax": ("TMAX", "Time of CMAX", "time_unit"),
    "clast": ("CLST", "Last Nonzero Conc", "conc_unit"),
    "tlast": ("TLST", "Time of Last Nonzero Conc", "time_unit"),
    "auclast": ("AUCLST", "AUC to Last Nonzero Conc", "auc_unit"),
    "aucall": ("AUCALL", "AUC All", "auc_unit"),
    "aucinf_obs": ("AUCIFO", "AUC Infinity Obs", "auc_unit"),
    "half_life": ("LAMZHL", "Half-Life Lambda z", "time_unit"),
}
"""The interval AUCs follow: one AUCINT per interval of the protocol's ``analysis.options.nca_intervals_days``
(`pp_intervals`)."""

AUCINT: tuple[str, str, str] = ("AUCINT", "AUC from T1 to T2", "auc_unit")


def _iso_days(days: float) -> str:
    """An ISO 8601 duration of `days` days, never in exponent notation (``P0D``, ``P28D``, ``P0.5D``)."""
    return f"P{np.format_float_positional(float(days), trim='-')}D"


def pp_intervals(protocol: Any) -> list[tuple[str, str, str]]:
    """(nca_by_subject column, PPSTINT, PPENINT) of every partial AUC the protocol's analysis computes
    (``analysis.options.nca_intervals_days``, each interval once, in the protocol's order), except an
    interval ending at infinity (PKNCA aucint.inf.obs): ISO 8601 has no infinite duration for PPENINT (it was
    written "PinfD") and PPTESTCD AUCINT is "AUC from T1 to T2", a finite T2; such an AUC stays in the
    analysis datasets only, as `aucint_inf_pred` does (D-19.940)."""
    from cartrial.kinetics.nca import interval_column

    out: dict[str, tuple[str, str, str]] = {}
    for start, end in protocol.analysis.options.nca_intervals_days:
        if not math.isfinite(float(end)):
            continue
        column = interval_column(float(start), float(end))
        out.setdefault(column, (column, _iso_days(start), _iso_days(end)))
    return list(out.values())


def build_pp(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """NCA parameters of the analysis layer (`nca_by_subject`, cartrial.kinetics via the analysis); a
    parameter that is not estimable is a record with PPSTAT NOT DONE and the reason (never dropped). A study
    without PK samples has no `nca_by_subject` dataset (its analysis leaves it out): PP is empty."""
    from cartrial.kinetics.nca import parameter_reasons

    nca = ctx.analysis.datasets.get("nca_by_subject")
    if nca is None:
        return empty_frame(spec)
    table = nca.table
    intervals = pp_intervals(ctx.snapshot.protocol)
    rows = []
    for r in _rows(table):
        sid = str(r["subject_id"])
        tl = ctx.timeline(sid)
        testcd_pc = PC_TESTS.get(str(r["analyte"]), (str(r["analyte"]).upper(), ""))[0]
        # the PC test of the profile's analyte and concentration unit (CARTRGNV in copies/mL; D-19.888)
        conc = ascii_text(r["conc_unit"]) if isinstance(r.get("conc_unit"), str) else ""
        if conc:
            testcd_pc = str(pc_test_codes([testcd_pc], [conc])[0])
        reasons = parameter_reasons(r["not_estimable"] if isinstance(r["not_estimable"], str) else "")
        params = [(column, param, "", "") for column, param in PP_PARAMS.items()]
        params += [(column, AUCINT, stint, enint) for column, stint, enint in intervals]
        for column, (code, test, unit_col), stint, enint in params:
            value = r[column]
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            unit = ascii_text(r[unit_col]).replace("cells.day/uL", "day*cells/uL")
            rows.append(
                {
                    **ctx.base(sid, "PP"),
                    "PPTESTCD": code,
                    "PPTEST": test,
                    "PPCAT": testcd_pc,
                    "PPORRES": "" if missing else result_text(value),
                    "PPORRESU": unit,
                    "PPSTRESC": "" if missing else result_text(value),
                    "PPSTRESN": math.nan if missing else float(value),
                    "PPSTRESU": unit,
                    "PPSTAT": "NOT DONE" if missing else "",
                    "PPREASND": ascii_text(reasons.get(column, "")) if missing else "",
                    "PPSPEC": "BLOOD",
                    "PPSTINT": stint,
                    "PPENINT": enint,
                    "PPRFTDTC": tl.dtc(tl.infusion.isoformat()) if tl.infusion else "",
                    "PPDTC": "",
                }
            )
    return _frame(rows, spec, ["USUBJID", "PPCAT", "PPTESTCD"])


def build_edss_kfss(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """EDSS (EDSS0101, the analysis layer's score of each assessment) and the Kurtzke FS (KFSS101-107, raw
    scores as collected); the ambulation score and walking distance are not tests of this domain but
    supplemental qualifiers of the EDSS0101 record (`edss_qualifier_values`, SUPPQS/SUPPRS; D-15.12).

    One builder for both representations (D-15.11): `spec` is QS (default, the issue's choice) or RS
    (SDTMIG 3.4 clinical classification); the domain prefix of every variable is the spec's name, values
    and derivations are the same."""
    p = spec.name
    scored = analysis_table(ctx.analysis, "edss_scored").reset_index(drop=True)
    if not len(scored):
        return empty_frame(spec)
    t = ctx.timing(scored["subject_id"].astype(str), scored["assessed_at"], p, p)
    common_all = {
        **ctx.base_columns(scored["subject_id"], p),
        f"{p}REFID": ("EDSS-" + scored["record_id"].astype(str)).to_numpy(),
        f"{p}EVAL": np.full(len(scored), EDSS_EVALUATOR, dtype=object),
        "_instant": scored["assessed_at"].to_numpy(),
        **_timing_block(t),
    }

    def block(keep: np.ndarray, cat: str, code: str, test: str, text: Any, number: Any) -> dict[str, Any]:
        return {
            **{k: v[keep] for k, v in common_all.items()},
            f"{p}CAT": cat,
            f"{p}TESTCD": code,
            f"{p}TEST": test,
            f"{p}ORRES": text,
            f"{p}STRESC": text,
            f"{p}STRESN": number,
        }

    # per assessment in the original order: EDSS and the FS; the stable sort by subject, test and date-time
    # below gives the same record order as appending row by row
    parts = []
    edss = pd.to_numeric(scored["edss"], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(edss)
    if keep.any():
        text = _map_distinct(pd.Series(edss[keep]), lambda v: f"{float(v):g}").to_numpy()
        parts.append(block(keep, "EDSS", "EDSS0101", "EDSS01-Expanded Disability Score", text, edss[keep]))
    for column, (code, test) in KFSS.items():
        values = _strip(scored[column])
        keep = (values != "").to_numpy()
        if keep.any():
            value = values[keep].reset_index(drop=True)
            parts.append(block(keep, "KFSS", code, test, value.to_numpy(), _numbers(value)))
    if not parts:
        return empty_frame(spec)
    return _baseline_flag(_vector_frame_with_instant(parts, spec, p), ctx, p)


def edss_qualifier_values(ctx: SdtmContext, parent: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """The ambulation score, walking distance, walking assistance and EDSS method of each EDSS assessment
    (text as collected), one column per
    QNAM of `EDSS_QUALIFIERS`, aligned row by row with `parent` (QS or RS) and non-blank only on the EDSS0101
    record of the same assessment (same --REFID): the input of `build_supp` for SUPPQS/SUPPRS.

    A value whose assessment has no EDSS0101 record would lose its parent: that is a located InputError,
    never a dropped value. It cannot arise from the analysis layer, whose `derive_edss` fails on an
    assessment without every FS and the ambulation score (D-15.12)."""
    scored = analysis_table(ctx.analysis, "edss_scored").reset_index(drop=True)
    out = {q.qnam: np.full(len(parent), "", dtype=object) for q in EDSS_QUALIFIERS.values()}
    if not len(scored):
        return pd.DataFrame(out)
    is_edss = (parent[f"{prefix}TESTCD"] == "EDSS0101").to_numpy() if len(parent) else np.zeros(0, bool)
    row_of = pd.Series(np.flatnonzero(is_edss), index=parent[f"{prefix}REFID"].to_numpy()[is_edss])
    refid = "EDSS-" + scored["record_id"].astype(str)
    for column, qualifier in EDSS_QUALIFIERS.items():
        values = _strip(scored[column])
        has = (values != "").to_numpy()
        if not has.any():
            continue
        rows = refid[has].map(row_of)
        if rows.isna().any():
            records = ", ".join(refid[has][rows.isna().to_numpy()].str[5:].tolist()[:10])
            raise InputError(
                Problem(
                    f"{column} of EDSS record(s) {records} has no EDSS score (EDSS0101) on the same "
                    f"assessment to qualify in SUPP{prefix} (D-15.12)",
                    file="edss",
                    field=column,
                    allowed="an ambulation score or walking distance on an assessment with every FS and the "
                    "ambulation score",
                )
            )
        out[qualifier.qnam][rows.to_numpy(dtype=int)] = values[has].to_numpy()
    return pd.DataFrame(out)


_DECIMAL_FRACTION = re.compile(r"\d*\.(\d+)")


def _collected_decimals(text: str) -> int:
    """Decimals of the number entered in `text` (``0.125`` and ``logMAR 0.125``: 3; ``0.1``: 1; none: 0)."""
    found = _DECIMAL_FRACTION.search(text)
    return len(found.group(1)) if found else 0


def build_oe(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Visual acuity per eye: OEORRES as entered, OESTRESN logMAR from the neuro engine's conversion
    (`cartrial.neuro.derive_visual_acuity`, off-chart convention none: off-chart levels keep OESTRESN
    empty and have the engine's level, CF/HM/LP/NLP, in OESTRESC; D-19.143)."""
    from cartrial.neuro import derive_visual_acuity

    va = ctx.table("visual_acuity").reset_index(drop=True)
    if not len(va):
        return empty_frame(spec)
    raw = va.drop(columns=["record_id"])
    derived = derive_visual_acuity(raw, keep_going=True, logmar_decimals=2).table
    n = min(len(va), len(derived))
    # decimals of OESTRESC: 2 (D-19.142), or an acuity entered in logMAR with more keeps them all (D-19.744)
    decimals = np.full(len(va), 2)
    if "notation" in derived.columns:
        entered = (derived["notation"].iloc[:n].astype(str) == "logmar").to_numpy()
        for i in np.flatnonzero(entered):
            decimals[i] = max(2, _collected_decimals(str(va["acuity"].iat[i])))
    logmar = np.full(len(va), math.nan)
    for places in sorted({int(d) for d in decimals}):
        table = (
            derived
            if places == 2
            else derive_visual_acuity(raw, keep_going=True, logmar_decimals=places).table
        )
        if "logmar" in table.columns:
            values = pd.to_numeric(table["logmar"].iloc[:n], errors="coerce").to_numpy(dtype=float)
            mine = decimals[:n] == places
            logmar[:n][mine] = values[mine]
    ok = ~np.isnan(logmar)
    stresc = np.full(len(va), "", dtype=object)
    # logMAR rounded once, by the engine (D-19.737); OESTRESN reads OESTRESC (D-19.142)
    stresc[ok] = [result_text(x, int(d)) for x, d in zip(logmar[ok], decimals[ok], strict=True)]
    if "off_chart" in derived.columns:  # CF, HM, LP, NLP: the engine's level in OESTRESC (D-19.143)
        n = min(len(va), len(derived))
        level = np.full(len(va), "", dtype=object)
        level[:n] = derived["off_chart"].iloc[:n].fillna("").astype(str).to_numpy(dtype=object)
        stresc = np.where(~ok & (level != ""), level, stresc)
    t = ctx.timing(va["subject_id"], va["assessed_at"], "OE", "OE")
    eye = va["eye"].astype(str)
    frame = _vector_frame_with_instant(
        [
            {
                **ctx.base_columns(va["subject_id"], "OE"),
                "OEREFID": ("VA-" + va["record_id"].astype(str)).to_numpy(),
                "OETESTCD": "LOGSCORE",
                "OETEST": "Log Score",
                "OECAT": "VISUAL ACUITY",
                "OESCAT": np.where(
                    _strip(va["low_contrast"]).str.lower() == "true", "LOW CONTRAST", "HIGH CONTRAST"
                ),
                "OEORRES": _map_distinct(va["acuity"], ascii_text).to_numpy(),
                "OESTRESC": stresc,
                "OESTRESN": np.array([float(x) if o else math.nan for x, o in zip(stresc, ok, strict=True)]),
                "OESTRESU": "LogMAR",
                "OELOC": "EYE",
                "OELAT": _map_distinct(
                    eye, lambda e: {"OD": "RIGHT", "OS": "LEFT"}.get(e.strip().upper(), e.upper())
                ).to_numpy(),
                "OEMETHOD": _map_distinct(va["notation"], lambda x: ascii_text(x).upper()).to_numpy(),
                "_instant": (va["assessed_at"].astype(str) + eye).to_numpy(),
                **_timing_block(t),
            }
        ],
        spec,
        "OE",
    )
    return frame.drop(columns=["_instant"])


def build_ft(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Timed 25-Foot Walk (FTCAT T25FW, FTTESTCD T25FW101 per trial, FTREPNUM 1-2); unable to walk is
    FTSTAT NOT DONE with the reason."""
    walk = ctx.table("timed_walk").reset_index(drop=True)
    if not len(walk):
        return empty_frame(spec)
    t = ctx.timing(walk["subject_id"], walk["assessed_at"], "FT", "FT")
    unable = (_strip(walk["unable_to_walk"]).str.lower() == "true").to_numpy()
    parts = []
    for rep, column in ((1, "trial_1_seconds"), (2, "trial_2_seconds")):
        values = _strip(walk[column])
        keep = (values != "").to_numpy() | unable
        if not keep.any():
            continue
        value = values[keep].reset_index(drop=True)
        has = (value != "").to_numpy()
        parts.append(
            {
                **ctx.base_columns(walk["subject_id"][keep], "FT"),
                "FTREFID": ("T25FW-" + walk["record_id"][keep].astype(str)).to_numpy(),
                "FTCAT": "T25FW",
                "FTTESTCD": "T25FW101",
                "FTTEST": "T25FW1-Time to Complete 25-Foot Walk",
                "FTREPNUM": float(rep),
                "FTORRES": value.to_numpy(),
                "FTORRESU": np.where(has, "s", ""),
                "FTSTRESC": value.to_numpy(),
                "FTSTRESN": _numbers(value),
                "FTSTRESU": np.where(has, "s", ""),
                "FTSTAT": np.where(unable[keep], "NOT DONE", ""),
                "FTREASND": np.where(unable[keep], "UNABLE TO WALK", ""),
                **_timing_block(t, keep),
            }
        )
    return _vector_frame(parts, spec, ["USUBJID", "FTDTC", "FTTESTCD", "FTREPNUM"])


def _relapse_rows(ctx: SdtmContext, pre: bool) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for r in _rows(ctx.table("relapses")):
        tl = ctx.timeline(r["subject_id"])
        onset = date_of(r["onset_date"])
        before = tl.reference is None or onset is None or onset < tl.reference
        if before == pre:
            out.append((r["subject_id"], r))
    return out


def build_ce(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Attacks (relapses) of the study's disease on or after the infusion (earlier attacks are history:
    MH); the disease named by the protocol (`disease_of`)."""
    label = disease_of(ctx.snapshot.protocol).label
    rows = []
    for sid, r in _relapse_rows(ctx, pre=False):
        tl = ctx.timeline(sid)
        start = dtc(r["onset_date"])
        rows.append(
            {
                **ctx.base(sid, "CE"),
                "CESPID": f"REL-{r['record_id']}",
                "CETERM": f"{label} attack: "
                + ascii_text(r["phenotype"]).replace("_", " ").replace(";", ", "),
                "CEDECOD": f"{label} RELAPSE",
                "CECAT": f"{label} ATTACK",
                "CESCAT": ascii_text(r["phenotype"]).upper().replace("_", " ").replace(";", ", "),
                "CESEV": r["severity"].upper(),
                "CEPRESP": "Y",
                "CEOCCUR": "Y",
                "EPOCH": tl.epoch(start),
                "CESTDTC": start,
                "CESTDY": study_day(start, tl.reference),
            }
        )
    return _frame(rows, spec, ["USUBJID", "CESTDTC", "CESPID"])


def build_mh(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """The study's diagnosis (named by the protocol, `disease_of`) and the attacks before the infusion
    (relapse form rows dated before the infusion and the subject form's relapse history)."""
    disease = disease_of(ctx.snapshot.protocol)
    label = disease.label
    rows = []
    for r in _rows(ctx.table("subjects")):
        sid = r["subject_id"]
        start = dtc(r["diagnosis_date"])
        rows.append(
            {
                **ctx.base(sid, "MH"),
                "MHSPID": "DIAGNOSIS",
                "MHTERM": disease.term,
                "MHDECOD": disease.decod,  # D-19.205: empty for a condition without a standard term
                "MHCAT": "PRIMARY DIAGNOSIS",
                "MHSCAT": f"AQP4-IGG {status.upper()}" if (status := r.get("aqp4_igg_status") or "") else "",
                "MHPRESP": "",
                "MHOCCUR": "",
                "MHSTDTC": start,
                "MHENRTPT": "ONGOING",
                "MHENTPT": dtc(r["consent_date"]),
            }
        )
        for item in _json_list(r["relapse_history"]):
            phen = ascii_text(item.get("phenotype") or "").replace("_", " ")
            rows.append(
                {
                    **ctx.base(sid, "MH"),
                    "MHSPID": "HISTORY",
                    "MHTERM": f"{label} attack: {phen}".strip(),
                    "MHDECOD": f"{label} RELAPSE",
                    "MHCAT": f"{label} ATTACK HISTORY",
                    "MHSCAT": phen.upper(),
                    "MHPRESP": "Y",
                    "MHOCCUR": "Y",
                    "MHSTDTC": history_dtc(item.get("onset_date")),
                    "MHENRTPT": "",
                    "MHENTPT": "",
                }
            )
    for sid, r in _relapse_rows(ctx, pre=True):
        phen = ascii_text(r["phenotype"]).replace("_", " ").replace(";", ", ")
        rows.append(
            {
                **ctx.base(sid, "MH"),
                "MHSPID": f"REL-{r['record_id']}",
                "MHTERM": f"{label} attack: {phen}",
                "MHDECOD": f"{label} RELAPSE",
                "MHCAT": f"{label} ATTACK HISTORY",
                "MHSCAT": phen.upper(),
                "MHPRESP": "Y",
                "MHOCCUR": "Y",
                "MHSTDTC": dtc(r["onset_date"]),
                "MHENRTPT": "",
                "MHENTPT": "",
            }
        )
    for row in rows:
        tl = ctx.timeline(row["USUBJID"].removeprefix(ctx.study_id + "-"))
        row["MHSTDY"] = study_day(row["MHSTDTC"], tl.reference)
    return _frame(rows, spec, ["USUBJID", "MHCAT", "MHSTDTC", "MHSPID"])


def build_ds(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Informed consent (protocol milestone) and the subject's disposition event when the study ended: the
    analysis populations' end-of-study reason and date (`cartrial.analysis.populations.end_of_study`,
    D-19.92: the death's date, DM.DTHDTC, else the form's disposition_date), undated — as ADSL.EOSDT — when
    an end stored before D-19.92 has no date (D-19.126); DSTERM is the form's text when it records that
    event, else the decoded term (a death recorded only as a fatal adverse event, whose form says blank,
    ``ongoing`` or another end: the reported term never contradicts DSDECOD). DSSEQ follows DSSTDTC, consent
    first on the same day (`_ds_order`, D-19.125)."""
    ended = {
        str(m["subject_id"]): (m["study_status"], m["discontinuation_reason"], m["end_of_study_date"])
        for m in _rows(analysis_table(ctx.analysis, "populations"))
    }
    rows = []
    for r in _rows(ctx.table("subjects")):
        sid = r["subject_id"]
        tl = ctx.timeline(sid)
        consent = dtc(r["consent_date"])
        rows.append(
            {
                **ctx.base(sid, "DS"),
                "DSTERM": "INFORMED CONSENT OBTAINED",
                "DSDECOD": "INFORMED CONSENT OBTAINED",
                "DSCAT": "PROTOCOL MILESTONE",
                "EPOCH": "SCREENING",
                "DSSTDTC": consent,
                "DSSTDY": study_day(consent, tl.reference),
                **_ds_order(consent, "PROTOCOL MILESTONE", "INFORMED CONSENT OBTAINED"),
            }
        )
        status, reason, end_date = ended.get(sid, ("", "", ""))
        completed = DISPOSITIONS["completed"]
        decod = reason or (completed.decoded if status == completed.status else "")
        if decod:  # "ongoing" is not a disposition event
            # the analysis's one end-of-study date; an end stored undated before D-19.92 stays undated, as
            # ADSL.EOSDT (never imputed; D-19.126)
            last = end_date
            form = parse_disposition(r["disposition"])
            term = reported_term(r["disposition"]) if form is not None and form.decoded == decod else decod
            rows.append(
                {
                    **ctx.base(sid, "DS"),
                    "DSTERM": ascii_text(term).upper(),
                    "DSDECOD": decod,
                    "DSCAT": "DISPOSITION EVENT",
                    "EPOCH": tl.epoch(last),
                    "DSSTDTC": last,
                    "DSSTDY": study_day(last, tl.reference),
                    **_ds_order(last, "DISPOSITION EVENT", decod),
                }
            )
    return _frame(rows, spec, ["USUBJID", *_DS_ORDER])


_DS_ORDER = ("_DSWHEN", "_DSRANK")
"""The sort columns of DS (dropped by `finalize`, not variables): DSSEQ numbers a subject's records in
chronological order (D-19.125)."""
_DS_RANK = {"PROTOCOL MILESTONE": 1, "OTHER EVENT": 2, "DISPOSITION EVENT": 3}


def _ds_order(start: str, category: str, decod: str) -> dict[str, Any]:
    """The DS sort columns of one record: its DSSTDTC (an undated record after every dated one), and on the
    same day the natural order of a subject's study — informed consent first, then the other protocol
    milestones, other events, and the disposition event that ends the study last (D-19.125)."""
    first = category == "PROTOCOL MILESTONE" and decod == "INFORMED CONSENT OBTAINED"
    return {"_DSWHEN": start or "~", "_DSRANK": 0 if first else _DS_RANK.get(category, 2)}


def _fa_value(value: str) -> tuple[str, float]:
    """FAORRES/FASTRESC text and FASTRESN of one collected cell (true/false → Y/N)."""
    if value in ("true", "false"):
        value = _yn(value)
    text = ascii_text(value).upper() if not _is_number(value) else value
    return text, _num(value)


def _episode_groups(ctx: SdtmContext, kind: str, subjects: pd.Series, when: np.ndarray) -> np.ndarray:
    """FAGRPID of each assessment: the id of the analysis layer's episode (same subject and kind) whose
    onset..resolution holds the assessment time; the last such episode in the analysis order."""
    groups = np.full(len(subjects), "", dtype=object)
    windows = []
    for order, e in enumerate(episodes(ctx.analysis)):
        if e.kind != kind:
            continue
        onset = parse_instant(e.onset)
        if onset is not None:
            windows.append(
                (e.subject, onset, parse_instant(e.resolved), f"{e.kind.upper()}-{e.episode}", order)
            )
    if not windows or not len(subjects):
        return groups
    ep = pd.DataFrame(windows, columns=["s", "start", "end", "gid", "order"])
    ep["start"] = ep["start"].astype("datetime64[ns]")
    ep["end"] = pd.to_datetime(ep["end"]).astype("datetime64[ns]")
    rows = pd.DataFrame({"s": subjects.astype(str).to_numpy(), "w": when, "i": np.arange(len(subjects))})
    both = rows.merge(ep, on="s", how="inner")
    inside = (
        ~both["w"].isna() & (both["start"] <= both["w"]) & (both["end"].isna() | (both["w"] <= both["end"]))
    )
    hit = both[inside.to_numpy()].sort_values(["i", "order"], kind="mergesort").groupby("i").tail(1)
    groups[hit["i"].to_numpy()] = hit["gid"].to_numpy()
    return groups


def build_fa(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """CRS components and ICE items/ICANS domains of every assessment as collected (blank cells are not
    collected, not a record); FAGRPID links the assessments inside a CRS/ICANS episode to its AE (RELREC)."""
    parts = []
    for table, tests, kind, obj in (
        ("crs_assessments", FA_CRS, "crs", "CYTOKINE RELEASE SYNDROME"),
        ("icans_assessments", FA_ICANS, "icans", "IMMUNE EFFECTOR CELL-ASSOCIATED NEUROTOXICITY SYNDROME"),
    ):
        data = ctx.table(table).reset_index(drop=True)
        if not len(data):
            continue
        group = _episode_groups(ctx, kind, data["subject_id"], _instants(data["assessed_at"]))
        t = ctx.timing(data["subject_id"], data["assessed_at"], "FA", "FA")
        common = {
            **ctx.base_columns(data["subject_id"], "FA"),
            "FAGRPID": group,
            "FAREFID": (f"{kind.upper()}A-" + data["record_id"].astype(str)).to_numpy(),
            "_instant": (data["assessed_at"].astype(str) + kind).to_numpy(),
            **_timing_block(t),
        }
        for column, (code, test, unit) in tests.items():
            values = _strip(data[column])
            keep = (values != "").to_numpy()
            if not keep.any():
                continue
            text, number = _map_parts(values[keep], _fa_value, 2)
            parts.append(
                {
                    **{k: v[keep] for k, v in common.items()},
                    "FATESTCD": code,
                    "FATEST": test,
                    "FAOBJ": obj,
                    "FACAT": "CRS ASSESSMENT" if kind == "crs" else "ICANS ASSESSMENT",
                    "FASCAT": "ICE" if code.startswith("ICE") else "",
                    "FAORRES": text,
                    "FAORRESU": unit,
                    "FASTRESC": text,
                    "FASTRESN": number.astype(float),
                    "FASTRESU": unit,
                }
            )
    frame = _vector_frame_with_instant(parts, spec, "FA")
    return frame.drop(columns=["_instant"], errors="ignore")


def build_sv(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Visits actually done: one record per subject and VISITNUM seen in any finding/event domain. Only
    in-study records have a VISITNUM (`timing_columns`: none before the informed consent), so a visit's
    SVSTDTC is never before RFICDTC (D-19.1213)."""
    parts = []
    for name, frame in ctx.built.items():
        if "VISITNUM" not in frame.columns or not len(frame):
            continue
        dtc_col = next(
            (c for c in frame.columns if c.endswith("DTC") and c[:2] == name[:2] and len(c) in (5, 7)), None
        )
        if dtc_col is None:
            continue
        when = frame[dtc_col].astype(str)
        number = pd.to_numeric(frame["VISITNUM"], errors="coerce")
        keep = (number.notna() & (when != "")).to_numpy()
        if keep.any():
            parts.append(
                pd.DataFrame(
                    {
                        "USUBJID": frame["USUBJID"].to_numpy()[keep],
                        "VISITNUM": number.to_numpy(dtype=float)[keep],
                        "VISIT": frame["VISIT"].to_numpy()[keep],
                        "DAY": date_part(when)[keep],
                    }
                )
            )
    if not parts:
        return empty_frame(spec)
    # per subject and visit (in the order first seen): the first VISIT text, the first and last date
    every = pd.concat(parts, ignore_index=True)
    every = every.drop_duplicates(["USUBJID", "VISITNUM", "DAY"]).reset_index(drop=True)
    key = ["USUBJID", "VISITNUM"]
    seen = every.drop_duplicates(key)[[*key, "VISIT"]].reset_index(drop=True)
    by_day = every.sort_values("DAY", kind="mergesort")
    firsts = by_day.drop_duplicates(key, keep="first").set_index(key)["DAY"]
    lasts = by_day.drop_duplicates(key, keep="last").set_index(key)["DAY"]
    index = pd.MultiIndex.from_frame(seen[key])
    seen["first"] = firsts.reindex(index).to_numpy()
    seen["last"] = lasts.reindex(index).to_numpy()
    sid_of = {ctx.usubjid(s): s for s in ctx.timelines}
    subjects = seen["USUBJID"].map(sid_of).fillna("")
    assert ctx._timing_tables is not None
    start = timing_columns(subjects, seen["first"], "SVST", ctx._timing_tables, None)
    end = timing_columns(subjects, seen["last"], "SVEN", ctx._timing_tables, None)
    frame = pd.DataFrame(
        {
            "STUDYID": ctx.study_id,
            "DOMAIN": "SV",
            "USUBJID": seen["USUBJID"],
            "VISITNUM": seen["VISITNUM"],
            "VISIT": seen["VISIT"],
            "EPOCH": start["EPOCH"],
            "SVSTDTC": seen["first"],
            "SVENDTC": seen["last"],
            "SVSTDY": start["SVSTDY"],
            "SVENDY": end["SVENDY"],
            "SVUPDES": np.where(is_scheduled_visit(seen["VISITNUM"], ctx.visits), "", "UNSCHEDULED VISIT"),
        }
    )
    return finalize(frame, spec, ["USUBJID", "VISITNUM"])


def build_supp(
    ctx: SdtmContext,
    spec: DatasetSpec,
    parent: pd.DataFrame,
    values: pd.DataFrame,
    qualifiers: Sequence[Qualifier],
) -> pd.DataFrame:
    """SUPP-- (SDTMIG 3.4 §8.4) of the parent domain named by the spec (SUPPAE → AE): one record per
    non-blank value of `values` (one column per QNAM, aligned row by row with `parent`), IDVAR --SEQ and
    IDVARVAL the parent record's --SEQ, QLABEL the decode of QNAM in the spec's QNAM codelist, QORIG and
    QEVAL from the `Qualifier`. Built for SUPPAE (`AE_QUALIFIERS`) and SUPPQS/SUPPRS (`EDSS_QUALIFIERS`)."""
    rdomain = spec.name[4:]
    if not len(parent) or not len(values):
        return empty_frame(spec)
    qnam_codelist = spec.variable("QNAM").codelist
    labels = {t.value: t.decode for t in codelists()[qnam_codelist].terms} if qnam_codelist else {}
    seq = pd.to_numeric(parent[f"{rdomain}SEQ"]).astype(int).astype(str).to_numpy()
    parts = []
    for qualifier in qualifiers:
        qnam = qualifier.qnam
        if qnam not in values.columns:
            continue
        value = values[qnam].fillna("").astype(str).to_numpy()
        keep = value != ""
        if not keep.any():
            continue
        parts.append(
            pd.DataFrame(
                {
                    "STUDYID": ctx.study_id,
                    "RDOMAIN": rdomain,
                    "USUBJID": parent["USUBJID"].to_numpy()[keep],
                    "IDVAR": f"{rdomain}SEQ",
                    "IDVARVAL": seq[keep],
                    "QNAM": qnam,
                    "QLABEL": labels.get(qnam, ""),
                    "QVAL": value[keep],
                    "QORIG": qualifier.origin,
                    "QEVAL": qualifier.evaluator,
                    "_row": np.flatnonzero(keep),
                }
            )
        )
    if not parts:
        return empty_frame(spec)
    # the record order of the parent, then the qualifiers in their order (as appended row by row)
    frame = pd.concat(parts, ignore_index=True).sort_values("_row", kind="mergesort").drop(columns="_row")
    return finalize(frame.reset_index(drop=True), spec, ["USUBJID", "IDVARVAL", "QNAM"])


def build_relrec(ctx: SdtmContext, spec: DatasetSpec) -> pd.DataFrame:
    """Each CRS/ICANS episode's AE record related to its FA component records (FAGRPID) and to the CM
    records of therapies given during the episode (RELID = the episode id)."""
    ae, fa, cm = ctx.built.get("AE"), ctx.built.get("FA"), ctx.built.get("CM")
    rows = []
    if ae is None or not len(ae) or "AEGRPID" not in ae.columns:  # no CRS/ICANS episode: nothing to relate
        return empty_frame(spec)
    fa_groups: set[tuple[str, str]] = set()
    if fa is not None and len(fa):
        fa_groups = set(zip(fa["USUBJID"], fa["FAGRPID"], strict=True))
    cm_by_subject: dict[str, list[tuple[str, float]]] = {}
    if cm is not None and len(cm):
        for u, start_cm, seq in zip(cm["USUBJID"], cm["CMSTDTC"], cm["CMSEQ"], strict=True):
            cm_by_subject.setdefault(u, []).append((start_cm, seq))
    for r in _rows(ae[ae["AEGRPID"] != ""]):
        relid = f"{r['AEGRPID']}"
        base = {"STUDYID": ctx.study_id, "USUBJID": r["USUBJID"], "RELTYPE": "", "RELID": relid}
        rows.append({**base, "RDOMAIN": "AE", "IDVAR": "AESEQ", "IDVARVAL": str(int(r["AESEQ"]))})
        if (r["USUBJID"], relid) in fa_groups:
            rows.append({**base, "RDOMAIN": "FA", "IDVAR": "FAGRPID", "IDVARVAL": relid})
        start, end = r["AESTDTC"], r["AEENDTC"] or "9999"
        for start_cm, seq in cm_by_subject.get(r["USUBJID"], []):
            if start <= start_cm <= end:
                rows.append({**base, "RDOMAIN": "CM", "IDVAR": "CMSEQ", "IDVARVAL": str(int(seq))})
    return _frame(rows, spec, ["USUBJID", "RELID", "RDOMAIN", "IDVARVAL"])


def trial_elements(protocol: Any) -> list[tuple[str, str, str, str, str, str]]:
    """The planned elements of every arm, in their TA order: (ETCD, ELEMENT, TESTRL, TEENRL, TEDUR, EPOCH) —
    TE and TA, and the elements each subject passed through (SE), read them here."""
    window = int(protocol.escalation.dlt_window_days)
    return [
        ("SCRN", "Screening", "Informed consent", "Start of lymphodepletion", "P28D", "SCREENING"),
        ("LD", "Lymphodepletion", "First lymphodepletion dose", "CAR-T infusion", "P4D", "TREATMENT"),
        (
            "CART",
            "CAR-T infusion and DLT observation",
            "CAR-T infusion",
            f"End of day {window} after the infusion (the last day of the DLT window)",
            f"P{window + 1}D",  # days 0 to `window` (`in_dlt_window`; D-19.1019)
            "TREATMENT",
        ),
        (
            "FU",
            "Follow-up",
            f"Day {window + 1} after the infusion (the day after the DLT window)",
            "End of study or data cut-off",
            "",
            "FOLLOW-UP",
        ),
    ]


TS_VALUE_ORIGINS: dict[str, tuple[str, str]] = {
    "ACTSUB": (
        "Derived",
        "Number of subjects the analysis populations count as enrolled (ADSL.ENRLFL = Y): the subjects who "
        "consented on or before the data cut-off (NCI C98703: actual number of subjects enrolled); the store "
        "records no screen-failure state, a stored subject is an enrolled one (D-19.305)",
    ),
    "SSTDTC": ("Derived", "Earliest informed consent date (DM.RFICDTC), else the first infusion"),
    "NARMS": (
        "Derived",
        "Number of the protocol's dose levels (dose_levels): each dose level is one planned arm of TA "
        "(its ARMCD), so NARMS counts TA's arms; the protocol has no number-of-arms field (D-19.331, "
        "D-19.384)",
    ),
    "DCUTDTC": (
        "Assigned",
        "The data cut-off the snapshot was read at (read_snapshot's cutoff, the export's --cutoff): records "
        "dated after it are left out, and a subject consented after it is left out with all their records "
        "(D-19.186, D-19.384, D-19.1147)",
    ),
    "DCUTDESC": (
        "Assigned",
        "Assigned by the export: what the cut-off is, and whether the data were locked at it (the lock id) "
        "or unlocked (a draft) (D-19.186, D-19.384)",
    ),
    "SDTIGVER": (
        "Assigned",
        "The SDTMIG version the export implements (its only --sdtmig choice, SDTMIG_VERSION) (D-19.258, "
        "D-19.384)",
    ),
    "SDTMVER": (
        "Assigned",
        "The SDTM model version the SDTMIG version implements (SDTMIG v3.4: SDTM v2.0) (D-19.258, D-19.384)",
    ),
    "ADAPT": (
        "Protocol",
        "Y when the protocol has two or more dose levels: its escalation design (escalation.design) assigns "
        "each cohort's dose level from the DLT data of the cohorts before, a prospectively planned "
        "modification of the design based on interim data (NCI C146995 ADAPT); N with a single dose level "
        "(D-19.305)",
    ),
    "INTMODEL": (
        "Assigned",
        "Assigned by the export, the protocol has no intervention-model field: SINGLE GROUP, every subject "
        "receives the one investigational product in one open-label group, the dose levels being escalation "
        "cohorts (ClinicalTrials.gov Single Group Assignment); a sponsor registering the cohorts as "
        "Sequential Assignment would state SEQUENTIAL (D-19.305)",
    ),
    # constants of the export: the protocol has no field for them (cartrial.protocol.model); each comment
    # gives the rule behind the value (D-19.331), as INTMODEL's above
    "STYPE": (
        "Assigned",
        "Assigned by the export, the protocol has no study-type field: INTERVENTIONAL, every study cartrial "
        "reads administers its investigational product (study.product) to the subjects by protocol "
        "(D-19.331)",
    ),
    "INTTYPE": (
        "Assigned",
        "Assigned by the export, the protocol has no intervention-type field: BIOLOGIC, the investigational "
        "product is a CAR-T cell product (study.product), a cellular biologic (D-19.331)",
    ),
    "TBLIND": (
        "Assigned",
        "Assigned by the export, the protocol has no blinding field: OPEN LABEL, the dose of each cohort is "
        "assigned by the escalation design from the DLT data so far and known to the investigators "
        "(escalation.design); a blinded study would state its own value (D-19.331)",
    ),
    "TCNTRL": (
        "Assigned",
        "Assigned by the export, the protocol has no control field: NONE, the arms are the dose levels of "
        "the one product (TA), none is a placebo or active comparator (D-19.331)",
    ),
    "RANDOM": (
        "Assigned",
        "Assigned by the export, the protocol has no randomisation field: N, each cohort's dose level is "
        "assigned by the escalation design (escalation.design), not at random (D-19.331)",
    ),
    "SEXPOP": (
        "Assigned",
        "Assigned by the export: BOTH, the protocol's eligibility has no criterion that restricts sex (no "
        "rule type of cartrial.protocol.eligibility can), so subjects of either sex are eligible (D-19.331)",
    ),
    "RLPSCRIT": (
        "Assigned",
        "Assigned by the export from the protocol's diagnosis condition (the eligibility rule of type "
        "diagnosis), the protocol has no relapse-criteria text: the standard wording of a known condition "
        "(NMOSD: attack by the Wingerchuk 2015 IPND criteria; cartrial.cdisc.common.RELAPSE_CRITERIA), else "
        "'<condition> attack per protocol endpoints'; which attacks count is set by the parameters of the "
        "protocol's relapse endpoints (merge_window_days, require_adjudicated). Written only when the study "
        "collects relapses (D-19.63, D-19.384)",
    ),
}
"""Define-XML origin (and method or comment) of a TS value that is not read as it is from the protocol
(D-19.260): a Derived value names its method (MethodDef), any other its rule or default in a comment
(CommentDef; D-19.305); every other TSVAL is Protocol, the variable's origin (`TS_PROTOCOL_VALUES`)."""
TS_PROTOCOL_VALUES: frozenset[str] = frozenset(
    {"TITLE", "INDIC", "TPHASE", "REGID", "SPONSOR", "TRT", "AGEMIN", "AGEMAX"}
)
"""The TS parameters whose TSVAL is read as it is from a protocol field (origin Protocol): with
`TS_VALUE_ORIGINS`, every parameter `build_trial_design` writes has its origin (D-19.331, D-19.384)."""
SDTMIG_VERSION = "3.4"
"""The SDTMIG the datasets follow (TS SDTIGVER; the export's only `--sdtmig` choice)."""
SDTM_MODEL_OF_IG = {"3.4": "2.0"}
"""The SDTM model version each SDTMIG implements (TS SDTMVER): SDTMIG v3.4 is based on SDTM v2.0."""


def adaptive_design(protocol: Any) -> str:
    """TS ADAPT from the protocol (`TS_VALUE_ORIGINS`, D-19.305): ``Y`` when the protocol escalates among two
    or more dose levels — each escalation design of `cartrial.protocol.escalation_spec` (3+3, BOIN, mTPI-2,
    i3+3, CRM, TITE-CRM) assigns the next cohort's dose level from the DLT data so far, "a prospectively
    planned opportunity for modification of one or more specified aspects of the study design ... based on
    analysis of data (usually interim data) from subjects in the study" (NCI C146995 ADAPT); ``N`` with a
    single dose level, where no dose is assigned from the data."""
    return "Y" if len(protocol.dose_levels) >= 2 else "N"


def build_trial_design(ctx: SdtmContext, specs: Mapping[str, DatasetSpec]) -> dict[str, pd.DataFrame]:
    """TA, TE, TV, TI, TS from the protocol (SDTMIG 3.4 §7)."""
    protocol = ctx.snapshot.protocol
    sid = ctx.study_id
    elements = trial_elements(protocol)
    te = [
        {"STUDYID": sid, "DOMAIN": "TE", "ETCD": c, "ELEMENT": e, "TESTRL": s, "TEENRL": en, "TEDUR": d}
        for c, e, s, en, d, _ in elements
    ]
    ta = []
    for d in protocol.dose_levels:
        armcd, arm = _arm(protocol, str(d.level))
        for i, (c, e, *_, epoch) in enumerate(elements, start=1):
            ta.append(
                {
                    "STUDYID": sid,
                    "DOMAIN": "TA",
                    "ARMCD": armcd,
                    "ARM": arm,
                    "TAETORD": float(i),
                    "ETCD": c,
                    "ELEMENT": e,
                    "TABRANCH": "",
                    "TATRANS": "",
                    "EPOCH": epoch,
                }
            )
    tv = []
    for v in ctx.visits:
        tv.append(
            {
                "STUDYID": sid,
                "DOMAIN": "TV",
                "VISITNUM": v.number,
                "VISIT": v.name,
                "VISITDY": float(v.visitdy),
                "TVSTRL": f"Study day {v.visitdy} (protocol day {v.protocol_day})"
                + (f", window -{v.minus}/+{v.plus} days" if v.minus or v.plus else ""),
            }
        )
    ti = []
    counters = {"inclusion": 0, "exclusion": 0}
    for c in protocol.eligibility.criteria:
        kind = str(getattr(c.kind, "value", c.kind))
        counters[kind] = counters.get(kind, 0) + 1
        code = f"{'INCL' if kind == 'inclusion' else 'EXCL'}{counters[kind]:02d}"
        ti.append(
            {
                "STUDYID": sid,
                "DOMAIN": "TI",
                "IETESTCD": code,
                "IETEST": ascii_text(c.text),
                "IECAT": kind.upper(),
                "TIRL": c.id,
                "TIVERS": "",
            }
        )
    study = protocol.study
    phase = {
        "early_phase_1": "PHASE 0 TRIAL",
        "phase_1": "PHASE I TRIAL",
        "phase_1_2": "PHASE I/II TRIAL",
        "phase_2": "PHASE II TRIAL",
    }.get(str(study.phase), str(study.phase).upper())
    infusions = ctx.table("infusions")
    first = min(
        (
            ctx.timeline(str(s)).dtc(x)[:10]
            for s, x in zip(infusions["subject_id"], infusions["infused_at"], strict=True)
        ),
        default="",
    )
    consent = min((dtc(x)[:10] for x in ctx.table("subjects")["consent_date"] if x), default="")
    ages = [
        (c.rule.min_years, c.rule.max_years)
        for c in protocol.eligibility.criteria
        if getattr(c.rule, "type", "") == "age_range"
    ]
    ts_values = [
        ("TITLE", "Trial Title", ascii_text(study.title)),
        ("INDIC", "Trial Disease/Condition Indication", ascii_text(study.indication)),
        ("TPHASE", "Trial Phase Classification", phase),
        ("REGID", "Registry Identifier", study.registry_id or ""),
        ("SPONSOR", "Clinical Study Sponsor", ascii_text(study.sponsor)),
        ("TRT", "Investigational Therapy or Treatment", ascii_text(study.product.name).upper()),
        # constants, no protocol field: origin Assigned with their rule (TS_VALUE_ORIGINS; D-19.305, D-19.331)
        ("STYPE", "Study Type", "INTERVENTIONAL"),
        ("INTTYPE", "Intervention Type", "BIOLOGIC"),
        ("INTMODEL", "Intervention Model", "SINGLE GROUP"),
        ("TBLIND", "Trial Blinding Schema", "OPEN LABEL"),
        ("TCNTRL", "Control Type", "NONE"),
        ("RANDOM", "Trial is Randomized", "N"),
        ("ADAPT", "Adaptive Design", adaptive_design(protocol)),
        ("NARMS", "Planned Number of Arms", str(len(protocol.dose_levels))),
        ("SSTDTC", "Study Start Date", consent or first),
        ("DCUTDTC", "Data Cutoff Date", ctx.snapshot.cutoff.isoformat()),  # D-19.186
        ("DCUTDESC", "Data Cutoff Description", _cutoff_description(ctx.snapshot.lock_id)),
        ("AGEMIN", "Planned Minimum Age of Subjects", f"P{ages[0][0]}Y" if ages and ages[0][0] else ""),
        ("AGEMAX", "Planned Maximum Age of Subjects", f"P{ages[0][1]}Y" if ages and ages[0][1] else ""),
        ("SEXPOP", "Sex of Participants", "BOTH"),  # no sex criterion can be stated: Assigned (D-19.331)
    ]
    if "relapses" in ctx.analysis.intermediates.get("outcomes", ("relapses",)):  # D-19.63
        ts_values.append(("RLPSCRIT", "Relapse Criteria", disease_of(protocol).relapse_criteria))
    # how many subjects the study enrolled (the analysis populations' `enrolled`, ADSL.ENRLFL) and which SDTM
    # IG and model the datasets follow: what a reviewer reads first in TS (D-19.258)
    populations = ctx.analysis.datasets["populations"].table
    enrolled = int(populations["enrolled"].astype(bool).sum()) if "enrolled" in populations.columns else 0
    ts_values += [
        ("ACTSUB", "Actual Number of Subjects", str(enrolled)),
        ("SDTIGVER", "SDTM IG Version", SDTMIG_VERSION),
        ("SDTMVER", "SDTM Version", SDTM_MODEL_OF_IG[SDTMIG_VERSION]),
    ]
    ts = []
    counts: dict[str, int] = {}
    for code, parm, value in ts_values:
        counts[code] = counts.get(code, 0) + 1
        ts.append(
            {
                "STUDYID": sid,
                "DOMAIN": "TS",
                "TSSEQ": float(counts[code]),
                "TSPARMCD": code,
                "TSPARM": parm,
                "TSVAL": value,
                "TSVALNF": "" if value else "NI",
            }
        )
    return {
        "TA": _frame(ta, specs["TA"], ["ARMCD", "TAETORD"]),
        "TE": _frame(te, specs["TE"], []),
        "TV": _frame(tv, specs["TV"], ["VISITNUM"]),
        "TI": _frame(ti, specs["TI"], ["IETESTCD"]),
        "TS": _frame(ts, specs["TS"], []),
    }


def build_sdtm(
    snapshot: Any,
    analysis: Any,
    sites: Mapping[str, str] | None = None,
    *,
    edss_domain: str = "qs",
) -> dict[str, pd.DataFrame]:
    """Every SDTM dataset of the snapshot, in `SDTM_ORDER`; the EDSS/KFSS records in QS or RS
    (`edss_domain`, one of `EDSS_DOMAINS`; the other dataset is not built). `sites` (site_id → country, for
    DM.COUNTRY): default the snapshot's own (`StudySnapshot.sites`, read with its records; D-19.383). The
    records are read as the analysis reads them at the cut-off (`read_at_cutoff`: an end after it is
    ongoing, D-19.990)."""
    from cartrial.cdisc.spec import SDTM_ORDER

    if edss_domain not in EDSS_DOMAINS:
        raise ConfigurationError(
            f"edss_domain: {edss_domain!r} is not allowed; allowed: {choice_text(EDSS_DOMAINS)}"
        )

    from cartrial.cdisc.common import read_at_cutoff

    specs = dataset_specs()
    if sites is None:  # the sites read with the snapshot's records (D-19.383)
        sites = getattr(snapshot, "sites", None)
    snapshot = read_at_cutoff(snapshot)  # the records as the analysis read them at the cut-off (D-19.990)
    check_history_dates(snapshot.tables["subjects"])  # free JSON: its dates first read here (D-19.1212)
    ctx = SdtmContext(snapshot, analysis, dict(sites or {}))
    out: dict[str, pd.DataFrame] = {}
    out.update(build_trial_design(ctx, specs))
    simple = {
        "DM": build_dm,
        "SE": build_se,
        "EX": build_ex,
        "CM": build_cm,
        "CE": build_ce,
        "MH": build_mh,
        "DS": build_ds,
        "LB": build_lb,
        "PC": build_pc,
        "PP": build_pp,
        edss_domain.upper(): build_edss_kfss,
        "OE": build_oe,
        "FT": build_ft,
        "FA": build_fa,
    }
    for name, builder in simple.items():
        out[name] = builder(ctx, specs[name])
        ctx.built[name] = out[name]
    # unscheduled visits numbered once every domain with visits is built (same date, same visit everywhere)
    number_unscheduled(out, ctx.visit_dtc)
    ae_full = build_ae(ctx, _ae_spec_with_extras(specs["AE"]))
    extras = ae_full[[q.qnam for q in AE_QUALIFIERS if q.qnam in ae_full.columns]]
    out["AE"] = ae_full[[c for c in specs["AE"].names if c in ae_full.columns]]
    ctx.built["AE"] = out["AE"]
    out["SUPPAE"] = build_supp(ctx, specs["SUPPAE"], out["AE"], extras, AE_QUALIFIERS)
    # the ambulation score and walking distance as qualifiers of the EDSS0101 record (D-15.12)
    edss = edss_domain.upper()
    out[f"SUPP{edss}"] = build_supp(
        ctx,
        specs[f"SUPP{edss}"],
        out[edss],
        edss_qualifier_values(ctx, out[edss], edss),
        tuple(EDSS_QUALIFIERS.values()),
    )
    out["RELREC"] = build_relrec(ctx, specs["RELREC"])
    out["SV"] = build_sv(ctx, specs["SV"])
    return {name: out[name] for name in SDTM_ORDER if name in out}


def _ae_spec_with_extras(spec: DatasetSpec) -> DatasetSpec:
    """The AE spec plus the supplemental qualifiers, so they survive sorting and SEQ assignment together."""
    from cartrial.cdisc.spec import Variable

    extra = tuple(Variable(name=q.qnam, label=q.qnam, origin="Collected") for q in AE_QUALIFIERS)
    return spec.model_copy(update={"variables": spec.variables + extra})


__all__ = [
    "AE_QUALIFIERS",
    "EDSS_QUALIFIERS",
    "Qualifier",
    "SdtmContext",
    "build_edss_kfss",
    "build_sdtm",
    "build_supp",
    "edss_qualifier_values",
    "episodes",
]
