"""``MarginCallBudget``: a call budget whose slots are spaced a little wider than the spec.

The shared budget spaces calls by the spec's interval measured when the hub *reserves*
a slot, but Mirakl counts when a request *arrives*. Arrival lags reservation by a varying
time (building a large STO01 file, the network), so two calls reserved exactly 60 s apart
can arrive 59.9 s apart and the second is refused with 429, losing a whole slot. A small
margin (1 s by default) keeps arrivals at least the spec's interval apart. The wait bound
(``max_wait``) is passed on unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.services.ports import CallBudget

#: The margin at Mirakl's own periods (``call_budget_scale`` 1).
MARGIN_SECONDS = 1.0


@dataclass
class MarginCallBudget:
    inner: CallBudget
    margin_seconds: float = MARGIN_SECONDS

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        if budget.period <= 0:
            return self.inner.reserve(key, budget, max_wait=max_wait)
        return self.inner.reserve(
            key,
            Budget(budget.limit, budget.period + self.margin_seconds * budget.limit),
            max_wait=max_wait,
        )

    def calling(self, key: str) -> None:
        self.inner.calling(key)
