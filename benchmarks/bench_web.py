"""Load test of the web application (issue 14): a 1,000-subject synthetic study (the store benchmark's
generator, `cartrial.store.importing.write_synthetic_study`, about one million rows), served by uvicorn on
127.0.0.1, 50 concurrent clients (an asyncio httpx loop, bounded in count and time) for 60 s, on SQLite
and PostgreSQL.

Mix per client, each request chosen at random: 90 % reads — a subject's casebook form through the API
(`/api/v1/records/<form>?subject_id=…`, 40 %), the subject's casebook page when the app has one (else the
study home; 20 %), the open-query list (20 %) and a page of the adverse-event list (20 %) — and 10 % writes:
a reasoned correction of one of the client's own CRS assessments (read the record for its version token,
then PATCH with `If-Match`; each client edits only its own subjects' records, so no write conflicts by
design). Each client logs in once with `POST /api/v1/token` (not timed).

Recorded per backend: requests per second, p50/p95/p99 latency of reads and of writes (ms), errors (any
status other than 2xx/3xx, or a transport error). Targets (issue 14): p95 ≤ 150 ms for reads, ≤ 300 ms for
writes, 0 errors. Settings: ``CARTRIAL_BENCH_WEB_SECONDS`` (default 60), ``CARTRIAL_BENCH_WEB_SUBJECTS``
(1000), ``CARTRIAL_BENCH_WEB_CLIENTS`` (50), ``CARTRIAL_BENCH_WEB_WORKERS`` (uvicorn workers, 2),
``CARTRIAL_BENCH_POSTGRES_URL``. Building the study (import) is not timed.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROTOCOL = REPO / "examples" / "ct103a-nmosd" / "protocol.yaml"
SECONDS = float(os.environ.get("CARTRIAL_BENCH_WEB_SECONDS", "60"))
N_SUBJECTS = int(os.environ.get("CARTRIAL_BENCH_WEB_SUBJECTS", "1000"))
CLIENTS = int(os.environ.get("CARTRIAL_BENCH_WEB_CLIENTS", "50"))
WORKERS = int(os.environ.get("CARTRIAL_BENCH_WEB_WORKERS", "2"))
POSTGRES_URL = os.environ.get(
    "CARTRIAL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WRITE_SHARE = 0.10
READ_P95_MS = 150.0
WRITE_P95_MS = 300.0
USER = "bench_dm"
PASSWORD = "bench-password-0123"
CASEBOOK_FORMS = ("crs_assessments", "labs", "infusions", "adverse_events", "edss", "icans_assessments")


def build_study(url: str, folder: Path) -> None:
    """Initialise the study, import the synthetic templates, add the benchmark's data manager."""
    from cartrial.store import StudyService, connect
    from cartrial.store.importing import import_templates
    from cartrial.store.study_setup import init_study

    init_study(url, PROTOCOL, "admin")
    import_templates(url, folder, "admin")
    service = StudyService(connect(url))
    service.add_user("admin", USER, "data_manager", password=PASSWORD)
    service.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CARTRIAL_WEB_URL": url,
        "CARTRIAL_WEB_SECRET": "bench-secret",
        "CARTRIAL_WEB_SESSION_MINUTES": "30",
    }
    command = [
        sys.executable, "-m", "uvicorn", "cartrial.web.app:app_from_environment", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics (numpy's default)."""
    import numpy as np

    return float(np.quantile(np.asarray(values), q)) if values else float("nan")


async def load(base: str, subjects: list[str], casebook_page: str | None) -> dict[str, Any]:
    import httpx

    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    reads: list[float] = []
    writes: list[float] = []
    errors: list[str] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as http:
        deadline = time.monotonic() + 120
        while True:  # wait for the server
            try:
                if (await http.get("/login")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            await asyncio.sleep(0.2)
        tokens = []
        for _ in range(CLIENTS):
            response = await http.post("/api/v1/token", data={"username": USER, "password": PASSWORD})
            response.raise_for_status()
            tokens.append(response.json()["access_token"])

        async def client(index: int, stop_at: float) -> None:
            rng = random.Random(index)
            headers = {"Authorization": f"Bearer {tokens[index]}"}
            own = subjects[index::CLIENTS] or subjects
            own_ids: list[int] = []
            for subject in own[:3]:
                listed = await http.get(
                    "/api/v1/records/crs_assessments",
                    params={"subject_id": subject, "limit": 20},
                    headers=headers,
                )
                own_ids += [item["id"] for item in listed.json()["items"]]

            async def timed(sink: list[float], method: str, path: str, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    sent = {**headers, **kwargs.pop("extra", {})}
                    response = await http.request(method, path, headers=sent, **kwargs)
                except httpx.HTTPError as exc:
                    errors.append(f"{method} {path}: {type(exc).__name__}")
                    return None
                sink.append((time.perf_counter() - start) * 1000)
                if response.status_code >= 400:
                    errors.append(f"{method} {path}: {response.status_code}")
                return response

            while time.monotonic() < stop_at:
                draw = rng.random()
                subject = rng.choice(subjects)
                if draw < WRITE_SHARE and own_ids:
                    record_id = rng.choice(own_ids)
                    path = f"/api/v1/records/crs_assessments/{record_id}"
                    current = await timed(reads, "GET", path)
                    if current is None or current.status_code != 200:
                        continue
                    value = round(rng.uniform(36.0, 37.4), 1)
                    change = {"values": {"temperature_c": value}, "reason": "benchmark correction"}
                    etag = {"If-Match": current.headers["ETag"]}
                    await timed(writes, "PATCH", path, extra=etag, json=change)
                elif draw < 0.46:
                    form = rng.choice(CASEBOOK_FORMS)
                    await timed(reads, "GET", f"/api/v1/records/{form}",
                                params={"subject_id": subject, "limit": 100})  # fmt: skip
                elif draw < 0.64:
                    page = casebook_page.replace("{subject}", subject) if casebook_page else "/"
                    await timed(reads, "GET", page, extra={"Cookie": f"cartrial_session={tokens[index]}"})
                elif draw < 0.82:
                    await timed(reads, "GET", "/api/v1/queries", params={"status": "open", "limit": 50})
                else:
                    offset = rng.randrange(0, max(1, len(subjects) * 10 - 50))
                    await timed(reads, "GET", "/api/v1/records/adverse_events",
                                params={"limit": 50, "offset": offset})  # fmt: skip

        started = time.monotonic()
        stop_at = started + SECONDS
        await asyncio.gather(*(client(i, stop_at) for i in range(CLIENTS)))
        elapsed = time.monotonic() - started
    return {"reads": reads, "writes": writes, "errors": errors, "seconds": elapsed}


def casebook_route() -> str | None:
    """The app's casebook page path with ``{subject}`` for the subject id, when the pages define one."""
    from cartrial.web.app import create_app  # noqa: F401  (import check only)
    from cartrial.web.pages import ROUTERS

    for router in ROUTERS:
        for route in router.routes:
            path = getattr(route, "path", "")
            if re.fullmatch(r"/subjects/\{[a-z_]+\}", path) and "GET" in getattr(route, "methods", ()):
                return re.sub(r"\{[a-z_]+\}", "{subject}", path)
    return None


def run_backend(backend: str, url: str, subjects: list[str]) -> list[dict[str, Any]]:
    port = free_port()
    server = start_server(url, port)
    try:
        page = casebook_route()
        result = asyncio.run(load(f"http://127.0.0.1:{port}", subjects, page))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    reads, writes, errors = result["reads"], result["writes"], result["errors"]
    total = len(reads) + len(writes)
    common = {
        "backend": backend,
        "subjects": len(subjects),
        "clients": CLIENTS,
        "workers": WORKERS,
        "seconds": round(result["seconds"], 1),
        "requests": total,
        "reads": len(reads),
        "writes": len(writes),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "casebook_page": page or "/ (no casebook page route yet)",
    }
    read_p = {q: percentile(reads, q / 100) for q in (50, 95, 99)}
    write_p = {q: percentile(writes, q / 100) for q in (50, 95, 99)}
    no_errors = not errors
    return [
        {
            "name": f"web_{backend}_requests_per_second",
            "value": total / result["seconds"],
            "unit": "req/s",
            "target": "recorded (50 clients, 10 % writes, issue 14)",
            "meets_target": no_errors,
            **common,
        },
        {
            "name": f"web_{backend}_read_p95_ms",
            "value": read_p[95],
            "unit": "ms",
            "target": f"p95 ≤ {READ_P95_MS:g} ms for reads, 0 errors (issue 14)",
            "meets_target": read_p[95] <= READ_P95_MS and no_errors,
            "p50_ms": read_p[50],
            "p99_ms": read_p[99],
            **common,
        },
        {
            "name": f"web_{backend}_write_p95_ms",
            "value": write_p[95],
            "unit": "ms",
            "target": f"p95 ≤ {WRITE_P95_MS:g} ms for writes, 0 errors (issue 14)",
            "meets_target": write_p[95] <= WRITE_P95_MS and no_errors,
            "p50_ms": write_p[50],
            "p99_ms": write_p[99],
            **common,
        },
    ]


def run() -> list[dict[str, Any]]:
    from cartrial.store.importing import write_synthetic_study

    sys.path.insert(0, str(REPO / "benchmarks"))
    from bench_store import postgres_schema

    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cartrial-bench-web-") as tmp:
        folder = Path(tmp) / "study"
        write_synthetic_study(folder, N_SUBJECTS)
        import pandas as pd

        subjects = [str(s) for s in pd.read_csv(folder / "subjects.csv")["subject_id"]]
        sqlite_url = f"sqlite:///{Path(tmp) / 'web.db'}"
        build_study(sqlite_url, folder)
        entries += run_backend("sqlite", sqlite_url, subjects)
        try:
            with postgres_schema(POSTGRES_URL) as url:
                build_study(url, folder)
                entries += run_backend("postgresql", url, subjects)
        except Exception as exc:  # no server: recorded, not fatal for the other benchmarks
            entries.append(
                {
                    "name": "web_postgresql_not_run",
                    "value": 0.0,
                    "unit": "s",
                    "target": "issue 14 load test on PostgreSQL",
                    "meets_target": False,
                    "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                }
            )
    return entries


if __name__ == "__main__":
    for entry in run():
        print({k: v for k, v in entry.items() if k != "error_examples"}, entry.get("error_examples"))
