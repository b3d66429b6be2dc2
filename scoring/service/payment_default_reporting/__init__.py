"""Payment-default reporting to the bureau: list, record, and write the report file.

The domain (``scoring.domain.payment_defaults``) derives defaults, guards them and plans a
report; these use cases load the payment history through the unit of work's
``payment_default_register``, keep the who-and-when records (verifications, disputes,
notices), and make report runs. One module per use case:

- ``listing``: the defaults as of a day, with the guards that hold each back;
- ``records``: verifying a default and recording the notice sent to the debtor;
- ``disputes``: a customer's dispute of a default, and its resolution;
- ``run``: a report run, with its files written by ``report_files``.
"""

from scoring.service.payment_default_reporting.disputes import record_dispute, resolve_dispute
from scoring.service.payment_default_reporting.errors import (
    CustomerNotFound,
    DatabaseUnreadable,
    DefaultNotFound,
    DefaultReportingError,
    ReportAlreadyMade,
    ReportDateInFuture,
    ReportOutOfOrder,
)
from scoring.service.payment_default_reporting.listing import DefaultView, list_defaults
from scoring.service.payment_default_reporting.records import (
    AUDIT_ENTITY_DEFAULT,
    Verification,
    record_notice,
    verify_default,
)
from scoring.service.payment_default_reporting.report_files import (
    BUREAU_COLUMNS,
    HELD_BACK_COLUMNS,
    report_file_names,
)
from scoring.service.payment_default_reporting.run import (
    AUDIT_ENTITY_RUN,
    ReportRun,
    report_defaults,
)

__all__ = [
    "AUDIT_ENTITY_DEFAULT",
    "AUDIT_ENTITY_RUN",
    "BUREAU_COLUMNS",
    "HELD_BACK_COLUMNS",
    "CustomerNotFound",
    "DatabaseUnreadable",
    "DefaultNotFound",
    "DefaultReportingError",
    "DefaultView",
    "ReportAlreadyMade",
    "ReportDateInFuture",
    "ReportOutOfOrder",
    "ReportRun",
    "Verification",
    "list_defaults",
    "record_dispute",
    "record_notice",
    "report_defaults",
    "report_file_names",
    "resolve_dispute",
    "verify_default",
]
