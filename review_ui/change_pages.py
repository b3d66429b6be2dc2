"""Change control and the stop switch in the web UI: each page parses, calls one use case.

``/review/changes`` lists model and policy change requests with their gates and attachments;
an approver other than the proposer approves or refuses, a risk analyst proposes a rollback.
``/review/automation`` shows the oversight stop switch; the oversight role turns it, with a
reason. Reading is open to every signed-in person (auditors included); the use cases check
each person's role and the four-eyes rule, and refusals answer with the product's statuses.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review_ui.app import render
from review_ui.deps import AnyFormSenderDep, AnyoneSignedInDep, UiDep
from scoring.service import change_control, policy_in_force

router = APIRouter()


def _back(request: Request, name: str, notice: str) -> Response:
    url = request.url_for(name).include_query_params(notice=notice)
    return RedirectResponse(url, status_code=303)


@router.get("/changes", response_class=HTMLResponse, name="changes")
def changes(
    request: Request, ui: UiDep, _person: AnyoneSignedInDep, notice: str | None = None
) -> Response:
    """Every change request, newest first, with gates, attachments and who decided."""
    with ui.unit_of_work() as uow:
        rows = [
            change_control.change_details(uow=uow, change_id=change.id)
            for change in change_control.list_changes(uow=uow)
        ]
        champions = change_control.approved_champions(uow=uow)
        stale = change_control.stale_changes(uow=uow)
    return render(
        request,
        "changes.html",
        {"rows": rows, "champions": champions, "stale": stale, "notice": notice},
    )


@router.post("/changes/{change_id}/approve", name="approve_change")
def approve_change(
    request: Request,
    change_id: int,
    ui: UiDep,
    person: AnyFormSenderDep,
    note: Annotated[str, Form()] = "",
) -> Response:
    """A second person approves; the change takes effect (a policy at its date)."""
    with ui.unit_of_work() as uow:
        change = change_control.approve_change(
            uow=uow, registry=ui.registry, actor=person, change_id=change_id, note=note,
            now=ui.clock(),
        )  # fmt: skip
    return _back(request, "changes", f"Change {change.id} approved: {change.subject}.")


@router.post("/changes/{change_id}/refuse", name="refuse_change")
def refuse_change(
    request: Request,
    change_id: int,
    ui: UiDep,
    person: AnyFormSenderDep,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """A second person refuses, with the reason."""
    with ui.unit_of_work() as uow:
        change = change_control.refuse_change(
            uow=uow, actor=person, change_id=change_id, note=reason, now=ui.clock()
        )
    return _back(request, "changes", f"Change {change.id} refused.")


@router.post("/changes/rollback", name="propose_rollback")
def propose_rollback(
    request: Request, ui: UiDep, person: AnyFormSenderDep, reason: Annotated[str, Form()] = ""
) -> Response:
    """Propose going back to the previously approved champion."""
    if ui.registry is None:
        raise change_control.InvalidChange("the model registry is not configured here")
    with ui.unit_of_work() as uow:
        change = change_control.propose_rollback(
            uow=uow, registry=ui.registry, actor=person, reason=reason, now=ui.clock()
        )
    return _back(
        request, "changes", f"Rollback proposed as change {change.id}; a second person approves."
    )


@router.get("/automation", response_class=HTMLResponse, name="automation")
def automation(
    request: Request, ui: UiDep, _person: AnyoneSignedInDep, notice: str | None = None
) -> Response:
    """Whether automated decisions are on, who changed that last, and the switch."""
    with ui.unit_of_work() as uow:
        state = policy_in_force.automation_state(uow=uow)
    return render(request, "automation.html", {"state": state, "notice": notice})


@router.post("/automation", name="switch_automation")
def switch_automation(
    request: Request,
    ui: UiDep,
    person: AnyFormSenderDep,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Stop or restart automated decisions, with a reason."""
    automated = {"stop": False, "start": True}.get(action)
    with ui.unit_of_work() as uow:
        policy_in_force.switch_automation(
            uow=uow, actor=person, automated=automated, reason=reason, now=ui.clock()
        )
    notice = (
        "Automated decisions are stopped: every new application goes to a person. "
        "Every API process obeys within a few seconds."
        if action == "stop"
        else "Automated decisions are on again."
    )
    return _back(request, "automation", notice)
