"""What a policy or model change would have done to the applications already decided.

``simulate`` replays the stored, minimised inputs of a period (no bureau enquiry, no
personal code) twice with the domain's own ``decide``: under the live policy and model, and
under the candidate policy and/or model. It counts what flips (approve / refer / decline /
pending review, before and after), the approval rate and the expected loss (PD x amount x
the LGD the policy states) with 95 % intervals, the reviewer-queue load, and the same per
segment (product, bureau class, thin file, age band). The report and plots are drawn from
``SimulationResult.to_dict()`` by ``models.simulation_report``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from scoring.domain.bureau import RISK_CLASSES
from scoring.domain.decision import ApplicationFacts, ModelAssessment, decide
from scoring.domain.errors import InvalidInputError
from scoring.domain.policy import Policy
from scoring.service.model_provider import PDModel
from scoring.storage.db import UnitOfWork
from scoring.storage.past_applications import PastApplication

OUTCOMES = ("approve", "refer", "decline", "pending_review")
# Outcomes that put a case in front of a reviewer.
TO_A_PERSON = frozenset({"refer", "pending_review"})
Z95 = 1.959963984540054
# Shown by the names the bureau class definitions give ("very good"), not their codes.
_CLASS_NAMES = {d.rank: d.label_en for d in RISK_CLASSES.values()}


class SimulationRefused(InvalidInputError, ValueError):
    """A simulation that cannot run as asked (an empty period, no LGD, ...)."""


@dataclass(frozen=True)
class Rate:
    """A share with its Wilson 95 % interval."""

    count: int
    total: int

    @property
    def value(self) -> float | None:
        return self.count / self.total if self.total else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.total:
            return None
        n, p = self.total, self.count / self.total
        centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2)) / (1 + Z95**2 / n)
        return (max(0.0, centre - half), min(1.0, centre + half))

    def to_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "count": self.count,
            "total": self.total,
            "value": _round(self.value),
            "low": _round(interval[0]) if interval else None,
            "high": _round(interval[1]) if interval else None,
        }


@dataclass(frozen=True)
class Loss:
    """Expected loss in EUR over the approved applications, with a 95 % interval.

    The interval is the spread of the realised loss if each approved applicant defaulted
    with their PD independently (normal approximation); it does not include the error of
    the PDs themselves.
    """

    expected: float
    variance: float
    exposure: float

    @property
    def low(self) -> float:
        return max(0.0, self.expected - Z95 * math.sqrt(self.variance))

    @property
    def high(self) -> float:
        return self.expected + Z95 * math.sqrt(self.variance)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected_eur": round(self.expected, 2),
            "low_eur": round(self.low, 2),
            "high_eur": round(self.high, 2),
            "approved_exposure_eur": round(self.exposure, 2),
        }


@dataclass(frozen=True)
class Replayed:
    """One application's outcome and PD before (live) and after (candidate)."""

    decision_id: str
    before: str
    after: str
    pd_before: float | None
    pd_after: float | None
    amount_eur: float
    segments: Mapping[str, str]
    # Known only on a synthetic world: the true PD and whether the plan defaulted.
    true_pd: float | None = None
    defaulted: bool | None = None


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    value: str
    applications: int
    approval_before: Rate
    approval_after: Rate
    flips: int
    to_a_person_before: int
    to_a_person_after: int
    loss_before: Loss
    loss_after: Loss

    def to_dict(self) -> dict[str, Any]:
        return {
            "segment": self.segment,
            "value": self.value,
            "applications": self.applications,
            "approval_before": self.approval_before.to_dict(),
            "approval_after": self.approval_after.to_dict(),
            "flips": self.flips,
            "to_a_person_before": self.to_a_person_before,
            "to_a_person_after": self.to_a_person_after,
            "expected_loss_before": self.loss_before.to_dict(),
            "expected_loss_after": self.loss_after.to_dict(),
        }


@dataclass(frozen=True)
class SimulationResult:
    """A simulation's figures; ``to_dict()`` is what the report and MLflow get."""

    start: datetime
    end: datetime
    live_policy: str
    candidate_policy: str
    live_model: str | None
    candidate_model: str | None
    loss_given_default: float
    replayed: Sequence[Replayed]
    # (approve_below, decline_at_or_above) of the live and the candidate policy.
    live_cutoffs: tuple[float, float] = (0.0, 1.0)
    candidate_cutoffs: tuple[float, float] = (0.0, 1.0)
    segments: Sequence[SegmentRow] = field(default_factory=tuple)
    notes: Sequence[str] = field(default_factory=tuple)

    @property
    def applications(self) -> int:
        return len(self.replayed)

    def flip_matrix(self) -> dict[str, dict[str, int]]:
        """Counts by outcome before (rows) and after (columns)."""
        counts = Counter((r.before, r.after) for r in self.replayed)
        return {b: {a: counts.get((b, a), 0) for a in OUTCOMES} for b in OUTCOMES}

    def flips(self) -> int:
        return sum(r.before != r.after for r in self.replayed)

    def approval(self, *, after: bool) -> Rate:
        return _approval(self.replayed, after=after)

    def loss(self, *, after: bool) -> Loss:
        return _loss(self.replayed, after=after, lgd=self.loss_given_default)

    def true_loss(self, *, after: bool) -> float | None:
        """Expected loss from the true PDs over the approved (synthetic world only)."""
        approved = [r for r in self.replayed if (r.after if after else r.before) == "approve"]
        if not approved or any(r.true_pd is None for r in approved):
            return None
        return sum((r.true_pd or 0.0) * r.amount_eur * self.loss_given_default for r in approved)

    def true_loss_within_interval(self, *, after: bool) -> bool | None:
        """Whether the true expected loss lies in the estimate's 95 % interval (world only)."""
        truth = self.true_loss(after=after)
        if truth is None:
            return None
        loss = self.loss(after=after)
        return loss.low <= truth <= loss.high

    def bad_rate(self, *, after: bool) -> Rate | None:
        """Share of the approved with a known outcome that defaulted (where known)."""
        known = [
            r
            for r in self.replayed
            if (r.after if after else r.before) == "approve" and r.defaulted is not None
        ]
        return Rate(sum(bool(r.defaulted) for r in known), len(known)) if known else None

    def to_a_person(self, *, after: bool) -> int:
        return sum((r.after if after else r.before) in TO_A_PERSON for r in self.replayed)

    def weeks(self) -> float:
        return max((self.end - self.start).total_seconds() / (7 * 86400), 1 / 7)

    def to_dict(self) -> dict[str, Any]:
        return {
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "live": {"policy": self.live_policy, "model": self.live_model},
            "candidate": {"policy": self.candidate_policy, "model": self.candidate_model},
            "loss_given_default": self.loss_given_default,
            "cutoffs": {"live": list(self.live_cutoffs), "candidate": list(self.candidate_cutoffs)},
            "applications": self.applications,
            "flips": self.flips(),
            "flip_matrix": self.flip_matrix(),
            "approval_before": self.approval(after=False).to_dict(),
            "approval_after": self.approval(after=True).to_dict(),
            "expected_loss_before": self.loss(after=False).to_dict(),
            "expected_loss_after": self.loss(after=True).to_dict(),
            "reviewer_cases_before": self.to_a_person(after=False),
            "reviewer_cases_after": self.to_a_person(after=True),
            "reviewer_cases_per_week_before": round(
                self.to_a_person(after=False) / self.weeks(), 1
            ),
            "reviewer_cases_per_week_after": round(self.to_a_person(after=True) / self.weeks(), 1),
            "segments": [row.to_dict() for row in self.segments],
            "true_expected_loss_before": _money(self.true_loss(after=False)),
            "true_expected_loss_after": _money(self.true_loss(after=True)),
            "bad_rate_approved_before": _rate(self.bad_rate(after=False)),
            "bad_rate_approved_after": _rate(self.bad_rate(after=True)),
            "outcomes_known": sum(r.defaulted is not None for r in self.replayed),
            "true_loss_within_interval_before": self.true_loss_within_interval(after=False),
            "true_loss_within_interval_after": self.true_loss_within_interval(after=True),
            "probabilities_before": [r.pd_before for r in self.replayed if r.pd_before is not None],
            "probabilities_after": [r.pd_after for r in self.replayed if r.pd_after is not None],
            "notes": list(self.notes),
            "decisions": [asdict(r) | {"segments": dict(r.segments)} for r in self.replayed],
        }


def simulate(
    *,
    uow: UnitOfWork,
    start: datetime,
    end: datetime,
    live_policy: Policy,
    live_model: PDModel,
    candidate_policy: Policy | None = None,
    candidate_model: PDModel | None = None,
    past: Sequence[PastApplication] | None = None,
    truth: Mapping[str, float] | None = None,
    outcomes: Mapping[str, bool] | None = None,
    groups: Mapping[str, Mapping[str, str]] | None = None,
) -> SimulationResult:
    """Replay the period's stored applications under the live and the candidate set-up.

    ``past`` replaces the stored applications (a synthetic world's history); ``truth``
    (true PD), ``outcomes`` (defaulted) and ``groups`` (attributes kept aside) are keyed by
    ``decision_id`` and add the true expected loss, realised bad rates and segments.
    """
    if end <= start:
        raise SimulationRefused(f"the period must end after it starts ({start} to {end})")
    candidate_policy = candidate_policy or live_policy
    candidate_model = candidate_model or live_model
    lgd = candidate_policy.loss_given_default or live_policy.loss_given_default
    if lgd is None:
        raise SimulationRefused(
            "the policy states no loss_given_default; expected loss needs it (e.g. 0.45)"
        )
    # Decisions a person was asked for in advance go to a person under any policy.
    live = _automated(live_policy)
    candidate = _automated(candidate_policy)
    if past is None:
        past = list(uow.past_applications.in_period(start, end))
    else:
        past = [a for a in past if start <= a.decided_at < end]
    if outcomes is None:
        # The product's own outcomes, where it knows them (none for plans under a year old).
        outcomes = {a.decision_id: a.defaulted for a in past if a.defaulted is not None}
    if not past:
        raise SimulationRefused(
            f"no applications were decided between {start:%Y-%m-%d %H:%M} and "
            f"{end:%Y-%m-%d %H:%M} UTC; choose a period with decisions"
        )
    pds_live = _probabilities(past, live_model)
    pds_candidate = (
        pds_live if candidate_model is live_model else _probabilities(past, candidate_model)
    )
    replayed = [
        _replay(
            app,
            live,
            candidate,
            live_model,
            candidate_model,
            pd_live,
            pd_candidate,
            true_pd=(truth or {}).get(app.decision_id),
            defaulted=(outcomes or {}).get(app.decision_id),
            extra=(groups or {}).get(app.decision_id, {}),
        )
        for app, pd_live, pd_candidate in zip(past, pds_live, pds_candidate, strict=True)
    ]
    notes = [
        "Before: the live policy and model re-deciding each stored application; after: the "
        "candidate. Outcomes are re-decided from the stored minimised inputs; no bureau enquiry.",
        "Expected loss = PD x amount x LGD over the approved applications; its interval is the "
        "spread of realised loss under those PDs, not the PDs' own error.",
    ]
    known = sum(1 for app in past if app.decision_id in outcomes)
    if known == 0:
        notes.append(
            f"None of the {len(past)} applications has a known 12-month outcome yet (a plan's "
            "outcome is known a year after it starts), so no realised bad rate is shown."
        )
    else:
        notes.append(
            f"{known} of the {len(past)} applications have a known 12-month outcome; the "
            "realised bad rate counts the approved among them. Plans that were never granted "
            "have no outcome, so the rate after a change rests only on those approved before."
        )
    if truth is None:
        notes.append("Sex and home language are not held by the engine: no segment for them.")
    else:
        notes.append(
            "Synthetic world: the true expected loss uses the generator's true PDs, which the "
            "engine never sees; it should fall inside the estimate's interval."
        )
    if live_policy.all_applications_to_manual_review:
        notes.append("Automated decisions are stopped now; the simulation ignores the switch.")
    return SimulationResult(
        start=start,
        end=end,
        live_policy=live_policy.version,
        candidate_policy=candidate_policy.version,
        live_model=str(live_model.version),
        candidate_model=str(candidate_model.version),
        loss_given_default=lgd,
        replayed=replayed,
        live_cutoffs=(live_policy.approve_below, live_policy.decline_at_or_above),
        candidate_cutoffs=(candidate_policy.approve_below, candidate_policy.decline_at_or_above),
        segments=_segments(replayed, lgd),
        notes=notes,
    )


def redecide_one(
    *, app: PastApplication, policy: Policy, model: PDModel
) -> tuple[str, float | None]:
    """One application re-decided on its own (what the batch must agree with)."""
    pd_value = None
    if app.features is not None:
        frame = pd.DataFrame([_numeric(app.features)], dtype="float64")
        pd_value = float(model.predict_pd(frame.reindex(columns=list(model.feature_names)))[0])
    outcome = decide(
        application=_facts(app),
        features=_numeric(app.features or {}),
        assessment=_assessment(model, pd_value) if pd_value is not None else None,
        policy=_automated(policy),
        evidence=None,  # outcomes only: reasons are not part of a simulation
    )
    return outcome.outcome.value, pd_value


def _automated(policy: Policy) -> Policy:
    if not policy.all_applications_to_manual_review:
        return policy
    from dataclasses import replace

    return replace(policy, all_applications_to_manual_review=False)


def _facts(app: PastApplication) -> ApplicationFacts:
    known = ApplicationFacts.__dataclass_fields__
    return ApplicationFacts(**{k: v for k, v in app.facts.items() if k in known})


def _numeric(features: Mapping[str, Any]) -> dict[str, float]:
    return {k: (math.nan if v is None else float(v)) for k, v in features.items()}


def _probabilities(past: Sequence[PastApplication], model: PDModel) -> list[float | None]:
    scored = [i for i, app in enumerate(past) if app.features is not None]
    out: list[float | None] = [None] * len(past)
    if not scored:
        return out
    frame = pd.DataFrame(
        [_numeric(past[i].features or {}) for i in scored], dtype="float64"
    ).reindex(columns=list(model.feature_names))
    values = np.asarray(model.predict_pd(frame), dtype="float64")
    for i, value in zip(scored, values, strict=True):
        out[i] = float(value)
    return out


def _assessment(model: PDModel, probability: float) -> ModelAssessment:
    # Contributions only choose the reasons, never the outcome: they are not recomputed.
    return ModelAssessment(
        probability_of_default=probability,
        base_value=0.0,
        contributions={},
        model_name=model.name,
        model_version=str(model.version),
    )


def _replay(
    app: PastApplication,
    live: Policy,
    candidate: Policy,
    live_model: PDModel,
    candidate_model: PDModel,
    pd_live: float | None,
    pd_candidate: float | None,
    *,
    true_pd: float | None = None,
    defaulted: bool | None = None,
    extra: Mapping[str, str] | None = None,
) -> Replayed:
    facts = _facts(app)
    features = _numeric(app.features or {})

    def outcome(policy: Policy, model: PDModel, probability: float | None) -> str:
        assessment = _assessment(model, probability) if probability is not None else None
        return decide(
            application=facts,
            features=features,
            assessment=assessment,
            policy=policy,
            evidence=None,  # outcomes only: reasons are not part of a simulation
        ).outcome.value

    return Replayed(
        decision_id=app.decision_id,
        before=outcome(live, live_model, pd_live),
        after=outcome(candidate, candidate_model, pd_candidate),
        pd_before=pd_live,
        pd_after=pd_candidate,
        amount_eur=float(facts.amount_eur),
        segments={**_segment_values(facts, app.features), **dict(extra or {})},
        true_pd=true_pd,
        defaulted=defaulted,
    )


def _segment_values(facts: ApplicationFacts, features: Mapping[str, Any] | None) -> dict[str, str]:
    features = features or {}
    rank = features.get("bureau_class_rank")
    thin = features.get("thin_file")
    return {
        "product": facts.product_category,
        "age band": _age_band(facts.age_years),
        "bureau class": _CLASS_NAMES.get(int(rank), "unknown") if rank is not None else "no report",
        "thin file": "unknown" if thin is None else ("thin file" if thin else "with history"),
    }


def _age_band(age: int) -> str:
    for upper, label in ((25, "18-25"), (35, "26-35"), (50, "36-50"), (65, "51-65")):
        if age <= upper:
            return label
    return "66+"


def _approval(rows: Iterable[Replayed], *, after: bool) -> Rate:
    rows = list(rows)
    return Rate(sum((r.after if after else r.before) == "approve" for r in rows), len(rows))


def _loss(rows: Iterable[Replayed], *, after: bool, lgd: float) -> Loss:
    expected = variance = exposure = 0.0
    for row in rows:
        if (row.after if after else row.before) != "approve":
            continue
        probability = row.pd_after if after else row.pd_before
        exposure += row.amount_eur
        if probability is None:
            continue
        loss = row.amount_eur * lgd
        expected += probability * loss
        variance += probability * (1 - probability) * loss * loss
    return Loss(expected, variance, exposure)


def _segments(rows: Sequence[Replayed], lgd: float) -> list[SegmentRow]:
    groups: dict[tuple[str, str], list[Replayed]] = defaultdict(list)
    for row in rows:
        for segment, value in row.segments.items():
            groups[(segment, value)].append(row)
    table = []
    for (segment, value), members in sorted(groups.items()):
        table.append(
            SegmentRow(
                segment=segment,
                value=value,
                applications=len(members),
                approval_before=_approval(members, after=False),
                approval_after=_approval(members, after=True),
                flips=sum(r.before != r.after for r in members),
                to_a_person_before=sum(r.before in TO_A_PERSON for r in members),
                to_a_person_after=sum(r.after in TO_A_PERSON for r in members),
                loss_before=_loss(members, after=False, lgd=lgd),
                loss_after=_loss(members, after=True, lgd=lgd),
            )
        )
    return table


def _money(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _rate(rate: Rate | None) -> dict[str, Any] | None:
    return None if rate is None else rate.to_dict()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
