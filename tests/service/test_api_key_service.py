"""API keys are shown once, stored hashed, scoped, and stop working when expired or revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from scoring.service.api_keys import authenticate, create_api_key, revoke_api_key
from scoring.service.errors import ApiKeyError, AuthenticationFailed, ScopeMissing
from scoring.storage.tables import ApiKey

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def auth(uow_factory, key, *, at=NOW):
    with uow_factory() as uow:
        return authenticate(session=uow.session, presented=key, clock=lambda: at)


def test_a_key_authenticates_its_client_with_its_scopes_and_is_stored_only_hashed(uow_factory):
    issued = create_api_key(uow=uow_factory(), client="sales", scopes=["decisions:write"])
    client = auth(uow_factory, issued.key)
    assert (client.client_id, client.scopes) == ("sales", frozenset({"decisions:write"}))
    client.require("decisions:write")
    with pytest.raises(ScopeMissing, match="lacks the scope decisions:read"):
        client.require("decisions:read")
    with uow_factory() as uow:
        row = uow.session.scalar(select(ApiKey))
    assert row.key_prefix == issued.prefix and issued.key not in row.key_hash


@pytest.mark.parametrize("presented", [None, "", "not-a-key", "ik_000000000000_" + "A" * 43])
def test_missing_malformed_or_unknown_keys_are_refused(uow_factory, presented):
    create_api_key(uow=uow_factory(), client="sales", scopes=["decisions:write"])
    with pytest.raises(AuthenticationFailed):
        auth(uow_factory, presented)


def test_a_key_with_a_known_prefix_but_a_wrong_secret_is_refused(uow_factory):
    issued = create_api_key(uow=uow_factory(), client="sales", scopes=["decisions:write"])
    forged = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    with pytest.raises(AuthenticationFailed, match="not valid"):
        auth(uow_factory, forged)


def test_a_revoked_key_stops_working(uow_factory):
    issued = create_api_key(uow=uow_factory(), client="sales", scopes=["decisions:write"])
    assert revoke_api_key(uow=uow_factory(), prefix=issued.prefix) == "sales"
    with pytest.raises(AuthenticationFailed, match="revoked"):
        auth(uow_factory, issued.key)
    with pytest.raises(ApiKeyError, match="no API key has the prefix"):
        revoke_api_key(uow=uow_factory(), prefix="ffffffffffff")


def test_an_expired_key_stops_working(uow_factory):
    issued = create_api_key(uow=uow_factory(), client="sales", scopes=["decisions:read"],
                            expires_at=NOW + timedelta(days=1), clock=lambda: NOW)  # fmt: skip
    assert auth(uow_factory, issued.key, at=NOW).client_id == "sales"
    with pytest.raises(AuthenticationFailed, match="expired"):
        auth(uow_factory, issued.key, at=NOW + timedelta(days=1))


@pytest.mark.parametrize(
    ("client", "scopes", "message"),
    [
        ("Sales System", ["decisions:write"], "lower-case"),
        ("sales", [], "at least one scope"),
        ("sales", ["everything"], "everything are not of the form"),
    ],
)
def test_bad_key_requests_are_refused_naming_the_problem(uow_factory, client, scopes, message):
    with pytest.raises(ApiKeyError, match=message):
        create_api_key(uow=uow_factory(), client=client, scopes=scopes)
