"""Refused sign-ins counted per client address, so that guessing from one place is slowed.

An account locks after five wrong passwords (``review_ui.accounts``), but guesses spread
over many usernames, or at names that do not exist, lock nothing. Each refused sign-in
costs a password hash (a tenth of a second of CPU by design) and an audit log entry. After
``limit`` refusals within ``window`` from one address, further sign-ins from there are
answered 429 at once, without a hash and without an entry each, until the oldest refusal
leaves the window; reaching the limit is itself recorded once.

The count lives in the process's memory and is never written anywhere: an address is
kept only while it has refusals inside the window, and at most ``max_addresses`` are
kept (the least recently refused go first). Behind a proxy the address is the one uvicorn
reads from the proxy's ``X-Forwarded-For``, for proxies it trusts.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from datetime import datetime, timedelta

SIGN_IN_LIMIT = 10
SIGN_IN_WINDOW = timedelta(minutes=10)
MAX_ADDRESSES = 10_000


class SignInThrottle:
    """How many sign-ins each address had refused lately, and whether it must wait."""

    def __init__(
        self,
        *,
        limit: int = SIGN_IN_LIMIT,
        window: timedelta = SIGN_IN_WINDOW,
        max_addresses: int = MAX_ADDRESSES,
    ) -> None:
        if limit < 1 or window <= timedelta(0) or max_addresses < 1:
            raise ValueError("a sign-in throttle needs a positive limit, window and size")
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._refusals: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str, now: datetime) -> timedelta | None:
        """How long ``address`` must wait before its next sign-in, or None when it need not."""
        with self._lock:
            times = self._recent(address, now)
            if times is None or len(times) < self.limit:
                return None
            return times[0] + self.window - now

    def refused(self, address: str, now: datetime) -> bool:
        """Count a refused sign-in; True when this one brought the address to the limit."""
        with self._lock:
            times = self._recent(address, now)
            if times is None:
                times = self._refusals[address] = deque()
            times.append(now)
            self._refusals.move_to_end(address)
            while len(self._refusals) > self.max_addresses:
                self._refusals.popitem(last=False)
            return len(times) == self.limit

    def _recent(self, address: str, now: datetime) -> deque[datetime] | None:
        times = self._refusals.get(address)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._refusals[address]
            return None
        return times
