"""Reading cases: one case, its audit trail, the case page, and a case as its client sees it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from data_contracts.feature_catalogue import feature_catalogue
from scoring.config import process_contact_channels
from scoring.domain import review as rules
from scoring.domain.bureau import BUREAU_NAME, RISK_CLASSES
from scoring.domain.counterfactual import why_no_counterfactual
from scoring.domain.model_limits import (
    SegmentMeasure,
    customer_segments,
    pd_interval,
    segment_measures,
)
from scoring.domain.reasons import FACTORS as REASON_FACTORS
from scoring.domain.reasons import grouped_contributions
from scoring.domain.review import CaseStatus
from scoring.features.catalogue import BUREAU_CLASS_RANK
from scoring.letters import product_label
from scoring.letters.review import (
    ExtensionNotice,
    ReviewOutcomeLetter,
    render_extension_notice,
    render_review_outcome_letter,
)
from scoring.service.errors import ReviewNotFound
from scoring.service.model_evaluation import VersionTags, stored_evaluation
from scoring.service.policy_files import policy_for_version
from scoring.service.reviews.views import (
    AuditEvent,
    CaseDetail,
    ClientReview,
    ReviewCaseView,
    SourcedValue,
    case_view_of,
)
from scoring.service.reviews.workflow import ENTITY, load_case
from scoring.storage.audit_log import AuditLog
from scoring.storage.review_cases import ReviewCaseRepository
from scoring.storage.tables import Application, BureauReport, Customer, Decision

# A customer with fewer months of history than this is outside what the model learnt well.
SHORT_HISTORY_MONTHS = 6
# A bureau report older than this at the time of the application is flagged as stale.
STALE_BUREAU_REPORT = timedelta(days=30)
# How far back the case page lists the customer's invoices.
INVOICE_HISTORY = timedelta(days=730)
# The model's inputs taken from the application or computed from its instalment, named as
# in scoring.features.APPLICATION_FEATURES (a test keeps the two equal).
APPLICATION_FEATURES = (
    "amount_eur",
    "term_months",
    "monthly_instalment_eur",
    "instalment_to_avg_invoice",
    "product_category_code",
)


def case_view(*, session: Session, case_id: str, now: datetime) -> ReviewCaseView:
    """One case by id."""
    cases = ReviewCaseRepository(session)
    case = load_case(cases, case_id)
    return case_view_of(case, cases.progress(case_id), now)


def audit_trail(*, session: Session, case_id: str) -> list[AuditEvent]:
    """Who did what to a case, oldest first."""
    return [
        AuditEvent(e.seq, e.at, e.actor, e.action, dict(e.details))
        for e in AuditLog(session).entries_for(entity_type=ENTITY, entity_id=case_id)
    ]


def case_detail(
    *, session: Session, case_id: str, now: datetime, registry: VersionTags | None = None
) -> CaseDetail:
    """Everything a reviewer needs to judge the case, statement first, the model's limits shown.

    The PD's interval and the known limits come from the evaluation stored with the model
    version that scored the decision, read through ``registry``.
    """
    cases = ReviewCaseRepository(session)
    case = load_case(cases, case_id)
    progress = cases.progress(case_id)
    view = case_view_of(case, progress, now)
    decision = case.decision
    application = decision.application
    customer = application.customer
    inputs = cases.decision_inputs(decision.id)
    features: Mapping[str, Any] = (inputs.features or {}) if inputs else {}
    applied_on = application.applied_at.date()
    policy = policy_for_version(decision.policy_version)

    asked = application.human_review_requested
    application_values = [
        _model_input("amount_eur", float(application.amount), "application", applied_on),
        _model_input("term_months", application.term_months, "application", applied_on),
        SourcedValue(
            "product_category", application.product_category, "application", applied_on,
            label="Product", label_et="Toode",
            shown=product_label(application.product_category, "en"),
        ),
        SourcedValue(
            "channel", application.channel, "application", applied_on,
            label="Sales channel", label_et="Müügikanal", shown=application.channel,
        ),
        SourcedValue(
            "human_review_requested", asked, "application", applied_on,
            label="Asked for a person to decide", label_et="Soovis, et otsustaks inimene",
            shown="yes" if asked else "no",
        ),
    ]  # fmt: skip
    application_features = [
        _model_input(name, features[name], "application", applied_on)
        for name in APPLICATION_FEATURES
        if name in features
    ]
    invoices = _invoice_history(cases, customer.id, applied_on)
    history_source = "internal billing"
    history_as_of = max((i["due_on"] for i in invoices), default=None)
    history_flags = () if invoices else ("missing",)
    # Bureau features are shown from the report itself, application ones above.
    payment_history = [
        _model_input(name, value, history_source, history_as_of, history_flags)
        for name, value in _in_catalogue_order(features)
        if not name.startswith("bureau_") and name not in APPLICATION_FEATURES
    ]
    report = application.bureau_report
    bureau_values: list[SourcedValue] = []
    definition = None
    if report is not None:
        flags = (
            ("stale",) if application.applied_at - report.requested_at > STALE_BUREAU_REPORT else ()
        )
        as_of = report.requested_at.date()
        source = f"{BUREAU_NAME}, report {report.report_id}"
        definition = RISK_CLASSES.get(report.risk_class)
        band = f"{report.pd_band_low * 100:.1f}–{report.pd_band_high * 100:.1f} %"
        bureau_values = [
            SourcedValue("score", report.score, source, as_of, flags,
                         label="Bureau score", label_et="Büroo skoor",
                         shown="–" if report.score is None else f"{report.score:.0f}"),
            SourcedValue("risk_class", report.risk_class, source, as_of, flags,
                         label="Risk class", label_et="Riskiklass",
                         shown=definition.label_en if definition else report.risk_class),
            SourcedValue("pd_band", band, source, as_of, flags,
                         label="Bureau's 12-month PD band", label_et="Büroo 12 kuu PD vahemik",
                         shown=band),
            SourcedValue("open_defaults", report.open_default_count, source, as_of, flags,
                         label="Open payment defaults", label_et="Lõpetamata maksehäired",
                         shown=str(report.open_default_count)),
            SourcedValue("closed_defaults", report.closed_default_count, source, as_of, flags,
                         label="Settled payment defaults", label_et="Lõpetatud maksehäired",
                         shown=str(report.closed_default_count)),
        ]  # fmt: skip
    elif decision.bureau_report_id is None:
        bureau_values = [
            SourcedValue("report", None, BUREAU_NAME, applied_on, ("missing",)),
        ]
    contributions = sorted(
        ((name, float(value)) for name, value in _contribution_values(decision).items()),
        key=lambda item: -abs(item[1]),
    )
    escalator = cases.user(view.escalated_by) if view.escalated_by is not None else None
    stored = stored_evaluation(registry, decision.model_version)
    tables = stored.tables if stored is not None else None
    interval = (
        pd_interval(tables["calibration"], decision.probability_of_default)
        if tables and decision.probability_of_default is not None
        else None
    )
    measures = (
        segment_measures(
            tables,
            customer_segments(features, has_bureau_report=report is not None),
            class_labels={
                rank: f"“{RISK_CLASSES[name].label_en}”" for name, rank in BUREAU_CLASS_RANK.items()
            },
        )
        if tables
        else []
    )
    why_none = (
        why_no_counterfactual(
            outcome=decision.outcome,
            rule_codes=[rule["code"] for rule in decision.policy_rules],
            product_category=application.product_category,
            probability_of_default=decision.probability_of_default,
            policy=policy,
            amount_eur=float(application.amount),
        )
        if not decision.counterfactual
        else None
    )
    amount = (
        float(progress.new_amount_eur)
        if progress is not None and progress.new_amount_eur is not None
        else float(application.amount)
    )
    return CaseDetail(
        case=view,
        statement=case.statement,
        attachments=view.attachments,
        decision_outcome=decision.outcome,
        decision_automated=decision.automated,
        decided_at=decision.decided_at,
        application=application_values,
        application_features=application_features,
        payment_history=payment_history,
        invoices=invoices,
        bureau=bureau_values,
        bureau_class=report.risk_class if report else None,
        bureau_class_definition_et=definition.definition_et if definition else None,
        bureau_class_definition_en=definition.definition_en if definition else None,
        probability_of_default=decision.probability_of_default,
        risk_grade=decision.risk_grade,
        model=(f"{decision.model_name} v{decision.model_version}" if decision.model_name else None),
        known_limits=_known_limits(customer, application, features, report, measures, tables),
        approve_below=policy.approve_below,
        decline_at_or_above=policy.decline_at_or_above,
        reasons=list(decision.reasons),
        base_value=inputs.base_value if inputs else None,
        contributions=contributions,
        factor_contributions=_by_factor(dict(contributions), features),
        counterfactual=decision.counterfactual,
        policy_rules=list(decision.policy_rules),
        policy_version=decision.policy_version,
        second_signature_required=amount > policy.second_signature_above_eur,
        second_signature_above_eur=policy.second_signature_above_eur,
        audit_trail=audit_trail(session=session, case_id=case_id),
        escalated_by_username=escalator.username if escalator is not None else None,
        model_version=decision.model_version,
        pd_interval=interval,
        segment_measures=measures,
        evaluation_missing=stored.missing_because if stored is not None else None,
        no_counterfactual_en=why_none[1] if why_none else None,
        no_counterfactual_et=why_none[0] if why_none else None,
    )


def _model_input(
    name: str, value: Any, source: str, as_of: date | None, flags: tuple[str, ...] = ()
) -> SourcedValue:
    """A model input as the catalogue labels it: "Longest delay, past 3 months: 34 days"."""
    entry = feature_catalogue().get(name)
    if entry is None:
        return SourcedValue(name, value, source, as_of, flags, label=name.replace("_", " "))
    return SourcedValue(
        name, value, source, as_of, flags,
        label=entry.label_en, label_et=entry.label_et, shown=entry.display(value, "en"),
        meaning=entry.meaning_en, riskier=entry.risk_direction("en"),
    )  # fmt: skip


def _in_catalogue_order(features: Mapping[str, Any]) -> list[tuple[str, Any]]:
    order = {name: i for i, name in enumerate(feature_catalogue())}
    return sorted(features.items(), key=lambda item: (order.get(item[0], len(order)), item[0]))


def _by_factor(
    contributions: Mapping[str, float], features: Mapping[str, Any]
) -> list[tuple[str, float]]:
    """Contributions summed by reason factor (as the reasons rank them), labelled, largest first."""
    known = {name: value for name, value in contributions.items() if _has_factor(name)}
    values = {k: (None if v is None else float(v)) for k, v in features.items()}
    grouped = grouped_contributions(known, values, thin_file=bool(features.get("thin_file")))
    labels = {factor.name: factor.label_en for factor in REASON_FACTORS}
    return sorted(
        ((labels[name], total) for name, total in grouped.items()), key=lambda item: -abs(item[1])
    )


def _has_factor(feature: str) -> bool:
    return any(feature in factor.features for factor in REASON_FACTORS)


def _contribution_values(decision: Decision) -> Mapping[str, float]:
    contributions = decision.contributions or {}
    # Stored either as {feature: value} or with the values under a key of their own.
    nested = contributions.get("values") if isinstance(contributions, Mapping) else None
    source = nested if isinstance(nested, Mapping) else contributions
    return {k: v for k, v in source.items() if isinstance(v, int | float)}


def _invoice_history(
    cases: ReviewCaseRepository, customer_id: int, applied_on: date
) -> list[dict[str, Any]]:
    history = []
    for invoice in cases.invoices_for(
        customer_id, since=applied_on - INVOICE_HISTORY, until=applied_on
    ):
        settled = invoice.paid_in_full_on
        late_days = ((settled or applied_on) - invoice.due_on).days
        history.append(
            {
                "invoice_number": invoice.invoice_number,
                "issued_on": invoice.issued_on,
                "due_on": invoice.due_on,
                "amount_eur": float(invoice.amount),
                "paid_eur": float(invoice.paid),
                "paid_in_full_on": settled,
                "days_past_due": max(late_days, 0),
                "reminders_sent": invoice.reminders_sent,
                "sent_to_collection_on": invoice.sent_to_collection_on,
                "source": "internal billing",
            }
        )
    return history


def _known_limits(
    customer: Customer,
    application: Application,
    features: Mapping[str, Any],
    report: BureauReport | None,
    measures: list[SegmentMeasure],
    tables: Mapping[str, Any] | None,
) -> list[str]:
    """The model's limits for this customer: measured by the version's evaluation when it
    kept its tables, else what the customer's data alone shows."""
    limits: list[str] = [m.limit for m in measures if m.limit]
    if report is None:
        limits.append(
            "No bureau report: the model did not see the bureau rating or registered defaults."
        )
    if tables is not None:
        return limits
    applied_on = application.applied_at.date()
    if customer.customer_since is None or features.get("thin_file"):
        limits.append(
            "Thin file: the company holds no payment history for this person, so the estimate "
            "rests on the bureau rating and the application alone and is less certain."
        )
    elif (applied_on - customer.customer_since).days < SHORT_HISTORY_MONTHS * 30:
        limits.append(
            f"New customer: fewer than {SHORT_HISTORY_MONTHS} months of payment history; the "
            "model saw few such customers and its estimate is less certain."
        )
    return limits


def client_review(*, session: Session, review_id: str, client: str, now: datetime) -> ClientReview:
    """A case as the client that owns it sees it, with the customer letters once they exist."""
    cases = ReviewCaseRepository(session)
    case = cases.get(review_id)
    progress = cases.progress(review_id)
    owners = {case.decision.application.client_id} if case is not None else set()
    if progress is not None and progress.opened_by_client_id:
        owners.add(progress.opened_by_client_id)
    if case is None or client not in owners:
        raise ReviewNotFound(f"no review {review_id}")
    view = case_view_of(case, progress, now)
    resulting = case.resulting_decision
    letters: dict[str, str | None] = {"et": None, "en": None}
    notices: dict[str, str | None] = {"et": None, "en": None}
    application = case.decision.application
    if view.status is CaseStatus.RESOLVED and resulting is not None and view.outcome:
        letter = ReviewOutcomeLetter(
            review_id=view.id,
            decision_id=view.decision_id,
            resulting_decision_id=resulting.id,
            received_on=rules.local_day(view.received_at),
            resolved_on=rules.local_day(view.resolved_at or now),
            original_outcome=case.decision.outcome,
            outcome=view.outcome.value,
            amount_eur=float(application.amount),
            term_months=application.term_months,
            product_category=application.product_category,
            new_amount_eur=view.new_terms.amount_eur if view.new_terms else None,
            new_term_months=view.new_terms.term_months if view.new_terms else None,
            explanation_et=view.customer_explanation_et,
            explanation_en=view.customer_explanation_en,
            contact=process_contact_channels(),
            second_signature=view.second_signature_by is not None,
            kind=view.kind.value,
            statement_given=bool(view.statement),
        )
        letters = {lang: render_review_outcome_letter(letter, language=lang) for lang in letters}
    if view.extended_due_at is not None and view.extension_reason:
        notice = ExtensionNotice(
            review_id=view.id,
            decision_id=view.decision_id,
            received_on=rules.local_day(view.received_at),
            original_due_on=rules.local_day(view.due_at),
            extended_due_on=rules.local_day(view.extended_due_at),
            reason=view.extension_reason,
        )
        notices = {lang: render_extension_notice(notice, language=lang) for lang in notices}
    return ClientReview(
        case=view,
        resulting_outcome=resulting.outcome if resulting is not None else None,
        letter_et=letters["et"],
        letter_en=letters["en"],
        extension_notice_et=notices["et"],
        extension_notice_en=notices["en"],
    )
