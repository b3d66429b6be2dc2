"""Refused sign-ins counted per client address, shared by every process on the database.

An account locks after five wrong passwords (``review_ui.accounts``), but guesses spread
over many usernames, or at names that do not exist, lock nothing. Each refused sign-in
costs a password hash (a tenth of a second of CPU by design) and an audit log entry. After
``limit`` refusals from one address within a fixed ``window``, further sign-ins from there
are answered 429 at once, without a hash and without an entry each, until the window ends;
reaching the limit is itself recorded once.

The count is kept in the database's ``request_counters`` (the table the data-subject
requests' throttles use), so every API process and every replica on the database counts
the same refusals: N processes do not give N times the tries. The ``limits`` library was
the first choice, but its storages are memory, Redis, Memcached, MongoDB and etcd; the
product's default is one SQLite file with no Redis, and the database is the one store
every process already shares. The address is kept only as a hash, and only until its
window has ended (the next window's first refusal removes older counters).

The address is the connection's peer; behind a proxy it is the one uvicorn reads from
``X-Forwarded-For``, and only for proxies listed in ``INSTALLMENT_TRUSTED_PROXIES``
(``scoring.api.server.uvicorn_config``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from scoring.storage.db import UnitOfWork
from scoring.storage.request_counters import count_request, counted, forget_before

SIGN_IN_LIMIT = 10
SIGN_IN_WINDOW = timedelta(minutes=10)
KEY_PREFIX = "sign-in:peer:"


class SignInThrottle:
    """How many sign-ins each address had refused in this window, and whether it must wait."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        limit: int = SIGN_IN_LIMIT,
        window: timedelta = SIGN_IN_WINDOW,
    ) -> None:
        if limit < 1 or window <= timedelta(0):
            raise ValueError("a sign-in throttle needs a positive limit and window")
        self.unit_of_work = unit_of_work
        self.limit = limit
        self.window = window

    def wait(self, address: str, now: datetime) -> timedelta | None:
        """How long ``address`` must wait before its next sign-in, or None when it need not."""
        start = self._window_start(now)
        with self.unit_of_work() as uow:
            refusals = counted(uow.session, key=_key(address), window_started_at=start)
        if refusals < self.limit:
            return None
        return start + self.window - now

    def refused(self, address: str, now: datetime) -> bool:
        """Count a refused sign-in; True when this one brought the address to the limit."""
        start = self._window_start(now)
        with self.unit_of_work() as uow:
            refusals = count_request(uow.session, key=_key(address), window_started_at=start)
            if refusals == 1:
                forget_before(uow.session, prefix=KEY_PREFIX, window_started_at=start)
        return refusals == self.limit

    def _window_start(self, now: datetime) -> datetime:
        epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo or UTC)
        return now - (now - epoch) % self.window


def _key(address: str) -> str:
    return KEY_PREFIX + hashlib.sha256(address.encode()).hexdigest()[:40]
