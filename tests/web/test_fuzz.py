"""Schemathesis against the app's own OpenAPI schema, in-process (ASGI), every operation, as an admin (who may
call every operation, so the fuzzing reaches the handlers rather than the permission check).

Checks: no 5xx (`not_a_server_error`), only documented status codes (`status_code_conformance`), the
documented content type (`content_type_conformance`) and response schema (`response_schema_conformance`).
Budget: `EXAMPLES` generated requests per operation (fixed, derandomised) on one copy of the small study
per backend;
the whole file fits well inside a minute on a quiet machine. (The operations are driven one by one with
Hypothesis' `given` on each operation's strategy: schemathesis' pytest fixture loader does not support
this pytest version.)
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests.conftest import property_examples

EXAMPLES = 6
"""Generated requests per operation."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_api_fuzz_every_operation(any_web_study):
    """On both backends: PostgreSQL refuses what SQLite takes (NUL in text, ids beyond 32 bits), so the same
    request can be a server error on one only."""
    web_study = any_web_study
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_study.app)
    headers = {"Authorization": f"Bearer {web_study.session_token('admin')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/")]  # pages: the browser tests
    assert len(operations) >= 25
    failures: list[str] = []
    for operation in operations:

        @(
            SETTINGS
            if "token" not in operation.path
            else settings(SETTINGS, max_examples=property_examples(2))
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            if "logout" in case.path:
                return  # would end the admin's session for the operations after it
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(
                f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}"[:2000]
            )
    assert failures == [], "\n\n".join(failures)
