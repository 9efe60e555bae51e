"""Shared fixtures: temporary databases (SQLite always, PostgreSQL when reachable).

PostgreSQL tests use ``MIRAKL_SYNC_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``) as an admin connection and
create a fresh database per test. Without PostgreSQL they are skipped with a one-line
reason, unless ``MIRAKL_SYNC_REQUIRE_POSTGRES=1`` (set by CI), which turns the skip
into a failure so CI can never pass without running them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _admin_url() -> str:
    return os.environ.get("MIRAKL_SYNC_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def _postgres_unavailable_reason() -> str | None:
    try:
        engine = sa.create_engine(_admin_url(), connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"PostgreSQL not reachable at {_admin_url()} ({first_line})"
    return None


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    reason = _postgres_unavailable_reason()
    if reason is not None:
        if os.environ.get("MIRAKL_SYNC_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; MIRAKL_SYNC_REQUIRE_POSTGRES=1 forbids skipping")
        pytest.skip(reason)
    return _admin_url()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test; dropped afterwards."""
    name = f"mirakl_sync_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for this test."""
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
