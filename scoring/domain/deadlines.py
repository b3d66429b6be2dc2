"""Deadlines of data-subject and review requests (GDPR Art. 12(3)-(4)).

A period of months ends on the same day of the month as the day it started from; when
that month is shorter, on its last day (Regulation (EEC, Euratom) No 1182/71, Art. 3).
So a request received on 31 January is due on the last day of February. When the last
day is a Saturday, Sunday or an Estonian public holiday, the period runs to the end of
the next working day (Art. 3(4)).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

MAX_EXTENSION_MONTHS = 2


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the last day of that month when it is shorter."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def easter_sunday(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    weekday_offset = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * weekday_offset) // 451
    month = (h + weekday_offset - 7 * m + 114) // 31
    day = (h + weekday_offset - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def estonian_public_holidays(year: int) -> frozenset[date]:
    """Estonian public holidays (Public Holidays and Days of National Importance Act § 2)."""
    easter = easter_sunday(year)
    fixed = [(1, 1), (2, 24), (5, 1), (6, 23), (6, 24), (8, 20), (12, 24), (12, 25), (12, 26)]
    movable = [easter - timedelta(days=2), easter, easter + timedelta(days=49)]
    return frozenset([date(year, m, d) for m, d in fixed] + movable)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in estonian_public_holidays(day.year)


def next_working_day_on_or_after(day: date) -> date:
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def due_date(received_on: date, *, months: int = 1) -> date:
    """The last day to answer a request received on ``received_on``."""
    return next_working_day_on_or_after(add_months(received_on, months))


def latest_extended_due_date(received_on: date) -> date:
    """The furthest a deadline may be extended: two further months after the first."""
    return due_date(received_on, months=1 + MAX_EXTENSION_MONTHS)


def extension_notice_due(received_on: date) -> date:
    """The customer must be told of an extension and its reasons within the first month."""
    return due_date(received_on)
