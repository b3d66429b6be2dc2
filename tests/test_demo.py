"""`make demo` sets everything up on embedded defaults, a second run reuses it, and its
personas give the outcome each is documented with."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from scoring.cli.demo_setup import (
    BUREAU_DOWN,
    PERSONAS,
    DemoAddresses,
    prepare,
    read_personas,
    write_personas_script,
    write_try_script,
)
from scoring.config import Settings, load_settings

AS_OF = date(2026, 11, 1)


@dataclass(frozen=True)
class Demo:
    settings: Settings
    champion: str | None
    world_dir: Path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One small demo set up once, as `installment demo --no-serve` sets it up."""
    home = tmp_path_factory.mktemp("demo-home")
    settings = load_settings({"INSTALLMENT_HOME": str(home)})
    state = prepare(settings=settings, customers=2000, console=Console(width=200), as_of=AS_OF)
    return Demo(settings=settings, champion=state.champion, world_dir=state.world_dir)


def test_the_demo_builds_a_world_a_database_and_a_champion_and_reuses_them(demo):
    assert (demo.world_dir / "manifest.json").exists()
    assert (demo.settings.home / "installment.db").exists()
    assert demo.champion is not None

    console = Console(record=True, width=200)
    second = prepare(settings=demo.settings, customers=2000, console=console, as_of=AS_OF)
    assert second.champion == demo.champion
    text = console.export_text()
    assert "synthetic world already in" in text
    assert "(0 new rows)" in text


def test_there_is_one_documented_persona_per_outcome(demo):
    personas = read_personas(demo.settings)
    kinds = [p["kind"] for p in personas]
    assert kinds == [*PERSONAS, BUREAU_DOWN.kind]
    codes = {p["personal_code"] for p in personas if p["kind"] != BUREAU_DOWN.kind}
    assert len(codes) == len(PERSONAS), "each named persona is a customer of their own"
    for person in personas:
        assert person["name"] and person["story"] and person["expected"]


def test_the_persona_scripts_are_valid_bash_naming_each_persona(demo):
    addresses = DemoAddresses(api_port=2590, bureau_port=2591, mlflow_port=2592)
    decide = write_try_script(settings=demo.settings, addresses=addresses)
    script = write_personas_script(
        settings=demo.settings, addresses=addresses, personas=read_personas(demo.settings)
    )
    for path in (decide, script):
        subprocess.run(["bash", "-n", str(path)], check=True)
    text = script.read_text()
    assert "http://127.0.0.1:2590" in text and "http://127.0.0.1:2591" in text
    for person in read_personas(demo.settings):
        assert f"ask {person['name']} {person['expected']} {person['personal_code']}" in text


def test_each_persona_gets_its_outcome_from_the_api(demo):
    from scoring.bootstrap import build_runtime, create_server_app
    from scoring.bureau.simulator import BureauSimulator, ReportSource, in_process_transport

    simulator = BureauSimulator(ReportSource.from_world(demo.world_dir))
    runtime = build_runtime(
        settings=demo.settings, bureau_transport=in_process_transport(simulator), poll_models=False
    )
    key = (demo.settings.secrets_dir / "demo-api-key").read_text().strip()
    headers = {"Authorization": f"Bearer {key}"}
    got = {}
    try:
        with TestClient(create_server_app(runtime)) as api:
            for number, person in enumerate(read_personas(demo.settings)):
                simulator.update_faults({"down": person["kind"] == BUREAU_DOWN.kind})
                answer = api.post(
                    "/v1/decisions",
                    headers=headers,
                    json={
                        "application_id": f"PERSONA-TEST-{number}",
                        "personal_code": person["personal_code"],
                        "purchase": {
                            "amount_eur": person["amount_eur"],
                            "term_months": person["term_months"],
                            "product_category": person["product_category"],
                        },
                        "channel": "web",
                        "human_review_requested": person["human_review_requested"],
                    },
                )
                assert answer.status_code == 201, answer.text
                decision = answer.json()
                got[person["kind"]] = (person["expected"], decision["outcome"])
                if person["kind"] == "contested":
                    contest = api.post(
                        f"/v1/decisions/{decision['decision_id']}/contest",
                        headers=headers,
                        json={"statement": "My late invoices were during a hospital stay."},
                    )
                    assert contest.status_code == 201, contest.text
                    assert contest.json()["status"] == "open"
                if person["kind"] == BUREAU_DOWN.kind:
                    codes = [reason["code"] for reason in decision["reasons"]]
                    assert "S01_BUREAU_UNAVAILABLE" in codes
                if person["kind"] == "decline_knockout":
                    assert any(r["effect"] == "decline" for r in decision["policy_rules"])
                if person["kind"] == "decline_model":
                    assert decision["policy_rules"] == []
    finally:
        runtime.close()
    assert {kind: expected for kind, (expected, _) in got.items()} == {
        kind: outcome for kind, (_, outcome) in got.items()
    }, json.dumps(got)


def test_the_demo_answers_a_subject_access_request_proven_by_its_identity_desk(demo):
    """The demo registers an identity channel; `installment subject assert` signs with its
    key (as subject-request.sh does) and the API answers the access request."""
    import sys

    from scoring.bootstrap import build_runtime, create_server_app
    from scoring.cli.demo_subjects import DEMO_CHANNEL, channel_key_file, write_subject_script

    key_file = channel_key_file(demo.settings)
    assert key_file.stat().st_mode & 0o777 == 0o600
    script = write_subject_script(settings=demo.settings, api="http://127.0.0.1:2199")
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert DEMO_CHANNEL in script.read_text() and str(key_file) in script.read_text()
    wrong = subprocess.run(["bash", str(script), "1234"], capture_output=True, text=True)
    assert wrong.returncode == 2 and "11-digit personal code" in wrong.stderr

    code = read_personas(demo.settings)[0]["personal_code"]
    installment = str(Path(sys.executable).with_name("installment"))
    signed = subprocess.run(
        [installment, "subject", "assert", "--channel", DEMO_CHANNEL, "--key-file", str(key_file),
         "--request", "access", "--identified-by", "smart-id", "--code-stdin"],
        input=code + "\n", capture_output=True, text=True, check=True,
    )  # fmt: skip
    runtime = build_runtime(settings=demo.settings, poll_models=False)
    key = (demo.settings.secrets_dir / "demo-api-key").read_text().strip()
    try:
        with TestClient(create_server_app(runtime)) as api:
            answer = api.post(
                "/v1/subjects/access",
                headers={"Authorization": f"Bearer {key}"},
                json={"personal_code": code, "identity_assertion": signed.stdout.strip()},
            )
            unproven = api.post("/v1/subjects/access", headers={"Authorization": f"Bearer {key}"},
                                json={"personal_code": code})  # fmt: skip
    finally:
        runtime.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["applications"], "the persona's own application is in the export"
    assert unproven.status_code == 401


def test_decide_sh_names_applications_with_ids_the_api_accepts():
    from scoring.cli.demo_setup import TRY_SCRIPT
    from scoring.domain.personal_code import contains_code

    line = next(x for x in TRY_SCRIPT.read_text().splitlines() if x.startswith("application_id="))
    made = subprocess.run(
        ["bash", "-c", f"for i in $(seq 300); do bash -c '{line}; echo $application_id'; done"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(made) == 300 and len(set(made)) == 300
    assert not [i for i in made if contains_code(i)]
    assert max(len(run) for i in made for run in re.findall(r"\d+", i)) < 11
