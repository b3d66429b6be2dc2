"""The sales system's webhook endpoint for the tests: a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scoring.service import webhooks

SECRET = "a-shared-secret-of-the-sales-system"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """Verifies signatures and de-duplicates by event id, as the sales system should.

    ``on_request`` runs before each answer, as a slow receiver would keep the sender waiting.
    While ``failing_with`` is set the receiver answers that status and keeps nothing, as one
    whose own storage is broken would; while ``stalling_s`` is set it waits that long first.
    """

    def __init__(
        self,
        port: int,
        clock: Callable[[], datetime],
        on_request: Callable[[int], None] | None = None,
    ) -> None:
        self.url = f"http://127.0.0.1:{port}/installment-events"
        self.requests: list[dict] = []
        self.accepted: dict[str, dict] = {}
        self.failing_with: int | None = None
        self.stalling_s: float = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                if on_request is not None:
                    on_request(len(receiver.requests))
                if receiver.stalling_s:
                    time.sleep(receiver.stalling_s)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = webhooks.verify_signature(
                    secret=SECRET,
                    header=self.headers[webhooks.SIGNATURE_HEADER],
                    body=body,
                    now=clock(),
                )
                event = json.loads(body)
                receiver.requests.append({"signed": ok, "event_id": event["id"]})
                if receiver.failing_with is not None:
                    self.send_response(receiver.failing_with)
                    self.end_headers()
                    return
                if ok:
                    receiver.accepted.setdefault(self.headers[webhooks.EVENT_ID_HEADER], event)
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
