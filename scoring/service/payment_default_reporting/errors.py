"""The refusals of payment-default reporting; each leaves the database unchanged."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from scoring.domain.errors import ConflictError, InvalidInputError, NotFoundError, UnavailableError
from scoring.service.errors import ServiceError


class DefaultReportingError(ServiceError):
    """A default-reporting request that cannot be carried out; nothing was changed."""

    code = "default_reporting_error"


class ReportDateInFuture(DefaultReportingError, InvalidInputError):
    code = "report_date_in_future"


class ReportOutOfOrder(DefaultReportingError, ConflictError):
    code = "report_out_of_order"


class ReportAlreadyMade(DefaultReportingError, ConflictError):
    code = "report_already_made"


class CustomerNotFound(DefaultReportingError, NotFoundError):
    code = "customer_not_found"


class DefaultNotFound(DefaultReportingError, NotFoundError):
    code = "default_not_found"


class DatabaseUnreadable(DefaultReportingError, UnavailableError):
    code = "database_unreadable"


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def database_unreadable(error: SQLAlchemyError) -> DatabaseUnreadable:
    """The refusal to give when the database cannot be read, naming what to check."""
    return DatabaseUnreadable(
        f"cannot read the database: {_first_line(error)}; check INSTALLMENT_DATABASE_URL "
        "and run `installment db-upgrade`"
    )
