"""The coefficients of the generative model, in one place so the documentation can quote them.

Latent creditworthiness ``c`` is on a standard-normal-like scale: higher is better. Every
logistic equation below is written as ``log-odds = intercept + sum(coefficient * driver)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PopulationParameters:
    """Who the people are."""

    never_customer_share: float = 0.12  # thin files: applicants with no history at the company
    short_tenure_share: float = 0.20  # customers who joined less than a year before applying
    minor_share: float = 0.003  # applicants aged 16-17, for the under-18 knock-out rule
    ended_relationship_share: float = 0.08
    second_application_share: float = 0.04
    segment_shares: tuple[tuple[str, float], ...] = (
        ("energy", 0.50),
        ("telecom", 0.35),
        ("smart_home", 0.15),
    )


@dataclass(frozen=True)
class LatentParameters:
    """How creditworthiness is spread and how it moves month to month."""

    person_sd: float = 0.95  # persistent part of c
    drift_sd: float = 0.30  # stationary sd of the AR(1) part of c
    drift_rho: float = 0.97  # month-to-month persistence of the AR(1) part
    age_effect: float = 0.25  # per 20 years above 40 (clipped to -1..+1.5 of that unit)
    language_effect: tuple[tuple[str, float], ...] = (("et", 0.0), ("ru", -0.15), ("en", 0.05))
    region_effect: tuple[tuple[str, float], ...] = (("Harjumaa", 0.10), ("Ida-Virumaa", -0.20))
    # Job loss: monthly hazard logit = intercept + slope * c; spells end with a fixed monthly rate.
    job_loss_intercept: float = -5.0
    job_loss_slope: float = -0.9
    job_loss_exit_rate: float = 0.17
    job_loss_recent_months: int = 6


@dataclass(frozen=True)
class PaymentParameters:
    """How the effective state turns into paid, late and unpaid invoices."""

    job_loss_penalty: float = 1.8  # effective state = c - penalty while out of work
    default_penalty: float = 1.6  # after a plan default starts, arrears everywhere
    heating_penalty: float = 0.35  # energy bills in the cold months strain the budget
    invoice_noise_sd: float = 0.25
    late_intercept: float = -1.9  # log-odds of paying after the due date
    late_slope: float = -1.8
    days_late_log_mean: float = 1.5  # mean days late = exp(a + b * effective state)
    days_late_slope: float = -1.0
    early_slope: float = 0.9  # on-time payers pay up to max_days_early days before the due date
    max_days_early: int = 12
    partial_intercept: float = -1.0  # log-odds that a late invoice is paid in parts
    partial_slope: float = -0.8
    reminder_days: tuple[int, ...] = (7, 21, 45)
    collection_days: int = 60


@dataclass(frozen=True)
class BureauParameters:
    """The bureau's own view: correlated with c, not equal to it."""

    signal_weight: float = 0.68  # weight of standardised c in the bureau's signal
    person_noise_sd: float = 0.70  # the bureau's persistent error about this person
    report_noise_sd: float = 0.22  # report-to-report wobble
    pd_intercept: float = -3.95
    pd_slope: float = -1.05
    open_default_weight: float = 0.9
    closed_default_weight: float = 0.35
    # Defaults with other creditors over seven years: Poisson rate log = a + b*c + d*o,
    # where o is the person's trouble with other creditors (independent of c).
    entry_log_intercept: float = -2.3
    entry_log_slope: float = -1.0
    entry_other_trouble: float = 0.7
    entry_mean_days_open: float = 250.0
    never_closed_intercept: float = -0.6
    never_closed_slope: float = -0.8


@dataclass(frozen=True)
class DefaultParameters:
    """The true 12-month probability of default of an instalment plan."""

    intercept: float = -3.9
    creditworthiness: float = -0.95  # per unit of c at the application date
    recent_job_loss: float = 0.7  # out of work now or in the last six months
    open_bureau_default: float = 0.7  # at least one open default with another creditor
    burden: float = 0.35  # per unit of log(monthly instalment / monthly capacity / 0.05)
    term_per_year: float = 0.10  # per year of term above two years
    channel_effect: tuple[tuple[str, float], ...] = (("web", 0.0), ("store", -0.1), ("phone", 0.2))
    unobserved_sd: float = 0.2  # shocks nobody can see; keep modest
    annual_interest: float = 0.12


@dataclass(frozen=True)
class GenerativeModel:
    population: PopulationParameters = PopulationParameters()
    latent: LatentParameters = LatentParameters()
    payments: PaymentParameters = PaymentParameters()
    bureau: BureauParameters = BureauParameters()
    default: DefaultParameters = DefaultParameters()


MODEL = GenerativeModel()
