"""Load a world folder (generated or exported, see ``docs/world-format.md``) into the database.

The whole folder is read and checked before the database is touched, then written in
one transaction, so a bad folder or a failure half-way leaves nothing behind. Records
whose natural key is already stored are skipped, so loading the same folder twice
changes nothing. Personal codes are replaced by keyed pseudonyms on the way in; the
``protected/`` and ``truth/`` folders are never read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError

from data_contracts.world_folder import WorldFormatError, check_export, read_export
from scoring.domain.errors import ConflictError, InvalidInputError
from scoring.domain.personal_code import InvalidPersonalCode
from scoring.domain.pseudonym import pseudonymise
from scoring.storage.db import StorageError
from scoring.storage.tables import (
    ApiClient,
    Application,
    BureauDefaultEntry,
    BureauReport,
    Customer,
    Invoice,
    Payment,
    table_of,
)

# Historical applications in a world came from the sales system before this engine
# decided anything; they are stored under their own client so their ids cannot
# collide with applications the live API receives.
HISTORY_CLIENT_ID = "history-import"
CHUNK_ROWS = 20_000
_LOOKUP_CHUNK = 10_000

Progress = Callable[[str, int, int], None]
"""Called as ``progress(table, rows_done, rows_total)`` while a table loads."""


class WorldFolderError(StorageError, InvalidInputError):
    """The world folder is missing, incomplete or malformed; nothing was loaded."""


class WorldFailedValidation(WorldFolderError):
    """A world file does not satisfy its data contract; the message is the readable report."""

    def __init__(self, message: str, *, report_dir: Path | None) -> None:
        super().__init__(message)
        self.report_dir = report_dir


class WorldRejected(StorageError, ConflictError):
    """The database refused part of the world; the whole load was rolled back."""


@dataclass(frozen=True)
class TableCount:
    inserted: int
    already_present: int


@dataclass(frozen=True)
class IngestSummary:
    """Rows per table: newly inserted and skipped because already stored."""

    tables: dict[str, TableCount] = field(default_factory=dict)

    @property
    def inserted(self) -> int:
        return sum(count.inserted for count in self.tables.values())

    @property
    def already_present(self) -> int:
        return sum(count.already_present for count in self.tables.values())


def check_world_folder(world_dir: Path) -> dict[str, Any]:
    """Check that a world folder exists with a readable manifest and well-formed file schemas."""
    try:
        return check_export(world_dir)
    except WorldFormatError as error:
        raise WorldFolderError(str(error)) from None


def read_world_tables(world_dir: Path) -> dict[str, pa.Table]:
    """Read and check the operational files of a world (never ``protected/`` or ``truth/``)."""
    try:
        return read_export(world_dir)
    except WorldFormatError as error:
        raise WorldFolderError(str(error)) from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _pseudonyms_by_code(customers: pa.Table, *, key: bytes) -> dict[str, str]:
    pseudonyms: dict[str, str] = {}
    for row, code in enumerate(customers.column("personal_code").to_pylist(), start=1):
        try:
            pseudonym = pseudonymise(code, key=key)
        except InvalidPersonalCode as error:
            raise WorldFolderError(f"customers.parquet row {row}: {error}") from None
        if code in pseudonyms:
            raise WorldFolderError(f"customers.parquet row {row} repeats an earlier person")
        pseudonyms[code] = pseudonym
    return pseudonyms


def _with_pseudonyms(table: pa.Table, pseudonyms: dict[str, str]) -> pa.Table:
    """The table with its personal codes replaced by pseudonyms (null where the code is unknown)."""
    if "personal_code" not in table.column_names:
        return table
    codes = table.column("personal_code").to_pylist()
    column = pa.array([pseudonyms.get(code) for code in codes], pa.string())
    return table.drop_columns(["personal_code"]).append_column("pseudonym", column)


# -- the load plan ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parent:
    """A foreign key filled in by the database from the parent's natural key."""

    table: Table
    key: str
    source: str
    label: str


@dataclass(frozen=True)
class _TablePlan:
    """How one world file becomes rows of one table."""

    file: str
    table: Table
    columns: dict[str, str]  # table column -> world column
    key: str | None = None  # natural key column; None: rows belong to their parent
    parents: dict[str, _Parent] = field(default_factory=dict)
    scope: dict[str, Any] = field(default_factory=dict)  # fixed values that are part of the key
    constants: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.table.name


_CUSTOMER = _Parent(table_of(Customer), "pseudonym", "pseudonym", "a person")
_INVOICE = _Parent(table_of(Invoice), "invoice_number", "invoice_id", "an invoice")
_REPORT = _Parent(table_of(BureauReport), "report_id", "report_id", "a bureau report")

LOAD_PLAN: tuple[_TablePlan, ...] = (
    _TablePlan(
        "customers.parquet",
        table_of(Customer),
        {
            "pseudonym": "pseudonym",
            "customer_since": "customer_since",
            "relationship_ended_on": "relationship_ended_on",
            "segment": "segment",
        },
        key="pseudonym",
    ),
    _TablePlan(
        "invoices.parquet",
        table_of(Invoice),
        {
            "invoice_number": "invoice_id",
            "issued_on": "issued_on",
            "due_on": "due_on",
            "amount": "amount_eur",
            "paid": "paid_eur",
            "paid_in_full_on": "paid_in_full_on",
            "reminders_sent": "reminders_sent",
            "sent_to_collection_on": "sent_to_collection_on",
        },
        key="invoice_number",
        parents={"customer_id": _CUSTOMER},
    ),
    _TablePlan(
        "payments.parquet",
        table_of(Payment),
        {"payment_number": "payment_id", "paid_on": "paid_on", "amount": "amount_eur"},
        key="payment_number",
        parents={"invoice_id": _INVOICE},
    ),
    _TablePlan(
        "bureau_reports.parquet",
        table_of(BureauReport),
        {
            "report_id": "report_id",
            "requested_at": "requested_at",
            "score": "score",
            "risk_class": "risk_class",
            "pd_band_low": "pd_band_low",
            "pd_band_high": "pd_band_high",
            "open_default_count": "open_default_count",
            "closed_default_count": "closed_default_count",
        },
        key="report_id",
        parents={"customer_id": _CUSTOMER},
    ),
    _TablePlan(
        "bureau_default_entries.parquet",
        table_of(BureauDefaultEntry),
        {
            "creditor_sector": "creditor_sector",
            "amount": "amount_eur",
            "started_on": "started_on",
            "ended_on": "ended_on",
        },
        parents={"bureau_report_id": _REPORT},
    ),
    _TablePlan(
        "applications.parquet",
        table_of(Application),
        {
            "external_id": "application_id",
            "applied_at": "applied_at",
            "amount": "amount_eur",
            "term_months": "term_months",
            "product_category": "product_category",
            "channel": "channel",
            "defaulted_12m": "defaulted_12m",
        },
        key="external_id",
        parents={
            "customer_id": _CUSTOMER,
            "bureau_report_id": _Parent(
                table_of(BureauReport), "report_id", "bureau_report_id", "a bureau report"
            ),
        },
        scope={"client_id": HISTORY_CLIENT_ID},
        constants={"human_review_requested": False},
    ),
)
_PLAN_BY_TABLE = {plan.name: plan for plan in LOAD_PLAN}


def _source_key(plan: _TablePlan) -> str:
    assert plan.key is not None
    return plan.columns[plan.key]


def _check_consistency(tables: dict[str, pa.Table]) -> None:
    """Natural keys are unique within their file and every reference finds its record."""
    for plan in LOAD_PLAN:
        table = tables[plan.file]
        if plan.key is not None:
            keys = table.column(_source_key(plan))
            if pc.count_distinct(keys).as_py() != len(keys):
                raise WorldFolderError(f"{plan.file} repeats {_source_key(plan)} values")
        for parent in plan.parents.values():
            parent_plan = _PLAN_BY_TABLE[parent.table.name]
            known = tables[parent_plan.file].column(_source_key(parent_plan))
            references = table.column(parent.source)
            dangling = pc.and_kleene(
                pc.invert(pc.is_in(references, value_set=known.combine_chunks())),
                pc.is_valid(references),
            )
            missing_pseudonym = pc.is_null(references) if parent is _CUSTOMER else None
            problem = dangling if missing_pseudonym is None else pc.or_(dangling, missing_pseudonym)
            if pc.any(problem).as_py():
                row = pc.index(problem, True).as_py() + 1
                raise WorldFolderError(
                    f"{plan.file} row {row} refers to {parent.label} that the world does not hold"
                )


# -- writing ---------------------------------------------------------------------------------


def _stored_keys(connection: Connection, plan: _TablePlan, keys: pa.ChunkedArray) -> set[Any]:
    """The natural keys among ``keys`` that the database already holds."""
    assert plan.key is not None
    key = plan.table.c[plan.key]
    scope = [plan.table.c[column] == value for column, value in plan.scope.items()]
    if connection.execute(select(key).where(*scope).limit(1)).first() is None:
        return set()
    # Driver-level SQL: a million keys through expression objects would cost seconds.
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    scope_sql = "".join(f" AND {quote(column)} = {mark}" for column in plan.scope)
    scope_values = tuple(plan.scope.values())
    wanted = keys.to_pylist()
    found: set[Any] = set()
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[start : start + _LOOKUP_CHUNK]
        if dialect.name == "postgresql":
            kind = key.type.compile(dialect)
            condition, parameters = f"= ANY({mark}::{kind}[])", (chunk, *scope_values)
        else:
            condition, parameters = (
                f"IN ({', '.join([mark] * len(chunk))})",
                (*chunk, *scope_values),
            )
        statement = (
            f"SELECT {quote(plan.key)} FROM {quote(plan.table.name)} "
            f"WHERE {quote(plan.key)} {condition}{scope_sql}"
        )
        found.update(connection.exec_driver_sql(statement, parameters).scalars().all())
    return found


def _database_values(column: pa.ChunkedArray, *, sqlite: bool) -> list[Any]:
    """Python values the DB-API driver binds directly, in the form SQLAlchemy itself stores."""
    kind = column.type
    if sqlite:
        # SQLite has no date types: SQLAlchemy keeps ISO text, timestamps as naive UTC text.
        if pa.types.is_date(kind):
            return pc.cast(column, pa.string()).to_pylist()
        if pa.types.is_timestamp(kind):
            utc = pc.cast(column, pa.timestamp("us", tz="UTC"))
            return pc.strftime(utc, format="%Y-%m-%d %H:%M:%S").to_pylist()
        if pa.types.is_decimal(kind):
            return pc.cast(column, pa.float64()).to_pylist()
    return column.to_pylist()


def _insert_statement(plan: _TablePlan, connection: Connection) -> tuple[str, list[str]]:
    """Driver-level INSERT for the plan, and the world columns that feed its parameters.

    SQLite gets one parameter row per record (``executemany``); PostgreSQL gets one array
    per column and unnests them, so a chunk of rows is a single statement. Either way the
    database resolves each foreign key from the parent's natural key, so no id map of a
    million invoices has to travel to Python and back.
    """
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    unnest = dialect.name == "postgresql"
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    targets: list[str] = []
    sources: list[str] = []
    source_types: list[str] = []
    for column, source in plan.columns.items():
        targets.append(column)
        sources.append(source)
        source_types.append(plan.table.c[column].type.compile(dialect))
    for column, parent in plan.parents.items():
        targets.append(column)
        sources.append(parent.source)
        source_types.append(parent.table.c[parent.key].type.compile(dialect))
    for column in {**plan.scope, **plan.constants}:
        targets.append(column)
        sources.append(column)
        source_types.append(plan.table.c[column].type.compile(dialect))

    def value(position: int) -> str:
        reference = f"v.{quote(sources[position])}" if unnest else mark
        target = targets[position]
        if target in plan.parents:
            parent = plan.parents[target]
            return (
                f"(SELECT {quote('id')} FROM {quote(parent.table.name)} "
                f"WHERE {quote(parent.key)} = {reference})"
            )
        return reference

    values = ", ".join(value(position) for position in range(len(targets)))
    insert_into = f"INSERT INTO {quote(plan.table.name)} ({', '.join(map(quote, targets))})"
    if not unnest:
        return f"{insert_into} VALUES ({values})", sources
    arrays = ", ".join(f"{mark}::{kind}[]" for kind in source_types)
    names = ", ".join(quote(source) for source in sources)
    return f"{insert_into} SELECT {values} FROM unnest({arrays}) AS v({names})", sources


class _Loader:
    def __init__(self, connection: Connection, progress: Progress | None) -> None:
        self.connection = connection
        self.progress = progress
        self.counts: dict[str, TableCount] = {}
        self.inserted_keys: dict[str, pa.Array] = {}

    def load(self, plan: _TablePlan, table: pa.Table) -> None:
        """Insert the rows of ``table`` that are not stored yet."""
        if plan.key is not None:
            keys = table.column(_source_key(plan))
            stored = _stored_keys(self.connection, plan, keys)
            fresh = table.filter(pc.invert(pc.is_in(keys, value_set=pa.array(stored, keys.type))))
            self.inserted_keys[plan.name] = fresh.column(_source_key(plan)).combine_chunks()
        else:
            # Rows without a key of their own arrive together with their parent.
            (parent,) = plan.parents.values()
            fresh = table.filter(
                pc.is_in(
                    table.column(parent.source), value_set=self.inserted_keys[parent.table.name]
                )
            )
        for column, value in {**plan.scope, **plan.constants}.items():
            fresh = fresh.append_column(column, pa.array([value] * fresh.num_rows))
        self._insert(plan, fresh)
        self.counts[plan.name] = TableCount(
            inserted=fresh.num_rows, already_present=table.num_rows - fresh.num_rows
        )

    def _insert(self, plan: _TablePlan, rows: pa.Table) -> None:
        statement, sources = _insert_statement(plan, self.connection)
        sqlite = self.connection.dialect.name == "sqlite"
        total = rows.num_rows
        self._report(plan.name, 0, total)
        for start in range(0, total, CHUNK_ROWS):
            chunk = rows.slice(start, CHUNK_ROWS)
            columns = [_database_values(chunk.column(source), sqlite=sqlite) for source in sources]
            parameters = list(zip(*columns, strict=True)) if sqlite else tuple(columns)
            try:
                self.connection.exec_driver_sql(statement, parameters)
            except IntegrityError as error:
                refusal = _first_line(error.orig or error)
                raise WorldRejected(
                    f"the database refused a row of {plan.name} ({refusal}); nothing was loaded"
                ) from None
            self._report(plan.name, start + chunk.num_rows, total)

    def _report(self, table_name: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(table_name, done, total)


def _validate_contracts(world_dir: Path, validation_dir: Path | None) -> None:
    from data_contracts.loader import ContractViolation
    from data_contracts.world_validation import validate_world_files, validation_run_dir

    if validation_dir is None:
        from scoring.config import get_settings

        validation_dir = validation_run_dir(get_settings().home)
    try:
        validate_world_files(world_dir, report_dir=validation_dir)
    except ContractViolation as violation:
        raise WorldFailedValidation(
            f"{violation.summary}\nfull results: {validation_dir}", report_dir=validation_dir
        ) from None


def _ensure_history_client(connection: Connection) -> None:
    stored = connection.execute(select(ApiClient.id).where(ApiClient.id == HISTORY_CLIENT_ID))
    if stored.first() is None:
        connection.execute(
            insert(ApiClient).values(
                id=HISTORY_CLIENT_ID,
                name="Historical applications loaded by installment ingest",
                created_at=datetime.now(UTC),
                active=False,
            )
        )


def ingest_world(
    *,
    world_dir: Path,
    engine: Engine,
    pseudonym_key: bytes,
    progress: Progress | None = None,
    validation_dir: Path | None = None,
    vault_key: bytes | None = None,
) -> IngestSummary:
    """Load a world folder into a migrated database, all or nothing, skipping stored records.

    With ``vault_key`` the customers' codes are also sealed into the identity vault (only
    payment-default reports to the bureau read them back).

    Every file is first validated against its data contract (``data_contracts``); a failure
    raises ``WorldFailedValidation`` before the database is touched and saves the full
    results in ``validation_dir`` (default ``<INSTALLMENT_HOME>/validation/<timestamp>``).
    """
    tables = read_world_tables(world_dir)
    _validate_contracts(world_dir, validation_dir)
    pseudonyms = _pseudonyms_by_code(tables["customers.parquet"], key=pseudonym_key)
    tables = {name: _with_pseudonyms(table, pseudonyms) for name, table in tables.items()}
    _check_consistency(tables)
    with engine.begin() as connection:
        _ensure_history_client(connection)
        loader = _Loader(connection, progress)
        for plan in LOAD_PLAN:
            loader.load(plan, tables[plan.file])
        if vault_key is not None:
            loader.counts["identity_vault"] = _seal_identities(connection, pseudonyms, vault_key)
    _refresh_statistics(engine)
    return IngestSummary(tables=dict(loader.counts))


def _refresh_statistics(engine: Engine) -> None:
    """Give PostgreSQL's planner statistics of the tables just loaded.

    Until autovacuum gets to them, a freshly loaded table looks empty to the planner and its
    plans for a decision's look-ups suit an empty table: in the HTTP benchmark, decisions per
    second on PostgreSQL rose from 72 to 92 (one API process) and from 62 to 151 (two) once
    the loaded tables were analysed.
    """
    if engine.dialect.name != "postgresql":
        return
    names = ", ".join(engine.dialect.identifier_preparer.quote(p.table.name) for p in LOAD_PLAN)
    with engine.connect() as connection:
        connection.exec_driver_sql(f"ANALYZE {names}")
        connection.commit()


def _seal_identities(
    connection: Connection, pseudonyms: dict[str, str], vault_key: bytes
) -> TableCount:
    from scoring.storage.identity_vault import sealed_entries
    from scoring.storage.tables_payment_defaults import IdentityVaultEntry

    vault = table_of(IdentityVaultEntry)
    wanted = list(pseudonyms.values())
    known: set[str] = set()
    for start in range(0, len(wanted), 1000):
        chunk = wanted[start : start + 1000]
        known.update(
            connection.scalars(select(vault.c.pseudonym).where(vault.c.pseudonym.in_(chunk)))
        )
    rows = sealed_entries(
        ((code, p) for code, p in pseudonyms.items() if p not in known),
        vault_key=vault_key,
        now=datetime.now(UTC),
    )
    for start in range(0, len(rows), 5000):
        connection.execute(insert(vault), rows[start : start + 5000])
    return TableCount(inserted=len(rows), already_present=len(known))
