"""Input tables as numpy arrays: checked columns, dates as day numbers, integer codes.

Joins go by position in these arrays (:func:`_positions`), never through a pandas merge or
group-by.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from scoring.features.catalogue import FeatureInputError

_EPOCH = np.datetime64("1970-01-01T00:00:00", "s")
# Up to this many keys a dict lookup beats a pandas hash table (a live decision, its candidates).
_SMALL = 1024


def _require(df: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise FeatureInputError(f"{table} lacks column(s) {', '.join(missing)}")


def _days(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as float (fractional for timestamps), NaN where missing.

    Naive timestamps and dates count as UTC.
    """
    kind = values.dtype
    if not (isinstance(kind, pd.DatetimeTZDtype) or kind.kind == "M"):
        values = pd.to_datetime(values, utc=True)
    # A timezone-aware column converts to naive UTC here; a naive one is taken as UTC.
    stamps = values.to_numpy("datetime64[s]")
    days = (stamps - _EPOCH).astype(np.float64) / 86400.0
    days[np.isnat(stamps)] = np.nan
    return days


def _floats(df: pd.DataFrame, column: str) -> np.ndarray:
    return df[column].to_numpy(dtype=np.float64)


def _missing(value) -> bool:
    return value is None or value != value  # NaN is the one value unequal to itself


def _factorize(values: pd.Series) -> tuple[np.ndarray, Sequence]:
    """Integer code of each value in order of first appearance; -1 for a missing value."""
    if len(values) > _SMALL:
        return pd.factorize(values)
    seen: dict = {}
    codes = [-1 if _missing(v) else seen.setdefault(v, len(seen)) for v in values.tolist()]
    return np.asarray(codes, dtype=np.intp), list(seen)


def _positions(keys: Sequence, values: pd.Series, *, distinct: str | None = None) -> np.ndarray:
    """Position of each of ``values`` among ``keys``; -1 where absent or missing.

    With ``distinct`` (the keys' ``table.column``) a repeated key is an input error.
    """
    n = len(keys)
    if n + len(values) <= _SMALL:
        keys = keys.tolist() if hasattr(keys, "tolist") else keys
        where = {k: i for i, k in enumerate(keys) if not _missing(k)}
        if distinct and len(where) < sum(not _missing(k) for k in keys):
            raise FeatureInputError(f"{distinct} has duplicates")
        return np.asarray([where.get(v, -1) for v in values.tolist()], dtype=np.intp)
    # One factorisation of keys and values together: a hash join without a pandas Index,
    # whose lookups of many strings are slow.
    both = pd.concat([pd.Series(keys), pd.Series(values)], ignore_index=True)
    codes, uniques = pd.factorize(both)
    key_codes, value_codes = codes[:n], codes[n:]
    if distinct and (np.bincount(key_codes[key_codes >= 0]) > 1).any():
        raise FeatureInputError(f"{distinct} has duplicates")
    # The extra last slot answers the code -1 of a missing value.
    where = np.full(len(uniques) + 1, -1, dtype=np.intp)
    where[key_codes[key_codes >= 0]] = np.flatnonzero(key_codes >= 0)
    return where[value_codes]


def _distinct(values: pd.Series, table: str, column: str) -> None:
    if len(values) > _SMALL:
        codes, uniques = pd.factorize(values)
        duplicated = len(uniques) < np.count_nonzero(codes >= 0)
    else:
        present = [v for v in values.tolist() if not _missing(v)]
        duplicated = len(set(present)) < len(present)
    if duplicated:
        raise FeatureInputError(f"{table}.{column} has duplicates")


def _codes(values: pd.Series, mapping: dict[str, int]) -> np.ndarray:
    """Each value's code in ``mapping`` as float; NaN where the value is not a key."""
    pos = _positions(list(mapping), values)
    codes = np.asarray(list(mapping.values()), dtype=np.float64)[pos]
    codes[pos < 0] = np.nan
    return codes
