"""Every PostgreSQL test connection runs with the test session setting of tests/conftest.py (D-19.946):
through a search-path URL (its `options` replace PGOPTIONS) and through a plain database URL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.postgres


def _setting(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW synchronous_commit")).scalar_one())
    finally:
        engine.dispose()


def test_a_schema_url_keeps_the_test_session_setting(postgres_url: str) -> None:
    assert _setting(postgres_url) == "off"
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert str(connection.execute(text("SHOW search_path")).scalar_one()).startswith("t_")
    finally:
        engine.dispose()


def test_a_database_url_gets_the_test_session_setting(postgres_server: str) -> None:
    assert _setting(postgres_server) == "off"
