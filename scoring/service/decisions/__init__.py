"""The instalment decision, from a validated request to a stored, explained, logged answer.

One module per part of the use case:

- ``decide``: the use case the API calls (:func:`decide_application`: authorise the key,
  read, assess, store, on one connection) and :func:`make_decision` for callers holding an
  authenticated client; the store with its retry after a unique-key conflict;
- ``assess``: bureau, features, champion PD and SHAP, policy, counterfactual, challenger in
  shadow, with the protocols of the bureau and the models;
- ``record``: the rows to store and the log entry, built before the writer's turn;
- ``views``: :class:`DecisionView`, its letters, and reading a stored decision.

The statements are the repositories' (``scoring.storage.decision_store``,
``scoring.storage.decision_log``, ``scoring.storage.api_keys``), handed out by the unit of
work (``scoring.storage.connection_uow``).
"""

from __future__ import annotations

from scoring.service.decisions.assess import (
    ApplicantHistory,
    Assessment,
    BureauSource,
    DecisionModels,
    PDModel,
    assess,
    feature_matrix,
    model_matrix,
)
from scoring.service.decisions.decide import (
    STORE_ATTEMPTS,
    CaseOpener,
    decide_application,
    make_decision,
    open_review_case,
    prepare_decision,
    store_decision,
)
from scoring.service.decisions.record import (
    ApplicationRequest,
    PreparedDecision,
    contract_versions,
    prepared_decision,
    request_hash,
)
from scoring.service.decisions.views import (
    CONTEST_PATH,
    DecisionView,
    decision_view,
    get_decision,
    stored_view,
)

# The name benchmarks/workloads.py imports the model's columns by.
_model_matrix = model_matrix

__all__ = [
    "CONTEST_PATH",
    "STORE_ATTEMPTS",
    "ApplicantHistory",
    "ApplicationRequest",
    "Assessment",
    "BureauSource",
    "CaseOpener",
    "DecisionModels",
    "DecisionView",
    "PDModel",
    "PreparedDecision",
    "assess",
    "contract_versions",
    "decide_application",
    "decision_view",
    "feature_matrix",
    "get_decision",
    "make_decision",
    "model_matrix",
    "open_review_case",
    "prepare_decision",
    "prepared_decision",
    "request_hash",
    "store_decision",
    "stored_view",
]
