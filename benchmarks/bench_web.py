"""Load test of the web application (issue 14): a 1,000-subject synthetic study (the store benchmark's
generator, `cartrial.store.importing.write_synthetic_study`, about one million rows), served by uvicorn on
127.0.0.1, on SQLite and PostgreSQL.

Client model (docs/science/decisions.md D-14.40, docs/web.md "Performance"): 50 concurrent user sessions,
as load tools model them (locust's ``wait_time = between(0.5, 2)``): each user sends one task, waits for
the answer, then thinks for a uniform 0.5–2 s before the next one; users start spread over the first
2 s. This is the load a site's users put on the server, and what the latency targets are about. The
users together offer at most ``USERS / mean think time`` = 40 requests per second (less by the time
they wait for answers): recorded as the offered rate beside the achieved rate. Only requests started
after a ``WARMUP_SECONDS`` warm-up are counted; the run lasts ``SECONDS`` more (60 s).

Separately (recorded only, no target): the closed-loop saturation throughput — the same 50 clients
with zero think time for ``SATURATION_SECONDS`` — which measures how many requests per second the
server completes when it is never idle; its latencies are queueing time, not what a user sees.

Task mix per user, drawn at random: 10 % writes — a reasoned correction of one of the user's own CRS
assessments (read the record for its version token, then PATCH with ``If-Match``; each user edits only
its own subjects' records, so no write conflicts by design) —, 36 % a casebook form of a random subject
through the API (``/api/v1/records/<form>?subject_id=…``), 18 % the casebook page of a random subject,
18 % the open-query list, 18 % a page of 50 adverse events at a random offset. Each user logs in once
with ``POST /api/v1/token`` (not timed).

Recorded per backend: offered and achieved requests per second, p50/p95/p99 of reads and of writes and
per request class (ms), errors (any status ≥ 400, or a transport error), and the server's CPU per
request (user + system time of the uvicorn processes over the measured part / requests: the figure that
does not depend on how loaded the machine is). Targets (issue 14): p95 ≤ 150 ms for reads, ≤ 300 ms for
writes, 0 errors. Settings: ``CARTRIAL_BENCH_WEB_SECONDS`` (60), ``CARTRIAL_BENCH_WEB_WARMUP_SECONDS``
(5), ``CARTRIAL_BENCH_WEB_SATURATION_SECONDS`` (20; 0 skips), ``CARTRIAL_BENCH_WEB_SUBJECTS`` (1000),
``CARTRIAL_BENCH_WEB_CLIENTS`` (50), ``CARTRIAL_BENCH_WEB_WORKERS`` (uvicorn workers, 2),
``CARTRIAL_BENCH_WEB_MAX_REQUESTS`` (a cap per run, 50,000), ``CARTRIAL_BENCH_WEB_BACKENDS``
(``sqlite,postgresql``), ``CARTRIAL_BENCH_POSTGRES_URL``. Building the study (import) is not timed.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROTOCOL = REPO / "examples" / "ct103a-nmosd" / "protocol.yaml"
SECONDS = float(os.environ.get("CARTRIAL_BENCH_WEB_SECONDS", "60"))
WARMUP_SECONDS = float(os.environ.get("CARTRIAL_BENCH_WEB_WARMUP_SECONDS", "5"))
SATURATION_SECONDS = float(os.environ.get("CARTRIAL_BENCH_WEB_SATURATION_SECONDS", "20"))
N_SUBJECTS = int(os.environ.get("CARTRIAL_BENCH_WEB_SUBJECTS", "1000"))
CLIENTS = int(os.environ.get("CARTRIAL_BENCH_WEB_CLIENTS", "50"))
WORKERS = int(os.environ.get("CARTRIAL_BENCH_WEB_WORKERS", "2"))
MAX_REQUESTS = int(os.environ.get("CARTRIAL_BENCH_WEB_MAX_REQUESTS", "50000"))
BACKENDS = tuple(os.environ.get("CARTRIAL_BENCH_WEB_BACKENDS", "sqlite,postgresql").split(","))
POSTGRES_URL = os.environ.get(
    "CARTRIAL_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
KEEP_ALIVE_SECONDS = 30
"""The server's keep-alive (uvicorn's default, 5 s, equals httpx's idle expiry: a user thinking that long
could send on a connection the server is closing — a transport error that is the benchmark's, not the
app's; docs/web.md: behind a proxy, keep the server's keep-alive longer than the proxy's)."""
CLIENT_KEEPALIVE_EXPIRY = 10.0
THINK_SECONDS = (0.5, 2.0)
"""A user's think time between tasks, uniform (locust ``between(0.5, 2)``)."""
WRITE_SHARE = 0.10
READ_P95_MS = 150.0
WRITE_P95_MS = 300.0
USER = "bench_dm"
PASSWORD = "bench-password-0123"
CASEBOOK_FORMS = ("crs_assessments", "labs", "infusions", "adverse_events", "edss", "icans_assessments")
READ_CLASSES = ("api_form", "casebook_page", "queries", "ae_page", "record")
"""Request classes: the four kinds of read, and ``record`` (the read before a write)."""


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
        "--no-access-log", "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
    ]  # fmt: skip
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def process_tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` and its live descendants (Linux ``/proc``; 0 elsewhere)."""
    clock = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            text = (entry / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / clock)
    wanted, total = {pid}, 0.0
    changed = True
    while changed:
        changed = False
        for child, (parent, _) in stats.items():
            if parent in wanted and child not in wanted:
                wanted.add(child)
                changed = True
    for member in wanted:
        total += stats.get(member, (0, 0.0))[1]
    return total


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between order statistics (numpy's default)."""
    import numpy as np

    return float(np.quantile(np.asarray(values), q)) if values else float("nan")


@dataclass
class Samples:
    """Latencies (ms) by request class, and the errors, of one run."""

    by_class: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: int = 0

    def add(self, kind: str, ms: float) -> None:
        self.by_class.setdefault(kind, []).append(ms)

    def reads(self) -> list[float]:
        return [v for kind in READ_CLASSES for v in self.by_class.get(kind, [])]

    def writes(self) -> list[float]:
        return self.by_class.get("write", [])

    def count(self) -> int:
        return sum(len(v) for v in self.by_class.values())


async def wait_for_server(http: Any) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while True:
        try:
            if (await http.get("/login")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        await asyncio.sleep(0.2)


async def load(
    http: Any,
    tokens: list[str],
    subjects: list[str],
    casebook_page: str | None,
    *,
    seconds: float,
    warmup: float,
    think: tuple[float, float] | None,
    on_measure: Any,
) -> tuple[Samples, float]:
    """Run `len(tokens)` users for `warmup` + `seconds`; `think` None: zero think time (closed loop).
    `on_measure()` is called when the measured part starts. Returns the samples and the measured span."""
    import httpx

    samples = Samples()
    now = time.monotonic()
    measure_from = now + warmup
    stop_at = measure_from + seconds

    async def user(index: int) -> None:
        rng = random.Random(index)
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        own = subjects[index :: len(tokens)] or subjects
        own_ids: list[int] = []
        for subject in own[:3]:
            listed = await http.get(
                "/api/v1/records/crs_assessments",
                params={"subject_id": subject, "limit": 20},
                headers=headers,
            )
            own_ids += [item["id"] for item in listed.json()["items"]]

        async def timed(kind: str, method: str, path: str, **kwargs: Any) -> Any:
            start_wall = time.monotonic()
            start = time.perf_counter()
            counted = start_wall >= measure_from
            if counted:
                samples.started += 1
            try:
                sent = {**headers, **kwargs.pop("extra", {})}
                response = await http.request(method, path, headers=sent, **kwargs)
            except httpx.HTTPError as exc:
                if counted:
                    samples.errors.append(f"{method} {path}: {type(exc).__name__}")
                return None
            if counted:
                samples.add(kind, (time.perf_counter() - start) * 1000)
                if response.status_code >= 400:
                    samples.errors.append(f"{method} {path}: {response.status_code}")
            return response

        if think is not None:
            await asyncio.sleep(rng.uniform(0.0, think[1]))  # users arrive spread out
        while time.monotonic() < stop_at and samples.started < MAX_REQUESTS:
            draw = rng.random()
            subject = rng.choice(subjects)
            if draw < WRITE_SHARE and own_ids:
                record_id = rng.choice(own_ids)
                path = f"/api/v1/records/crs_assessments/{record_id}"
                current = await timed("record", "GET", path)
                if current is not None and current.status_code == 200:
                    value = round(rng.uniform(36.0, 37.4), 1)
                    change = {"values": {"temperature_c": value}, "reason": "benchmark correction"}
                    etag = {"If-Match": current.headers["ETag"]}
                    await timed("write", "PATCH", path, extra=etag, json=change)
            elif draw < 0.46:
                form = rng.choice(CASEBOOK_FORMS)
                await timed("api_form", "GET", f"/api/v1/records/{form}",
                            params={"subject_id": subject, "limit": 100})  # fmt: skip
            elif draw < 0.64:
                page = casebook_page.replace("{subject}", subject) if casebook_page else "/"
                await timed(
                    "casebook_page", "GET", page, extra={"Cookie": f"cartrial_session={tokens[index]}"}
                )
            elif draw < 0.82:
                await timed("queries", "GET", "/api/v1/queries", params={"status": "open", "limit": 50})
            else:
                offset = rng.randrange(0, max(1, len(subjects) * 10 - 50))
                await timed("ae_page", "GET", "/api/v1/records/adverse_events",
                            params={"limit": 50, "offset": offset})  # fmt: skip
            if think is not None:
                await asyncio.sleep(rng.uniform(*think))

    async def measure_start() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
        on_measure()

    marker = asyncio.create_task(measure_start())
    await asyncio.gather(*(user(i) for i in range(len(tokens))))
    await marker
    return samples, max(1e-9, min(time.monotonic(), stop_at) - measure_from)


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


async def drive(server: subprocess.Popen[bytes], base: str, subjects: list[str]) -> dict[str, Any]:
    import httpx

    page = casebook_route()
    limits = httpx.Limits(
        max_connections=CLIENTS, max_keepalive_connections=CLIENTS, keepalive_expiry=CLIENT_KEEPALIVE_EXPIRY
    )
    out: dict[str, Any] = {"casebook_page": page or "/ (no casebook page route yet)"}
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as http:
        await wait_for_server(http)
        tokens = []
        for _ in range(CLIENTS):
            response = await http.post("/api/v1/token", data={"username": USER, "password": PASSWORD})
            response.raise_for_status()
            tokens.append(response.json()["access_token"])
        runs: list[tuple[str, tuple[float, float] | None, float]] = [("users", THINK_SECONDS, SECONDS)]
        if SATURATION_SECONDS > 0:
            runs.append(("saturation", None, SATURATION_SECONDS))
        for name, think, seconds in runs:
            cpu: dict[str, float] = {}

            def mark(cpu: dict[str, float] = cpu) -> None:
                cpu["start"] = process_tree_cpu_seconds(server.pid)

            samples, span = await load(
                http, tokens, subjects, page, seconds=seconds, warmup=WARMUP_SECONDS, think=think,
                on_measure=mark,
            )  # fmt: skip
            cpu_seconds = process_tree_cpu_seconds(server.pid) - cpu.get("start", 0.0)
            out[name] = {"samples": samples, "seconds": span, "server_cpu_seconds": cpu_seconds}
    return out


def _quantiles(values: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(percentile(values, q / 100), 1) for q in (50, 95, 99)}


def summarise(backend: str, subjects: int, result: dict[str, Any]) -> list[dict[str, Any]]:
    users = result["users"]
    samples: Samples = users["samples"]
    reads, writes, errors = samples.reads(), samples.writes(), samples.errors
    total = samples.count()
    seconds = users["seconds"]
    mean_think = sum(THINK_SECONDS) / 2
    common = {
        "backend": backend,
        "subjects": subjects,
        "users": CLIENTS,
        "workers": WORKERS,
        "client_model": (
            f"{CLIENTS} user sessions, think time uniform {THINK_SECONDS[0]:g}–{THINK_SECONDS[1]:g} s "
            "between tasks (locust-style); 10 % writes"
        ),
        "seconds": round(seconds, 1),
        "requests": total,
        "reads": len(reads),
        "writes": len(writes),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "offered_requests_per_second": round(CLIENTS / mean_think, 1),
        "achieved_requests_per_second": round(total / seconds, 1),
        "server_cpu_ms_per_request": round(1000 * users["server_cpu_seconds"] / max(1, total), 2),
        "per_class": {
            kind: {"requests": len(values), **_quantiles(values)}
            for kind, values in sorted(samples.by_class.items())
        },
        "casebook_page": result["casebook_page"],
    }
    no_errors = not errors
    read_q, write_q = _quantiles(reads), _quantiles(writes)
    entries: list[dict[str, Any]] = [
        {
            "name": f"web_{backend}_requests_per_second",
            "value": total / seconds,
            "unit": "req/s",
            "target": (
                f"recorded: achieved of {CLIENTS / mean_think:.0f} req/s offered by {CLIENTS} users "
                "(issue 14), 0 errors"
            ),
            "meets_target": no_errors,
            **common,
        },
        {
            "name": f"web_{backend}_read_p95_ms",
            "value": read_q["p95_ms"],
            "unit": "ms",
            "target": f"p95 ≤ {READ_P95_MS:g} ms for reads, 0 errors (issue 14)",
            "meets_target": read_q["p95_ms"] <= READ_P95_MS and no_errors,
            **read_q,
            **common,
        },
        {
            "name": f"web_{backend}_write_p95_ms",
            "value": write_q["p95_ms"],
            "unit": "ms",
            "target": f"p95 ≤ {WRITE_P95_MS:g} ms for writes, 0 errors (issue 14)",
            "meets_target": write_q["p95_ms"] <= WRITE_P95_MS and no_errors,
            **write_q,
            **common,
        },
        {
            "name": f"web_{backend}_server_cpu_ms_per_request",
            "value": 1000 * users["server_cpu_seconds"] / max(1, total),
            "unit": "ms",
            "target": "recorded (server CPU per request, user-session run: independent of machine load)",
            "meets_target": True,
            **common,
        },
    ]
    if "saturation" in result:
        sat = result["saturation"]
        sat_samples: Samples = sat["samples"]
        sat_total = sat_samples.count()
        entries.append(
            {
                "name": f"web_{backend}_saturation_requests_per_second",
                "value": sat_total / sat["seconds"],
                "unit": "req/s",
                "target": (
                    f"recorded only: closed loop, {CLIENTS} clients with zero think time (the server's "
                    "throughput when never idle; its latencies are queueing, not what a user sees)"
                ),
                "meets_target": True,
                "backend": backend,
                "workers": WORKERS,
                "seconds": round(sat["seconds"], 1),
                "requests": sat_total,
                "errors": len(sat_samples.errors),
                "error_examples": sorted(set(sat_samples.errors))[:5],
                "read": _quantiles(sat_samples.reads()),
                "write": _quantiles(sat_samples.writes()),
                "server_cpu_ms_per_request": round(1000 * sat["server_cpu_seconds"] / max(1, sat_total), 2),
            }
        )
    return entries


def run_backend(backend: str, url: str, subjects: list[str]) -> list[dict[str, Any]]:
    port = free_port()
    server = start_server(url, port)
    try:
        result = asyncio.run(drive(server, f"http://127.0.0.1:{port}", subjects))
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return summarise(backend, len(subjects), result)


def run() -> list[dict[str, Any]]:
    from benchmarks.bench_store import postgres_schema
    from cartrial.store.importing import write_synthetic_study

    entries: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cartrial-bench-web-") as tmp:
        folder = Path(tmp) / "study"
        write_synthetic_study(folder, N_SUBJECTS)
        import pandas as pd

        subjects = [str(s) for s in pd.read_csv(folder / "subjects.csv")["subject_id"]]
        if "sqlite" in BACKENDS:
            sqlite_url = f"sqlite:///{Path(tmp) / 'web.db'}"
            build_study(sqlite_url, folder)
            entries += run_backend("sqlite", sqlite_url, subjects)
        if "postgresql" in BACKENDS:
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
