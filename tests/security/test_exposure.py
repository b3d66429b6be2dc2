"""Trusted host names and the operations endpoints, as configured."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from hostile_app import build_app

TOKEN = "ops-token-0123456789abcdef"
OPERATIONS = ["/metrics", "/openapi.json", "/docs", "/redoc"]


@pytest.fixture
def guarded(runtime):  # type: ignore[no-untyped-def]
    runtime.settings = replace(
        runtime.settings, allowed_hosts=("decisions.example.ee", "*.review.example.ee"),
        operations_token=TOKEN,
    )  # fmt: skip
    with TestClient(build_app(runtime), base_url="http://decisions.example.ee",
                    raise_server_exceptions=False, follow_redirects=False) as client:  # fmt: skip
        yield client


def test_a_forged_host_is_refused_before_any_page_or_redirect(guarded):  # type: ignore[no-untyped-def]
    for path in ("/review/", "/review/login", "/healthz", "/v1/decisions/D-1"):
        forged = guarded.get(path, headers={"Host": "evil.example.com"})
        assert forged.status_code == 400, path
        assert forged.json()["error"]["code"] == "host_not_allowed"
        assert "evil" not in forged.text
    assert guarded.get("/review/", headers={"Host": "a.review.example.ee"}).status_code == 303
    entry = guarded.get("/review/")
    assert entry.headers["location"].startswith("http://decisions.example.ee/")


@pytest.mark.parametrize("path", OPERATIONS)
def test_operations_endpoints_need_the_token(guarded, path):  # type: ignore[no-untyped-def]
    assert guarded.get(path).status_code == 401
    assert guarded.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get("/healthz").status_code == 200  # probes stay open


def test_unset_both_stay_open_as_on_a_developers_machine(api):  # type: ignore[no-untyped-def]
    assert api.get("/metrics", headers={"Host": "anything.example"}).status_code == 200


def test_the_settings_are_read_and_checked():
    from scoring.config import load_settings

    settings = load_settings({"INSTALLMENT_ALLOWED_HOSTS": "Decisions.example.ee, *.ee",
                              "INSTALLMENT_OPERATIONS_TOKEN": TOKEN})  # fmt: skip
    assert settings.allowed_hosts == ("decisions.example.ee", "*.ee")
    assert settings.operations_token == TOKEN
    with pytest.raises(ValueError, match="at least 24"):
        load_settings({"INSTALLMENT_OPERATIONS_TOKEN": "short"})
