"""The bureau client's network path: report queries over pooled HTTP/1.1 keep-alive connections.

Every decision asks the bureau once, so the client's own cost per query is paid on every
decision. httpx, which the client uses for injected transports, spent about 330 µs of CPU
per query on this machine (request and response models, headers, URL handling, and h11's
pure-Python HTTP parsing); urllib3's connection pool, over the standard library's HTTP
connection, spends about 145 µs for the same query (``BENCHMARKS.md``).

:class:`PooledWire` sends one report query and returns the status and body, nothing else:
deadlines, retries, the circuit breaker and the checks of the answer stay in
:class:`~scoring.bureau.client.BureauClient`. urllib3 retries nothing here. It raises only
``TimeoutError`` (no answer in time, or no free connection in time) and
``ConnectionError`` (anything else on the way), neither chained to urllib3's exception,
whose text could carry the request.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    EmptyPoolError,
    HTTPError,
    NewConnectionError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": "installment-bureau-client",
}


class PooledWire:
    """POSTs to ``base_url`` + ``path`` on up to ``max_connections`` kept-alive connections.

    Safe to share between threads; a caller waits at most its timeout for a connection.
    """

    def __init__(self, base_url: str, path: str, *, max_connections: int) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("bureau base_url must be an http:// or https:// address")
        self.path = parts.path.rstrip("/") + path
        self._pool = urllib3.connection_from_url(
            f"{parts.scheme}://{parts.netloc}",
            maxsize=max_connections,
            block=True,
            retries=False,
        )

    def exchange(self, body: bytes, *, timeout_s: float) -> tuple[int, bytes]:
        """The status and body of the answer to ``body``, within ``timeout_s`` per step."""
        failure: OSError | None = None
        try:
            response = self._pool.urlopen(
                "POST",
                self.path,
                body=body,
                headers=HEADERS,
                timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
                pool_timeout=timeout_s,
                retries=False,
                redirect=False,
            )
            return response.status, response.data
        except NewConnectionError:  # refused or unreachable, not slow
            failure = ConnectionError("no connection to the bureau")
        except (Urllib3Timeout, EmptyPoolError):
            failure = TimeoutError("no answer from the bureau in time")
        except HTTPError as error:
            failure = ConnectionError(f"bureau connection failed ({type(error).__name__})")
        raise failure

    def close(self) -> None:
        self._pool.close()
