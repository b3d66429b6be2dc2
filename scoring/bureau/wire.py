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

A wire's ``timeout_s`` bounds the whole exchange, not each step: a bureau that trickles
its answer a byte at a time is cut off when the time is up. urllib3's timeouts restart
with every read, so :class:`PooledWire` reads through :class:`_DeadlineReader`, which
gives every receive on the socket only what is left of the exchange's time.
"""

from __future__ import annotations

import http.client
import io
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import (
    EmptyPoolError,
    HTTPError,
    NewConnectionError,
)
from urllib3.exceptions import TimeoutError as Urllib3Timeout

# The deadline (``time.monotonic()``) of the exchange the current thread is making.
_exchange = threading.local()

HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/json",
    "User-Agent": "installment-bureau-client",
}


class _DeadlineReader(io.RawIOBase):
    """A socket's bytes, each receive waiting no longer than what is left before a deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the exchange's time is up")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


class _DeadlineSocket:
    """What ``http.client.HTTPResponse`` needs of its socket: a reader bound to the deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self._sock, self._deadline))


class _DeadlineResponse(http.client.HTTPResponse):
    """An HTTP response whose status line, headers and body arrive by the exchange's deadline."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        deadline = getattr(_exchange, "deadline", None)
        if deadline is not None:
            sock = _DeadlineSocket(sock, deadline)
        super().__init__(sock, *args, **kwargs)


class _DeadlineHTTPConnection(HTTPConnection):
    response_class = _DeadlineResponse


class _DeadlineHTTPSConnection(HTTPSConnection):
    response_class = _DeadlineResponse


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
        self._pool.ConnectionCls = (
            _DeadlineHTTPSConnection if parts.scheme == "https" else _DeadlineHTTPConnection
        )

    def exchange(self, body: bytes, *, timeout_s: float) -> tuple[int, bytes]:
        """The status and body of the answer to ``body``, all within ``timeout_s``."""
        failure: OSError | None = None
        _exchange.deadline = time.monotonic() + timeout_s
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
        except TimeoutError:  # the deadline passed between two receives
            failure = TimeoutError("no answer from the bureau in time")
        finally:
            _exchange.deadline = None
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
