"""What the server answers, and to whom: trusted host names and the operations endpoints.

``INSTALLMENT_ALLOWED_HOSTS`` (host names, ``*.example.ee`` for a domain's hosts) refuses a
request whose ``Host`` names anything else with 400, so a forged host never reaches a
redirect or a form's address. ``INSTALLMENT_OPERATIONS_TOKEN`` puts ``/metrics`` and the API
documentation (``/openapi.json``, ``/docs``, ``/redoc``) behind ``Authorization: Bearer
<token>``. Both are read from the running application's settings on each request, so the
API built before its runtime (``create_server_app``) obeys them too. Unset, both are open,
as on a developer's machine.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from scoring.api.errors import error_response

OPERATIONS_PATHS = frozenset(
    {"/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
)


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``host`` (without its port) is one of ``allowed`` or under a ``*.`` domain."""
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    name = name.strip().lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


class ExposureGuard:
    """Refuse untrusted host names (400) and unauthorised operations requests (401)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = getattr(getattr(scope.get("app"), "state", None), "runtime", None)
        if scope["type"] != "http" or runtime is None:
            await self.app(scope, receive, send)
            return
        settings = runtime.settings
        if settings.allowed_hosts:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, settings.allowed_hosts):
                refusal = error_response(
                    400, "host_not_allowed", "this server does not answer for that host name"
                )
                await refusal(scope, receive, send)
                return
        token = settings.operations_token
        if token and scope["path"] in OPERATIONS_PATHS:
            presented = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            expected = f"Bearer {token}"
            if not hmac.compare_digest(presented.encode(), expected.encode()):
                refusal = error_response(
                    401,
                    "unauthenticated",
                    "send the operations token as 'Authorization: Bearer <token>'",
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)
