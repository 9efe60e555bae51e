"""Ports: the narrow interfaces services use to reach the outside world.

Unprefixed nouns are the ports; implementations are named for what they are
(``SqlCallBudget``, ``InMemoryCallBudget``, ``MiraklClient`` ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.domain.exceptions import (
    ExceptionRecord,
    ExceptionReport,
    ExceptionStatus,
    OwnerTeam,
)
from mirakl_sync.domain.stock_pool import HoldOutcome, LineHold, Reservation


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (``time.time`` in production, a fake in tests)."""
        ...


class CallBudget(Protocol):
    """A call budget shared by every process that calls the same endpoint."""

    def reserve(self, key: str, budget: Budget) -> float:
        """Take the next slot of ``key``'s budget; return the seconds to wait before calling."""
        ...


class ExceptionLog(Protocol):
    """Where flows record what could not go through (the ``exceptions`` table)."""

    def record(self, report: ExceptionReport, now: datetime) -> ExceptionRecord:
        """Open the exception, or bump the count of the same open one (reopening a resolved one)."""
        ...

    def resolve(self, fingerprint: str, now: datetime) -> bool:
        """Mark the exception resolved once the record went through; False if none was open."""
        ...

    def list(
        self,
        *,
        status: ExceptionStatus | None = ExceptionStatus.OPEN,
        owner: OwnerTeam | None = None,
        marketplace: str | None = None,
        limit: int = 100,
    ) -> list[ExceptionRecord]:
        """Newest first."""
        ...


class StockLedger(Protocol):
    """The hub's holds on the one stock pool (the ``stock_reservations`` table).

    Every method is idempotent per order line, so a workflow step may run twice.
    """

    def hold(self, request: LineHold, *, source_available: int, now: datetime) -> HoldOutcome:
        """Atomically: subtract everyone else's holds from ``source_available`` (read fresh
        from the source of truth) and hold ``request.quantity`` if that many are free."""
        ...

    def commit(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        """The source of truth now reflects this sale: stop counting the hold."""
        ...

    def release(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        """Give the held (or committed) stock back to the pool."""
        ...

    def reservation(self, marketplace: str, order_line_id: str) -> Reservation | None: ...

    def held_quantities(self, skus: list[str] | None = None) -> dict[str, int]:
        """Units currently held (not yet in the source of truth), by stock key."""
        ...
