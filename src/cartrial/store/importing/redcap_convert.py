"""Turn a checked REDCap export into cartrial form rows, following a mapping.

Source: docs/science/data-standards.md §6.3 (rule 2: split the flat export into one table per instrument using
the
repeating configuration, dropping other forms' blank columns; rule 3: record / event / repeat instance as
subject / visit / sequence; rule 4: ``<form>_complete``, blank vs data). The result is one `FormData` per
mapped form, with every row traced to its export row and every column to its REDCap field, so the form
validation reports problems where the data manager can find them.

Rules [P] (documented in docs/import.md):

- An instrument's rows are the export rows whose ``redcap_repeat_instrument`` is the instrument (repeating
  instruments) or blank (non-repeating instruments and repeating events). A row *has data* for the
  instrument when any of the instrument's fields is non-blank (the ``<form>_complete`` status alone is not
  data: REDCap writes 0 for forms never opened when ``exportBlankForGrayFormStatus`` is off).
- Rows with data whose ``<form>_complete`` is below the mapping's ``minimum_form_status`` are skipped and
  counted in the report, never silently.
- Data of a mapped instrument in an event the mapping does not list for it is an error.
- A raw code with no entry in a column's ``values`` is an error naming the codes that are mapped.
- Date-times (``datetime_*`` validation) carry no zone in REDCap; they are read in the mapping's
  ``timezone`` and converted to UTC (`localize_datetime`); a time skipped or repeated there by a
  daylight-saving change is an error (D-19.1071).
- Fields with data that feed no column and are not in ``ignore_fields``: an error when
  ``unmapped_fields: error`` (default), listed as ignored when ``ignore``. Calc fields are derived by REDCap:
  when unmapped they are listed as ignored, never an error.
- The data access groups (``redcap_data_access_group``, usually the site): read by a mapped column, ignored
  when listed under ``ignore_fields``, else checked against the subjects' ``site_id``, else an unmapped
  field (`_data_access_groups`, decisions D-19.77).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cartrial.allowed import choice_text
from cartrial.columns import FIRST_DATA_ROW, time_zone_of
from cartrial.errors import InputError, Problem
from cartrial.store.fields import localize_datetime
from cartrial.store.importing.forms import FORMS, FORMS_BY_NAME
from cartrial.store.importing.redcap_dictionary import (
    DATE_LAYOUTS,
    FORM_STATUS_CODES,
    DataDictionary,
    checkbox_column,
)
from cartrial.store.importing.redcap_mapping import (
    ColumnMapping,
    FormMapping,
    FormStatus,
    RedcapMapping,
    UnmappedFields,
)
from cartrial.store.importing.redcap_records import (
    CHECKBOX_VALUES,
    DAG_COLUMN,
    EVENT_COLUMN,
    REPEAT_INSTANCE_COLUMN,
    REPEAT_INSTRUMENT_COLUMN,
    RedcapExport,
    without_identifier_values,
)
from cartrial.store.importing.validation import FormData


@dataclass
class InstrumentSummary:
    """What happened to one mapped instrument's rows."""

    form: str
    instrument: str
    rows_with_data: int = 0
    rows_imported: int = 0
    skipped_below_status: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    blank_rows_with_status: int = 0
    """Rows of the instrument with a ``<form>_complete`` status but no data (form opened, nothing entered):
    not imported, counted here."""


@dataclass
class RedcapSummary:
    """Reconciliation of a REDCap export against its mapping."""

    rows_in_export: int
    records: int
    instruments: list[InstrumentSummary]
    ignored_fields: dict[str, int]
    """Ignored field → number of non-blank cells (nothing the user exported goes unmentioned)."""
    unmapped_instruments: dict[str, int]
    """Instruments of the dictionary that no form maps, with their rows holding data."""
    options: dict[str, str]
    missing_codes_found: dict[str, int] = field(default_factory=dict)
    """Missing-data code → number of cells blanked because they held it."""
    data_access_group: str = ""
    """What the export's ``redcap_data_access_group`` values were used for ('' when it holds none): read by
    a mapped column, checked against the subjects' site, or ignored (decisions D-19.77)."""


def check_mapping(mapping: RedcapMapping, dictionary: DataDictionary, file: str) -> list[Problem]:
    """Check the mapping against the data dictionary and the cartrial forms; every problem at once."""
    problems: list[Problem] = []
    instruments = set(dictionary.forms)
    for form_name, form in mapping.forms.items():
        where = f"forms.{form_name}"
        spec = FORMS_BY_NAME.get(form_name)
        if spec is None:
            problems.append(
                Problem("not a cartrial form", file=file, field=where, allowed=choice_text(FORMS_BY_NAME))
            )
            continue
        if form.instrument not in instruments:
            problems.append(
                Problem(
                    "not an instrument of the data dictionary",
                    file=file,
                    field=f"{where}.instrument",
                    value=form.instrument,
                    allowed=choice_text(dictionary.forms),
                )
            )
            continue
        for event in form.events or []:
            if mapping.events and event not in mapping.events:
                problems.append(
                    Problem(
                        "event not listed under 'events'",
                        file=file,
                        field=f"{where}.events",
                        value=event,
                        allowed=choice_text(mapping.events),
                    )
                )
        known = {c.name: c for c in spec.columns()}
        for column in known.values():
            if column.required and column.name not in form.columns:
                problems.append(
                    Problem(
                        f"required column of form '{form_name}' is not mapped",
                        file=file,
                        field=f"{where}.columns",
                        value=column.name,
                    )
                )
        if spec.table == "edss_assessment" and not {"ambulation", "method"} & set(form.columns):
            # no method column: every row is Neurostatus, which needs the ambulation score (D-19.746)
            problems.append(
                Problem(
                    f"column ambulation of form '{form_name}' is not mapped: every row is scored by "
                    "Neurostatus when no method column is mapped",
                    file=file,
                    field=f"{where}.columns",
                    value="ambulation",
                    allowed="map ambulation, or map method (a kurtzke row reads assistance and "
                    "walking_distance_m)",
                )
            )
        for column_name, source in form.columns.items():
            here = f"{where}.columns.{column_name}"
            if column_name not in known:
                problems.append(
                    Problem(
                        f"not a column of form '{form_name}'",
                        file=file,
                        field=here,
                        allowed=choice_text(known),
                    )
                )
            problems.extend(_check_source(source, form, dictionary, mapping, file, here))
    for name in mapping.ignore_fields:
        if name not in dictionary.fields and name != DAG_COLUMN:
            problems.append(
                Problem(
                    "ignored field is not in the data dictionary",
                    file=file,
                    field="ignore_fields",
                    value=name,
                )
            )
    return problems


def _check_source(
    source: ColumnMapping,
    form: FormMapping,
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    file: str,
    here: str,
) -> list[Problem]:
    problems: list[Problem] = []
    name = source.field or source.checkbox
    if name is not None:
        spec = dictionary.fields.get(name)
        if spec is None:
            return [Problem("not a field of the data dictionary", file=file, field=here, value=name)]
        if name != dictionary.record_id_field and spec.form != form.instrument:
            problems.append(
                Problem(
                    f"field belongs to instrument '{spec.form}', not '{form.instrument}'",
                    file=file,
                    field=here,
                    value=name,
                )
            )
        if source.field is not None and spec.field_type == "checkbox":
            problems.append(
                Problem(
                    "a checkbox field is mapped with 'checkbox:', not 'field:'",
                    file=file,
                    field=here,
                    value=name,
                )
            )
        if source.checkbox is not None and spec.field_type != "checkbox":
            problems.append(Problem("not a checkbox field", file=file, field=here, value=name))
        if source.code is not None and source.code not in spec.choices:
            problems.append(
                Problem(
                    "not a code of this checkbox",
                    file=file,
                    field=here,
                    value=source.code,
                    allowed=choice_text(spec.choices),
                )
            )
        if source.values is not None and spec.choices:
            for code in source.values:
                if code not in spec.choices:
                    problems.append(
                        Problem(
                            f"'values' has a code that field '{name}' does not have",
                            file=file,
                            field=f"{here}.values",
                            value=code,
                            allowed=choice_text(spec.choices),
                        )
                    )
    if source.source in ("visit", "day") and not mapping.events:
        problems.append(Problem("'visit'/'day' sources need an 'events' section", file=file, field=here))
    return problems


def mapped_columns(dictionary: DataDictionary, mapping: RedcapMapping) -> dict[str, str]:
    """The export columns the mapping reads, each with the first mapping entry that reads it: a mapped field
    (each code column of a mapped checkbox), ``redcap_event_name`` when the mapping lists a form's events or
    reads the event, visit or day, ``redcap_repeat_instance`` and ``redcap_data_access_group`` when a column
    reads them, each mapped instrument's ``<form>_complete`` when ``minimum_form_status`` is above
    incomplete (D-19.1074). `read_records` refuses an export without one of them (never read as blank,
    which would clear stored values; docs/science/decisions.md D-19.50)."""
    needed: dict[str, str] = {}
    for form_name, form in mapping.forms.items():
        if mapping.minimum_form_status is not FormStatus.INCOMPLETE:
            # a status the minimum reads is never taken as 0 Incomplete when absent (D-19.1074)
            needed.setdefault(f"{form.instrument}_complete", "minimum_form_status")
        if form.events is not None:
            needed.setdefault(EVENT_COLUMN, f"forms.{form_name}.events")
        for column_name, source in form.columns.items():
            here = f"forms.{form_name}.columns.{column_name}"
            if source.field is not None and source.field != dictionary.record_id_field:
                needed.setdefault(source.field, here)
            elif source.checkbox is not None and source.checkbox in dictionary.fields:
                spec = dictionary.fields[source.checkbox]
                for code in [source.code] if source.code is not None else list(spec.choices):
                    needed.setdefault(checkbox_column(spec.name, code), here)
            elif source.source in ("redcap_event_name", "visit", "day"):
                needed.setdefault(EVENT_COLUMN, here)
            elif source.source == "redcap_repeat_instance":
                needed.setdefault(REPEAT_INSTANCE_COLUMN, here)
            elif source.source == "redcap_data_access_group":
                needed.setdefault(DAG_COLUMN, here)
    return needed


def convert_export(
    export: RedcapExport, dictionary: DataDictionary, mapping: RedcapMapping, sha256: str
) -> tuple[list[FormData], RedcapSummary, list[Problem]]:
    """Split the export into cartrial forms (see the module docstring); returns forms, summary, problems."""
    frame = export.frame
    n = len(frame)
    name = export.file
    problems: list[Problem] = []
    blank_series = pd.Series([""] * n, dtype=object)
    instrument_col = frame.get(REPEAT_INSTRUMENT_COLUMN, blank_series)
    event_col = frame.get(EVENT_COLUMN, blank_series)
    instance_col = frame.get(REPEAT_INSTANCE_COLUMN, blank_series)
    columns_of = _instrument_columns(export, dictionary)
    forms: list[FormData] = []
    summaries: list[InstrumentSummary] = []
    used_fields: set[str] = {dictionary.record_id_field}
    for form_name, form in mapping.forms.items():
        spec = FORMS_BY_NAME[form_name]
        summary = InstrumentSummary(form=form_name, instrument=form.instrument)
        summaries.append(summary)
        has_data = _has_data(export, columns_of.get(form.instrument, []))
        candidates = ((instrument_col == form.instrument) | (instrument_col == "")).to_numpy() & has_data
        summary.rows_with_data = int(candidates.sum())
        status_column = f"{form.instrument}_complete"
        status = frame.get(status_column, blank_series)
        own_rows = ((instrument_col == form.instrument) | (instrument_col == "")).to_numpy()
        summary.blank_rows_with_status = int((own_rows & ~has_data & (status != "").to_numpy()).sum())
        for code, label in FORM_STATUS_CODES.items():
            count = int((status[candidates] == code).sum())
            if count:
                summary.status_counts[label] = count
        if form.events is not None:
            outside = candidates & ~event_col.isin(form.events).to_numpy()
            for i in np.flatnonzero(outside):
                problems.append(
                    Problem(
                        f"instrument '{form.instrument}' has data in an event the mapping does not list for "
                        f"form '{form_name}'",
                        file=name,
                        row=int(i) + 2,
                        field=EVENT_COLUMN,
                        value=str(event_col.iat[i]),
                        allowed=choice_text(form.events),
                    )
                )
            candidates &= ~outside
        status_codes = pd.to_numeric(status.replace("", "0"), errors="coerce").fillna(0).to_numpy()
        below = candidates & (status_codes < mapping.minimum_form_status.code)
        summary.skipped_below_status = int(below.sum())
        selected = np.flatnonzero(candidates & ~below)
        summary.rows_imported = len(selected)
        out: dict[str, list[str]] = {}
        source_columns: dict[str, str] = {}
        for column_name, source in form.columns.items():
            values, label, column_problems = _column_values(
                export, dictionary, mapping, source, selected, event_col, instance_col
            )
            out[column_name] = values
            source_columns[column_name] = label
            problems.extend(column_problems)
            if source.field:
                used_fields.add(source.field)
            if source.checkbox:
                used_fields.add(source.checkbox)
        form_frame = pd.DataFrame(out, dtype=object) if out else pd.DataFrame(index=range(len(selected)))
        forms.append(
            FormData(
                spec=spec,
                frame=form_frame.reset_index(drop=True),
                file=name,
                sha256=sha256,
                source_rows=export.rows(selected),
                source_columns=source_columns,
            )
        )
    ignored: dict[str, int] = {}
    for column, (field_spec, _code) in export.data_columns.items():
        if field_spec.name in used_fields:
            continue
        filled = int(_has_data(export, [column]).sum())
        if field_spec.name in mapping.ignore_fields or field_spec.derived:
            ignored[field_spec.name] = ignored.get(field_spec.name, 0) + filled
        elif filled:
            if mapping.unmapped_fields is UnmappedFields.ERROR:
                problems.append(
                    Problem(
                        f"field '{field_spec.name}' (instrument '{field_spec.form}') has {filled} value(s) "
                        "but feeds no cartrial column",
                        file=name,
                        field=column,
                        allowed="map it under 'forms', list it under 'ignore_fields', or set "
                        "'unmapped_fields: ignore'",
                    )
                )
            else:
                ignored[field_spec.name] = ignored.get(field_spec.name, 0) + filled
    dag_use, dag_problems = _data_access_groups(export, mapping, forms)
    problems.extend(dag_problems)
    if dag_use.startswith("ignored"):
        ignored[DAG_COLUMN] = int((frame[DAG_COLUMN] != "").sum())
    mapped_instruments = {form.instrument for form in mapping.forms.values()}
    unmapped_instruments: dict[str, int] = {}
    for instrument, columns in columns_of.items():
        if instrument in mapped_instruments:
            continue
        filled = int(_has_data(export, columns).sum())
        if filled:
            unmapped_instruments[instrument] = filled
    summary_out = RedcapSummary(
        rows_in_export=n,
        records=int(frame[export.record_id_column].nunique()),
        instruments=summaries,
        ignored_fields=ignored,
        unmapped_instruments=unmapped_instruments,
        options=mapping.options(),
        missing_codes_found=dict(export.missing_codes_found),
        data_access_group=dag_use,
    )
    # written in the forms' dependency order (sites, subjects, then their records), whatever order the
    # mapping lists them in: a mapping with `adverse_events` before `subjects` failed on a new study
    order = {spec.name: i for i, spec in enumerate(FORMS)}
    forms.sort(key=lambda form: order[form.spec.name])
    return forms, summary_out, without_identifier_values(problems, dictionary)


DAG_ALLOWED = (
    "map the site from it (forms.subjects.columns.site_id: {source: redcap_data_access_group, values: "
    "{<group>: <site id>}}) | list redcap_data_access_group under 'ignore_fields'"
)
"""What may be done with an export's data access groups (decisions D-19.77)."""


def _data_access_groups(
    export: RedcapExport, mapping: RedcapMapping, forms: list[FormData]
) -> tuple[str, list[Problem]]:
    """What the export's data access groups (REDCap DAGs, usually the site) are used for, and the problems
    (decisions D-19.77); never silently nothing:

    - a mapped column reads them (`source: redcap_data_access_group`): used there (an unknown site is
      refused by the import's site check, a group without a `values` entry by the translation);
    - listed under `ignore_fields`: ignored, counted in the report;
    - else, when the subjects' `site_id` comes from a field or a constant: each subject row's group must
      name the same site (without case: REDCap's unique group names are lower case); a group naming another
      site is an error at its row;
    - else: an error when `unmapped_fields: error` (the default), ignored and counted when `ignore`.

    A blank group (a record in no group) is never a problem. Messages name the file, row and column, never
    the group or the site."""
    frame = export.frame
    name = export.file
    if DAG_COLUMN not in frame or not (frame[DAG_COLUMN] != "").any():
        return "", []
    groups = frame[DAG_COLUMN]
    filled = int((groups != "").sum())
    readers = [
        f"forms.{form_name}.columns.{column}"
        for form_name, form in mapping.forms.items()
        for column, source in form.columns.items()
        if source.source == "redcap_data_access_group"
    ]
    if readers:
        return f"read by {', '.join(readers)}", []
    if DAG_COLUMN in mapping.ignore_fields:
        return f"ignored ({filled} values, listed under ignore_fields)", []
    subjects = mapping.forms.get("subjects")
    site = None if subjects is None else subjects.columns.get("site_id")
    data = next((f for f in forms if f.spec.name == "subjects"), None)
    if site is not None and data is not None and "site_id" in data.frame:
        problems: list[Problem] = []
        where = f"forms.subjects.columns.site_id ({'constant' if site.constant is not None else 'field'})"
        rows = (
            data.source_rows if data.source_rows is not None else np.arange(len(data.frame)) + FIRST_DATA_ROW
        )
        for site_id, row in zip(data.frame["site_id"].tolist(), rows.tolist(), strict=True):
            group = str(groups.iat[int(row) - FIRST_DATA_ROW])
            if group and site_id and group.lower() != str(site_id).lower():
                problems.append(
                    Problem(
                        "the record's data access group names another site than its site_id, read from "
                        + where,
                        file=name,
                        row=int(row),
                        field=DAG_COLUMN,
                        allowed="the subject's site (case aside) | " + DAG_ALLOWED,
                    )
                )
        return f"checked against {where}", problems
    if mapping.unmapped_fields is UnmappedFields.IGNORE:
        return f"ignored ({filled} values, unmapped_fields: ignore)", []
    return "", [
        Problem(
            f"column '{DAG_COLUMN}' has {filled} value(s) (data access groups: usually the site) but "
            "feeds no cartrial column",
            file=name,
            field=DAG_COLUMN,
            allowed=DAG_ALLOWED + " | set 'unmapped_fields: ignore'",
        )
    ]


def _has_data(export: RedcapExport, columns: list[str]) -> np.ndarray:
    """Rows where any of `columns` holds data: a non-blank value, or a ticked checkbox (REDCap exports
    unticked boxes as 0 even on rows where the form was never opened, so 0 is not data)."""
    frame = export.frame
    out = np.zeros(len(frame), dtype=bool)
    for column in columns:
        if column == export.record_id_column:
            continue
        cells = frame[column]
        if export.data_columns[column][0].field_type == "checkbox":
            out |= cells.str.lower().isin(["1", "checked"]).to_numpy()
        else:
            out |= (cells != "").to_numpy()
    return out


def _instrument_columns(export: RedcapExport, dictionary: DataDictionary) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for column, (spec, _code) in export.data_columns.items():
        out.setdefault(spec.form, []).append(column)
    return out


def _column_values(
    export: RedcapExport,
    dictionary: DataDictionary,
    mapping: RedcapMapping,
    source: ColumnMapping,
    selected: np.ndarray,
    event_col: pd.Series,
    instance_col: pd.Series,
) -> tuple[list[str], str, list[Problem]]:
    frame = export.frame
    name = export.file
    problems: list[Problem] = []
    rows = selected.tolist()
    if source.constant is not None:
        return [source.constant] * len(rows), f"constant {source.constant!r}", problems
    if source.source is not None:
        if source.source == "record_id":
            column = frame[export.record_id_column]
            return [str(column.iat[i]) for i in rows], export.record_id_column, problems
        if source.source == "redcap_event_name":
            return [str(event_col.iat[i]) for i in rows], EVENT_COLUMN, problems
        if source.source == "redcap_repeat_instance":
            return [str(instance_col.iat[i]) for i in rows], REPEAT_INSTANCE_COLUMN, problems
        if source.source == "redcap_data_access_group":
            column = frame[DAG_COLUMN] if DAG_COLUMN in frame else pd.Series([""] * len(frame))
            return _translate([str(column.iat[i]) for i in rows], rows, source, DAG_COLUMN, name, problems)
        values: list[str] = []
        for i in rows:
            event = str(event_col.iat[i])
            visit = mapping.events.get(event)
            if visit is None:
                problems.append(
                    Problem(
                        "event not listed under the mapping's 'events'",
                        file=name,
                        row=i + 2,
                        field=EVENT_COLUMN,
                        value=event,
                        allowed=choice_text(mapping.events),
                    )
                )
                values.append("")
            elif source.source == "visit":
                values.append(visit.visit)
            else:
                values.append("" if visit.day is None else str(visit.day))
        return values, f"{EVENT_COLUMN} → {source.source}", problems
    if source.checkbox is not None:
        spec = dictionary.fields[source.checkbox]
        codes = [source.code] if source.code is not None else list(spec.choices)
        ticked: dict[str, list[bool]] = {}
        for code in codes:
            column = checkbox_column(spec.name, code)  # `read_records(needed_columns=…)` refuses it missing
            cells = frame[column] if column in frame else pd.Series([""] * len(frame))
            ticked[code] = [CHECKBOX_VALUES.get(str(cells.iat[i]).lower(), False) for i in rows]
        if source.code is not None:
            label = checkbox_column(spec.name, source.code)  # the export's column (D-19.1072)
            return ["true" if t else "false" for t in ticked[source.code]], label, problems
        joined: list[str] = []
        for position, i in enumerate(rows):
            chosen = [code for code in codes if ticked[code][position]]
            translated: list[str] = []
            for code in chosen:
                if source.values is None:
                    translated.append(code)
                elif code in source.values:
                    translated.append(source.values[code])
                else:
                    problems.append(
                        Problem(
                            "checked code has no cartrial value in the mapping",
                            file=name,
                            row=i + 2,
                            field=checkbox_column(spec.name, code),
                            value=code,
                            allowed=choice_text(source.values),
                        )
                    )
            joined.append(";".join(t for t in translated if t))
        return joined, spec.name, problems
    assert source.field is not None
    spec = dictionary.fields[source.field]
    cells = frame[source.field] if source.field in frame else pd.Series([""] * len(frame))
    raw = [str(cells.iat[i]) for i in rows]
    if spec.validation in DATE_LAYOUTS and spec.validation.startswith("datetime"):
        # read in the mapping's zone by the web form's one rule (`localize_datetime`): a time skipped or
        # repeated by a daylight-saving change is refused, never given a guessed offset (D-19.1071)
        local = raw
        raw = []
        if time_zone_of(mapping.timezone) is None:  # `load_mapping` refuses it: never blamed on a DST change
            raise InputError(
                Problem(
                    "unknown time zone",
                    field="timezone",
                    value=mapping.timezone,
                    allowed="an IANA place zone such as UTC or Europe/Paris",
                )
            )
        for value, i in zip(local, rows, strict=True):
            utc = "" if value == "" else localize_datetime(value, mapping.timezone)
            if utc is None:
                problems.append(
                    Problem(
                        "this local date-time does not exist, or exists twice, in time zone "
                        f"{mapping.timezone} (a daylight-saving change)",
                        file=name,
                        row=i + FIRST_DATA_ROW,
                        field=spec.name,
                        allowed="a time outside the hour skipped or repeated by the change; for such a "
                        "time, correct it in REDCap or import it through a template with an offset",
                    )
                )
                utc = ""
            raw.append(utc)
    elif spec.validation.endswith("_comma_decimal"):
        raw = [value.replace(",", ".") for value in raw]
    return _translate(raw, rows, source, spec.name, name, problems)


def _translate(
    raw: list[str], rows: list[int], source: ColumnMapping, label: str, file: str, problems: list[Problem]
) -> tuple[list[str], str, list[Problem]]:
    if source.values is None:
        return raw, label, problems
    out: list[str] = []
    for value, i in zip(raw, rows, strict=True):
        if value == "":
            out.append("")
        elif value in source.values:
            out.append(source.values[value])
        else:
            problems.append(
                Problem(
                    "code has no cartrial value in the mapping",
                    file=file,
                    row=i + 2,
                    field=label,
                    value=value,
                    allowed=choice_text(source.values),
                )
            )
            out.append("")
    return out, label, problems
