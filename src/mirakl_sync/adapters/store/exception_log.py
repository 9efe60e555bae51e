"""The exception log in the store: one row per distinct problem, upserted by fingerprint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mirakl_sync.adapters.store.tables import exceptions
from mirakl_sync.domain.exceptions import (
    ExceptionRecord,
    ExceptionReport,
    ExceptionStatus,
    OwnerTeam,
    Severity,
)


class SqlExceptionLog:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def record(self, report: ExceptionReport, now: datetime) -> ExceptionRecord:
        values: dict[str, Any] = {
            "fingerprint": report.fingerprint,
            "type": report.type,
            "owner": report.owner.value,
            "severity": report.severity.value,
            "status": ExceptionStatus.OPEN.value,
            "marketplace": report.marketplace,
            "entity_type": report.entity_type,
            "entity_id": report.entity_id,
            "message": report.message,
            "details": report.details,
            "first_seen_at": now,
            "last_seen_at": now,
            "count": 1,
            "deadline_at": report.deadline_at,
            "resolved_at": None,
        }
        insert = self._insert(exceptions).values(**values)
        statement = insert.on_conflict_do_update(
            index_elements=[exceptions.c.fingerprint],
            set_={
                # The latest words and severity win: an escalation raises the severity.
                "message": insert.excluded.message,
                "details": insert.excluded.details,
                "severity": insert.excluded.severity,
                "owner": insert.excluded.owner,
                "deadline_at": insert.excluded.deadline_at,
                "last_seen_at": insert.excluded.last_seen_at,
                "count": exceptions.c.count + 1,
                "status": ExceptionStatus.OPEN.value,
                "resolved_at": None,
            },
        ).returning(*exceptions.c)
        with self._engine.begin() as connection:
            row = connection.execute(statement).one()
        return _to_record(row)

    def resolve(self, fingerprint: str, now: datetime) -> bool:
        statement = (
            update(exceptions)
            .where(exceptions.c.fingerprint == fingerprint)
            .where(exceptions.c.status == ExceptionStatus.OPEN.value)
            .values(status=ExceptionStatus.RESOLVED.value, resolved_at=now)
        )
        with self._engine.begin() as connection:
            return connection.execute(statement).rowcount == 1

    def list(
        self,
        *,
        status: ExceptionStatus | None = ExceptionStatus.OPEN,
        owner: OwnerTeam | None = None,
        marketplace: str | None = None,
        limit: int = 100,
    ) -> list[ExceptionRecord]:
        query = select(exceptions).order_by(
            exceptions.c.last_seen_at.desc(), exceptions.c.id.desc()
        )
        if status is not None:
            query = query.where(exceptions.c.status == status.value)
        if owner is not None:
            query = query.where(exceptions.c.owner == owner.value)
        if marketplace is not None:
            query = query.where(exceptions.c.marketplace == marketplace)
        with self._engine.connect() as connection:
            rows = connection.execute(query.limit(limit)).all()
        return [_to_record(row) for row in rows]


def _to_record(row: Row[Any]) -> ExceptionRecord:
    return ExceptionRecord(
        id=row.id,
        type=row.type,
        owner=OwnerTeam(row.owner),
        severity=Severity(row.severity),
        status=ExceptionStatus(row.status),
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        message=row.message,
        marketplace=row.marketplace,
        details=dict(row.details),
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
        count=row._mapping["count"],
        deadline_at=row.deadline_at,
        resolved_at=row.resolved_at,
    )
