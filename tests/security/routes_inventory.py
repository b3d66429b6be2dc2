"""Every (method, path) the application answers, mounted sub-applications included."""

from __future__ import annotations

from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles


def all_routes(app: Any, prefix: str = "") -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = prefix + (context.path or "")
        if isinstance(route, Mount):
            if isinstance(route.app, StaticFiles):
                found.add(("GET", path + "/{file}"))
            else:
                found |= all_routes(route.app, prefix=path)
            continue
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, path))
    return found
