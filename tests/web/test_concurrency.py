"""Eight clients edit the same record at once: exactly one save wins, the seven others are refused with 409
"changed since you opened it", nothing is overwritten silently, and the audit chain verifies afterwards.

Each client is its own `TestClient` (its own event loop thread), all opened on the same version of the
record and released together by a barrier; the version check runs inside the store's write transaction
(`cartrial.store.writes.update_record`, under the audit-chain lock), on both backends."""

from __future__ import annotations

import threading

CLIENTS = 8


def test_eight_concurrent_editors_one_wins(any_web_study):
    study = any_web_study
    readers = [study.bearer("dm") for _ in range(CLIENTS)]
    record = readers[0].get("/api/v1/records/crs_assessments?subject_id=CT-001").json()["items"][0]
    record_id = record["id"]
    opened = [r.get(f"/api/v1/records/crs_assessments/{record_id}").headers["ETag"] for r in readers]
    assert len(set(opened)) == 1
    barrier = threading.Barrier(CLIENTS)
    results: list[tuple[int, float, int, str]] = []
    lock = threading.Lock()

    def edit(index: int) -> None:
        temperature = round(37.0 + index / 10, 1)
        barrier.wait()
        response = readers[index].patch(
            f"/api/v1/records/crs_assessments/{record_id}",
            headers={"If-Match": opened[index]},
            json={"values": {"temperature_c": temperature}, "reason": f"client {index}"},
        )
        with lock:
            results.append((index, temperature, response.status_code, response.text))

    threads = [threading.Thread(target=edit, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == CLIENTS
    statuses = sorted(status for _, _, status, _ in results)
    assert statuses == [200] + [409] * (CLIENTS - 1), results
    assert all("changed since you opened it" in text for _, _, status, text in results if status == 409)
    winner = next(result for result in results if result[2] == 200)
    stored = readers[0].get(f"/api/v1/records/crs_assessments/{record_id}").json()
    assert stored["values"]["temperature_c"] == winner[1]
    assert stored["version"] == record["version"] + 1
    trail = readers[0].get(f"/api/v1/audit/records/crs_assessments/{record_id}").json()
    updates = [row for row in trail if row["action"] == "update"]
    assert [(u["field"], u["reason"]) for u in updates] == [("temperature_c", f"client {winner[0]}")]
    assert readers[0].get("/api/v1/audit/verify").json()["ok"] is True
