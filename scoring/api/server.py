"""Running the API with uvicorn: one worker per process, several processes on one port.

Replicas of the API on one machine each run ``installment serve --reuse-port`` on the same
port: every process binds its own listening socket with ``SO_REUSEPORT`` and the kernel
spreads new connections over them. This replaces ``uvicorn --workers``, whose workers share
one inherited socket that uvicorn treats as a Unix socket, so ``TCP_NODELAY`` is never set
on its connections and every keep-alive answer waits out the peer's delayed ACK (about
40 ms here). The processes share nothing but the database.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from scoring.domain.errors import UnavailableError

# uvicorn's own logger, so the line reads like its other start-up lines.
logger = logging.getLogger("uvicorn.error")


class ServerSocketError(UnavailableError, RuntimeError):
    """The listening socket could not be opened."""


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A bound TCP socket for ``host:port``; with ``reuse_port`` others may bind it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            if not hasattr(socket, "SO_REUSEPORT"):  # pragma: no cover - Linux has it
                raise ServerSocketError("this system cannot share a port between processes")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ServerSocketError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.set_inheritable(False)
    return sock


def uvicorn_config(app: Any, *, host: str, port: int, trusted_proxies: tuple[str, ...] = ()) -> Any:
    """uvicorn's configuration of one worker (uvloop, httptools), no access log.

    The client address (which the sign-in throttle counts) is the peer's own, unless the
    peer is one of ``trusted_proxies`` (addresses or networks): only then is its
    ``X-Forwarded-For`` believed. uvicorn's default believes any peer on 127.0.0.1, so
    anything running on the machine could claim to be any address.
    """
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=False,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies) or None,
    )


def run(
    app: Any,
    *,
    host: str,
    port: int,
    reuse_port: bool = False,
    trusted_proxies: tuple[str, ...] = (),
) -> None:
    """Serve ``app`` until interrupted (:func:`uvicorn_config`)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if sockets and self.started:
                # uvicorn names the address only for sockets it opened itself.
                logger.info(
                    "Uvicorn running on http://%s:%d, port shared (process %d)",
                    host, port, os.getpid(),
                )  # fmt: skip

    config = uvicorn_config(app, host=host, port=port, trusted_proxies=trusted_proxies)
    server = Server(config)
    if not reuse_port:
        server.run()
        return
    sock = listening_socket(host, port, reuse_port=True)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
