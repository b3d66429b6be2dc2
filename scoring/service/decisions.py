"""The instalment decision, from a validated request to a stored, explained, logged answer.

One request runs in three steps:

1. **read** (one short transaction): the idempotency record, the customer by pseudonym
   and their invoices and payments;
2. **decide** (no transaction open): bureau report, features through
   ``scoring.features`` (the code training uses), champion PD and SHAP contributions,
   the policy (``scoring.domain.decision``), the counterfactual (all candidate terms scored
   in one batch), the challenger in shadow;
3. **store** (one transaction, before anything is answered): customer, bureau report,
   application, decision, its minimised inputs, a review case when a person must decide,
   the hash-chained log entry and the idempotency record.

``make_decision`` runs the three in the caller's thread (the API's: one of its decision
threads): ``prepare_decision`` for steps 1 and 2, ``store_decision`` for step 3.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np
from sqlalchemy import (
    Connection,
    Float,
    Integer,
    bindparam,
    cast,
    insert,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from scoring.bureau.client import BureauError
from scoring.domain import personal_code
from scoring.domain.bureau import BUREAU_NAME, RISK_CLASSES, BureauReport
from scoring.domain.counterfactual import Counterfactual, PurchaseTerms, find_counterfactual
from scoring.domain.decision import (
    ApplicationFacts,
    DecisionOutcome,
    ModelAssessment,
    Outcome,
    decide,
)
from scoring.domain.decision_record import decision_record
from scoring.domain.hash_chain import canonical_json
from scoring.domain.identifiers import time_ordered_uuid
from scoring.domain.policy import Policy
from scoring.domain.pseudonym import pseudonymise
from scoring.domain.reasons import Reason
from scoring.domain.review import CaseKind
from scoring.features import (
    FEATURE_NAMES,
    BureauFacts,
    CustomerHistory,
    FeatureInputError,
    applicant_features,
    applicant_history_aggregates,
    cutoff_day,
)
from scoring.service import decision_log
from scoring.service.api_keys import AuthenticatedClient
from scoring.service.errors import (
    ApplicationAlreadyDecided,
    DecisionNotFound,
    IdempotencyConflict,
    InvalidApplication,
)
from scoring.service.reviews import open_case_for_pending_decision
from scoring.storage import tables as t
from scoring.storage.db import autocommit
from scoring.storage.prepared import Pipeline, Prepared
from scoring.storage.sql import day_number
from scoring.storage.tables_decisions import DecisionInput
from scoring.storage.write_turn import write_turn

CONTEST_PATH = "/v1/decisions/{decision_id}/contest"
# Routing reasons that make a review case, and the case kind each one opens.
REVIEW_CASE_KINDS = {
    "S02_HUMAN_REVIEW_REQUESTED": "human_review_requested",
    "S03_PROFILING_OBJECTION": "objection",
    "S04_AUTOMATION_PAUSED": "human_review_requested",
}
# A store that lost a unique-key race to a concurrent twin is re-checked and tried once more.
STORE_ATTEMPTS = 2
_CONTRACTS = ("decision_request", "payment_history", "bureau_report", "decision_record")

Clock = Callable[[], datetime]


class BureauSource(Protocol):
    def fetch_report(self, personal_code: str) -> BureauReport: ...


@dataclass(frozen=True)
class DecisionView:
    """What the caller learns about a decision; the challenger's answer is never part of it."""

    decision_id: str
    application_id: str
    outcome: str
    probability_of_default: float | None
    risk_grade: str | None
    reasons: list[dict[str, Any]]
    policy_rules: list[dict[str, Any]]
    counterfactual: dict[str, Any] | None
    automated: bool
    model: dict[str, str] | None
    policy_version: str
    contract_versions: dict[str, str]
    decided_at: datetime
    contest: dict[str, Any] | None
    letter: dict[str, str] | None
    # True when this answer is the stored decision returned again for a retried request.
    idempotent_replay: bool = False
    # Whether the challenger would have decided otherwise (for metrics; never shown).
    challenger_disagrees: bool | None = None


@dataclass(frozen=True)
class _History:
    objected: bool
    events: CustomerHistory


@lru_cache(maxsize=1)
def contract_versions() -> dict[str, str]:
    """The versions of the data contracts a decision is made under."""
    from data_contracts.loader import load_contract

    return {name: load_contract(name).version for name in _CONTRACTS}


def request_hash(request: Any, *, pseudonym: str) -> str:
    """SHA-256 of the request with the personal code replaced by its pseudonym."""
    body = request.model_dump(mode="json")
    body["personal_code"] = pseudonym
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def make_decision(
    *,
    request: Any,
    client: AuthenticatedClient,
    idempotency_key: str | None,
    uow: Any,
    bureau: BureauSource,
    models: Any,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    connection: Connection | None = None,
) -> DecisionView:
    """Decide one application, store it with its log entry, and return the stored view.

    Works on ``connection`` when one is given (the API's, which checked the key on it and
    closes it after), else on a connection of ``uow``'s engine; commits its own
    transactions either way.
    """
    opened = contextlib.nullcontext(connection) if connection is not None else uow.engine.connect()
    with opened as connection:
        prepared = prepare_decision(
            request=request, client=client, idempotency_key=idempotency_key,
            bureau=bureau, models=models, policy=policy, pseudonym_key=pseudonym_key,
            clock=clock, connection=connection,
        )  # fmt: skip
        if isinstance(prepared, DecisionView):
            return prepared
        return store_decision(connection, prepared)


def prepare_decision(
    *,
    request: Any,
    client: AuthenticatedClient,
    idempotency_key: str | None,
    bureau: BureauSource,
    models: Any,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    connection: Connection,
) -> DecisionView | PreparedDecision:
    """Read and decide, without storing: the rows to store, or the stored answer of a retry.

    The reads run on ``connection`` outside any transaction; the rows are stored by
    :func:`store_decision`.
    """
    try:
        code = personal_code.parse(request.personal_code)
    except personal_code.InvalidPersonalCode as error:
        raise InvalidApplication(str(error), field="personal_code") from None
    pseudonym = pseudonymise(code.value, key=pseudonym_key)
    fingerprint = request_hash(request, pseudonym=pseudonym)
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 255:
        raise InvalidApplication(
            "Idempotency-Key must hold 1 to 255 characters", field="Idempotency-Key"
        )

    # Two reads, each its own snapshot, so no transaction (on PostgreSQL no BEGIN and
    # COMMIT round trips): the check, then the history in one statement. The hot path uses
    # prepared statements; the ORM is used only for a replayed answer or a review case.
    with autocommit(connection):
        # One query tells whether this application or key was decided before and who
        # the applicant is; only a retry or a conflict reads further.
        customer_id, objected_at, earlier, key_hash = _READ_CHECK.one(
            connection,
            {
                "pseudonym": pseudonym,
                "client_id": client.client_id,
                "external_id": request.application_id,
                "key": idempotency_key,
            },
        )
        if earlier is not None or key_hash is not None:
            stored = _earlier_answer(
                connection, client_id=client.client_id, key=idempotency_key,
                fingerprint=fingerprint, external_id=request.application_id,
            )  # fmt: skip
            if stored is not None:
                return stored
        history = _load_history(
            connection, customer_id=customer_id, objected=objected_at is not None
        )

    applied_at = clock()
    purchase = request.purchase
    facts = ApplicationFacts(
        amount_eur=float(purchase.amount_eur),
        term_months=int(purchase.term_months),
        product_category=purchase.product_category,
        age_years=code.age_on(applied_at.date()),
        human_review_requested=bool(request.human_review_requested),
        objected_to_profiling=history.objected,
    )
    scoring = _assess(
        facts=facts, code=code.value, history=history,
        applied_at=applied_at, bureau=bureau, models=models, policy=policy,
    )  # fmt: skip

    decision_id = str(time_ordered_uuid())
    decided_at = clock()
    # Every row and the log entry are built before the writer's turn, which only writes.
    return _rows(
        decision_id=decision_id, decided_at=decided_at, applied_at=applied_at,
        request=request, client=client, pseudonym=pseudonym, facts=facts,
        scoring=scoring, policy=policy, fingerprint=fingerprint, key=idempotency_key,
    )  # fmt: skip


def store_decision(connection: Connection, rows: PreparedDecision) -> DecisionView:
    """Store one prepared decision with its log entry; the earlier answer if there is one.

    Raises what the earlier answer is, when it is a refusal (409), and the database's
    errors; a unique-key conflict with a concurrent twin is resolved here.
    """
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            # On PostgreSQL the statements are pipelined: BEGIN goes with the check, the
            # inserts with the chain head's lock, the log entry with COMMIT, three round
            # trips in all.
            with (
                write_turn(connection),
                connection.begin() as transaction,
                Pipeline(connection) as pipeline,
            ):
                # On SQLite the head is the database's write lock and is taken first, so
                # the check below sees every decision committed before this one; on
                # PostgreSQL it is the chain's row lock, taken by the append just before
                # commit, and a concurrent twin shows up as a unique-key conflict instead.
                head = None
                if decision_log.locks_head_first(connection):
                    head = decision_log.lock_head(connection)
                stored = _write(connection, rows, head=head, pipeline=pipeline)
                if stored is not None:
                    transaction.rollback()  # ends the write lock within this turn
                    return stored
                transaction.commit()
            return rows.view
        except IntegrityError:
            # Another request stored the same application, key, customer or bureau
            # report after our check: its answer is ours (replay or 409), else store
            # once more. A conflict found at COMMIT leaves SQLAlchemy's transaction to
            # be rolled back by hand.
            connection.rollback()
            with connection.begin():
                stored = _earlier_answer(
                    connection, client_id=rows.client_id, key=rows.key,
                    fingerprint=rows.fingerprint, external_id=rows.external_id,
                )  # fmt: skip
            if stored is not None:
                return stored
            if attempt == STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def get_decision(*, uow: Any, client: AuthenticatedClient, decision_id: str) -> DecisionView:
    """A stored decision of this client; ``DecisionNotFound`` for others' or unknown ids."""
    with uow:
        return _stored_view(uow.session, decision_id=decision_id, client_id=client.client_id)


# ---------------------------------------------------------------------------------------
# Step 1: read


def _earlier_answer(
    connection: Connection,
    *,
    client_id: str,
    key: str | None,
    fingerprint: str,
    external_id: str,
) -> DecisionView | None:
    # The application first, the key second: a concurrent request commits both in one
    # transaction, and each statement may see a newer snapshot (PostgreSQL, read committed),
    # so whoever sees its application also sees its key and answers with a replay, not 409.
    existing = _APPLICATION_ROW.first(
        connection, {"client_id": client_id, "external_id": external_id}
    )
    if key is not None:
        record = _IDEMPOTENCY_ROW.first(connection, {"client_id": client_id, "key": key})
        if record is not None:
            request_hash, decision_id = record
            if request_hash != fingerprint or decision_id is None:
                raise IdempotencyConflict(
                    "this Idempotency-Key was used before with a different request body; "
                    "use a new key for a new application",
                    field="Idempotency-Key",
                )
            with _joined_session(connection) as session:
                view = _stored_view(session, decision_id=decision_id, client_id=client_id)
            return _replace(view, idempotent_replay=True)
    if existing is not None:
        raise ApplicationAlreadyDecided(
            f"application {external_id} was already decided; fetch it with "
            "GET /v1/decisions/{decision_id} or retry with its original Idempotency-Key",
            field="application_id",
        )
    return None


_IDEMPOTENCY = t.IdempotencyRecord.__table__
_APPLICATIONS = t.Application.__table__
_IDEMPOTENCY_RECORD = select(_IDEMPOTENCY.c.request_hash, _IDEMPOTENCY.c.decision_id).where(
    _IDEMPOTENCY.c.client_id == bindparam("client_id"),
    _IDEMPOTENCY.c.idempotency_key == bindparam("key"),
)
_APPLICATION_OF_CLIENT = select(_APPLICATIONS.c.id).where(
    _APPLICATIONS.c.client_id == bindparam("client_id"),
    _APPLICATIONS.c.external_id == bindparam("external_id"),
)
_IDEMPOTENCY_ROW = Prepared(_IDEMPOTENCY_RECORD)
_APPLICATION_ROW = Prepared(_APPLICATION_OF_CLIENT)


def _joined_session(connection: Connection) -> Session:
    """An ORM session inside ``connection``'s transaction; closing it leaves that open."""
    return Session(bind=connection, expire_on_commit=False, autoflush=True)


def _load_history(connection: Connection, *, customer_id: int | None, objected: bool) -> _History:
    if customer_id is None:
        return _History(False, CustomerHistory.empty())
    rows = _HISTORY_OF_CUSTOMER.all(connection, {"customer_id": customer_id})
    return _History(objected, _customer_history(rows))


_CUSTOMERS = t.Customer.__table__
_INVOICES = t.Invoice.__table__
_PAYMENTS = t.Payment.__table__
_CUSTOMER_BY_PSEUDONYM = select(_CUSTOMERS.c.id).where(
    _CUSTOMERS.c.pseudonym == bindparam("pseudonym")
)
_READ_CHECK = Prepared(
    select(
        _CUSTOMER_BY_PSEUDONYM.scalar_subquery().label("customer_id"),
        _CUSTOMER_BY_PSEUDONYM.with_only_columns(_CUSTOMERS.c.objected_to_profiling_at)
        .scalar_subquery()
        .label("objected_at"),
        _APPLICATION_OF_CLIENT.scalar_subquery().label("application_id"),
        _IDEMPOTENCY_RECORD.with_only_columns(_IDEMPOTENCY.c.request_hash)
        .scalar_subquery()
        .label("idempotency_hash"),
    )
)
# Every column is read as a number, as the feature kernel takes it: dates as day numbers,
# amounts as floats (the same double float(Decimal) gives), so rows become arrays at once.
# Invoices (kind 0) and their payments (kind 1) come in one statement, so they are one
# snapshot without a transaction: a payment never arrives without its invoice.
_HISTORY_OF_CUSTOMER = Prepared(
    union_all(
        select(
            literal_column("0", Integer).label("kind"), _INVOICES.c.id,
            day_number(_INVOICES.c.issued_on), day_number(_INVOICES.c.due_on),
            cast(_INVOICES.c.amount, Float), day_number(_INVOICES.c.paid_in_full_on),
            cast(_INVOICES.c.reminders_sent, Float), day_number(_INVOICES.c.sent_to_collection_on),
        ).where(_INVOICES.c.customer_id == bindparam("customer_id")),
        select(
            literal_column("1", Integer), _PAYMENTS.c.invoice_id, day_number(_PAYMENTS.c.paid_on),
            cast(_PAYMENTS.c.amount, Float), null(), null(), null(), null(),
        )
        .join(_INVOICES, _INVOICES.c.id == _PAYMENTS.c.invoice_id)
        .where(_INVOICES.c.customer_id == bindparam("customer_id")),
    )
)  # fmt: skip


def _customer_history(rows: Sequence[Any]) -> CustomerHistory:
    """Database rows (kind, then numbers, NULL as None) as the arrays the feature kernel reads."""
    if not rows:
        return CustomerHistory.empty()
    # numpy reads None as NaN in a float array: a missing date is a missing day number. Rows
    # become plain tuples first: numpy reads a result row item by item, thirty times slower.
    table = np.array([tuple(row) for row in rows], dtype=np.float64)
    is_payment = table[:, 0] == 1.0
    invoices = table[~is_payment]
    paid = table[is_payment]
    if not len(invoices):
        return CustomerHistory.empty()
    where = {invoice_id: i for i, invoice_id in enumerate(invoices[:, 1].tolist())}
    return CustomerHistory(
        issued=invoices[:, 2],
        due=invoices[:, 3],
        amount=invoices[:, 4],
        paid_full=invoices[:, 5],
        reminders=invoices[:, 6],
        collection=invoices[:, 7],
        pay_invoice=np.asarray([where[i] for i in paid[:, 1].tolist()], dtype=np.intp),
        paid_on=paid[:, 2],
        pay_amount=paid[:, 3],
    )


# ---------------------------------------------------------------------------------------
# Step 2: decide


@dataclass(frozen=True)
class _Scoring:
    outcome: DecisionOutcome
    features: dict[str, float | None]
    assessment: ModelAssessment | None
    report: BureauReport | None
    bureau_failure: str | None
    counterfactual: Counterfactual | None
    shadow: dict[str, Any] | None
    scored: bool
    # The contract of the snapshot the champion was trained on, e.g. training_snapshot 1.0.0.
    model_contract: dict[str, str] = field(default_factory=dict)


def feature_matrix(
    *,
    history: _History,
    report: BureauReport,
    applied_at: datetime,
    product_category: str,
    terms: Sequence[tuple[float, int]],
) -> np.ndarray:
    """Model features for (amount, term) pairs of one application, by the training code.

    A row per pair, columns in ``FEATURE_NAMES`` order.
    """
    amounts, months = zip(*terms, strict=True) if terms else ((), ())
    return applicant_features(
        history=history.events,
        bureau=BureauFacts(
            score=report.score,
            risk_class=report.risk_class,
            open_default_count=report.open_default_count,
            closed_default_count=report.closed_default_count,
        ),
        applied_at=applied_at,
        product_category=product_category,
        amounts=amounts,
        terms=months,
    )


def _model_matrix(features: np.ndarray, model: Any) -> np.ndarray:
    """``features`` (``FEATURE_NAMES`` columns) narrowed to the model's columns, its order."""
    positions = _column_positions(tuple(model.feature_names))
    return features if positions is None else features[:, positions]


@lru_cache(maxsize=16)
def _column_positions(wanted: tuple[str, ...]) -> np.ndarray | None:
    """Where the model's columns are among ``FEATURE_NAMES``; None when they are all, in order."""
    if list(wanted) == FEATURE_NAMES:
        return None
    where = {name: i for i, name in enumerate(FEATURE_NAMES)}
    unknown = [name for name in wanted if name not in where]
    if unknown:
        raise FeatureInputError(f"the model needs feature(s) not computed here: {unknown}")
    return np.asarray([where[name] for name in wanted], dtype=np.intp)


def _history_without_bureau(history: _History, applied_at: datetime) -> dict:
    """The internal-arrears facts the policy needs when the bureau gave no report."""
    raw = applicant_history_aggregates(history.events, day=cutoff_day(applied_at))
    return {"current_dpd": raw["current_dpd"]}


def _assess(
    *,
    facts: ApplicationFacts,
    code: str,
    history: _History,
    applied_at: datetime,
    bureau: BureauSource,
    models: Any,
    policy: Policy,
) -> _Scoring:
    if facts.objected_to_profiling:
        # The customer objected to profiling: no bureau query and no model score at all.
        outcome = decide(application=facts, features={}, assessment=None, policy=policy)
        return _Scoring(outcome, {}, None, None, None, None, None, scored=False)

    champion = models.champion()
    challenger = models.challenger()
    report, failure = None, None
    try:
        report = bureau.fetch_report(code)
    except BureauError as error:
        failure = error.kind

    if report is None:
        arrears = _history_without_bureau(history, applied_at)
        outcome = decide(application=facts, features=arrears, assessment=None, policy=policy)
        return _Scoring(outcome, dict(arrears), None, None, failure, None, None, scored=False)

    features = feature_matrix(
        history=history, report=report, applied_at=applied_at,
        product_category=facts.product_category, terms=[(facts.amount_eur, facts.term_months)],
    )  # fmt: skip
    numeric = dict(zip(FEATURE_NAMES, features[0].tolist(), strict=True))
    model_input = _model_matrix(features, champion)
    probability = float(champion.predict_pd(model_input)[0])
    base, contributions = champion.contributions(model_input)
    assessment = ModelAssessment(
        probability_of_default=probability,
        base_value=float(base),
        contributions=dict(zip(champion.feature_names, contributions[0].tolist(), strict=True)),
        model_name=champion.name,
        model_version=str(champion.version),
    )
    outcome = decide(application=facts, features=numeric, assessment=assessment, policy=policy)

    def score(candidates: Sequence[tuple[float, int]]) -> Sequence[float]:
        batch = feature_matrix(
            history=history, report=report, applied_at=applied_at,
            product_category=facts.product_category, terms=candidates,
        )  # fmt: skip
        return champion.predict_pd(_model_matrix(batch, champion)).tolist()

    counterfactual = find_counterfactual(
        application=facts, outcome=outcome, policy=policy, score=score
    )
    shadow = None
    if challenger is not None:
        shadow_pd = float(challenger.predict_pd(_model_matrix(features, challenger))[0])
        shadow_outcome = decide(
            application=facts,
            features=numeric,
            assessment=ModelAssessment(
                shadow_pd, 0.0, {}, challenger.name, str(challenger.version)
            ),
            policy=policy,
        ).outcome
        shadow = {
            "model": {"name": challenger.name, "version": str(challenger.version)},
            "probability_of_default": shadow_pd,
            "outcome": shadow_outcome.value,
            "disagrees": shadow_outcome != outcome.outcome,
        }
    stored_features = {k: (None if math.isnan(v) else v) for k, v in numeric.items()}
    trained_on = {}
    metadata = getattr(champion, "metadata", None) or {}
    if metadata.get("contract_id") and metadata.get("contract_version"):
        trained_on[str(metadata["contract_id"])] = str(metadata["contract_version"])
    return _Scoring(
        outcome, stored_features, assessment, report, None, counterfactual, shadow, True,
        trained_on,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------
# Step 3: store


@dataclass(frozen=True)
class PreparedDecision:
    """What one decision stores, as plain values, and the answer once it is stored."""

    pseudonym: str
    client_id: str
    external_id: str
    fingerprint: str
    key: str | None
    report: dict[str, Any] | None
    default_entries: list[dict[str, Any]]
    application: dict[str, Any]
    decision: dict[str, Any]
    decision_input: dict[str, Any]
    idempotency: dict[str, Any] | None
    log_entry: str  # the canonical JSON payload of the decision's log entry
    pending_review: DecisionOutcome | None
    view: DecisionView


def _rows(
    *,
    decision_id: str,
    decided_at: datetime,
    applied_at: datetime,
    request: Any,
    client: AuthenticatedClient,
    pseudonym: str,
    facts: ApplicationFacts,
    scoring: _Scoring,
    policy: Policy,
    fingerprint: str,
    key: str | None,
) -> PreparedDecision:
    purchase = request.purchase
    report = scoring.report
    report_values = None
    if report is not None:
        report_values = {
            "report_id": report.report_id,
            "requested_at": report.requested_at,
            "received_at": report.requested_at,
            "score": report.score,
            "risk_class": report.risk_class,
            "pd_band_low": report.pd_band_low,
            "pd_band_high": report.pd_band_high,
            "open_default_count": report.open_default_count,
            "closed_default_count": report.closed_default_count,
        }
    default_entries = [
        {
            "creditor_sector": entry.creditor_sector,
            "amount": Decimal(str(entry.amount_eur)).quantize(Decimal("0.01")),
            "started_on": entry.started_on,
            "ended_on": entry.ended_on,
        }
        for entry in (report.default_entries if report is not None else ())
    ]
    application = {
        "client_id": client.client_id,
        "external_id": request.application_id,
        "applied_at": applied_at,
        "amount": Decimal(str(purchase.amount_eur)).quantize(Decimal("0.01")),
        "term_months": int(purchase.term_months),
        "product_category": purchase.product_category,
        "channel": request.channel,
        "human_review_requested": bool(request.human_review_requested),
        "defaulted_12m": None,
    }

    outcome = scoring.outcome
    assessment = scoring.assessment
    reasons = [_reason_dict(r) for r in outcome.reasons]
    rules = [{"code": hit.code, "effect": hit.effect} for hit in outcome.policy_rules]
    counterfactual = _counterfactual_dict(scoring.counterfactual)
    versions = dict(contract_versions())
    versions.update(scoring.model_contract)
    inputs = {
        "facts": facts.__dict__,
        "features": scoring.features,
        "bureau_report_id": report.report_id if report else None,
        "bureau_failure": scoring.bureau_failure,
    }
    input_hash = hashlib.sha256(canonical_json(inputs).encode()).hexdigest()
    values = {
        "id": decision_id,
        "outcome": outcome.outcome.value,
        "automated": outcome.automated,
        "probability_of_default": assessment.probability_of_default if assessment else None,
        "risk_grade": outcome.risk_grade,
        "model_name": assessment.model_name if assessment else None,
        "model_version": assessment.model_version if assessment else None,
        "policy_version": policy.version,
        "contract_versions": versions,
        "reasons": reasons,
        "policy_rules": rules,
        "contributions": dict(assessment.contributions) if assessment else {},
        "counterfactual": counterfactual,
        "bureau_report_id": report.report_id if report else None,
        "input_hash": input_hash,
        "decided_at": decided_at,
        "contestable_until": decided_at + timedelta(days=policy.contest_window_days),
        "supersedes_decision_id": None,
        "shadow": scoring.shadow,
    }
    log_entry = canonical_json(
        {
            "kind": "decision",
            "decision_id": decision_id,
            "client_id": client.client_id,
            "application_id": request.application_id,
            "applicant_pseudonym": pseudonym,
            "decided_at": decided_at,
            "scored": scoring.scored,
            **inputs,
            "base_value": assessment.base_value if assessment else None,
            "contributions": values["contributions"],
            "counterfactual": counterfactual,
            "shadow": scoring.shadow,
            "record": decision_record(values, reasons=reasons, policy_rules=rules),
        }
    )
    # The view reads attributes as of a stored row; plain namespaces cost a fraction of ORM
    # objects, whose every attribute set goes through the session's instrumentation.
    decision = SimpleNamespace(**values)
    letter_report = SimpleNamespace(**report_values) if report_values else None
    view = _view(decision, request.application_id, facts_row=facts.__dict__, report=letter_report)
    return PreparedDecision(
        pseudonym=pseudonym,
        client_id=client.client_id,
        external_id=request.application_id,
        fingerprint=fingerprint,
        key=key,
        report=report_values,
        default_entries=default_entries,
        application=application,
        decision=values,
        decision_input={
            "decision_id": decision_id,
            "facts": dict(facts.__dict__),
            "features": scoring.features or None,
            "base_value": assessment.base_value if assessment else None,
        },
        idempotency=(
            {
                "client_id": client.client_id,
                "idempotency_key": key,
                "request_hash": fingerprint,
                "decision_id": decision_id,
                "created_at": decided_at,
            }
            if key is not None
            else None
        ),
        log_entry=log_entry,
        pending_review=outcome if outcome.outcome is Outcome.PENDING_REVIEW else None,
        view=_replace(view, challenger_disagrees=(scoring.shadow or {}).get("disagrees")),
    )


def _write(
    connection: Connection,
    rows: PreparedDecision,
    *,
    head: decision_log.ChainHead | None,
    pipeline: Pipeline,
) -> DecisionView | None:
    """Write the decision's rows and log entry; an earlier answer instead, if there is one.

    One query first checks, in the writer's turn, for an earlier decision of this
    application or key and finds the customer and the bureau report if already stored.
    The ``pipeline`` is left before any work through the ORM.
    """
    customer_id, earlier, key_hash, report_row_id, report_customer_id = _WRITE_CHECK.one(
        connection,
        {
            "pseudonym": rows.pseudonym,
            "client_id": rows.client_id,
            "external_id": rows.external_id,
            "key": rows.key,
            "report_id": rows.report["report_id"] if rows.report else None,
        },
    )
    if earlier is not None or key_hash is not None:
        pipeline.leave()
        return _earlier_answer(
            connection, client_id=rows.client_id, key=rows.key,
            fingerprint=rows.fingerprint, external_id=rows.external_id,
        )  # fmt: skip
    # The bureau report is stored already, for another customer (or for a new one).
    if report_row_id is not None and report_customer_id != customer_id:
        raise InvalidApplication("the bureau answered with another person's report id")
    _insert_rows(
        connection, rows, customer_known=customer_id is not None,
        report_known=report_row_id is not None,
    )  # fmt: skip
    decision_id = rows.decision["id"]
    if rows.pending_review is not None:
        pipeline.leave()
        _open_review_case(
            connection, decision_id=decision_id, outcome=rows.pending_review,
            at=rows.decision["decided_at"],
        )  # fmt: skip
    decision_log.append_canonical(
        session=connection, head=head, decision_id=decision_id,
        at=rows.decision["decided_at"], canonical=rows.log_entry,
    )  # fmt: skip
    return None


def _insert_rows(
    connection: Connection, rows: PreparedDecision, *, customer_known: bool, report_known: bool
) -> None:
    """The decision's rows but its log entry and review case.

    Rows refer to the customer, report and application by their natural keys (subqueries),
    not by ids read back, so in a pipeline they all go out without waiting for answers.
    """
    report_id = rows.report["report_id"] if rows.report else None
    if not customer_known:
        # A new applicant: known only by pseudonym, never a customer so far (a thin file).
        _INSERT_CUSTOMER.run(connection, {"pseudonym": rows.pseudonym, "customer_since": None})
    if rows.report is not None and not report_known:
        _INSERT_REPORT.run(connection, {**rows.report, "pseudonym": rows.pseudonym})
        for entry in rows.default_entries:
            _INSERT_DEFAULT_ENTRY.run(connection, {**entry, "report_id": report_id})
    _INSERT_APPLICATION.run(
        connection, {**rows.application, "pseudonym": rows.pseudonym, "report_id": report_id}
    )
    _INSERT_DECISION.run(
        connection, {**rows.decision, "client_id": rows.client_id, "external_id": rows.external_id}
    )
    _INSERT_DECISION_INPUT.run(connection, rows.decision_input)
    if rows.idempotency is not None:
        _INSERT_IDEMPOTENCY.run(connection, rows.idempotency)


_BUREAU_REPORTS = t.BureauReport.__table__
_REPORT_ROW = select(_BUREAU_REPORTS.c.id, _BUREAU_REPORTS.c.customer_id).where(
    _BUREAU_REPORTS.c.report_id == bindparam("report_id")
)
_CUSTOMER_ID = _CUSTOMER_BY_PSEUDONYM.scalar_subquery()
_REPORT_ROW_ID = _REPORT_ROW.with_only_columns(_BUREAU_REPORTS.c.id).scalar_subquery()
_INSERT_CUSTOMER = Prepared(insert(_CUSTOMERS))
_INSERT_REPORT = Prepared(insert(_BUREAU_REPORTS).values(customer_id=_CUSTOMER_ID))
_INSERT_DEFAULT_ENTRY = Prepared(
    insert(t.BureauDefaultEntry.__table__).values(bureau_report_id=_REPORT_ROW_ID)
)
_INSERT_APPLICATION = Prepared(
    insert(_APPLICATIONS).values(customer_id=_CUSTOMER_ID, bureau_report_id=_REPORT_ROW_ID)
)
_INSERT_DECISION = Prepared(
    insert(t.Decision.__table__).values(application_id=_APPLICATION_OF_CLIENT.scalar_subquery())
)
_INSERT_DECISION_INPUT = Prepared(insert(DecisionInput.__table__))
_INSERT_IDEMPOTENCY = Prepared(insert(_IDEMPOTENCY))
_WRITE_CHECK = Prepared(
    select(
        _CUSTOMER_ID.label("customer_id"),
        _APPLICATION_OF_CLIENT.scalar_subquery().label("application_id"),
        _IDEMPOTENCY_RECORD.with_only_columns(_IDEMPOTENCY.c.request_hash)
        .scalar_subquery()
        .label("idempotency_hash"),
        _REPORT_ROW_ID.label("report_row_id"),
        _REPORT_ROW.with_only_columns(_BUREAU_REPORTS.c.customer_id)
        .scalar_subquery()
        .label("report_customer_id"),
    )
)


def _open_review_case(
    connection: Connection, *, decision_id: str, outcome: DecisionOutcome, at: datetime
) -> None:
    routing = next((r.code for r in outcome.reasons if r.code in REVIEW_CASE_KINDS), None)
    kind = CaseKind(REVIEW_CASE_KINDS.get(routing or "", "human_review_requested"))
    # Same transaction as the decision, whose row the case refers to.
    with _joined_session(connection) as session:
        open_case_for_pending_decision(
            session=session, decision_id=decision_id, kind=kind, clock=lambda: at
        )
        session.flush()


# ---------------------------------------------------------------------------------------
# Views


def _reason_dict(reason: Reason) -> dict[str, Any]:
    return {
        "code": reason.code,
        "text_et": reason.text_et,
        "text_en": reason.text_en,
        "contribution": reason.contribution,
        "kind": reason.kind,
    }


def _terms_dict(terms: PurchaseTerms) -> dict[str, Any]:
    return {
        "amount_eur": terms.amount_eur,
        "term_months": terms.term_months,
        "probability_of_default": terms.probability_of_default,
    }


def _counterfactual_dict(counterfactual: Counterfactual | None) -> dict[str, Any] | None:
    if counterfactual is None:
        return None
    return {
        "change": counterfactual.change,
        "suggested": _terms_dict(counterfactual.suggested),
        "alternatives": [_terms_dict(a) for a in counterfactual.alternatives],
        "text_et": counterfactual.text_et,
        "text_en": counterfactual.text_en,
    }


def _counterfactual_from(data: dict[str, Any] | None) -> Counterfactual | None:
    if not data:
        return None
    return Counterfactual(
        change=data["change"],
        suggested=PurchaseTerms(**data["suggested"]),
        alternatives=tuple(PurchaseTerms(**a) for a in data["alternatives"]),
        text_et=data["text_et"],
        text_en=data["text_en"],
    )


def _stored_view(session: Session, *, decision_id: str, client_id: str) -> DecisionView:
    row = session.execute(
        select(t.Decision, t.Application.external_id, t.Application.client_id, DecisionInput.facts)
        .join(t.Application, t.Application.id == t.Decision.application_id)
        .outerjoin(DecisionInput, DecisionInput.decision_id == t.Decision.id)
        .where(t.Decision.id == decision_id)
    ).first()
    if row is None or row.client_id != client_id:
        raise DecisionNotFound(f"no decision {decision_id} for this client")
    decision = row.Decision
    report = None
    if decision.bureau_report_id is not None:
        report = session.scalar(
            select(t.BureauReport).where(t.BureauReport.report_id == decision.bureau_report_id)
        )
    application = session.get(t.Application, decision.application_id)
    facts = row.facts or {
        "amount_eur": float(application.amount),
        "term_months": application.term_months,
        "product_category": application.product_category,
    }
    return _view(decision, row.external_id, facts_row=facts, report=report)


def _view(
    decision: t.Decision | SimpleNamespace,
    external_id: str,
    *,
    facts_row: dict[str, Any],
    report: t.BureauReport | SimpleNamespace | None,
) -> DecisionView:
    contest_url = CONTEST_PATH.format(decision_id=decision.id)
    model = (
        {"name": decision.model_name, "version": decision.model_version}
        if decision.model_version
        else None
    )
    letter = None
    if decision.outcome in (Outcome.DECLINE.value, Outcome.REFER.value):
        letter = _letters(decision, facts_row, report, contest_url)
    return DecisionView(
        decision_id=decision.id,
        application_id=external_id,
        outcome=decision.outcome,
        probability_of_default=decision.probability_of_default,
        risk_grade=decision.risk_grade,
        reasons=[
            {k: r[k] for k in ("code", "text_et", "text_en", "contribution")}
            for r in decision.reasons
        ],
        policy_rules=list(decision.policy_rules),
        counterfactual=decision.counterfactual,
        automated=decision.automated,
        model=model,
        policy_version=decision.policy_version,
        contract_versions=dict(decision.contract_versions),
        decided_at=decision.decided_at,
        contest=(
            {"url": contest_url, "until": decision.contestable_until}
            if decision.contestable_until
            else None
        ),
        letter=letter,
    )


def _letters(
    decision: t.Decision | SimpleNamespace,
    facts: dict[str, Any],
    report: t.BureauReport | SimpleNamespace | None,
    contest_url: str,
) -> dict[str, str]:
    from scoring.letters import BureauConsulted, DecisionLetter, render_decision_letter

    bureau = None
    if report is not None:
        definition = RISK_CLASSES[report.risk_class]
        bureau = BureauConsulted(
            name=BUREAU_NAME,
            report_id=report.report_id,
            requested_on=report.requested_at.date(),
            risk_class=report.risk_class,
            class_label_et=definition.label_et,
            class_label_en=definition.label_en,
            class_text_et=definition.definition_et,
            class_text_en=definition.definition_en,
        )
    until = decision.contestable_until or decision.decided_at
    letter = DecisionLetter(
        decision_id=decision.id,
        decided_on=decision.decided_at.date(),
        outcome=decision.outcome,
        automated=decision.automated,
        amount_eur=float(facts["amount_eur"]),
        term_months=int(facts["term_months"]),
        product_category=facts["product_category"],
        reasons=[
            Reason(r["code"], r["text_et"], r["text_en"], r.get("contribution"), r["kind"])
            for r in decision.reasons
        ],
        bureau=bureau,
        counterfactual=_counterfactual_from(decision.counterfactual),
        contest_until=until.date(),
        contest_url=contest_url,
    )
    return {lang: render_decision_letter(letter, language=lang) for lang in ("et", "en")}


def _replace(view: DecisionView, **changes: Any) -> DecisionView:
    return replace(view, **changes)
