"""Study-data import: CSV templates and REDCap exports, validated, atomic, idempotent and reconciled.

Public API:

- `import_templates(url, directory, user, dry_run=False, reason=None, progress=None) -> ImportReport`
- `import_redcap(url, records, dictionary, mapping, user, dry_run=False, reason=None, progress=None)`
- `FORMS` / `FORMS_BY_NAME`: the importable forms (template name, table, columns, natural key)
- REDCap pieces: `read_dictionary`, `read_records`, `load_mapping`, `RedcapMapping`, `convert_export`
- `synthetic_study` / `write_synthetic_study`: a valid synthetic study of any size (benchmarks, tests)

Rules and formats: docs/import.md; docs/science/data-standards.md §6 (REDCap) and §8 (audit).
"""

from cartrial.store.importing.forms import FORMS, FORMS_BY_NAME, FormColumn, FormSpec
from cartrial.store.importing.pipeline import (
    FormCounts,
    ImportReport,
    ManifestEntry,
    import_reason,
    import_redcap,
    import_templates,
    read_template_dir,
)
from cartrial.store.importing.redcap_convert import RedcapSummary, check_mapping, convert_export
from cartrial.store.importing.redcap_dictionary import DataDictionary, FieldSpec, read_dictionary
from cartrial.store.importing.redcap_mapping import RedcapMapping, load_mapping
from cartrial.store.importing.redcap_records import RedcapExport, read_records
from cartrial.store.importing.synthetic import synthetic_study, write_synthetic_study

__all__ = [
    "FORMS",
    "FORMS_BY_NAME",
    "DataDictionary",
    "FieldSpec",
    "FormColumn",
    "FormCounts",
    "FormSpec",
    "ImportReport",
    "ManifestEntry",
    "RedcapExport",
    "RedcapMapping",
    "RedcapSummary",
    "check_mapping",
    "convert_export",
    "import_reason",
    "import_redcap",
    "import_templates",
    "load_mapping",
    "read_dictionary",
    "read_records",
    "read_template_dir",
    "synthetic_study",
    "write_synthetic_study",
]
