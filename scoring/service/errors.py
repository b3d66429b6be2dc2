"""Typed errors of the service layer; each message is one line, safe to show and to log.

``code`` is the stable machine-readable name the API puts into its error body; the API
maps each class to its HTTP status. No message ever contains a personal code.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: a request the service cannot carry out, with a reason for the caller."""

    code = "service_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidApplication(ServiceError):
    """The application is well-formed JSON but cannot be decided as sent."""

    code = "invalid_application"


class IdempotencyConflict(ServiceError):
    """The idempotency key was used before with a different request body."""

    code = "idempotency_key_reused"


class ApplicationAlreadyDecided(ServiceError):
    """The client's application id already has a decision (sent again without its key)."""

    code = "application_already_decided"


class DecisionNotFound(ServiceError):
    """No decision with that id is visible to the client."""

    code = "decision_not_found"


class NoChampionModel(ServiceError):
    """No model is promoted to champion, so no decision can be scored."""

    code = "no_champion_model"


class AuthenticationFailed(ServiceError):
    """The API key is missing, unknown, expired or revoked."""

    code = "unauthenticated"


class ScopeMissing(ServiceError):
    """The API key is valid but lacks the scope the operation needs."""

    code = "forbidden"


class ApiKeyError(ServiceError):
    """An API-key administration request cannot be carried out."""

    code = "api_key_error"
