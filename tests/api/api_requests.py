"""Request bodies and keys for the API tests."""

from __future__ import annotations

from scoring.service.api_keys import create_api_key
from scoring.storage.db import UnitOfWork

CODE = "38001085718"
WRONG_CHECK_DIGIT = "38001085719"


def issue_key(runtime, client="sales", scopes=("decisions:write", "decisions:read")) -> str:
    return create_api_key(uow=UnitOfWork(runtime.sessions), client=client, scopes=scopes).key


def body(**changes):
    request = {
        "application_id": "APP-0001",
        "personal_code": CODE,
        "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"},
        "channel": "web",
    }
    request.update(changes)
    return request
