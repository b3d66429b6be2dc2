"""The reviewer pages: each parses its input, calls one service function and renders."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review_ui import accounts
from review_ui.app import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    cookie_path,
    cookie_secure,
    render,
)
from review_ui.deps import (
    AnyFormSenderDep,
    AnyoneSignedInDep,
    CaseWorkerDep,
    SignedInDep,
    UiDep,
)
from review_ui.permissions import case_permissions
from scoring.api.errors import status_for
from scoring.domain.permissions import (
    Actor,
    may_enter_subject_requests,
    may_read_cases,
    may_switch_automation,
    may_work_cases,
)
from scoring.domain.review import InvalidInput, NewTerms, ReviewError
from scoring.service import model_evaluation, reviews, webhooks

router = APIRouter()

THROTTLED = (
    "Too many sign-ins from this address were refused; sign-in is paused here for "
    "{minutes} minute(s). Ask an administrator if you have forgotten your password."
)


def _redirect(request: Request, name: str, **params: str) -> RedirectResponse:
    return RedirectResponse(request.url_for(name, **params), status_code=303)


@router.get("/", include_in_schema=False)
def home(request: Request) -> RedirectResponse:
    return _redirect(request, "queue")


@router.get("/login", response_class=HTMLResponse, name="login_form")
def login_form(request: Request) -> Response:
    """The sign-in form, with a login CSRF token bound to a short-lived cookie."""
    return _login_page(request)


def _login_page(
    request: Request, *, error: str | None = None, username: str = "", status_code: int = 200
) -> Response:
    login_csrf = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"login_csrf": login_csrf, "error": error, "username": username},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        login_csrf,
        max_age=600,
        path=cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    return response


@router.post("/login", name="login")
def login(
    request: Request,
    ui: UiDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Check the password; on success set the session cookie and open the queue."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (expected and accounts.csrf_matches(expected, csrf_token)):
        return _login_page(
            request,
            error="The sign-in form had expired or did not come from this site; try again.",
            username=username,
            status_code=403,
        )
    now = ui.clock()
    address = request.client.host if request.client else "unknown"
    wait = ui.throttle.wait(address, now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        page = _login_page(
            request, error=THROTTLED.format(minutes=minutes), username=username, status_code=429
        )
        page.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return page
    try:
        with ui.unit_of_work() as uow:
            signed = accounts.sign_in(uow=uow, username=username, password=password, now=now)
    except accounts.SignInRefused as refusal:
        if ui.throttle.refused(address, now):
            with ui.unit_of_work() as uow:
                accounts.record_throttled(
                    uow=uow, now=now, refused=ui.throttle.limit, window=ui.throttle.window
                )
        return _login_page(request, error=str(refusal), username=username, status_code=401)
    response = _redirect(request, _start_page(signed.actor))
    response.set_cookie(
        SESSION_COOKIE,
        signed.token,
        max_age=int(accounts.ABSOLUTE_TIMEOUT.total_seconds()),
        path=cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=cookie_path(request))
    return response


def _start_page(person: Actor) -> str:
    """Where a person lands after sign-in: the queue, or their own page for other roles."""
    if may_read_cases(person):
        return "queue"
    if may_switch_automation(person):
        return "automation"
    if may_enter_subject_requests(person):
        return "subject_requests"
    return "changes"


@router.post("/logout", name="logout")
def logout(request: Request, ui: UiDep, _person: AnyFormSenderDep) -> Response:
    """End the session on the server and forget the cookie (whatever the person's role)."""
    with ui.unit_of_work() as uow:
        accounts.sign_out(uow=uow, token=request.cookies[SESSION_COOKIE], now=ui.clock())
    response = _redirect(request, "login_form")
    response.delete_cookie(SESSION_COOKIE, path=cookie_path(request))
    return response


# The queue.


@router.get("/queue", response_class=HTMLResponse, name="queue")
def queue(
    request: Request,
    ui: UiDep,
    reviewer: SignedInDep,
    notice: str | None = None,
    sort: str = "due",
    product: str | None = None,
    outcome: str | None = None,
) -> Response:
    """Cases held and claimable (oldest due first unless sorted otherwise), filterable by
    product and outcome; senior reviewers also see proposals to sign."""
    now = ui.clock()
    with ui.unit_of_work() as uow:
        if may_work_cases(reviewer):
            cases = reviews.queue_for(session=uow.session, reviewer=reviewer, now=now)
            to_sign = reviews.awaiting_signature_for(
                session=uow.session, reviewer=reviewer, now=now
            )
        else:
            cases = reviews.list_cases(session=uow.session, now=now)
            to_sign = []
    products = sorted({c.triage.product_category for c in cases if c.triage})
    outcomes = sorted({c.triage.outcome for c in cases if c.triage})
    shown = reviews.arranged(cases, order=sort, product=product or None, outcome=outcome or None)
    return render(
        request,
        "queue.html",
        {
            "cases": shown, "to_sign": to_sign, "now": now, "notice": notice,
            "sort": sort, "product": product or "", "outcome": outcome or "",
            "products": products, "outcomes": outcomes, "orders": reviews.QUEUE_ORDERS,
            "total": len(cases),
        },
    )  # fmt: skip


@router.post("/queue/claim-next", name="claim_next")
def claim_next(request: Request, ui: UiDep, reviewer: CaseWorkerDep) -> Response:
    """Claim the case that is due first and open it."""
    claimed = reviews.claim_next_case(uow=ui.unit_of_work(), reviewer=reviewer, clock=ui.clock)
    if claimed is None:
        return _redirect_with(request, "queue", notice="No case is waiting for you.")
    return _redirect(request, "case_page", case_id=claimed.id)


@router.post("/cases/{case_id}/claim", name="claim_case")
def claim_case(request: Request, case_id: str, ui: UiDep, reviewer: CaseWorkerDep) -> Response:
    reviews.claim_case(uow=ui.unit_of_work(), case_id=case_id, reviewer=reviewer, clock=ui.clock)
    return _redirect(request, "case_page", case_id=case_id)


@router.post("/cases/{case_id}/skip", name="skip_case")
def skip_case(request: Request, case_id: str, ui: UiDep, reviewer: CaseWorkerDep) -> Response:
    """Skip for now: the case goes back and is not offered to this reviewer for a while."""
    reviews.skip_case(uow=ui.unit_of_work(), case_id=case_id, reviewer=reviewer, clock=ui.clock)
    return _redirect_with(request, "queue", notice="Skipped for now.")


@router.post("/cases/{case_id}/release", name="release_case")
def release_case(request: Request, case_id: str, ui: UiDep, reviewer: CaseWorkerDep) -> Response:
    reviews.release_case(uow=ui.unit_of_work(), case_id=case_id, reviewer=reviewer, clock=ui.clock)
    return _redirect_with(request, "queue", notice="Released to the queue.")


@router.post("/cases/{case_id}/escalate", name="escalate_case")
def escalate_case(
    request: Request,
    case_id: str,
    ui: UiDep,
    reviewer: CaseWorkerDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Hand a held case to the senior reviewers with a note of what to look at."""
    try:
        reviews.escalate_case(
            uow=ui.unit_of_work(),
            case_id=case_id,
            reviewer=reviewer,
            note=note,
            clock=ui.clock,
        )
    except ReviewError as refusal:
        return _case_page(
            request,
            ui,
            reviewer,
            case_id,
            error=f"Not escalated: {refusal}.",
            form={"escalation_note": note},
            status_code=status_for(refusal),
        )
    return _redirect_with(
        request, "queue", notice="Escalated: the case waits for a senior reviewer."
    )


# The case page.


@router.get("/cases/{case_id}", response_class=HTMLResponse, name="case_page")
def case_page(
    request: Request, case_id: str, ui: UiDep, reviewer: SignedInDep, notice: str | None = None
) -> Response:
    """Everything the model saw and why, statement first; the decision form only for the holder."""
    return _case_page(request, ui, reviewer, case_id, notice=notice)


def _case_page(
    request: Request,
    ui: UiDep,
    reviewer: Actor,
    case_id: str,
    *,
    error: str | None = None,
    notice: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with ui.unit_of_work() as uow:
        detail = reviews.case_detail(
            session=uow.session, case_id=case_id, now=ui.clock(), registry=ui.registry
        )
    return render(
        request,
        "case.html",
        {
            "detail": detail,
            "case": detail.case,
            "may": case_permissions(reviewer, detail.case),
            "error": error,
            "notice": notice,
            "form": form or {},
        },
        status_code=status_code,
    )


@router.post("/cases/{case_id}/decide", name="decide_case")
def decide_case(
    request: Request,
    case_id: str,
    ui: UiDep,
    reviewer: CaseWorkerDep,
    outcome: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
    customer_explanation_et: Annotated[str, Form()] = "",
    customer_explanation_en: Annotated[str, Form()] = "",
    new_amount_eur: Annotated[str, Form()] = "",
    new_term_months: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = "",
) -> Response:
    """Record the outcome with its internal justification and the explanation the customer
    reads; "save and next" opens the next case."""
    form = {
        "outcome": outcome,
        "justification": justification,
        "customer_explanation_et": customer_explanation_et,
        "customer_explanation_en": customer_explanation_en,
        "new_amount_eur": new_amount_eur,
        "new_term_months": new_term_months,
    }
    try:
        if not outcome:
            raise InvalidInput("choose one of the outcomes this case offers")
        new_terms = _new_terms(outcome, new_amount_eur, new_term_months)
        decided = reviews.decide_case(
            uow=ui.unit_of_work(),
            case_id=case_id,
            reviewer=reviewer,
            outcome=outcome,
            justification=justification,
            new_terms=new_terms,
            customer_explanation_et=customer_explanation_et,
            customer_explanation_en=customer_explanation_en,
            clock=ui.clock,
        )
    except ReviewError as refusal:
        return _case_page(
            request,
            ui,
            reviewer,
            case_id,
            error=f"Not saved: {refusal}.",
            form=form,
            status_code=status_for(refusal),
        )
    notice = (
        "Saved: waiting for a senior reviewer's second signature."
        if decided.status.value == "awaiting_second_signature"
        else "Saved: the case is resolved."
    )
    if then == "next":
        return claim_next(request, ui, reviewer)
    return _redirect_with(request, "case_page", notice=notice, case_id=case_id)


def _new_terms(outcome: str, amount: str, term: str) -> NewTerms | None:
    if outcome != "terms_changed":
        return None
    try:
        return NewTerms(amount_eur=float(amount.replace(",", ".")), term_months=int(term))
    except ValueError:
        raise InvalidInput("new terms need an amount in EUR and a term in months") from None


@router.post("/cases/{case_id}/second-signature", name="second_signature")
def second_signature(
    request: Request,
    case_id: str,
    ui: UiDep,
    reviewer: CaseWorkerDep,
    verdict: Annotated[str, Form()] = "",
    justification: Annotated[str, Form()] = "",
) -> Response:
    """A senior reviewer signs the proposed outcome or sends it back."""
    try:
        if verdict not in ("sign", "refuse"):
            raise InvalidInput("choose whether you sign the proposal or send it back")
        reviews.second_signature(
            uow=ui.unit_of_work(),
            case_id=case_id,
            signer=reviewer,
            agree=verdict == "sign",
            justification=justification,
            clock=ui.clock,
        )
    except ReviewError as refusal:
        return _case_page(
            request,
            ui,
            reviewer,
            case_id,
            error=f"Not saved: {refusal}.",
            form={"signature_justification": justification},
            status_code=status_for(refusal),
        )
    notice = "Signed: the case is resolved." if verdict == "sign" else "Sent back to the queue."
    return _redirect_with(request, "case_page", notice=notice, case_id=case_id)


@router.post("/cases/{case_id}/extend", name="extend_case")
def extend_case(
    request: Request,
    case_id: str,
    ui: UiDep,
    reviewer: CaseWorkerDep,
    further_months: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A senior reviewer extends the deadline; the customer is told the reason at once."""
    try:
        try:
            months = int(further_months)
        except ValueError:
            raise InvalidInput("choose by how many months to extend (1 or 2)") from None
        reviews.extend_case(
            uow=ui.unit_of_work(),
            case_id=case_id,
            reviewer=reviewer,
            further_months=months,
            reason=reason,
            clock=ui.clock,
        )
    except ReviewError as refusal:
        return _case_page(
            request,
            ui,
            reviewer,
            case_id,
            error=f"Not extended: {refusal}.",
            form={"extension_reason": reason},
            status_code=status_for(refusal),
        )
    return _redirect_with(
        request, "case_page", notice="Extended; the customer's notice is sent.", case_id=case_id
    )


@router.get("/models/{version}/card", response_class=HTMLResponse, name="model_card")
def model_card(request: Request, version: str, ui: UiDep, _person: AnyoneSignedInDep) -> Response:
    """The model card of a version (its purpose, data, measured limits): reviewers open it
    from a case, the risk team and oversight from a change; it holds no personal data."""
    try:
        card = model_evaluation.model_card_html(ui.registry, version)
    except model_evaluation.ModelVersionNotFound as missing:
        return render(request, "404.html", {"message": f"{missing}."}, status_code=404)
    return HTMLResponse(card)


@router.get("/cases/{case_id}/audit", response_class=HTMLResponse, name="case_audit")
def case_audit(request: Request, case_id: str, ui: UiDep, _reviewer: SignedInDep) -> Response:
    """Who did what to the case, oldest first, from the hash-chained audit log."""
    with ui.unit_of_work() as uow:
        case = reviews.case_view(session=uow.session, case_id=case_id, now=ui.clock())
        trail = reviews.audit_trail(session=uow.session, case_id=case_id)
    return render(request, "audit.html", {"case": case, "trail": trail})


# Oversight.


@router.get("/oversight", response_class=HTMLResponse, name="oversight")
def oversight(request: Request, ui: UiDep, _reviewer: SignedInDep) -> Response:
    """Rates, time to resolution against deadlines, delivery failures, sign-in activity."""
    with ui.unit_of_work() as uow:
        stats = reviews.oversight_stats(session=uow.session, now=ui.clock())
        undelivered = webhooks.events(session=uow.session, pending_only=True)
        activity = accounts.account_activity(session=uow.session)
    return render(
        request,
        "oversight.html",
        {"stats": stats, "failures": undelivered, "account_activity": activity},
    )


def _redirect_with(request: Request, name: str, *, notice: str, **params: str) -> Response:
    url = request.url_for(name, **params).include_query_params(notice=notice)
    return RedirectResponse(url, status_code=303)
