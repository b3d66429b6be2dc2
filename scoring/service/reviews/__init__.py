"""Contested decisions: review cases, the reviewer queue, outcomes, extensions and oversight.

One module per use case: ``opening`` (contest a decision, open a case for a decision the
assessment did not settle, add the customer's statement), ``queue`` (what a reviewer holds
and may claim; claim, keep, release, skip, escalate), ``outcomes`` (decide, second
signature, resolve), ``extensions``, ``reading`` (a case, its page, its trail, a client's
view), ``oversight``; ``views`` holds what they
return and ``errors`` what they raise. Every query lives in
``scoring.storage.review_cases``, which the unit of work hands out.

The API routes, the reviewer pages and the CLI call the names exported here and nothing
below them.
"""

from scoring.service.errors import (
    AlreadyContested,
    DecisionNotFound,
    InvalidContest,
    NotContestable,
    ReviewNotFound,
)
from scoring.service.reviews.extensions import extend_case
from scoring.service.reviews.opening import (
    Attachment,
    add_statement,
    contest_decision,
    open_case_for_pending_decision,
)
from scoring.service.reviews.outcomes import decide_case, second_signature
from scoring.service.reviews.oversight import oversight_stats
from scoring.service.reviews.queue import (
    QUEUE_ORDERS,
    arranged,
    awaiting_signature_for,
    claim_case,
    claim_next_case,
    escalate_case,
    keep_claim,
    list_cases,
    queue_for,
    release_case,
    skip_case,
)
from scoring.service.reviews.reading import (
    APPLICATION_FEATURES,
    audit_trail,
    case_detail,
    case_view,
    client_review,
)
from scoring.service.reviews.views import (
    AuditEvent,
    CaseDetail,
    ClientReview,
    OversightStats,
    RateRow,
    ReviewCaseView,
    SourcedValue,
)
from scoring.service.reviews.workflow import Clock, utc_now

__all__ = [
    "APPLICATION_FEATURES",
    "AlreadyContested",
    "Attachment",
    "add_statement",
    "AuditEvent",
    "CaseDetail",
    "ClientReview",
    "Clock",
    "DecisionNotFound",
    "InvalidContest",
    "NotContestable",
    "OversightStats",
    "RateRow",
    "ReviewCaseView",
    "ReviewNotFound",
    "SourcedValue",
    "audit_trail",
    "awaiting_signature_for",
    "case_detail",
    "case_view",
    "claim_case",
    "claim_next_case",
    "client_review",
    "contest_decision",
    "decide_case",
    "escalate_case",
    "extend_case",
    "keep_claim",
    "QUEUE_ORDERS",
    "arranged",
    "list_cases",
    "open_case_for_pending_decision",
    "oversight_stats",
    "queue_for",
    "release_case",
    "second_signature",
    "skip_case",
    "utc_now",
]
