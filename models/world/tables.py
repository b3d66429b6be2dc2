"""The in-memory world and its tables as the Parquet schemas of the world folder.

The schemas and the format version are the world folder's (``data_contracts.world_folder``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.world_folder import SCHEMAS

GENERATOR_VERSION = "1.0.0"

NULL_DAY = np.iinfo(np.int64).min  # marks a null date inside integer day arrays

_TIMESTAMP = pa.timestamp("us", tz="UTC")

# Which World attribute holds which file.
ATTRIBUTE_FILES: dict[str, str] = {
    "customers": "customers.parquet",
    "invoices": "invoices.parquet",
    "payments": "payments.parquet",
    "bureau_reports": "bureau_reports.parquet",
    "bureau_default_entries": "bureau_default_entries.parquet",
    "applications": "applications.parquet",
    "protected_attributes": "protected/attributes.parquet",
    "applications_truth": "truth/applications_truth.parquet",
}

PROTECTED_COLUMNS = ("sex", "language", "region")


@dataclass(frozen=True)
class World:
    """A synthetic credit world in memory: one DataFrame per file of ``docs/world-format.md``.

    Dates are ``datetime64[ms]`` at midnight (NaT for null), timestamps ``datetime64[us, UTC]``,
    money ``float64`` EUR rounded to cents, text ``str``.
    """

    seed: int
    as_of: date
    customers: pd.DataFrame
    invoices: pd.DataFrame
    payments: pd.DataFrame
    bureau_reports: pd.DataFrame
    bureau_default_entries: pd.DataFrame
    applications: pd.DataFrame
    protected_attributes: pd.DataFrame
    applications_truth: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables keyed by their file name inside a world folder."""
        return {name: getattr(self, attribute) for attribute, name in ATTRIBUTE_FILES.items()}

    @property
    def customer_count(self) -> int:
        return len(self.customers)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Arrow table to the DataFrame form a World holds."""
    return table.to_pandas(date_as_object=False)


def to_arrow(frame: pd.DataFrame, name: str) -> pa.Table:
    """DataFrame to an Arrow table with exactly the schema of file ``name``."""
    schema = SCHEMAS[name]
    expected = schema.names
    if list(frame.columns) != expected:
        raise ValueError(
            f"{name}: columns {list(frame.columns)} differ from the format's {expected}"
        )
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    return table.replace_schema_metadata(None)


def date_array(days: np.ndarray) -> pa.Array:
    """Integer days since 1970-01-01 (``NULL_DAY`` = null) as an Arrow date32 array."""
    null = days == NULL_DAY
    values = np.where(null, 0, days).astype(np.int32)
    return pa.array(values, type=pa.int32(), mask=null if null.any() else None).cast(pa.date32())


def timestamp_array(microseconds: np.ndarray) -> pa.Array:
    """Microseconds since the epoch as a UTC timestamp array."""
    return pa.array(microseconds.astype(np.int64), type=pa.int64()).cast(_TIMESTAMP)


def identifiers(prefix: str, *, start: int, count: int, width: int) -> pa.Array:
    """``count`` zero-padded identifiers ``prefix`` + number, numbered from ``start``."""
    numbers = pa.array(np.arange(start, start + count, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width=width, padding="0"), "")
