"""Refused sign-ins from one address: after ten within ten minutes, that address waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from review_ui_web import sign_in
from sqlalchemy import select

from review_ui.accounts import AUDIT_ENTITY, SIGN_IN_FORM
from review_ui.throttle import SIGN_IN_LIMIT, SIGN_IN_WINDOW, SignInThrottle
from scoring.storage.db import UnitOfWork
from scoring.storage.tables import AuditLogEntry

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def test_an_address_waits_once_it_reaches_the_limit_until_its_oldest_refusal_ages_out():
    throttle = SignInThrottle(limit=3, window=timedelta(minutes=10))
    reached = [throttle.refused("10.0.0.1", T0 + n * timedelta(minutes=1)) for n in range(3)]
    assert reached == [False, False, True]
    assert throttle.wait("10.0.0.1", T0 + 3 * timedelta(minutes=1)) == timedelta(minutes=7)
    assert throttle.wait("10.0.0.2", T0) is None  # addresses are counted apart
    # The first refusal leaves the window: two are left, under the limit.
    assert throttle.wait("10.0.0.1", T0 + timedelta(minutes=10)) is None
    assert throttle.refused("10.0.0.1", T0 + timedelta(minutes=10)) is True


def test_only_addresses_with_refusals_in_the_window_are_kept_and_at_most_so_many():
    throttle = SignInThrottle(limit=2, window=timedelta(minutes=10), max_addresses=2)
    throttle.refused("a", T0)
    throttle.refused("a", T0 + SECOND)
    throttle.refused("b", T0 + 2 * SECOND)
    throttle.refused("c", T0 + 3 * SECOND)  # "a", refused longest ago, is forgotten
    assert throttle.wait("a", T0 + 4 * SECOND) is None
    assert throttle.wait("c", T0 + timedelta(minutes=11)) is None
    assert "c" not in throttle._refusals  # aged out entirely, not kept as an empty entry


@pytest.mark.parametrize(
    "options",
    [{"limit": 0}, {"window": timedelta(0)}, {"max_addresses": 0}],
)
def test_a_throttle_needs_positive_settings(options):
    with pytest.raises(ValueError, match="positive"):
        SignInThrottle(**options)


def _entries(engine) -> list[tuple[str, str]]:
    with UnitOfWork.for_engine(engine) as uow:
        rows = uow.session.scalars(
            select(AuditLogEntry)
            .where(AuditLogEntry.entity_type == AUDIT_ENTITY)
            .order_by(AuditLogEntry.seq)
        )
        return [(r.action, r.entity_id) for r in rows]


@pytest.fixture
def elsewhere(client):
    """The same UI process as ``client``, used from another address."""
    return TestClient(
        client.app, base_url="http://localhost", follow_redirects=False, client=("192.0.2.7", 4000)
    )


def test_guessing_from_one_address_is_paused_without_an_entry_per_guess(
    client, ui_engine, clock
):
    for n in range(SIGN_IN_LIMIT):
        assert sign_in(client, f"guess{n:02d}", "wrong wrong wrong").status_code == 401

    paused = sign_in(client, "rita")  # even the right password waits
    assert paused.status_code == 429
    assert int(paused.headers["Retry-After"]) == SIGN_IN_WINDOW.total_seconds()
    assert "Too many sign-ins from this address" in paused.text
    assert "review_session=" not in paused.headers.get("set-cookie", "")

    entries = _entries(ui_engine)
    assert entries.count(("sign_ins_throttled", SIGN_IN_FORM)) == 1
    assert sum(action == "sign_in_refused" for action, _ in entries) == SIGN_IN_LIMIT
    with UnitOfWork.for_engine(ui_engine) as uow:
        throttled = uow.session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "sign_ins_throttled")
        )
        assert throttled.details == {"refused": SIGN_IN_LIMIT, "within_minutes": 10}
        assert "testclient" not in str(throttled.details)  # no address is kept

    clock.advance(SIGN_IN_WINDOW)
    assert sign_in(client, "rita").status_code == 303


def test_other_addresses_are_not_held_up(client, elsewhere):
    for n in range(SIGN_IN_LIMIT):
        sign_in(client, f"guess{n:02d}", "wrong wrong wrong")
    assert sign_in(client, "rita").status_code == 429
    assert sign_in(elsewhere, "rita").status_code == 303
