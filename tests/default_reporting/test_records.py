"""Verifications, disputes, notices and the vault: who and when, and refusals that say why."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from scoring.domain.personal_code import InvalidPersonalCode
from scoring.service import audit
from scoring.service.payment_default_reporting import (
    CustomerNotFound,
    DefaultNotFound,
    DefaultReportingError,
    list_defaults,
    record_dispute,
    record_notice,
    resolve_dispute,
    verify_default,
)
from scoring.storage.identity_vault import IdentityVault, IdentityVaultError, register_identity
from scoring.storage.tables import AuditLogEntry
from scoring.storage.tables_payment_defaults import (
    DefaultDispute,
    DefaultVerification,
    IdentityVaultEntry,
)

from .conftest import ANNA_CODE, PSEUDONYM_KEY, VAULT_KEY, Ledger, noon

DUE = date(2026, 3, 10)
LATER = date(2026, 5, 1)


@pytest.fixture
def anna(ledger: Ledger) -> str:
    pseudonym = ledger.customer(ANNA_CODE)
    ledger.invoice(pseudonym, "A-1", DUE, "80.00")
    return pseudonym


def test_a_verification_keeps_who_and_when_and_is_in_the_audit_log(
    ledger: Ledger, anna: str
) -> None:
    first = verify_default(
        uow=ledger.uow(), customer=anna, started_on=DUE, by="reviewer.kask", now=noon(LATER)
    )
    second = verify_default(
        uow=ledger.uow(), customer=anna, started_on=DUE, by="someone.else", now=noon(LATER)
    )

    assert first.newly_recorded and not second.newly_recorded
    assert (second.verified_by, second.verified_at) == ("reviewer.kask", noon(LATER))
    with ledger.uow() as uow:
        [stored] = uow.session.scalars(select(DefaultVerification)).all()
        entries = [entry for entry in uow.session.scalars(select(AuditLogEntry))]
        assert audit.verify(session=uow.session) == []
    assert (stored.verified_by, stored.verified_at) == ("reviewer.kask", noon(LATER))
    assert [(e.action, e.actor, e.details["customer"]) for e in entries] == [
        ("default.verified", "reviewer.kask", anna)
    ]


def test_verifying_a_default_that_does_not_exist_names_the_defaults_that_do(
    ledger: Ledger, anna: str
) -> None:
    with pytest.raises(DefaultNotFound, match="defaults start on: 2026-03-10"):
        verify_default(
            uow=ledger.uow(), customer=anna, started_on=date(2026, 3, 11), by="ops", now=noon(LATER)
        )


def test_an_unknown_customer_is_named_in_the_error(ledger: Ledger) -> None:
    with pytest.raises(CustomerNotFound, match="no customer with pseudonym f{64}"):
        verify_default(
            uow=ledger.uow(), customer="f" * 64, started_on=DUE, by="ops", now=noon(LATER)
        )


def test_a_verification_needs_a_name(ledger: Ledger, anna: str) -> None:
    with pytest.raises(DefaultReportingError, match="say who"):
        verify_default(uow=ledger.uow(), customer=anna, started_on=DUE, by="  ", now=noon(LATER))


def test_a_dispute_holds_the_default_back_until_it_is_rejected(ledger: Ledger, anna: str) -> None:
    record_dispute(
        uow=ledger.uow(),
        customer=anna,
        started_on=DUE,
        by="support",
        now=noon(date(2026, 4, 1)),
        note="customer says the invoice was paid in cash",
    )

    def rules(as_of: date) -> list[str]:
        [view] = list_defaults(uow=ledger.uow(), as_of=as_of, today=LATER)
        return [failure.rule for failure in view.failures]

    assert "not_disputed" in rules(date(2026, 4, 10))
    resolved = resolve_dispute(
        uow=ledger.uow(),
        customer=anna,
        started_on=DUE,
        resolution="rejected",
        by="senior.tamm",
        now=noon(date(2026, 4, 20)),
    )
    assert resolved == 1
    assert "not_disputed" in rules(date(2026, 4, 19)), "a past date sees the dispute still open"
    assert "not_disputed" not in rules(date(2026, 4, 20))
    with ledger.uow() as uow:
        [stored] = uow.session.scalars(select(DefaultDispute)).all()
    assert (stored.recorded_by, stored.resolved_by, stored.resolution) == (
        "support",
        "senior.tamm",
        "rejected",
    )


def test_a_notice_cannot_be_dated_before_the_default_or_in_the_future(
    ledger: Ledger, anna: str
) -> None:
    with pytest.raises(DefaultReportingError, match="before the default started"):
        record_notice(
            uow=ledger.uow(),
            customer=anna,
            started_on=DUE,
            sent_on=date(2026, 3, 1),
            by="ops",
            now=noon(LATER),
        )
    with pytest.raises(DefaultReportingError, match="in the future"):
        record_notice(
            uow=ledger.uow(),
            customer=anna,
            started_on=DUE,
            sent_on=date(2026, 5, 2),
            by="ops",
            now=noon(LATER),
        )


def test_a_default_without_a_notice_is_listed_with_the_reason(ledger: Ledger, anna: str) -> None:
    [view] = list_defaults(uow=ledger.uow(), as_of=LATER, today=LATER)

    assert not view.reportable
    assert "debtor_notified" in [failure.rule for failure in view.failures]


def test_the_vault_keeps_one_encrypted_entry_per_person(ledger: Ledger, anna: str) -> None:
    with ledger.uow() as uow:
        again = register_identity(
            session=uow.session, code=ANNA_CODE, pseudonym_key=PSEUDONYM_KEY, vault_key=VAULT_KEY
        )
        entries = uow.session.scalars(select(IdentityVaultEntry)).all()
        code = IdentityVault(session=uow.session, key=VAULT_KEY).code_for(anna)

    assert again == anna
    assert len(entries) == 1
    assert code == ANNA_CODE


def test_the_vault_refuses_a_wrong_key_without_showing_the_code(ledger: Ledger, anna: str) -> None:
    with ledger.uow() as uow:
        vault = IdentityVault(session=uow.session, key=bytes(32))
        with pytest.raises(IdentityVaultError) as raised:
            vault.code_for(anna)

    assert "does not decrypt" in str(raised.value)
    assert ANNA_CODE not in str(raised.value)


def test_an_entry_copied_onto_another_pseudonym_does_not_decrypt(ledger: Ledger, anna: str) -> None:
    with ledger.uow() as uow:
        entry = uow.session.get(IdentityVaultEntry, anna)
        uow.session.add(
            IdentityVaultEntry(
                pseudonym="e" * 64,
                nonce=entry.nonce,
                ciphertext=entry.ciphertext,
                created_at=entry.created_at,
            )
        )
    with ledger.uow() as uow, pytest.raises(IdentityVaultError):
        IdentityVault(session=uow.session, key=VAULT_KEY).code_for("e" * 64)


def test_an_invalid_code_is_not_registered(ledger: Ledger) -> None:
    with ledger.uow() as uow, pytest.raises(InvalidPersonalCode):
        register_identity(
            session=uow.session, code="12345", pseudonym_key=PSEUDONYM_KEY, vault_key=VAULT_KEY
        )
