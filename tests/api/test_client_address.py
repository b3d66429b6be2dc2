"""Whose address a request has: the peer's, unless the peer is a configured trusted proxy."""

from __future__ import annotations

import asyncio

import pytest

from scoring.api.server import uvicorn_config
from scoring.config import load_settings


def client_seen(trusted: tuple[str, ...], peer: str, forwarded: str) -> str:
    """The client address the application sees behind uvicorn's configured middleware."""
    seen: list[str] = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["client"][0])

    config = uvicorn_config(app, host="127.0.0.1", port=2101, trusted_proxies=trusted)
    config.load()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
        "headers": [(b"x-forwarded-for", forwarded.encode())], "client": (peer, 50000),
        "server": ("127.0.0.1", 2101),
    }  # fmt: skip

    async def receive():  # type: ignore[no-untyped-def]
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):  # type: ignore[no-untyped-def]
        return None

    asyncio.run(config.loaded_app(scope, receive, send))
    return seen[0]


def test_by_default_a_local_peer_cannot_claim_another_address():
    assert client_seen((), "127.0.0.1", "203.0.113.9") == "127.0.0.1"


def test_a_configured_proxy_names_the_client_and_no_other_peer_can():
    trusted = load_settings(
        {"INSTALLMENT_TRUSTED_PROXIES": "10.0.0.5, 10.1.0.0/16"}
    ).trusted_proxies
    assert trusted == ("10.0.0.5/32", "10.1.0.0/16")
    assert client_seen(trusted, "10.0.0.5", "203.0.113.9") == "203.0.113.9"
    assert client_seen(trusted, "10.1.2.3", "203.0.113.9") == "203.0.113.9"
    assert client_seen(trusted, "127.0.0.1", "203.0.113.9") == "127.0.0.1"
    assert client_seen(trusted, "10.0.0.6", "203.0.113.9") == "10.0.0.6"


def test_a_trusted_proxy_setting_that_is_no_address_is_refused_by_name():
    with pytest.raises(ValueError, match="INSTALLMENT_TRUSTED_PROXIES.*'proxy.local'"):
        load_settings({"INSTALLMENT_TRUSTED_PROXIES": "10.0.0.5,proxy.local"})
