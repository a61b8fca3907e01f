"""Intake of patients' requests from exports of web forms and spreadsheets (CSV, XLSX).

* :mod:`~mt_access.intake.tabular`: reading the files and parsing cell values;
* :mod:`~mt_access.intake.forms`: the form mapping (the policy's ``intake:`` section, presets);
* :mod:`~mt_access.intake.importer`: rows to requests, problems, duplicates (it runs the
  import; every name it offered is still importable from it), with
  :mod:`~mt_access.intake.records` (what an import returns), :mod:`~mt_access.intake.cells`
  (reading a field's cells), :mod:`~mt_access.intake.communes` (finding the commune),
  :mod:`~mt_access.intake.headers` (which columns each field reads),
  :mod:`~mt_access.intake.duplicates` (rows repeating a person) and
  :mod:`~mt_access.intake.rejections` (the rejections report).

A file of GPs (``mt-access medecin importer``) is read with these readers by
:mod:`mt_access.gp_file`, which checks it against the register's GPs.
"""

from __future__ import annotations

from mt_access.intake.forms import (
    FIELDS,
    FieldSpec,
    FieldType,
    FormField,
    FormMapping,
    available_presets,
    default_mapping,
    form_mapping,
    header_key,
    load_preset,
)
from mt_access.intake.importer import (
    DuplicateReason,
    IntakeDuplicate,
    IntakeProblem,
    IntakeRecord,
    IntakeResult,
    KnownPerson,
    import_file,
    import_table,
    neutralize_cell,
    row_digest,
    write_rejections,
)
from mt_access.intake.tabular import (
    IntakeError,
    Row,
    Table,
    normalize_text,
    parse_choice,
    parse_date,
    parse_decimal,
    parse_int,
    parse_yes_no,
    read_csv,
    read_table,
    read_xlsx,
)

__all__ = [
    "FIELDS",
    "DuplicateReason",
    "FieldSpec",
    "FieldType",
    "FormField",
    "FormMapping",
    "IntakeDuplicate",
    "IntakeError",
    "IntakeProblem",
    "IntakeRecord",
    "IntakeResult",
    "KnownPerson",
    "Row",
    "Table",
    "available_presets",
    "default_mapping",
    "form_mapping",
    "header_key",
    "import_file",
    "import_table",
    "load_preset",
    "neutralize_cell",
    "normalize_text",
    "parse_choice",
    "parse_date",
    "parse_decimal",
    "parse_int",
    "parse_yes_no",
    "read_csv",
    "read_table",
    "read_xlsx",
    "row_digest",
    "write_rejections",
]
