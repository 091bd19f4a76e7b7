"""Where the data of each schedule assessment are recorded: the one declaration (D-19.80).

A protocol's schedule lists assessments (`cartrial.protocol.schedule.Assessment`); the study database
records them on import forms (the CSV templates, `cartrial.store.importing.FORMS`, named here by their
template name so that the protocol package stays below the store). `ASSESSMENT_RECORDS` says, for each
assessment that has a form, which form and which of its columns hold its data. Every user reads it:

- the casebook's visit cells (`cartrial.web.views.schedule_cells`): a visit listing the assessment expects a
  record of its form (`Recorded.cell`; an event form such as relapses is reviewed, not expected);
- the analysis's indication-specific outcomes (`cartrial.analysis.outcomes.OUTCOMES`, D-19.61) and the forms
  and entry fields a study offers (D-19.70, D-19.82);
- the simulator, which writes only what the protocol collects (D-19.62, D-19.81).

Assessments without a form in the study database (vitals, ECG, MRI, cytokines, …) are not listed: nothing
records them, so the casebook cannot tell whether they were done.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from cartrial.errors import InputError, Problem

FormColumn = tuple[str, str]
"""(form, column): one column of one import form."""


@dataclass(frozen=True)
class Recorded:
    """Where one assessment's data are recorded."""

    form: str
    """The import form (template name) of its record at a visit."""
    columns: tuple[str, ...] = ()
    """The columns of `form` that hold its values; empty: its records are the form's own (the whole form, or
    rows told apart within a form several assessments share, e.g. labs by analyte)."""
    elsewhere: tuple[FormColumn, ...] = ()
    """Columns of other forms that also hold its values (e.g. the screening AQP4-IgG on the subjects form)."""
    describing: tuple[FormColumn, ...] = ()
    """Columns that describe its values without being them (an assay, a pre-treatment history): offered and
    listed with the assessment, never counted as its data."""
    titre: bool = False
    """Its `columns` hold end-point titres (``1:320``, ``negative``): on the PD samples form, the value of the
    population PD model (`pd_titre_column`)."""
    cell: bool = True
    """A visit listing the assessment expects a record of `form` (False: an event form, reviewed at the
    visit and recorded when an event occurs)."""

    @property
    def data(self) -> tuple[tuple[str, str | None], ...]:
        """(form, column) pairs that hold its values; column None: every record of `form`."""
        own: tuple[tuple[str, str | None], ...] = (
            tuple((self.form, c) for c in self.columns) if self.columns else ((self.form, None),)
        )
        return own + self.elsewhere

    @property
    def fields(self) -> tuple[FormColumn, ...]:
        """Every (form, column) tied to the assessment (its data columns and the columns describing them);
        a whole-form assessment ties no single column."""
        return tuple((f, c) for f, c in self.data if c is not None) + self.describing


_AQP4_ASSAY = (("pd_samples", "aqp4_igg_assay"), ("subjects", "aqp4_igg_assay"))

ASSESSMENT_RECORDS: Mapping[str, Recorded] = {
    "informed_consent": Recorded("subjects"),
    "lymphodepletion": Recorded("lymphodepletion"),
    "infusion": Recorded("infusions"),
    "crs_monitoring": Recorded("crs_assessments"),
    "ice": Recorded("icans_assessments"),
    "labs": Recorded("labs"),
    "hematology": Recorded("labs"),
    "chemistry": Recorded("labs"),
    "coagulation": Recorded("labs"),
    "pk": Recorded("pk_samples"),
    "pd": Recorded("pd_samples", ("bcma_plasma_cells_per_ul",)),
    "b_cells": Recorded("pd_samples", ("cd19_b_cells_per_ul",)),
    "aqp4_igg": Recorded(
        "pd_samples",
        ("aqp4_igg_titre",),
        elsewhere=(("subjects", "aqp4_igg_status"), ("subjects", "aqp4_igg_titre")),
        describing=_AQP4_ASSAY,
        titre=True,
    ),
    "immunoglobulins": Recorded("pd_samples", ("igg_g_per_l", "iga_g_per_l", "igm_g_per_l")),
    "edss": Recorded("edss"),
    "visual_acuity": Recorded("visual_acuity"),
    "osis": Recorded("osis"),
    "timed_25_foot_walk": Recorded("timed_walk"),
    "relapse_review": Recorded("relapses", describing=(("subjects", "relapse_history"),), cell=False),
}
"""Schedule assessment → where its data are recorded (module docstring)."""


def visit_forms(assessments: Iterable[str]) -> tuple[str, ...]:
    """The forms a visit listing `assessments` expects a record of, in the visit's order, each once.

    >>> visit_forms(["vitals", "labs", "hematology", "pd", "aqp4_igg", "relapse_review"])
    ('labs', 'pd_samples')
    """
    return tuple(
        dict.fromkeys(
            ASSESSMENT_RECORDS[a].form
            for a in assessments
            if a in ASSESSMENT_RECORDS and ASSESSMENT_RECORDS[a].cell
        )
    )


def form_columns(form: str, assessments: Collection[str], *, describing: bool = True) -> tuple[str, ...]:
    """The columns of `form` tied to any of `assessments`, in declaration order: their data columns and
    (unless `describing` is False) the columns describing them.

    >>> form_columns("pd_samples", ["aqp4_igg"])
    ('aqp4_igg_titre', 'aqp4_igg_assay')
    >>> form_columns("subjects", {"aqp4_igg", "relapse_review"}, describing=False)
    ('aqp4_igg_status', 'aqp4_igg_titre')
    """
    return tuple(
        dict.fromkeys(
            c
            for a, recorded in ASSESSMENT_RECORDS.items()
            if a in assessments
            for f, c in (recorded.fields if describing else recorded.data)
            if f == form and c is not None
        )
    )


def pd_titre_column(assessments: Collection[str]) -> str | None:
    """The end-point titre column of the PD samples form that `assessments` (a protocol's
    `collected_assessments`) collect — the antibody the population PD model is fitted on — or None when the
    protocol collects no titre (another indication's study; D-19.534). More than one titre collected is an
    `InputError` at ``schedule`` (the model fits one antibody; which one is not the code's to guess): the
    caller (the demo) names the protocol file; the protocol is to collect one titre assessment.

    >>> pd_titre_column({"pk", "pd", "aqp4_igg"}), pd_titre_column({"pk", "pd", "b_cells"})
    ('aqp4_igg_titre', None)
    """
    columns = [
        c
        for a, recorded in ASSESSMENT_RECORDS.items()
        if a in assessments and recorded.titre and recorded.form == "pd_samples"
        for c in recorded.columns
    ]
    if len(columns) > 1:
        raise InputError(
            Problem(
                f"the protocol collects {len(columns)} antibody titres ({', '.join(columns)}); the "
                "population PD model is fitted on one",
                field="schedule",
                allowed="collect one titre assessment (the population PD model fits one antibody)",
            )
        )
    return columns[0] if columns else None


__all__ = [
    "ASSESSMENT_RECORDS",
    "FormColumn",
    "Recorded",
    "form_columns",
    "pd_titre_column",
    "visit_forms",
]
