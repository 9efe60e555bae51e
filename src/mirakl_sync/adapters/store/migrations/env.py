"""Alembic environment: runs migrations on the URL given by ``alembic_config``."""

from __future__ import annotations

from alembic import context

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.tables import metadata

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "alembic_config() sets sqlalchemy.url"
    engine = create_store_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                # SQLite cannot ALTER most things; batch mode copies the table instead.
                render_as_batch=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations()
