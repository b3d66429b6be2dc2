"""Every path of the lifecycle, as the sales system follows it: through HTTP to the final
outcome and letter, by polling and by webhook, with the reviewers acting in between."""

from __future__ import annotations

from datetime import date

import pytest
from lifecycle_intercepts import DECLINING, REFERRING
from sqlalchemy import update

from scoring.domain.review import CaseClosed, InvalidInput
from scoring.letters import day, money
from scoring.service import reviews
from scoring.storage.tables import Customer

# What the customer's letter says of the outcome (the justification stays internal).
EXPLAIN_ET = "Teie maksete ajalugu ei toeta seda järelmaksu."
EXPLAIN_EN = "Your payment history does not support this plan."

WHY = "Checked the payment history and the bureau class; the request is within policy."


def decide(life, review_id: str, outcome: str, reviewer=None, **terms) -> object:
    reviewer = reviewer or life.anna
    reviews.claim_case(uow=life.uow(), case_id=review_id, reviewer=reviewer, clock=life.clock)
    return reviews.decide_case(
        uow=life.uow(), case_id=review_id, reviewer=reviewer, outcome=outcome,
        justification=WHY, customer_explanation_et=EXPLAIN_ET,
        customer_explanation_en=EXPLAIN_EN, clock=life.clock, **terms,
    )  # fmt: skip


# What the sales system hears of a case a reviewer claims and decides at once.
OPENED_CLAIMED_RESOLVED = ["review.opened", "review.claimed", "review.resolved"]


def announced(life, review_id: str) -> list[dict]:
    """The events the receiver accepted about one case in the order of their ``sequence``,
    checked to follow one another: each starts from the status the one before left."""
    events = [e for e in life.delivered() if e["data"]["review_id"] == review_id]
    events.sort(key=lambda e: e["data"]["sequence"])
    assert [e["data"]["sequence"] for e in events] == list(range(1, len(events) + 1))
    assert events and events[0]["type"] == "review.opened"
    assert events[0]["data"]["previous_status"] is None
    for before, after in zip(events, events[1:], strict=False):
        assert after["data"]["previous_status"] == before["data"]["status"], (before, after)
    return events


def follow_to_the_end(
    life, decision: dict, *, expected: str, moves: list[str] = OPENED_CLAIMED_RESOLVED
) -> dict:
    """Poll the decision and its review, and check the webhooks said the same, move by move."""
    review_id = decision["review"]["review_id"]
    polled = life.get(f"/v1/decisions/{decision['decision_id']}")
    assert polled["state"] == "superseded"
    assert polled["superseded_by"]["outcome"] == expected
    assert polled["review"]["status"] == "resolved" and polled["review"]["statement_url"] is None
    replacement = life.get(f"/v1/decisions/{polled['superseded_by']['decision_id']}")
    assert replacement["state"] == "decided" and replacement["automated"] is False
    assert replacement["supersedes"] == decision["decision_id"]
    assert replacement["review"]["review_id"] == review_id
    assert "made by a member of our staff" in replacement["notice"]["en"]
    review = life.get(f"/v1/reviews/{review_id}")
    assert review["status"] == "resolved" and review["resulting_outcome"] == expected
    assert review["letter"]["et"] and review["letter"]["en"]
    events = announced(life, review_id)
    assert [e["type"] for e in events] == moves
    waiting = "under_review" if review["kind"] == "contest" else "awaiting_person"
    assert [e["data"]["decision_state"] for e in events] == [waiting] * (len(moves) - 1) + [
        "superseded"
    ]
    last = events[-1]["data"]
    assert (last["status"], last["resulting_outcome"]) == ("resolved", expected)
    assert last["resulting_decision_id"] == polled["superseded_by"]["decision_id"]
    assert last["outcome"] == review["outcome"]
    return review


def test_an_approval_is_final_and_says_it_was_automated(life, codes):
    answer = life.apply(codes())
    assert (answer["outcome"], answer["state"], answer["review"]) == ("approve", "decided", None)
    assert answer["letter"] is None
    assert "decided by automated means" in answer["notice"]["en"]
    assert "Creditinfo" in answer["notice"]["en"] and "automatiseeritult" in answer["notice"]["et"]
    assert answer["contest"]["url"].startswith("http://testserver/v1/decisions/")
    assert life.get(f"/v1/decisions/{answer['decision_id']}") == answer


@pytest.mark.parametrize(
    ("outcome", "expected", "said"),
    [("upheld", "decline", "The decision stands"), ("overturned", "approve", "is changed")],
)
def test_a_decline_contested_and_reviewed(life, codes, outcome, expected, said):
    life.model(DECLINING)
    answer = life.apply(codes())
    assert answer["outcome"] == "decline" and answer["state"] == "decided"
    # The letter says how to contest in the customer's terms, never by an API path.
    assert "Until " in answer["letter"]["en"] and "/v1/" not in answer["letter"]["en"]
    assert "www.example.com/jarelmaks" in answer["letter"]["en"]
    contest = life.post(answer["contest"]["url"], {"statement": "I paid every invoice on time."})
    assert contest.status_code == 201, contest.text
    review_id = contest.json()["review_id"]
    polled = life.get(f"/v1/decisions/{answer['decision_id']}")
    assert polled["state"] == "under_review"
    assert polled["review"]["kind"] == "contest" and polled["review"]["review_id"] == review_id
    assert polled["review"]["url"] == f"http://testserver/v1/reviews/{review_id}"

    decide(life, review_id, outcome)
    review = follow_to_the_end(life, polled, expected=expected)
    assert (
        said in review["letter"]["en"]
        and "asked us to review our decision" in (review["letter"]["en"])
    )
    # A superseded decision is not contested again.
    again = life.post(answer["contest"]["url"], {"statement": "Once more, please."})
    assert again.status_code == 409 and "replaced by decision" in again.json()["error"]["message"]


def test_a_model_refer_opens_a_case_a_reviewer_decides(life, codes):
    life.model(REFERRING)
    answer = life.apply(codes())
    assert (answer["outcome"], answer["state"]) == ("refer", "awaiting_person")
    review = answer["review"]
    assert review["kind"] == "referral" and review["status"] == "open"
    assert review["url"] == f"http://testserver/v1/reviews/{review['review_id']}"
    assert answer["contest"] is None
    due = day(date.fromisoformat(review["due_on"]), "en")
    assert review["review_id"] in answer["letter"]["en"] and due in answer["letter"]["en"]
    assert "could neither approve nor decline your application" in answer["letter"]["en"]
    assert "first assessed by automated means" in answer["notice"]["en"]

    # Nothing was decided: a contest is refused for what it is, and a statement is taken.
    refused = life.post(f"/v1/decisions/{answer['decision_id']}/contest", {"statement": "Hi"})
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "did not decide the application" in message and "made by a person" not in message
    added = life.post(review["statement_url"], {"statement": "My salary rose in November."})
    assert added.status_code == 201, added.text

    with pytest.raises(InvalidInput, match="no decision was made that could be upheld"):
        decide(life, review["review_id"], "upheld")
    reviews.release_case(
        uow=life.uow(), case_id=review["review_id"], reviewer=life.anna, clock=life.clock
    )
    decide(life, review["review_id"], "approved")
    moves = ["review.opened", "review.statement_added", "review.claimed", "review.released"]
    letter = follow_to_the_end(
        life, answer, expected="approve", moves=moves + ["review.claimed", "review.resolved"]
    )["letter"]
    said = "could neither approve nor decline your application, so a member of our staff decided"
    assert said in letter["en"]
    assert "Your application is approved" in letter["en"]
    assert "and at what you told us" in letter["en"]
    assert "the decision stands" not in letter["en"].lower()

    # The case is closed: no statement, no second decision, each refused as closed.
    late = life.post(review["statement_url"], {"statement": "One more thing."})
    assert late.status_code == 409 and "closed" in late.json()["error"]["message"]
    assert late.json()["error"]["code"] == "case_closed"
    with pytest.raises(CaseClosed, match="resolved and closed") as twice:
        decide(life, review["review_id"], "declined")
    assert twice.value.code == "case_closed"
    with pytest.raises(CaseClosed, match="nobody can decide it any more"):
        reviews.decide_case(
            uow=life.uow(), case_id=review["review_id"], reviewer=life.anna, outcome="declined",
            justification=WHY, clock=life.clock,
        )  # fmt: skip
    # Nothing was announced for what was refused.
    assert [e["type"] for e in announced(life, review["review_id"])][-1] == "review.resolved"


def test_a_bureau_unavailable_refer_is_decided_by_a_person(life, codes):
    life.runtime.bureau.failure = "unavailable"
    answer = life.apply(codes())
    assert answer["outcome"] == "refer" and answer["review"]["kind"] == "referral"
    assert "The credit bureau did not answer" in answer["letter"]["en"]
    assert "Krediidibüroo ei vastanud" in answer["letter"]["et"]
    assert "did not answer" in answer["notice"]["en"]
    life.runtime.bureau.failure = None  # the bureau is back; the person decides
    decide(life, answer["review"]["review_id"], "declined")
    letter = follow_to_the_end(life, answer, expected="decline")["letter"]
    assert "Your application is declined" in letter["en"]


@pytest.mark.parametrize(
    ("outcome", "expected"), [("approved", "approve"), ("declined", "decline")]
)
def test_a_requested_human_review_is_decided_by_a_person(life, codes, outcome, expected):
    answer = life.apply(codes(), human_review_requested=True)
    assert (answer["outcome"], answer["state"]) == ("pending_review", "awaiting_person")
    assert answer["review"]["kind"] == "human_review_requested"
    assert "As you asked, your application will be decided by" in answer["letter"]["en"]
    assert "decided by a member of our staff, not by automated means" in answer["notice"]["en"]
    decide(life, answer["review"]["review_id"], outcome)
    letter = follow_to_the_end(life, answer, expected=expected)["letter"]
    assert "As you asked, a member of our staff decided your application" in letter["en"]
    assert "asked us to review our decision" not in letter["en"]


def test_an_objection_sends_the_next_application_to_a_person(life, codes):
    code = codes()
    first = life.apply(code)
    with life.uow() as uow:
        uow.session.execute(update(Customer).values(objected_to_profiling_at=life.clock()))
    answer = life.apply(code)
    assert answer["outcome"] == "pending_review" and answer["review"]["kind"] == "objection"
    assert "Because you objected to profiling" in answer["letter"]["en"]
    decide(life, answer["review"]["review_id"], "terms_changed", new_terms=_terms(400, 12))
    letter = follow_to_the_end(life, answer, expected="approve")["letter"]
    assert "on other terms: €400.00 in 12 monthly instalments" in letter["en"]
    assert first["state"] == "decided"


def test_with_the_stop_switch_on_a_person_decides_every_application(life, codes):
    life.stop_switch(True)
    answer = life.apply(codes())
    assert answer["outcome"] == "pending_review" and answer["automated"] is False
    # The customer is told what happens and by when, in both languages and their forms.
    letter, due = answer["letter"], date.fromisoformat(answer["review"]["due_on"])
    assert "Automated decisions are paused" in letter["en"]
    assert "Automatiseeritud otsuste tegemine on praegu peatatud" in letter["et"]
    for lang in ("et", "en"):
        assert day(due, lang) in letter[lang] and money(500.0, lang) in letter[lang]
        assert answer["review"]["review_id"] in letter[lang]
    life.stop_switch(False)
    # Replayed later, with the switch off, it is still the decision the switch made.
    from scoring.service import decision_log

    with life.uow() as uow:
        replayed = decision_log.replay(
            session=uow.session, decision_id=answer["decision_id"], models=life.runtime.models
        )
    assert replayed.matches and replayed.replayed_outcome == "pending_review", replayed
    assert replayed.notes == []
    decide(life, answer["review"]["review_id"], "approved")
    follow_to_the_end(life, answer, expected="approve")


def _terms(amount: float, months: int):
    from scoring.domain.review import NewTerms

    return NewTerms(amount, months)


def test_audit_replays_a_persons_decision_and_verifies_the_supersede_links(life, codes):
    from scoring.service import decision_log
    from scoring.storage.tables import Decision, ReviewCase

    life.model(REFERRING)
    answer = life.apply(codes())
    review_id = answer["review"]["review_id"]
    decided = decide(life, review_id, "declined")
    replacement = decided.resulting_decision_id
    with life.uow() as uow:
        result = decision_log.replay(
            session=uow.session, decision_id=replacement, models=life.runtime.models
        )
        assert result.matches and result.made_by_person, result.differences
        assert (result.stored_outcome, result.replayed_outcome) == ("decline", "decline")
        # The automated refer it replaced still replays with its model.
        assert decision_log.replay(
            session=uow.session, decision_id=answer["decision_id"], models=life.runtime.models
        ).matches
        assert decision_log.verify(session=uow.session) == []

    # A justification changed after the fact, or a link bent to another decision, is found.
    with life.uow() as uow:
        uow.session.execute(
            update(ReviewCase).where(ReviewCase.id == review_id).values(justification="Changed.")
        )
    with life.uow() as uow:
        result = decision_log.replay(
            session=uow.session, decision_id=replacement, models=life.runtime.models
        )
    assert not result.matches and "justification" in "; ".join(result.differences)

    other = life.apply(codes())
    with life.uow() as uow:
        uow.session.execute(
            update(Decision)
            .where(Decision.id == replacement)
            .values(supersedes_decision_id=other["decision_id"])
        )
    with life.uow() as uow:
        breaks = decision_log.verify(session=uow.session)
    assert any("supersedes_decision_id" in b.problem for b in breaks), breaks


def test_every_move_of_a_case_reaches_the_sales_system_by_webhook(life, codes):
    """Statement, claim, escalation, extension, a proposal sent back, a second signature:
    each move is one signed event, and polling says the same at every step."""
    answer = life.apply(codes(), amount=6000.0, human_review_requested=True)
    review_id = answer["review"]["review_id"]
    decision_url = f"/v1/decisions/{answer['decision_id']}"
    anna, senior, senior2 = life.anna, life.senior, life.senior2

    def step(action, **arguments) -> str:
        action(uow=life.uow(), case_id=review_id, clock=life.clock, **arguments)
        return announced(life, review_id)[-1]["type"]

    def statement() -> str:
        added = life.post(answer["review"]["statement_url"], {"statement": "Salary rose."})
        assert added.status_code == 201, added.text
        return announced(life, review_id)[-1]["type"]

    said = [announced(life, review_id)[-1]["type"], statement()]
    said.append(step(reviews.claim_case, reviewer=anna))
    # Keeping a claim moves nothing and tells nobody.
    reviews.keep_claim(uow=life.uow(), case_id=review_id, reviewer=anna, clock=life.clock)
    assert len(announced(life, review_id)) == len(said)
    said.append(step(reviews.escalate_case, reviewer=anna, note="Large amount; please check."))
    said.append(step(reviews.claim_case, reviewer=senior))
    said.append(step(
        reviews.extend_case, reviewer=senior, further_months=1,
        reason="The bureau's dispute process needs a further month to conclude.",
    ))  # fmt: skip
    said.append(step(reviews.decide_case, reviewer=senior, outcome="approved", justification=WHY))
    # A proposal is not an outcome yet: neither the event nor the review tells it.
    proposal = announced(life, review_id)[-1]["data"]
    assert (proposal["status"], proposal["outcome"]) == ("awaiting_second_signature", None)
    assert life.get(f"/v1/reviews/{review_id}")["outcome"] is None
    assert life.get(decision_url)["state"] == "awaiting_person"
    said.append(step(reviews.second_signature, signer=senior2, agree=False, justification=WHY))
    said.append(step(reviews.claim_case, reviewer=senior))
    said.append(step(reviews.decide_case, reviewer=senior, outcome="approved", justification=WHY))
    said.append(step(reviews.second_signature, signer=senior2, agree=True, justification=WHY))

    assert said == [
        "review.opened",
        "review.statement_added",
        "review.claimed",
        "review.escalated",
        "review.claimed",
        "review.extended",
        "review.second_signature_requested",
        "review.second_signature_refused",
        "review.claimed",
        "review.second_signature_requested",
        "review.resolved",
    ]
    events = announced(life, review_id)
    assert [e["data"]["status"] for e in events] == [
        "open", "open", "claimed", "open", "claimed", "claimed", "awaiting_second_signature",
        "open", "claimed", "awaiting_second_signature", "resolved",
    ]  # fmt: skip
    extended = events[5]["data"]
    assert extended["extended_due_on"] == life.get(decision_url)["review"]["due_on"]
    resolved = events[-1]["data"]
    assert (resolved["outcome"], resolved["resulting_outcome"]) == ("approved", "approve")
    assert resolved["second_signature"] is True and resolved["decision_state"] == "superseded"
    polled = life.get(decision_url)
    assert polled["state"] == "superseded"
    assert polled["superseded_by"]["decision_id"] == resolved["resulting_decision_id"]
    # Every request was signed; nothing personal travels in an event.
    assert all(r["signed"] for r in life.receiver.requests)
    assert not any("Salary" in str(e) or "Large amount" in str(e) for e in events)
