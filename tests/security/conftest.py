"""Fixtures of the security tests: the store tests' study databases (SQLite file and PostgreSQL), reused by
loading `tests/store/conftest.py` by path (the tests folders are not packages)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "store" / "conftest.py"
_SPEC = importlib.util.spec_from_file_location("cartrial_security_store_fixtures", _PATH)
assert _SPEC is not None and _SPEC.loader is not None
store_fixtures = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = store_fixtures
_SPEC.loader.exec_module(store_fixtures)

PROTOCOL = store_fixtures.PROTOCOL
StudyDb = store_fixtures.StudyDb
make_study = store_fixtures.make_study
require_postgres = store_fixtures.require_postgres
postgres_base_url = store_fixtures.postgres_base_url

db_url = store_fixtures.db_url
postgres_url = store_fixtures.postgres_url
postgres_template = store_fixtures.postgres_template
sqlite_template = store_fixtures.sqlite_template
study = store_fixtures.study
