"""Instalment applications, their true probability of default and the 12-month outcome."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from models.world.calendar import Clock
from models.world.life import Lives
from models.world.parameters import DefaultParameters, PopulationParameters
from models.world.people import People
from models.world.tables import identifiers, timestamp_array

CATEGORIES = ("heat_pump", "solar_panels", "electronics", "phone", "smart_home", "home_appliance")
CHANNELS = ("web", "store", "phone")
_CHANNEL_SHARES = (0.55, 0.30, 0.15)

# Category mix by the person's segment (energy, telecom, smart_home).
_CATEGORY_BY_SEGMENT = np.array(
    [
        (0.25, 0.15, 0.15, 0.10, 0.10, 0.25),
        (0.03, 0.02, 0.30, 0.45, 0.05, 0.15),
        (0.08, 0.07, 0.15, 0.10, 0.45, 0.15),
    ]
)
# Median price, lowest and highest price in EUR, per category.
_PRICE = {
    "heat_pump": (6500.0, 2500.0, 16000.0),
    "solar_panels": (8000.0, 3000.0, 20000.0),
    "electronics": (900.0, 150.0, 4000.0),
    "phone": (700.0, 150.0, 1800.0),
    "smart_home": (600.0, 100.0, 3000.0),
    "home_appliance": (800.0, 150.0, 3500.0),
}
_TERMS = {
    "heat_pump": ((24, 36, 48, 60), (0.15, 0.30, 0.25, 0.30)),
    "solar_panels": ((24, 36, 48, 60), (0.15, 0.30, 0.25, 0.30)),
    "electronics": ((3, 6, 12, 24, 36), (0.10, 0.15, 0.30, 0.30, 0.15)),
    "phone": ((12, 24, 36), (0.20, 0.60, 0.20)),
    "smart_home": ((3, 6, 12, 24, 36), (0.15, 0.20, 0.35, 0.20, 0.10)),
    "home_appliance": ((6, 12, 24, 36), (0.15, 0.35, 0.35, 0.15)),
}
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class Applications:
    """One entry per application, in chronological order."""

    person: np.ndarray
    day: np.ndarray
    applied_at: np.ndarray  # microseconds since the epoch, UTC
    month: np.ndarray  # index into the 48 billing months
    amount_eur: np.ndarray
    term_months: np.ndarray
    category: np.ndarray
    channel: np.ndarray

    @property
    def count(self) -> int:
        return len(self.person)

    def monthly_instalment(self, annual_interest: float) -> np.ndarray:
        """Annuity payment of the plan in EUR a month."""
        rate = annual_interest / 12.0
        return self.amount_eur * rate / (1.0 - (1.0 + rate) ** (-self.term_months))


@dataclass(frozen=True)
class Outcomes:
    true_pd: np.ndarray
    latent_creditworthiness: np.ndarray
    defaulted: np.ndarray
    default_month: np.ndarray  # billing month the plan default starts (-1 = none)


def draw_applications(
    *,
    people: People,
    lives: Lives,
    clock: Clock,
    rng: np.random.Generator,
    params: PopulationParameters,
) -> Applications:
    """Every person's first application, plus a second one for a few, with products and terms."""
    window_start, window_end = clock.application_window
    second = np.flatnonzero(rng.random(people.count) < params.second_application_share)
    offset = rng.integers(45, 181, size=len(second))
    first_day = people.first_application_day[second]
    later = first_day + offset
    second_day = np.where(later < window_end, later, first_day - offset)
    second_day = np.maximum(second_day, window_start)

    person = np.concatenate([np.arange(people.count), second])
    day = np.concatenate([people.first_application_day, second_day])
    seconds = rng.integers(5 * 3600, 21 * 3600, size=len(person))
    applied_at = day * _MICROS_PER_DAY + seconds * 1_000_000
    order = np.argsort(applied_at, kind="stable")
    person, day, applied_at = person[order], day[order], applied_at[order]
    count = len(person)

    cumulative = np.cumsum(_CATEGORY_BY_SEGMENT[people.segment[person]], axis=1)
    category = (rng.random(count)[:, None] > cumulative[:, :-1]).sum(axis=1)
    amount = np.empty(count)
    term = np.empty(count, dtype=np.int64)
    scale = (lives.monthly_capacity[person] / 1250.0) ** 0.3
    noise = rng.standard_normal(count)
    term_draw = rng.random(count)
    for index, name in enumerate(CATEGORIES):
        chosen = category == index
        median, low, high = _PRICE[name]
        price = median * scale[chosen] * np.exp(0.45 * noise[chosen])
        amount[chosen] = np.round(np.clip(price, low, high))
        terms, shares = _TERMS[name]
        picks = np.searchsorted(np.cumsum(shares), term_draw[chosen], side="right")
        term[chosen] = np.asarray(terms)[np.minimum(picks, len(terms) - 1)]
    channel = rng.choice(len(CHANNELS), size=count, p=np.asarray(_CHANNEL_SHARES))
    return Applications(
        person=person,
        day=day,
        applied_at=applied_at,
        month=clock.month_index(day),
        amount_eur=amount,
        term_months=term,
        category=category,
        channel=channel,
    )


def draw_outcomes(
    *,
    applications: Applications,
    lives: Lives,
    has_open_bureau_default: np.ndarray,
    rng: np.random.Generator,
    params: DefaultParameters,
    recent_months: int,
) -> Outcomes:
    """True PD from the explicit model, then ``defaulted_12m ~ Bernoulli(true_pd)``."""
    person, month = applications.person, applications.month
    creditworthiness = lives.creditworthiness[person, month].astype(np.float64)
    recent_job_loss = lives.recent_job_loss(person, month, recent_months)
    burden = (
        applications.monthly_instalment(params.annual_interest) / lives.monthly_capacity[person]
    )
    channel_effect = np.array([dict(params.channel_effect)[name] for name in CHANNELS])
    log_odds = (
        params.intercept
        + params.creditworthiness * creditworthiness
        + params.recent_job_loss * recent_job_loss
        + params.open_bureau_default * has_open_bureau_default
        + params.burden * np.log(burden / 0.05)
        + params.term_per_year * (applications.term_months - 24) / 12.0
        + channel_effect[applications.channel]
        + params.unobserved_sd * rng.standard_normal(applications.count)
    )
    true_pd = 1.0 / (1.0 + np.exp(-log_odds))
    defaulted = rng.random(applications.count) < true_pd
    # 90 days past due within 12 months means the first missed payment is by month nine.
    onset = month + rng.integers(1, 10, size=applications.count)
    return Outcomes(
        true_pd=true_pd,
        latent_creditworthiness=creditworthiness,
        defaulted=defaulted,
        default_month=np.where(defaulted, onset, -1),
    )


def application_ids(applications: Applications) -> pa.Array:
    return identifiers("APP-", start=1, count=applications.count, width=8)


def applications_table(
    *,
    applications: Applications,
    people: People,
    outcomes: Outcomes,
    report_ids: pa.Array,
) -> pa.Table:
    """``applications.parquet``."""
    return pa.table(
        {
            "application_id": application_ids(applications),
            "personal_code": people.personal_code.take(pa.array(applications.person)),
            "applied_at": timestamp_array(applications.applied_at),
            "amount_eur": applications.amount_eur,
            "term_months": applications.term_months,
            "product_category": pa.array(np.asarray(CATEGORIES)[applications.category]),
            "channel": pa.array(np.asarray(CHANNELS)[applications.channel]),
            "bureau_report_id": report_ids,
            "defaulted_12m": outcomes.defaulted,
        }
    )


def truth_table(*, applications: Applications, outcomes: Outcomes) -> pa.Table:
    """``truth/applications_truth.parquet``."""
    return pa.table(
        {
            "application_id": application_ids(applications),
            "true_pd": outcomes.true_pd,
            "latent_creditworthiness": outcomes.latent_creditworthiness,
        }
    )


def first_default_month(
    *, applications: Applications, outcomes: Outcomes, people: int
) -> np.ndarray:
    """Per person, the billing month their earliest plan default starts (a large number if none)."""
    onset = np.full(people, np.iinfo(np.int64).max)
    defaulted = outcomes.default_month >= 0
    np.minimum.at(onset, applications.person[defaulted], outcomes.default_month[defaulted])
    return onset
