"""The order pull monitor: raises ``order_pull_stale`` when a marketplace's pulls stop
succeeding, from a thread beside the pulls (started by ``workflows.orders.register``)."""

from __future__ import annotations

import logging
import threading

from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.services.order_pull import check_pull_staleness
from mirakl_sync.workflows.flow_context import FlowContext

logger = logging.getLogger(__name__)


class PullMonitor:
    """Raises ``order_pull_stale`` when a marketplace's pulls stop succeeding.

    It runs beside the pulls, not in them: a pull stuck PENDING (its process died) or
    never started (no schedule fired) cannot report itself, and intake then stops
    silently while the worker still looks alive (issue 9, failure 6).
    """

    def __init__(self, context: FlowContext, interval_seconds: float) -> None:
        self._context = context
        self._interval = interval_seconds
        self._since = context.now()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[str]:
        """One pass over every marketplace; returns the codes whose pull is stale."""
        context = self._context
        repository = SqlOrderRepository(context.hub.store.engine)
        now = context.now()
        return [
            market.code
            for market in context.settings.marketplaces
            if check_pull_staleness(
                repository,
                context.hub.store.exception_log,
                marketplace=market.code,
                period_seconds=market.order_poll_seconds,
                now=now,
                watching_since=self._since,
            )
        ]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="order-pull-monitor", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:  # a database blip: the next pass tries again
                logger.warning("order pull staleness check failed", exc_info=True)


def start_pull_monitor(context: FlowContext) -> PullMonitor:
    """The monitor of the context's marketplaces, stopped when the context closes."""
    shortest = min((m.order_poll_seconds for m in context.settings.marketplaces), default=60.0)
    monitor = PullMonitor(context, interval_seconds=min(30.0, max(1.0, shortest)))
    monitor.start()
    context.background.append(monitor)
    return monitor
