"""Engines for the store: SQLite tuned for several writers, PostgreSQL pooled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event

#: Applied to every SQLite connection of the hub (its store and the engine's system
#: database). WAL: readers never block the writer and a commit appends to the log
#: instead of rewriting pages. ``synchronous=NORMAL`` (SQLite's advice for WAL) syncs the
#: log at checkpoints rather than at every commit: a commit survives the process
#: crashing; only a power cut can lose the last few, and every external write the hub
#: makes is looked up again before it is repeated (sourceIdentifier, OR21 state), so
#: such a loss is repaired, not duplicated. Measured: the rollback journal with a sync
#: per commit made step checkpoints the order flow's largest cost (docs/benchmarks.md).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
)


def apply_sqlite_pragmas(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def create_store_engine(url: str, **kwargs: Any) -> Engine:
    """Create the SQLAlchemy engine for ``database_url``.

    SQLite gets :data:`SQLITE_PRAGMAS`, because the web page, the CLI and the engine's
    threads all share one file.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            apply_sqlite_pragmas(dbapi_connection)

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def create_engine_system_database(url: str) -> Engine:
    """The engine's own SQLite system database, as DBOS would open it plus WAL.

    DBOS opens SQLite with the rollback journal; it accepts an engine of ours instead.
    Its own settings are kept: ``IMMEDIATE`` transactions (writers queue rather than
    deadlock on a lock upgrade), a long busy timeout, foreign keys.
    """
    engine = create_engine(url, connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = "IMMEDIATE"
        apply_sqlite_pragmas(dbapi_connection)

    return engine
