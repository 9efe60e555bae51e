"""The Alembic migrations build exactly the tables declared in ``tables.py``, on both databases."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import current_revision, upgrade_database
from mirakl_sync.adapters.store.tables import metadata


def test_migrations_equal_the_metadata(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == [], f"tables.py and the migrations differ: {differences}"


def test_upgrade_is_idempotent_and_reaches_head(database_url: str) -> None:
    upgrade_database(database_url)
    first = current_revision(database_url)
    upgrade_database(database_url)
    assert current_revision(database_url) == first
    assert first is not None


def test_a_table_missing_from_the_migrations_is_detected(database_url: str) -> None:
    """Guard the guard: a table declared but never migrated must show up as a difference."""
    upgrade_database(database_url)
    extended = sa.MetaData()
    for table in metadata.tables.values():
        table.to_metadata(extended)
    sa.Table("not_migrated", extended, sa.Column("id", sa.Integer, primary_key=True))
    engine = create_store_engine(database_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), extended)
    finally:
        engine.dispose()
    assert any(diff[0] == "add_table" and diff[1].name == "not_migrated" for diff in differences)
