"""The real application under uvicorn on a free local port, and headless Chromium to drive it.

The server runs in a child process on a temporary SQLite database that the fixture migrates
and seeds (three accounts, contested cases) before it starts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from browser_steps import PASSWORD

# The contested cases are shaped by the same module the server-side UI tests use.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "review_ui"))

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ACCOUNTS = {
    "rita": "reviewer",
    "sven": "senior_reviewer",
    "aino": "auditor",
    "lena": "reviewer",
}

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class LiveApp:
    base_url: str
    database_url: str
    case_ids: list[str]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _seed(database_url: str) -> list[str]:
    from review_ui_cases import contested_case

    from review_ui.accounts import add_user
    from scoring.storage.db import UnitOfWork, create_engine_for
    from scoring.storage.migrate import upgrade

    upgrade(database_url)
    engine = create_engine_for(database_url)
    now = datetime.now(UTC)
    try:
        with UnitOfWork.for_engine(engine) as uow:
            for username, role in ACCOUNTS.items():
                add_user(uow=uow, username=username, role=role, password=PASSWORD)
            # Received 28 days ago: near its deadline, so first in the queue.
            first = contested_case(uow, now=now, amount_eur=7200.0, received_days_ago=28)
            second = contested_case(uow, now=now, amount_eur=3000.0, received_days_ago=2)
    finally:
        engine.dispose()
    return [first, second]


def _register_evaluated_model(home: Path) -> None:
    """Model version 3 (the one the seeded decisions name) with its evaluation tables.

    The tables come from the training code's own function, over a synthetic held-out slice
    where thin files default more often than the model predicts, as the world's do.
    """
    import numpy as np
    import pandas as pd

    from models.evaluation import metrics as m
    from models.evaluation.known_limits import TAG, known_limits_tables, tables_json
    from models.evaluation.report import Evaluation
    from models.registry import MODEL_NAME, mlflow_client
    from scoring.config import load_settings

    rng = np.random.default_rng(20)
    rows = 4000
    frame = pd.DataFrame(
        {
            "thin_file": (rng.random(rows) < 0.12).astype(float),
            "tenure_months": rng.integers(0, 120, rows).astype(float),
            "bureau_class_rank": rng.integers(0, 4, rows).astype(float),
        }
    )
    pd_ = np.clip(rng.beta(1.2, 14, rows) * (1 + frame["bureau_class_rank"] / 2), 0.001, 0.9)
    truth = np.where(frame["thin_file"] == 1, np.clip(pd_ * 1.8, 0, 0.95), pd_)
    frame["defaulted"] = (rng.random(rows) < truth).astype(float)
    frame["pd"] = pd_

    class _Scores:
        def predict_pd(self, rows_: pd.DataFrame) -> np.ndarray:
            return rows_["pd"].to_numpy()

    y, p = frame["defaulted"].to_numpy(), frame["pd"].to_numpy()
    evaluation = Evaluation(
        kind="lightgbm",
        metrics={"auc": m.auc(y, p), "ece": m.expected_calibration_error(y, p)},
        calibration=m.calibration_table(y, p),
        cutoffs=m.cutoff_table(y, p, [0.1]),
        segments={},
    )
    tables = known_limits_tables(_Scores(), frame, target="defaulted", evaluation=evaluation)  # type: ignore[arg-type]
    client = mlflow_client(load_settings({"INSTALLMENT_HOME": str(home)}))
    client.create_registered_model(MODEL_NAME)
    for _ in range(3):
        version = client.create_model_version(MODEL_NAME, source=str(home / "model")).version
    client.set_model_version_tag(MODEL_NAME, version, "kind", "lightgbm")
    client.set_model_version_tag(MODEL_NAME, version, "auc", f"{evaluation.metrics['auc']:.6g}")
    client.set_model_version_tag(MODEL_NAME, version, TAG, tables_json(tables))


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The whole API application (with the reviewer UI under /review) serving a seeded database."""
    home = tmp_path_factory.mktemp("home")
    database_url = f"sqlite:///{home / 'installment.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "INSTALLMENT_HOME": str(home),
        "INSTALLMENT_DATABASE_URL": database_url,
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "scoring.bootstrap:create_server_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        # Seeded while the server imports: it touches the database only when asked.
        case_ids = _seed(database_url)
        _register_evaluated_model(home)
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited: {(home / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield LiveApp(base_url=base_url, database_url=database_url, case_ids=case_ids)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent; `bash scripts/test-setup.sh` as root installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_app):  # type: ignore[no-untyped-def]
    """A function opening a fresh browser context (its own cookies) on the live app."""
    contexts = []

    def open_page():  # type: ignore[no-untyped-def]
        context = browser.new_context(
            base_url=live_app.base_url, viewport={"width": 1200, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
