"""Synthetic frames that satisfy a contract table, for tests and benchmarks of validation."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from data_contracts.loader import Contract, FieldSpec


def valid_frame(
    contract: Contract, rows: int, *, seed: int = 0, table: str | None = None
) -> pd.DataFrame:
    """A frame of ``rows`` random rows that passes the contract table's suite."""
    rng = np.random.default_rng(seed)
    spec = contract.table(table)
    return pd.DataFrame({f.name: _column(f, rows, rng) for f in spec.collected_fields})


def _column(spec: FieldSpec, rows: int, rng: np.random.Generator) -> object:
    if spec.enum:
        return rng.choice(np.array(spec.enum, dtype=object), rows).astype(type(spec.enum[0]))
    if spec.logical_type == "string":
        if spec.name == "personal_code" or (spec.pattern or "").startswith("^[1-8]"):
            # Shape-valid digits only; the checksum is the request model's concern.
            return [f"3{i:010d}" for i in range(rows)]
        if spec.pattern == "^[0-9a-f]{64}$":
            return [f"{i:064x}" for i in range(rows)]
        return [f"{spec.name[:3].upper()}-{i:08d}" for i in range(rows)]
    if spec.logical_type == "integer":
        low = spec.minimum if spec.minimum is not None else 0
        high = spec.maximum if spec.maximum is not None else low + 90
        return rng.integers(int(low), int(high) + 1, rows, dtype="int64")
    if spec.logical_type == "number":
        low = spec.minimum if spec.minimum is not None else spec.exclusive_minimum or 0
        high = spec.maximum if spec.maximum is not None else low + 1000
        return np.round(rng.uniform(float(low) + 0.01, float(high), rows), 2)
    if spec.logical_type == "boolean":
        return rng.random(rows) < 0.1
    if spec.logical_type == "timestamp":
        start = pd.Timestamp("2023-01-01", tz="UTC")
        return start + pd.to_timedelta(rng.integers(0, 365 * 86400, rows), unit="s")
    if spec.logical_type == "date":
        start = dt.date(2022, 1, 1)
        return [start + dt.timedelta(days=int(d)) for d in rng.integers(0, 730, rows)]
    return [None] * rows
