"""A client generated from the live OpenAPI document by openapi-python-client works as is.

The generator is the one a sales-system team would pick up; if the document leaves out
how to authenticate, types a closed set as a plain string, or promises a body the API does
not send, the generated client fails to build, to type, or to parse an answer.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from api_requests import CODE, issue_key

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "installment_client"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_api(runtime):
    """The API application under uvicorn on a free local port, in a thread."""
    import uvicorn

    from scoring.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    yield base_url
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def generated(live_api, tmp_path):
    """The client package generated from the running API's /openapi.json, imported."""
    schema = tmp_path / "openapi.json"
    schema.write_bytes(httpx.get(f"{live_api}/openapi.json").content)
    config = tmp_path / "generator.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--config",
            str(config),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": f"{GENERATOR.parent}:{os.environ.get('PATH', '')}"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout, done.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def test_a_generated_client_decides_and_contests(generated, live_api, runtime):
    api = importlib.import_module(f"{PACKAGE}.api.decisions.create_decision_v1_decisions_post")
    contest_api = importlib.import_module(
        f"{PACKAGE}.api.reviews.contest_v1_decisions_decision_id_contest_post"
    )
    review_api = importlib.import_module(
        f"{PACKAGE}.api.reviews.read_review_v1_reviews_review_id_get"
    )
    models = importlib.import_module(f"{PACKAGE}.models")
    key = issue_key(runtime, scopes=("decisions:write", "reviews:write", "reviews:read"))
    client = generated.AuthenticatedClient(base_url=live_api, token=key)

    request = models.DecisionRequest.from_dict(
        {
            "application_id": "GEN-0001",
            "personal_code": CODE,
            "purchase": {"amount_eur": 500.0, "term_months": 12, "product_category": "electronics"},
            "channel": "web",
        }
    )
    answer = api.sync_detailed(client=client, body=request)
    assert answer.status_code == 201, answer.content
    decision = answer.parsed
    assert isinstance(decision, models.DecisionPublic)
    assert isinstance(decision.outcome, models.Outcome)
    assert decision.contest.url == f"{live_api}/v1/decisions/{decision.decision_id}/contest"

    created = contest_api.sync_detailed(
        decision.decision_id,
        client=client,
        body=models.ContestCreate(statement="My income has risen since the application."),
    )
    assert created.status_code == 201, created.content
    assert created.parsed.status == models.CaseStatus.OPEN

    review = review_api.sync_detailed(created.parsed.review_id, client=client)
    assert review.status_code == 200, review.content
    assert review.parsed.kind == models.CaseKind.CONTEST
    assert review.parsed.decision_id == decision.decision_id

    # An error is parsed as the project's error body, with its code.
    again = contest_api.sync_detailed(
        decision.decision_id, client=client, body=models.ContestCreate(statement="Once more.")
    )
    assert again.status_code == 409
    assert isinstance(again.parsed, models.ErrorBody)
    assert again.parsed.error.code == "already_contested"
