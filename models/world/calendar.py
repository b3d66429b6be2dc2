"""The world's clock: the 48 monthly billing periods before ``as_of`` and the application window."""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass
from datetime import date

import numpy as np

HISTORY_MONTHS = 48


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier, clipped to the month's length."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True)
class Clock:
    """Day numbers are days since 1970-01-01, the unit Arrow's date32 stores."""

    as_of: date

    @property
    def today(self) -> int:
        return _days(self.as_of)

    @property
    def month_starts(self) -> np.ndarray:
        """First day of each of the 48 full calendar months before ``as_of``'s month."""
        current = np.datetime64(self.as_of, "M")
        months = current - HISTORY_MONTHS + np.arange(HISTORY_MONTHS)
        return months.astype("datetime64[D]").astype(np.int64)

    @property
    def application_window(self) -> tuple[int, int]:
        """Half-open day range ``[as_of - 24 months, as_of - 12 months)``."""
        return _days(months_before(self.as_of, 24)), _days(months_before(self.as_of, 12))

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Index into ``month_starts`` of the month holding each day."""
        months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        first = np.datetime64(self.as_of, "M").astype(np.int64) - HISTORY_MONTHS
        return months - first

    def calendar_month(self) -> np.ndarray:
        """Calendar month (1-12) of each billing period."""
        return (
            self.month_starts.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
        ) + 1


def _days(day: date) -> int:
    return int(np.datetime64(day, "D").astype(np.int64))
