"""Schemathesis against the project's own OpenAPI document: every operation, in process.

Each operation gets generated requests that fit its schema and requests that break it
(wrong types, missing fields, values out of bounds), sent with a key holding every scope.
Every answer must be a documented status with a body matching its schema, never a 5xx,
and a refused request must leave every table as it was (but the throttle's counts).
"""

from __future__ import annotations

import pytest
import schemathesis
from hostile_app import RowCounts
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

THROTTLE_COUNTS = frozenset({"request_counters"})

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_MODE = 20


def _cases() -> list[tuple[str, GenerationMode]]:
    """Every operation with fitting requests; those with a body also with breaking ones.

    A path parameter typed as any string, or no parameter at all, has no invalid value.
    """
    from scoring.api.app import create_app

    schema = schemathesis.openapi.from_dict(create_app().openapi())
    cases = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases.append((operation.label, GenerationMode.POSITIVE))
        if operation.body:
            cases.append((operation.label, GenerationMode.NEGATIVE))
    return sorted(cases, key=lambda c: (c[0], c[1].value))


@pytest.mark.parametrize(("label", "mode"), _cases())
def test_operation_answers_documented_statuses_and_stores_nothing_when_refused(
    label, mode, app, auth, migrated_engine
):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = next(
        result.ok() for result in schema.get_all_operations() if result.ok().label == label
    )

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def exchange(case):  # type: ignore[no-untyped-def]
        before = RowCounts.of(migrated_engine)
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        if response.status_code >= 400:
            # Refused data-subject requests still count against the client's and the person's
            # hourly and daily limits (request_counters): that is how guessing is slowed.
            stored = RowCounts.of(migrated_engine).changed_since(before, ignore=THROTTLE_COUNTS)
            assert stored == {}, f"{label} answered {response.status_code} but stored rows"

    exchange()
