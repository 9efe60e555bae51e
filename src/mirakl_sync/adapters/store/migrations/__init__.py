"""Alembic migrations of the store, run with ``mirakl-sync db upgrade``.

To add one after changing ``tables.py``::

    .venv/bin/python -m mirakl_sync.adapters.store.migrations revision "what changed"

The test ``tests/integration/test_migrations.py`` fails while the migrations and the
tables differ, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ``%`` is Alembic's interpolation character; escape it in URLs with passwords.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Bring the store's schema up to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from mirakl_sync.adapters.store.database import create_store_engine

    engine = create_store_engine(database_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def _main(argv: list[str]) -> None:
    if len(argv) != 3 or argv[1] != "revision":
        raise SystemExit(
            'usage: python -m mirakl_sync.adapters.store.migrations revision "message"'
        )
    url = "sqlite:///./.migration-scratch.db"
    upgrade_database(url)
    command.revision(alembic_config(url), message=argv[2], autogenerate=True)
    Path(".migration-scratch.db").unlink(missing_ok=True)


if __name__ == "__main__":
    _main(sys.argv)
