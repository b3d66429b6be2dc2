"""The listening socket of `installment serve`: a port shared by replicas, or refused clearly."""

from __future__ import annotations

import socket

import pytest

from scoring.api.server import ServerSocketError, listening_socket


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_replicas_with_reuse_port_bind_the_same_port_and_both_accept():
    port = _free_port()
    first = listening_socket("127.0.0.1", port, reuse_port=True)
    second = listening_socket("127.0.0.1", port, reuse_port=True)
    try:
        for sock in (first, second):
            sock.listen(64)
            sock.settimeout(0.2)
        # The kernel spreads new connections over the two listeners: both get some.
        accepted = {id(first): 0, id(second): 0}
        clients = []
        for _ in range(20):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=1))
        for sock in (first, second):
            while True:
                try:
                    conn, _ = sock.accept()
                except TimeoutError:
                    break
                accepted[id(sock)] += 1
                conn.close()
        assert sum(accepted.values()) == 20
        assert all(count > 0 for count in accepted.values()), accepted
    finally:
        for client in clients:
            client.close()
        first.close()
        second.close()


def test_a_taken_port_without_reuse_port_is_refused_with_the_reason():
    port = _free_port()
    taken = listening_socket("127.0.0.1", port, reuse_port=False)
    taken.listen(1)
    try:
        with pytest.raises(ServerSocketError, match=f"cannot listen on 127.0.0.1:{port}"):
            listening_socket("127.0.0.1", port, reuse_port=False)
    finally:
        taken.close()


def test_decision_threads_come_from_the_environment_and_are_checked(tmp_path):
    from scoring.config import load_settings

    home = {"INSTALLMENT_HOME": str(tmp_path)}
    assert load_settings(home).decision_threads is None  # chosen by the runtime
    assert load_settings({**home, "INSTALLMENT_DECISION_THREADS": "auto"}).decision_threads is None
    assert load_settings({**home, "INSTALLMENT_DECISION_THREADS": "2"}).decision_threads == 2
    for bad in ("0", "many", "1000"):
        with pytest.raises(ValueError, match="INSTALLMENT_DECISION_THREADS must be a whole"):
            load_settings({**home, "INSTALLMENT_DECISION_THREADS": bad})
