"""Ports: the narrow interfaces services use to reach the outside world.

Unprefixed nouns are the ports; implementations are named for what they are
(``SqlCallBudget``, ``InMemoryCallBudget``, ``MiraklClient`` ...).
"""

from __future__ import annotations

from typing import Protocol

from mirakl_sync.domain.call_budget import Budget


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (``time.time`` in production, a fake in tests)."""
        ...


class CallBudget(Protocol):
    """A call budget shared by every process that calls the same endpoint."""

    def reserve(self, key: str, budget: Budget) -> float:
        """Take the next slot of ``key``'s budget; return how many seconds to wait before calling."""
        ...
