"""Plain queries behind the status page: read-only, never the write path."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.tables import exceptions, executors
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import ExceptionStatus
from mirakl_sync.services.ports import Clock
from mirakl_sync.services.views import MarketplaceView, StatusView, WorkerView


class SqlStatusReader:
    def __init__(self, engine: Engine, settings: Settings, clock: Clock = time.time) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock

    def status(self) -> StatusView:
        with self._engine.connect() as connection:
            count_rows = connection.execute(
                select(exceptions.c.marketplace, func.count())
                .where(exceptions.c.status == ExceptionStatus.OPEN.value)
                .group_by(exceptions.c.marketplace)
            ).all()
            open_counts = {str(market): int(count) for market, count in count_rows}
            worker_rows = connection.execute(
                select(executors).order_by(executors.c.started_at.desc()).limit(20)
            ).all()
        now = self._clock()
        return StatusView(
            marketplaces=[
                MarketplaceView(
                    code=market.code,
                    name=market.display_name,
                    # Host only: a base URL may carry credentials in exotic set-ups.
                    host=urlsplit(market.base_url).hostname or market.base_url,
                    open_exceptions=int(open_counts.get(market.code, 0)),
                )
                for market in self._settings.marketplaces
            ],
            exceptions=SqlExceptionLog(self._engine).list(limit=50),
            workers=[
                WorkerView(
                    executor_id=row.executor_id,
                    hostname=row.hostname,
                    pid=row.pid,
                    role=row.role,
                    status=row.status,
                    seconds_since_heartbeat=max(0.0, now - row.heartbeat_at),
                )
                for row in worker_rows
            ],
        )
