"""Bad input to the lifecycle gets a clear, specific 4xx and changes nothing; a webhook
receiver that fails or never answers is retried and holds no case back."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from lifecycle_intercepts import DECLINING, REFERRING
from test_paths import WHY, announced, decide

from scoring.domain.review import CaseClosed
from scoring.service import reviews, webhooks


def _error(answer) -> tuple[int, str, str]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error["message"]


def test_refusals_say_what_is_wrong_and_announce_nothing(life, codes):
    life.model(DECLINING)
    declined = life.apply(codes())
    contest_url = declined["contest"]["url"]
    opened = life.post(contest_url, {"statement": "I paid every invoice on time."})
    assert opened.status_code == 201, opened.text
    review_id = opened.json()["review_id"]

    status, code, message = _error(life.post(contest_url, {"statement": "Again, please."}))
    assert (status, code) == (409, "already_contested") and review_id in message

    decide(life, review_id, "overturned")
    replacement = life.get(f"/v1/decisions/{declined['decision_id']}")["superseded_by"]
    heard = len(announced(life, review_id))

    # Superseded: the decision a person made replaced it.
    status, code, message = _error(life.post(contest_url, {"statement": "Once more."}))
    assert (status, code) == (409, "not_contestable")
    assert f"replaced by decision {replacement['decision_id']}" in message
    # The person's decision is not contested through the API.
    status, code, message = _error(
        life.post(f"/v1/decisions/{replacement['decision_id']}/contest", {"statement": "No."})
    )
    assert (status, code) == (409, "not_contestable") and "made by a person" in message
    # The case is closed: a statement, a second decision, a signature, an extension.
    statement_url = f"/v1/reviews/{review_id}/statement"
    status, code, message = _error(life.post(statement_url, {"statement": "One more fact."}))
    assert (status, code) == (409, "case_closed") and "resolved and closed" in message
    closed_moves = [
        lambda: reviews.decide_case(
            uow=life.uow(), case_id=review_id, reviewer=life.anna, outcome="upheld",
            justification=WHY, clock=life.clock,
        ),
        lambda: reviews.claim_case(
            uow=life.uow(), case_id=review_id, reviewer=life.senior, clock=life.clock
        ),
        lambda: reviews.second_signature(
            uow=life.uow(), case_id=review_id, signer=life.senior, agree=True,
            justification=WHY, clock=life.clock,
        ),
        lambda: reviews.extend_case(
            uow=life.uow(), case_id=review_id, reviewer=life.senior, further_months=1,
            reason="The bureau's dispute process needs a further month.", clock=life.clock,
        ),
    ]  # fmt: skip
    for move in closed_moves:
        with pytest.raises(CaseClosed) as refused:
            move()
        assert refused.value.code == "case_closed"
    assert len(announced(life, review_id)) == heard

    # Unknown review: 404 with its own code.
    status, code, _ = _error(life.post("/v1/reviews/no-such-review/statement", {"statement": "x"}))
    assert (status, code) == (404, "review_not_found")

    # Past its window: the message says until when it could be contested.
    late = life.apply(codes())
    until = datetime.fromisoformat(late["contest"]["until"].replace("Z", "+00:00"))
    life.clock.now = until
    life.clock.advance(seconds=1)
    status, code, message = _error(life.post(late["contest"]["url"], {"statement": "Late."}))
    assert (status, code) == (409, "not_contestable")
    assert f"could be contested until {until.date().isoformat()}" in message


def test_the_openapi_document_names_the_refusal_codes(life):
    paths = life.get("/openapi.json")["paths"]
    statement = paths["/v1/reviews/{review_id}/statement"]["post"]["responses"]
    assert "`case_closed`" in statement["409"]["description"]
    assert "`review_not_found`" in statement["404"]["description"]
    contest = paths["/v1/decisions/{decision_id}/contest"]["post"]["responses"]
    assert {"`already_contested`", "`not_contestable`"} <= set(
        contest["409"]["description"].replace(";", " ").replace(":", " ").split()
    )


def test_a_receiver_that_fails_or_never_answers_holds_no_case_back(life, codes):
    life.receiver.failing_with = 500
    life.model(REFERRING)
    answer = life.apply(codes())
    review_id = answer["review"]["review_id"]
    decide(life, review_id, "approved")
    # The case closed and the decision is superseded whatever the receiver does.
    assert life.get(f"/v1/decisions/{answer['decision_id']}")["state"] == "superseded"

    def deliver(timeout_s: float) -> webhooks.DeliveryRound:
        with httpx.Client(timeout=timeout_s) as http:
            return webhooks.deliver_due(uow_factory=life.uow, http=http, clock=life.clock)

    def pending() -> list[webhooks.EventView]:
        with life.uow() as uow:
            return webhooks.events(session=uow.session, review_case_id=review_id)

    # Answering 500: each event is kept with its error and tried again later.
    failed = deliver(5.0)
    assert (failed.delivered, failed.failed) == (0, 3)
    events = pending()
    assert {(e.status, e.attempts) for e in events} == {("pending", 1)}
    assert {e.last_error for e in events} == {"receiver answered HTTP 500"}
    assert all(e.next_attempt_at > life.clock() for e in events)

    # Never answering (within the client's time limit): the same, with the timeout named.
    life.receiver.failing_with = None
    life.receiver.stalling_s = 1.0
    life.clock.advance(minutes=5)
    stalled = deliver(0.3)
    assert (stalled.delivered, stalled.failed) == (0, 3)
    events = pending()
    assert {(e.status, e.attempts) for e in events} == {("pending", 2)}
    assert all("Timeout" in (e.last_error or "") for e in events)

    # Back to normal: every event arrives once (the stalled ones the receiver kept are
    # de-duplicated by event id), in sequence, ending in the resolution.
    life.receiver.stalling_s = 0.0
    life.clock.advance(hours=2)
    heard = announced(life, review_id)
    assert [e["type"] for e in heard] == ["review.opened", "review.claimed", "review.resolved"]
    assert {(e.status, e.attempts) for e in pending()} == {("delivered", 3)}
