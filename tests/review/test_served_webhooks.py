"""`installment serve` tells the sales system a review's outcome without a separate worker.

The real command runs in a child process on a seeded SQLite database; a reviewer upholds a
contested decision through the reviewer UI over HTTP, and the sales system's receiver on
127.0.0.1 gets the signed ``review.resolved`` event. With ``--no-webhooks`` the event
waits in the outbox until ``installment webhooks deliver`` sends it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from review_cases import UI_SALES, contested_case
from webhook_receiver import SECRET, Receiver, free_port

from scoring.service import webhooks
from scoring.storage.db import UnitOfWork, create_engine_for

pytestmark = pytest.mark.slow

INSTALLMENT = str(Path(sys.executable).with_name("installment"))
PASSWORD = "served app test password"
WHY = "The late invoices are confirmed by the billing records; the decline stands."
START_TIMEOUT_S = 120.0
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def utc_now() -> datetime:
    return datetime.now(UTC)


def _seed(database_url: str, receiver_url: str) -> str:
    """A reviewer account, a contested case and the sales system's webhook; the case id."""
    from review_ui.accounts import add_user
    from scoring.storage.migrate import upgrade

    upgrade(database_url)
    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            add_user(uow=uow, username="rita", role="reviewer", password=PASSWORD)
            case_id = contested_case(uow, now=utc_now(), amount_eur=3000.0)
        webhooks.add_subscription(
            uow=UnitOfWork.for_engine(engine), client=UI_SALES, url=receiver_url, secret=SECRET
        )
    finally:
        engine.dispose()
    return case_id


@contextmanager
def _served(home: Path, database_url: str, *options: str) -> Iterator[str]:
    """``installment serve`` on a free local port until the block ends; its base URL."""
    port = free_port()
    env = {
        **os.environ,
        "INSTALLMENT_HOME": str(home),
        "INSTALLMENT_DATABASE_URL": database_url,
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **_same_webhook_key(),
    }
    log_path = home / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [INSTALLMENT, "serve", "--host", "127.0.0.1", "--port", str(port), *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"serve exited: {log_path.read_text()[-2000:]}")
                try:
                    if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"serve did not answer within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _same_webhook_key() -> dict[str, str]:
    """The key file this process sealed the seeded secret with (one deployment, one key)."""
    from scoring.config import get_settings

    return {"INSTALLMENT_WEBHOOK_SECRET_KEY_FILE": str(get_settings().webhook_secret_key_file)}


def _csrf(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


def _uphold_in_the_ui(base_url: str, case_id: str) -> None:
    """Sign in as rita, claim the case and uphold it, as a reviewer's browser would."""
    with httpx.Client(base_url=base_url, timeout=30) as ui:
        form = ui.get("/review/login")
        signed = ui.post(
            "/review/login",
            data={"username": "rita", "password": PASSWORD, "csrf_token": _csrf(form.text)},
        )
        assert signed.status_code == 303, signed.text
        queue = ui.get("/review/queue")
        claimed = ui.post("/review/queue/claim-next", data={"csrf_token": _csrf(queue.text)})
        assert claimed.headers["location"].endswith(f"/review/cases/{case_id}")
        page = ui.get(f"/review/cases/{case_id}")
        decided = ui.post(
            f"/review/cases/{case_id}/decide",
            data={
                "csrf_token": _csrf(page.text),
                "outcome": "upheld",
                "justification": WHY,
                "customer_explanation_et": "Teie maksete ajalugu ei toeta seda järelmaksu.",
                "customer_explanation_en": "Your payment history does not support this plan.",
                "then": "stay",
            },
        )
        assert decided.status_code == 303, decided.text


def _pending_events(database_url: str) -> list[webhooks.EventView]:
    engine = create_engine_for(database_url)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            return webhooks.events(session=uow.session, pending_only=True)
    finally:
        engine.dispose()


def test_a_served_app_delivers_a_review_outcome_to_the_sales_system(tmp_path):
    receiver = Receiver(free_port(), utc_now)
    database_url = f"sqlite:///{tmp_path / 'installment.db'}"
    try:
        case_id = _seed(database_url, receiver.url)
        with _served(tmp_path, database_url) as base_url:
            _uphold_in_the_ui(base_url, case_id)
            deadline = time.monotonic() + 30
            while len(receiver.accepted) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
    finally:
        receiver.stop()
    # The claim in the UI and the outcome each reach the sales system, signed, in order.
    assert [r["signed"] for r in receiver.requests] == [True, True]
    claimed, event = receiver.accepted.values()
    assert (claimed["type"], claimed["data"]["status"]) == ("review.claimed", "claimed")
    assert claimed["data"]["outcome"] is None
    assert event["type"] == "review.resolved"
    assert event["data"]["review_id"] == case_id
    assert (event["data"]["outcome"], event["data"]["resulting_outcome"]) == ("upheld", "decline")
    assert _pending_events(database_url) == []


def test_with_no_webhooks_the_outcome_waits_for_the_delivery_command(tmp_path):
    receiver = Receiver(free_port(), utc_now)
    database_url = f"sqlite:///{tmp_path / 'installment.db'}"
    try:
        case_id = _seed(database_url, receiver.url)
        with _served(tmp_path, database_url, "--no-webhooks") as base_url:
            _uphold_in_the_ui(base_url, case_id)
            # A served worker would have posted within one pass (2 seconds when idle).
            time.sleep(5)
            assert receiver.requests == []
        waiting = _pending_events(database_url)
        assert {(e.review_case_id, e.attempts) for e in waiting} == {(case_id, 0)}
        assert sorted(e.event_type for e in waiting) == ["review.claimed", "review.resolved"]
        delivered = subprocess.run(
            [INSTALLMENT, "webhooks", "deliver", "--once", "--database-url", database_url],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "INSTALLMENT_HOME": str(tmp_path), **_same_webhook_key()},
        )
    finally:
        receiver.stop()
    assert delivered.returncode == 0, delivered.stderr
    assert "delivered 2, failed 0" in delivered.stdout
    assert set(receiver.accepted) == {e.id for e in waiting}
