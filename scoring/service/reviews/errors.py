"""The review service's errors, which the API maps to HTTP statuses.

The domain's ``ReviewError`` subclasses (``NotPermitted``, ``WrongState``, ``InvalidInput``)
pass through to the reviewer pages unchanged.
"""

from __future__ import annotations

from scoring.service.errors import ServiceError


class ReviewNotFound(ServiceError):
    """No review case with that id is visible to the caller."""

    code = "review_not_found"


class AlreadyContested(ServiceError):
    """The decision already has a contest case."""

    code = "already_contested"


class NotContestable(ServiceError):
    """The decision cannot be contested (its window closed, or it is not automated)."""

    code = "not_contestable"


class InvalidContest(ServiceError):
    """The contest request is malformed (an empty statement, bad attachment metadata)."""

    code = "invalid_contest"
