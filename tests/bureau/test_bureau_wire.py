"""The client's network path against a plain HTTP server on 127.0.0.1: what goes out,
keep-alive reuse, and each failure mapped to its reason without the request in it."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from bureau_fakes import PERSON, valid_answer

from scoring.bureau.breaker import CircuitBreaker
from scoring.bureau.client import BureauCircuitOpen, BureauClient, BureauUnavailable
from scoring.bureau.wire import PooledWire


class _Bureau(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    seen: list[tuple[str, str, dict, int]] = []
    delay_s = 0.0

    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        port = self.client_address[1]
        type(self).seen.append((self.path, self.headers["Content-Type"], body, port))
        time.sleep(type(self).delay_s)
        answer = json.dumps(valid_answer()).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def bureau(delay_s: float = 0.0) -> Iterator[str]:
    handler = type("Bureau", (_Bureau,), {"seen": [], "delay_s": delay_s})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_queries_go_to_the_base_path_in_the_body_on_one_kept_alive_connection():
    with bureau() as (url, handler), BureauClient(f"{url}/bureau/") as client:
        for _ in range(3):
            assert client.fetch_report(PERSON).report_id == valid_answer()["report_id"]
    paths = {path for path, _, _, _ in handler.seen}
    assert paths == {"/bureau/v1/reports"}
    assert {kind for _, kind, _, _ in handler.seen} == {"application/json"}
    assert all(body["personal_code"] == PERSON for _, _, body, _ in handler.seen)
    assert len({port for _, _, _, port in handler.seen}) == 1, "one connection, kept alive"


def test_a_slow_answer_is_a_timeout_without_the_request_in_the_error():
    with (
        bureau(delay_s=0.5) as (url, _),
        BureauClient(url, timeout_s=0.1, overall_budget_s=0.15, max_attempts=1) as client,
        pytest.raises(BureauUnavailable) as caught,
    ):
        client.fetch_report(PERSON)
    assert caught.value.reason == "timeout"
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert PERSON not in str(caught.value)


def test_nobody_listening_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with (
        BureauClient(f"http://127.0.0.1:{port}", max_attempts=1) as client,
        pytest.raises(BureauUnavailable) as caught,
    ):
        client.fetch_report(PERSON)
    assert caught.value.reason == "connection_error"
    assert client.stats.attempts["connection_error"] == 1


def test_a_caller_waits_for_a_free_connection_no_longer_than_its_timeout():
    with bureau(delay_s=0.4) as (url, _):
        wire = PooledWire(url, "/v1/reports", max_connections=1)
        body = json.dumps({"personal_code": PERSON}).encode()
        holder = threading.Thread(target=wire.exchange, args=(body,), kwargs={"timeout_s": 2.0})
        holder.start()
        time.sleep(0.1)  # the one connection is busy now
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.exchange(body, timeout_s=0.1)
        assert time.monotonic() - started < 0.3
        holder.join()
        assert wire.exchange(body, timeout_s=2.0)[0] == 200
        wire.close()


def test_only_http_addresses_are_taken():
    with pytest.raises(ValueError, match="http"):
        PooledWire("ftp://bureau.test", "/v1/reports", max_connections=1)


@contextmanager
def trickling_bureau(*, headers_too: bool, gap_s: float = 0.05) -> Iterator[str]:
    """A bureau on a raw socket that sends its answer one byte every ``gap_s`` seconds."""
    answer = json.dumps(valid_answer()).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(answer)}\r\n\r\n".encode()
    )
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                slow = head + answer if headers_too else answer
                if not headers_too:
                    connection.sendall(head)
                for byte in slow:
                    if stop.is_set():
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(gap_s)
            except OSError:
                return  # the client gave up and closed the connection

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@pytest.mark.parametrize("headers_too", [False, True], ids=["body", "headers-and-body"])
def test_a_trickled_answer_is_cut_off_at_the_overall_budget(headers_too: bool):
    # Each byte arrives well within the 0.2 s read timeout, so only a deadline over the
    # whole exchange stops it; the whole answer would take over 20 s.
    with (
        trickling_bureau(headers_too=headers_too) as url,
        BureauClient(url, timeout_s=0.2, overall_budget_s=0.3, max_attempts=2) as client,
    ):
        started = time.monotonic()
        with pytest.raises(BureauUnavailable) as caught:
            client.fetch_report(PERSON)
        elapsed = time.monotonic() - started
    assert caught.value.reason in ("timeout", "budget_exhausted")
    # The budget is 0.3 s; the bound leaves room for a loaded machine, not for a trickle.
    assert elapsed < 1.5, f"the query took {elapsed:.2f} s"


def test_a_trickling_bureau_opens_the_circuit():
    with (
        trickling_bureau(headers_too=False) as url,
        BureauClient(
            url, timeout_s=0.1, overall_budget_s=0.15, max_attempts=1,
            breaker=CircuitBreaker(failure_threshold=3, cooldown_s=60),
        ) as client,
    ):  # fmt: skip
        for _ in range(3):
            with pytest.raises(BureauUnavailable):
                client.fetch_report(PERSON)
        assert client.breaker.state == "open"
        with pytest.raises(BureauCircuitOpen):
            client.fetch_report(PERSON)
    assert client.stats.attempts["timeout"] == 3
