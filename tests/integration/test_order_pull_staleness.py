"""Issue 9, failure 6: pulls that stop succeeding are a critical ops exception.

The hub's intake stopped for hours with no exception and the worker shown alive. A pull
that has not succeeded for longer than its period plus the grace now opens
``order_pull_stale``; the next successful pull resolves it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.orders import SqlOrderRepository
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionStatus, OwnerTeam, Severity
from mirakl_sync.domain.orders import MarketplaceOrder
from mirakl_sync.services.order_pull import (
    STALE_PULL_GRACE_SECONDS,
    PullSettings,
    check_pull_staleness,
    pull_orders,
)

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PERIOD = 60.0


class NoOrders:
    """A marketplace with nothing new: the pull still succeeds."""

    async def updated_since(self, since: datetime | None) -> AsyncIterator[MarketplaceOrder]:
        for order in ():
            yield order

    async def open_orders(self) -> AsyncIterator[MarketplaceOrder]:
        for order in ():
            yield order


def _store(tmp_path: Path) -> tuple[SqlOrderRepository, SqlExceptionLog]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade_database(url)
    engine = create_store_engine(url)
    return SqlOrderRepository(engine), SqlExceptionLog(engine)


def _check(repository: SqlOrderRepository, log: SqlExceptionLog, now: datetime) -> bool:
    return check_pull_staleness(
        repository,
        log,
        marketplace="debenhams",
        period_seconds=PERIOD,
        now=now,
        watching_since=START,
    )


def _pull(repository: SqlOrderRepository, now: datetime) -> None:
    settings = PullSettings("debenhams", 60, 72, 24)
    asyncio.run(pull_orders(NoOrders(), repository, settings, now=now))  # type: ignore[arg-type]


def test_a_pull_late_beyond_period_and_grace_is_a_critical_ops_exception(
    tmp_path: Path,
) -> None:
    repository, log = _store(tmp_path)
    limit = timedelta(seconds=PERIOD + STALE_PULL_GRACE_SECONDS)
    assert not _check(repository, log, START + limit - timedelta(seconds=1))
    assert log.list() == []

    assert _check(repository, log, START + limit + timedelta(seconds=1))
    [record] = log.list()
    assert record.type == ExceptionType.ORDER_PULL_STALE
    assert (record.owner, record.severity) == (OwnerTeam.OPS, Severity.CRITICAL)
    assert record.marketplace == "debenhams"
    assert "never" in record.message and "docs/operations.md" in record.message


def test_a_successful_pull_resolves_it_and_a_later_silence_reopens_it(tmp_path: Path) -> None:
    repository, log = _store(tmp_path)
    late = START + timedelta(hours=1)
    assert _check(repository, log, late)

    _pull(repository, late)  # no orders at all: a success all the same
    assert not _check(repository, log, late + timedelta(seconds=5))
    assert log.list() == []
    assert log.list(status=ExceptionStatus.RESOLVED)[0].type == ExceptionType.ORDER_PULL_STALE

    assert _check(repository, log, late + timedelta(hours=1))
    [record] = log.list()
    assert "last at" in record.message
