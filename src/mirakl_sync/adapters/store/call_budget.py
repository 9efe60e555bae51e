"""Call budgets shared by every process through the store.

One atomic ``UPDATE ... RETURNING`` advances a budget's next free slot, so any number
of workers on one database can never call an endpoint more often than its budget.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine, func, insert, update
from sqlalchemy.exc import IntegrityError

from mirakl_sync.adapters.store.tables import call_budgets
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.errors import MiraklSyncError
from mirakl_sync.services.ports import Clock


class SqlCallBudget:
    def __init__(self, engine: Engine, clock: Clock = time.time) -> None:
        self._engine = engine
        self._clock = clock
        self._greatest = func.max if engine.dialect.name == "sqlite" else func.greatest

    def reserve(self, key: str, budget: Budget) -> float:
        now = self._clock()
        interval = budget.interval
        statement = (
            update(call_budgets)
            .where(call_budgets.c.key == key)
            .values(tat=self._greatest(call_budgets.c.tat, now) + interval)
            .returning(call_budgets.c.tat)
        )
        with self._engine.begin() as connection:
            new_tat = connection.execute(statement).scalar_one_or_none()
        if new_tat is None:
            try:
                with self._engine.begin() as connection:
                    connection.execute(insert(call_budgets).values(key=key, tat=now + interval))
                return 0.0
            except IntegrityError:
                # Another process created the row first: take the next slot after its call.
                return self.reserve(key, budget)
        return max(0.0, float(new_tat) - interval - now)

    def try_reserve(self, key: str, budget: Budget) -> bool:
        """Take a slot only if one is free right now; never queue behind others."""
        now = self._clock()
        statement = (
            update(call_budgets)
            .where(call_budgets.c.key == key)
            .where(call_budgets.c.tat <= now)
            .values(tat=now + budget.interval)
        )
        with self._engine.begin() as connection:
            if connection.execute(statement).rowcount == 1:
                return True
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(call_budgets).values(key=key, tat=now + budget.interval))
        except IntegrityError:
            return False  # the budget exists and its next slot is in the future
        return True


class BudgetBusy(MiraklSyncError):
    """The call budget has no free slot now."""


class NonBlockingCallBudget:
    """For one-off calls (``doctor``): take a free slot or raise ``BudgetBusy``, never wait.

    Waiting would be wrong for an interactive command (a once-a-day endpoint could block
    for hours), and skipping the budget would let ``doctor`` exceed Mirakl's limits.
    """

    def __init__(self, inner: SqlCallBudget) -> None:
        self._inner = inner

    def reserve(self, key: str, budget: Budget) -> float:
        if not self._inner.try_reserve(key, budget):
            raise BudgetBusy(f"{key} allows {budget}; its slot is taken by an earlier call")
        return 0.0
