"""``SqlCursors``: the ``Cursors`` port over the ``sync_cursors`` table, the one place that
reads and writes it (the order repository and the offer states hand their cursors to it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from mirakl_sync.adapters.store.tables import sync_cursors


class SqlCursors:
    """Small per-flow state that survives restarts, by (flow, scope)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def get(self, flow: str, scope: str) -> str | None:
        query = select(sync_cursors.c.cursor).where(
            sync_cursors.c.flow == flow, sync_cursors.c.scope == scope
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else str(value)

    def written_at(self, flow: str, scope: str) -> datetime | None:
        query = select(sync_cursors.c.updated_at).where(
            sync_cursors.c.flow == flow, sync_cursors.c.scope == scope
        )
        with self._engine.connect() as connection:
            value = connection.execute(query).scalar()
        return value if isinstance(value, datetime) else None

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None:
        """Write the cursor (an upsert: one statement, safe beside other processes)."""
        insert = self._insert(sync_cursors).values(
            flow=flow, scope=scope, cursor=value, updated_at=now
        )
        statement = insert.on_conflict_do_update(
            index_elements=[sync_cursors.c.flow, sync_cursors.c.scope],
            set_={"cursor": insert.excluded.cursor, "updated_at": insert.excluded.updated_at},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def of(self, flow: str, scope_prefix: str = "") -> dict[str, str]:
        """Every cursor of ``flow`` whose scope starts with ``scope_prefix``, by scope."""
        t = sync_cursors
        query = select(t.c.scope, t.c.cursor).where(t.c.flow == flow)
        if scope_prefix:
            query = query.where(t.c.scope.startswith(scope_prefix, autoescape=True))
        with self._engine.connect() as connection:
            return {str(r.scope): str(r.cursor) for r in connection.execute(query)}

    def delete(self, flow: str, scope: str) -> None:
        t = sync_cursors
        with self._engine.begin() as connection:
            connection.execute(t.delete().where(t.c.flow == flow).where(t.c.scope == scope))
