"""Page dependencies: the signed-in person (an ``Actor``), the CSRF check, role gates."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from review_ui.accounts import active_session, csrf_matches
from review_ui.app import SESSION_COOKIE, Forbidden, NotSignedIn, ReviewUi
from scoring.domain.permissions import Actor, may_read_cases, may_work_cases

FORGED_FORM = (
    "This form carried no valid security token, so it was refused and nothing was changed. "
    "It may have come from another site or from a page opened before you signed in again; "
    "reload the page and try again."
)
READ_ONLY = "Your role can read cases and oversight views but cannot change anything."


def review_ui(request: Request) -> ReviewUi:
    return request.app.state.review_ui


UiDep = Annotated[ReviewUi, Depends(review_ui)]


def signed_in(request: Request, ui: UiDep) -> Actor:
    """The reviewer of a live session; otherwise the person is sent to sign in."""
    actor = any_signed_in(request, ui)
    if not may_read_cases(actor):
        raise Forbidden("Your account has no role in the reviewer UI.")
    return actor


def any_signed_in(request: Request, ui: UiDep) -> Actor:
    """The person of a live session, whatever their role; otherwise sent to sign in."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise NotSignedIn()
    with ui.unit_of_work() as uow:
        active = active_session(uow=uow, token=token, now=ui.clock())
    if active is None:
        raise NotSignedIn()
    request.state.actor = active.actor
    request.state.csrf_token = active.csrf_token
    return active.actor


SignedInDep = Annotated[Actor, Depends(signed_in)]
AnyoneSignedInDep = Annotated[Actor, Depends(any_signed_in)]


async def any_form_sender(request: Request, person: AnyoneSignedInDep) -> Actor:
    """Any signed-in person sending a form whose CSRF token matches; roles are checked after."""
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_matches(request.state.csrf_token, token if isinstance(token, str) else None):
        raise Forbidden(FORGED_FORM)
    return person


AnyFormSenderDep = Annotated[Actor, Depends(any_form_sender)]


async def form_sender(request: Request, reviewer: SignedInDep) -> Actor:
    """The sender of a POST whose CSRF token matches the session's, checked before any change."""
    form = await request.form()
    token = form.get("csrf_token")
    if not csrf_matches(request.state.csrf_token, token if isinstance(token, str) else None):
        raise Forbidden(FORGED_FORM)
    return reviewer


FormSenderDep = Annotated[Actor, Depends(form_sender)]


def case_worker(reviewer: FormSenderDep) -> Actor:
    """A reviewer or senior reviewer sending a valid form; auditors are refused."""
    if not may_work_cases(reviewer):
        raise Forbidden(READ_ONLY)
    return reviewer


CaseWorkerDep = Annotated[Actor, Depends(case_worker)]

__all__ = [
    "AnyFormSenderDep",
    "AnyoneSignedInDep",
    "CaseWorkerDep",
    "FormSenderDep",
    "SignedInDep",
    "UiDep",
]
