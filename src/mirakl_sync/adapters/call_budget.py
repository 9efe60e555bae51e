"""In-process call budget, for one process (tests, a single embedded hub).

The store's ``SqlCallBudget`` is the one to use when several processes share budgets.
"""

from __future__ import annotations

import threading
import time

from mirakl_sync.domain.call_budget import Budget, reserve_slot
from mirakl_sync.services.ports import Clock


class InMemoryCallBudget:
    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._tats: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, budget: Budget) -> float:
        with self._lock:
            wait, self._tats[key] = reserve_slot(self._tats.get(key), self._clock(), budget)
            return wait


class UnlimitedCallBudget:
    """No budget at all: for the sandbox with its limits lifted."""

    def reserve(self, key: str, budget: Budget) -> float:
        return 0.0
