"""The named retention rules of the contracts as dates: until when a record may be kept.

Pure functions of a record's dates. Every ``*_kept_until`` returns the last day the record
may still be held; the record is past its retention on any later day (``is_expired``).
The periods come from the source privacy notices (see ``RETENTION_RULES`` in the loader).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from scoring.domain.deadlines import add_months

QUOTE_MONTHS = 6  # price-quote data of people who never became customers
DECISION_LOG_MINIMUM_MONTHS = 6  # AI Act Art. 19, 26(6): logs kept at least six months
CONTRACT_AFTER_END_MONTHS = 36  # contract data: the contract's life plus 3 years
ACCOUNTING_YEARS = 7  # accounting data: 7 years from the end of the financial year
RELATIONSHIP_AFTER_END_MONTHS = 60  # subscription customers: 5 years after the relationship
CORRESPONDENCE_MONTHS = 36  # correspondence (a review case): 3 years


def is_expired(kept_until: date | None, *, as_of: date) -> bool:
    """Whether a record kept until ``kept_until`` (None: indefinitely) is past retention."""
    return kept_until is not None and as_of > kept_until


def quote_kept_until(decided_on: date) -> date:
    """No contract followed: six months after the decision (never less than the log minimum)."""
    return add_months(decided_on, max(QUOTE_MONTHS, DECISION_LOG_MINIMUM_MONTHS))


def contract_kept_until(applied_on: date, term_months: int) -> date:
    """A contract followed: its last instalment month plus three years."""
    return add_months(add_months(applied_on, term_months), CONTRACT_AFTER_END_MONTHS)


def accounting_kept_until(entry_dates: Iterable[date | None]) -> date:
    """Seven years from the end of the financial (calendar) year of the latest entry."""
    latest = max(day for day in entry_dates if day is not None)
    return date(latest.year + ACCOUNTING_YEARS, 12, 31)


def relationship_kept_until(ended_on: date) -> date:
    """Five years after the customer relationship ended."""
    return add_months(ended_on, RELATIONSHIP_AFTER_END_MONTHS)


def correspondence_kept_until(closed_on: date) -> date:
    """Three years after the correspondence of a case ended."""
    return add_months(closed_on, CORRESPONDENCE_MONTHS)


def application_kept_until(
    *,
    applied_on: date,
    term_months: int,
    contract_followed: bool,
    last_decided_on: date | None,
    cases_closed_on: Iterable[date | None] = (),
) -> date | None:
    """Until when an application, its decisions, review cases and bureau report are kept.

    ``cases_closed_on`` holds each review case's closing date, None for a case still open:
    an open case holds the application indefinitely.
    """
    if contract_followed:
        kept = contract_kept_until(applied_on, term_months)
    else:
        kept = quote_kept_until(last_decided_on or applied_on)
    for closed in cases_closed_on:
        if closed is None:
            return None
        kept = max(kept, correspondence_kept_until(closed))
    return kept
