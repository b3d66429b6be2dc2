"""A route whose parameters are found by plain functions instead of FastAPI's solver.

``POST /v1/decisions`` is the one call the sales system makes at checkout, thousands of
times an hour. FastAPI solves a route's parameters generically on every request: it
validates each header through a pydantic field, builds cache keys for each dependency,
parses the query string and cookies whether or not they are used, and validates the body
as a Python dict after parsing it with the standard ``json`` module. For this route that
was 18% of the CPU of a decision driven through the application in process, half as much
as the decision's own work (see "What the decision costs" in ``BENCHMARKS.md``).

A :class:`DirectRoute` is declared like any other route, so its signature still gives the
OpenAPI document, the request model and the documented headers. At run time each
parameter of its endpoint is given by a resolver of its own, an async function of the
request, run in the order the resolvers are listed; a body is validated straight from its
JSON text by its model (pydantic's own parser). Errors are FastAPI's: a body that fails
validation raises ``RequestValidationError`` with the same locations (``("body", ...)``),
so the application's error handlers answer exactly as for any other route.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

import pydantic
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

Resolver = Callable[[Request], Awaitable[Any]]


class DirectRouteError(TypeError):
    """The endpoint's parameters and the route's resolvers do not match (a programming error)."""


def json_body(model: type[pydantic.BaseModel]) -> Resolver:
    """A resolver giving the request body validated by ``model`` from its JSON text.

    No body at all is a missing body (422), as FastAPI has it; text that is not JSON is a
    ``json_invalid`` problem (the error handlers answer 400).
    """

    async def resolve(request: Request) -> pydantic.BaseModel:
        raw = await request.body()
        if not raw:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        try:
            return model.model_validate_json(raw)
        except pydantic.ValidationError as error:
            problems = error.errors(include_url=False)
            raise RequestValidationError(
                [{**problem, "loc": ("body", *problem["loc"])} for problem in problems]
            ) from None

    return resolve


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose endpoint's parameters come from ``resolvers``, one each.

    Subclasses set ``resolvers``: parameter name -> resolver, in the order they are to run
    (for example the API key before the body, so a request without a key is refused
    before its body is read). The endpoint must be ``async`` and take exactly those
    parameters; anything else is refused when the route is made.
    """

    resolvers: ClassVar[Mapping[str, Resolver]] = {}

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        wanted = set(inspect.signature(endpoint).parameters)
        given = set(self.resolvers)
        if wanted != given:
            raise DirectRouteError(
                f"{endpoint.__name__} takes {sorted(wanted)}, but {type(self).__name__} "
                f"resolves {sorted(given)}"
            )
        if not inspect.iscoroutinefunction(endpoint):
            raise DirectRouteError(f"{endpoint.__name__} must be async for a DirectRoute")
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        endpoint = self.endpoint
        resolvers = tuple(self.resolvers.items())

        async def handler(request: Request) -> Response:
            arguments = {}
            for name, resolve in resolvers:
                arguments[name] = await resolve(request)
            response = await endpoint(**arguments)
            if not isinstance(response, Response):
                raise DirectRouteError(f"{endpoint.__name__} must return a Response")
            return response

        return handler
