"""The margin on Mirakl budgets: slots a little wider than the spec, never narrower."""

from __future__ import annotations

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.mirakl.budget_margin import MarginCallBudget
from mirakl_sync.domain.call_budget import Budget


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_slots_are_spaced_by_the_period_plus_the_margin() -> None:
    clock = Clock()
    budget = MarginCallBudget(InMemoryCallBudget(clock=clock), margin_seconds=1.0)
    assert budget.reserve("k", Budget(1, 60.0)) == 0.0
    assert budget.reserve("k", Budget(1, 60.0)) == 61.0


def test_a_lifted_budget_stays_lifted() -> None:
    clock = Clock()
    budget = MarginCallBudget(InMemoryCallBudget(clock=clock), margin_seconds=1.0)
    assert [budget.reserve("k", Budget(1, 0.0)) for _ in range(3)] == [0.0, 0.0, 0.0]
