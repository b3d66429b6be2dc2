"""A report run on a real database: file contents, corrections, determinism, atomicity."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from scoring.service import audit
from scoring.service.payment_default_reporting import (
    ReportAlreadyMade,
    ReportDateInFuture,
    ReportOutOfOrder,
    ReportRun,
    record_dispute,
    record_notice,
    report_defaults,
    verify_default,
)
from scoring.service.payment_default_reporting import run as reporting
from scoring.storage.identity_vault import IdentityVaultError
from scoring.storage.tables import AuditLogEntry
from scoring.storage.tables_payment_defaults import DefaultReportRun, IdentityVaultEntry

from .conftest import ANNA_CODE, BRUNO_CODE, VAULT_KEY, Ledger, noon

DUE = date(2026, 3, 10)
FIRST_REPORT = date(2026, 5, 1)
TODAY = date(2026, 6, 30)


def make_ready(ledger: Ledger, pseudonym: str, *, verify: bool = True) -> None:
    """A notice ten days after the start and, unless told otherwise, a verification."""
    record_notice(
        uow=ledger.uow(),
        customer=pseudonym,
        started_on=DUE,
        sent_on=date(2026, 3, 20),
        by="collections",
        now=noon(date(2026, 3, 20)),
    )
    if verify:
        verify_default(
            uow=ledger.uow(),
            customer=pseudonym,
            started_on=DUE,
            by="reviewer.kask",
            now=noon(date(2026, 4, 1)),
        )


def run(ledger: Ledger, out: Path, as_of: date) -> ReportRun:
    return report_defaults(
        uow=ledger.uow(),
        as_of=as_of,
        out_dir=out,
        vault_key=VAULT_KEY,
        today=TODAY,
        now=noon(as_of),
    )


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The report folder, apart from the database file."""
    return tmp_path / "reports"


@pytest.fixture
def anna_and_bruno(ledger: Ledger) -> tuple[str, str]:
    """Anna: 80 EUR unpaid, verified and notified. Bruno: 45 EUR unpaid, notified, unverified."""
    anna = ledger.customer(ANNA_CODE)
    bruno = ledger.customer(BRUNO_CODE)
    ledger.invoice(anna, "A-1", DUE, "80.00")
    ledger.invoice(bruno, "B-1", DUE, "45.00")
    make_ready(ledger, anna)
    make_ready(ledger, bruno, verify=False)
    return anna, bruno


def test_the_report_holds_only_defaults_passing_every_guard_with_the_code_from_the_vault(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    anna, bruno = anna_and_bruno

    result = run(ledger, out, FIRST_REPORT)

    assert rows(result.report_file) == [
        {
            "transaction": "new",
            "identification_code": ANNA_CODE,
            "amount_eur": "80.00",
            "default_started_on": "2026-03-10",
            "default_ended_on": "",
        }
    ]
    [held] = rows(result.held_back_file)
    assert (held["customer_pseudonym"], held["rules"]) == (bruno, "verified")
    assert "not verified" in held["reasons"]
    assert result.counts == {"new": 1, "correction": 0, "removal": 0}
    assert result.held_back_by_rule == {"verified": 1}
    assert result.report_file.stat().st_mode & 0o777 == 0o600, "codes are for the owner only"


def test_the_held_back_list_and_the_stored_records_hold_no_identification_code(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    result = run(ledger, out, FIRST_REPORT)

    held_text = result.held_back_file.read_text()
    assert ANNA_CODE not in held_text and BRUNO_CODE not in held_text
    with ledger.uow() as uow:
        details = [str(entry.details) for entry in uow.session.scalars(select(AuditLogEntry))]
        ciphertexts = list(uow.session.scalars(select(IdentityVaultEntry.ciphertext)))
    assert not any(ANNA_CODE in text or BRUNO_CODE in text for text in details)
    assert not any(ANNA_CODE.encode() in blob for blob in ciphertexts)


def test_a_default_paid_after_it_was_reported_gets_a_correction_in_the_next_report(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    run(ledger, out, FIRST_REPORT)
    ledger.payment("A-1", date(2026, 5, 12), "80.00")

    second = run(ledger, out, date(2026, 6, 1))
    third = run(ledger, out, date(2026, 6, 15))

    assert rows(second.report_file) == [
        {
            "transaction": "correction",
            "identification_code": ANNA_CODE,
            "amount_eur": "80.00",
            "default_started_on": "2026-03-10",
            "default_ended_on": "2026-05-12",
        }
    ]
    assert rows(third.report_file) == [], "a correction is sent once"


def test_a_dispute_after_reporting_removes_the_default_from_the_register(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    anna, _ = anna_and_bruno
    run(ledger, out, FIRST_REPORT)
    record_dispute(
        uow=ledger.uow(), customer=anna, started_on=DUE, by="support", now=noon(date(2026, 5, 5))
    )

    second = run(ledger, out, date(2026, 6, 1))

    assert [
        (row["transaction"], row["identification_code"]) for row in rows(second.report_file)
    ] == [("removal", ANNA_CODE)]


def test_running_twice_for_the_same_date_gives_the_same_file_and_one_run(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    first = run(ledger, out, FIRST_REPORT)
    first_bytes = first.report_file.read_bytes(), first.held_back_file.read_bytes()

    again = run(ledger, out, FIRST_REPORT)

    assert (again.report_file.read_bytes(), again.held_back_file.read_bytes()) == first_bytes
    assert again.repeated and again.run_id == first.run_id
    with ledger.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DefaultReportRun)) == 1
        actions = [entry.action for entry in uow.session.scalars(select(AuditLogEntry))]
        assert audit.verify(session=uow.session) == []
    assert actions[-2:] == ["default_report.made", "default_report.repeated"]


def test_a_changed_history_for_a_date_already_reported_is_refused_and_the_file_kept(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    _, bruno = anna_and_bruno
    first = run(ledger, out, FIRST_REPORT)
    sent = first.report_file.read_bytes()
    verify_default(
        uow=ledger.uow(), customer=bruno, started_on=DUE, by="ops", now=noon(date(2026, 4, 2))
    )

    with pytest.raises(ReportAlreadyMade, match="kept as sent"):
        run(ledger, out, FIRST_REPORT)

    assert first.report_file.read_bytes() == sent


def test_a_report_date_before_the_last_report_is_refused(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    run(ledger, out, FIRST_REPORT)

    with pytest.raises(ReportOutOfOrder, match="2026-05-01"):
        run(ledger, out / "earlier", date(2026, 4, 20))

    assert not (out / "earlier").exists() or list((out / "earlier").iterdir()) == []


def test_a_report_date_in_the_future_is_refused_and_nothing_is_written(
    ledger: Ledger, out: Path
) -> None:
    with pytest.raises(ReportDateInFuture, match="2026-07-01 is in the future"):
        run(ledger, out / "out", date(2026, 7, 1))

    assert not (out / "out").exists()


def _nothing_left(ledger: Ledger, out: Path) -> None:
    assert list(out.iterdir()) == [], "no file, not even a temporary one"
    with ledger.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(DefaultReportRun)) == 0
        assert not any(
            entry.action.startswith("default_report")
            for entry in uow.session.scalars(select(AuditLogEntry))
        )


def test_a_run_interrupted_while_decrypting_leaves_nothing_behind(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path
) -> None:
    anna, _ = anna_and_bruno
    with ledger.uow() as uow:
        entry = uow.session.get(IdentityVaultEntry, anna)
        entry.ciphertext = bytes(len(entry.ciphertext))

    with pytest.raises(IdentityVaultError, match="does not decrypt"):
        run(ledger, out, FIRST_REPORT)

    _nothing_left(ledger, out)


def test_a_run_interrupted_while_placing_its_files_leaves_nothing_behind(
    ledger: Ledger, anna_and_bruno: tuple[str, str], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = reporting.os.replace
    calls: list[Path] = []

    def disk_full_on_second_file(source: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(reporting.os, "replace", disk_full_on_second_file)

    with pytest.raises(reporting.DefaultReportingError, match="No space left"):
        run(ledger, out, FIRST_REPORT)

    _nothing_left(ledger, out)
