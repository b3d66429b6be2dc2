"""Every route of the application and the credential it requires, checked route by route.

``ACCESS`` classifies each (method, path) of the API and of the reviewer UI mounted at
``/review``. A route added without a line here fails ``test_every_route_is_classified``,
so nobody ships an endpoint whose protection was never decided.
"""

from __future__ import annotations

import pytest
from routes_inventory import all_routes
from web_session import sign_in

PUBLIC = "public"  # no credential: health, readiness, metrics, the API's own documentation
SIGN_IN = "sign-in"  # the sign-in form itself
ENTRY = "entry"  # only a redirect to the queue, which itself needs a session
SESSION = "session"  # a signed-in reviewer of any role (auditors included) may read
SESSION_FORM = "session-form"  # any signed-in person, with the session's CSRF token
CASE_WORK = "case-work"  # reviewers and senior reviewers only; auditors are refused
# Change control and the stop switch: CSRF-checked; the use case checks the role
# (risk_approver decides, risk_analyst proposes, oversight turns the switch).
CHANGE_FORM = "change-form"
# Data-subject requests entered in the UI: the data-protection officer only (CSRF-checked).
OFFICER = "officer"

ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/docs-assets/{file}"): PUBLIC,
    ("POST", "/v1/decisions"): "decisions:write",
    ("GET", "/v1/decisions/{decision_id}"): "decisions:read",
    ("POST", "/v1/decisions/{decision_id}/contest"): "reviews:write",
    ("GET", "/v1/reviews/{review_id}"): "reviews:read",
    ("POST", "/v1/reviews/{review_id}/statement"): "reviews:write",
    ("POST", "/v1/subjects/access"): "subjects:write",
    ("POST", "/v1/subjects/erasure"): "subjects:write",
    ("POST", "/v1/subjects/objection"): "subjects:write",
    ("GET", "/review/static/{file}"): PUBLIC,
    ("GET", "/review/login"): SIGN_IN,
    ("POST", "/review/login"): SIGN_IN,
    ("GET", "/review/"): ENTRY,
    ("GET", "/review/queue"): SESSION,
    ("GET", "/review/oversight"): SESSION,
    ("GET", "/review/cases/{case_id}"): SESSION,
    ("GET", "/review/cases/{case_id}/audit"): SESSION,
    ("GET", "/review/changes"): SESSION,
    ("GET", "/review/models/{version}/card"): SESSION,
    ("GET", "/review/automation"): SESSION,
    ("POST", "/review/changes/{change_id}/approve"): CHANGE_FORM,
    ("POST", "/review/changes/{change_id}/refuse"): CHANGE_FORM,
    ("POST", "/review/changes/rollback"): CHANGE_FORM,
    ("POST", "/review/automation"): CHANGE_FORM,
    ("GET", "/review/subjects"): OFFICER,
    ("POST", "/review/subjects"): OFFICER,
    ("POST", "/review/logout"): SESSION_FORM,
    ("POST", "/review/queue/claim-next"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/claim"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/skip"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/release"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/decide"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/second-signature"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/extend"): CASE_WORK,
    ("POST", "/review/cases/{case_id}/escalate"): CASE_WORK,
}
API_SCOPES = sorted({a for a in ACCESS.values() if ":" in a})
UI_PAGES = {SESSION, SESSION_FORM, CASE_WORK, CHANGE_FORM, OFFICER}
EXAMPLE_PARAMS = {
    "{decision_id}": "D-unknown",
    "{review_id}": "R-unknown",
    "{case_id}": "C-unknown",
    "{change_id}": "999999",
    "{file}": "review.css",
}
API_BODIES = {
    "/v1/decisions": {
        "application_id": "APP-0001",
        "personal_code": "38001085718",
        "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"},
        "channel": "web",
    },
    "/v1/decisions/{decision_id}/contest": {"statement": "My income has risen since."},
    "/v1/reviews/{review_id}/statement": {"statement": "My income has risen since."},
    "/v1/subjects/access": {"personal_code": "38001085718"},
    "/v1/subjects/erasure": {"personal_code": "38001085718"},
    "/v1/subjects/objection": {"personal_code": "38001085718"},
}


# Paths whose example is not the general one above.
EXAMPLE_URLS = {"/docs-assets/{file}": "/docs-assets/swagger-ui.css"}


def url(path: str) -> str:
    if path in EXAMPLE_URLS:
        return EXAMPLE_URLS[path]
    for param, value in EXAMPLE_PARAMS.items():
        path = path.replace(param, value)
    return path


def routes(kind) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    chosen = [r for r, a in ACCESS.items() if (a in kind if isinstance(kind, set) else a == kind)]
    return sorted(chosen, key=lambda r: (r[1], r[0]))


def call(api, method: str, path: str, *, headers=None, csrf: str | None = None):  # type: ignore[no-untyped-def]
    if method == "GET":
        return api.get(url(path), headers=headers)
    if path.startswith("/v1/"):
        return api.post(url(path), json=API_BODIES[path], headers=headers)
    return api.post(url(path), data={"csrf_token": csrf} if csrf else {}, headers=headers)


def test_every_route_is_classified(app):  # type: ignore[no-untyped-def]
    present = all_routes(app)
    unclassified = sorted(present - set(ACCESS))
    assert not unclassified, f"classify these routes in ACCESS: {unclassified}"
    gone = sorted(set(ACCESS) - present)
    assert not gone, f"ACCESS lists routes the app no longer has: {gone}"


@pytest.mark.parametrize(("method", "path"), routes(PUBLIC))
def test_public_routes_answer_without_credentials(api, method, path):  # type: ignore[no-untyped-def]
    assert call(api, method, path).status_code == 200


def test_the_ui_entry_only_redirects_to_the_queue_which_needs_a_session(api):  # type: ignore[no-untyped-def]
    (path,) = [p for (_m, p), a in ACCESS.items() if a == ENTRY]
    entry = api.get(path)
    assert entry.status_code == 303
    assert entry.headers["location"].endswith("/review/queue")
    assert api.get("/review/queue").headers["location"].endswith("/review/login")


def test_the_sign_in_form_is_open_and_its_post_checks_its_own_token(api, accounts):  # type: ignore[no-untyped-def]
    assert api.get("/review/login").status_code == 200
    forged = api.post(
        "/review/login",
        data={"username": "rita", "password": "correct horse battery staple", "csrf_token": "x"},
    )
    assert forged.status_code == 403
    assert "review_session" not in forged.cookies


@pytest.mark.parametrize(("method", "path"), routes(set(API_SCOPES)))
@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Bearer not-a-key",
     "Bearer ik_000000000000_" + "A" * 43],
    ids=["none", "empty", "bearer-without-key", "basic", "malformed", "unknown"],
)  # fmt: skip
def test_api_routes_refuse_requests_without_a_valid_key_with_401(api, method, path, authorization):  # type: ignore[no-untyped-def]
    headers = {} if authorization is None else {"Authorization": authorization}
    response = call(api, method, path, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), routes(set(API_SCOPES)))
def test_api_routes_refuse_a_key_without_their_scope_with_403(api, key_with, method, path):  # type: ignore[no-untyped-def]
    needed = ACCESS[(method, path)]
    others = [s for s in API_SCOPES if s != needed]
    response = call(api, method, path, headers={"Authorization": f"Bearer {key_with(*others)}"})
    assert response.status_code == 403, response.text
    assert response.json()["error"] == {
        "code": "forbidden",
        "message": f"this API key lacks the scope {needed}",
    }


@pytest.mark.parametrize(("method", "path"), routes(set(API_SCOPES)))
def test_api_routes_let_a_key_with_only_their_scope_through(api, key_with, method, path):  # type: ignore[no-untyped-def]
    needed = ACCESS[(method, path)]
    response = call(api, method, path, headers={"Authorization": f"Bearer {key_with(needed)}"})
    if path.startswith("/v1/subjects/"):
        # Past the key and its scope, the person's identity must be proven as well; the
        # subject flow by credential and proof across two clients is test_subject_access.py.
        assert response.json()["error"]["code"] == "identity_proof_required", response.text
        return
    assert response.status_code not in (401, 403), response.text


@pytest.mark.parametrize(("method", "path"), routes(UI_PAGES))
def test_reviewer_pages_without_a_session_redirect_to_sign_in(api, method, path):  # type: ignore[no-untyped-def]
    response = call(api, method, path)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/review/login")


@pytest.mark.parametrize(("method", "path"), routes(UI_PAGES))
def test_reviewer_pages_ignore_an_api_key(api, key_with, method, path):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {key_with(*API_SCOPES)}"}
    response = call(api, method, path, headers=headers)
    assert response.status_code == 303
    assert response.headers["location"].endswith("/review/login")


@pytest.mark.parametrize(("method", "path"), routes(set(API_SCOPES)))
def test_api_routes_ignore_a_reviewer_session(api, accounts, method, path):  # type: ignore[no-untyped-def]
    sign_in(api, "sven", "correct horse battery staple")
    response = call(api, method, path)
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("method", "path"), routes(CASE_WORK))
def test_an_auditor_cannot_post_any_case_work_form(api, accounts, method, path):  # type: ignore[no-untyped-def]
    csrf = sign_in(api, "aino", "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    assert response.status_code == 403
    assert "cannot change anything" in response.text


@pytest.mark.parametrize(("method", "path"), routes({CASE_WORK, SESSION_FORM, CHANGE_FORM}))
@pytest.mark.parametrize("username", ["rita", "sven", "aino"])
def test_a_form_without_the_sessions_csrf_token_is_refused(api, accounts, method, path, username):  # type: ignore[no-untyped-def]
    sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path, csrf="forged-token")
    assert response.status_code == 403
    assert "security token" in response.text


@pytest.mark.parametrize(("method", "path"), routes(SESSION))
@pytest.mark.parametrize("username", ["rita", "sven", "aino"])
def test_every_role_may_read_the_reviewer_pages(api, accounts, method, path, username):  # type: ignore[no-untyped-def]
    sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path)
    # An unknown case is 404; the pages themselves open for every role.
    assert response.status_code in (200, 303, 404), response.text
    if response.status_code == 303:
        assert not response.headers["location"].endswith("/login")


@pytest.mark.parametrize(("method", "path"), routes(CASE_WORK))
@pytest.mark.parametrize("username", ["rita", "sven"])
def test_reviewers_get_past_the_role_gate(api, accounts, method, path, username):  # type: ignore[no-untyped-def]
    csrf = sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    # Past the gate the case is unknown (404), the form incomplete, or the queue empty.
    assert response.status_code != 403 or "cannot change anything" not in response.text
    assert response.status_code < 500


@pytest.mark.parametrize(("method", "path"), routes(CHANGE_FORM))
@pytest.mark.parametrize("username", ["rita", "aino"])
def test_reviewers_and_auditors_cannot_change_models_policies_or_the_switch(  # type: ignore[no-untyped-def]
    api, accounts, method, path, username
):
    csrf = sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    assert response.status_code == 403, response.text


# Pages that only the case readers (reviewers, seniors, auditors) open.
CASE_PAGES = {"/review/queue", "/review/oversight", "/review/cases/{case_id}",
              "/review/cases/{case_id}/audit"}  # fmt: skip


@pytest.mark.parametrize(("method", "path"), routes(OFFICER))
@pytest.mark.parametrize("username", ["rita", "sven", "aino"])
def test_only_the_data_protection_officer_opens_or_posts_the_subject_pages(  # type: ignore[no-untyped-def]
    api, accounts, method, path, username
):
    csrf = sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    assert response.status_code == 403, response.text
    assert "Only the data-protection officer" in response.text


@pytest.mark.parametrize(("method", "path"), routes(OFFICER))
def test_the_data_protection_officer_gets_past_the_role_gate(api, accounts, method, path):  # type: ignore[no-untyped-def]
    csrf = sign_in(api, "dora", "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    # The form opens; posted empty, it asks for the request and the identification.
    assert response.status_code == (200 if method == "GET" else 422), response.text


def test_the_subject_form_without_the_sessions_csrf_token_is_refused(api, accounts):  # type: ignore[no-untyped-def]
    sign_in(api, "dora", "correct horse battery staple")
    response = call(api, "POST", "/review/subjects", csrf="forged-token")
    assert response.status_code == 403
    assert "security token" in response.text


@pytest.mark.parametrize(("method", "path"), routes(SESSION))
def test_the_data_protection_officer_reads_no_case(api, accounts, method, path):  # type: ignore[no-untyped-def]
    sign_in(api, "dora", "correct horse battery staple")
    response = call(api, method, path)
    if path in CASE_PAGES:
        assert response.status_code == 403, response.text
    elif "{version}" in path:  # a model card is open to every role (here: no such version)
        assert response.status_code == 404, response.text
    else:  # the change requests and the stop switch's state are open to every signed-in role
        assert response.status_code == 200, response.text


@pytest.mark.parametrize(("method", "path"), routes({CASE_WORK, CHANGE_FORM}))
def test_the_data_protection_officer_cannot_work_cases_or_change_anything(  # type: ignore[no-untyped-def]
    api, accounts, method, path
):
    csrf = sign_in(api, "dora", "correct horse battery staple")
    assert call(api, method, path, csrf=csrf).status_code == 403


@pytest.mark.parametrize(("method", "path"), routes(set(API_SCOPES)))
@pytest.mark.parametrize("state", ["expired", "revoked"])
def test_api_routes_refuse_an_expired_or_revoked_key_with_401(api, runtime, method, path, state):  # type: ignore[no-untyped-def]
    from datetime import timedelta

    from scoring.service.api_keys import create_api_key, revoke_api_key
    from scoring.storage.db import UnitOfWork

    issued = create_api_key(
        uow=UnitOfWork(runtime.sessions), client="sales", scopes=API_SCOPES, clock=runtime.clock,
        expires_at=runtime.clock.now + timedelta(minutes=5) if state == "expired" else None,
    ).key  # fmt: skip
    if state == "expired":
        runtime.clock.now += timedelta(minutes=6)
    else:
        revoke_api_key(uow=UnitOfWork(runtime.sessions), prefix=issued.split("_")[1],
                       clock=runtime.clock)  # fmt: skip
    response = call(api, method, path, headers={"Authorization": f"Bearer {issued}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), routes(UI_PAGES))
@pytest.mark.parametrize("state", ["idle", "revoked"])
def test_reviewer_pages_after_the_session_ended_send_to_sign_in(  # type: ignore[no-untyped-def]
    api, runtime, accounts, method, path, state
):
    from datetime import timedelta

    from review_ui.accounts import revoke_sessions
    from scoring.storage.db import UnitOfWork

    csrf = sign_in(api, "sven", "correct horse battery staple")
    if state == "idle":
        runtime.clock.now += timedelta(minutes=31)
    else:
        with UnitOfWork(runtime.sessions) as uow:
            revoke_sessions(uow=uow, username="sven", now=runtime.clock.now, actor="operator")
    response = call(api, method, path, csrf=csrf)
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith("/review/login")


# Which roles get past each reviewer page's gate; every other role is answered 403.
READERS = {"reviewer", "senior_reviewer", "auditor"}
ROLE_OF = {
    "rita": "reviewer", "sven": "senior_reviewer", "aino": "auditor",
    "dora": "data_protection_officer", "ria": "risk_analyst", "rolf": "risk_approver",
    "olle": "oversight",
}  # fmt: skip
EVERYONE = set(ROLE_OF.values())
LET_THROUGH: dict[tuple[str, str], set[str]] = {
    ("GET", "/review/queue"): READERS,
    ("GET", "/review/oversight"): READERS,
    ("GET", "/review/cases/{case_id}"): READERS,
    ("GET", "/review/cases/{case_id}/audit"): READERS,
    ("GET", "/review/changes"): EVERYONE,
    ("GET", "/review/models/{version}/card"): EVERYONE,
    ("GET", "/review/automation"): EVERYONE,
    ("GET", "/review/subjects"): {"data_protection_officer"},
    ("POST", "/review/subjects"): {"data_protection_officer"},
    ("POST", "/review/logout"): EVERYONE,
    ("POST", "/review/changes/{change_id}/approve"): {"risk_approver"},
    ("POST", "/review/changes/{change_id}/refuse"): {"risk_approver"},
    ("POST", "/review/changes/rollback"): {"risk_analyst", "risk_approver"},
    ("POST", "/review/automation"): {"oversight", "senior_reviewer"},
    **{route: {"reviewer", "senior_reviewer"} for route in routes(CASE_WORK)},
}


def test_the_role_table_names_every_reviewer_page():
    assert set(LET_THROUGH) == set(routes(UI_PAGES))


@pytest.mark.parametrize(("method", "path"), routes(UI_PAGES))
@pytest.mark.parametrize("username", sorted(ROLE_OF))
def test_each_role_on_each_reviewer_page(api, accounts, method, path, username):  # type: ignore[no-untyped-def]
    csrf = sign_in(api, username, "correct horse battery staple")
    response = call(api, method, path, csrf=csrf)
    if ROLE_OF[username] in LET_THROUGH[(method, path)]:
        # Past the gate: the page, an unknown case or change (404), an incomplete form
        # (422, or 400/409 from the use case), or a redirect that is not to sign-in.
        assert response.status_code not in (401, 403) and response.status_code < 500, (
            response.status_code, response.text[:300])  # fmt: skip
        if response.status_code == 303 and path != "/review/logout":
            assert not response.headers["location"].endswith("/login")
    else:
        assert response.status_code == 403, (response.status_code, response.text[:300])
