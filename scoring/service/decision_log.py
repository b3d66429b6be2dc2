"""The decision log: an append-only, hash-chained record of every decision, and its checks.

Appends are serialised on a one-row chain head (``decision_log_head``): on PostgreSQL by
``SELECT ... FOR UPDATE``, on SQLite by writing to the head first, which takes SQLite's
single write lock. Two writers therefore never read the same head and never fork the chain.
The statements are the repository's (``scoring.storage.decision_log``); the hashing, the
checks and the replay are here.

``verify`` checks the chain, that each decision row still says what its entry says, and
that every decision a person made supersedes exactly the decision its entry names;
``replay`` recomputes an automated decision from the minimised inputs in its entry with the
model version and policy version that made it, and checks a person's decision against its
review case: the inputs it was made on, the link to the decision it replaced, the outcome
the review's kind allows, the reviewer and the justification. Rows removed lawfully
(retention, erasure: a tombstone in ``removed_decisions``) are named in ``removed``; what
they held is then checked against the log entries, which are kept.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from scoring.domain import lifecycle
from scoring.domain.decision import ApplicationFacts, ModelAssessment, decide
from scoring.domain.decision_record import CHECKED_COLUMNS
from scoring.domain.hash_chain import (
    GENESIS_HASH,
    ChainBreak,
    ChainEntry,
    canonical_json,
    entry_hash,
    verify_chain,
)
from scoring.domain.policy import Policy
from scoring.domain.reasons import ReasonFacts
from scoring.domain.review import InvalidInput, ReviewOutcome
from scoring.service.errors import DecisionNotFound
from scoring.service.model_provider import ModelProvider
from scoring.storage.decision_log import ChainHead, DecisionLogStore
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import DecisionLogEntry
from scoring.storage.tables_privacy import RemovedDecision

__all__ = [
    "PD_TOLERANCE",
    "ChainHead",
    "ReplayResult",
    "append",
    "append_canonical",
    "append_to",
    "entry_count",
    "lock_head",
    "locks_head_first",
    "log_entry_payload",
    "replay",
    "verify",
]

# Two probabilities of default agree when they differ by less than this (float noise only).
PD_TOLERANCE = 1e-9
# The rule of a decision made while the oversight stop switch was on.
PAUSED_RULE = "S04_AUTOMATION_PAUSED"
_VERIFY_BATCH = 1000


def lock_head(session: Session | Connection) -> ChainHead:
    """Take the chain head for this transaction; other writers wait until it ends."""
    return DecisionLogStore(session).lock_head()


def locks_head_first(session: Session | Connection) -> bool:
    """Whether a writer must take the head before its first read (SQLite) or may take it last."""
    return DecisionLogStore(session).locks_head_first()


def append(
    *,
    session: Session,
    decision_id: str,
    payload: Mapping[str, Any],
    at: datetime,
    head: ChainHead | None = None,
) -> ChainEntry:
    """Add one entry after the current head, in the caller's transaction.

    ``head`` is the result of ``lock_head`` when the caller took it earlier in the same
    transaction; otherwise it is taken here.
    """
    return append_canonical(
        session=session,
        decision_id=decision_id,
        canonical=canonical_json(payload),
        at=at,
        head=head,
    )


def append_canonical(
    *,
    session: Session | Connection,
    decision_id: str,
    canonical: str,
    at: datetime,
    head: ChainHead | None = None,
) -> ChainEntry:
    """:func:`append` of a payload already in canonical JSON (built outside the lock)."""
    return append_to(
        DecisionLogStore(session), decision_id=decision_id, canonical=canonical, at=at, head=head
    )


def append_to(
    log: DecisionLogStore,
    *,
    decision_id: str,
    canonical: str,
    at: datetime,
    head: ChainHead | None = None,
) -> ChainEntry:
    """:func:`append_canonical` on a repository the caller holds (the decision path's)."""
    if head is None:
        head = log.lock_head()
    seq = head.seq + 1
    digest = entry_hash(prev_hash=head.entry_hash, seq=seq, canonical_payload=canonical)
    log.append(
        seq=seq,
        decision_id=decision_id,
        canonical=canonical,
        prev_hash=head.entry_hash,
        entry_hash=digest,
        at=at,
    )
    return ChainEntry(seq, canonical, head.entry_hash, digest)


def entry_count(*, session: Session) -> int:
    """How many entries the log holds."""
    return DecisionLogStore(session).entry_count()


def verify(*, session: Session) -> list[ChainBreak]:
    """Every place where the log or a decision row differs from what was chained; empty if none."""
    log = DecisionLogStore(session)
    breaks: list[ChainBreak] = []
    entries: list[ChainEntry] = []
    logged: set[str] = set()
    batch: list[DecisionLogEntry] = []
    for row in log.entries(batch=_VERIFY_BATCH):
        entries.append(ChainEntry(row.seq, row.payload, row.prev_hash, row.entry_hash))
        logged.add(row.decision_id)
        batch.append(row)
        if len(batch) >= _VERIFY_BATCH:
            breaks += _compare_decisions(log, batch)
            batch = []
    breaks += _compare_decisions(log, batch)
    breaks += verify_chain(entries)

    head = log.head()
    last_seq, last_hash = (0, GENESIS_HASH)
    if entries:
        last_seq, last_hash = entries[-1].seq, entries[-1].entry_hash
    if head is not None and (head.seq, head.entry_hash) != (last_seq, last_hash):
        breaks.append(
            ChainBreak(
                head.seq,
                f"the log ends at entry {last_seq} but its head records entry {head.seq}: "
                "entries at the end were removed or the head was changed",
            )
        )
    for decision_id in log.decision_ids():
        if decision_id not in logged:
            breaks.append(ChainBreak(0, f"decision {decision_id} has no log entry"))
    breaks += _check_supersede_links(log)
    return sorted(breaks, key=lambda b: b.seq)


def _check_supersede_links(log: DecisionLogStore) -> list[ChainBreak]:
    """Each superseded decision exists (or was lawfully removed) and is replaced only once."""
    links = log.supersede_links()
    targets = {superseded for _, superseded in links}
    present = log.decisions(targets)
    removed = log.removed(targets - set(present))
    breaks = []
    seen: dict[str, str] = {}
    for decision_id, superseded in links:
        if superseded not in present and superseded not in removed:
            breaks.append(
                ChainBreak(
                    0,
                    f"decision {decision_id} supersedes decision {superseded}, which is gone",
                )
            )
        if superseded in seen:
            breaks.append(
                ChainBreak(
                    0,
                    f"decision {superseded} is superseded twice, by {seen[superseded]} and "
                    f"{decision_id}",
                )
            )
        seen[superseded] = decision_id
    return breaks


def _compare_decisions(log: DecisionLogStore, rows: list[DecisionLogEntry]) -> list[ChainBreak]:
    if not rows:
        return []
    ids = {row.decision_id for row in rows}
    stored = log.decisions(ids)
    # Decisions removed lawfully (retention sweep, erasure) leave a tombstone; the log keeps them.
    removed = log.removed(ids)
    breaks = []
    for row in rows:
        try:
            payload = json.loads(row.payload)
        except ValueError:
            continue  # verify_chain reports the damaged entry through its hash
        decision = stored.get(row.decision_id)
        if decision is None:
            if row.decision_id not in removed:
                breaks.append(ChainBreak(row.seq, f"decision {row.decision_id} was deleted"))
            continue
        expected = payload.get("record", {})
        differing = [
            column
            for column in CHECKED_COLUMNS
            if not _same(getattr(decision, column), expected.get(column))
        ]
        if [r["code"] for r in decision.reasons or []] != expected.get("reason_codes"):
            differing.append("reasons")
        # The link to the replaced decision is part of what a person's decision is.
        if decision.supersedes_decision_id != payload.get("supersedes_decision_id"):
            differing.append("supersedes_decision_id")
        if differing:
            breaks.append(
                ChainBreak(
                    row.seq,
                    f"decision {row.decision_id} differs from its log entry in "
                    + ", ".join(differing),
                )
            )
    return breaks


def _same(stored: Any, logged: Any) -> bool:
    if isinstance(stored, float) and isinstance(logged, float | int):
        return math.isclose(stored, logged, rel_tol=0, abs_tol=PD_TOLERANCE)
    return stored == logged


@dataclass(frozen=True)
class ReplayResult:
    """A decision recomputed from its log entry, next to what was decided then."""

    decision_id: str
    model_version: str | None
    policy_version: str
    stored_outcome: str
    replayed_outcome: str
    stored_probability_of_default: float | None
    replayed_probability_of_default: float | None
    stored_reasons: list[str]
    replayed_reasons: list[str]
    differences: list[str] = field(default_factory=list)
    # A person's decision is checked against its review case, not recomputed.
    made_by_person: bool = False
    # Records removed lawfully (retention, erasure), each said in a sentence: checked
    # against the decision log instead of the store, and no difference for being gone.
    removed: list[str] = field(default_factory=list)
    # Anything else the auditor should know about how the replay was made.
    notes: list[str] = field(default_factory=list)

    @property
    def matches(self) -> bool:
        return not self.differences


def log_entry_payload(*, session: Session, decision_id: str) -> dict[str, Any]:
    """The newest log entry's payload of a decision; ``DecisionNotFound`` when it has none."""
    payload = DecisionLogStore(session).newest_payload(decision_id)
    if payload is None:
        raise DecisionNotFound(f"the decision log holds no decision {decision_id}")
    return json.loads(payload)


def replay(
    *,
    session: Session,
    decision_id: str,
    models: ModelProvider,
    policies: Callable[[str], Policy] | None = None,
) -> ReplayResult:
    """Recompute a decision from its logged inputs with its model and policy versions."""
    import pandas as pd

    if policies is None:
        from scoring.service.policy_files import policy_for_version

        policies = policy_for_version
    payload = log_entry_payload(session=session, decision_id=decision_id)
    if payload.get("kind") == "review_decision":
        return _replay_review_decision(session, decision_id, payload)
    removed = _removed_rows(DecisionLogStore(session), {"this decision": decision_id})
    notes: list[str] = []
    record = payload["record"]
    policy = policies(record["policy_version"])
    paused = payload.get("automation_paused")
    if paused is None:
        # Entries logged before the switch's state was recorded show it only by its rule.
        paused = any(r["code"] == PAUSED_RULE for r in record.get("policy_rules") or [])
        if paused:
            notes.append(
                "the stop switch's state is not in this entry (logged before it was recorded); "
                f"its rule {PAUSED_RULE} is taken as the switch being on"
            )
    if paused:
        policy = replace(policy, all_applications_to_manual_review=True)
    facts = ApplicationFacts(**payload["facts"])
    features = payload.get("features") or {}
    assessment = None
    model_version = record.get("model_version")
    if payload.get("scored"):
        model = models.version(model_version)
        frame = pd.DataFrame([features], dtype="float64")
        probability = float(model.predict_pd(frame)[0])
        base, contributions = model.explain(frame)
        assessment = ModelAssessment(
            probability_of_default=probability,
            base_value=float(base),
            contributions={k: float(v) for k, v in contributions.iloc[0].items()},
            model_name=model.name,
            model_version=str(model.version),
        )
    numeric = {k: (math.nan if v is None else float(v)) for k, v in features.items()}
    # The reasons stand on what the raw inputs showed, logged with the decision; an entry
    # logged before that was kept replays without model reasons and says so in differences.
    evidence = ReasonFacts(**payload["evidence"]) if payload.get("evidence") else None
    outcome = decide(
        application=facts, features=numeric, assessment=assessment, policy=policy,
        evidence=evidence,
    )  # fmt: skip
    replayed_pd = assessment.probability_of_default if assessment else None
    result = ReplayResult(
        decision_id=decision_id,
        model_version=model_version,
        policy_version=record["policy_version"],
        stored_outcome=record["outcome"],
        replayed_outcome=outcome.outcome.value,
        stored_probability_of_default=record["probability_of_default"],
        replayed_probability_of_default=replayed_pd,
        stored_reasons=list(record["reason_codes"]),
        replayed_reasons=[r.code for r in outcome.reasons],
    )
    differences = []
    if result.stored_outcome != result.replayed_outcome:
        differences.append(f"outcome {result.stored_outcome} now {result.replayed_outcome}")
    if not _same_pd(result.stored_probability_of_default, replayed_pd):
        differences.append(
            f"probability of default {result.stored_probability_of_default} now {replayed_pd}"
        )
    if result.stored_reasons != result.replayed_reasons:
        differences.append(f"reasons {result.stored_reasons} now {result.replayed_reasons}")
    checked = {"differences": differences, "removed": removed, "notes": notes}
    return ReplayResult(**{**result.__dict__, **checked})


def _removal(what: str, decision_id: str, tombstone: RemovedDecision) -> str:
    how = "retention" if tombstone.removed_by == "retention" else "a data subject's erasure"
    return (
        f"{what} ({decision_id}) was removed by {how} on "
        f"{tombstone.removed_at.date().isoformat()} (rule {tombstone.rule}); "
        "it is checked against its log entry"
    )


def _removed_rows(log: DecisionLogStore, named: Mapping[str, str]) -> list[str]:
    """A sentence for each of the named decisions whose row was removed lawfully."""
    ids = set(named.values())
    gone = log.removals(ids - set(log.decisions(ids)))
    return [_removal(what, i, gone[i]) for what, i in named.items() if i in gone]


def _replay_review_decision(
    session: Session, decision_id: str, payload: Mapping[str, Any]
) -> ReplayResult:
    """Check a person's decision against its log entry, its review case and what it replaced.

    Nothing is recomputed by a model: the outcome follows from the review's kind and outcome,
    and every recorded fact (inputs, link, reviewer, justification) must match the store.
    A row removed lawfully is named in ``removed``; the log entries, which are kept, stand
    in for it: the inputs against the replaced decision's entry, the outcome from the review
    kind and outcome as logged.
    """
    record = payload["record"]
    log = DecisionLogStore(session)
    cases = ReviewCaseRepository(session)
    differences: list[str] = []
    removed: list[str] = []
    superseded_id = payload.get("supersedes_decision_id")
    case_id = payload.get("review_case_id")
    stored = cases.decision(decision_id)
    original = cases.decision(superseded_id) if superseded_id else None
    case = cases.get(case_id or "")
    tombstones = log.removals([i for i in (decision_id, superseded_id) if i])
    replayed_outcome = record["outcome"]
    if stored is None and decision_id in tombstones:
        removed.append(_removal("this decision", decision_id, tombstones[decision_id]))
    elif stored is None:
        differences.append(f"decision {decision_id} is not stored")
    elif stored.supersedes_decision_id != superseded_id:
        differences.append(
            f"it supersedes {stored.supersedes_decision_id}, its entry says {superseded_id}"
        )
    if original is None and superseded_id in tombstones:
        removed.append(
            _removal("the decision it replaced", superseded_id, tombstones[superseded_id])
        )
    elif original is None:
        differences.append(f"the decision it replaced ({superseded_id}) is not stored")
    # The log keeps every entry, so the replaced decision's entry is there, kept or removed.
    original_record = _logged_record(log, superseded_id)
    if original_record is None:
        differences.append(f"the decision log holds no decision {superseded_id} it replaced")
    elif record["input_hash"] != original_record["input_hash"]:
        differences.append("its recorded inputs differ from those of the decision it replaced")
    original_outcome = (
        original.outcome
        if original is not None
        else original_record["outcome"]
        if original_record is not None
        else None
    )
    kind = payload.get("review_kind")
    if case is None and tombstones:
        removed.append(
            f"review case {case_id} went with its application; its kind, outcome, reviewer, "
            "second signature and justification are checked as logged"
        )
    elif case is None:
        differences.append(f"review case {case_id} is not stored")
    else:
        kind = case.kind
        progress = cases.progress(case.id)
        if case.resulting_decision_id != decision_id:
            differences.append(f"review case {case.id} resulted in {case.resulting_decision_id}")
        if case.decision_id != superseded_id:
            differences.append(f"review case {case.id} is about decision {case.decision_id}")
        if case.justification != payload.get("justification"):
            differences.append("the justification differs from the logged one")
        if case.outcome != payload.get("review_outcome"):
            differences.append(f"review outcome {payload.get('review_outcome')} now {case.outcome}")
        decided_by = progress.decided_by if progress is not None else None
        if decided_by != payload.get("reviewer_user_id"):
            differences.append(f"reviewer {payload.get('reviewer_user_id')} now {decided_by}")
        if case.second_signature_by != payload.get("second_signature_user_id"):
            differences.append("the second signature differs from the logged one")
    if kind is not None and original_outcome is not None:
        try:
            replayed_outcome = lifecycle.resulting_outcome(
                kind,
                ReviewOutcome(payload["review_outcome"]),
                original_outcome=original_outcome,
            )
        except (InvalidInput, ValueError) as error:
            replayed_outcome = "none"
            differences.append(f"the review outcome does not fit the case: {error}")
    if replayed_outcome != record["outcome"]:
        differences.append(f"outcome {record['outcome']} now {replayed_outcome}")
    reasons = list(record["reason_codes"])
    return ReplayResult(
        decision_id=decision_id,
        model_version=record.get("model_version"),
        policy_version=record["policy_version"],
        stored_outcome=record["outcome"],
        replayed_outcome=replayed_outcome,
        stored_probability_of_default=record["probability_of_default"],
        replayed_probability_of_default=record["probability_of_default"],
        stored_reasons=reasons,
        replayed_reasons=reasons,
        differences=differences,
        made_by_person=True,
        removed=removed,
    )


def _logged_record(log: DecisionLogStore, decision_id: str | None) -> dict[str, Any] | None:
    """The ``record`` of a decision's newest log entry; None when the log holds none."""
    payload = log.newest_payload(decision_id) if decision_id else None
    return json.loads(payload)["record"] if payload is not None else None


def _same_pd(stored: float | None, replayed: float | None) -> bool:
    if stored is None or replayed is None:
        return stored is replayed
    return math.isclose(stored, replayed, rel_tol=0, abs_tol=PD_TOLERANCE)
