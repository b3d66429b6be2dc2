"""Oversight: overturn and agreement rates per reviewer and reason code, and timeliness."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy.orm import Session

from scoring.domain import review as rules
from scoring.domain.review import CaseStatus, Escalation, ReviewOutcome
from scoring.service.reviews.views import OversightStats, RateRow
from scoring.storage.review_cases import ReviewCaseRepository


def oversight_stats(*, session: Session, now: datetime) -> OversightStats:
    """Overturn and agreement rates per reviewer and per reason code; timeliness of answers."""
    per_reviewer: dict[str, list[str]] = defaultdict(list)
    per_reason: dict[str, list[str]] = defaultdict(list)
    days: list[float] = []
    on_time = late = open_cases = overdue = near = extended = 0
    for case, decision, user in ReviewCaseRepository(session).with_outcomes():
        due = case.extended_due_at or case.due_at
        extended += case.extended_due_at is not None
        if case.status != CaseStatus.RESOLVED.value:
            open_cases += 1
            level = rules.escalation(due, now=now)
            overdue += level is Escalation.OVERDUE
            near += level is Escalation.NEAR_DUE
            continue
        outcome = case.outcome or ""
        per_reviewer[user.username if user else "unknown"].append(outcome)
        for code in _reason_codes(decision.reasons):
            per_reason[code].append(outcome)
        resolved_at = case.resolved_at
        # The schema refuses a resolved case without its resolution time.
        assert resolved_at is not None
        days.append((resolved_at - case.received_at).total_seconds() / 86400)
        if resolved_at <= due:
            on_time += 1
        else:
            late += 1
    return OversightStats(
        resolved=on_time + late,
        per_reviewer=_rate_rows(per_reviewer),
        per_reason_code=_rate_rows(per_reason),
        median_days_to_resolution=round(median(days), 2) if days else None,
        resolved_on_time=on_time,
        resolved_late=late,
        open_cases=open_cases,
        open_overdue=overdue,
        open_near_due=near,
        extended=extended,
    )


def _reason_codes(reasons: Iterable[Any]) -> list[str]:
    codes = []
    for reason in reasons or []:
        code = reason.get("code") if isinstance(reason, Mapping) else None
        if code and code not in codes:
            codes.append(code)
    return codes


def _rate_rows(groups: Mapping[str, list[str]]) -> list[RateRow]:
    return sorted(
        (
            RateRow(
                key=key,
                cases=len(outcomes),
                upheld=outcomes.count(ReviewOutcome.UPHELD.value),
                overturned=outcomes.count(ReviewOutcome.OVERTURNED.value),
                terms_changed=outcomes.count(ReviewOutcome.TERMS_CHANGED.value),
            )
            for key, outcomes in groups.items()
        ),
        key=lambda row: (-row.cases, row.key),
    )
