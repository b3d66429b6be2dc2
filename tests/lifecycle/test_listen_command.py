"""`installment webhooks listen`, the newcomer's receiver, prints every move of a case as
it arrives, signature verified, from its opening to its outcome."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lifecycle_intercepts import REFERRING
from test_paths import decide
from webhook_receiver import free_port

INSTALLMENT = str(Path(sys.executable).with_name("installment"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_listen_prints_each_move_of_a_case_until_its_outcome(life, codes):
    url = life.runtime.engine.url.render_as_string(hide_password=False)
    port = free_port()
    listener = subprocess.Popen(
        [INSTALLMENT, "webhooks", "listen", "--client", "sales", "--port", str(port),
         "--database-url", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        # The test's own home: the listener seals its secret with the key this process opens.
        env={**os.environ},
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in listener.stdout], daemon=True).start()

    def next_line(timeout_s: float = 60.0) -> str:
        return lines.get(timeout=timeout_s).rstrip()

    try:
        assert next_line().startswith(f"listening on http://127.0.0.1:{port}/installment-events")
        next_line()  # how events are posted
        # The listener checks signatures on the real clock; the test's clock is set to it.
        life.clock.now = datetime.now(UTC)
        life.model(REFERRING)
        answer = life.apply(codes())
        review_id = answer["review"]["review_id"]
        decide(life, review_id, "approved")
        life.delivered()
        printed = [next_line(), next_line(), next_line()]
    finally:
        listener.terminate()
        listener.wait(timeout=20)
    assert [p.split(" ", 1)[0] for p in printed] == [
        "review.opened", "review.claimed", "review.resolved",
    ]  # fmt: skip
    assert printed[0].startswith(f"review.opened #1: review {review_id} (referral) new -> open")
    assert "awaiting_person" in printed[0] and "open -> claimed" in printed[1]
    assert "claimed -> resolved" in printed[2] and "superseded, outcome approve" in printed[2]
