"""Shared dependencies of the API routes: the runtime, sessions, the authenticated client.

Dependencies that do no blocking I/O are ``async def``: FastAPI runs a plain ``def``
dependency in its thread pool, one hand-off per dependency per request. Only those that
reach the database (sessions, authentication) stay plain functions.

Routes declare what they need with these aliases::

    def route(client: Annotated[AuthenticatedClient, Depends(require_scope("decisions:read"))],
              runtime: RuntimeDep) -> ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session

from scoring.config import Settings
from scoring.service.api_keys import AuthenticatedClient, authenticate
from scoring.service.errors import AuthenticationFailed
from scoring.service.runtime import Runtime
from scoring.storage.db import UnitOfWork


async def get_runtime(request: Request) -> Runtime:
    """The runtime the application was started with."""
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings_dep(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A session for the request, closed after it; commit explicitly to keep changes."""
    with runtime.sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_unit_of_work(runtime: RuntimeDep) -> UnitOfWork:
    """A unit of work for service functions (``with uow:`` commits or rolls back)."""
    return runtime.unit_of_work()


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise AuthenticationFailed("send the API key as 'Authorization: Bearer <key>'")
    return credentials.strip()


def authenticated_client(
    runtime: RuntimeDep,
    authorization: Annotated[
        str | None, Header(description="`Bearer <API key>`", include_in_schema=False)
    ] = None,
) -> AuthenticatedClient:
    """The client of the request's API key; 401 when it is missing or not valid."""
    presented = _bearer(authorization)
    with runtime.sessions() as session:
        return authenticate(session=session, presented=presented, clock=runtime.clock)


async def bearer_key(
    authorization: Annotated[
        str | None, Header(description="`Bearer <API key>`", include_in_schema=False)
    ] = None,
) -> str:
    """The presented API key, unchecked; 401 now, before the body is read, when none is sent.

    For routes whose use case checks the key itself in the thread that does its work
    (``scoring.service.decisions.decide_application``), saving the thread-pool hand-off of
    :func:`authenticated_client`.
    """
    presented = _bearer(authorization)
    if presented is None:
        raise AuthenticationFailed("send the API key as 'Authorization: Bearer <key>'")
    return presented


BearerKeyDep = Annotated[str, Depends(bearer_key)]


ApiClientDep = Annotated[AuthenticatedClient, Depends(authenticated_client)]


def require_scope(scope: str) -> Callable[[AuthenticatedClient], AuthenticatedClient]:
    """A dependency: the authenticated client, provided its key holds ``scope`` (else 403)."""

    async def dependency(client: ApiClientDep) -> AuthenticatedClient:
        client.require(scope)
        return client

    dependency.__name__ = f"require_{scope.replace(':', '_')}"
    return dependency
