"""People: birth dates, valid personal codes, tenure at the company and protected attributes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from models.world.calendar import Clock
from models.world.parameters import PopulationParameters
from models.world.tables import NULL_DAY, date_array

REGIONS: tuple[tuple[str, float], ...] = (
    ("Harjumaa", 0.45),
    ("Tartumaa", 0.12),
    ("Ida-Virumaa", 0.10),
    ("Pärnumaa", 0.065),
    ("Lääne-Virumaa", 0.045),
    ("Viljandimaa", 0.035),
    ("Raplamaa", 0.028),
    ("Võrumaa", 0.026),
    ("Saaremaa", 0.025),
    ("Jõgevamaa", 0.022),
    ("Järvamaa", 0.022),
    ("Valgamaa", 0.021),
    ("Põlvamaa", 0.018),
    ("Läänemaa", 0.016),
    ("Hiiumaa", 0.007),
)
LANGUAGES = ("et", "ru", "en")
# Home language by region: Ida-Virumaa is mostly Russian-speaking, Harjumaa mixed.
_LANGUAGE_BY_REGION = {
    "Ida-Virumaa": (0.23, 0.75, 0.02),
    "Harjumaa": (0.60, 0.34, 0.06),
}
_LANGUAGE_ELSEWHERE = (0.92, 0.06, 0.02)

_WEIGHTS_1 = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 1])
_WEIGHTS_2 = np.array([3, 4, 5, 6, 7, 8, 9, 1, 2, 3])
_DAYS_PER_YEAR = 365.2425


@dataclass(frozen=True)
class People:
    """One entry per person; day columns are days since 1970-01-01 (``NULL_DAY`` = null)."""

    personal_code: pa.Array
    birth_day: np.ndarray
    female: np.ndarray
    region: np.ndarray  # index into REGIONS
    language: np.ndarray  # index into LANGUAGES
    segment: np.ndarray  # index into PopulationParameters.segment_shares
    first_application_day: np.ndarray
    customer_since: np.ndarray
    relationship_ended_on: np.ndarray

    @property
    def count(self) -> int:
        return len(self.birth_day)


def draw_people(
    *, count: int, clock: Clock, rng: np.random.Generator, params: PopulationParameters
) -> People:
    """Draw ``count`` people who each apply once in the application window."""
    window_start, window_end = clock.application_window
    first_application = rng.integers(window_start, window_end, size=count)

    minor = rng.random(count) < params.minor_share
    adult_age = 18.02 + 67.0 * rng.beta(1.8, 2.6, size=count)
    minor_age = rng.uniform(16.01, 17.98, size=count)
    age = np.where(minor, minor_age, adult_age)
    birth_day = first_application - np.floor(age * _DAYS_PER_YEAR).astype(np.int64)
    female = rng.random(count) < 0.5

    region = rng.choice(len(REGIONS), size=count, p=_normalised([w for _, w in REGIONS]))
    language = _draw_language(region, rng)
    shares = params.segment_shares
    segment = rng.choice(len(shares), size=count, p=_normalised([w for _, w in shares]))

    customer_since = _draw_customer_since(
        birth_day=birth_day,
        first_application=first_application,
        minor=minor,
        rng=rng,
        params=params,
    )
    ended = _draw_relationship_end(
        customer_since=customer_since, clock=clock, rng=rng, params=params
    )
    codes = personal_codes(birth_day=birth_day, female=female, rng=rng)
    return People(
        personal_code=codes,
        birth_day=birth_day,
        female=female,
        region=region,
        language=language,
        segment=segment,
        first_application_day=first_application,
        customer_since=customer_since,
        relationship_ended_on=ended,
    )


def personal_codes(
    *, birth_day: np.ndarray, female: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """Valid, unique isikukood for each person (vectorised ``personal_code.build``)."""
    born = birth_day.astype("datetime64[D]")
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (born - born.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    first = 1 + 2 * (year // 100 - 18) + female.astype(np.int64)
    serial = _unique_serials(birth_day * 2 + female, rng)

    head = np.empty((len(birth_day), 10), dtype=np.int64)
    head[:, 0] = first
    for column, (value, width) in enumerate(((year % 100, 2), (month, 2), (day, 2), (serial, 3))):
        start = 1 + 2 * column
        for position in range(width):
            head[:, start + position] = value // 10 ** (width - 1 - position) % 10
    check = checksums(head)
    number = head @ (10 ** np.arange(10, 0, -1, dtype=np.int64)) + check
    return pa.array(number, type=pa.int64()).cast(pa.string())


def checksums(head: np.ndarray) -> np.ndarray:
    """Check digits for rows of ten digits (vectorised ``personal_code.checksum``)."""
    first = head @ _WEIGHTS_1 % 11
    second = head @ _WEIGHTS_2 % 11
    return np.where(first < 10, first, np.where(second < 10, second, 0))


def protected_table(people: People) -> pa.Table:
    """``protected/attributes.parquet``: the only place sex, language and region appear."""
    return pa.table(
        {
            "personal_code": people.personal_code,
            "sex": pa.array(np.where(people.female, "F", "M")),
            "language": pa.array(np.asarray(LANGUAGES)[people.language]),
            "region": pa.array(np.asarray([name for name, _ in REGIONS])[people.region]),
        }
    )


def customers_table(people: People, params: PopulationParameters) -> pa.Table:
    """``customers.parquet``."""
    segments = np.asarray([name for name, _ in params.segment_shares])
    return pa.table(
        {
            "personal_code": people.personal_code,
            "birth_date": date_array(people.birth_day),
            "customer_since": date_array(people.customer_since),
            "relationship_ended_on": date_array(people.relationship_ended_on),
            "segment": pa.array(segments[people.segment]),
        }
    )


def _unique_serials(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Serials 0-999 unique within each (birth date, sex) group, scattered over the range."""
    order = np.lexsort((rng.random(len(group)), group))
    sorted_group = group[order]
    starts = np.r_[0, np.flatnonzero(sorted_group[1:] != sorted_group[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(group)])
    if sizes.size and sizes.max() > 1000:
        raise RuntimeError("more than 1000 people share a birth date and sex; serials run out")
    rank = np.arange(len(group)) - np.repeat(starts, sizes)
    offset = np.repeat(rng.integers(0, 1000, size=len(starts)), sizes)
    # 337 is coprime with 1000, so rank -> serial is a bijection within a group.
    serial = np.empty(len(group), dtype=np.int64)
    serial[order] = (offset + rank * 337) % 1000
    return serial


def _draw_language(region: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    table = np.array([_LANGUAGE_BY_REGION.get(name, _LANGUAGE_ELSEWHERE) for name, _ in REGIONS])
    cumulative = np.cumsum(table[region], axis=1)
    return (rng.random(len(region))[:, None] > cumulative[:, :-1]).sum(axis=1)


def _draw_customer_since(
    *,
    birth_day: np.ndarray,
    first_application: np.ndarray,
    minor: np.ndarray,
    rng: np.random.Generator,
    params: PopulationParameters,
) -> np.ndarray:
    count = len(birth_day)
    never = (rng.random(count) < params.never_customer_share) | minor
    short = rng.random(count) < params.short_tenure_share
    tenure = np.where(
        short,
        rng.integers(30, 365, size=count),
        rng.integers(365, 14 * 365, size=count),
    )
    adult_on = birth_day + np.ceil(18 * _DAYS_PER_YEAR).astype(np.int64)
    since = np.maximum(first_application - tenure, adult_on)
    return np.where(never, NULL_DAY, since)


def _draw_relationship_end(
    *,
    customer_since: np.ndarray,
    clock: Clock,
    rng: np.random.Generator,
    params: PopulationParameters,
) -> np.ndarray:
    count = len(customer_since)
    customer = customer_since != NULL_DAY
    earliest = np.maximum(customer_since, clock.month_starts[0]) + 60
    ends = (
        customer & (rng.random(count) < params.ended_relationship_share) & (earliest < clock.today)
    )
    span = np.maximum(clock.today - earliest, 1)
    ended = earliest + np.floor(rng.random(count) * span).astype(np.int64)
    return np.where(ends, ended, NULL_DAY)


def _normalised(weights: list[float]) -> np.ndarray:
    array = np.asarray(weights, dtype=float)
    return array / array.sum()
