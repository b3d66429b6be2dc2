"""Letters about a review case: its outcome, and the notice that its deadline was extended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from scoring.domain.contact import ContactChannels
from scoring.letters import LANGUAGES, _environment

OUTCOMES = ("upheld", "overturned", "terms_changed", "approved", "declined")
# A contest reviews a decision; the other kinds of case decide an application nobody decided.
CONTEST_OUTCOMES = ("upheld", "overturned", "terms_changed")
FIRST_DECISION_OUTCOMES = ("approved", "declined", "terms_changed")


@dataclass(frozen=True)
class ReviewOutcomeLetter:
    """What the customer is told when a person has reviewed the decision."""

    review_id: str
    decision_id: str
    resulting_decision_id: str
    received_on: date
    resolved_on: date
    original_outcome: str
    outcome: str
    amount_eur: float
    term_months: int
    product_category: str
    new_amount_eur: float | None
    new_term_months: int | None
    # The reviewer's explanation written for the customer, per language; the internal
    # justification is never part of a letter.
    explanation_et: str | None
    explanation_en: str | None
    second_signature: bool
    contact: ContactChannels
    # contest, referral, human_review_requested or objection: what the customer asked for.
    kind: str = "contest"
    # Whether the customer gave a statement the reviewer read.
    statement_given: bool = True


@dataclass(frozen=True)
class ExtensionNotice:
    """The notice that a review takes longer, with the reason (GDPR Art. 12(3))."""

    review_id: str
    decision_id: str
    received_on: date
    original_due_on: date
    extended_due_on: date
    reason: str


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"letters exist in {', '.join(LANGUAGES)}, not {language!r}")


def render_review_outcome_letter(letter: ReviewOutcomeLetter, *, language: str) -> str:
    """The outcome letter of a review in one language (``et`` or ``en``)."""
    _check_language(language)
    allowed = CONTEST_OUTCOMES if letter.kind == "contest" else FIRST_DECISION_OUTCOMES
    if letter.outcome not in allowed:
        raise ValueError(
            f"a {letter.kind} review ends {', '.join(allowed)}, not {letter.outcome!r}"
        )
    if letter.outcome == "terms_changed" and (
        letter.new_amount_eur is None or letter.new_term_months is None
    ):
        raise ValueError("a terms_changed letter needs the new amount and term")
    template = _environment().get_template(f"review_outcome_{language}.txt.j2")
    explanation = letter.explanation_et if language == "et" else letter.explanation_en
    return template.render(letter=letter, explanation=explanation)


def render_extension_notice(notice: ExtensionNotice, *, language: str) -> str:
    """The notice of an extended review deadline in one language."""
    _check_language(language)
    if notice.extended_due_on <= notice.original_due_on:
        raise ValueError("an extension notice needs a deadline later than the original one")
    template = _environment().get_template(f"review_extension_{language}.txt.j2")
    return template.render(notice=notice)
