"""The store's call budget spaces calls across threads sharing one database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from mirakl_sync.adapters.store.call_budget import SqlCallBudget
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.domain.call_budget import Budget


def test_concurrent_reservations_get_distinct_slots(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = 1_000_000.0
    budget = SqlCallBudget(engine, clock=lambda: now)
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            waits = list(
                pool.map(lambda _: budget.reserve("mirakl:a:OR11", Budget(1, 60)), range(12))
            )
        # Twelve callers at the same instant: one goes now, the others queue a minute apart.
        assert sorted(waits) == [60.0 * i for i in range(12)]
        assert budget.reserve("mirakl:b:OR11", Budget(1, 60)) == 0.0
    finally:
        engine.dispose()


def test_try_reserve_takes_only_a_free_slot(database_url: str) -> None:
    upgrade_database(database_url)
    engine = create_store_engine(database_url)
    now = [1_000_000.0]
    budget = SqlCallBudget(engine, clock=lambda: now[0])
    daily = Budget(1, 86_400)
    try:
        assert budget.try_reserve("mirakl:a:A01", daily)
        assert not budget.try_reserve("mirakl:a:A01", daily)
        now[0] += 86_400
        assert budget.try_reserve("mirakl:a:A01", daily)
        # A refused try leaves the budget as it was: a blocking caller is not pushed back.
        assert budget.reserve("mirakl:a:A01", daily) == 86_400
    finally:
        engine.dispose()
