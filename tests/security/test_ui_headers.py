"""The reviewer UI's answers carry a content policy, refuse framing and sniffing, and are
never stored by a browser or proxy, except the stylesheet."""

from __future__ import annotations

import pytest
from web_session import sign_in

PASSWORD = "correct horse battery staple"


def _assert_hardened(response) -> None:  # type: ignore[no-untyped-def]
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "script-src" not in policy  # no script may run at all
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("path", ["/review/login", "/review/queue", "/review/oversight",
                                  "/review/cases/C-unknown", "/review/nowhere"])  # fmt: skip
def test_every_page_is_hardened_and_not_stored(api, accounts, path):  # type: ignore[no-untyped-def]
    sign_in(api, "rita", PASSWORD)
    page = api.get(path)
    _assert_hardened(page)
    assert page.headers["cache-control"] == "no-store"


def test_redirects_and_refusals_are_hardened_too(api):  # type: ignore[no-untyped-def]
    redirect = api.get("/review/queue")
    assert redirect.status_code == 303
    _assert_hardened(redirect)
    assert redirect.headers["cache-control"] == "no-store"


def test_the_stylesheet_may_be_cached(api):  # type: ignore[no-untyped-def]
    css = api.get("/review/static/review.css")
    assert css.status_code == 200
    _assert_hardened(css)
    assert css.headers.get("cache-control") != "no-store"
