"""Request counters and spent identity assertions, on SQLite and PostgreSQL, under threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from scoring.storage.db import session_factory
from scoring.storage.subject_proofs import count_request, spend_assertion

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def test_counts_add_up_under_concurrent_writers_and_restart_in_a_new_window(migrated_engine):
    sessions = session_factory(migrated_engine)

    def hit(_: int) -> int:
        with sessions() as session:
            return count_request(session, key="subjects:client:shop", window_started_at=NOW)

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = sorted(pool.map(hit, range(20)))
    with sessions() as session:
        later = count_request(session, key="subjects:client:shop",
                              window_started_at=NOW + timedelta(hours=1))  # fmt: skip
        other = count_request(session, key="subjects:client:other", window_started_at=NOW)

    assert counts == list(range(1, 21))  # none lost, none counted twice
    assert later == 1 and other == 1


def test_an_assertion_is_spent_once_even_when_raced(migrated_engine):
    sessions = session_factory(migrated_engine)

    def spend(_: int) -> bool:
        with sessions() as session:
            return spend_assertion(session, channel_id="shop-smartid", assertion_id="a-1",
                                   expires_at=NOW + timedelta(minutes=5), now=NOW)  # fmt: skip

    with ThreadPoolExecutor(max_workers=4) as pool:
        spent = list(pool.map(spend, range(8)))
    with sessions() as session:
        other_channel = spend_assertion(session, channel_id="selfservice", assertion_id="a-1",
                                        expires_at=NOW + timedelta(minutes=5), now=NOW)  # fmt: skip
    with sessions() as session:
        # Once expired it is pruned; an expired assertion is refused before it gets here.
        after_expiry = spend_assertion(session, channel_id="shop-smartid", assertion_id="a-1",
                                       expires_at=NOW + timedelta(hours=1),
                                       now=NOW + timedelta(minutes=10))  # fmt: skip

    assert spent.count(True) == 1 and spent.count(False) == 7
    assert other_channel is True and after_expiry is True


def test_the_sign_in_throttle_reads_its_window_and_forgets_only_ended_windows(migrated_engine):
    from scoring.storage.request_counters import counted, forget_before

    sessions = session_factory(migrated_engine)
    later = NOW + timedelta(minutes=10)
    with sessions() as session:
        for _ in range(3):
            count_request(session, key="sign-in:peer:a", window_started_at=NOW)
        count_request(session, key="sign-in:peer:b", window_started_at=later)
        count_request(session, key="subjects:client:shop", window_started_at=NOW)
        assert counted(session, key="sign-in:peer:a", window_started_at=NOW) == 3
        assert counted(session, key="sign-in:peer:a", window_started_at=later) == 0
        forget_before(session, prefix="sign-in:peer:", window_started_at=later)
        assert counted(session, key="sign-in:peer:a", window_started_at=NOW) == 0
        assert counted(session, key="sign-in:peer:b", window_started_at=later) == 1
        # Another throttle's counters are not the sign-in throttle's to remove.
        assert counted(session, key="subjects:client:shop", window_started_at=NOW) == 1
