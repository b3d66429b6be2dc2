"""The reviewer web application: a FastAPI sub-application mounted under ``/review``.

Pages are rendered on the server from Jinja2 templates; there is no script to build.
A signed-in session is a random token in an HttpOnly, SameSite=Lax cookie (Secure
unless the host is the local machine) whose hash is kept in ``web_sessions``, so the
server can end it. Every form carries the session's CSRF token and every POST checks it.
A request body over 64 KiB is refused with 413 before anything reads it as a form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from review_ui.pd_scale import pd_scale_svg
from review_ui.throttle import SignInThrottle
from review_ui.waterfall import waterfall_svg
from scoring.api.errors import status_for
from scoring.domain.errors import (
    EngineError,
    NotAuthenticatedError,
    NotFoundError,
    NotPermittedError,
)
from scoring.domain.permissions import (
    is_read_only,
    may_approve_change,
    may_claim,
    may_enter_subject_requests,
    may_propose_change,
    may_read_cases,
    may_switch_automation,
    may_work_cases,
)
from scoring.letters import product_label
from scoring.service.change_control import ChangeRegistry
from scoring.storage.db import UnitOfWork

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "review_session"
LOGIN_CSRF_COOKIE = "review_login_csrf"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "testserver"})
# The longest form (a justification, a note) is a few kilobytes; nothing needs more.
MAX_FORM_BYTES = 64 * 1024
FORM_TOO_LARGE = (
    "The form was larger than 64 KiB and was refused; nothing was changed. "
    "Shorten the text and send it again."
)
NO_SUCH_CASE = "There is no such case. The address may be mistyped, or the case was removed."
NO_SUCH_PAGE = "There is no such page in the reviewer UI. The address may be mistyped."


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ReviewUi:
    """What the pages need from outside: a way to open a unit of work, and the clock.

    And the count of refused sign-ins per client address, kept in the database.
    """

    unit_of_work: Callable[[], UnitOfWork]
    clock: Callable[[], datetime]
    throttle: SignInThrottle
    # The key of the personal-code pseudonyms, for requests the data-protection officer enters.
    pseudonym_key: Callable[[], bytes] = field(default=lambda: _configured_pseudonym_key())
    # The model registry change control moves the champion alias in (``models.registry``).
    registry: ChangeRegistry | None = None


def _configured_pseudonym_key() -> bytes:
    from scoring.config import get_settings, read_or_create_key

    return read_or_create_key(get_settings().pseudonym_key_file)


class NotSignedIn(NotAuthenticatedError):
    """No valid session: the person is sent to the sign-in page."""


class Forbidden(NotPermittedError):
    """The signed-in person's role does not allow this; answered with the 403 page."""


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    templates.env.filters["percent"] = lambda share, digits=1: (
        "–" if share is None else f"{share * 100:.{digits}f} %"
    )
    templates.env.filters["eur"] = lambda amount: (
        "–" if amount is None else f"{float(amount):,.2f} EUR".replace(",", " ")
    )
    templates.env.filters["when"] = lambda moment: (
        "–" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    templates.env.filters["product_label"] = lambda category: product_label(category, "en")
    templates.env.globals["waterfall"] = waterfall_svg
    templates.env.globals["pd_scale"] = pd_scale_svg
    # Pages ask the domain's permission predicates, never role names.
    templates.env.globals["is_read_only"] = is_read_only
    templates.env.globals["may_work_cases"] = may_work_cases
    templates.env.globals["may_claim"] = may_claim
    templates.env.globals["may_read_cases"] = may_read_cases
    templates.env.globals["may_propose_change"] = may_propose_change
    templates.env.globals["may_approve_change"] = may_approve_change
    templates.env.globals["may_switch_automation"] = may_switch_automation
    templates.env.globals["may_enter_subject_requests"] = may_enter_subject_requests
    return templates


TEMPLATES = _templates()


def render(
    request: Request, template: str, context: dict[str, object], *, status_code: int = 200
) -> HTMLResponse:
    """A page from ``templates/`` with the signed-in person (``me``) and CSRF token in scope."""
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "me": getattr(request.state, "actor", None),
            "csrf_token": getattr(request.state, "csrf_token", None),
            **context,
        },
        status_code=status_code,
    )


def create_review_app(
    *,
    unit_of_work: Callable[[], UnitOfWork],
    clock: Callable[[], datetime] = utc_now,
    registry: ChangeRegistry | None = None,
    pseudonym_key: Callable[[], bytes] | None = None,
) -> FastAPI:
    """The reviewer UI, opening its units of work with ``unit_of_work`` (the runtime's).

    The composition root (:mod:`scoring.bootstrap`) mounts it in the API app on the
    runtime the API uses; it builds no engine of its own.
    """
    from review_ui.change_pages import router as change_router
    from review_ui.pages import router
    from review_ui.subject_pages import router as subject_router

    app = FastAPI(
        title="Reviewer UI",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.review_ui = ReviewUi(
        unit_of_work=unit_of_work,
        clock=clock,
        throttle=SignInThrottle(unit_of_work=unit_of_work),
        registry=registry,
        pseudonym_key=pseudonym_key or _configured_pseudonym_key,
    )
    app.add_middleware(FormSizeLimit, max_bytes=MAX_FORM_BYTES)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    app.include_router(change_router)
    app.include_router(subject_router)

    @app.exception_handler(NotSignedIn)
    def _to_sign_in(request: Request, _error: NotSignedIn) -> RedirectResponse:
        response = RedirectResponse(request.url_for("login_form"), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=cookie_path(request))
        return response

    @app.exception_handler(EngineError)
    def _refused(request: Request, error: EngineError) -> HTMLResponse:
        # The status comes from the API's map, so a refusal answers alike on both.
        return render(
            request, "refused.html", {"message": error.message}, status_code=status_for(error)
        )

    @app.exception_handler(NotFoundError)
    def _not_found(request: Request, error: NotFoundError) -> HTMLResponse:
        # The same words for every address: nothing from the URL is echoed into the page.
        return render(request, "404.html", {"message": NO_SUCH_CASE}, status_code=status_for(error))

    @app.exception_handler(404)
    def _no_such_page(request: Request, _error: Exception) -> HTMLResponse:
        return render(request, "404.html", {"message": NO_SUCH_PAGE}, status_code=404)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, error: Forbidden) -> HTMLResponse:
        return render(
            request, "403.html", {"message": error.message}, status_code=status_for(error)
        )

    return app


def cookie_path(request: Request) -> str:
    """Cookies belong to the UI's own path, not to the whole host."""
    return request.scope.get("root_path", "") or "/"


def cookie_secure(request: Request) -> bool:
    return (request.url.hostname or "") not in LOCAL_HOSTS


# Pages load only the UI's own stylesheet and images and run no script at all; nobody may
# frame them (clickjacking), and forms post only back to the UI.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
# Case pages hold personal data: no browser or proxy keeps a copy.
NO_STORE = (b"cache-control", b"no-store")


class SecurityHeaders:
    """Add the security headers to every answer of the UI, and no-store to all but its
    static files (a stylesheet may be cached)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith(f"{scope.get('root_path', '')}/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control" or static
                ]
                headers += SECURITY_HEADERS
                if not static:
                    headers.append(NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class FormSizeLimit:
    """Refuse a request body over ``max_bytes`` with 413 before the form parser sees it.

    A declared ``Content-Length`` is checked at once; a body sent without one is read here
    up to the limit and handed on only when it fits, so no route reads more than that.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
        response = HTMLResponse(
            f"<!doctype html><title>Form too large</title><p>{FORM_TOO_LARGE}</p>",
            status_code=413,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)
