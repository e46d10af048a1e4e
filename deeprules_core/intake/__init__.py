"""Data intake with provenance (Tips 1 and 4).

Read a table in any supported format (:func:`read_table`), or join a measurement matrix
with a sample sheet (:func:`read_matrix_with_sample_sheet`); store the exact bytes by
sha256 with a versioned :class:`Provenance` record and a Parquet cache (:func:`ingest`,
:func:`load_dataset`); suggest column roles (:func:`suggest_roles`); load a shipped
sample dataset (:func:`load_sample_dataset`).
"""

from ._ingest import DatasetInfo, dataset_info, ingest, ingest_pair, list_datasets, load_dataset
from ._join import JoinReport, join_matrix_and_sheet, read_matrix_with_sample_sheet
from ._provenance import (
    REQUIRED_FIELDS,
    Provenance,
    ProvenanceVersion,
    add_provenance_version,
    get_provenance,
    provenance_history,
    source_kind,
)
from ._readers import (
    SUPPORTED_EXTENSIONS,
    ReadResult,
    detect_format,
    max_upload_bytes,
    parse_table,
    read_and_hash,
    read_table,
    workbook_sheets,
)
from ._roles import RoleSuggestion, infer_task, looks_like_sequence, suggest_roles
from ._samples import SampleDataset, list_sample_datasets, load_sample_dataset, sample_data_dir

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "REQUIRED_FIELDS",
    "DatasetInfo",
    "JoinReport",
    "Provenance",
    "ProvenanceVersion",
    "ReadResult",
    "RoleSuggestion",
    "SampleDataset",
    "add_provenance_version",
    "dataset_info",
    "detect_format",
    "get_provenance",
    "ingest",
    "ingest_pair",
    "join_matrix_and_sheet",
    "list_datasets",
    "list_sample_datasets",
    "load_dataset",
    "load_sample_dataset",
    "looks_like_sequence",
    "max_upload_bytes",
    "parse_table",
    "provenance_history",
    "read_and_hash",
    "read_matrix_with_sample_sheet",
    "read_table",
    "sample_data_dir",
    "source_kind",
    "suggest_roles",
    "infer_task",
    "workbook_sheets",
]
