"""A real uvicorn server (in a thread) on each backend: an API client editing one record with its ETag, an API
import of the study's templates with that record's row changed and a data lock taken meanwhile, all at once;
then, the lock taken, the changed templates imported once more. What it proves:

- under the race, every answer is a success or a 409, never a server error, and no 409 shows the record's
  subject id or clinical date in its error, problems or allowed texts (D-12.2);
- the import after the lock reaches the bulk write's lock refusal (`bulk._refuse_locked`, the leak D-19.1330
  closed: "… are frozen by data lock #1 …: CT-001, 2021-…"): a 409 whose problems each name a record by id at
  ``crs_assessment.assessed_at``, the column the lock compares (D-19.1331);
- the audit chain verifies afterwards (D-7.7, D-14.2).

Which of the racing writes wins is not asserted (the race decides); the server socket is bound before the
server starts, every wait is bounded, and a worker's exception fails the test."""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

STARTUP_LIMIT_SECONDS = 120.0
"""A bound on waiting for the server to start (a hang guard, not a timing assertion)."""
WORKER_LIMIT_SECONDS = 600.0
"""A bound on waiting for a racing worker (a hang guard, not a timing assertion)."""


def _with_changed_row(files: dict[str, bytes], subject_id: str) -> tuple[dict[str, bytes], str]:
    """The templates with the first crs_assessment row of `subject_id` given another temperature, and that
    row's assessed_at as exported."""
    lines = files["crs_assessments.csv"].decode().splitlines()
    header = lines[0].split(",")
    at = next(
        i for i, line in enumerate(lines[1:], 1) if line.split(",")[header.index("subject_id")] == subject_id
    )
    cells = lines[at].split(",")
    temperature = header.index("temperature_c")
    cells[temperature] = "38.1" if cells[temperature] != "38.1" else "38.2"
    lines[at] = ",".join(cells)
    return {**files, "crs_assessments.csv": "\n".join(lines).encode() + b"\n"}, cells[
        header.index("assessed_at")
    ]


def _assert_value_free(body: dict[str, Any], *values: str) -> None:
    texts = [body["error"], body.get("allowed") or ""]
    for problem in body.get("problems", []):
        texts += [problem.get("message") or "", problem.get("allowed") or "", problem.get("record") or ""]
    for text in texts:
        for value in values:
            assert value not in text, (value, text[:500])


def test_an_import_an_edit_and_a_lock_racing_on_a_real_server(any_web_study) -> None:
    study = any_web_study
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # held from here on: no other process can take the port meanwhile
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(study.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_LIMIT_SECONDS
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start within the limit"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    dm = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {study.session_token('dm')}"}, timeout=120
    )
    admin = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {study.session_token('admin')}"}, timeout=120
    )
    try:
        record = dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["items"][0]
        archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
        files, assessed_at = _with_changed_row(
            {name: archive.read(name) for name in archive.namelist()}, "CT-001"
        )
        results: list[tuple[str, int, str]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(3, timeout=WORKER_LIMIT_SECONDS)

        def editor() -> None:
            barrier.wait()
            for i in range(10):
                read = dm.get(f"/api/v1/records/crs_assessments/{record['id']}")
                edit = dm.patch(
                    f"/api/v1/records/crs_assessments/{record['id']}",
                    headers={"If-Match": read.headers["ETag"]},
                    json={"values": {"temperature_c": round(37.0 + i / 10, 1)}, "reason": f"edit {i}"},
                )
                results.append(("edit", edit.status_code, edit.text))

        def importer() -> None:
            barrier.wait()
            for i in range(3):
                upload = [("files", (name, data, "text/csv")) for name, data in files.items()]
                answer = admin.post("/api/v1/import/templates", files=upload, data={"reason": f"again {i}"})
                results.append(("import", answer.status_code, answer.text))

        def locker() -> None:
            barrier.wait()
            study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
            results.append(("lock", 200, ""))

        def collected(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as exc:  # re-raised in the test's thread below
                    errors.append(exc)
                    barrier.abort()

            return run

        workers = [threading.Thread(target=collected(f), daemon=True) for f in (editor, importer, locker)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=WORKER_LIMIT_SECONDS)
            assert not worker.is_alive(), f"{worker.name} did not finish within the limit"
        if errors:
            raise errors[0]
        assert len(results) == 14
        for what, status, text in results:
            assert status in (200, 201, 409), (what, status, text[:500])
            if status == 409:
                _assert_value_free(
                    httpx.Response(409, content=text.encode()).json(), "CT-001", assessed_at[:10]
                )

        # the lock is taken: the templates as stored now, with the row changed again, meet the frozen record
        archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
        changed, _ = _with_changed_row({name: archive.read(name) for name in archive.namelist()}, "CT-001")
        upload = [("files", (name, data, "text/csv")) for name, data in changed.items()]
        answer = admin.post("/api/v1/import/templates", files=upload, data={"reason": "after the lock"})
        assert answer.status_code == 409, answer.text[:500]
        body = answer.json()
        assert "frozen by data lock #1" in body["error"], body["error"]
        _assert_value_free(body, "CT-001", assessed_at[:10])
        assert body["field"] == "crs_assessment.assessed_at", body
        assert body["problems"] and body["problems_total"] >= 1, body
        for problem in body["problems"]:
            assert problem["field"] == "crs_assessment.assessed_at", problem
            assert str(problem["record"]).startswith("crs_assessment record "), problem
            assert problem["value"] is None, problem
            assert "unlock" in (problem["allowed"] or ""), problem
        verified = admin.get("/api/v1/audit/verify")
        assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    finally:
        dm.close()
        admin.close()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
