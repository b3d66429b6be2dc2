"""Data-subject requests the data-protection officer enters in the reviewer UI.

The issue's alternative to a channel's signed assertion: the officer identified the person
themselves and says how. Each request is answered and audited with the officer and the
identification method; every other role is refused with nothing read or written, and the
personal code never comes back in a page.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from web_session import sign_in

from scoring.domain.pseudonym import pseudonymise
from scoring.storage import tables as t

CODE = "38001085718"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def person(runtime) -> str:  # type: ignore[no-untyped-def]
    pseudonym = pseudonymise(CODE, key=runtime.pseudonym_key)
    with runtime.sessions() as session, session.begin():
        session.add(t.Customer(pseudonym=pseudonym))
    return pseudonym


def _enter(api, csrf: str, kind: str = "objection", **fields: str):  # type: ignore[no-untyped-def]
    form = {"csrf_token": csrf, "personal_code": CODE, "kind": kind,
            "identified_by": "identity-document-in-person", **fields}  # fmt: skip
    return api.post("/review/subjects", data=form)


def _subject_entries(runtime, pseudonym: str) -> list[t.AuditLogEntry]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(t.AuditLogEntry)
                .where(t.AuditLogEntry.entity_type == "data_subject",
                       t.AuditLogEntry.entity_id == pseudonym)
                .order_by(t.AuditLogEntry.seq)
            )
        )  # fmt: skip


def test_the_officer_enters_access_objection_and_erasure_audited_with_the_method(  # type: ignore[no-untyped-def]
    api, runtime, accounts, person
):
    csrf = sign_in(api, "dora", PASSWORD)
    form = api.get("/review/subjects")
    assert form.status_code == 200 and 'name="identified_by"' in form.text

    access = _enter(api, csrf, "access", note="passport, last digits 4411")
    assert access.status_code == 200
    assert access.headers["cache-control"] == "no-store"
    assert access.headers["content-disposition"] == (
        'attachment; filename="data-held-about-you.html"'
    )
    assert "Data held about you" in access.text and CODE not in access.text

    objection = _enter(api, csrf, "objection")
    assert objection.status_code == 200 and 'data-testid="objection-receipt"' in objection.text
    erasure = _enter(api, csrf, "erasure")
    assert erasure.status_code == 200 and 'data-testid="erasure-report"' in erasure.text
    assert CODE not in objection.text + erasure.text

    entries = _subject_entries(runtime, person)
    assert [e.action for e in entries] == ["subject.access", "subject.objection",
                                            "subject.erasure"]  # fmt: skip
    assert {e.actor for e in entries} == {"user:dora"}
    assert entries[0].details["identity"] == {
        "channel": "data-protection-officer",
        "identification_method": "identity-document-in-person",
        "note": "passport, last digits 4411",
    }
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(t.Customer)) == 0, "erased"


@pytest.mark.parametrize("username", ["rita", "sven", "aino"])
def test_another_role_is_refused_and_nothing_is_read_or_written(  # type: ignore[no-untyped-def]
    api, runtime, accounts, person, username
):
    csrf = sign_in(api, username, PASSWORD)
    refused = _enter(api, csrf, "objection")
    assert refused.status_code == 403
    assert "Only the data-protection officer" in refused.text
    assert _subject_entries(runtime, person) == []
    with runtime.sessions() as session:
        assert session.scalar(select(t.Customer.objected_to_profiling_at)) is None


@pytest.mark.parametrize(
    ("fields", "said"),
    [
        ({"personal_code": "38001085719"}, "Personal code:"),  # a wrong check digit
        ({"identified_by": "a hunch"}, "how you identified the person"),
        ({"kind": "rectification"}, "Choose the request"),
        ({"note": "x" * 201}, "at most 200 characters"),
    ],
)
def test_an_incomplete_or_wrong_request_is_refused_by_name_and_changes_nothing(  # type: ignore[no-untyped-def]
    api, runtime, accounts, person, fields, said
):
    csrf = sign_in(api, "dora", PASSWORD)
    form = {"personal_code": CODE, "kind": "objection",
            "identified_by": "identity-document-in-person", **fields}  # fmt: skip
    answer = _enter(api, csrf, **form)
    assert answer.status_code == 422, answer.text
    assert said in answer.text
    assert form["personal_code"] not in answer.text
    assert _subject_entries(runtime, person) == []
