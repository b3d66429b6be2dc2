"""A refresh repeated in a daemon thread: how API processes notice changes made elsewhere."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Poller:
    """Call ``refresh`` every ``seconds`` in a daemon thread, from ``start()`` to ``stop()``."""

    def __init__(self, refresh: Callable[[], Any], *, seconds: float, name: str) -> None:
        self._refresh = refresh
        self._seconds = seconds
        self._name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return

        def poll() -> None:
            while not self._stop.wait(self._seconds):
                self._refresh()

        self._thread = threading.Thread(target=poll, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._seconds + 1)
            self._thread = None
