"""The stored records, as SQLAlchemy tables: what the engine keeps and nothing more.

People appear only by a keyed pseudonym of their personal code; no code, name or
contact data has a column. Enumerations are strings with CHECK constraints (not
native enum types) so the same schema and migrations serve SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

SEGMENTS = ("energy", "telecom", "smart_home")
RISK_CLASSES = ("very_good", "good", "satisfactory", "poor")
PRODUCT_CATEGORIES = (
    "heat_pump",
    "solar_panels",
    "electronics",
    "phone",
    "smart_home",
    "home_appliance",
)
CHANNELS = ("web", "store", "phone")
DECISION_OUTCOMES = ("approve", "decline", "refer", "pending_review")
REVIEW_KINDS = ("contest", "human_review_requested", "objection", "referral")
REVIEW_STATUSES = ("open", "claimed", "awaiting_second_signature", "resolved")
REVIEW_OUTCOMES = ("upheld", "overturned", "terms_changed", "approved", "declined")
USER_ROLES = (
    "reviewer",
    "senior_reviewer",
    "auditor",
    "admin",
    "risk_analyst",
    "risk_approver",
    "oversight",
    "data_protection_officer",
)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(12, 2, asdecimal=True)
# 64-bit keys on PostgreSQL; on SQLite only INTEGER PRIMARY KEY is an auto-assigned rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[datetime]):
    """A point in time, stored in UTC and always read back timezone-aware.

    SQLite has no timezone-aware type, so naive values are refused on the way in
    and UTC is attached on the way out; PostgreSQL uses ``timestamptz``.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("timestamps must be timezone-aware (UTC) before they are stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...], *, name: str | None = None) -> CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or column)


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_non_negative") for column in columns]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UtcDateTime(),
        date: Date(),
        Decimal: Money,
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def table_of(model: type[Base]) -> Table:
    """The table a mapped class is stored in (``__table__``, typed as a plain clause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Customer(Base):
    """A person the company knows, by pseudonym only."""

    __tablename__ = "customers"
    __table_args__ = (_one_of("segment", SEGMENTS),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64), unique=True)
    # Null means the person never was a customer of the company (a thin file).
    customer_since: Mapped[date | None]
    relationship_ended_on: Mapped[date | None]
    segment: Mapped[str | None] = mapped_column(String(20))
    objected_to_profiling_at: Mapped[datetime | None]


class Invoice(Base):
    """One monthly invoice of the company's own payment history."""

    __tablename__ = "invoices"
    __table_args__ = (
        *_non_negative("amount", "paid", "reminders_sent"),
        CheckConstraint("due_on >= issued_on", name="due_after_issue"),
        Index(None, "customer_id", "due_on"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    issued_on: Mapped[date]
    due_on: Mapped[date]
    amount: Mapped[Decimal]
    paid: Mapped[Decimal]
    paid_in_full_on: Mapped[date | None]
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    sent_to_collection_on: Mapped[date | None]

    customer: Mapped[Customer] = relationship()


class Payment(Base):
    """A payment towards an invoice; a partial payment is one of several rows."""

    __tablename__ = "payments"
    __table_args__ = (*_non_negative("amount"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_number: Mapped[str] = mapped_column(String(64), unique=True)
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    paid_on: Mapped[date]
    amount: Mapped[Decimal]

    invoice: Mapped[Invoice] = relationship()


class BureauReport(Base):
    """The kept fields of a credit-bureau report, requested when an application was made."""

    __tablename__ = "bureau_reports"
    __table_args__ = (
        _one_of("risk_class", RISK_CLASSES),
        CheckConstraint("score BETWEEN 0 AND 1000", name="score_range"),
        CheckConstraint(
            "pd_band_low >= 0 AND pd_band_low <= pd_band_high AND pd_band_high <= 1",
            name="pd_band_range",
        ),
        *_non_negative("open_default_count", "closed_default_count"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    requested_at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    score: Mapped[int]
    risk_class: Mapped[str] = mapped_column(String(20))
    pd_band_low: Mapped[float] = mapped_column(Float)
    pd_band_high: Mapped[float] = mapped_column(Float)
    open_default_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_default_count: Mapped[int] = mapped_column(Integer, default=0)

    customer: Mapped[Customer] = relationship()


class BureauDefaultEntry(Base):
    """A payment default with another creditor, as listed in a bureau report."""

    __tablename__ = "bureau_default_entries"
    __table_args__ = (
        *_non_negative("amount"),
        CheckConstraint("ended_on IS NULL OR ended_on >= started_on", name="ended_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bureau_report_id: Mapped[int] = mapped_column(
        ForeignKey("bureau_reports.id", ondelete="CASCADE"), index=True
    )
    creditor_sector: Mapped[str] = mapped_column(String(50))
    amount: Mapped[Decimal]
    started_on: Mapped[date]
    # Null while the default is open.
    ended_on: Mapped[date | None]

    report: Mapped[BureauReport] = relationship()


class ApiClient(Base):
    """A machine client of the API, such as the sales system."""

    __tablename__ = "api_clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ApiKey(Base):
    """A hashed API key of a client; the prefix finds it, the hash proves it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    key_prefix: Mapped[str] = mapped_column(String(32), unique=True)
    key_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[list[Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    client: Mapped[ApiClient] = relationship()


class Application(Base):
    """An instalment application as the sales system sent it (or as history recorded it)."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("client_id", "external_id"),
        _one_of("product_category", PRODUCT_CATEGORIES),
        _one_of("channel", CHANNELS),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("term_months BETWEEN 1 AND 120", name="term_months_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id"))
    # The sales system's own application id, unique per client.
    external_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    applied_at: Mapped[datetime]
    amount: Mapped[Decimal]
    term_months: Mapped[int]
    product_category: Mapped[str] = mapped_column(String(30))
    channel: Mapped[str] = mapped_column(String(20))
    human_review_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    bureau_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("bureau_reports.id", ondelete="SET NULL"), index=True
    )
    # Known only for historical applications: 90+ days past due within 12 months.
    defaulted_12m: Mapped[bool | None] = mapped_column(Boolean)

    client: Mapped[ApiClient] = relationship()
    customer: Mapped[Customer] = relationship()
    bureau_report: Mapped[BureauReport | None] = relationship()


class Decision(Base):
    """An outcome for an application, with everything needed to explain and replay it."""

    __tablename__ = "decisions"
    __table_args__ = (
        _one_of("outcome", DECISION_OUTCOMES),
        CheckConstraint(
            "probability_of_default IS NULL "
            "OR (probability_of_default >= 0 AND probability_of_default <= 1)",
            name="probability_of_default_range",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    automated: Mapped[bool] = mapped_column(Boolean)
    probability_of_default: Mapped[float | None] = mapped_column(Float)
    risk_grade: Mapped[str | None] = mapped_column(String(20))
    model_name: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(50))
    policy_version: Mapped[str] = mapped_column(String(50))
    contract_versions: Mapped[dict[str, Any]]
    reasons: Mapped[list[Any]]
    policy_rules: Mapped[list[Any]]
    contributions: Mapped[dict[str, Any]]
    counterfactual: Mapped[dict[str, Any] | None]
    # The bureau's own report id, kept as provenance even if the report is swept later.
    bureau_report_id: Mapped[str | None] = mapped_column(String(64))
    input_hash: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime] = mapped_column(index=True)
    contestable_until: Mapped[datetime | None]
    # Set on a decision that a review produced; points at the decision it replaces.
    supersedes_decision_id: Mapped[str | None] = mapped_column(
        ForeignKey("decisions.id"), index=True
    )
    # The challenger's answer, scored in shadow and never shown.
    shadow: Mapped[dict[str, Any] | None]

    application: Mapped[Application] = relationship()
    supersedes: Mapped[Decision | None] = relationship(remote_side=[id])


class DecisionLogEntry(Base):
    """One append-only, hash-chained entry of the decision log.

    ``decision_id`` is deliberately not a foreign key: the log is the evidence and
    must outlive, and be checkable against, changes to the decisions table.
    """

    __tablename__ = "decision_log"
    __table_args__ = {"sqlite_autoincrement": True}

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(String(36), index=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class User(Base):
    """A person who works in the reviewer UI."""

    __tablename__ = "users"
    __table_args__ = (_one_of("role", USER_ROLES), *_non_negative("failed_logins"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    training_completed_on: Mapped[date | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ReviewCase(Base):
    """A request for human review of a decision (GDPR Art. 22), with its deadline."""

    __tablename__ = "review_cases"
    __table_args__ = (
        _one_of("kind", REVIEW_KINDS),
        _one_of("status", REVIEW_STATUSES),
        CheckConstraint(
            f"outcome IS NULL OR outcome IN ({', '.join(repr(o) for o in REVIEW_OUTCOMES)})",
            name="outcome",
        ),
        CheckConstraint(
            "status <> 'resolved' OR (outcome IS NOT NULL AND justification IS NOT NULL "
            "AND resolved_at IS NOT NULL)",
            name="resolved_has_outcome",
        ),
        CheckConstraint(
            "extended_due_at IS NULL "
            "OR (extension_reason IS NOT NULL AND extended_due_at > due_at)",
            name="extension_has_reason",
        ),
        # A decision gets at most one case of each kind.
        UniqueConstraint("decision_id", "kind"),
        Index(None, "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"))
    kind: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30), default="open")
    statement: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    extended_due_at: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    extension_notice_sent_at: Mapped[datetime | None]
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(20))
    justification: Mapped[str | None] = mapped_column(Text)
    second_signature_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resulting_decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))

    decision: Mapped[Decision] = relationship(foreign_keys=[decision_id])
    resulting_decision: Mapped[Decision | None] = relationship(foreign_keys=[resulting_decision_id])
    claimed_by_user: Mapped[User | None] = relationship(foreign_keys=[claimed_by])
    second_signer: Mapped[User | None] = relationship(foreign_keys=[second_signature_by])


class AuditLogEntry(Base):
    """One append-only, hash-chained entry of who did what to which record."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    details: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class IdempotencyRecord(Base):
    """The first answer to a client's ``Idempotency-Key``, so a retry gets the same decision."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str | None] = mapped_column(ForeignKey("decisions.id"))
    created_at: Mapped[datetime]

    client: Mapped[ApiClient] = relationship()
    decision: Mapped[Decision | None] = relationship()


# Each area keeps its tables in its own module; importing them here puts them on Base.metadata
# for Alembic and for anyone who imports the tables.
from scoring.storage import (  # noqa: E402
    tables_change_control,  # noqa: F401
    tables_decisions,  # noqa: F401
    tables_payment_defaults,  # noqa: F401
    tables_privacy,  # noqa: F401
    tables_reviews,  # noqa: F401
    tables_web_sessions,  # noqa: F401
)
