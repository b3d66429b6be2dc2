"""Review and data-subject deadlines: one calendar month, extendable by two, working-day end."""

from datetime import date

import pytest

from scoring.domain.deadlines import (
    add_months,
    due_date,
    easter_sunday,
    estonian_public_holidays,
    latest_extended_due_date,
)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
    ],
)
def test_a_month_ends_on_the_same_day_or_the_last_day_of_a_shorter_month(start, months, end):
    assert add_months(start, months) == end


def test_a_request_received_on_31_january_is_due_at_the_end_of_february():
    # 28 February 2025 is a Friday, a working day.
    assert due_date(date(2025, 1, 31)) == date(2025, 2, 28)


def test_a_deadline_on_a_weekend_moves_to_the_next_working_day():
    # 28 February 2026 is a Saturday.
    assert due_date(date(2026, 1, 31)) == date(2026, 3, 2)


def test_a_deadline_on_a_public_holiday_moves_past_it():
    # 24 February (Independence Day) 2027 is a Wednesday.
    assert due_date(date(2027, 1, 24)) == date(2027, 2, 25)


def test_a_deadline_runs_past_the_christmas_holidays():
    # 24-26 December 2026 are Thursday to Saturday, 27 December a Sunday.
    assert due_date(date(2026, 11, 24)) == date(2026, 12, 28)


def test_the_extension_allows_two_further_months_at_most():
    assert latest_extended_due_date(date(2025, 1, 31)) == date(2025, 4, 30)


@pytest.mark.parametrize(
    ("year", "easter"),
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5))],
)
def test_easter_and_the_holidays_that_follow_it(year, easter):
    holidays = estonian_public_holidays(year)
    assert easter_sunday(year) == easter
    assert easter in holidays
    assert date.fromordinal(easter.toordinal() - 2) in holidays  # Good Friday
    assert date.fromordinal(easter.toordinal() + 49) in holidays  # Pentecost
