"""The product's one exception tree: every error raised on purpose derives from ``EngineError``.

An ``EngineError`` has a stable machine-readable ``code`` (what the API puts into its error
body, what logs and dashboards count) and a one-line message that is safe to show to the
person who caused it and to write to a log: it never holds a personal code, a password or
a secret. ``field`` names the input at fault when there is one.

The root has a few branches, one per kind of answer a caller needs; every concrete error
derives from exactly one of them (besides its own area's base class), and the caller's
response (an HTTP status, an error page) is chosen by branch alone::

    EngineError                       (root; any other refusal, answered 400)
    ├── InvalidInputError             the input is malformed or breaks a rule   (422)
    ├── NotAuthenticatedError         nobody known is asking                    (401)
    ├── NotPermittedError             the person or client may not do this      (403)
    ├── NotFoundError                 no such thing is visible to the caller    (404)
    ├── ConflictError                 the thing is not in a state for this      (409)
    ├── RateLimitedError              too many requests; retry after a while    (429)
    └── UnavailableError              a dependency or resource is not there     (503)

Each area keeps its own base class and names under the root, so ``except StorageError``
and ``except ReviewError`` go on working, for instance::

    ServiceError (scoring.service.errors)   InvalidApplication, DecisionNotFound, ...
    ReviewError (scoring.domain.review)     NotPermitted, WrongState (CaseClosed), InvalidInput
    StorageError (scoring.storage.db)       InvalidDatabaseUrl, DatabaseUnavailable, ...
    BureauError (scoring.bureau.client)     BureauUnavailable, BureauMalformedAnswer, ...
    RegistryError, PromotionRefused (models.registry)
    ContractError, ContractViolation, ForbiddenFeature (data_contracts.loader)
    WorldError (models.world.errors)        the synthetic world's arguments and folders
    AccountError (review_ui.accounts)       InvalidAccount, UsernameTaken, SignInRefused

Programming errors (a prepared statement given the wrong parameters, a direct route whose
resolvers do not fit, SHAP values that do not add up) are bugs, not refusals: they stay
outside the tree and surface as 500s. So do the benchmark and soak tools' own errors.

Errors that are also a built-in kind (``ValueError``, ``LookupError``) keep that base too,
so code that catches the built-in is unaffected. The HTTP statuses of the branches live in
one map, ``scoring.api.errors.STATUS_OF``, which the API and the reviewer UI both use.

Standard library only, like the rest of ``scoring.domain``.
"""

from __future__ import annotations


class EngineError(Exception):
    """An error the product raises on purpose, with a stable code and a message safe to show."""

    code = "engine_error"

    def __init__(self, message: str = "", *args: object, field: str | None = None) -> None:
        if message or args:
            super().__init__(message, *args)
        else:
            super().__init__()
        self.field = field

    @property
    def message(self) -> str:
        """The one-line message, safe to show and to log."""
        return str(self.args[0]) if self.args else (self.__doc__ or self.code).strip()

    @message.setter
    def message(self, value: str) -> None:
        self.args = (value, *self.args[1:])


class InvalidInputError(EngineError):
    """The input is malformed or breaks a rule; sending it again unchanged will fail again."""

    code = "invalid_input"


class NotAuthenticatedError(EngineError):
    """The caller did not prove who they are (no key, an unknown key, no session)."""

    code = "unauthenticated"


class NotPermittedError(EngineError):
    """The caller is known but their role or scope does not allow the action."""

    code = "forbidden"


class NotFoundError(EngineError):
    """The thing asked for does not exist or is not visible to the caller."""

    code = "not_found"


class ConflictError(EngineError):
    """The thing exists but is not in a state where the action makes sense."""

    code = "conflict"


class RateLimitedError(EngineError):
    """Too many requests of one kind in a window; ``retry_after`` says when to try again."""

    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: int = 60, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = max(1, retry_after)


class UnavailableError(EngineError):
    """A dependency (database, bureau, model) or a resource is not there; retry later."""

    code = "unavailable"


BRANCHES: tuple[type[EngineError], ...] = (
    InvalidInputError,
    NotAuthenticatedError,
    NotPermittedError,
    NotFoundError,
    ConflictError,
    RateLimitedError,
    UnavailableError,
)


def branch_of(error: BaseException | type[BaseException]) -> type[EngineError]:
    """The branch an error (or error class) belongs to; ``EngineError`` when it names none."""
    kind = error if isinstance(error, type) else type(error)
    for cls in kind.__mro__:
        if cls in BRANCHES:
            return cls
    return EngineError
