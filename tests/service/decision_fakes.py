"""A fake unit of work for the decision use case: its repositories over plain dictionaries.

It keeps what the real repositories keep (decisions, applications, idempotency records,
customers, bureau reports, the log, review cases) and the one property of the real
connection the use case relies on: writes made in a writer's turn count only once the
turn commits, and vanish when it rolls back.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import IntegrityError

from scoring.domain.hash_chain import GENESIS_HASH
from scoring.domain.review import CaseKind
from scoring.features import CustomerHistory
from scoring.service.api_keys import hash_key
from scoring.storage.api_keys import StoredKey
from scoring.storage.decision_log import ChainHead
from scoring.storage.decision_store import DecisionRows, ReadCheck, StoredDecision, WriteCheck


class FakeDatabase:
    """What is committed, and the writes of the open turn waiting for its commit."""

    def __init__(self) -> None:
        self.customers: dict[str, int] = {}  # pseudonym -> customer id
        self.objected_at: dict[int, datetime] = {}
        self.histories: dict[int, CustomerHistory] = {}
        self.reports: dict[str, tuple[int, dict[str, Any]]] = {}  # report id -> (row id, row)
        self.applications: dict[tuple[str, str], str] = {}  # (client, external id) -> decision
        self.idempotency: dict[tuple[str, str], tuple[str, str | None]] = {}
        self.decisions: dict[str, DecisionRows] = {}
        self.log: list[tuple[int, str, str]] = []  # (seq, decision id, canonical payload)
        self.head = ChainHead(0, GENESIS_HASH)
        self.cases: list[tuple[str, CaseKind, datetime]] = []
        self.keys: dict[str, StoredKey] = {}
        self.pending: list[Callable[[], None]] = []
        # Run once at the next insert, as if another request committed just before it.
        self.before_next_insert: Callable[[], None] | None = None

    def write(self, change: Callable[[], None]) -> None:
        self.pending.append(change)

    def commit(self) -> None:
        changes, self.pending = self.pending, []
        for change in changes:
            change()

    def rollback(self) -> None:
        self.pending = []

    def issue_key(self, *, client_id: str = "sales", scopes: tuple[str, ...] = ()) -> str:
        """A valid key of ``client_id`` holding ``scopes``, as presented by its client."""
        prefix = secrets.token_hex(6)
        key = f"ik_{prefix}_{secrets.token_urlsafe(32)}"
        self.keys[prefix] = StoredKey(
            hash_key(key), prefix, list(scopes), None, None, client_id, client_id, True
        )
        return key

    def counts(self) -> dict[str, int]:
        return {
            "decisions": len(self.decisions),
            "decision_log": len(self.log),
            "idempotency_records": len(self.idempotency),
            "customers": len(self.customers),
            "bureau_reports": len(self.reports),
            "review_cases": len(self.cases),
        }


class FakeDecisionStore:
    """``scoring.storage.decision_store.DecisionStore`` over a :class:`FakeDatabase`."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def read_check(
        self, *, pseudonym: str, client_id: str, external_id: str, key: str | None
    ) -> ReadCheck:
        customer_id = self.db.customers.get(pseudonym)
        return ReadCheck(
            customer_id,
            self.db.objected_at.get(customer_id) if customer_id is not None else None,
            self._application_id(client_id, external_id),
            self._idempotency_hash(client_id, key),
        )

    def customer_history(self, customer_id: int) -> CustomerHistory:
        return self.db.histories.get(customer_id, CustomerHistory.empty())

    def application_decided(self, *, client_id: str, external_id: str) -> bool:
        return (client_id, external_id) in self.db.applications

    def idempotency_record(self, *, client_id: str, key: str) -> tuple[str, str | None] | None:
        return self.db.idempotency.get((client_id, key))

    def write_check(self, rows: DecisionRows) -> WriteCheck:
        report = self.db.reports.get(rows.report["report_id"]) if rows.report else None
        return WriteCheck(
            self.db.customers.get(rows.pseudonym),
            self._application_id(rows.client_id, rows.external_id),
            self._idempotency_hash(rows.client_id, rows.key),
            report[0] if report else None,
            report[1]["customer_id"] if report else None,
        )

    def insert(self, rows: DecisionRows, *, customer_known: bool, report_known: bool) -> None:
        db = self.db
        if db.before_next_insert is not None:
            concurrent, db.before_next_insert = db.before_next_insert, None
            concurrent()
        if (rows.client_id, rows.external_id) in db.applications:
            raise IntegrityError("INSERT INTO applications", None, Exception("unique"))

        def store() -> None:
            if not customer_known:
                db.customers[rows.pseudonym] = len(db.customers) + 1
            customer_id = db.customers[rows.pseudonym]
            if rows.report is not None and not report_known:
                row = {**rows.report, "customer_id": customer_id}
                db.reports[rows.report["report_id"]] = (len(db.reports) + 1, row)
            db.applications[(rows.client_id, rows.external_id)] = rows.decision["id"]
            db.decisions[rows.decision["id"]] = rows
            if rows.idempotency is not None:
                record = rows.idempotency
                db.idempotency[(rows.client_id, record["idempotency_key"])] = (
                    record["request_hash"],
                    record["decision_id"],
                )

        db.write(store)

    def stored(self, *, decision_id: str, client_id: str) -> StoredDecision | None:
        rows = self.db.decisions.get(decision_id)
        if rows is None or rows.client_id != client_id:
            return None
        report = SimpleNamespace(**rows.report) if rows.report else None
        return StoredDecision(
            SimpleNamespace(**rows.decision),  # type: ignore[arg-type]
            rows.external_id,
            rows.decision_input["facts"],
            report,  # type: ignore[arg-type]
        )

    def _application_id(self, client_id: str, external_id: str) -> int | None:
        return 1 if (client_id, external_id) in self.db.applications else None

    def _idempotency_hash(self, client_id: str, key: str | None) -> str | None:
        record = self.db.idempotency.get((client_id, key)) if key is not None else None
        return record[0] if record else None


class FakeDecisionLog:
    """``scoring.storage.decision_log.DecisionLogStore``: the head, and entries after it."""

    def __init__(self, db: FakeDatabase, *, head_first: bool = True) -> None:
        self.db = db
        self.head_first = head_first

    def locks_head_first(self) -> bool:
        return self.head_first

    def lock_head(self) -> ChainHead:
        return self.db.head

    def append(
        self,
        *,
        seq: int,
        decision_id: str,
        canonical: str,
        prev_hash: str,
        entry_hash: str,
        at: datetime,
    ) -> None:
        def store() -> None:
            self.db.log.append((seq, decision_id, canonical))
            self.db.head = ChainHead(seq, entry_hash)

        self.db.write(store)


class FakeApiKeys:
    """``scoring.storage.api_keys.ApiKeyStore`` over the keys the database was given."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def by_prefix(self, prefix: str) -> StoredKey | None:
        return self.db.keys.get(prefix)


class FakeWriteTransaction:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def leave_pipeline(self) -> None:
        pass

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()


class FakeConnectionUnitOfWork:
    """``scoring.storage.connection_uow.ConnectionUnitOfWork`` on a :class:`FakeDatabase`."""

    def __init__(self, db: FakeDatabase, *, head_first: bool) -> None:
        self.db = db
        self.decisions = FakeDecisionStore(db)
        self.decision_log = FakeDecisionLog(db, head_first=head_first)
        self.api_keys = FakeApiKeys(db)
        self.write_turns = 0
        self.turn_timeouts: list[float | None] = []

    def __enter__(self) -> FakeConnectionUnitOfWork:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.db.rollback()

    def reads(self) -> nullcontext[None]:
        return nullcontext()

    @contextmanager
    def write_turn(self, *, timeout_s: float | None = None) -> Iterator[FakeWriteTransaction]:
        self.write_turns += 1
        self.turn_timeouts.append(timeout_s)
        try:
            yield FakeWriteTransaction(self.db)
        except BaseException:
            self.db.rollback()
            raise

    def rollback(self) -> None:
        self.db.rollback()

    def transaction(self) -> nullcontext[None]:
        return nullcontext()


class FakeUnitOfWork:
    """``scoring.storage.db.UnitOfWork`` as far as the decision use case uses it."""

    def __init__(self, db: FakeDatabase | None = None, *, head_first: bool = True) -> None:
        self.db = db or FakeDatabase()
        self.head_first = head_first
        self.opened: list[FakeConnectionUnitOfWork] = []

    def on_connection(self) -> FakeConnectionUnitOfWork:
        work = FakeConnectionUnitOfWork(self.db, head_first=self.head_first)
        self.opened.append(work)
        return work


class CaseRecorder:
    """A ``CaseOpener`` that records the review cases opened, in the decision's transaction."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db

    def __call__(
        self,
        work: Any,
        *,
        decision_id: str,
        case_id: str,
        kind: CaseKind,
        at: datetime,
        client_id: str,
    ) -> None:
        self.db.write(lambda: self.db.cases.append((decision_id, kind, at)))
