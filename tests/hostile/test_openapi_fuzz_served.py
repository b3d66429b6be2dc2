"""schemathesis with all its checks against the API served by a real process on 127.0.0.1.

Every phase (examples, coverage, fuzzing, stateful) and every check: no 5xx, every status
and body as the OpenAPI document says, schema-violating requests refused, schema-valid
requests accepted (the API's own formats are taught to schemathesis by
``schemathesis_hooks``), methods the document does not list refused with a documented 405,
authentication enforced. The in-process companion, ``test_openapi_fuzz.py``, also checks
that a refused request stores nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
EXAMPLES = 25


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_schemathesis_with_all_checks_finds_nothing_against_the_served_api(tmp_path):  # type: ignore[no-untyped-def]
    port, key_file = _free_port(), tmp_path / "key.txt"
    env = {**os.environ, "INSTALLMENT_HOME": str(tmp_path / "home"),
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, str(HERE / "fuzz_server.py"), str(tmp_path / "installment.db"),
         str(tmp_path / "home"), str(port), str(key_file)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not key_file.exists() or not _answers(f"{base}/healthz"):
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            assert time.monotonic() < deadline, "the API process did not start"
            time.sleep(0.3)
        run = subprocess.run(
            [SCHEMATHESIS, "run", f"{base}/openapi.json", "--checks", "all",
             "--header", f"Authorization: Bearer {key_file.read_text().strip()}",
             "--max-examples", str(EXAMPLES), "--seed", "21", "--generation-database", "none",
             "--no-color", "--wait-for-schema", "60"],
            env={**env, "PYTHONPATH": str(HERE), "SCHEMATHESIS_HOOKS": "schemathesis_hooks"},
            # Its own cache of crashes goes to the test's folder, not the checkout.
            cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(20)
        log.close()
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "0 failures" in run.stdout or "passed" in run.stdout, run.stdout[-3000:]
    assert "Traceback" not in (tmp_path / "server.log").read_text()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
