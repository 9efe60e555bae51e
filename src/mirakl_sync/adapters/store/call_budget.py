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
