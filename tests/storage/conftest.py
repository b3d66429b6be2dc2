"""A small hand-built world folder in the documented layout (docs/world-format.md)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import JSON, Engine, String, Text, select

from scoring.domain.personal_code import build
from scoring.storage.tables import Base

PSEUDONYM_KEY = bytes(range(32))
AS_OF = date(2026, 6, 30)

SCHEMAS: dict[str, pa.Schema] = {
    "customers.parquet": pa.schema(
        [
            ("personal_code", pa.string()),
            ("birth_date", pa.date32()),
            ("customer_since", pa.date32()),
            ("relationship_ended_on", pa.date32()),
            ("segment", pa.string()),
        ]
    ),
    "invoices.parquet": pa.schema(
        [
            ("invoice_id", pa.string()),
            ("personal_code", pa.string()),
            ("issued_on", pa.date32()),
            ("due_on", pa.date32()),
            ("amount_eur", pa.float64()),
            ("paid_eur", pa.float64()),
            ("paid_in_full_on", pa.date32()),
            ("reminders_sent", pa.int8()),
            ("sent_to_collection_on", pa.date32()),
        ]
    ),
    "payments.parquet": pa.schema(
        [
            ("payment_id", pa.string()),
            ("invoice_id", pa.string()),
            ("paid_on", pa.date32()),
            ("amount_eur", pa.float64()),
        ]
    ),
    "bureau_reports.parquet": pa.schema(
        [
            ("report_id", pa.string()),
            ("personal_code", pa.string()),
            ("requested_at", pa.timestamp("us", tz="UTC")),
            ("score", pa.int16()),
            ("risk_class", pa.string()),
            ("pd_band_low", pa.float64()),
            ("pd_band_high", pa.float64()),
            ("open_default_count", pa.int16()),
            ("closed_default_count", pa.int16()),
        ]
    ),
    "bureau_default_entries.parquet": pa.schema(
        [
            ("report_id", pa.string()),
            ("creditor_sector", pa.string()),
            ("amount_eur", pa.float64()),
            ("started_on", pa.date32()),
            ("ended_on", pa.date32()),
        ]
    ),
    "applications.parquet": pa.schema(
        [
            ("application_id", pa.string()),
            ("personal_code", pa.string()),
            ("applied_at", pa.timestamp("us", tz="UTC")),
            ("amount_eur", pa.float64()),
            ("term_months", pa.int16()),
            ("product_category", pa.string()),
            ("channel", pa.string()),
            ("bureau_report_id", pa.string()),
            ("defaulted_12m", pa.bool_()),
        ]
    ),
}

_BANDS = {
    "very_good": (0.0, 0.019),
    "good": (0.02, 0.059),
    "satisfactory": (0.06, 0.149),
    "poor": (0.15, 1.0),
}


def world_rows(*, customers: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    """Rows of every operational file for a small, varied world."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
    rows["protected/attributes.parquet"] = []
    for person in range(customers):
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
        code = build(born, female=person % 2 == 1, serial=person)
        thin_file = person % 5 == 4
        since = None if thin_file else AS_OF - timedelta(days=rng.randrange(400, 2000))
        rows["customers.parquet"].append(
            {
                "personal_code": code,
                "birth_date": born,
                "customer_since": since,
                "relationship_ended_on": None if person % 7 else AS_OF - timedelta(days=30),
                "segment": rng.choice(["energy", "telecom", "smart_home"]),
            }
        )
        rows["protected/attributes.parquet"].append(
            {"personal_code": code, "sex": "F" if person % 2 else "M", "region": "Tartu"}
        )
        for month in range(0 if thin_file else 6):
            issued = AS_OF - timedelta(days=30 * (month + 2))
            amount = round(rng.uniform(15, 180), 2)
            invoice_id = f"INV-{person:04d}-{month:02d}"
            late = rng.random() < 0.2
            partial = rng.random() < 0.3
            paid = round(amount / 2, 2) if late else amount
            paid_on = issued + timedelta(days=20 if not late else 60)
            rows["invoices.parquet"].append(
                {
                    "invoice_id": invoice_id,
                    "personal_code": code,
                    "issued_on": issued,
                    "due_on": issued + timedelta(days=14),
                    "amount_eur": amount,
                    "paid_eur": paid,
                    "paid_in_full_on": None if late else paid_on,
                    "reminders_sent": 2 if late else 0,
                    "sent_to_collection_on": issued + timedelta(days=90) if late else None,
                }
            )
            pieces = (
                [round(paid / 2, 2), round(paid - round(paid / 2, 2), 2)] if partial else [paid]
            )
            for piece, part in enumerate(pieces):
                rows["payments.parquet"].append(
                    {
                        "payment_id": f"PAY-{person:04d}-{month:02d}-{piece}",
                        "invoice_id": invoice_id,
                        "paid_on": paid_on + timedelta(days=piece),
                        "amount_eur": part,
                    }
                )
        applied_at = datetime(2025, 3, 1, 9, tzinfo=UTC) + timedelta(hours=7 * person)
        risk_class = rng.choice(list(_BANDS))
        report_id = f"CI-{person:06d}"
        open_defaults = 1 if risk_class == "poor" else 0
        closed_defaults = person % 3 == 0
        rows["bureau_reports.parquet"].append(
            {
                "report_id": report_id,
                "personal_code": code,
                "requested_at": applied_at,
                "score": rng.randrange(0, 1001),
                "risk_class": risk_class,
                "pd_band_low": _BANDS[risk_class][0],
                "pd_band_high": _BANDS[risk_class][1],
                "open_default_count": open_defaults,
                "closed_default_count": int(closed_defaults),
            }
        )
        for ended in [None] * open_defaults + [date(2021, 5, 1)] * int(closed_defaults):
            rows["bureau_default_entries.parquet"].append(
                {
                    "report_id": report_id,
                    "creditor_sector": rng.choice(["telecom", "bank", "utility"]),
                    "amount_eur": round(rng.uniform(30, 900), 2),
                    "started_on": date(2020, 1, 15),
                    "ended_on": ended,
                }
            )
        rows["applications.parquet"].append(
            {
                "application_id": f"APP-{person:06d}",
                "personal_code": code,
                "applied_at": applied_at,
                "amount_eur": round(rng.uniform(100, 5000), 2),
                "term_months": rng.choice([3, 6, 12, 24, 36, 60]),
                "product_category": rng.choice(["heat_pump", "phone", "electronics"]),
                "channel": rng.choice(["web", "store", "phone"]),
                "bureau_report_id": report_id,
                "defaulted_12m": risk_class == "poor",
            }
        )
    return rows


def write_world(
    folder: Path, rows: dict[str, list[dict[str, Any]]], *, schemas: dict[str, pa.Schema] = SCHEMAS
) -> Path:
    """Write rows as a world folder with its manifest; returns the folder."""
    (folder / "protected").mkdir(parents=True, exist_ok=True)
    (folder / "truth").mkdir(exist_ok=True)
    files = {}
    for name, records in rows.items():
        schema = schemas.get(name)
        table = (
            pa.Table.from_pylist(records, schema=schema)
            if schema is not None
            else pa.Table.from_pylist(records)
        )
        pq.write_table(table, folder / name)
        files[name] = {"rows": table.num_rows}
    # Training truth stays out of the database; a file ingest would choke on proves it.
    (folder / "truth" / "applications_truth.parquet").write_bytes(b"not parquet at all")
    manifest = {
        "format_version": 1,
        "generator_version": "test",
        "seed": 0,
        "customers": len(rows["customers.parquet"]),
        "as_of": AS_OF.isoformat(),
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


FILE_OF_TABLE = {
    "customers": "customers.parquet",
    "invoices": "invoices.parquet",
    "payments": "payments.parquet",
    "bureau_reports": "bureau_reports.parquet",
    "bureau_default_entries": "bureau_default_entries.parquet",
    "applications": "applications.parquet",
}


def stored_text_values(engine: Engine) -> list[str]:
    """Every non-null value of every text and JSON column, as text."""
    values: list[str] = []
    with engine.connect() as connection:
        for table in Base.metadata.tables.values():
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in connection.execute(select(*columns)) if columns else []:
                values.extend(str(value) for value in row if value is not None)
    return values


@pytest.fixture
def tiny_world_rows() -> dict[str, list[dict[str, Any]]]:
    return world_rows(customers=20, seed=11)


@pytest.fixture
def tiny_world(tmp_path: Path, tiny_world_rows: dict[str, list[dict[str, Any]]]) -> Path:
    """A 20-customer world folder with thin files, partial payments and bureau defaults."""
    return write_world(tmp_path / "world", tiny_world_rows)
