"""What the engine concludes from a form before it is saved (shown live next to the form).

- CRS assessments: the ASTCT 2019 CRS grade and the rule that fired (`cartrial.grading.derive_crs_grades`;
  Lee DW et al., Biol Blood Marrow Transplant 2019;25:625);
- ICANS assessments: the ASTCT 2019 ICANS grade, ICE score and rule (`cartrial.grading.derive_icans_grades`);
- EDSS: the EDSS step from the functional systems and ambulation (`cartrial.neuro.derive.derive_edss`;
  Neurostatus-EDSS, Kappos L, neurostatus.net v04/10.2);
- visual acuity: logMAR (and the other notations) of the acuity as written, e.g. Snellen 20/40
  (`cartrial.neuro.derive.derive_visual_acuity`).

The engines run on a one-row frame, exactly as on an imported file; an incomplete form gives the engine's
located problems instead of a conclusion. Other forms have no preview (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from cartrial.errors import CartrialError, InputError

__all__ = ["PREVIEW_FORMS", "preview"]

PREVIEW_FORMS = ("crs_assessments", "icans_assessments", "edss", "visual_acuity")
"""The forms with a live preview."""


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item"):  # numpy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _unknown_fields(form_name: str, table: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The problems of the fields the form's table does not have, from the validation path itself
    (`forms.validate`: "unknown field of …", the fields allowed): the preview concludes nothing from a
    form with a field the save refuses — a misspelt ``systolic_bp`` was left out and a grade shown
    without it (D-19.1043)."""
    from cartrial.store.fields import field_rules
    from cartrial.web.forms import validate

    rules = field_rules(table)
    strange = {k: v for k, v in values.items() if k not in rules}
    if not strange:
        return []
    return [p.as_dict() for p in validate(form_name, strange, partial=True)]


def _frame(form_name: str, values: Mapping[str, Any]) -> Any:
    """A one-row frame with every template column of the form (blank when not given), as a CSV reads."""
    import pandas as pd

    from cartrial.web.forms import clean_values, form

    row = {c.name: "" for c in form(form_name).spec.columns()}
    row.update({k: ("" if v is None else v) for k, v in clean_values(values).items()})
    if not row.get("subject_id"):
        row["subject_id"] = "preview"
    return pd.DataFrame([row], dtype=object)


def _first(table: Any, columns: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in columns:
        if column in table.columns and len(table):
            out[column] = _plain(table[column].iloc[0])
    return out


RESULT_LABELS: dict[str, str] = {
    "grade": "Grade",
    "grade_reason": "Why this grade",
    "scale": "Grading scale",
    "temperature_c_used": "Temperature used (°C)",
    "ice_score": "ICE score (0-10)",
    "edss": "EDSS",
    "edss_rule": "EDSS rule applied",
    "logmar": "logMAR",
    "decimal": "Decimal acuity",
    "snellen_20": "Snellen (20 ft)",
    "etdrs_letters": "ETDRS letters",
    "visual_fs_from_acuity": "Visual functional system score from acuity",
}
"""The engine panel's label of each result the preview shows, in the clinic's words with the unit, as the
form's field labels are (D-19.173, D-19.199)."""


def preview(form_name: str, values: Mapping[str, Any]) -> dict[str, Any] | None:
    """The engine's conclusion for one unsaved form: ``{"engine", "result": {...}, "problems": [...]}``,
    or None when the form has no preview. Never raises for bad input: the engine's problems are returned
    (each ``{field, value, allowed, message}``)."""
    from cartrial.web.forms import form

    spec = form(form_name)
    name = spec.name
    if name not in PREVIEW_FORMS:
        return None
    unknown = _unknown_fields(name, spec.table, values)
    if unknown:
        return {"engine": name, "result": None, "problems": unknown}
    frame = _frame(name, values)
    try:
        if name == "crs_assessments":
            from cartrial.grading import derive_crs_grades

            table = derive_crs_grades(frame, keep_going=True, file="form").table
            engine = "cartrial.grading.derive_crs_grades (ASTCT 2019)"
            result = _first(table, ("grade", "grade_reason", "scale", "temperature_c_used", "error"))
        elif name == "icans_assessments":
            from cartrial.grading import derive_icans_grades

            table = derive_icans_grades(frame, keep_going=True, file="form").table
            engine = "cartrial.grading.derive_icans_grades (ASTCT 2019)"
            result = _first(table, ("grade", "ice_score", "grade_reason", "scale", "error"))
        elif name == "edss":
            from cartrial.neuro.derive import derive_edss
            from cartrial.store.fields import field_rules

            # scored by the assessment's own method in the one spelling the store keeps (any case, as the
            # field rule reads it), as the analysis scores it (D-19.739, D-19.741)
            typed = str(frame["method"].iat[0] if "method" in frame.columns else "")
            spellings = field_rules("edss_assessment")["method"].spellings() or {}
            kurtzke = spellings.get(typed.lower()) == "kurtzke"
            method = "kurtzke" if kurtzke else "neurostatus_16"
            table = derive_edss(frame, keep_going=True, source="form", method=method).table
            engine = (
                "cartrial.neuro.derive_edss (" + ("Kurtzke 1983" if kurtzke else "Neurostatus-EDSS") + ")"
            )
            result = _first(table, ("edss", "edss_rule", "error"))
        else:
            from cartrial.neuro.derive import derive_visual_acuity

            table = derive_visual_acuity(frame, keep_going=True, source="form").table
            engine = "cartrial.neuro.derive_visual_acuity"
            result = _first(
                table,
                ("logmar", "decimal", "snellen_20", "etdrs_letters", "visual_fs_from_acuity", "error"),
            )
    except InputError as exc:
        return {"engine": name, "result": None, "problems": [p.as_dict() for p in exc.problems]}
    except CartrialError as exc:
        return {"engine": name, "result": None, "problems": [{"message": str(exc)}]}
    error = result.pop("error", None)
    problems = [{"message": str(error)}] if error else []
    return {"engine": engine, "result": None if error else result, "problems": problems}
