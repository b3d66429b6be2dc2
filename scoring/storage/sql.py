"""SQL expressions the two supported databases spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Float


class day_number(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it renders
    """A ``DATE`` column as days since 1970-01-01, a number (NULL stays NULL).

    Read this way, a date costs the database one subtraction and the reader nothing: no text
    to parse into ``datetime.date`` and no date objects to convert back into day counts.
    """

    type = Float()
    name = "day_number"
    inherit_cache = True


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: Any, **kw: Any) -> str:
    # Dates are stored as ISO text; julianday() of 1970-01-01 is 2440587.5, exactly.
    return f"(julianday({compiler.process(element.clauses, **kw)}) - 2440587.5)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element: day_number, compiler: Any, **kw: Any) -> str:
    # date - date is a whole number of days, sent as a double like SQLite's, so the driver
    # hands over floats and nothing converts them afterwards.
    return f"CAST(({compiler.process(element.clauses, **kw)} - DATE '1970-01-01') AS FLOAT)"
