"""`POST /v1/decisions` and `GET /v1/decisions/{decision_id}`: parse, call the service, render."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

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
from scoring.domain.budget import DecisionTimedOut
from scoring.service.api_keys import (
    DECISIONS_READ,
    DECISIONS_WRITE,
    AuthenticatedClient,
    authenticate,
)
from scoring.service.decisions import DecisionView, decide_application, get_decision
from scoring.service.errors import ServiceError
from scoring.service.runtime import Runtime
from scoring.storage.db import UnitOfWork

router = APIRouter(prefix="/v1/decisions", tags=["decisions"])
# Past the decision's budget, how long the route still waits for the use case to answer.
ANSWER_GRACE_S = 1.0

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
            description=(
                "Retrying with the same key and body returns the same decision. 1 to 255 "
                "characters; a key holding a personal identification code is refused (422)."
            ),
            min_length=1,
            max_length=255,
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
        budget_s=runtime.settings.decision_budget_s,
    )

    try:
        # Answered only once the decision is stored (the use case commits before it returns).
        # The use case keeps to its budget; this bound is for a database that stops
        # answering mid-statement (a frozen server), which no timeout inside can end.
        view = await asyncio.wait_for(
            asyncio.wrap_future(_decision_pool(request).submit(decide)),
            timeout=runtime.settings.decision_budget_s + ANSWER_GRACE_S,
        )
    except TimeoutError:
        metrics.errors.labels(code="decision_timeout").inc()
        raise DecisionTimedOut(
            f"the decision did not finish within {runtime.settings.decision_budget_s:g} s; "
            "retry with the same Idempotency-Key: a decision stored meanwhile is answered "
            "again, else a new one is made",
            step="waiting for the database",
        ) from None
    except (ServiceError, DecisionTimedOut) as error:
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
    return _answer(view, status_code=status, location=True, base_url=_base_url(request))


async def _presented_key(request: Request) -> str:
    return await bearer_key(request.headers.get("authorization"))


async def _unit_of_work(request: Request) -> UnitOfWork:
    return await get_unit_of_work(await get_runtime(request))


async def _request(request: Request) -> Request:
    return request


async def _idempotency_key(request: Request) -> str | None:
    return request.headers.get("idempotency-key")


_decision_body = json_body(DecisionRequest)


def _known_key(runtime: Runtime, presented: str) -> None:
    with runtime.sessions() as session:
        client = authenticate(session=session, presented=presented, clock=runtime.clock)
    client.require(DECISIONS_WRITE)


async def _body_of_a_known_key(request: Request) -> DecisionRequest:
    """The validated body; when it fails, the key is checked first (401/403 before 422).

    A valid body goes on unchecked: the decision thread checks the key on its own connection,
    which spares the common case a thread-pool hand-off. Only a refused body pays for it, so
    that nobody without a valid key learns which fields the contract wants.
    """
    try:
        return await _decision_body(request)  # type: ignore[return-value]
    except RequestValidationError:
        runtime = await get_runtime(request)
        await run_in_threadpool(_known_key, runtime, await _presented_key(request))
        raise


class _DecisionRoute(DirectRoute):
    """``create_decision``'s parameters, each from the dependency it declares, found directly.

    The key is read first, so a request without one is refused before its body is read;
    a body that fails validation is answered only once the key is known to be valid.
    """

    resolvers = {
        "presented": _presented_key,
        "body": _body_of_a_known_key,
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
def read_decision(
    decision_id: str, client: ReaderDep, uow: UnitOfWorkDep, request: Request
) -> Response:
    """The stored decision with its state, its review and what replaced it; 404 when it is
    unknown or belongs to another client."""
    view = get_decision(uow=uow, client=client, decision_id=decision_id)
    return _answer(view, status_code=200, location=False, base_url=_base_url(request))


def _base_url(request: Request) -> str:
    """Where the client reaches this API: the configured public URL, else the request's."""
    configured = getattr(request.app.state.runtime.settings, "public_url", None)
    return configured or str(request.base_url)


def _answer(view: DecisionView, *, status_code: int, location: bool, base_url: str) -> Response:
    # Validated once here and serialised by pydantic, as FastAPI would for ``response_model``,
    # but without FastAPI validating the model a second time in another thread-pool hop.
    body = DecisionPublic.from_view(view, base_url=base_url).model_dump_json()
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
