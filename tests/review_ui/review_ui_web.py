"""Small steps the UI tests share: signing in and reading a page's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    form = client.get("/review/login")
    return client.post(
        "/review/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
    )
