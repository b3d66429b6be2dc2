"""What would have changed the outcome: the nearest purchase terms that the policy approves.

Only what the customer can change is searched: the term (within the policy's terms)
and the amount (never above the product limit). A decline by a rule the customer
cannot change by choosing other terms (an open bureau default, internal arrears, age)
has no counterfactual, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scoring.domain.decision import ApplicationFacts, DecisionOutcome, Outcome
from scoring.domain.policy import Policy

# Rules that no change of amount or term can lift.
UNCHANGEABLE_RULES = frozenset(
    {
        "P01_BUREAU_OPEN_DEFAULT",
        "P02_INTERNAL_ARREARS",
        "P03_UNDER_MINIMUM_AGE",
        "P05_UNKNOWN_PRODUCT",
    }
)

# A scorer maps candidate (amount_eur, term_months) pairs to probabilities of default,
# re-using the same features, model and calibration as the decision itself.
Scorer = Callable[[Sequence[tuple[float, int]]], Sequence[float]]


@dataclass(frozen=True)
class PurchaseTerms:
    amount_eur: float
    term_months: int
    probability_of_default: float


@dataclass(frozen=True)
class Counterfactual:
    """The headline change plus the alternatives the customer could also choose."""

    change: str  # "term", "amount" or "amount_and_term"
    suggested: PurchaseTerms
    alternatives: tuple[PurchaseTerms, ...]
    text_et: str
    text_en: str


def amount_grid(requested: float, cap: float, *, points: int = 40) -> list[float]:
    """Candidate amounts from the (capped) request down to a tenth of it, in 10 EUR steps."""
    top = math.floor(min(requested, cap) / 10) * 10
    if top <= 0:
        return []
    amounts = {top}
    for k in range(1, points):
        amounts.add(math.floor(round(top * (1 - k * 0.9 / (points - 1)), 6) / 10) * 10)
    return sorted((a for a in amounts if a > 0), reverse=True)


def find_counterfactual(
    *,
    application: ApplicationFacts,
    outcome: DecisionOutcome,
    policy: Policy,
    score: Scorer,
) -> Counterfactual | None:
    """The smallest change of term, then of amount, that the policy would approve."""
    if outcome.outcome not in (Outcome.DECLINE, Outcome.REFER) or outcome.risk_grade is None:
        return None
    if any(hit.code in UNCHANGEABLE_RULES for hit in outcome.policy_rules):
        return None
    limit = policy.product_limit(application.product_category)
    if limit is None:
        return None

    amounts = amount_grid(application.amount_eur, limit)
    terms = list(policy.allowed_terms_months)
    candidates = [(amount, term) for amount in amounts for term in terms]
    if not candidates:
        return None
    pds = score(candidates)
    approved = [
        PurchaseTerms(amount, term, float(pd))
        for (amount, term), pd in zip(candidates, pds, strict=True)
        if pd < policy.approve_below
    ]
    if not approved:
        return None

    requested_amount = amounts[0]
    same_amount = [c for c in approved if c.amount_eur == requested_amount]
    by_term = min(
        same_amount,
        key=lambda c: (abs(c.term_months - application.term_months), c.term_months),
        default=None,
    )
    same_term = [c for c in approved if c.term_months == application.term_months]
    by_amount = max(same_term, key=lambda c: c.amount_eur, default=None)
    anywhere = max(
        approved, key=lambda c: (c.amount_eur, -abs(c.term_months - application.term_months))
    )

    if by_term is not None and requested_amount == application.amount_eur:
        headline, change = by_term, "term"
    elif by_amount is not None:
        headline, change = by_amount, "amount"
    else:
        headline, change = anywhere, "amount_and_term"
    alternatives = tuple(
        c for c in dict.fromkeys([by_term, by_amount, anywhere]) if c and c != headline
    )
    text_et, text_en = _texts(headline, change)
    return Counterfactual(change, headline, alternatives, text_et, text_en)


def _texts(terms: PurchaseTerms, change: str) -> tuple[str, str]:
    amount = f"{terms.amount_eur:.0f}"
    months = terms.term_months
    if change == "term":
        return (
            f"Taotlus oleks heaks kiidetud {months}-kuulise perioodiga.",
            f"The application would have been approved with a term of {months} months.",
        )
    if change == "amount":
        return (
            f"Taotlus oleks heaks kiidetud summaga kuni {amount} eurot.",
            f"The application would have been approved for an amount up to {amount} EUR.",
        )
    return (
        f"Taotlus oleks heaks kiidetud summaga kuni {amount} eurot ja {months}-kuulise perioodiga.",
        f"The application would have been approved for up to {amount} EUR over {months} months.",
    )
