"""CDISC submission datasets: SDTM (SDTMIG 3.4) and ADaM (ADaMIG 1.3) of a study snapshot, as SAS XPORT v5
and Dataset-JSON v1.1 with Define-XML 2.1 (docs/cdisc.md).

The mapping is data (`specs/sdtm/*.yaml`, `specs/adam/*.yaml`, `ct/codelists.yaml`, loaded by
`cartrial.cdisc.spec`); the builders read the store snapshot and the analysis layer and add no scientific
rule.

Public API: `export_cdisc(snapshot, analysis, out_dir)`, `check_folder(folder)` (with the data issues:
`check_folder_issues`), `build_all`, `validate_dataset`, `dataset_specs`, `codelists`.
"""

from cartrial.cdisc.export import (
    CdiscValidationError,
    ExportResult,
    build_all,
    check_folder,
    check_folder_issues,
    export_cdisc,
    read_sites,
)
from cartrial.cdisc.spec import Codelist, DatasetSpec, Variable, codelists, dataset_specs
from cartrial.cdisc.validate import Finding, validate_dataset

__all__ = [
    "CdiscValidationError",
    "Codelist",
    "DatasetSpec",
    "ExportResult",
    "Finding",
    "Variable",
    "build_all",
    "check_folder",
    "check_folder_issues",
    "codelists",
    "dataset_specs",
    "export_cdisc",
    "read_sites",
    "validate_dataset",
]
