"""The limits a bureau answer must keep, read from the bureau report's data contract.

The contract (``data_contracts/contracts/bureau_report.odcs.yaml``) says how long each text
may be (``physicalType: varchar(N)``), which range each number must lie in
(``logicalTypeOptions`` ``minimum`` and ``maximum``) and how many default entries a report
may list (``maxItems``). The client checks every answer against these before a report is
built, so nothing the database would refuse (or, on SQLite, silently keep) reaches it.
Read once per process; a contract without a limit the engine relies on fails at start.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from data_contracts.loader import FieldSpec, load_contract

__all__ = ["FieldLimits", "ReportLimits", "report_limits"]

_VARCHAR = re.compile(r"^varchar\((\d+)\)$", re.IGNORECASE)


@dataclass(frozen=True)
class FieldLimits:
    """What one field of the answer may hold: a text's length, a number's range."""

    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class ReportLimits:
    """The limits of a report's fields and of each default entry's fields."""

    report: dict[str, FieldLimits]
    entry: dict[str, FieldLimits]
    max_entries: int


def _limits(spec: FieldSpec) -> FieldLimits:
    length = None
    if spec.physical_type:
        found = _VARCHAR.match(spec.physical_type)
        length = int(found.group(1)) if found else None
    return FieldLimits(max_length=length, minimum=spec.minimum, maximum=spec.maximum)


@lru_cache(maxsize=1)
def report_limits() -> ReportLimits:
    """The bureau report contract's limits (read from the contract file once)."""
    table = load_contract("bureau_report").table("bureau_report")
    report = {spec.name: _limits(spec) for spec in table.fields}
    entries = table.field("default_entries")
    if entries.items is None:
        raise ValueError("the bureau_report contract's default_entries list has no items")
    entry = {spec.name: _limits(spec) for spec in entries.items.properties}
    max_entries = entries.options.get("maxItems")
    needed = {
        "report_id": report["report_id"].max_length,
        "open_default_count": report["open_default_count"].maximum,
        "closed_default_count": report["closed_default_count"].maximum,
        "creditor_sector": entry["creditor_sector"].max_length,
        "amount_eur": entry["amount_eur"].maximum,
        "default_entries": max_entries,
    }
    missing = [name for name, limit in needed.items() if limit is None]
    if missing:
        raise ValueError(f"the bureau_report contract gives no upper limit for {missing}")
    return ReportLimits(report=report, entry=entry, max_entries=int(max_entries))
