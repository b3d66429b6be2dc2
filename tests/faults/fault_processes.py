"""Real processes for the fault tests: the API, a private PostgreSQL cluster, reviewers.

Everything listens on 127.0.0.1 on a free port, every wait is bounded, and every process
is stopped by its own id (the API by its process group, which holds uvicorn alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLMENT = str(Path(sys.executable).with_name("installment"))
API_START_TIMEOUT_S = 180.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def child_env(home: Path, **settings: str) -> dict[str, str]:
    """The environment of a child process: only ``home`` and the given settings apply."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INSTALLMENT_")}
    env.update(INSTALLMENT_HOME=str(home), MLFLOW_DISABLE_TELEMETRY="true", **settings)
    return env


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class ApiProcess:
    """``installment serve`` running in a process of its own."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def metric(self, name: str, **labels: str) -> float:
        """The current value of one sample of ``/metrics`` (0 when it is not there yet)."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=5.0).text
        wanted = name + (
            "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}" if labels else ""
        )
        for line in text.splitlines():
            sample, _, value = line.rpartition(" ")
            if sample == wanted:
                return float(value)
        return 0.0


def start_api(*, home: Path, database_url: str, bureau_url: str, log: Path) -> ApiProcess:
    """Start ``installment serve``; it is returned once ``/readyz`` says ready."""
    port = free_port()
    env = child_env(home, INSTALLMENT_DATABASE_URL=database_url, INSTALLMENT_BUREAU_URL=bureau_url)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [INSTALLMENT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT,
            start_new_session=True,
        )  # fmt: skip
    api = ApiProcess(process, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(api)
    except BaseException:
        api.stop()
        raise
    return api


def wait_ready(api: ApiProcess, *, timeout_s: float = API_START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if api.process.poll() is not None:
            raise RuntimeError(
                f"installment serve exited with {api.process.returncode}:\n{_tail(api.log)}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api.base_url}/readyz", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"installment serve not ready in {timeout_s:.0f} s:\n{_tail(api.log)}")


def issue_key(database_url: str) -> str:
    """Migrate the database and issue the sales system an API key on it."""
    from scoring.service.api_keys import create_api_key
    from scoring.storage.db import UnitOfWork, create_engine_for
    from scoring.storage.migrate import upgrade

    upgrade(database_url)
    engine = create_engine_for(database_url)
    try:
        issued = create_api_key(
            uow=UnitOfWork.for_engine(engine),
            client="sales-system",
            scopes=["decisions:write", "decisions:read"],
        )
    finally:
        engine.dispose()
    return issued.key


# ---------------------------------------------------------------------------------------
# A private PostgreSQL cluster, so that stopping it disturbs nobody else's tests.


def postgres_bin_dir() -> Path | None:
    """The newest ``/usr/lib/postgresql/<major>/bin`` holding ``initdb`` and ``pg_ctl``."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
    )
    for folder in reversed(found):
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    for name in ("initdb", "pg_ctl"):
        if shutil.which(name) is None:
            return None
    return Path(shutil.which("pg_ctl")).parent  # type: ignore[arg-type]


class PrivateCluster:
    """A throw-away PostgreSQL cluster on a free port, started and stopped at will.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres``
    OS user and every server command runs as that user.
    """

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="installment-faults-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, user="postgres", group="postgres")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout_s: float = 60.0) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): {done.stderr.strip()[-1500:]}\n"
                f"{_tail(self.log)}"
            )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "--no-sync", "-E", "UTF8")  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} "
            "-c fsync=off -c max_connections=60"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "60", "start")  # fmt: skip

    def stop(self) -> None:
        # "fast" ends every session at once, as a crash or a failover would.
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def private_cluster(bin_dir: Path) -> Iterator[PrivateCluster]:
    cluster = PrivateCluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


# ---------------------------------------------------------------------------------------
# Reviewers in processes of their own.

CLAIM_WORKER = Path(__file__).with_name("claim_worker.py")


def start_reviewers(
    *, database_url: str, reviewers: list[tuple[int, str]], claims: int, home: Path
) -> list[list[str]]:
    """Reviewer processes that claim ``claims`` cases each, all let go at one moment.

    Returns the case ids each reviewer (``(user_id, username)``) was given, in order.
    """
    processes = []
    try:
        for user_id, username in reviewers:
            arguments = json.dumps(
                {"database_url": database_url, "user_id": user_id, "username": username,
                 "claims": claims}
            )  # fmt: skip
            processes.append(
                subprocess.Popen(
                    [sys.executable, str(CLAIM_WORKER), arguments],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    cwd=REPO_ROOT,
                    env=child_env(home),
                )  # fmt: skip
            )
        for process in processes:
            assert process.stdout is not None and process.stderr is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a reviewer process failed to start: {process.stderr.read()}")
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        claimed = []
        for process in processes:
            out, err = process.communicate(timeout=120)
            if process.returncode != 0:
                raise RuntimeError(f"a reviewer process failed: {err[-2000:]}")
            claimed.append(json.loads(out.strip().splitlines()[-1])["claimed"])
        return claimed
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
