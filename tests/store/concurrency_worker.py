"""Worker of the concurrency test (a module of its own so that spawned processes can import it)."""

from __future__ import annotations

from typing import Any

from cartrial.errors import ConflictError
from cartrial.store import StudyService, connect


def increment(url: str, record_id: int, rounds: int, barrier: Any, results: Any, worker: int) -> None:
    """Add 1 to lab_result.value `rounds` times with optimistic concurrency; report successes/conflicts.

    Each round starts with every worker reading the same version (barrier), so all but one of the first
    attempts must conflict; a conflicted worker re-reads and retries until its update succeeds."""
    service = StudyService(connect(url))
    successes = conflicts = 0
    messages: list[str] = []
    for round_number in range(rounds):
        record = service.get_record("dm", "lab_result", record_id)
        barrier.wait()
        while True:
            try:
                service.update_record(
                    "dm",
                    "lab_result",
                    record_id,
                    {"value": float(record["value"]) + 1},
                    int(record["version"]),
                    f"worker {worker} round {round_number}",
                )
                successes += 1
                break
            except ConflictError as exc:
                conflicts += 1
                messages.append(str(exc))
                record = service.get_record("dm", "lab_result", record_id)
    service.engine.dispose()
    results.put((worker, successes, conflicts, messages[:2]))
