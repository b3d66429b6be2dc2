"""Change control: which model and policy the engine serves, and who may change that.

A change (a model version to become champion, a rollback to the previously approved
champion, a policy version to become active from a date) is proposed by one person and
takes effect only once a different person with the approver role approves it. The
product's own record of approved changes, not the model registry's alias, says what is
served; these rules read that record.

Standard library only, like the rest of ``scoring.domain``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from scoring.domain.errors import ConflictError, InvalidInputError, NotPermittedError
from scoring.domain.permissions import Actor, may_approve_change, may_propose_change


class ChangeKind(StrEnum):
    CHAMPION = "champion"
    ROLLBACK = "rollback"
    POLICY = "policy"


class ChangeStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    REFUSED = "refused"
    # The registry's champion taken over on a database that had no record yet (first start).
    ADOPTED = "adopted"


# The product's own model, the one the API serves; a user's model has its own name.
PRODUCT_MODEL = "installment-pd"
MODEL_KINDS = frozenset({ChangeKind.CHAMPION, ChangeKind.ROLLBACK})
IN_FORCE = frozenset({ChangeStatus.APPROVED, ChangeStatus.ADOPTED})


class ChangeControlError(Exception):
    """Base of the change-control refusals (each also derives from one branch of the tree)."""


class InvalidChange(ChangeControlError, InvalidInputError):
    """A change that cannot be proposed as given (unknown version, a date in the past, ...)."""


class ChangeNotPermitted(ChangeControlError, NotPermittedError):
    """The person may not propose, approve or refuse this change (role, or their own)."""


class ChangeNotPending(ChangeControlError, ConflictError):
    """The change was already approved or refused."""


@dataclass(frozen=True)
class ChangeRecord:
    """One change request, as the product recorded it."""

    id: int
    kind: ChangeKind
    status: ChangeStatus
    model_version: str | None
    policy_version: str | None
    effective_from: datetime | None
    proposed_by: int | None
    proposed_by_name: str | None
    proposed_at: datetime
    reason: str
    decided_by: int | None = None
    decided_by_name: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    replaces_version: str | None = None
    # The registered model of a model change; None on records made before models had names.
    model_name: str | None = None

    @property
    def model(self) -> str | None:
        """The registered model a model change is about (None for a policy)."""
        if self.kind is ChangeKind.POLICY:
            return None
        return self.model_name or PRODUCT_MODEL

    @property
    def subject(self) -> str:
        """What the change is about, in words."""
        if self.kind is ChangeKind.POLICY:
            return f"policy {self.policy_version} from {self.effective_from:%Y-%m-%d %H:%M} UTC"
        if self.kind is ChangeKind.ROLLBACK:
            return f"rollback of the champion to {self._model_words(self.model_version)}"
        return f"{self._model_words(self.model_version)} as champion"

    @property
    def replaced(self) -> str | None:
        """The champion a model change replaces, in words (None when it replaces none)."""
        if self.replaces_version is None:
            return None
        return self._model_words(self.replaces_version)

    def _model_words(self, version: str | None) -> str:
        # The product's own model is "model version N"; a user's model is named.
        named = "" if self.model == PRODUCT_MODEL else f"{self.model} "
        return f"model {named}version {version}"


def _in_force_order(change: ChangeRecord) -> tuple[datetime, int]:
    assert change.decided_at is not None  # an approved or adopted change has its time
    return (change.decided_at, change.id)


def _in_force(changes: Iterable[ChangeRecord], model: str) -> list[ChangeRecord]:
    return [
        c for c in changes if c.kind in MODEL_KINDS and c.status in IN_FORCE and c.model == model
    ]


def served_champion(
    changes: Iterable[ChangeRecord], model: str = PRODUCT_MODEL
) -> ChangeRecord | None:
    """The latest champion or rollback change of ``model`` in force, or None."""
    return max(_in_force(changes, model), key=_in_force_order, default=None)


def champions_in_force(changes: Iterable[ChangeRecord]) -> list[ChangeRecord]:
    """The champion change in force of every model that has one: the product's, then by name."""
    changes = list(changes)
    models = {c.model for c in changes if c.kind in MODEL_KINDS and c.status in IN_FORCE}
    in_order = sorted((m for m in models if m is not None), key=lambda m: (m != PRODUCT_MODEL, m))
    return [champion for m in in_order if (champion := served_champion(changes, m)) is not None]


def champion_history(
    changes: Iterable[ChangeRecord], model: str = PRODUCT_MODEL
) -> list[ChangeRecord]:
    """The champion changes of ``model`` in force, oldest first."""
    return sorted(_in_force(changes, model), key=_in_force_order)


def previous_champion(
    changes: Iterable[ChangeRecord], model: str = PRODUCT_MODEL
) -> ChangeRecord | None:
    """The change that put the previous champion (another version than today's) in force."""
    history = champion_history(changes, model)
    if not history:
        return None
    current = history[-1].model_version
    for change in reversed(history):
        if change.model_version != current:
            return change
    return None


def active_policy(changes: Iterable[ChangeRecord], *, now: datetime) -> ChangeRecord | None:
    """The approved policy change whose ``effective_from`` is the latest that has come."""
    due = [
        c
        for c in changes
        if c.kind is ChangeKind.POLICY
        and c.status in IN_FORCE
        and c.effective_from is not None
        and c.effective_from <= now
    ]
    return max(due, key=lambda c: (c.effective_from, *_in_force_order(c)), default=None)


def check_may_propose(actor: Actor) -> None:
    """Refuse a proposal by someone whose role does not propose changes."""
    if not may_propose_change(actor):
        raise ChangeNotPermitted(
            f"{actor.username} ({actor.role.value}) may not propose changes; "
            "a risk_analyst or risk_approver proposes them"
        )


def check_approver_role(actor: Actor) -> None:
    """Refuse at once anyone whose role never approves or refuses changes."""
    if not may_approve_change(actor, proposed_by=None):
        raise ChangeNotPermitted(
            f"{actor.username} ({actor.role.value}) may not approve or refuse changes; "
            "that needs the risk_approver role"
        )


def stale_reason(change: ChangeRecord, changes: Iterable[ChangeRecord]) -> str | None:
    """Why a proposed model change can no longer be approved (its champion moved), or None.

    Its gates compared against the champion of that time, and a rollback names what it
    undoes: approving it over another champion would act on a state nobody reviewed.
    """
    model = change.model  # None only for a policy change
    if change.status is not ChangeStatus.PROPOSED or model is None:
        return None
    current = served_champion(changes, model)
    now_serving = current.model_version if current else None
    if now_serving == change.replaces_version:
        return None
    then = (
        f"had version {change.replaces_version} as champion"
        if change.replaces_version
        else "had no champion"
    )
    since = f"version {now_serving} (change {current.id})" if current else "none"
    return f"change {change.id} was proposed when model {model} {then}; its champion is {since} now"


def check_still_replaces(change: ChangeRecord, changes: Iterable[ChangeRecord]) -> None:
    """Refuse a model change whose champion moved after it was proposed (:func:`stale_reason`)."""
    reason = stale_reason(change, changes)
    if reason is not None:
        raise ChangeNotPending(f"{reason}, so propose it again against today's champion")


def check_may_decide(actor: Actor, change: ChangeRecord) -> None:
    """Refuse an approval or refusal that breaks four eyes or comes too late."""
    if change.status is not ChangeStatus.PROPOSED:
        raise ChangeNotPending(f"change {change.id} is {change.status.value} already")
    if actor.user_id == change.proposed_by:
        raise ChangeNotPermitted(
            f"change {change.id} was proposed by {actor.username}; "
            "a different person with the risk_approver role must decide it"
        )
    if not may_approve_change(actor, proposed_by=change.proposed_by):
        raise ChangeNotPermitted(
            f"{actor.username} ({actor.role.value}) may not approve or refuse changes; "
            "that needs the risk_approver role"
        )


def check_policy_date(effective_from: datetime, *, now: datetime) -> None:
    """A new policy takes effect now or later, never in the past."""
    if effective_from.tzinfo is None:
        raise InvalidChange("effective_from must carry a time zone (UTC)")
    if effective_from < now:
        raise InvalidChange(
            f"effective_from {effective_from:%Y-%m-%d %H:%M} UTC is in the past; "
            "a policy can only take effect from now on"
        )
