"""Read a CSV or Parquet table with the types its contract declares.

A CSV carries no types: every column arrives as text and is parsed here by the contract's
``logicalType`` (integers, numbers, booleans, dates, timestamps; strings stay text, and so do
categorical fields). A Parquet file keeps its own types, except that a date or timestamp
stored as text is parsed too. A value that does not parse is refused with the column, the
rule and a few offending values; values of personal-data fields are never shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from data_contracts.loader import Contract, FieldSpec
from scoring.domain.errors import InvalidInputError

if TYPE_CHECKING:
    import pandas as pd

EXAMPLES = 5
TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0"})


class TableReadError(InvalidInputError, ValueError):
    """A data file cannot be read, or a column does not parse as its contract's type."""


def read_typed_table(path: Path, contract: Contract) -> pd.DataFrame:
    """The file at ``path`` (.csv or .parquet) with columns typed by ``contract``'s main table."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise TableReadError(f"data file {path} not found")
    if path.suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif path.suffix == ".csv":
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise TableReadError(f"data file {path} is not a readable CSV: {exc}") from None
    else:
        raise TableReadError(f"data file {path}: expected a .parquet or .csv file")
    problems = []
    specs = {spec.name: spec for spec in contract.table().collected_fields}
    for name in frame.columns:
        spec = specs.get(str(name))
        if spec is None:
            continue  # validation names columns outside the contract
        try:
            frame[name] = _parsed(frame[name], spec)
        except TableReadError as exc:
            problems.append(str(exc))
    if problems:
        raise TableReadError(
            f"{path.name} does not parse as {contract.label}: " + "; ".join(problems)
        )
    return frame


def _shown(values: pd.Series, spec: FieldSpec) -> str:
    if spec.personal_data:
        return "values hidden: personal data"
    return "e.g. " + ", ".join(repr(v) for v in list(dict.fromkeys(values.astype(str)))[:EXAMPLES])


def _refuse(column: pd.Series, bad: pd.Series, spec: FieldSpec, rule: str) -> TableReadError:
    return TableReadError(
        f"column {spec.name!r}: {int(bad.sum())} value(s) are not {rule} "
        f"({_shown(column[bad], spec)})"
    )


def _parsed(column: pd.Series, spec: FieldSpec) -> pd.Series:
    import pandas as pd

    kind = spec.logical_type
    is_text = column.dtype == object or pd.api.types.is_string_dtype(column.dtype)
    if not is_text or spec.categorical:
        naive = pd.api.types.is_datetime64_any_dtype(column.dtype) and not isinstance(
            column.dtype, pd.DatetimeTZDtype
        )
        if kind == "timestamp" and naive:
            return column.dt.tz_localize("UTC")
        return column
    present = column.notna()
    if kind == "integer":
        numbers = pd.to_numeric(column, errors="coerce")
        bad = present & (numbers.isna() | (numbers % 1 != 0))
        if bad.any():
            raise _refuse(column, bad, spec, "whole numbers")
        return numbers.astype("Int64") if numbers.isna().any() else numbers.astype("int64")
    if kind == "number":
        numbers = pd.to_numeric(column, errors="coerce")
        bad = present & numbers.isna()
        if bad.any():
            raise _refuse(column, bad, spec, "numbers")
        return numbers.astype("float64")
    if kind == "boolean":
        words = column.str.strip().str.lower()
        bad = present & ~words.isin(TRUE_WORDS | FALSE_WORDS)
        if bad.any():
            raise _refuse(column, bad, spec, "true/false")
        if not present.all():
            return words.map(lambda w: None if w is None else w in TRUE_WORDS).astype("boolean")
        return words.isin(TRUE_WORDS)
    if kind in ("date", "timestamp"):
        parsed = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
        bad = present & parsed.isna()
        if bad.any():
            rule = "ISO 8601 dates" if kind == "date" else "ISO 8601 timestamps"
            raise _refuse(column, bad, spec, rule)
        if kind == "date":
            return parsed.dt.tz_localize(None).dt.normalize().astype("datetime64[us]")
        return parsed
    return column
