"""Signing in to the mounted reviewer UI and reading a page's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str) -> str:
    """Sign in and return the CSRF token of the new session."""
    form = client.get("/review/login")
    signed = client.post(
        "/review/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
    )
    assert signed.status_code == 303, signed.text
    return csrf_of(client.get("/review/queue").text)
