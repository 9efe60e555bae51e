"""The store: the hub's own tables in SQLite (embedded default) or PostgreSQL (production).

SQLAlchemy Core tables live in ``tables.py``; Alembic migrations in ``migrations/`` are
the only way the schema changes (``mirakl-sync db upgrade``), and a test proves the
migrations equal the tables on both databases.
"""
