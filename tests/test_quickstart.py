"""The README's Quickstart as a newcomer runs it: `make demo` on a fresh home, the command
where the README says it is, the demo's persona script and one decision by hand.

`make demo` runs here exactly as typed, with what the README documents for a second copy:
its own home (``INSTALLMENT_HOME``), free ports (``INSTALLMENT_DEMO_*_PORT``) and a small
world (``INSTALLMENT_DEMO_CUSTOMERS``). Its output goes to a pipe, as when it is logged,
so it must carry no escape codes, no third-party warnings or import errors, and print
every command and path whole on one line (the banner is 80 columns wide off a terminal).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # about two minutes: a world, two models, the services

REPO = Path(__file__).resolve().parents[1]
INSTALLMENT = REPO / ".venv" / "bin" / "installment"
READY_WITHIN = 900  # seconds: world, database, two models and 40 decisions, on a busy machine
# What must never reach a newcomer's screen on a normal run.
NOISE = re.compile(
    r"Warning|warnings\.warn|Traceback|ImportError|undefined symbol|error:|"
    r"CloudPickle|pip |DEPRECAT|Successfully registered|Creating a new version|Created version",
    re.IGNORECASE,
)


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class RunningDemo:
    home: Path
    api: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)


def _bootstrapped() -> bool:
    # `make test` bootstraps first; a bare `pytest` on a stale environment would install.
    return subprocess.run(["make", "-q", "bootstrap"], cwd=REPO).returncode == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    if not _bootstrapped():
        pytest.skip("the environment is not bootstrapped: run `make bootstrap` first")
    home = tmp_path_factory.mktemp("fresh-home")
    api_port, bureau_port, mlflow_port = _free_ports(3)
    env = {
        **os.environ,
        "INSTALLMENT_HOME": str(home),
        "INSTALLMENT_DEMO_API_PORT": str(api_port),
        "INSTALLMENT_DEMO_BUREAU_PORT": str(bureau_port),
        "INSTALLMENT_DEMO_MLFLOW_PORT": str(mlflow_port),
        "INSTALLMENT_DEMO_CUSTOMERS": "2000",
    }
    for name in ("TERM", "FORCE_COLOR", "COLUMNS"):
        env.pop(name, None)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "demo"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: the services are stopped with it
    )
    running = RunningDemo(home=home, api=f"http://127.0.0.1:{api_port}", env=env, process=process)
    assert process.stdout is not None
    reader = threading.Thread(
        target=lambda: running.lines.extend(iter(process.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        deadline = time.monotonic() + READY_WITHIN
        while not _answers(f"{running.api}/readyz"):
            if process.poll() is not None:
                pytest.fail(f"make demo ended with {process.returncode}:\n{running.output}")
            if time.monotonic() > deadline:
                pytest.fail(f"the demo was not ready within {READY_WITHIN} s:\n{running.output}")
            time.sleep(1)
        yield running
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        reader.join(timeout=10)


def _run(demo: RunningDemo, *command: str) -> str:
    result = subprocess.run(
        list(command), cwd=REPO, env=demo.env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{command}: {result.stdout}\n{result.stderr}"
    assert not NOISE.search(result.stderr), result.stderr
    return result.stdout


def test_the_command_is_where_the_readme_says(demo):
    assert "Usage: installment" in _run(demo, str(INSTALLMENT.relative_to(REPO)), "--help")


def test_the_banner_is_plain_quiet_and_every_command_pastes_whole(demo):
    text = demo.output
    assert "\x1b" not in text, "escape codes in output that is not a terminal"
    noisy = [line for line in text.splitlines() if NOISE.search(line)]
    assert noisy == []
    lines = text.splitlines()
    whole = [
        f"bash {demo.home / 'demo' / 'personas.sh'}",
        f"bash {demo.home / 'demo' / 'decide.sh'} PERSONAL_CODE",
        str(demo.home / "secrets" / "demo-api-key"),
        (demo.home / "secrets" / "demo-api-key").read_text().strip(),
        f"{demo.api}/docs",
        f"{demo.api}/healthz  {demo.api}/readyz  {demo.api}/metrics",
        # The receiver's port is the API's plus 99 (8799 beside the default 8700).
        ".venv/bin/installment webhooks listen --client demo-sales-system --port "
        f"{int(demo.api.rsplit(':', 1)[1]) + 99}",
        f"bash {demo.home / 'demo' / 'subject-request.sh'} ",
    ]
    for piece in whole:
        assert any(piece in line for line in lines), f"not on one line: {piece}\n{text}"
    for person in json.loads((demo.home / "demo" / "personas.json").read_text()):
        assert any(person["name"] in line and person["personal_code"] in line for line in lines), (
            person["name"]
        )
    for command in (line.strip() for line in lines if line.startswith("  bash ")):
        assert Path(command.split()[1]).is_file(), command


def test_each_persona_gets_the_outcome_the_demo_documents(demo):
    out = _run(demo, "bash", str(demo.home / "demo" / "personas.sh"))
    personas = json.loads((demo.home / "demo" / "personas.json").read_text())
    got = {}
    for match in re.finditer(r"^(\S+)\s+expected (\S+)\s+got (\S*)\s+decision (\S*)$", out, re.M):
        got[match[1]] = (match[2], match[3])
    assert set(got) == {p["name"] for p in personas}, out
    assert {name: expected for name, (expected, _) in got.items()} == {
        p["name"]: p["expected"] for p in personas
    }
    assert all(expected == actual for expected, actual in got.values()), out
    contested = re.search(r"contested: review (\S+), status (\S+), due on (\S+)$", out, re.M)
    assert contested is not None and contested[1] and contested[2] == "open", out
    health = json.loads(urllib.request.urlopen(f"{demo.api}/readyz", timeout=5).read())
    assert health, "the API stays ready after the bureau was switched down and up again"


def test_one_decision_by_hand_as_the_readme_shows(demo):
    personas = json.loads((demo.home / "demo" / "personas.json").read_text())
    code = personas[0]["personal_code"]
    script = demo.home / "demo" / "decide.sh"
    answer = json.loads(_run(demo, "bash", str(script), code, "1800", "12", "electronics"))
    assert answer["outcome"] in {"approve", "decline", "refer", "pending_review"}, answer
    assert answer["decision_id"] and answer["reasons"] is not None
