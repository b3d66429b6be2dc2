"""The built-in list of attributes that may never be creditworthiness features (EU law).

Each ground is matched by the column names a user's data would carry, whatever the
contract says; names that merely contain the letters are not refused.
"""

from __future__ import annotations

import pytest

from scoring.domain.protected_attributes import protected_ground, refusal


@pytest.mark.parametrize(
    ("name", "ground"),
    [
        ("sex", "sex or gender"),
        ("Gender", "sex or gender"),
        ("personal_status_and_sex", "sex or gender"),
        ("marital_status", "marital or family status"),
        ("MaritalStatus", "marital or family status"),
        ("nationality", "nationality or foreign-worker status"),
        ("ForeignWorker", "nationality or foreign-worker status"),
        ("foreign_worker", "nationality or foreign-worker status"),
        ("citizenship", "nationality or foreign-worker status"),
        ("ethnicity", "racial or ethnic origin"),
        ("race", "racial or ethnic origin"),
        ("religion", "religion or belief"),
        ("health_status", "health or disability"),
        ("disability_flag", "health or disability"),
        ("sexual_orientation", "sexual orientation"),
        ("trade_union_member", "political opinion or trade-union membership"),
        ("biometric_score", "genetic or biometric data"),
        ("mother_tongue", "language"),
        ("home_language", "language"),
    ],
)
def test_a_name_that_reads_as_a_protected_ground_is_refused_naming_it(name, ground):
    found = protected_ground(name)
    assert found is not None and found.ground == ground
    reason = refusal(name)
    assert reason is not None and repr(name) in reason and ground in reason
    assert "modelUse: protected" in reason  # the documented override, for fairness only


@pytest.mark.parametrize(
    "name", ["sextant_reading", "essex_branch", "age", "income", "duration_in_month", "purpose"]
)
def test_a_name_that_only_contains_the_letters_is_not_refused(name):
    assert protected_ground(name) is None
    assert refusal(name) is None


def test_a_field_marked_protected_is_refused_whatever_its_name():
    reason = refusal("telephone", marked_protected=True)
    assert reason is not None and "'telephone' is marked a protected attribute" in reason
