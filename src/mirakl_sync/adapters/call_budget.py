"""In-process call budget, for one process (tests, a single embedded hub).

The store's ``SqlCallBudget`` is the one to use when several processes share budgets.
Both follow the wait bound of ``domain.call_budget`` (``max_wait``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

from mirakl_sync.domain.call_budget import Budget, reserve_slot
from mirakl_sync.errors import CallBudgetExhaustedError
from mirakl_sync.services.ports import Clock


class InMemoryCallBudget:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            slot = reserve_slot(self._tats.get(key), now, budget, max_wait)
            if not slot.taken:
                raise slot_unavailable(key, budget, now + slot.wait, slot.wait)
            self._tats[key] = slot.tat
            return slot.wait

    def calling(self, key: str) -> None:
        """Nothing to say: one process, whose slots die with it."""


class UnlimitedCallBudget:
    """No budget at all: for the sandbox with its limits lifted."""

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        return 0.0

    def calling(self, key: str) -> None:
        """Nothing reserved, nothing to say."""


def slot_unavailable(
    key: str, budget: Budget, next_slot_at: float, wait_seconds: float
) -> CallBudgetExhaustedError:
    """The error a budget store raises; the API client adds the operation and marketplace."""
    opens = datetime.fromtimestamp(next_slot_at, UTC)
    return CallBudgetExhaustedError(
        f"{key} allows {budget}; its next slot opens at {opens:%Y-%m-%d %H:%M:%S} UTC",
        key=key,
        next_slot_at=next_slot_at,
        wait_seconds=wait_seconds,
    )
