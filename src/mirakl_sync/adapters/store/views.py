"""Plain queries behind the status page: read-only, never the write path."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select

from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.tables import exceptions, executors, marketplace_orders
from mirakl_sync.config import Settings
from mirakl_sync.domain.exceptions import ExceptionStatus
from mirakl_sync.services.ports import Clock
from mirakl_sync.services.views import MarketplaceView, OrderView, StatusView, WorkerView


class SqlStatusReader:
    def __init__(
        self, engine: Engine, settings: Settings, clock: Clock = time.time, latest_orders: int = 25
    ) -> None:
        self._engine = engine
        self._latest_orders = latest_orders
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
            order_rows = connection.execute(
                select(marketplace_orders)
                .order_by(marketplace_orders.c.created_at.desc())
                .limit(self._latest_orders)
            ).all()
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
            orders=[
                OrderView(
                    marketplace=row.marketplace,
                    order_id=row.order_id,
                    state=row.state,
                    hub_status=row.hub_status,
                    created_at=row.created_at,
                    total=f"{row.total_price or ''} {row.currency or ''}".strip(),
                    lines=row.line_count,
                    shopify_order_name=row.shopify_order_name,
                    acceptance_deadline_at=row.acceptance_deadline_at,
                )
                for row in order_rows
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
