"""What would have changed the outcome: the nearest change the customer can make that is approved.

Two kinds of change are searched, with the same model and policy as the decision:

- the purchase: the term (within the policy's terms) and the amount, from the request down
  to the product's sensible minimum the policy sets (never above the product limit);
- the customer's own actionable state: paying the balance overdue on our invoices, and
  having an open payment default at the bureau settled. Each lifts the knock-out rule it
  answers (internal arrears, an open bureau default) and is re-scored, since paying changes
  the payment-history features too.

Immutable or protected attributes (age, history already written) are never changed. A
decline by a rule no action can lift (age, a product without terms) has no counterfactual.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from scoring.domain.decision import ApplicationFacts, DecisionOutcome, Outcome
from scoring.domain.policy import Policy
from scoring.domain.reasons import ReasonFacts, money_text


class Action(StrEnum):
    """A change of the customer's own state that the search may assume."""

    PAY_OVERDUE_BALANCE = "pay_overdue_balance"
    SETTLE_BUREAU_DEFAULT = "settle_bureau_default"


# Knock-out rules and the action that lifts each.
LIFTED_BY = {
    "P02_INTERNAL_ARREARS": Action.PAY_OVERDUE_BALANCE,
    "P01_BUREAU_OPEN_DEFAULT": Action.SETTLE_BUREAU_DEFAULT,
}
# Rules that no action of the customer and no choice of terms can lift.
UNCHANGEABLE_RULES = frozenset({"P03_UNDER_MINIMUM_AGE", "P05_UNKNOWN_PRODUCT"})

# A scorer maps candidate (amount_eur, term_months) pairs, with the customer's state after
# the given actions, to probabilities of default, re-using the decision's features code,
# model and calibration.
Scorer = Callable[[Sequence[tuple[float, int]], frozenset[Action]], Sequence[float]]


@dataclass(frozen=True)
class PurchaseTerms:
    amount_eur: float
    term_months: int
    probability_of_default: float


@dataclass(frozen=True)
class Counterfactual:
    """The headline change plus the alternatives the customer could also choose."""

    change: str  # "term", "amount", "amount_and_term" or "none" (the purchase as requested)
    suggested: PurchaseTerms
    alternatives: tuple[PurchaseTerms, ...]
    text_et: str
    text_en: str
    actions: tuple[str, ...] = ()  # Action values the customer would take first


def amount_grid(
    requested: float, cap: float, floor: float = 0.0, *, points: int = 40
) -> list[float]:
    """Candidate amounts from the (capped) request down to ``floor``, in 10 EUR steps.

    Without a floor the grid reaches down to a tenth of the request. A request already below
    the floor is searched as it is (another term may still be approved) and never smaller.
    """
    # The request itself comes first, to the cent: a new term for exactly what was asked is
    # the smallest change, and "up to 3,460 EUR" for a request of 3,463 EUR is none.
    first = min(requested, cap)
    if first <= 0:
        return []
    if first < floor:
        return [first]
    top = math.floor(first / 10) * 10
    bottom = max(math.ceil(floor / 10) * 10, 10) if floor > 0 else top * 0.1
    amounts = {first}
    for k in range(1, points):
        amounts.add(math.floor(round(top - k * (top - bottom) / (points - 1), 6) / 10) * 10)
    return sorted((a for a in amounts if a > 0 and a >= floor), reverse=True)


def find_counterfactual(
    *,
    application: ApplicationFacts,
    outcome: DecisionOutcome,
    policy: Policy,
    score: Scorer,
    evidence: ReasonFacts | None = None,
) -> Counterfactual | None:
    """The smallest change the customer can make that the policy would approve.

    First the actions the knock-out rules require (and nothing else), then also paying an
    overdue balance when there is one; within each, a change of term, then of amount.
    """
    if outcome.outcome not in (Outcome.DECLINE, Outcome.REFER) or outcome.risk_grade is None:
        return None
    fired = {hit.code for hit in outcome.policy_rules}
    if fired & UNCHANGEABLE_RULES:
        return None
    limit = policy.product_limit(application.product_category)
    if limit is None:
        return None
    required = frozenset(LIFTED_BY[code] for code in fired if code in LIFTED_BY)
    options = [required]
    if evidence is not None and evidence.overdue_balance_eur > 0:
        options.append(required | {Action.PAY_OVERDUE_BALANCE})
    amounts = amount_grid(
        application.amount_eur, limit, policy.product_minimum(application.product_category)
    )
    terms = list(policy.allowed_terms_months)
    candidates = [(amount, term) for amount in amounts for term in terms]
    if not candidates:
        return None
    for actions in dict.fromkeys(options):
        found = _nearest_approved(application, policy, candidates, score(candidates, actions))
        if found is not None:
            change, headline, alternatives = found
            text_et, text_en = _texts(application, headline, change, actions, evidence)
            ordered = tuple(a.value for a in Action if a in actions)
            return Counterfactual(change, headline, alternatives, text_et, text_en, ordered)
    return None


def _nearest_approved(
    application: ApplicationFacts,
    policy: Policy,
    candidates: list[tuple[float, int]],
    pds: Sequence[float],
) -> tuple[str, PurchaseTerms, tuple[PurchaseTerms, ...]] | None:
    approved = [
        PurchaseTerms(amount, term, float(pd))
        for (amount, term), pd in zip(candidates, pds, strict=True)
        if pd < policy.approve_below
    ]
    if not approved:
        return None
    requested_amount = candidates[0][0]
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
    as_requested = requested_amount == application.amount_eur
    if by_term is not None and as_requested and by_term.term_months == application.term_months:
        headline, change = by_term, "none"
    elif by_term is not None and as_requested:
        headline, change = by_term, "term"
    elif by_amount is not None:
        headline, change = by_amount, "amount"
    else:
        headline, change = anywhere, "amount_and_term"
    alternatives = tuple(
        c for c in dict.fromkeys([by_term, by_amount, anywhere]) if c and c != headline
    )
    return change, headline, alternatives


def _texts(
    application: ApplicationFacts,
    terms: PurchaseTerms,
    change: str,
    actions: frozenset[Action],
    evidence: ReasonFacts | None,
) -> tuple[str, str]:
    first_et, first_en = _actions_texts(actions, evidence)
    amount_et, amount_en = money_text(terms.amount_eur, "et"), money_text(terms.amount_eur, "en")
    months = terms.term_months
    if change == "none":
        tail_et = "oleks taotlus heaks kiidetud nii, nagu see esitati."
        tail_en = "the application would have been approved as it was made."
    elif change == "term":
        tail_et = f"oleks taotlus heaks kiidetud {months}-kuulise perioodiga."
        tail_en = f"the application would have been approved with a term of {months} months."
    elif change == "amount":
        tail_et = f"oleks taotlus heaks kiidetud summaga kuni {amount_et}."
        tail_en = f"the application would have been approved for an amount up to {amount_en}."
    else:
        tail_et = (
            f"oleks taotlus heaks kiidetud summaga kuni {amount_et} ja {months}-kuulise perioodiga."
        )
        tail_en = (
            f"the application would have been approved for up to {amount_en} over {months} months."
        )
    if not first_et:
        # Without a condition first, Estonian puts the subject first: "Taotlus oleks ...".
        return "Taotlus oleks" + tail_et.removeprefix("oleks taotlus"), "T" + tail_en[1:]
    return f"{first_et}, {tail_et}", f"{first_en}, {tail_en}"


def _actions_texts(actions: frozenset[Action], evidence: ReasonFacts | None) -> tuple[str, str]:
    et, en = [], []
    if Action.PAY_OVERDUE_BALANCE in actions:
        owed = evidence.overdue_balance_eur if evidence is not None else 0.0
        if owed > 0:
            et.append(f"oleksite tasunud meie arvete tähtajaks tasumata {money_text(owed, 'et')}")
            en.append(f"you had paid the {money_text(owed, 'en')} overdue on invoices from us")
        else:
            et.append("oleksite tasunud meie tähtajaks tasumata arved")
            en.append("you had paid the overdue invoices from us")
    if Action.SETTLE_BUREAU_DEFAULT in actions:
        et.append("krediidibüroos registreeritud maksehäire oleks tasutud ja lõpetatuks märgitud")
        en.append(
            "the payment default registered with the credit bureau had been paid and marked "
            "as ended"
        )
    if not et:
        return "", ""
    return "Kui " + " ja ".join(et), "If " + " and ".join(en)


def why_no_counterfactual(
    *,
    outcome: str,
    rule_codes: Sequence[str],
    product_category: str,
    probability_of_default: float | None,
    policy: Policy,
    amount_eur: float | None = None,
) -> tuple[str, str] | None:
    """Why a decline has no counterfactual, in plain words (Estonian, English).

    None when the outcome needs none: an approval, or a refer or pending review, where
    nothing is decided yet and a person may still approve; or when the model never scored it.
    ``amount_eur`` is the amount applied for: when it is already at or below the product's
    smallest amount, only the term was searched and the text says so.
    """
    if outcome != Outcome.DECLINE or probability_of_default is None:
        return None
    codes = set(rule_codes)
    if "P03_UNDER_MINIMUM_AGE" in codes:
        age = policy.minimum_age_years
        return (
            f"Järelmaksu saavad taotleda vähemalt {age}-aastased; seda ei muuda ükski summa "
            "ega periood.",
            f"Instalment plans are for people aged {age} or over; no amount or term changes that.",
        )
    if "P05_UNKNOWN_PRODUCT" in codes:
        return (
            "Selle toote jaoks ei ole järelmaksu tingimusi, seega ei saa me pakkuda ka muid "
            "tingimusi.",
            "There are no instalment terms for this product, so we cannot offer other terms "
            "either.",
        )
    minimum = policy.product_minimum(product_category)
    terms = policy.allowed_terms_months
    span_et = f"{terms[0]} kuni {terms[-1]} kuud"
    span_en = f"{terms[0]} to {terms[-1]} months"
    # At or below the product's smallest amount only the term is searched: a smaller amount
    # is never suggested, so the text speaks of the term and says why not of the amount.
    term_only = minimum > 0 and amount_eur is not None and amount_eur <= minimum
    if term_only:
        smallest_et, smallest_en = money_text(minimum, "et"), money_text(minimum, "en")
        scope_et = f"taotletud summa ja iga perioodi ({span_et}) korral"
        scope_en = f"for the amount applied for over any term ({span_en})"
        # The minimum is of what we suggest, not of what may be applied for.
        smaller_et = (
            " Väiksemat summat me ei soovita: selle toote puhul soovitame järelmaksu alates "
            f"{smallest_et}."
        )
        smaller_en = (
            f" We do not suggest a smaller amount: for this product we suggest instalment plans "
            f"from {smallest_en}."
        )
    else:
        from_et = f" alates {money_text(minimum, 'et')}" if minimum > 0 else ""
        from_en = f" from {money_text(minimum, 'en')}" if minimum > 0 else ""
        scope_et = f"iga summa{from_et} kuni taotletud summani ja iga perioodi ({span_et}) korral"
        scope_en = f"for any amount{from_en} up to the amount applied for and any term ({span_en})"
        smaller_et = smaller_en = ""
    if "P02_INTERNAL_ARREARS" in codes:
        return (
            "Ka siis, kui oleksite tasunud tähtajaks tasumata arved, jääks hinnatud makseraskuste "
            f"tõenäosus liiga suureks {scope_et}, sest hilinemised jäävad ajalukku." + smaller_et,
            "Even if you paid the overdue invoices, the assessed probability of payment "
            f"difficulty would stay too high {scope_en}, because the delays stay on record."
            + smaller_en,
        )
    if "P01_BUREAU_OPEN_DEFAULT" in codes:
        return (
            "Ka siis, kui krediidibüroos registreeritud maksehäire oleks lõpetatud, jääks "
            f"hinnatud makseraskuste tõenäosus liiga suureks {scope_et}." + smaller_et,
            "Even if the payment default registered with the credit bureau were settled, the "
            f"assessed probability of payment difficulty would stay too high {scope_en}."
            + smaller_en,
        )
    return (
        f"Hinnatud makseraskuste tõenäosus oleks jäänud liiga suureks {scope_et}." + smaller_et,
        f"The assessed probability of payment difficulty would have stayed too high "
        f"{scope_en}." + smaller_en,
    )
