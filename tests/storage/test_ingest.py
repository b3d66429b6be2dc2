"""Loading a world folder: complete, idempotent, all or nothing, and never a clear personal code."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select

from scoring.domain.personal_code import is_valid
from scoring.domain.pseudonym import pseudonymise
from scoring.storage.ingest import (
    HISTORY_CLIENT_ID,
    IngestSummary,
    WorldFailedValidation,
    WorldFolderError,
    ingest_world,
)
from scoring.storage.tables import (
    Application,
    Base,
    BureauDefaultEntry,
    BureauReport,
    Customer,
    Invoice,
    Payment,
)

from .conftest import (
    FILE_OF_TABLE,
    PSEUDONYM_KEY,
    SCHEMAS,
    stored_text_values,
    world_rows,
    write_world,
)


def _ingest(world: Path, engine: Engine, **options: Any) -> IngestSummary:
    return ingest_world(world_dir=world, engine=engine, pseudonym_key=PSEUDONYM_KEY, **options)


def _row_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            name: connection.scalar(select(func.count()).select_from(table))
            for name, table in Base.metadata.tables.items()
        }


def _stored_rows(engine: Engine) -> int:
    return sum(_row_counts(engine).values())


def test_every_record_of_the_world_is_loaded(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    summary = _ingest(tiny_world, migrated_engine)

    counts = _row_counts(migrated_engine)
    for table, file in FILE_OF_TABLE.items():
        assert counts[table] == len(tiny_world_rows[file]), table
        assert summary.tables[table].inserted == len(tiny_world_rows[file]), table
        assert summary.tables[table].already_present == 0
    assert counts["api_clients"] == 1


def test_loading_the_same_world_twice_changes_nothing(
    migrated_engine: Engine, tiny_world: Path
) -> None:
    first = _ingest(tiny_world, migrated_engine)
    before = _row_counts(migrated_engine)

    second = _ingest(tiny_world, migrated_engine)

    assert _row_counts(migrated_engine) == before
    assert second.inserted == 0
    assert second.already_present == first.inserted


def test_a_grown_world_adds_only_the_new_records(migrated_engine: Engine, tmp_path: Path) -> None:
    _ingest(write_world(tmp_path / "small", world_rows(customers=10, seed=3)), migrated_engine)

    summary = _ingest(
        write_world(tmp_path / "large", world_rows(customers=14, seed=3)), migrated_engine
    )

    assert summary.tables["customers"].inserted == 4
    assert summary.tables["customers"].already_present == 10
    assert _row_counts(migrated_engine)["customers"] == 14
    assert _row_counts(migrated_engine)["applications"] == 14


def test_people_are_stored_by_keyed_pseudonym(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    _ingest(tiny_world, migrated_engine)

    with migrated_engine.connect() as connection:
        stored = set(connection.scalars(select(Customer.pseudonym)))
    expected = {
        pseudonymise(row["personal_code"], key=PSEUDONYM_KEY)
        for row in tiny_world_rows["customers.parquet"]
    }
    assert stored == expected


def test_no_clear_personal_code_is_stored_anywhere(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    _ingest(tiny_world, migrated_engine)

    values = stored_text_values(migrated_engine)
    found = [
        candidate
        for value in values
        for candidate in re.findall(r"(?<!\d)\d{11}(?!\d)", value)
        if is_valid(candidate)
    ]
    codes = {row["personal_code"] for row in tiny_world_rows["customers.parquet"]}
    assert values, "the scan must see stored text"
    assert found == []
    assert not any(code in value for value in values for code in codes)


def test_amounts_dates_and_links_are_kept_exactly(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    _ingest(tiny_world, migrated_engine)

    invoice = tiny_world_rows["invoices.parquet"][0]
    application = tiny_world_rows["applications.parquet"][-1]
    with migrated_engine.connect() as connection:
        stored_invoice = connection.execute(
            select(Invoice, Customer.pseudonym)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.invoice_number == invoice["invoice_id"])
        ).one()
        stored_application = connection.execute(
            select(Application, BureauReport.report_id)
            .join(BureauReport, BureauReport.id == Application.bureau_report_id)
            .where(Application.external_id == application["application_id"])
        ).one()
    assert stored_invoice.amount == Decimal(str(invoice["amount_eur"]))
    assert stored_invoice.due_on == invoice["due_on"]
    assert stored_invoice.pseudonym == pseudonymise(invoice["personal_code"], key=PSEUDONYM_KEY)
    assert stored_application.report_id == application["bureau_report_id"]
    assert stored_application.applied_at == application["applied_at"]
    assert stored_application.applied_at.tzinfo is not None
    assert stored_application.client_id == HISTORY_CLIENT_ID
    assert stored_application.defaulted_12m == application["defaulted_12m"]


def test_default_entries_hang_under_their_bureau_report(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    _ingest(tiny_world, migrated_engine)

    with migrated_engine.connect() as connection:
        stored = connection.execute(
            select(BureauReport.report_id, func.count(BureauDefaultEntry.id))
            .join(BureauDefaultEntry, BureauDefaultEntry.bureau_report_id == BureauReport.id)
            .group_by(BureauReport.report_id)
        ).all()
    expected: dict[str, int] = {}
    for entry in tiny_world_rows["bureau_default_entries.parquet"]:
        expected[entry["report_id"]] = expected.get(entry["report_id"], 0) + 1
    assert dict(stored) == expected


def test_a_failure_half_way_leaves_nothing_loaded(
    migrated_engine: Engine, tiny_world: Path
) -> None:
    def fail_after_invoices(table: str, done: int, total: int) -> None:
        if table == "payments" and done == total:
            raise RuntimeError("power cut")

    before = _stored_rows(migrated_engine)  # migrations may seed rows of their own
    with pytest.raises(RuntimeError, match="power cut"):
        _ingest(tiny_world, migrated_engine, progress=fail_after_invoices)

    assert _stored_rows(migrated_engine) == before


def test_a_row_outside_its_contract_is_refused_before_the_database_sees_it(
    migrated_engine: Engine, tmp_path: Path
) -> None:
    rows = world_rows(customers=20, seed=5)
    rows["applications.parquet"][-1]["product_category"] = "yacht"
    world = write_world(tmp_path / "world", rows)

    before = _stored_rows(migrated_engine)
    with pytest.raises(WorldFailedValidation, match="product_category.*1 rows fail.*'yacht'"):
        _ingest(world, migrated_engine, validation_dir=tmp_path / "validation")

    assert _stored_rows(migrated_engine) == before
    assert list((tmp_path / "validation").glob("*.validation.json"))


def test_progress_is_reported_for_every_table(migrated_engine: Engine, tiny_world: Path) -> None:
    seen: dict[str, tuple[int, int]] = {}

    _ingest(
        tiny_world,
        migrated_engine,
        progress=lambda table, done, total: seen.__setitem__(table, (done, total)),
    )

    assert set(seen) == set(FILE_OF_TABLE)
    assert all(done == total for done, total in seen.values())


def _replace_table(world: Path, name: str, change: Any) -> None:
    table = pq.read_table(world / name)
    pq.write_table(change(table), world / name)


def _code_column_replaced(table: pa.Table, row: int, value: str) -> pa.Table:
    codes = table.column("personal_code").to_pylist()
    codes[row] = value
    index = table.schema.get_field_index("personal_code")
    return table.set_column(index, "personal_code", pa.array(codes, pa.string()))


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda w: (w / "payments.parquet").unlink(), r"payments\.parquet is missing"),
        (lambda w: (w / "manifest.json").unlink(), "has no manifest.json"),
        (
            lambda w: (w / "manifest.json").write_text('{"format_version": 9}'),
            "format_version 9",
        ),
        (
            lambda w: (w / "invoices.parquet").write_bytes(b"PAR1 garbage"),
            r"invoices\.parquet is not a readable Parquet file",
        ),
        (
            lambda w: _replace_table(w, "invoices.parquet", lambda t: t.drop_columns(["due_on"])),
            r"invoices\.parquet lacks column\(s\) due_on",
        ),
        (
            lambda w: _replace_table(
                w,
                "applications.parquet",
                lambda t: t.set_column(
                    t.schema.get_field_index("term_months"),
                    "term_months",
                    pa.array([str(v) for v in t.column("term_months").to_pylist()]),
                ),
            ),
            "column term_months must hold an integer, not string",
        ),
        (
            lambda w: _replace_table(
                w, "customers.parquet", lambda t: _code_column_replaced(t, 3, "38001085719")
            ),
            r"customers\.parquet row 4: .*wrong check digit",
        ),
        (
            lambda w: _replace_table(
                w, "invoices.parquet", lambda t: _code_column_replaced(t, 0, "38001085718")
            ),
            r"invoices\.parquet row 1 refers to a person that the world does not hold",
        ),
        (
            lambda w: _replace_table(w, "payments.parquet", lambda t: t.slice(0, 3)),
            "has 3 rows but manifest.json lists",
        ),
    ],
    ids=[
        "missing-file",
        "missing-manifest",
        "unknown-format",
        "malformed-parquet",
        "missing-column",
        "wrong-type",
        "invalid-personal-code",
        "unknown-person",
        "truncated-file",
    ],
)
def test_a_bad_world_folder_is_refused_with_a_clear_message_and_nothing_loaded(
    migrated_engine: Engine, tiny_world: Path, spoil: Any, message: str
) -> None:
    spoil(tiny_world)
    before = _stored_rows(migrated_engine)

    with pytest.raises(WorldFolderError, match=message) as refused:
        _ingest(tiny_world, migrated_engine)

    assert "\n" not in str(refused.value)
    assert not re.search(r"\d{11}", str(refused.value)), "a code must never reach a message"
    assert _stored_rows(migrated_engine) == before


def test_a_missing_folder_says_how_to_make_one(migrated_engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(WorldFolderError, match="does not exist.*installment generate"):
        _ingest(tmp_path / "nowhere", migrated_engine)


def test_naive_timestamps_in_a_world_are_refused(migrated_engine: Engine, tmp_path: Path) -> None:
    schemas = dict(SCHEMAS)
    schemas["bureau_reports.parquet"] = SCHEMAS["bureau_reports.parquet"].set(
        2, pa.field("requested_at", pa.timestamp("us"))
    )
    rows = world_rows(customers=3, seed=1)
    for report in rows["bureau_reports.parquet"]:
        report["requested_at"] = report["requested_at"].astimezone(UTC).replace(tzinfo=None)
    world = write_world(tmp_path / "world", rows, schemas=schemas)

    with pytest.raises(
        WorldFolderError, match="requested_at must hold a UTC timestamp, not timestamp\\[us\\]"
    ):
        _ingest(world, migrated_engine)


def test_payments_keep_their_invoice(migrated_engine: Engine, tiny_world: Path) -> None:
    _ingest(tiny_world, migrated_engine)

    with migrated_engine.connect() as connection:
        orphans = connection.scalar(
            select(func.count())
            .select_from(Payment)
            .outerjoin(Invoice, Invoice.id == Payment.invoice_id)
            .where(Invoice.id.is_(None))
        )
        latest = connection.scalar(select(func.max(Application.applied_at)))
    assert orphans == 0
    assert latest is not None and latest > datetime(2025, 1, 1, tzinfo=UTC)


def test_with_a_vault_key_the_codes_are_sealed_in_the_identity_vault_once(
    migrated_engine: Engine, tiny_world: Path, tiny_world_rows: dict[str, list[Any]]
) -> None:
    from sqlalchemy.orm import Session

    from scoring.storage.identity_vault import IdentityVault

    vault_key = bytes(range(32))
    first = _ingest(tiny_world, migrated_engine, vault_key=vault_key)
    second = _ingest(tiny_world, migrated_engine, vault_key=vault_key)

    people = tiny_world_rows["customers.parquet"]
    assert first.tables["identity_vault"].inserted == len(people)
    assert second.tables["identity_vault"].inserted == 0
    with Session(migrated_engine) as session:
        vault = IdentityVault(session=session, key=vault_key)
        for person in people:
            pseudonym = pseudonymise(person["personal_code"], key=PSEUDONYM_KEY)
            assert vault.code_for(pseudonym) == person["personal_code"]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_postgresql_has_planner_statistics_of_the_loaded_tables_at_once(
    migrated_engine: Engine, tiny_world: Path
) -> None:
    from sqlalchemy import text

    _ingest(tiny_world, migrated_engine)
    with migrated_engine.connect() as connection:
        analysed = connection.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE schemaname = current_schema() "
                "AND last_analyze IS NOT NULL"
            )
        ).scalars()
        assert {"customers", "invoices", "payments", "applications"} <= set(analysed)
