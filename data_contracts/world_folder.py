"""The world folder: its format (``docs/world-format.md``) and the one reader of its files.

A world folder is what ``installment generate`` writes (``models.world``) and what the rest
of the project reads: the ingest into the database, the data-contract validation, training,
evaluation, the bureau simulator, the demo and the benchmarks. They all take the folder's
format version, file names and Parquet schemas from here and read its files through the
functions below, so there is one format version and one place that knows the layout.

The module sits below both sides: ``scoring`` (serving) and ``models`` (the risk team) import
it, and it imports neither. pandas is imported only by :func:`read_frame`, so a reader of
Arrow tables or rows (the bureau simulator) starts without it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from scoring.domain.errors import EngineError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FORMAT_VERSION",
    "MANIFEST",
    "PROTECTED_FILE",
    "SCHEMAS",
    "TRUTH_FILE",
    "WorldError",
    "WorldFormatError",
    "file_sha256",
    "read_arrow",
    "read_checked",
    "read_frame",
    "read_manifest",
    "read_rows",
]

# The version of the layout below, written to and checked in every manifest.json.
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROTECTED_FILE = "protected/attributes.parquet"
TRUTH_FILE = "truth/applications_truth.parquet"
_REGENERATE = "regenerate it with `installment generate`"

_DATE = pa.date32()
_TIMESTAMP = pa.timestamp("us", tz="UTC")
_EUR = pa.float64()

SCHEMAS: dict[str, pa.Schema] = {
    "customers.parquet": pa.schema(
        [
            ("personal_code", pa.string()),
            ("birth_date", _DATE),
            ("customer_since", _DATE),
            ("relationship_ended_on", _DATE),
            ("segment", pa.string()),
        ]
    ),
    "invoices.parquet": pa.schema(
        [
            ("invoice_id", pa.string()),
            ("personal_code", pa.string()),
            ("issued_on", _DATE),
            ("due_on", _DATE),
            ("amount_eur", _EUR),
            ("paid_eur", _EUR),
            ("paid_in_full_on", _DATE),
            ("reminders_sent", pa.int64()),
            ("sent_to_collection_on", _DATE),
        ]
    ),
    "payments.parquet": pa.schema(
        [
            ("payment_id", pa.string()),
            ("invoice_id", pa.string()),
            ("paid_on", _DATE),
            ("amount_eur", _EUR),
        ]
    ),
    "bureau_reports.parquet": pa.schema(
        [
            ("report_id", pa.string()),
            ("personal_code", pa.string()),
            ("requested_at", _TIMESTAMP),
            ("score", pa.int64()),
            ("risk_class", pa.string()),
            ("pd_band_low", pa.float64()),
            ("pd_band_high", pa.float64()),
            ("open_default_count", pa.int64()),
            ("closed_default_count", pa.int64()),
        ]
    ),
    "bureau_default_entries.parquet": pa.schema(
        [
            ("report_id", pa.string()),
            ("creditor_sector", pa.string()),
            ("amount_eur", _EUR),
            ("started_on", _DATE),
            ("ended_on", _DATE),
        ]
    ),
    "applications.parquet": pa.schema(
        [
            ("application_id", pa.string()),
            ("personal_code", pa.string()),
            ("applied_at", _TIMESTAMP),
            ("amount_eur", _EUR),
            ("term_months", pa.int64()),
            ("product_category", pa.string()),
            ("channel", pa.string()),
            ("bureau_report_id", pa.string()),
            ("defaulted_12m", pa.bool_()),
        ]
    ),
    "protected/attributes.parquet": pa.schema(
        [
            ("personal_code", pa.string()),
            ("sex", pa.string()),
            ("language", pa.string()),
            ("region", pa.string()),
        ]
    ),
    "truth/applications_truth.parquet": pa.schema(
        [
            ("application_id", pa.string()),
            ("true_pd", pa.float64()),
            ("latent_creditworthiness", pa.float64()),
        ]
    ),
}


class WorldError(EngineError):
    """Base of every error raised by ``models.world`` and by this module."""


class WorldFormatError(WorldError, InvalidInputError):
    """A world folder is missing, incomplete, tampered with or of an unknown format."""


def read_manifest(path: Path) -> dict:
    """The parsed ``manifest.json`` of a world folder, checked for shape and format version."""
    path = Path(path)
    if not path.is_dir():
        raise WorldFormatError(f"{path} is not a folder; create one with `installment generate`")
    manifest_file = path / MANIFEST
    if not manifest_file.is_file():
        raise WorldFormatError(f"{path} has no {MANIFEST}, so it is not a world folder")
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise WorldFormatError(f"{path}: {MANIFEST} is not valid JSON ({error.msg})") from None
    except UnicodeDecodeError as error:
        message = f"not UTF-8 text: {error.reason}"
        raise WorldFormatError(f"{path}: {MANIFEST} is not valid JSON ({message})") from None
    if not isinstance(manifest, dict):
        raise WorldFormatError(f"{path}: {MANIFEST} must hold a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise WorldFormatError(
            f"{path}: format_version {version!r} is not supported (expected {FORMAT_VERSION}); "
            f"{_REGENERATE}"
        )
    missing = [key for key in ("seed", "customers", "as_of", "files") if key not in manifest]
    if missing:
        raise WorldFormatError(f"{path}: {MANIFEST} lacks {', '.join(missing)}; {_REGENERATE}")
    if not isinstance(manifest["files"], dict):
        raise WorldFormatError(f"{path}: {MANIFEST} 'files' must be an object")
    try:
        date.fromisoformat(str(manifest["as_of"]))
    except ValueError:
        raise WorldFormatError(f"{path}: {MANIFEST} as_of is not a YYYY-MM-DD date") from None
    return manifest


def read_checked(folder: Path, name: str, manifest: dict) -> pa.Table:
    """File ``name`` of a generated world, checked against ``manifest`` and the format.

    The manifest must list the file; its sha256 and row count must match, and its columns
    are cast to the exact schema of :data:`SCHEMAS`.
    """
    path = Path(folder)
    file = path / name
    entry = manifest["files"].get(name)
    if not isinstance(entry, dict) or "sha256" not in entry:
        raise WorldFormatError(f"{path}: manifest does not list {name}; {_REGENERATE}")
    if not file.is_file():
        raise WorldFormatError(f"{path}: {name} is missing; {_REGENERATE}")
    if file_sha256(file) != entry["sha256"]:
        raise WorldFormatError(
            f"{path}: {name} does not match its sha256 in the manifest (changed or "
            f"damaged); {_REGENERATE}"
        )
    table = _read_table(file, name, path)
    if table.num_rows != entry.get("rows"):
        raise WorldFormatError(
            f"{path}: {name} has {table.num_rows} rows, manifest says {entry.get('rows')}"
        )
    return table


def read_arrow(folder: Path, name: str, *, columns: list[str] | None = None) -> pa.Table:
    """File ``name`` of a world folder as an Arrow table, as stored (no format check)."""
    return pq.read_table(Path(folder) / name, columns=columns)


def read_frame(folder: Path, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
    """File ``name`` of a world folder as a pandas DataFrame, as stored (no format check)."""
    import pandas as pd

    return pd.read_parquet(Path(folder) / name, columns=columns)


def read_rows(folder: Path, name: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """``columns`` of file ``name`` as a list of rows, without importing pandas.

    Timestamps come as their raw integers (microseconds since the epoch), which keep their
    order; converting timezone-aware values to Python would import pandas.
    """
    path = Path(folder) / name
    if not path.is_file():
        raise WorldFormatError(f"world folder has no {path.name} (expected at {path})")
    # ParquetFile avoids pyarrow.dataset, whose import pulls in pandas and slows start-up.
    parquet = pq.ParquetFile(path)
    missing = [column for column in columns if column not in parquet.schema_arrow.names]
    if missing:
        raise WorldFormatError(f"{path.name} lacks column(s): {', '.join(missing)}")
    table = parquet.read(columns=list(columns))
    for index, column in enumerate(table.columns):
        if pa.types.is_timestamp(column.type):
            raw = pa.chunked_array([chunk.view(pa.int64()) for chunk in column.chunks], pa.int64())
            table = table.set_column(index, table.field(index).name, raw)
    return table.to_pylist()


def _read_table(file: Path, name: str, folder: Path) -> pa.Table:
    try:
        table = pq.read_table(file)
    except (pa.ArrowInvalid, OSError) as error:
        raise WorldFormatError(f"{folder}: {name} is not readable Parquet ({error})") from None
    expected = SCHEMAS[name]
    if table.schema.names != expected.names:
        raise WorldFormatError(
            f"{folder}: {name} has columns {table.schema.names}, the format needs {expected.names}"
        )
    try:
        return table.cast(expected)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise WorldFormatError(f"{folder}: {name} has wrong column types ({error})") from None


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file, as manifest.json lists it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
