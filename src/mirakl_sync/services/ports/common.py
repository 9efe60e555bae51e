"""Ports shared by every flow: the clock, call budgets and claims, the exception log,
cursors."""

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


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (``time.time`` in production, a fake in tests)."""
        ...


class CallBudget(Protocol):
    """A call budget shared by every process that calls the same endpoint."""

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        """Take the next slot of ``key``'s budget; return the seconds to wait before calling.

        With ``max_wait`` (the wait bound), take only a slot that
        ``domain.call_budget.hold_limit`` allows, else raise ``CallBudgetExhaustedError``
        with the time the next slot opens, leaving the budget unchanged.
        """
        ...

    def calling(self, key: str) -> None:
        """Said just before the call a reservation of ``key`` was for: from here the slot
        counts as used even if this process dies (until then, a store shared by several
        processes may give a dead caller's slot to the next)."""
        ...


class Claims(Protocol):
    """Short leases on a key shared by every process: one request per key at a time."""

    def claim(self, key: str, lease_seconds: float) -> float | None:
        """Take ``key`` for ``lease_seconds``; a token, or None when a live claim holds it."""
        ...

    def held(self, key: str) -> bool:
        """Whether a live claim holds ``key`` now."""
        ...

    def release(self, key: str, token: float) -> None:
        """End the claim ``token`` (one that expired and was taken since is left alone)."""
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


class Cursors(Protocol):
    """The ``sync_cursors`` table: small per-flow state that survives restarts."""

    def get(self, flow: str, scope: str) -> str | None: ...

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None: ...

    def written_at(self, flow: str, scope: str) -> datetime | None:
        """The ``now`` the cursor was last put with; None without a cursor."""
        ...
