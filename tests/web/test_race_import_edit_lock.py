"""A real uvicorn server (in a thread) on each backend: an API client editing one record with its ETag, an API
import re-importing the study's templates and a data lock taken meanwhile, all at once. Every answer is a
success or a 409 whose JSON names no subject id (D-12.2, D-19.1330); no server error; the audit chain
verifies afterwards (D-7.7, D-14.2)."""

from __future__ import annotations

import datetime as dt
import io
import socket
import threading
import time
import zipfile

import httpx
import uvicorn


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_import_an_edit_and_a_lock_racing_on_a_real_server(any_web_study) -> None:
    study = any_web_study
    server = uvicorn.Server(
        uvicorn.Config(study.app, host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{server.config.port}"
    dm = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {study.session_token('dm')}"}, timeout=120
    )
    admin = httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {study.session_token('admin')}"}, timeout=120
    )
    try:
        record = dm.get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["items"][0]
        archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
        files = {name: archive.read(name) for name in archive.namelist()}
        results: list[tuple[str, int, str]] = []
        barrier = threading.Barrier(3)

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

        workers = [threading.Thread(target=f) for f in (editor, importer, locker)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert len(results) == 14
        for what, status, text in results:
            assert status in (200, 201, 409), (what, status, text[:500])
            if status == 409:
                body = httpx.Response(409, content=text.encode()).json()
                assert "CT-001" not in body["error"], body["error"]
        verified = admin.get("/api/v1/audit/verify")
        assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text
    finally:
        dm.close()
        admin.close()
        server.should_exit = True
        thread.join(timeout=30)
