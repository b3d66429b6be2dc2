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
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from scoring.domain.errors import EngineError, InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "EXPORT_COLUMNS",
    "FORMAT_VERSION",
    "MANIFEST",
    "PROTECTED_FILE",
    "SCHEMAS",
    "TRUTH_FILE",
    "WorldError",
    "WorldFormatError",
    "check_export",
    "file_sha256",
    "read_arrow",
    "read_checked",
    "read_export",
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


# -- an export in this layout -------------------------------------------------------------
#
# ``installment ingest`` also loads folders exported from the company's own systems in this
# layout. Those are read more leniently than a generated world: an amount may be stored as a
# decimal or an integer, extra columns are ignored (a column absent from a file's spec is
# never read), and the manifest's sha256 and row counts are checked only where it lists
# them. The format version is checked as for every world.

_TEXT, _A_DATE, _A_TIMESTAMP, _MONEY, _INT, _NUMBER, _BOOL = (
    "text",
    "a date",
    "a UTC timestamp",
    "an amount",
    "an integer",
    "a number",
    "a boolean",
)

# file -> column -> (kind, nullable)
EXPORT_COLUMNS: dict[str, dict[str, tuple[str, bool]]] = {
    "customers.parquet": {
        "personal_code": (_TEXT, False),
        "customer_since": (_A_DATE, True),
        "relationship_ended_on": (_A_DATE, True),
        "segment": (_TEXT, True),
    },
    "invoices.parquet": {
        "invoice_id": (_TEXT, False),
        "personal_code": (_TEXT, False),
        "issued_on": (_A_DATE, False),
        "due_on": (_A_DATE, False),
        "amount_eur": (_MONEY, False),
        "paid_eur": (_MONEY, False),
        "paid_in_full_on": (_A_DATE, True),
        "reminders_sent": (_INT, False),
        "sent_to_collection_on": (_A_DATE, True),
    },
    "payments.parquet": {
        "payment_id": (_TEXT, False),
        "invoice_id": (_TEXT, False),
        "paid_on": (_A_DATE, False),
        "amount_eur": (_MONEY, False),
    },
    "bureau_reports.parquet": {
        "report_id": (_TEXT, False),
        "personal_code": (_TEXT, False),
        "requested_at": (_A_TIMESTAMP, False),
        "score": (_INT, False),
        "risk_class": (_TEXT, False),
        "pd_band_low": (_NUMBER, False),
        "pd_band_high": (_NUMBER, False),
        "open_default_count": (_INT, False),
        "closed_default_count": (_INT, False),
    },
    "bureau_default_entries.parquet": {
        "report_id": (_TEXT, False),
        "creditor_sector": (_TEXT, False),
        "amount_eur": (_MONEY, False),
        "started_on": (_A_DATE, False),
        "ended_on": (_A_DATE, True),
    },
    "applications.parquet": {
        "application_id": (_TEXT, False),
        "personal_code": (_TEXT, False),
        "applied_at": (_A_TIMESTAMP, False),
        "amount_eur": (_MONEY, False),
        "term_months": (_INT, False),
        "product_category": (_TEXT, False),
        "channel": (_TEXT, False),
        "bureau_report_id": (_TEXT, True),
        "defaulted_12m": (_BOOL, True),
    },
}

_KIND_CHECKS: dict[str, Callable[[pa.DataType], bool]] = {
    _TEXT: lambda t: pa.types.is_string(t) or pa.types.is_large_string(t),
    _A_DATE: pa.types.is_date,
    _A_TIMESTAMP: lambda t: pa.types.is_timestamp(t) and t.tz is not None,
    _MONEY: lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t) or pa.types.is_integer(t),
    _INT: pa.types.is_integer,
    _NUMBER: lambda t: pa.types.is_floating(t) or pa.types.is_decimal(t),
    _BOOL: pa.types.is_boolean,
}


def check_export(world_dir: Path) -> dict[str, Any]:
    """Check that an exported world folder has a readable manifest and well-formed files.

    Returns the manifest. Only the schemas are read, not the data.
    """
    world_dir = Path(world_dir)
    if not world_dir.exists():
        raise WorldFormatError(
            f"world folder {world_dir} does not exist; create one with "
            f"`installment generate --out {world_dir}`"
        )
    if not world_dir.is_dir():
        raise WorldFormatError(f"{world_dir} is a file, not a world folder")
    manifest = _export_manifest(world_dir)
    for name in EXPORT_COLUMNS:
        _check_export_schema(world_dir, name)
    return manifest


def read_export(world_dir: Path) -> dict[str, pa.Table]:
    """The operational files of an exported world, checked (never ``protected/`` or ``truth/``)."""
    manifest = check_export(world_dir)
    return {name: _read_export_file(Path(world_dir), name, manifest) for name in EXPORT_COLUMNS}


def _export_manifest(world_dir: Path) -> dict[str, Any]:
    path = world_dir / MANIFEST
    if not path.is_file():
        raise WorldFormatError(
            f"{world_dir} has no {MANIFEST}; is it a world folder "
            "(see docs/world-format.md, or `installment generate --out DIR`)?"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WorldFormatError(f"{path} is not valid JSON ({error})") from None
    if not isinstance(manifest, dict):
        raise WorldFormatError(f"{path} must hold a JSON object")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise WorldFormatError(
            f"{path} says format_version {version!r}; this version of installment "
            f"reads format {FORMAT_VERSION}"
        )
    if not isinstance(manifest.get("files", {}), dict):
        raise WorldFormatError(f"{path}: 'files' must be a JSON object")
    return manifest


def _check_export_schema(world_dir: Path, name: str) -> None:
    path = world_dir / name
    if not path.is_file():
        raise WorldFormatError(
            f"{path} is missing; a world folder needs {', '.join(EXPORT_COLUMNS)}"
        )
    spec = EXPORT_COLUMNS[name]
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as error:
        raise WorldFormatError(
            f"{path} is not a readable Parquet file ({_first_line(error)})"
        ) from None
    missing = [column for column in spec if column not in schema.names]
    if missing:
        raise WorldFormatError(f"{name} lacks column(s) {', '.join(missing)}")
    for column, (kind, _nullable) in spec.items():
        actual = schema.field(column).type
        if not _KIND_CHECKS[kind](actual):
            raise WorldFormatError(f"{name}: column {column} must hold {kind}, not {actual}")


def _read_export_file(world_dir: Path, name: str, manifest: dict[str, Any]) -> pa.Table:
    import pyarrow.compute as pc

    spec = EXPORT_COLUMNS[name]
    try:
        table = pq.read_table(world_dir / name, columns=list(spec))
    except (pa.ArrowException, OSError) as error:
        raise WorldFormatError(
            f"{world_dir / name} cannot be read ({_first_line(error)})"
        ) from None
    for column, (kind, nullable) in spec.items():
        values = table.column(column)
        if not nullable and values.null_count:
            raise WorldFormatError(
                f"{name}: column {column} has {values.null_count} empty value(s)"
            )
        if kind in (_MONEY, _NUMBER) and pa.types.is_floating(values.type):
            finite = pc.sum(pc.is_finite(values)).as_py() or 0
            bad = len(values) - values.null_count - finite
            if bad:
                raise WorldFormatError(f"{name}: column {column} has {bad} non-finite value(s)")
    listed = manifest.get("files", {}).get(name)
    if not isinstance(listed, dict):
        return table
    if "sha256" in listed and file_sha256(world_dir / name) != listed["sha256"]:
        raise WorldFormatError(
            f"{name} does not match its sha256 in {MANIFEST}; the file was changed or "
            "damaged after the world was written"
        )
    if "rows" in listed and listed["rows"] != table.num_rows:
        raise WorldFormatError(
            f"{name} has {table.num_rows} rows but {MANIFEST} lists {listed['rows']}; "
            "the folder is incomplete or was changed after it was written"
        )
    return table


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
