"""Data-subject requests the data-protection officer enters: a person identified in person,
by letter with a certified copy, or by a signed e-mail asks for access, erasure or objection.

``/review/subjects`` is the officer's form: the personal code, the request and how the
person was identified (with an optional note). The answer is the access export to hand
over, the erasure report or the objection's receipt; each request is audited with the
officer and the identification method. Other roles are refused before anything is read.
The personal code is never put back into a page, a log line or an error.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from review_ui.app import Forbidden, render
from review_ui.deps import AnyFormSenderDep, AnyoneSignedInDep, UiDep
from scoring.domain.identity_proof import IdentificationMethod, SubjectRequestKind
from scoring.domain.permissions import Actor, may_enter_subject_requests
from scoring.service.subject_requests import (
    InvalidSubjectRequest,
    officer_request,
    render_export_html,
)

router = APIRouter()
EXPORT_FILE = "data-held-about-you.html"

ONLY_THE_OFFICER = (
    "Only the data-protection officer enters data-subject requests here. A person who asks "
    "you should be sent to them, or use an identified channel of the sales system."
)
METHODS = [
    (IdentificationMethod.IDENTITY_DOCUMENT_IN_PERSON, "Identity document, seen in person"),
    (IdentificationMethod.ID_CARD, "ID card (digitally signed request)"),
    (IdentificationMethod.MOBILE_ID, "Mobile-ID"),
    (IdentificationMethod.SMART_ID, "Smart-ID"),
    (IdentificationMethod.EIDAS, "eIDAS means of another EU country"),
    (IdentificationMethod.BANK_LINK, "Bank link"),
]
REQUESTS = [
    (SubjectRequestKind.ACCESS, "Access: a copy of everything held (GDPR Art. 15)"),
    (SubjectRequestKind.ERASURE, "Erasure: remove what no obligation holds (Art. 17)"),
    (SubjectRequestKind.OBJECTION, "Objection to profiling: a person decides (Art. 21)"),
]


def _officer(person: Actor) -> Actor:
    if not may_enter_subject_requests(person):
        raise Forbidden(ONLY_THE_OFFICER)
    return person


def _form(request: Request, *, error: str | None = None, status_code: int = 200) -> Response:
    return render(
        request,
        "subject_requests.html",
        {"methods": METHODS, "requests": REQUESTS, "error": error},
        status_code=status_code,
    )


@router.get("/subjects", response_class=HTMLResponse, name="subject_requests")
def subject_requests(request: Request, person: AnyoneSignedInDep) -> Response:
    """The officer's form for one person's request."""
    _officer(person)
    return _form(request)


@router.post("/subjects", name="enter_subject_request")
def enter_subject_request(
    request: Request,
    ui: UiDep,
    person: AnyFormSenderDep,
    personal_code: Annotated[str, Form()] = "",
    kind: Annotated[str, Form()] = "",
    identified_by: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Answer the request and show what to hand the person; audited with the officer."""
    _officer(person)
    try:
        wanted = SubjectRequestKind(kind)
        method = IdentificationMethod(identified_by)
    except ValueError:
        return _form(
            request,
            error="Choose the request and how you identified the person.",
            status_code=422,
        )
    try:
        answer = officer_request(
            uow=ui.unit_of_work(), actor=person, request=wanted, code=personal_code.strip(),
            method=method, note=note, pseudonym_key=ui.pseudonym_key(), now=ui.clock(),
        )  # fmt: skip
    except InvalidSubjectRequest as refusal:
        return _form(request, error=f"Personal code: {refusal.message}", status_code=422)
    if answer.export is not None:
        # The export is the person's own document: a file to hand over or send, not a page of
        # the UI (whose content policy would also refuse its inline style).
        return HTMLResponse(
            render_export_html(answer.export),
            headers={"Content-Disposition": f'attachment; filename="{EXPORT_FILE}"'},
        )
    return render(request, "subject_answer.html", {"answer": answer})
