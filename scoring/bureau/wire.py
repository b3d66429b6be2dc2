"""How the bureau client's report queries travel: one ``exchange`` each, whatever the way.

A wire sends one report query and returns the status and body of the answer, nothing
else: deadlines, retries, the circuit breaker and the checks of the answer stay in
:class:`~scoring.bureau.client.BureauClient`. Every wire raises only ``TimeoutError`` (no
answer in time, or no free connection in time) and ``ConnectionError`` (anything else on
the way), neither chained to the library's exception, whose text could carry the request.
The in-process simulator's transport has the same ``exchange``.

Every decision asks the bureau once, so the client's own cost per query is paid on every
decision. Over the network the client uses :class:`PooledWire`, urllib3's connection pool
over the standard library's HTTP connection: about 145 µs of CPU per query on this
machine, where httpx spent about 330 µs (request and response models, headers, URL
handling, and h11's pure-Python HTTP parsing). :class:`HttpxWire` carries an injected
httpx transport (``httpx.MockTransport`` in tests).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
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


class HttpxWire:
    """The same exchange through an httpx transport given by the caller."""

    def __init__(
        self, base_url: str, path: str, transport: httpx.BaseTransport, *, max_connections: int
    ) -> None:
        self.path = path
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            headers=HEADERS,
        )

    def exchange(self, body: bytes, *, timeout_s: float) -> tuple[int, bytes]:
        """The status and body of the answer to ``body``, within ``timeout_s`` per step."""
        failure: OSError | None = None
        try:
            response = self._http.post(self.path, content=body, timeout=httpx.Timeout(timeout_s))
            return response.status_code, response.content
        except httpx.TimeoutException:
            failure = TimeoutError("no answer from the bureau in time")
        except httpx.TransportError as error:
            failure = ConnectionError(f"bureau connection failed ({type(error).__name__})")
        raise failure

    def close(self) -> None:
        self._http.close()
