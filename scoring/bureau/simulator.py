"""Bureau simulator: a Creditinfo-style report service for development, demos and tests.

``POST /v1/reports`` with ``{"personal_code", "purpose"}`` answers the person's most recent
report from a generated world (a fresh ``report_id`` and the current time per query), or
for a person the world does not know, a thin-file report derived from a keyed hash of the
code. Answers carry extra fields a real bureau would send (name, address, internal
reference) that the client must drop. Faults (latency, 503s, malformed answers, down) are
set at start or at run time through ``/admin/faults`` and drawn from a seeded generator.

Three ways to run it: :func:`create_simulator_app` (the FastAPI app, served by
``installment bureau-sim``), :func:`in_process_transport` (an ``httpx.MockTransport`` on
the same logic, no socket) and :func:`run_simulator` (a real uvicorn subprocess on a free
127.0.0.1 port).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from scoring.bureau.client import REPORTS_PATH, BureauMalformedAnswer, parse_report
from scoring.domain import personal_code as _personal_code
from scoring.domain.bureau import RISK_CLASSES
from scoring.domain.errors import InvalidInputError

__all__ = [
    "BureauSimulator",
    "FaultSettings",
    "ReportSource",
    "SimulatedAnswer",
    "WorldFormatError",
    "create_simulator_app",
    "in_process_transport",
    "run_simulator",
    "serve",
]

REPORT_COLUMNS = (
    "report_id",
    "personal_code",
    "requested_at",
    "score",
    "risk_class",
    "pd_band_low",
    "pd_band_high",
    "open_default_count",
    "closed_default_count",
)
ENTRY_COLUMNS = ("report_id", "creditor_sector", "amount_eur", "started_on", "ended_on")
DEFAULT_KEY = b"installment-bureau-simulator"

_JSON = "application/json"


class WorldFormatError(InvalidInputError, ValueError):
    """The world folder lacks a bureau file or a column, or holds an invalid report."""


@dataclass(frozen=True)
class FaultSettings:
    """How the simulated bureau misbehaves: added latency, 503 share, malformed share, down."""

    latency_ms: int = 0
    failure_rate: float = 0.0
    malformed_rate: float = 0.0
    down: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.latency_ms, bool) or not isinstance(self.latency_ms, int):
            raise ValueError("latency_ms must be a whole number of milliseconds")
        if not 0 <= self.latency_ms <= 60_000:
            raise ValueError("latency_ms must lie between 0 and 60000")
        for name in ("failure_rate", "malformed_rate"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{name} must be a number between 0 and 1")
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must lie between 0 and 1")
        if not isinstance(self.down, bool):
            raise ValueError("down must be true or false")

    def updated(self, changes: Any) -> FaultSettings:
        """A copy with the fields of a JSON object applied; unknown fields are refused."""
        if not isinstance(changes, Mapping):
            raise ValueError("fault settings must be a JSON object")
        unknown = sorted(set(changes) - set(asdict(self)))
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        return replace(self, **changes)


# Score ranges per class for persons the world does not know (higher is better).
_SCORE_RANGES = {
    "very_good": (750, 1000),
    "good": (550, 749),
    "satisfactory": (350, 549),
    "poor": (0, 349),
}
# A thin bureau file: mostly good classes.
_THIN_FILE_CLASSES = (("very_good", 0.40), ("good", 0.85), ("satisfactory", 0.96), ("poor", 1.0))
_SECTORS = ("telecom", "energy", "retail", "finance", "utilities")
_FIRST_NAMES = ("Mari", "Jaan", "Kadri", "Andres", "Liis", "Toomas", "Kati", "Mart", "Anna")
_LAST_NAMES = ("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves", "Lepp")
_STREETS = ("Pärnu mnt", "Tartu mnt", "Narva mnt", "Riia", "Rüütli", "Aia", "Pikk")
_TOWNS = ("Tallinn", "Tartu", "Pärnu", "Narva", "Viljandi")


class ReportSource:
    """Deterministic report content per person: from a world's latest reports or a keyed hash."""

    def __init__(self, profiles: Mapping[str, dict[str, Any]], *, key: bytes = DEFAULT_KEY):
        self._profiles = dict(profiles)
        self._key = key

    @classmethod
    def from_world(
        cls, world_dir: str | os.PathLike[str], *, key: bytes = DEFAULT_KEY
    ) -> ReportSource:
        """Load each person's most recent report and its default entries from a world folder."""
        folder = Path(world_dir)
        latest: dict[str, dict[str, Any]] = {}
        for row in _read_rows(folder, "bureau_reports.parquet", REPORT_COLUMNS):
            current = latest.get(row["personal_code"])
            # Latest report per person; report_id breaks ties so the choice is stable.
            if current is None or (row["requested_at"], row["report_id"]) > (
                current["requested_at"],
                current["report_id"],
            ):
                latest[row["personal_code"]] = row
        kept_ids = {row["report_id"] for row in latest.values()}
        entries_by_report: dict[str, list[dict[str, Any]]] = {}
        rows = _read_rows(folder, "bureau_default_entries.parquet", ENTRY_COLUMNS)
        for entry in sorted(rows, key=lambda e: (e["report_id"], e["started_on"])):
            if entry["report_id"] not in kept_ids:
                continue
            entries_by_report.setdefault(entry["report_id"], []).append(
                {
                    "creditor_sector": entry["creditor_sector"],
                    "amount_eur": round(float(entry["amount_eur"]), 2),
                    "started_on": _iso_date(entry["started_on"]),
                    "ended_on": _iso_date(entry["ended_on"]),
                }
            )
        profiles = {}
        for code, row in latest.items():
            profile = {
                "score": int(row["score"]),
                "risk_class": row["risk_class"],
                "pd_band_low": float(row["pd_band_low"]),
                "pd_band_high": float(row["pd_band_high"]),
                "open_default_count": int(row["open_default_count"]),
                "closed_default_count": int(row["closed_default_count"]),
                "default_entries": entries_by_report.get(row["report_id"], []),
            }
            _check_profile(profile, row["report_id"])
            profiles[code] = profile
        return cls(profiles, key=key)

    def __len__(self) -> int:
        return len(self._profiles)

    def knows(self, personal_code: str) -> bool:
        """True when the world holds a report for this person."""
        return personal_code in self._profiles

    def report_for(
        self, personal_code: str, *, now: datetime | None = None, report_id: str | None = None
    ) -> dict[str, Any]:
        """The full bureau answer for a valid code: contract fields plus extra bureau fields."""
        digest = hmac.new(self._key, personal_code.encode(), hashlib.sha256).digest()
        profile = self._profiles.get(personal_code) or _thin_file_profile(digest)
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        entries = [
            {
                **entry,
                "creditor_name": f"{entry['creditor_sector'].capitalize()} Creditor {i + 1} OÜ",
                "case_number": f"CASE-{digest[i % 32]:03d}{i}",
            }
            for i, entry in enumerate(profile["default_entries"])
        ]
        return {
            "report_id": report_id or f"SIM-{uuid.uuid4().hex}",
            "requested_at": moment.isoformat(),
            **{k: v for k, v in profile.items() if k != "default_entries"},
            "default_entries": entries,
            # Fields a real bureau sends and the engine must never keep.
            "subject_personal_code": personal_code,
            "subject_name": f"{_pick(_FIRST_NAMES, digest[0])} {_pick(_LAST_NAMES, digest[1])}",
            "subject_address": (
                f"{_pick(_STREETS, digest[2])} {digest[3] % 120 + 1}, {_pick(_TOWNS, digest[4])}"
            ),
            "bureau_internal_ref": f"CI-{digest[5:11].hex().upper()}",
            "queries_last_12m": digest[11] % 6,
        }


def _read_rows(folder: Path, name: str, columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """``columns`` of a world file, by the world folder's reader; timestamps as raw integers."""
    # Imported here: the simulator without a world starts without pyarrow.
    from data_contracts import world_folder

    try:
        return world_folder.read_rows(folder, name, columns)
    except world_folder.WorldFormatError as error:
        raise WorldFormatError(str(error)) from None


def _iso_date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise WorldFormatError("bureau_default_entries.parquet holds a non-date in a date column")
    return value.isoformat()


def _check_profile(profile: dict[str, Any], report_id: str) -> None:
    # The world must hold reports the client would accept, so check them the same way.
    try:
        parse_report(
            {"report_id": report_id, "requested_at": "2000-01-01T00:00:00+00:00", **profile}
        )
    except BureauMalformedAnswer as exc:
        raise WorldFormatError(f"bureau report {report_id} is invalid: {exc}") from None


def _pick(options: tuple[str, ...], byte: int) -> str:
    return options[byte % len(options)]


def _thin_file_profile(digest: bytes) -> dict[str, Any]:
    def unit(offset: int) -> float:
        return int.from_bytes(digest[offset : offset + 4], "big") / 2**32

    draw = unit(12)
    risk_class = next(code for code, upper in _THIN_FILE_CLASSES if draw < upper)
    low, high = _SCORE_RANGES[risk_class]
    definition = RISK_CLASSES[risk_class]
    open_chance, closed_chance = {
        "very_good": (0.0, 0.0),
        "good": (0.0, 0.05),
        "satisfactory": (0.05, 0.3),
        "poor": (0.6, 0.3),
    }[risk_class]
    entries = []
    for slot, (chance, is_open) in enumerate(((open_chance, True), (closed_chance, False))):
        if unit(16 + 4 * slot) >= chance:
            continue
        started = date(2019, 1, 1) + timedelta(days=digest[24 + slot] * 7)
        entries.append(
            {
                "creditor_sector": _pick(_SECTORS, digest[26 + slot]),
                "amount_eur": round(30 + digest[28 + slot] * 4.5, 2),
                "started_on": started.isoformat(),
                "ended_on": None
                if is_open
                else (started + timedelta(days=60 + digest[30])).isoformat(),
            }
        )
    return {
        "score": low + int(unit(20) * (high - low + 1)) if high > low else low,
        "risk_class": risk_class,
        "pd_band_low": definition.pd_band_low,
        "pd_band_high": definition.pd_band_high,
        "open_default_count": sum(1 for e in entries if e["ended_on"] is None),
        "closed_default_count": sum(1 for e in entries if e["ended_on"] is not None),
        "default_entries": entries,
    }


@dataclass(frozen=True)
class SimulatedAnswer:
    """An HTTP answer to send after ``delay_s`` seconds."""

    status: int
    content: bytes
    delay_s: float = 0.0


def _error(status: int, error: str, detail: str, delay_s: float = 0.0) -> SimulatedAnswer:
    body = json.dumps({"error": error, "detail": detail}).encode()
    return SimulatedAnswer(status, body, delay_s)


class BureauSimulator:
    """The simulator's request handling and fault state, independent of any HTTP server."""

    def __init__(self, source: ReportSource, *, faults: FaultSettings | None = None, seed: int = 0):
        self.source = source
        self._faults = faults or FaultSettings()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests_served = 0

    @property
    def faults(self) -> FaultSettings:
        return self._faults

    def update_faults(self, changes: Any) -> FaultSettings:
        """Apply a partial fault update (a JSON object); ``ValueError`` names a bad setting."""
        with self._lock:
            self._faults = self._faults.updated(changes)
            return self._faults

    def health(self) -> dict[str, Any]:
        return {"status": "ok", "people": len(self.source), "faults": asdict(self._faults)}

    def answer(self, body: bytes, *, now: datetime | None = None) -> SimulatedAnswer:
        """Answer one ``POST /v1/reports`` body, applying the current faults."""
        with self._lock:
            faults = self._faults
            self.requests_served += 1
            # Always three draws per request, so one seed gives one fault sequence.
            fail_draw, malformed_draw = self._rng.random(), self._rng.random()
            variant = self._rng.randrange(len(_MALFORMERS))
        if faults.down:
            return _error(503, "unavailable", "bureau is down")
        delay = faults.latency_ms / 1000
        if fail_draw < faults.failure_rate:
            return _error(503, "unavailable", "bureau is temporarily unavailable", delay)
        try:
            code, _purpose = _parse_request(body)
        except ValueError as exc:
            return _error(422, "invalid_request", str(exc), delay)
        report = self.source.report_for(code, now=now)
        if malformed_draw < faults.malformed_rate:
            return SimulatedAnswer(200, _MALFORMERS[variant](report), delay)
        return SimulatedAnswer(200, json.dumps(report).encode(), delay)


def _parse_request(body: bytes) -> tuple[str, str]:
    try:
        payload = json.loads(body)
    except ValueError:
        raise ValueError("request body must be JSON") from None
    if not isinstance(payload, dict):
        raise ValueError("request body must be a JSON object")
    unknown = sorted(set(payload) - {"personal_code", "purpose"})
    if unknown:
        raise ValueError(f"unknown request field(s): {', '.join(unknown)}")
    code, purpose = payload.get("personal_code"), payload.get("purpose")
    if not isinstance(code, str):
        raise ValueError("field 'personal_code' is required and must be a text")
    if not isinstance(purpose, str) or not purpose.strip():
        raise ValueError("field 'purpose' is required and must be a non-empty text")
    try:
        _personal_code.parse(code)
    except _personal_code.InvalidPersonalCode as exc:
        raise ValueError(f"field 'personal_code': {exc}") from None
    return code, purpose


def _truncated(report: dict[str, Any]) -> bytes:
    text = json.dumps(report).encode()
    return text[: len(text) // 2]


def _wrong_types(report: dict[str, Any]) -> bytes:
    return json.dumps({**report, "score": str(report["score"]), "open_default_count": "0"}).encode()


def _missing_class(report: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in report.items() if k != "risk_class"}).encode()


def _unknown_class(report: dict[str, Any]) -> bytes:
    return json.dumps({**report, "risk_class": "excellent"}).encode()


def _not_an_object(report: dict[str, Any]) -> bytes:
    return json.dumps([report["report_id"], report["score"]]).encode()


_MALFORMERS = (_truncated, _wrong_types, _missing_class, _unknown_class, _not_an_object)


def create_simulator_app(simulator: BureauSimulator) -> FastAPI:
    """The simulator as a FastAPI app."""
    app = FastAPI(
        title="Bureau simulator",
        description="Creditinfo-style bureau reports from a synthetic world, with faults.",
    )

    @app.post(REPORTS_PATH, summary="A bureau report on one person")
    async def reports(request: Request) -> Response:
        answer = simulator.answer(await request.body())
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        return Response(answer.content, status_code=answer.status, media_type=_JSON)

    @app.get("/admin/faults", summary="Current fault settings")
    def get_faults() -> dict[str, Any]:
        return asdict(simulator.faults)

    @app.post("/admin/faults", summary="Change fault settings (partial update)")
    async def set_faults(request: Request) -> Response:
        return _fault_update(simulator, await request.body()).to_response()

    @app.get("/healthz", summary="Process is alive")
    def healthz() -> dict[str, Any]:
        return simulator.health()

    return app


@dataclass(frozen=True)
class _Reply:
    status: int
    payload: Any

    def to_response(self) -> Response:
        return Response(
            json.dumps(self.payload).encode(), status_code=self.status, media_type=_JSON
        )

    def to_httpx(self) -> httpx.Response:
        return httpx.Response(self.status, json=self.payload)


def _fault_update(simulator: BureauSimulator, body: bytes) -> _Reply:
    try:
        changes = json.loads(body)
        return _Reply(200, asdict(simulator.update_faults(changes)))
    except (ValueError, TypeError) as exc:
        detail = "request body must be JSON" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return _Reply(422, {"error": "invalid_faults", "detail": detail})


class InProcessTransport(httpx.MockTransport):
    """The simulator as an httpx transport, with a direct path for report queries.

    ``BureauClient`` hands report queries to :meth:`exchange` (body in, status and body
    out), skipping httpx's request and response objects, which cost more than the
    simulator's own answer; every other route goes through httpx as usual.
    """

    def __init__(self, simulator: BureauSimulator) -> None:
        self.simulator = simulator
        super().__init__(self._handle)

    def exchange(self, body: bytes, *, timeout_s: float) -> tuple[int, bytes]:
        """Answer one report query as the HTTP route would; ``TimeoutError`` when too slow.

        Latency is slept in the calling thread; when it exceeds ``timeout_s`` the call
        sleeps for the timeout and then fails, as a socket read would.
        """
        answer = self.simulator.answer(body)
        if answer.delay_s:
            if answer.delay_s > timeout_s:
                time.sleep(timeout_s)
                raise TimeoutError("timed out")
            time.sleep(answer.delay_s)
        return answer.status, answer.content

    def _handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        simulator = self.simulator
        if method == "POST" and path == REPORTS_PATH:
            read_timeout = (request.extensions.get("timeout") or {}).get("read")
            try:
                status, content = self.exchange(
                    request.read(), timeout_s=read_timeout if read_timeout else math.inf
                )
            except TimeoutError:
                raise httpx.ReadTimeout("timed out", request=request) from None
            return httpx.Response(status, content=content, headers={"Content-Type": _JSON})
        if method == "GET" and path == "/healthz":
            return httpx.Response(200, json=simulator.health())
        if method == "GET" and path == "/admin/faults":
            return httpx.Response(200, json=asdict(simulator.faults))
        if method == "POST" and path == "/admin/faults":
            return _fault_update(simulator, request.read()).to_httpx()
        return httpx.Response(
            404, json={"error": "not_found", "detail": f"no route {method} {path}"}
        )


def in_process_transport(
    source: ReportSource | BureauSimulator, *, faults: FaultSettings | None = None, seed: int = 0
) -> InProcessTransport:
    """A sync transport answering like the simulator, for ``BureauClient(transport=...)``.

    Given a ``ReportSource`` it builds a simulator with ``faults`` and ``seed``; given a
    ``BureauSimulator`` it uses that one, so a test can change its faults while it runs.
    """
    simulator = (
        source
        if isinstance(source, BureauSimulator)
        else BureauSimulator(source, faults=faults, seed=seed)
    )
    return InProcessTransport(simulator)


def serve(
    source: ReportSource,
    *,
    host: str = "127.0.0.1",
    port: int = 8701,
    faults: FaultSettings | None = None,
    seed: int = 0,
) -> None:
    """Run the simulator with uvicorn until interrupted."""
    import uvicorn

    simulator = BureauSimulator(source, faults=faults, seed=seed)
    uvicorn.run(
        create_simulator_app(simulator), host=host, port=port, log_level="warning", access_log=False
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def run_simulator(
    world_dir: str | os.PathLike[str],
    *,
    faults: FaultSettings | None = None,
    seed: int = 0,
    host: str = "127.0.0.1",
    startup_timeout_s: float = 30.0,
) -> Iterator[str]:
    """Run the simulator as a uvicorn subprocess on a free port; yield its base URL when healthy."""
    faults = faults or FaultSettings()
    port = _free_port(host)
    command = [
        sys.executable,
        "-c",
        "from scoring.cli.bureau import main; main()",
        "--world", str(world_dir), "--host", host, "--port", str(port),
        "--latency-ms", str(faults.latency_ms), "--failure-rate", str(faults.failure_rate),
        "--malformed-rate", str(faults.malformed_rate), "--seed", str(seed),
    ]  # fmt: skip
    base_url = f"http://{host}:{port}"
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        try:
            _wait_healthy(process, base_url, output, startup_timeout_s)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(
    process: subprocess.Popen[bytes], base_url: str, output: Any, timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=0.5) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output.seek(0)
                tail = output.read().decode(errors="replace")[-2000:]
                raise RuntimeError(
                    f"bureau simulator exited with code {process.returncode}:\n{tail}"
                )
            try:
                if probe.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"bureau simulator at {base_url} not healthy within {timeout_s:.0f} s")
