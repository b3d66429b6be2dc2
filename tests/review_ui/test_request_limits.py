"""Form bodies over 64 KiB are refused with 413 before anything reads them."""

from __future__ import annotations

from review_cases import case_row, contested_case
from review_ui_web import csrf_of, sign_in

from review_ui.app import MAX_FORM_BYTES
from scoring.storage.db import UnitOfWork


def _claimed_case(client, ui_engine, clock) -> tuple[str, str]:
    with UnitOfWork.for_engine(ui_engine) as uow:
        case_id = contested_case(uow, now=clock(), amount_eur=3000.0)
    sign_in(client, "rita")
    queue = client.get("/review/queue")
    client.post("/review/queue/claim-next", data={"csrf_token": csrf_of(queue.text)})
    return case_id, csrf_of(client.get(f"/review/cases/{case_id}").text)


def _justification(form_bytes: int, csrf: str) -> str:
    """A decide form of exactly ``form_bytes`` bytes, URL-encoded."""
    head = (
        f"csrf_token={csrf}&outcome=upheld&then=stay"
        "&customer_explanation_et=Teie+maksete+ajalugu+ei+toeta+seda+j%C3%A4relmaksu."
        "&customer_explanation_en=Your+payment+history+does+not+support+this+plan."
        "&justification="
    )
    return head + "a" * (form_bytes - len(head))


def test_a_form_over_the_limit_is_refused_with_413_and_changes_nothing(client, ui_engine, clock):
    case_id, csrf = _claimed_case(client, ui_engine, clock)
    body = _justification(MAX_FORM_BYTES + 1, csrf)
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert "larger than 64 KiB" in answer.text
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert case_row(uow, case_id).status == "claimed"


def test_a_body_without_a_declared_length_is_counted_as_it_arrives(client, ui_engine, clock):
    case_id, csrf = _claimed_case(client, ui_engine, clock)
    body = _justification(MAX_FORM_BYTES + 1, csrf).encode()

    def chunks():
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    answer = client.post(
        f"/review/cases/{case_id}/decide",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert "content-length" not in {k.lower() for k in answer.request.headers}
    assert answer.status_code == 413
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert case_row(uow, case_id).status == "claimed"


def test_a_form_of_exactly_the_limit_is_read_and_decided(client, ui_engine, clock):
    case_id, csrf = _claimed_case(client, ui_engine, clock)
    answer = client.post(
        f"/review/cases/{case_id}/decide",
        content=_justification(MAX_FORM_BYTES, csrf),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 303
    with UnitOfWork.for_engine(ui_engine) as uow:
        assert case_row(uow, case_id).status == "resolved"


def test_the_sign_in_form_is_limited_too(client):
    answer = client.post(
        "/review/login",
        content="username=rita&password=" + "p" * MAX_FORM_BYTES,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413
    assert "review_session=" not in answer.headers.get("set-cookie", "")
