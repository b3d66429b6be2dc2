"""The bureau simulator: reports from the world, thin files, request checks, faults."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, date, datetime

import httpx
import pytest
from bureau_fakes import PERSON
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from scoring.bureau.client import (
    BureauClient,
    BureauMalformedAnswer,
    BureauUnavailable,
    parse_report,
)
from scoring.bureau.simulator import (
    BureauSimulator,
    FaultSettings,
    ReportSource,
    WorldFormatError,
    create_simulator_app,
    in_process_transport,
)
from scoring.domain.bureau import class_rank
from scoring.domain.personal_code import build

CONTENT = ("score", "risk_class", "pd_band_low", "pd_band_high", "open_default_count",
           "closed_default_count", "default_entries")  # fmt: skip


def body(code: str, purpose: str = "instalment_application") -> bytes:
    return json.dumps({"personal_code": code, "purpose": purpose}).encode()


@pytest.fixture(scope="module")
def source(tiny_world) -> ReportSource:
    return ReportSource.from_world(tiny_world.path)


def content(report) -> dict:
    data = report.to_dict()
    return {k: data[k] for k in CONTENT}


def test_world_person_gets_their_latest_report_with_fresh_id_and_time(tiny_world, source):
    code = tiny_world.codes[0]
    first = source.report_for(code)
    second = source.report_for(code)
    expected = tiny_world.latest[code]

    assert first["report_id"] != second["report_id"]
    assert first["report_id"] != expected["report_id"], "a fresh id per query"
    assert datetime.fromisoformat(first["requested_at"]) > datetime(2025, 1, 1, tzinfo=UTC)
    assert content(parse_report(first)) == content(parse_report(second))
    assert (first["score"], first["risk_class"]) == (expected["score"], expected["risk_class"])
    assert first["default_entries"] == [], "entries of a superseded report are not shown"


def test_default_entries_come_from_the_persons_report(tiny_world, source):
    code = tiny_world.with_open_default
    report = parse_report(source.report_for(code))
    (entry,) = report.default_entries
    (world_entry,) = tiny_world.entries[code]
    assert (entry.creditor_sector, entry.amount_eur, entry.started_on, entry.ended_on) == (
        world_entry["creditor_sector"], world_entry["amount_eur"],
        world_entry["started_on"], None,
    )  # fmt: skip
    assert report.open_default_count == 1 and report.risk_class == "poor"


def test_every_world_person_is_answered_and_counted(tiny_world, source):
    assert len(source) == 10
    assert all(source.knows(code) for code in tiny_world.codes)


def test_answer_carries_extra_fields_for_the_client_to_drop(tiny_world, source):
    answer = source.report_for(tiny_world.codes[2])
    assert {"subject_name", "subject_address", "bureau_internal_ref"} <= set(answer)
    assert answer["subject_personal_code"] == tiny_world.codes[2]
    assert "creditor_name" in answer["default_entries"][0]


def test_unknown_person_gets_a_deterministic_thin_file(source):
    code = build(date(1991, 7, 7), female=False, serial=321)
    assert not source.knows(code)
    first, second = source.report_for(code), source.report_for(code)
    assert content(parse_report(first)) == content(parse_report(second))
    other_key = ReportSource({}, key=b"another key")
    strangers = [build(date(1970 + i % 40, 1 + i % 12, 1 + i % 28), female=bool(i % 2),
                       serial=i) for i in range(300)]  # fmt: skip
    reports = [parse_report(source.report_for(c)) for c in strangers]
    good_share = sum(class_rank(r.risk_class) <= 1 for r in reports) / len(reports)
    assert good_share > 0.7, "a thin file is mostly in the good classes"
    assert {r.risk_class for r in reports} == {"very_good", "good", "satisfactory", "poor"}
    assert all(r.open_default_count == 0 for r in reports if r.risk_class == "very_good")
    keyed = [content(parse_report(other_key.report_for(c))) for c in strangers[:20]]
    assert keyed != [content(r) for r in reports[:20]], "the hash is keyed"


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (b"not json", "request body must be JSON"),
        (b"[]", "JSON object"),
        (json.dumps({"purpose": "x"}).encode(), "'personal_code' is required"),
        (json.dumps({"personal_code": 39001010000, "purpose": "x"}).encode(), "personal_code"),
        (json.dumps({"personal_code": PERSON}).encode(), "'purpose' is required"),
        (json.dumps({"personal_code": PERSON, "purpose": "x", "name": "Mari"}).encode(),
         "unknown request field(s): name"),
        (body(PERSON[:-1] + str((int(PERSON[-1]) + 1) % 10)), "wrong check digit"),
        (body("49913310001"), "impossible birth date"),
    ],
)  # fmt: skip
def test_bad_requests_get_422_naming_the_problem(source, payload: bytes, named: str):
    answer = BureauSimulator(source).answer(payload)
    assert answer.status == 422
    detail = json.loads(answer.content)["detail"]
    assert named in detail
    assert PERSON[:10] not in detail


def test_down_answers_503_at_once(source):
    simulator = BureauSimulator(source, faults=FaultSettings(down=True, latency_ms=500))
    answer = simulator.answer(body(PERSON))
    assert (answer.status, answer.delay_s) == (503, 0.0)


def test_failure_rate_gives_seeded_503s(source):
    def statuses(seed: int) -> list[int]:
        simulator = BureauSimulator(source, faults=FaultSettings(failure_rate=0.5), seed=seed)
        return [simulator.answer(body(PERSON)).status for _ in range(40)]

    run = statuses(3)
    assert run == statuses(3), "the same seed gives the same fault sequence"
    assert run != statuses(4)
    assert set(run) == {200, 503} and 10 <= run.count(503) <= 30


def test_latency_is_added_to_every_answer(source):
    simulator = BureauSimulator(source, faults=FaultSettings(latency_ms=120))
    assert simulator.answer(body(PERSON)).delay_s == pytest.approx(0.12)


def test_malformed_rate_breaks_every_answer_in_several_ways(source):
    simulator = BureauSimulator(source, faults=FaultSettings(malformed_rate=1.0), seed=1)
    problems = set()
    for _ in range(30):
        answer = simulator.answer(body(PERSON))
        assert answer.status == 200
        try:
            payload = json.loads(answer.content)
        except ValueError:
            problems.add("not JSON")
            continue
        with pytest.raises(BureauMalformedAnswer) as caught:
            parse_report(payload)
        problems.add(str(caught.value).split(" must ")[0].split(" is ")[0])
    assert len(problems) >= 4


def test_faults_change_at_run_time_and_refuse_bad_values(source):
    simulator = BureauSimulator(source)
    assert simulator.update_faults({"down": True}) == FaultSettings(down=True)
    assert simulator.update_faults({"down": False, "latency_ms": 5}).latency_ms == 5
    refused = [
        ({"failure_rate": 2}, "failure_rate"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": "slow"}, "latency_ms"),
        ({"down": "yes"}, "down"),
        ({"flaky": True}, "unknown fault setting(s): flaky"),
        ([], "JSON object"),
    ]
    for bad, named in refused:
        with pytest.raises(ValueError, match=re.escape(named)):
            simulator.update_faults(bad)
    assert simulator.faults == FaultSettings(latency_ms=5), "a refused update changes nothing"


def test_http_app_serves_reports_faults_and_health(tiny_world, source):
    app = create_simulator_app(BureauSimulator(source))
    with TestClient(app) as http:
        assert http.get("/healthz").json()["people"] == 10
        answer = http.post("/v1/reports", content=body(tiny_world.codes[1]))
        assert answer.status_code == 200 and answer.json()["risk_class"] == "good"
        assert http.post("/v1/reports", content=body("12345")).status_code == 422

        assert http.post("/admin/faults", json={"down": True}).json()["down"] is True
        assert http.get("/admin/faults").json() == {
            "latency_ms": 0, "failure_rate": 0.0, "malformed_rate": 0.0, "down": True,
        }  # fmt: skip
        assert http.post("/v1/reports", content=body(tiny_world.codes[1])).status_code == 503
        refused = http.post("/admin/faults", json={"malformed_rate": -0.1})
        assert refused.status_code == 422 and "malformed_rate" in refused.json()["detail"]
        assert http.post("/admin/faults", content=b"{").status_code == 422


def test_client_over_the_in_process_transport_keeps_only_contract_fields(tiny_world, source):
    client = BureauClient("http://bureau.sim", transport=in_process_transport(source))
    report = client.fetch_report(tiny_world.codes[3])
    assert report.risk_class == "poor" and report.open_default_count == 1
    assert "subject" not in json.dumps(report.to_dict())


def test_in_process_latency_beyond_the_timeout_is_a_timeout(tiny_world, source):
    simulator = BureauSimulator(source, faults=FaultSettings(latency_ms=300))
    client = BureauClient(
        "http://bureau.sim",
        transport=in_process_transport(simulator),
        timeout_s=0.03,
        overall_budget_s=0.05,
        max_attempts=1,
    )
    started = time.monotonic()
    with pytest.raises(BureauUnavailable) as caught:
        client.fetch_report(tiny_world.codes[0])
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 0.1


def test_in_process_transport_serves_admin_routes(source):
    with httpx.Client(base_url="http://bureau.sim", transport=in_process_transport(source)) as http:
        assert http.post("/admin/faults", json={"failure_rate": 1.0}).status_code == 200
        assert http.post("/v1/reports", content=body(PERSON)).status_code == 503
        assert http.get("/admin/faults").json()["failure_rate"] == 1.0
        assert http.get("/nowhere").status_code == 404


def test_world_without_bureau_files_is_refused_by_name(tmp_path):
    with pytest.raises(WorldFormatError, match="no bureau_reports.parquet"):
        ReportSource.from_world(tmp_path)


def test_world_missing_a_column_is_refused_by_name(tiny_world, tmp_path):
    import pyarrow.parquet as pq

    table = pq.read_table(tiny_world.path / "bureau_reports.parquet").drop_columns(["score"])
    pq.write_table(table, tmp_path / "bureau_reports.parquet")
    with pytest.raises(WorldFormatError, match="lacks column\\(s\\): score"):
        ReportSource.from_world(tmp_path)


def test_cli_reports_a_bad_world_folder(tmp_path):
    import typer

    from scoring.cli.bureau import bureau_sim

    app = typer.Typer()
    app.command("bureau-sim")(bureau_sim)
    app.command("noop")(lambda: None)  # keeps bureau-sim a named subcommand
    result = CliRunner().invoke(app, ["bureau-sim", "--world", str(tmp_path)])
    assert result.exit_code == 2
    assert "no bureau_reports.parquet" in result.output
