"""Change control's use cases: propose, approve or refuse, roll back; what the API serves.

A model version becomes champion, a policy becomes active from its date, or the champion
goes back to the previously approved version only after a second person with the approver
role agrees (four eyes). Every step is one transaction with its audit-log entry. The
champion the API serves is the one this record names (:class:`RecordedChampion`); the
registry's alias is moved to match on approval, and a move made outside the product is
noticed, audited and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from scoring.domain import change_control as rules
from scoring.domain.change_control import (
    ChangeKind,
    ChangeNotPermitted,
    ChangeRecord,
    ChangeStatus,
    InvalidChange,
)
from scoring.domain.errors import ConflictError, NotFoundError
from scoring.domain.permissions import Actor
from scoring.domain.policy import Policy
from scoring.storage.db import UnitOfWork

if TYPE_CHECKING:
    from scoring.config import Settings


AUDIT_ENTITY = "change_request"
SYSTEM_ACTOR = "system:model-provider"
REGISTRY_ENTITY = "model_registry"


class ChangeNotFound(NotFoundError, LookupError):
    """No change request has this number."""


class GateOutcome(Protocol):
    """One promotion gate's result, as the registry reports it."""

    @property
    def gate(self) -> str: ...

    @property
    def passed(self) -> bool: ...

    @property
    def detail(self) -> str: ...

    @property
    def unjudged(self) -> tuple[str, ...]:
        """Attributes a failed fairness gate could not judge (not enough data)."""
        ...


class ChangeRegistry(Protocol):
    """What change control needs of the model registry (``models.registry`` or a fake)."""

    def version_tags(
        self, version_or_alias: str | int, *, settings: Settings | None = ..., model_name: str = ...
    ) -> dict[str, str]:
        """A registered version's tags; raises the registry's not-found error."""
        ...

    def check_gates(
        self,
        version: str | int,
        *,
        champion: str | int | None,
        gates_file: Path | None = ...,
        compare_with_champion: bool = ...,
        settings: Settings | None = ...,
        model_name: str = ...,
        contract_file: Path | None = ...,
    ) -> Sequence[GateOutcome]:
        """Every declared promotion gate's result for a version of a registered model."""
        ...

    def set_alias(
        self,
        alias: str,
        version: str | int,
        *,
        settings: Settings | None = ...,
        model_name: str = ...,
    ) -> None:
        """Point an alias at a version."""
        ...


class ChangeGatesFailed(rules.ChangeControlError, ConflictError):
    """A proposed champion failed one or more promotion gates; nothing was recorded."""


def _gate_rows(results: Sequence[GateOutcome]) -> list[dict[str, Any]]:
    return [{"gate": r.gate, "passed": bool(r.passed), "detail": r.detail} for r in results]


def _known_version(
    registry: ChangeRegistry,
    version: str,
    settings: Settings | None,
    model_name: str = rules.PRODUCT_MODEL,
) -> dict[str, str]:
    if not version.isdigit():
        raise InvalidChange(f"model version must be a number, got {version!r}")
    try:
        return registry.version_tags(version, settings=settings, model_name=model_name)
    except LookupError:
        raise InvalidChange(
            f"model {model_name} version {version} is unknown to the registry"
        ) from None


def audit_change(uow: UnitOfWork, *, now: datetime, actor: str, action: str, change: ChangeRecord,
           details: Mapping[str, Any] | None = None) -> None:  # fmt: skip
    uow.audit_log.append(
        at=now,
        actor=actor,
        action=action,
        entity_type=AUDIT_ENTITY,
        entity_id=str(change.id),
        details={
            "kind": change.kind.value,
            "model": change.model,
            "model_version": change.model_version,
            "policy_version": change.policy_version,
            "effective_from": change.effective_from.isoformat() if change.effective_from else None,
            **dict(details or {}),
        },
    )


def _model_changes(uow: UnitOfWork) -> list[ChangeRecord]:
    """Every champion and rollback change of every model, as recorded."""
    return uow.change_requests.of_kinds(list(rules.MODEL_KINDS))


def served_champion(*, uow: UnitOfWork) -> ChangeRecord | None:
    """The champion change in force in the product's record, or None."""
    return rules.served_champion(_model_changes(uow))


def approved_champions(*, uow: UnitOfWork, model: str | None = None) -> list[ChangeRecord]:
    """The champion change in force of every model (or of ``model``), the product's first."""
    champions = rules.champions_in_force(_model_changes(uow))
    return [c for c in champions if model is None or c.model == model]


def list_changes(*, uow: UnitOfWork, model: str | None = None) -> list[ChangeRecord]:
    """Every change request (or only the model changes of ``model``), newest first."""
    changes = reversed(uow.change_requests.all())
    return [c for c in changes if model is None or c.model == model]


def stale_changes(*, uow: UnitOfWork) -> dict[int, str]:
    """Proposed model changes whose champion moved since, by id, with why."""
    changes = _model_changes(uow)
    stale = {c.id: rules.stale_reason(c, changes) for c in changes}
    return {change_id: reason for change_id, reason in stale.items() if reason is not None}


def change_details(
    *, uow: UnitOfWork, change_id: int
) -> tuple[ChangeRecord, list[dict[str, Any]], dict[str, Any]]:
    """One change with its gate results and attachments."""
    change = uow.change_requests.get(change_id)
    if change is None:
        raise ChangeNotFound(f"no change request {change_id}")
    gates, attachments = uow.change_requests.gates_and_attachments(change_id)
    return change, gates, attachments


def propose_champion(
    *,
    uow: UnitOfWork,
    registry: ChangeRegistry,
    actor: Actor,
    version: str,
    reason: str,
    now: datetime,
    gates_file: Path | None = None,
    attachments: Mapping[str, Any] | None = None,
    settings: Settings | None = None,
    model_name: str = rules.PRODUCT_MODEL,
    contract_file: Path | None = None,
) -> ChangeRecord:
    """Propose a model version as champion; its gates must pass, then a second person approves.

    ``model_name`` is the registered model (a user's model has its own name; only the
    product's ``installment-pd`` is ever served); ``contract_file`` the contract a user's
    model is judged against, wherever it lives. A fairness gate that failed only because
    there was not enough data to judge passes when a person signed it off
    (:func:`sign_off_fairness`); the sign-off is recorded with the gate's result.
    """
    rules.check_may_propose(actor)
    reason = _reason(reason)
    version = str(version).strip()
    tags = _known_version(registry, version, settings, model_name)
    current = rules.served_champion(_model_changes(uow), model_name)
    if current is not None and current.model_version == version:
        raise InvalidChange(f"model {model_name} version {version} is the champion already")
    champion = current.model_version if current else None
    results = _judged_gates(
        uow, registry, version, champion=champion, gates_file=gates_file, settings=settings,
        model_name=model_name, contract_file=contract_file,
    )  # fmt: skip
    failed = [r for r in results if not r.passed]
    if failed:
        raise ChangeGatesFailed(
            f"model {model_name} version {version} cannot be proposed as champion: "
            + "; ".join(f"gate {r.gate} failed ({r.detail})" for r in failed)
        )
    files = {"model_card": tags["model_card"]} if tags.get("model_card") else {}
    files.update(_contract_attachment(contract_file))
    change = uow.change_requests.add(
        kind=ChangeKind.CHAMPION,
        status=ChangeStatus.PROPOSED,
        model_name=model_name,
        model_version=version,
        replaces_version=current.model_version if current else None,
        proposed_by=actor.user_id,
        proposed_at=now,
        reason=reason,
        gates=_gate_rows(results),
        attachments={**files, **_attachment_paths(attachments)},
    )
    audit_change(uow, now=now, actor=actor.label, action="change_proposed", change=change,
           details={"replaces_version": change.replaces_version, "reason": reason,
                    "gates_passed": [r.gate for r in results]})  # fmt: skip
    return change


# ---------------------------------------------------------------------------------------
# Fairness sign-off: a person's judgement where the data could not judge

MODEL_VERSION_ENTITY = "model_version"
FAIRNESS_SIGNED_OFF = "fairness_signed_off"


class FairnessSignOff(ChangeGatesFailed):
    """A fairness sign-off that cannot be given (the gate passes, or failed on a real gap)."""


def _model_version_id(model_name: str, version: str) -> str:
    entity_id = f"{model_name}/{version}"
    if len(entity_id) > 64:
        raise InvalidChange(f"model name {model_name!r} is too long to be recorded (64 at most)")
    return entity_id


def fairness_sign_offs(*, uow: UnitOfWork, model_name: str, version: str) -> list[dict[str, Any]]:
    """The recorded fairness sign-offs of one model version, oldest first."""
    entries = uow.audit_log.entries_for(
        entity_type=MODEL_VERSION_ENTITY, entity_id=_model_version_id(model_name, version)
    )
    return [
        {"by": e.actor, "at": e.at, **dict(e.details)}
        for e in entries
        if e.action == FAIRNESS_SIGNED_OFF
    ]


@dataclass(frozen=True)
class _SignedOffGate:
    gate: str
    passed: bool
    detail: str
    unjudged: tuple[str, ...] = ()


def _judged_gates(
    uow: UnitOfWork,
    registry: ChangeRegistry,
    version: str,
    *,
    champion: str | None,
    model_name: str,
    gates_file: Path | None,
    contract_file: Path | None,
    settings: Settings | None,
    compare_with_champion: bool = True,
) -> list[Any]:
    """The version's gate results, a fairness gate a person signed off counted as passed."""
    results = registry.check_gates(
        version, champion=champion, gates_file=gates_file, settings=settings,
        model_name=model_name, contract_file=contract_file,
        compare_with_champion=compare_with_champion,
    )  # fmt: skip
    return [_signed_off(uow, model_name, version, result) for result in results]


def _contract_attachment(contract_file: Path | None) -> dict[str, str]:
    """The user's contract a model change was judged against, as an attachment."""
    return {} if contract_file is None else {"contract": str(Path(contract_file).resolve())}


def _signed_off(uow: UnitOfWork, model_name: str, version: str, result: GateOutcome) -> Any:
    """The gate's result, or a passed fairness gate when every unjudged attribute is signed off."""
    unjudged = tuple(getattr(result, "unjudged", ()) or ())
    if result.passed or result.gate != "fairness" or not unjudged:
        return result
    signed = fairness_sign_offs(uow=uow, model_name=model_name, version=version)
    covered = {a for s in signed for a in s.get("attributes", [])}
    if not set(unjudged) <= covered:
        return result
    who = "; ".join(f"{s['by']} at {s['at']:%Y-%m-%d %H:%M} UTC: {s['reason']}" for s in signed)
    return _SignedOffGate(
        "fairness",
        True,
        f"{result.detail} -- signed off by {who}",
        unjudged,
    )


def sign_off_fairness(
    *,
    uow: UnitOfWork,
    registry: ChangeRegistry,
    actor: Actor,
    version: str,
    reason: str,
    now: datetime,
    model_name: str = rules.PRODUCT_MODEL,
    gates_file: Path | None = None,
    contract_file: Path | None = None,
    settings: Settings | None = None,
) -> tuple[str, ...]:
    """A risk approver signs off a fairness gate that had not enough data to judge (audited).

    Only a gate that failed for that reason alone can be signed off: a gap above its bound,
    or figures never recorded, are refused. Returns the attributes signed off.
    """
    rules.check_approver_role(actor)
    reason = _reason(reason)
    version = str(version).strip()
    _known_version(registry, version, settings, model_name)
    entity_id = _model_version_id(model_name, version)
    results = registry.check_gates(
        version, champion=None, gates_file=gates_file, settings=settings,
        model_name=model_name, contract_file=contract_file,
    )  # fmt: skip
    fairness = next((r for r in results if r.gate == "fairness"), None)
    if fairness is None:
        raise FairnessSignOff(f"model {model_name} version {version} has no fairness gate")
    if fairness.passed:
        raise FairnessSignOff(
            f"the fairness gate of model {model_name} version {version} passes "
            f"({fairness.detail}); there is nothing to sign off"
        )
    unjudged = tuple(getattr(fairness, "unjudged", ()) or ())
    if not unjudged:
        raise FairnessSignOff(
            f"the fairness gate of model {model_name} version {version} failed on figures, "
            f"not for want of data ({fairness.detail}); a sign-off cannot override that"
        )
    uow.audit_log.append(
        at=now,
        actor=actor.label,
        action=FAIRNESS_SIGNED_OFF,
        entity_type=MODEL_VERSION_ENTITY,
        entity_id=entity_id,
        details={"attributes": list(unjudged), "reason": reason, "gate": fairness.detail},
    )
    return unjudged


def propose_rollback(
    *,
    uow: UnitOfWork,
    registry: ChangeRegistry,
    actor: Actor,
    reason: str,
    now: datetime,
    settings: Settings | None = None,
    model_name: str = rules.PRODUCT_MODEL,
    gates_file: Path | None = None,
    contract_file: Path | None = None,
) -> ChangeRecord:
    """Propose going back to the previously approved champion; no comparison gate applies.

    ``model_name``, ``gates_file`` and ``contract_file`` as for :func:`propose_champion`: a
    user's model goes back to its own previous champion, its gates judged against the
    user's contract; the product's champion is not touched.
    """
    rules.check_may_propose(actor)
    reason = _reason(reason)
    changes = _model_changes(uow)
    current = rules.served_champion(changes, model_name)
    previous = rules.previous_champion(changes, model_name)
    if current is None or previous is None or previous.model_version is None:
        raise InvalidChange(
            f"model {model_name} has no previously approved champion to roll back to"
        )
    version = previous.model_version
    _known_version(registry, version, settings, model_name)
    # Recorded for the approver to see; a rollback is never blocked by them.
    results = _judged_gates(
        uow, registry, version, champion=current.model_version, gates_file=gates_file,
        settings=settings, model_name=model_name, contract_file=contract_file,
        compare_with_champion=False,
    )  # fmt: skip
    files = {"previous_approval": previous.id, **_contract_attachment(contract_file)}
    change = uow.change_requests.add(
        kind=ChangeKind.ROLLBACK,
        status=ChangeStatus.PROPOSED,
        model_name=model_name,
        model_version=version,
        replaces_version=current.model_version,
        proposed_by=actor.user_id,
        proposed_at=now,
        reason=reason,
        gates=_gate_rows(results),
        attachments=files,
    )
    audit_change(uow, now=now, actor=actor.label, action="rollback_proposed", change=change,
           details={"replaces_version": current.model_version, "reason": reason,
                    "previously_approved_in": previous.id})  # fmt: skip
    return change


def propose_policy(
    *,
    uow: UnitOfWork,
    actor: Actor,
    policy: Policy,
    effective_from: datetime | None,
    policy_effective_date: date | None,
    reason: str,
    now: datetime,
    attachments: Mapping[str, Any] | None = None,
    document: Mapping[str, Any] | None = None,
) -> ChangeRecord:
    """Propose a (parsed and checked) policy version to become active from a time."""
    rules.check_may_propose(actor)
    reason = _reason(reason)
    if effective_from is None:
        if policy_effective_date is None:
            raise InvalidChange(f"policy {policy.version} states no effective_from; give one")
        effective_from = datetime.combine(policy_effective_date, time(0, 0), tzinfo=UTC)
    rules.check_policy_date(effective_from, now=now)
    files = _attachment_paths(attachments)
    if document is not None:
        # The checked document travels with the change, so every API process can apply it.
        files["policy_document"] = json.loads(json.dumps(dict(document), default=str))
    change = uow.change_requests.add(
        kind=ChangeKind.POLICY,
        status=ChangeStatus.PROPOSED,
        policy_version=policy.version,
        effective_from=effective_from,
        proposed_by=actor.user_id,
        proposed_at=now,
        reason=reason,
        attachments=files,
    )
    audit_change(uow, now=now, actor=actor.label, action="change_proposed", change=change,
           details={"reason": reason})  # fmt: skip
    return change


def approve_change(
    *,
    uow: UnitOfWork,
    registry: ChangeRegistry | None,
    actor: Actor,
    change_id: int,
    note: str,
    now: datetime,
    settings: Settings | None = None,
) -> ChangeRecord:
    """A second person approves; a model change points the registry's alias to match."""
    rules.check_approver_role(actor)
    change = _locked(uow, change_id)
    rules.check_may_decide(actor, change)
    if change.kind is ChangeKind.POLICY:
        assert change.effective_from is not None
        if change.effective_from < now:
            raise InvalidChange(
                f"change {change.id} was to take effect from "
                f"{change.effective_from:%Y-%m-%d %H:%M} UTC, which has passed; "
                "propose it again with a new date"
            )
    if change.kind in rules.MODEL_KINDS:
        rules.check_still_replaces(change, _model_changes(uow))
    decided = uow.change_requests.decide(
        change.id, status=ChangeStatus.APPROVED, decided_by=actor.user_id, decided_at=now,
        note=note.strip(),
    )  # fmt: skip
    action = "rollback_approved" if change.kind is ChangeKind.ROLLBACK else "change_approved"
    audit_change(uow, now=now, actor=actor.label, action=action, change=decided,
           details={"proposed_by": change.proposed_by_name, "note": note.strip()})  # fmt: skip
    if change.kind in rules.MODEL_KINDS:
        if registry is None:
            raise InvalidChange("approving a model change needs the model registry")
        assert change.model_version is not None and change.model is not None
        # Last, so a registry that cannot be reached rolls the approval back with it.
        registry.set_alias(
            "champion", change.model_version, settings=settings, model_name=change.model
        )
    return decided


def refuse_change(
    *, uow: UnitOfWork, actor: Actor, change_id: int, note: str, now: datetime
) -> ChangeRecord:
    """A second person refuses a proposed change, with the reason."""
    rules.check_approver_role(actor)
    change = _locked(uow, change_id)
    rules.check_may_decide(actor, change)
    note = _reason(note)
    decided = uow.change_requests.decide(
        change.id, status=ChangeStatus.REFUSED, decided_by=actor.user_id, decided_at=now,
        note=note,
    )  # fmt: skip
    audit_change(uow, now=now, actor=actor.label, action="change_refused", change=decided,
           details={"proposed_by": change.proposed_by_name, "note": note})  # fmt: skip
    return decided


def _locked(uow: UnitOfWork, change_id: int) -> ChangeRecord:
    change = uow.change_requests.lock(change_id)
    if change is None:
        raise ChangeNotFound(f"no change request {change_id}")
    return change


def _reason(text: str) -> str:
    text = (text or "").strip()
    if len(text) < 5:
        raise InvalidChange("give a reason of at least 5 characters")
    if len(text) > 2000:
        raise InvalidChange("the reason is longer than 2000 characters")
    return text


def _attachment_paths(attachments: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: str(v) for k, v in (attachments or {}).items() if v is not None}


def require_actor(actor: Actor | None) -> Actor:
    """The acting person; change control never acts for nobody."""
    if actor is None:
        raise ChangeNotPermitted("a signed-in person must act")
    return actor
