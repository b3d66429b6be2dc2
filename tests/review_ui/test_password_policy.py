"""A reviewer's password: long, varied, not among those guessed first, not the username."""

from __future__ import annotations

import pytest

from review_ui.accounts import InvalidAccount, add_user, set_password
from review_ui.password_policy import PasswordRefused, check_password
from scoring.storage.db import UnitOfWork


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        (" " * 12, "at least 12 characters"),
        ("  short one  ", "at least 12 characters"),
        ("aaaaaaaaaaaaaaaa", "5 different characters"),
        ("abababababababab", "5 different characters"),
        ("password1234", "guessed first"),
        ("P@ssw0rd2026!", "guessed first"),
        ("Parool123456", "guessed first"),
        ("qwertyuiop12", "guessed first"),
        ("123456789012", "guessed first"),
        ("0987654321!!", "guessed first"),
        ("iloveyou1234", "guessed first"),
        ("!!monkey2026dragon", "guessed first"),
        ("Tallinn2026!!", "guessed first"),
        ("rita-is-reviewing-2026", "must not contain the username"),
        ("x" * 300 + "abcde", "at most 256"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_and_without_the_password(password, rule):
    with pytest.raises(PasswordRefused, match=rule) as refused:
        check_password(password, username="rita")
    assert not password.strip() or password.strip() not in str(refused.value)


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "xkcd-mango-river-lamp", "Kaheksa kassi katusel", "ab1cd2ef3gh4"],
)
def test_passphrases_pass(password):
    check_password(password, username="rita")


def test_accounts_are_created_and_changed_only_with_a_good_password(ui_engine):
    with (
        pytest.raises(InvalidAccount, match="guessed first") as refused,
        UnitOfWork.for_engine(ui_engine) as uow,
    ):
        add_user(uow=uow, username="rita", role="reviewer", password="Password2026!")
    assert refused.value.field == "password"
    with UnitOfWork.for_engine(ui_engine) as uow:
        add_user(uow=uow, username="rita", role="reviewer", password="correct horse battery")
    with (
        pytest.raises(InvalidAccount, match="at least 12"),
        UnitOfWork.for_engine(ui_engine) as uow,
    ):
        set_password(uow=uow, username="rita", password=" " * 20)
