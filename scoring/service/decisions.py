"""The instalment decision, from a validated request to a stored, explained, logged answer.

One request runs in three steps:

1. **read** (one short transaction): the idempotency record, the customer by pseudonym
   and their invoices and payments;
2. **decide** (no transaction open): bureau report, features through
   ``models.features`` (the code training uses), champion PD and SHAP contributions,
   the policy (``scoring.domain.decision``), the counterfactual (all candidate terms scored
   in one batch), the challenger in shadow;
3. **store** (one transaction, before anything is answered): customer, bureau report,
   application, decision, its minimised inputs, a review case when a person must decide,
   the hash-chained log entry and the idempotency record.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Float, bindparam, cast, insert, select
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
from scoring.domain.hash_chain import canonical_json
from scoring.domain.policy import Policy
from scoring.domain.pseudonym import pseudonymise
from scoring.domain.reasons import Reason
from scoring.domain.review import CaseKind
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
from scoring.storage.tables_decisions import DecisionInput

CUSTOMER_KEY = "pseudonym"
# Every row handed to the feature code for one decision is the applicant's, and the report is
# theirs: a constant integer key joins the tables as the pseudonym and report id would.
_APPLICANT = 0
_REPORT = 0
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
    customer_id: int | None
    objected: bool
    invoices: _Columns
    payments: _Columns


class _Columns:
    """A read-only table of ready-made columns for ``models.features``.

    The feature code reads a table only through ``table.columns`` and ``table[name]``; this
    gives it exactly that from arrays built once per decision, instead of a DataFrame whose
    construction and per-column access would cost more than the features themselves.
    """

    __slots__ = ("_series", "columns")

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        # Strings stay plain objects: inferring an Arrow string column costs more than it saves.
        self._series = {
            name: pd.Series(values, dtype=object if values.dtype == object else None)
            for name, values in columns.items()
        }
        self.columns = tuple(self._series)

    def __getitem__(self, name: str) -> pd.Series:
        return self._series[name]


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
) -> DecisionView:
    """Decide one application, store it with its log entry, and return the stored view."""
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

    with uow:
        stored = _earlier_answer(
            uow.session, client=client, key=idempotency_key, fingerprint=fingerprint,
            external_id=request.application_id,
        )  # fmt: skip
        if stored is not None:
            return stored
        history = _load_history(uow.session, pseudonym)

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

    decision_id = str(uuid.uuid4())
    decided_at = clock()
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            with uow, decision_log.writer_turn(uow.session):
                session = uow.session
                # On SQLite the head is the database's write lock and is taken first, so the
                # re-checks below see every decision committed before this one; on
                # PostgreSQL it is the chain's row lock, taken by the append just before
                # commit, and a concurrent twin shows up as a unique-key conflict instead.
                head = None
                if decision_log.locks_head_first(session):
                    head = decision_log.lock_head(session)
                stored = _earlier_answer(
                    session, client=client, key=idempotency_key, fingerprint=fingerprint,
                    external_id=request.application_id,
                )  # fmt: skip
                if stored is not None:
                    uow.commit()  # ends the write lock within this thread's turn
                    return stored
                view = _store(
                    session, decision_id=decision_id, decided_at=decided_at,
                    applied_at=applied_at, request=request, client=client, pseudonym=pseudonym,
                    facts=facts, scoring=scoring, policy=policy, fingerprint=fingerprint,
                    key=idempotency_key, head=head,
                )  # fmt: skip
                uow.commit()
            return view
        except IntegrityError:
            # Another request stored the same application, key, customer or bureau report
            # after our re-check: its answer is ours (replay or 409), else store once more.
            with uow:
                stored = _earlier_answer(
                    uow.session, client=client, key=idempotency_key, fingerprint=fingerprint,
                    external_id=request.application_id,
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
    session: Session,
    *,
    client: AuthenticatedClient,
    key: str | None,
    fingerprint: str,
    external_id: str,
) -> DecisionView | None:
    connection = session.connection()
    # The application first, the key second: a concurrent request commits both in one
    # transaction, and each statement may see a newer snapshot (PostgreSQL, read committed),
    # so whoever sees its application also sees its key and answers with a replay, not 409.
    existing = connection.execute(
        _APPLICATION_OF_CLIENT, {"client_id": client.client_id, "external_id": external_id}
    ).first()
    if key is not None:
        record = connection.execute(
            _IDEMPOTENCY_RECORD, {"client_id": client.client_id, "key": key}
        ).first()
        if record is not None:
            if record.request_hash != fingerprint or record.decision_id is None:
                raise IdempotencyConflict(
                    "this Idempotency-Key was used before with a different request body; "
                    "use a new key for a new application",
                    field="Idempotency-Key",
                )
            view = _stored_view(session, decision_id=record.decision_id, client_id=client.client_id)
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


def _load_history(session: Session, pseudonym: str) -> _History:
    # Core statements on the session's connection: plain tuples, no ORM objects to build.
    connection = session.connection()
    customer = connection.execute(_CUSTOMER_BY_PSEUDONYM, {"pseudonym": pseudonym}).first()
    if customer is None:
        return _History(None, False, _invoice_columns([]), _payment_columns([]))
    invoices = connection.execute(_INVOICES_OF_CUSTOMER, {"customer_id": customer.id}).all()
    payments = connection.execute(_PAYMENTS_OF_CUSTOMER, {"customer_id": customer.id}).all()
    return _History(
        customer.id,
        customer.objected_to_profiling_at is not None,
        _invoice_columns(invoices),
        _payment_columns(payments),
    )


_CUSTOMERS = t.Customer.__table__
_INVOICES = t.Invoice.__table__
_PAYMENTS = t.Payment.__table__
_CUSTOMER_BY_PSEUDONYM = select(_CUSTOMERS.c.id, _CUSTOMERS.c.objected_to_profiling_at).where(
    _CUSTOMERS.c.pseudonym == bindparam("pseudonym")
)
# Amounts are read as floats in SQL: the same double float(Decimal) gives, without Decimals.
_INVOICES_OF_CUSTOMER = select(
    _INVOICES.c.id, _INVOICES.c.issued_on, _INVOICES.c.due_on, cast(_INVOICES.c.amount, Float),
    _INVOICES.c.paid_in_full_on, _INVOICES.c.reminders_sent, _INVOICES.c.sent_to_collection_on,
).where(_INVOICES.c.customer_id == bindparam("customer_id"))  # fmt: skip
_PAYMENTS_OF_CUSTOMER = (
    select(_PAYMENTS.c.invoice_id, _PAYMENTS.c.paid_on, cast(_PAYMENTS.c.amount, Float))
    .join(_INVOICES, _INVOICES.c.id == _PAYMENTS.c.invoice_id)
    .where(_INVOICES.c.customer_id == bindparam("customer_id"))
)


def _dates(values: Sequence[Any]) -> np.ndarray:
    # numpy reads dates and None (as NaT) directly, much faster than pd.to_datetime on objects.
    return np.array(values, dtype="datetime64[D]").astype("datetime64[ns]")


def _invoice_columns(rows: Sequence[Any]) -> _Columns:
    columns = list(zip(*rows, strict=True)) if rows else [()] * 7
    return _Columns(
        {
            "invoice_id": np.asarray(columns[0], dtype=np.int64),
            CUSTOMER_KEY: np.full(len(rows), _APPLICANT, dtype=np.int64),
            "issued_on": _dates(columns[1]),
            "due_on": _dates(columns[2]),
            "amount_eur": np.asarray(columns[3], dtype=np.float64),
            "paid_in_full_on": _dates(columns[4]),
            "reminders_sent": np.asarray(columns[5], dtype=np.float64),
            "sent_to_collection_on": _dates(columns[6]),
        }
    )


def _payment_columns(rows: Sequence[Any]) -> _Columns:
    columns = list(zip(*rows, strict=True)) if rows else [()] * 3
    return _Columns(
        {
            "invoice_id": np.asarray(columns[0], dtype=np.int64),
            "paid_on": _dates(columns[1]),
            "amount_eur": np.asarray(columns[2], dtype=np.float64),
        }
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


def features_frame(
    *,
    history: Any,
    report: BureauReport,
    applied_at: datetime,
    product_category: str,
    terms: Sequence[tuple[float, int]],
    report_columns: _Columns | None = None,
) -> pd.DataFrame:
    """Model features for (amount, term) pairs of one application, by the training code.

    ``report_columns`` is ``report`` as :func:`_report_columns` gives it, when already built.
    """
    from models.features import application_features

    n = len(terms)
    amounts, months = zip(*terms, strict=True) if n else ((), ())
    # The application time as naive UTC datetime64, which the feature code takes as UTC.
    applications = _Columns(
        {
            "application_id": np.arange(n),
            CUSTOMER_KEY: np.full(n, _APPLICANT, dtype=np.int64),
            "applied_at": np.full(n, _utc_datetime64(applied_at)),
            "amount_eur": np.asarray(amounts, dtype=np.float64),
            "term_months": np.asarray(months, dtype=np.int64),
            "product_category": np.full(n, product_category, dtype=object),
            "bureau_report_id": np.full(n, _REPORT, dtype=np.int64),
        }
    )
    return application_features(
        applications=applications,
        invoices=history.invoices,
        payments=history.payments,
        bureau_reports=report_columns or _report_columns(report),
        customer_key=CUSTOMER_KEY,
    )


def _utc_datetime64(moment: datetime) -> np.datetime64:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "ns")


def _report_columns(report: BureauReport) -> _Columns:
    """The bureau report as the one-row table the feature code reads."""
    return _Columns(
        {
            "report_id": np.array([_REPORT], dtype=np.int64),
            CUSTOMER_KEY: np.array([_APPLICANT], dtype=np.int64),
            "score": np.array([report.score]),
            "risk_class": np.array([report.risk_class], dtype=object),
            "open_default_count": np.array([report.open_default_count]),
            "closed_default_count": np.array([report.closed_default_count]),
        }
    )


def _feature_names(features: pd.DataFrame) -> list[str]:
    """The columns of ``application_features`` output: ``FEATURE_NAMES``, in that order."""
    from models.features import FEATURE_NAMES

    # Read from the plain list: listing a pandas string Index costs more than the features.
    if len(features.columns) != len(FEATURE_NAMES):
        return features.columns.tolist()
    return FEATURE_NAMES


def _model_frame(features: pd.DataFrame, model: Any) -> pd.DataFrame:
    """``features`` with exactly the model's columns in its order, as one float64 block."""
    names = list(model.feature_names)
    available = _feature_names(features)
    if available == names:
        return features
    positions = _column_positions(tuple(available), tuple(names))
    if positions is None:
        return features  # the model itself names what is missing
    values = features.to_numpy(dtype=np.float64)[:, positions]
    return pd.DataFrame(values, index=features.index, columns=names)


@lru_cache(maxsize=16)
def _column_positions(available: tuple[str, ...], wanted: tuple[str, ...]) -> np.ndarray | None:
    where = {name: i for i, name in enumerate(available)}
    if any(name not in where for name in wanted):
        return None
    return np.asarray([where[name] for name in wanted], dtype=np.intp)


def _history_without_bureau(history: _History, applied_at: datetime) -> dict:
    """The internal-arrears facts the policy needs when the bureau gave no report."""
    from models.features import history_aggregates

    raw = history_aggregates(
        applications=pd.DataFrame(
            {
                "application_id": [0],
                CUSTOMER_KEY: [_APPLICANT],
                "applied_at": [_utc_datetime64(applied_at)],
            }
        ),
        invoices=history.invoices,
        payments=history.payments,
        customer_key=CUSTOMER_KEY,
    )
    return {"current_dpd": float(raw["current_dpd"].iloc[0])}


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
        features: dict[str, float] = _history_without_bureau(history, applied_at)
        outcome = decide(application=facts, features=features, assessment=None, policy=policy)
        return _Scoring(outcome, dict(features), None, None, failure, None, None, scored=False)

    report_columns = _report_columns(report)
    frame = features_frame(
        history=history, report=report, applied_at=applied_at,
        product_category=facts.product_category, terms=[(facts.amount_eur, facts.term_months)],
        report_columns=report_columns,
    )  # fmt: skip
    numeric = dict(zip(_feature_names(frame), frame.to_numpy()[0].tolist(), strict=True))
    model_input = _model_frame(frame, champion)
    probability = float(champion.predict_pd(model_input)[0])
    base, contributions = champion.explain(model_input)
    assessment = ModelAssessment(
        probability_of_default=probability,
        base_value=float(base),
        contributions=dict(
            zip(champion.feature_names, contributions.to_numpy()[0].tolist(), strict=True)
        ),
        model_name=champion.name,
        model_version=str(champion.version),
    )
    outcome = decide(application=facts, features=numeric, assessment=assessment, policy=policy)

    def score(candidates: Sequence[tuple[float, int]]) -> Sequence[float]:
        batch = features_frame(
            history=history, report=report, applied_at=applied_at,
            product_category=facts.product_category, terms=candidates,
            report_columns=report_columns,
        )  # fmt: skip
        return champion.predict_pd(_model_frame(batch, champion)).tolist()

    counterfactual = find_counterfactual(
        application=facts, outcome=outcome, policy=policy, score=score
    )
    shadow = None
    if challenger is not None:
        shadow_pd = float(challenger.predict_pd(_model_frame(frame, challenger))[0])
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
    features = {k: (None if math.isnan(v) else v) for k, v in numeric.items()}
    trained_on = {}
    metadata = getattr(champion, "metadata", None) or {}
    if metadata.get("contract_id") and metadata.get("contract_version"):
        trained_on[str(metadata["contract_id"])] = str(metadata["contract_version"])
    return _Scoring(
        outcome, features, assessment, report, None, counterfactual, shadow, True, trained_on
    )


# ---------------------------------------------------------------------------------------
# Step 3: store


def _store(
    session: Session,
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
    head: decision_log.ChainHead | None,
) -> DecisionView:
    # Core inserts, one statement per row and no flushes: the rows are plain values here.
    connection = session.connection()
    customer_id = connection.execute(_CUSTOMER_ID, {"pseudonym": pseudonym}).scalar()
    if customer_id is None:
        # A new applicant: known only by pseudonym, never a customer so far (a thin file).
        customer_id = connection.execute(
            _INSERT_CUSTOMER, {"pseudonym": pseudonym, "customer_since": None}
        ).scalar_one()

    report_row_id, report_row = None, None
    if scoring.report is not None:
        report_row_id, report_row = _store_report(
            connection, scoring.report, customer_id=customer_id
        )

    purchase = request.purchase
    application_id = connection.execute(
        _INSERT_APPLICATION,
        {
            "client_id": client.client_id,
            "external_id": request.application_id,
            "customer_id": customer_id,
            "applied_at": applied_at,
            "amount": Decimal(str(purchase.amount_eur)).quantize(Decimal("0.01")),
            "term_months": int(purchase.term_months),
            "product_category": purchase.product_category,
            "channel": request.channel,
            "human_review_requested": bool(request.human_review_requested),
            "bureau_report_id": report_row_id,
            "defaulted_12m": None,
        },
    ).scalar_one()

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
        "bureau_report_id": scoring.report.report_id if scoring.report else None,
        "bureau_failure": scoring.bureau_failure,
    }
    input_hash = hashlib.sha256(canonical_json(inputs).encode()).hexdigest()
    values = {
        "id": decision_id,
        "application_id": application_id,
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
        "bureau_report_id": scoring.report.report_id if scoring.report else None,
        "input_hash": input_hash,
        "decided_at": decided_at,
        "contestable_until": decided_at + timedelta(days=policy.contest_window_days),
        "supersedes_decision_id": None,
        "shadow": scoring.shadow,
    }
    connection.execute(_INSERT_DECISION, values)
    connection.execute(
        _INSERT_DECISION_INPUT,
        {
            "decision_id": decision_id,
            "facts": dict(facts.__dict__),
            "features": scoring.features or None,
            "base_value": assessment.base_value if assessment else None,
        },
    )
    if outcome.outcome is Outcome.PENDING_REVIEW:
        _open_review_case(session, decision_id=decision_id, outcome=outcome, at=decided_at)
    if key is not None:
        connection.execute(
            _INSERT_IDEMPOTENCY,
            {
                "client_id": client.client_id,
                "idempotency_key": key,
                "request_hash": fingerprint,
                "decision_id": decision_id,
                "created_at": decided_at,
            },
        )

    decision_log.append(
        session=session,
        head=head,
        decision_id=decision_id,
        at=decided_at,
        payload={
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
            "record": {
                "outcome": values["outcome"],
                "automated": values["automated"],
                "probability_of_default": values["probability_of_default"],
                "risk_grade": values["risk_grade"],
                "model_name": values["model_name"],
                "model_version": values["model_version"],
                "policy_version": values["policy_version"],
                "contract_versions": versions,
                "input_hash": input_hash,
                "bureau_report_id": values["bureau_report_id"],
                "reason_codes": [r["code"] for r in reasons],
                "policy_rules": rules,
            },
        },
    )
    decision = t.Decision(**values)  # not added: the row is stored; this only feeds the view
    view = _view(decision, request.application_id, facts_row=facts.__dict__, report=report_row)
    return _replace(view, challenger_disagrees=(scoring.shadow or {}).get("disagrees"))


_BUREAU_REPORTS = t.BureauReport.__table__
_CUSTOMER_ID = select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.pseudonym == bindparam("pseudonym"))
_INSERT_CUSTOMER = insert(_CUSTOMERS).returning(_CUSTOMERS.c.id)
_INSERT_APPLICATION = insert(_APPLICATIONS).returning(_APPLICATIONS.c.id)
_INSERT_DECISION = insert(t.Decision.__table__)
_INSERT_DECISION_INPUT = insert(DecisionInput.__table__)
_INSERT_IDEMPOTENCY = insert(_IDEMPOTENCY)
_REPORT_BY_ID = select(
    _BUREAU_REPORTS.c.id, _BUREAU_REPORTS.c.customer_id, _BUREAU_REPORTS.c.report_id,
    _BUREAU_REPORTS.c.requested_at, _BUREAU_REPORTS.c.risk_class,
).where(_BUREAU_REPORTS.c.report_id == bindparam("report_id"))  # fmt: skip
_INSERT_REPORT = insert(_BUREAU_REPORTS).returning(_BUREAU_REPORTS.c.id)
_INSERT_DEFAULT_ENTRY = insert(t.BureauDefaultEntry.__table__)


def _store_report(
    connection: Any, report: BureauReport, *, customer_id: int
) -> tuple[int, t.BureauReport]:
    """The stored report's row id and its letter facts; stored now unless it already was."""
    existing = connection.execute(_REPORT_BY_ID, {"report_id": report.report_id}).first()
    if existing is not None and existing.customer_id != customer_id:
        raise InvalidApplication("the bureau answered with another person's report id")
    if existing is not None:
        facts = t.BureauReport(
            report_id=existing.report_id,
            requested_at=existing.requested_at,
            risk_class=existing.risk_class,
        )
        return existing.id, facts
    values = {
        "report_id": report.report_id,
        "customer_id": customer_id,
        "requested_at": report.requested_at,
        "received_at": report.requested_at,
        "score": report.score,
        "risk_class": report.risk_class,
        "pd_band_low": report.pd_band_low,
        "pd_band_high": report.pd_band_high,
        "open_default_count": report.open_default_count,
        "closed_default_count": report.closed_default_count,
    }
    row_id = connection.execute(_INSERT_REPORT, values).scalar_one()
    if report.default_entries:
        connection.execute(
            _INSERT_DEFAULT_ENTRY,
            [
                {
                    "bureau_report_id": row_id,
                    "creditor_sector": entry.creditor_sector,
                    "amount": Decimal(str(entry.amount_eur)).quantize(Decimal("0.01")),
                    "started_on": entry.started_on,
                    "ended_on": entry.ended_on,
                }
                for entry in report.default_entries
            ],
        )
    return row_id, t.BureauReport(**values)


def _open_review_case(
    session: Session, *, decision_id: str, outcome: DecisionOutcome, at: datetime
) -> None:
    routing = next((r.code for r in outcome.reasons if r.code in REVIEW_CASE_KINDS), None)
    kind = CaseKind(REVIEW_CASE_KINDS.get(routing or "", "human_review_requested"))
    # Same transaction as the decision; its row must exist before the case refers to it.
    session.flush()
    open_case_for_pending_decision(
        session=session, decision_id=decision_id, kind=kind, clock=lambda: at
    )


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
    decision: t.Decision,
    external_id: str,
    *,
    facts_row: dict[str, Any],
    report: t.BureauReport | None,
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
    decision: t.Decision,
    facts: dict[str, Any],
    report: t.BureauReport | None,
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
