"""Typed errors of the service layer; each message is one line, safe to show and to log.

``code`` is the stable machine-readable name the API puts into its error body. Each class
derives from one branch of ``scoring.domain.errors`` as well, and that branch alone sets
its HTTP status (``scoring.api.errors.STATUS_OF``). No message ever contains a personal code.
"""

from __future__ import annotations

from scoring.domain.errors import (
    ConflictError,
    EngineError,
    InvalidInputError,
    NotAuthenticatedError,
    NotFoundError,
    NotPermittedError,
    UnavailableError,
)


class ServiceError(EngineError):
    """Base class: a request the service cannot carry out, with a reason for the caller."""

    code = "service_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)


class InvalidApplication(ServiceError, InvalidInputError):
    """The application is well-formed JSON but cannot be decided as sent."""

    code = "invalid_application"


class IdempotencyConflict(ServiceError, ConflictError):
    """The idempotency key was used before with a different request body."""

    code = "idempotency_key_reused"


class ApplicationAlreadyDecided(ServiceError, ConflictError):
    """The client's application id already has a decision (sent again without its key)."""

    code = "application_already_decided"


class DecisionNotFound(ServiceError, NotFoundError):
    """No decision with that id is visible to the client."""

    code = "decision_not_found"


class NoChampionModel(ServiceError, UnavailableError):
    """No model is promoted to champion, so no decision can be scored."""

    code = "no_champion_model"


class AuthenticationFailed(ServiceError, NotAuthenticatedError):
    """The API key is missing, unknown, expired or revoked."""

    code = "unauthenticated"


class ScopeMissing(ServiceError, NotPermittedError):
    """The API key is valid but lacks the scope the operation needs."""

    code = "forbidden"


class ApiKeyError(ServiceError, InvalidInputError):
    """An API-key administration request cannot be carried out."""

    code = "api_key_error"


class InvalidQueueOrder(ServiceError, InvalidInputError):
    """The queue was asked for an order it does not know."""

    code = "invalid_queue_order"


class ReviewNotFound(ServiceError, NotFoundError):
    """No review case with that id is visible to the caller."""

    code = "review_not_found"


class AlreadyContested(ServiceError, ConflictError):
    """The decision already has a contest case."""

    code = "already_contested"


class NotContestable(ServiceError, ConflictError):
    """The decision cannot be contested (its window closed, or it is not automated)."""

    code = "not_contestable"


class StatementLimitReached(ServiceError, ConflictError):
    """The case already holds as much of the customer's statements as it can take (409)."""

    code = "statement_limit_reached"


class InvalidContest(ServiceError, InvalidInputError):
    """The contest request is malformed (an empty statement, bad attachment metadata)."""

    code = "invalid_contest"
