"""Fixtures for the bureau tests: a tiny world in the documented parquet layout, fake time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bureau_fakes import FakeClock

from scoring.domain.personal_code import build

REPORT_SCHEMA = pa.schema(
    [
        ("report_id", pa.string()),
        ("personal_code", pa.string()),
        ("requested_at", pa.timestamp("us", tz="UTC")),
        ("score", pa.int64()),
        ("risk_class", pa.string()),
        ("pd_band_low", pa.float64()),
        ("pd_band_high", pa.float64()),
        ("open_default_count", pa.int64()),
        ("closed_default_count", pa.int64()),
    ]
)
ENTRY_SCHEMA = pa.schema(
    [
        ("report_id", pa.string()),
        ("creditor_sector", pa.string()),
        ("amount_eur", pa.float64()),
        ("started_on", pa.date32()),
        ("ended_on", pa.date32()),
    ]
)
BANDS = {
    "very_good": (0.0, 0.019),
    "good": (0.02, 0.059),
    "satisfactory": (0.06, 0.149),
    "poor": (0.15, 1.0),
}


@dataclass
class TinyWorld:
    path: Path
    codes: list[str]
    latest: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def with_open_default(self) -> str:
        return next(c for c, r in self.latest.items() if r["open_default_count"] > 0)


def _report(report_id: str, code: str, when: datetime, score: int, risk_class: str,
            open_count: int = 0, closed_count: int = 0) -> dict[str, Any]:  # fmt: skip
    low, high = BANDS[risk_class]
    return {
        "report_id": report_id,
        "personal_code": code,
        "requested_at": when,
        "score": score,
        "risk_class": risk_class,
        "pd_band_low": low,
        "pd_band_high": high,
        "open_default_count": open_count,
        "closed_default_count": closed_count,
    }


@pytest.fixture(scope="session")
def tiny_world(tmp_path_factory: pytest.TempPathFactory) -> TinyWorld:
    """Ten people; the first has an older and a newer report, two have default entries."""
    folder = tmp_path_factory.mktemp("world")
    codes = [
        build(date(1960 + 4 * i, 1 + i, 3 + i), female=i % 2 == 0, serial=100 + i)
        for i in range(10)
    ]
    classes = ["very_good", "good", "satisfactory", "poor", "good",
               "very_good", "good", "satisfactory", "very_good", "good"]  # fmt: skip
    scores = {"very_good": 870, "good": 690, "satisfactory": 480, "poor": 210}
    reports = [_report("R-OLD-0", codes[0], datetime(2023, 1, 5, 9, tzinfo=UTC), 400, "poor", 1)]
    for i, (code, risk_class) in enumerate(zip(codes, classes, strict=True)):
        open_count = 1 if risk_class == "poor" else 0
        closed_count = 1 if risk_class == "satisfactory" else 0
        reports.append(
            _report(
                f"R-{i}",
                code,
                datetime(2024, 3, 1 + i, 12, tzinfo=UTC),
                scores[risk_class] + i,
                risk_class,
                open_count,
                closed_count,
            )
        )
    entries = [
        # Belongs to the superseded report of person 0: must not show up.
        {"report_id": "R-OLD-0", "creditor_sector": "telecom", "amount_eur": 55.0,
         "started_on": date(2022, 6, 1), "ended_on": None},
        {"report_id": "R-2", "creditor_sector": "energy", "amount_eur": 120.5,
         "started_on": date(2021, 2, 1), "ended_on": date(2021, 9, 30)},
        {"report_id": "R-3", "creditor_sector": "finance", "amount_eur": 910.0,
         "started_on": date(2023, 11, 15), "ended_on": None},
        {"report_id": "R-7", "creditor_sector": "retail", "amount_eur": 64.99,
         "started_on": date(2020, 5, 4), "ended_on": date(2020, 8, 1)},
    ]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(reports, schema=REPORT_SCHEMA),
                   folder / "bureau_reports.parquet")  # fmt: skip
    pq.write_table(pa.Table.from_pylist(entries, schema=ENTRY_SCHEMA),
                   folder / "bureau_default_entries.parquet")  # fmt: skip
    world = TinyWorld(path=folder, codes=codes)
    for report in reports:
        if report["report_id"] != "R-OLD-0":
            world.latest[report["personal_code"]] = report
            world.entries[report["personal_code"]] = [
                e for e in entries if e["report_id"] == report["report_id"]
            ]
    return world


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
