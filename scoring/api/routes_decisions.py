"""`POST /v1/decisions` and `GET /v1/decisions/{decision_id}`: parse, call the service, render."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from data_contracts.requests import DecisionRequest
from scoring.api.deps import (
    BearerKeyDep,
    RuntimeDep,
    UnitOfWorkDep,
    bearer_key,
    get_runtime,
    get_unit_of_work,
    require_scope,
)
from scoring.api.direct_route import DirectRoute, json_body
from scoring.api.errors import error_responses
from scoring.api.schemas_decisions import DecisionPublic
from scoring.service.api_keys import DECISIONS_READ, AuthenticatedClient
from scoring.service.decisions import DecisionView, decide_application, get_decision
from scoring.service.errors import ServiceError
from scoring.storage.db import UnitOfWork

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])

ReaderDep = Annotated[AuthenticatedClient, Depends(require_scope(DECISIONS_READ))]


async def create_decision(
    body: DecisionRequest,
    presented: BearerKeyDep,
    runtime: RuntimeDep,
    uow: UnitOfWorkDep,
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Retrying with the same key and body returns the same decision.",
        ),
    ] = None,
) -> Response:
    """Decide, store and explain one application; answered only after it is stored."""
    metrics = request.app.state.metrics
    started = time.perf_counter()

    # The key is checked and the application read, decided and stored in one hand-off to a
    # decision thread, on one database connection.
    decide = partial(
        decide_application,
        uow=uow,
        api_key=presented,
        request=body,
        idempotency_key=idempotency_key,
        bureau=runtime.bureau,
        models=runtime.models,
        policy=runtime.policy_now(),
        pseudonym_key=runtime.pseudonym_key,
        clock=runtime.clock,
    )

    try:
        # Answered only once the decision is stored (the use case commits before it returns).
        view = await asyncio.wrap_future(_decision_pool(request).submit(decide))
    except ServiceError as error:
        metrics.errors.labels(code=error.code).inc()
        raise
    status = 201
    if view.idempotent_replay:
        metrics.replays.inc()
        status = 200
    else:
        metrics.decision_made(
            outcome=view.outcome,
            seconds=time.perf_counter() - started,
            challenger_disagrees=view.challenger_disagrees,
        )
    return _answer(view, status_code=status, location=True)


async def _presented_key(request: Request) -> str:
    return await bearer_key(request.headers.get("authorization"))


async def _unit_of_work(request: Request) -> UnitOfWork:
    return await get_unit_of_work(await get_runtime(request))


async def _request(request: Request) -> Request:
    return request


async def _idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")


class _DecisionRoute(DirectRoute):
    """``create_decision``'s parameters, each from the dependency it declares, found directly.

    The key is read first, so a request without one is refused before its body is read.
    """

    resolvers = {
        "presented": _presented_key,
        "body": json_body(DecisionRequest),
        "runtime": get_runtime,
        "uow": _unit_of_work,
        "request": _request,
        "idempotency_key": _idempotency_key,
    }


router.add_api_route(
    "",
    create_decision,
    methods=["POST"],
    route_class_override=_DecisionRoute,
    response_model=DecisionPublic,
    status_code=201,
    summary="Decide an instalment application",
    responses={
        200: {"model": DecisionPublic, "description": "The stored decision of a retried request"},
        **error_responses(400, 401, 403, 409, 413, 415, 422, 503),
    },
)


@router.get(
    "/{decision_id}",
    response_model=DecisionPublic,
    summary="A decision of this client",
    responses=error_responses(401, 403, 404, 503),
)
def read_decision(decision_id: str, client: ReaderDep, uow: UnitOfWorkDep) -> Response:
    """The stored decision; 404 when it is unknown or belongs to another client."""
    view = get_decision(uow=uow, client=client, decision_id=decision_id)
    return _answer(view, status_code=200, location=False)


def _answer(view: DecisionView, *, status_code: int, location: bool) -> Response:
    # Validated once here and serialised by pydantic, as FastAPI would for ``response_model``,
    # but without FastAPI validating the model a second time in another thread-pool hop.
    body = DecisionPublic.from_view(view).model_dump_json()
    headers = {"Location": f"/v1/decisions/{view.decision_id}"} if location else None
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


def _decision_pool(request: Request) -> ThreadPoolExecutor:
    """The process's decision threads (``Runtime.decision_threads``); more decisions wait.

    Ends with the application (its lifespan), after the decisions under way.
    """
    state = request.app.state
    pool = getattr(state, "decision_pool", None)
    if pool is None:
        pool = ThreadPoolExecutor(
            max_workers=state.runtime.decision_threads(), thread_name_prefix="decision"
        )
        state.decision_pool = pool
    return pool
