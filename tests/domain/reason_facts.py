"""A customer's reason facts for tests: a long, clean history unless told otherwise."""

from __future__ import annotations

from scoring.domain.reasons import ReasonFacts

CLEAN_CUSTOMER = dict(
    has_history=True,
    tenure_months=40,
    invoices_24m=24,
    invoices_due_12m=12,
    late_12m=0,
    late_24m=0,
    max_dpd_6m=0,
    max_dpd_12m=0,
    max_dpd_24m=0,
    current_dpd=0,
    overdue_balance_eur=0.0,
    reminders_12m=0,
    collections_24m=0,
    settled_due_12m=12,
    pay_margin_mean_12m=6.5,
    partial_paid_due_12m=0,
    avg_invoice_eur_12m=48.0,
    bureau_class="very_good",
    bureau_score=820.0,
    bureau_open_defaults=0,
    bureau_closed_defaults=0,
    amount_eur=1200.0,
    term_months=12,
    product_category="electronics",
    paid_on_time=30,
    early_days_mean=6.8,
)

NO_HISTORY = dict(
    CLEAN_CUSTOMER,
    has_history=False,
    tenure_months=0,
    invoices_24m=0,
    invoices_due_12m=0,
    settled_due_12m=0,
    pay_margin_mean_12m=None,
    avg_invoice_eur_12m=None,
    paid_on_time=0,
    early_days_mean=None,
)


def reason_facts(**overrides: object) -> ReasonFacts:
    return ReasonFacts(**{**CLEAN_CUSTOMER, **overrides})  # type: ignore[arg-type]


def thin_file_facts(**overrides: object) -> ReasonFacts:
    return ReasonFacts(**{**NO_HISTORY, **overrides})  # type: ignore[arg-type]
