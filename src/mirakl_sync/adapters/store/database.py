"""Engines for the store: SQLite tuned for several writers, PostgreSQL pooled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """Create the SQLAlchemy engine for ``database_url``.

    SQLite gets WAL (readers do not block the writer) and a busy timeout, because the
    web page, the CLI and the engine's threads all share one file.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)
