"""One error tree, one map to HTTP statuses: the API and the reviewer UI answer alike."""

from __future__ import annotations

import importlib

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from scoring.api.errors import STATUS_OF, install_error_handlers, status_for
from scoring.domain.errors import (
    BRANCHES,
    ConflictError,
    EngineError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    NotPermittedError,
    RateLimitedError,
    UnavailableError,
    branch_of,
)

# Every module that defines errors the product raises on purpose.
ERROR_MODULES = (
    "data_contracts.loader",
    "data_contracts.world_folder",
    "models.evaluation.fairness",
    "scoring.features.catalogue",
    "scoring.domain.identity_proof",
    "models.monitoring.drift",
    "models.monitoring.run",
    "models.registry",
    "models.training.scoring_model",
    "models.training.train",
    "models.world.errors",
    "review_ui.accounts",
    "review_ui.app",
    "scoring.api.server",
    "scoring.bureau.client",
    "scoring.bureau.simulator",
    "scoring.domain.payment_defaults",
    "scoring.domain.personal_code",
    "scoring.domain.policy",
    "scoring.domain.review",
    "scoring.service.payment_default_reporting",
    "scoring.service.errors",
    "scoring.service.reviews",
    "scoring.service.subject_requests",
    "scoring.service.webhooks",
    "scoring.storage.db",
    "scoring.storage.identity_vault",
    "scoring.storage.ingest",
)
# Each area's own base class: caught as a group, never raised without a branch.
AREA_BASES = {
    "AccountError",
    "BureauError",
    "DefaultReportingError",
    "ReviewError",
    "ServiceError",
    "StorageError",
    "WorldError",
}
# Codes the API's error bodies and the metrics already carry: they must not change.
STABLE_CODES = {
    "scoring.service.errors.InvalidApplication": "invalid_application",
    "scoring.service.errors.IdempotencyConflict": "idempotency_key_reused",
    "scoring.service.errors.ApplicationAlreadyDecided": "application_already_decided",
    "scoring.service.errors.DecisionNotFound": "decision_not_found",
    "scoring.service.errors.NoChampionModel": "no_champion_model",
    "scoring.service.errors.AuthenticationFailed": "unauthenticated",
    "scoring.service.errors.ScopeMissing": "forbidden",
    "scoring.service.errors.ApiKeyError": "api_key_error",
    "scoring.service.errors.ReviewNotFound": "review_not_found",
    "scoring.service.errors.AlreadyContested": "already_contested",
    "scoring.service.errors.NotContestable": "not_contestable",
    "scoring.service.errors.InvalidContest": "invalid_contest",
    "scoring.domain.review.CaseClosed": "case_closed",
    "scoring.service.subject_requests.InvalidSubjectRequest": "invalid_personal_code",
    "scoring.service.webhooks.WebhookError": "webhook_error",
    "scoring.service.payment_default_reporting.ReportDateInFuture": "report_date_in_future",
    "scoring.service.payment_default_reporting.ReportOutOfOrder": "report_out_of_order",
    "scoring.service.payment_default_reporting.ReportAlreadyMade": "report_already_made",
    "scoring.service.payment_default_reporting.CustomerNotFound": "customer_not_found",
    "scoring.service.payment_default_reporting.DefaultNotFound": "default_not_found",
    "scoring.service.payment_default_reporting.DatabaseUnreadable": "database_unreadable",
}


def _all_errors() -> list[type[EngineError]]:
    for name in ERROR_MODULES:
        importlib.import_module(name)
    found: list[type[EngineError]] = []
    pending = [EngineError]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return [cls for cls in found if cls not in BRANCHES]


def test_every_branch_and_the_root_has_a_status():
    assert set(STATUS_OF) == {EngineError, *BRANCHES}
    assert {branch: STATUS_OF[branch] for branch in BRANCHES} == {
        InvalidInputError: 422,
        NotAuthenticatedError: 401,
        NotPermittedError: 403,
        NotFoundError: 404,
        ConflictError: 409,
        RateLimitedError: 429,
        UnavailableError: 503,
    }


def test_every_error_class_sits_on_exactly_one_branch():
    errors = _all_errors()
    assert len(errors) > 60
    for cls in errors:
        if cls.__name__ in AREA_BASES:
            continue
        on = [branch for branch in BRANCHES if issubclass(cls, branch)]
        assert len(on) == 1, f"{cls.__module__}.{cls.__name__} is on {on}"
        assert branch_of(cls) is on[0]


@pytest.mark.parametrize(("path", "code"), STABLE_CODES.items())
def test_error_codes_stay_as_they_were(path: str, code: str):
    module, _, name = path.rpartition(".")
    assert getattr(importlib.import_module(module), name).code == code


def test_the_review_errors_still_import_from_the_review_service():
    from scoring.service import errors, reviews

    for name in ("ReviewNotFound", "AlreadyContested", "NotContestable", "InvalidContest"):
        assert getattr(reviews, name) is getattr(errors, name)


def _samples() -> list[EngineError]:
    from review_ui.accounts import SignInRefused
    from review_ui.app import Forbidden
    from scoring.bureau.client import BureauUnavailable
    from scoring.domain.review import CaseClosed, InvalidInput, NotPermitted, WrongState
    from scoring.service import errors
    from scoring.storage.db import DatabaseUnavailable

    return [
        errors.ServiceError("a refusal that names no branch"),
        InvalidInput("a justification is required"),
        errors.InvalidContest("the statement is empty", field="statement"),
        errors.InvalidApplication("the term is not offered", field="term_months"),
        errors.AuthenticationFailed("the API key is unknown"),
        SignInRefused(),
        NotPermitted("an auditor may not claim cases"),
        errors.ScopeMissing("the key lacks reviews:write"),
        Forbidden("Your role can read cases but cannot change anything."),
        errors.ReviewNotFound("no review case R-1"),
        errors.DecisionNotFound("no decision D-1"),
        WrongState("case R-1 is claimed by another reviewer"),
        CaseClosed("case R-1 is resolved and closed; nobody can decide it any more"),
        errors.AlreadyContested("the decision has a contest case already"),
        errors.NoChampionModel("no model is promoted to champion"),
        DatabaseUnavailable("sqlite:///nowhere.db", "unable to open database file"),
        BureauUnavailable("the bureau did not answer in time", reason="timeout"),
    ]


SAMPLES = _samples()


def _raising(app: FastAPI) -> None:
    def raise_sample(index: int) -> None:
        raise SAMPLES[index]

    app.add_api_route("/raise/{index}", raise_sample, methods=["GET"])


@pytest.fixture(scope="module")
def api_client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    _raising(app)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def ui_client() -> TestClient:
    from sqlalchemy import create_engine

    from review_ui.app import create_review_app
    from scoring.storage.db import UnitOfWork

    engine = create_engine("sqlite://")
    app = create_review_app(unit_of_work=lambda: UnitOfWork.for_engine(engine))
    _raising(app)
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


@pytest.mark.parametrize(
    "index", range(len(SAMPLES)), ids=[type(error).__name__ for error in SAMPLES]
)
def test_the_api_and_the_reviewer_ui_answer_an_error_with_the_same_status(
    index: int, api_client: TestClient, ui_client: TestClient
):
    error = SAMPLES[index]
    expected = STATUS_OF[branch_of(error)]
    assert status_for(error) == expected
    api = api_client.get(f"/raise/{index}")
    ui = ui_client.get(f"/raise/{index}")
    assert (api.status_code, ui.status_code) == (expected, expected)


def test_invalid_input_is_422_on_both_not_409():
    # The reviewer UI answered a rule's InvalidInput that reached its catch-all with 409,
    # and with 422 when a page caught it; the API answers invalid input with 422.
    from scoring.domain.review import InvalidInput

    assert status_for(InvalidInput("a justification is required")) == 422
