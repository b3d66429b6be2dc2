"""API request models generated from the contracts at import time."""

from __future__ import annotations

from data_contracts.loader import load_contract, request_model

DECISION_REQUEST_CONTRACT = load_contract("decision_request")

DecisionRequest = request_model(DECISION_REQUEST_CONTRACT, name="DecisionRequest")

__all__ = ["DECISION_REQUEST_CONTRACT", "DecisionRequest"]
