"""The decision use case: authorise, read, assess and store one application, then answer.

One request runs in three steps on one database connection (a
:class:`~scoring.storage.connection_uow.ConnectionUnitOfWork`):

1. **read** (no transaction: each read its own snapshot): the key, whether this application
   or key was decided before, the customer by pseudonym and their invoices and payments;
2. **assess** (no transaction open): :func:`scoring.service.decisions.assess.assess`;
3. **store** (one transaction in the writer's turn, before anything is answered): customer,
   bureau report, application, decision, its minimised inputs, a review case when a person
   must decide, the hash-chained log entry and the idempotency record.

The API calls :func:`decide_application` in one of its decision threads; callers that hold
an authenticated client already call :func:`make_decision`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from scoring.bureau.client import BureauMalformedAnswer
from scoring.domain import personal_code
from scoring.domain.budget import DEFAULT_DECISION_BUDGET_S, DecisionBudget
from scoring.domain.bureau import BureauReport
from scoring.domain.decision import ApplicationFacts
from scoring.domain.identifiers import time_ordered_uuid
from scoring.domain.policy import Policy
from scoring.domain.pseudonym import pseudonymise
from scoring.domain.review import CaseKind
from scoring.features import CustomerHistory
from scoring.service import decision_log
from scoring.service.api_keys import DECISIONS_WRITE, AuthenticatedClient, authenticate_with
from scoring.service.decisions.assess import (
    ApplicantHistory,
    BureauSource,
    DecisionModels,
    assess,
)
from scoring.service.decisions.record import (
    ApplicationRequest,
    PreparedDecision,
    prepared_decision,
    request_hash,
)
from scoring.service.decisions.views import DecisionView, stored_view
from scoring.service.errors import (
    ApplicationAlreadyDecided,
    IdempotencyConflict,
    InvalidApplication,
)
from scoring.service.reviews import open_case_for_pending_decision
from scoring.storage.connection_uow import ConnectionUnitOfWork, WriteTransaction
from scoring.storage.db import UnitOfWork
from scoring.storage.decision_log import ChainHead
from scoring.storage.decision_store import UniqueKeyConflict

# A store that lost a unique-key race to a concurrent twin is re-checked and tried once more.
STORE_ATTEMPTS = 2

Clock = Callable[[], datetime]


class CaseOpener(Protocol):
    """Opens the review case of a decision sent to a person, in the decision's transaction."""

    def __call__(
        self,
        work: ConnectionUnitOfWork,
        *,
        decision_id: str,
        case_id: str,
        kind: CaseKind,
        at: datetime,
        client_id: str,
    ) -> None: ...


def open_review_case(
    work: ConnectionUnitOfWork,
    *,
    decision_id: str,
    case_id: str,
    kind: CaseKind,
    at: datetime,
    client_id: str,
) -> None:
    """The review service's case, opened through an ORM session joined to the transaction."""
    with work.session() as session:
        open_case_for_pending_decision(
            session=session, decision_id=decision_id, kind=kind, case_id=case_id,
            clock=lambda: at, client_id=client_id,
        )  # fmt: skip
        session.flush()


def decide_application(
    *,
    uow: UnitOfWork,
    api_key: str,
    request: ApplicationRequest,
    idempotency_key: str | None,
    bureau: BureauSource,
    models: DecisionModels,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    open_case: CaseOpener = open_review_case,
    budget_s: float = DEFAULT_DECISION_BUDGET_S,
) -> DecisionView:
    """Check ``api_key`` holds ``decisions:write``, then decide, store and answer (401, 403).

    Every step draws from one budget of ``budget_s`` seconds; ``DecisionTimedOut`` (503)
    when it runs out before the decision is stored, and then nothing is stored.
    """
    budget = DecisionBudget(budget_s)
    with uow.on_connection() as work:
        with work.reads():
            client = authenticate_with(api_keys=work.api_keys, presented=api_key, clock=clock)
            client.require(DECISIONS_WRITE)
        return _decide(
            work, request=request, client=client, idempotency_key=idempotency_key,
            bureau=bureau, models=models, policy=policy, pseudonym_key=pseudonym_key,
            clock=clock, open_case=open_case, budget=budget,
        )  # fmt: skip


def make_decision(
    *,
    request: ApplicationRequest,
    client: AuthenticatedClient,
    idempotency_key: str | None,
    uow: UnitOfWork,
    bureau: BureauSource,
    models: DecisionModels,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    open_case: CaseOpener = open_review_case,
    budget_s: float = DEFAULT_DECISION_BUDGET_S,
) -> DecisionView:
    """Decide one application of an authenticated client, store it, and return the stored view."""
    budget = DecisionBudget(budget_s)
    with uow.on_connection() as work:
        return _decide(
            work, request=request, client=client, idempotency_key=idempotency_key,
            bureau=bureau, models=models, policy=policy, pseudonym_key=pseudonym_key,
            clock=clock, open_case=open_case, budget=budget,
        )  # fmt: skip


def _decide(
    work: ConnectionUnitOfWork,
    *,
    request: ApplicationRequest,
    client: AuthenticatedClient,
    idempotency_key: str | None,
    bureau: BureauSource,
    models: DecisionModels,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    open_case: CaseOpener,
    budget: DecisionBudget,
) -> DecisionView:
    prepared = prepare_decision(
        work, request=request, client=client, idempotency_key=idempotency_key,
        bureau=bureau, models=models, policy=policy, pseudonym_key=pseudonym_key, clock=clock,
        budget=budget,
    )  # fmt: skip
    if isinstance(prepared, DecisionView):
        return prepared
    try:
        return store_decision(work, prepared, open_case=open_case, budget=budget)
    except ReportOfAnotherPerson:
        pass
    # The bureau answered with a report id stored for another person: its report is not
    # about this applicant, so the application is decided as if the bureau had not answered
    # (a refer), and nothing of the report is kept. Rare, so the reads are simply repeated.
    refused = _RefusedReport(bureau)
    prepared = prepare_decision(
        work, request=request, client=client, idempotency_key=idempotency_key,
        bureau=refused, models=models, policy=policy, pseudonym_key=pseudonym_key, clock=clock,
        budget=budget,
    )  # fmt: skip
    if isinstance(prepared, DecisionView):
        return prepared
    return store_decision(work, prepared, open_case=open_case, budget=budget)


class ReportOfAnotherPerson(Exception):
    """The bureau's report id is stored already, for another customer (nothing was written)."""


class _RefusedReport:
    """A bureau source whose report was refused: each query fails as a broken contract."""

    rule = "report_id:another_person"
    message = "the bureau answered with a report id it gave before for another person"

    def __init__(self, bureau: BureauSource) -> None:
        self._bureau = bureau

    def fetch_report(self, personal_code: str, *, budget_s: float | None = None) -> BureauReport:
        report_refused = getattr(self._bureau, "report_refused", None)
        if report_refused is not None:
            report_refused(self.rule, self.message)
        raise BureauMalformedAnswer(self.message, rule=self.rule)


def prepare_decision(
    work: ConnectionUnitOfWork,
    *,
    request: ApplicationRequest,
    client: AuthenticatedClient,
    idempotency_key: str | None,
    bureau: BureauSource,
    models: DecisionModels,
    policy: Policy,
    pseudonym_key: bytes,
    clock: Clock,
    budget: DecisionBudget | None = None,
) -> DecisionView | PreparedDecision:
    """Read and decide, without storing: the rows to store, or the stored answer of a retry."""
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
    # Client identifiers are stored in clear, in the hash-chained log too, where an erasure
    # cannot reach them: a personal code must never be one.
    for field, identifier in (("application_id", request.application_id),
                              ("Idempotency-Key", idempotency_key)):  # fmt: skip
        if identifier is not None and personal_code.contains_code(identifier):
            raise InvalidApplication(
                f"{field} holds a personal identification code; use an identifier of your own "
                "that names no person",
                field=field,
            )

    # Two reads, each its own snapshot: the check, then the history in one statement.
    with work.reads():
        check = work.decisions.read_check(
            pseudonym=pseudonym, client_id=client.client_id,
            external_id=request.application_id, key=idempotency_key,
        )  # fmt: skip
        if check.earlier_application_id is not None or check.idempotency_hash is not None:
            stored = _earlier_answer(
                work, client_id=client.client_id, key=idempotency_key,
                fingerprint=fingerprint, external_id=request.application_id,
            )  # fmt: skip
            if stored is not None:
                return stored
        if check.customer_id is None:
            history = ApplicantHistory(False, CustomerHistory.empty())
        else:
            history = ApplicantHistory(
                check.objected_at is not None, work.decisions.customer_history(check.customer_id)
            )
    if budget is not None:
        budget.check("scoring the application")

    applied_at = clock()
    if code.birth_date > applied_at.date():
        raise InvalidApplication(
            "personal identification code holds a birth date in the future", field="personal_code"
        )
    purchase = request.purchase
    facts = ApplicationFacts(
        amount_eur=float(purchase.amount_eur),
        term_months=int(purchase.term_months),
        product_category=purchase.product_category,
        age_years=code.age_on(applied_at.date()),
        human_review_requested=bool(request.human_review_requested),
        objected_to_profiling=history.objected,
    )
    scoring = assess(
        facts=facts, code=code.value, history=history,
        applied_at=applied_at, bureau=bureau, models=models, policy=policy, budget=budget,
    )  # fmt: skip

    decision_id = str(time_ordered_uuid())
    decided_at = clock()
    return prepared_decision(
        decision_id=decision_id, decided_at=decided_at, applied_at=applied_at,
        request=request, client=client, pseudonym=pseudonym, facts=facts,
        scoring=scoring, policy=policy, fingerprint=fingerprint, key=idempotency_key,
    )  # fmt: skip


def store_decision(
    work: ConnectionUnitOfWork,
    prepared: PreparedDecision,
    *,
    open_case: CaseOpener = open_review_case,
    budget: DecisionBudget | None = None,
) -> DecisionView:
    """Store one prepared decision with its log entry; the earlier answer if there is one.

    Raises what the earlier answer is, when it is a refusal (409), and the database's
    errors; a unique-key conflict with a concurrent twin is resolved here. The writer's
    turn is waited for at most what is left of ``budget``.
    """
    rows = prepared.rows
    for attempt in range(1, STORE_ATTEMPTS + 1):
        wait = None if budget is None else budget.check("storing the decision")
        try:
            with work.write_turn(timeout_s=wait) as transaction:
                # On SQLite the head is the database's write lock and is taken first, so
                # the check below sees every decision committed before this one; on
                # PostgreSQL it is the chain's row lock, taken by the append just before
                # commit, and a concurrent twin shows up as a unique-key conflict instead.
                head = None
                if work.decision_log.locks_head_first():
                    head = work.decision_log.lock_head()
                stored = _write(work, prepared, head=head, transaction=transaction,
                                open_case=open_case)  # fmt: skip
                if stored is not None:
                    transaction.rollback()  # ends the write lock within this turn
                    return stored
                transaction.commit()
            return prepared.view
        except UniqueKeyConflict:
            # Another request stored the same application, key, customer or bureau
            # report after our check: its answer is ours (replay or 409), else store
            # once more. A conflict found at COMMIT leaves the transaction to be rolled
            # back by hand.
            work.rollback()
            with work.transaction():
                stored = _earlier_answer(
                    work, client_id=rows.client_id, key=rows.key,
                    fingerprint=prepared.fingerprint, external_id=rows.external_id,
                )  # fmt: skip
            if stored is not None:
                return stored
            if attempt == STORE_ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _earlier_answer(
    work: ConnectionUnitOfWork,
    *,
    client_id: str,
    key: str | None,
    fingerprint: str,
    external_id: str,
) -> DecisionView | None:
    # The application first, the key second: a concurrent request commits both in one
    # transaction, and each statement may see a newer snapshot (PostgreSQL, read committed),
    # so whoever sees its application also sees its key and answers with a replay, not 409.
    decided = work.decisions.application_decided(client_id=client_id, external_id=external_id)
    if key is not None:
        record = work.decisions.idempotency_record(client_id=client_id, key=key)
        if record is not None:
            stored_hash, decision_id = record
            if stored_hash != fingerprint or decision_id is None:
                raise IdempotencyConflict(
                    "this Idempotency-Key was used before with a different request body; "
                    "use a new key for a new application",
                    field="Idempotency-Key",
                )
            stored = work.decisions.stored(decision_id=decision_id, client_id=client_id)
            return replace(stored_view(stored, decision_id=decision_id), idempotent_replay=True)
    if decided:
        raise ApplicationAlreadyDecided(
            f"application {external_id} was already decided; fetch it with "
            "GET /v1/decisions/{decision_id} or retry with its original Idempotency-Key",
            field="application_id",
        )
    return None


def _write(
    work: ConnectionUnitOfWork,
    prepared: PreparedDecision,
    *,
    head: ChainHead | None,
    transaction: WriteTransaction,
    open_case: CaseOpener,
) -> DecisionView | None:
    """Write the decision's rows and log entry; an earlier answer instead, if there is one.

    One query first checks, in the writer's turn, for an earlier decision of this
    application or key and finds the customer and the bureau report if already stored.
    The pipeline is left before any work through the ORM.
    """
    rows = prepared.rows
    check = work.decisions.write_check(rows)
    if check.earlier_application_id is not None or check.idempotency_hash is not None:
        transaction.leave_pipeline()
        return _earlier_answer(
            work, client_id=rows.client_id, key=rows.key,
            fingerprint=prepared.fingerprint, external_id=rows.external_id,
        )  # fmt: skip
    # The bureau report is stored already, for another customer (or for a new one).
    if check.report_row_id is not None and check.report_customer_id != check.customer_id:
        raise ReportOfAnotherPerson()
    work.decisions.insert(
        rows, customer_known=check.customer_id is not None,
        report_known=check.report_row_id is not None,
    )  # fmt: skip
    decision_id = rows.decision["id"]
    if prepared.review_case is not None:
        # A refer or a pending review opens its case in the decision's transaction.
        transaction.leave_pipeline()
        case_id, kind = prepared.review_case
        open_case(
            work, decision_id=decision_id, case_id=case_id, kind=kind,
            at=rows.decision["decided_at"], client_id=rows.client_id,
        )  # fmt: skip
    decision_log.append_to(
        work.decision_log, head=head, decision_id=decision_id,
        at=rows.decision["decided_at"], canonical=prepared.log_entry,
    )  # fmt: skip
    return None
