"""Call budgets and reference look-ups shared by several processes on one database.

Each "process" here is its own SQLAlchemy engine (its own connection pool) on the same
SQLite file or PostgreSQL database, as two hub processes would be.

- A process that dies while it waits for a once-a-day slot must not push the slot out:
  before issue 9 it had reserved tomorrow's slot, and every crash added a day.
- Two processes that miss the same cached list at the same time send ONE request; the
  other gets the answer from the store.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from mirakl_sync.adapters.mirakl.budget_margin import MarginCallBudget
from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi
from mirakl_sync.adapters.store.call_budget import SqlCallBudget, SqlClaims
from mirakl_sync.adapters.store.cursors import SqlCursors
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.tables import call_budgets
from mirakl_sync.errors import CallBudgetExhaustedError
from mirakl_sync.services.reference_cache import ReferenceCache

DAY = 86_400.0
SH21_KEY = "mirakl:debenhams:2001:SH21"
CARRIERS = {"carriers": [{"code": "DPD", "label": "DPD"}]}
REASONS = {"reasons": [{"code": "15", "label": "Return", "type": "REFUND", "is_shop_right": True}]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


class ProcessDied(BaseException):
    """The process is killed while it sleeps (nothing after this line runs in it)."""


class Mirakl:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.calls: list[str] = []
        self.delay = delay

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        # In flight for a moment, so the other process looks the list up meanwhile.
        await asyncio.sleep(self.delay)
        if request.url.path == "/api/shipping/carriers":
            return httpx.Response(200, json=CARRIERS)
        return httpx.Response(200, json=REASONS)


@pytest.fixture
def engines(database_url: str) -> Iterator[tuple[Engine, Engine, Engine]]:
    upgrade_database(database_url)
    made = tuple(create_store_engine(database_url) for _ in range(3))
    try:
        yield made  # type: ignore[misc]
    finally:
        for engine in made:
            engine.dispose()


def client(engine: Engine, clock: Clock, mirakl: Mirakl, sleep: Any) -> MiraklClient:
    return MiraklClient(
        "https://debenhams-prod.mirakl.net",
        "shop-key",
        shop_id=2001,
        marketplace="debenhams",
        transport=httpx.MockTransport(mirakl),
        call_budget=MarginCallBudget(SqlCallBudget(engine, clock=clock)),
        sleep=sleep,
        max_retries=0,
    )


def stored_tat(engine: Engine) -> float:
    with engine.connect() as connection:
        return float(
            connection.execute(
                select(call_budgets.c.tat).where(call_budgets.c.key == SH21_KEY)
            ).scalar_one()
        )


def test_a_process_that_dies_waiting_for_a_daily_slot_does_not_push_it_out(
    engines: tuple[Engine, Engine, Engine],
) -> None:
    first, second, third = engines
    clock = Clock()
    mirakl = Mirakl()
    sleeps: list[float] = []

    async def never_wakes(seconds: float) -> None:
        sleeps.append(seconds)
        raise ProcessDied

    async def wakes(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    async def carriers(engine: Engine, sleep: Any) -> Any:
        async with client(engine, clock, mirakl, sleep) as mirakl_client:
            return await mirakl_client.carriers()

    asyncio.run(carriers(first, wakes))  # today's SH21: the slot opens again in a day
    slot_after_first = stored_tat(first)
    assert slot_after_first == pytest.approx(clock.now + DAY + 1, abs=0.01)

    # The second process finds the slot spent. Before the fix it reserved tomorrow's slot
    # and slept on it; killed in its sleep, it left the budget two days ahead.
    with contextlib.suppress(ProcessDied, CallBudgetExhaustedError):
        asyncio.run(carriers(second, never_wakes))
    assert stored_tat(third) == pytest.approx(slot_after_first, abs=0.01)

    # A day later the third process gets its call at once.
    clock.now = slot_after_first
    assert asyncio.run(carriers(third, wakes))[0].code == "DPD"
    assert mirakl.calls.count("/api/shipping/carriers") == 2
    assert all(seconds <= 300 for seconds in sleeps), sleeps


def cache(engine: Engine, clock: Clock) -> ReferenceCache:
    return ReferenceCache(
        SqlCursors(engine), clock, claims=SqlClaims(engine, clock=clock), poll_seconds=0.02
    )


@pytest.mark.parametrize("lookup", ["carriers", "reasons"])
def test_two_processes_missing_the_same_list_send_one_request(
    engines: tuple[Engine, Engine, Engine], lookup: str
) -> None:
    first, second, _ = engines
    clock = Clock()
    mirakl = Mirakl(delay=0.3)
    sleeps: list[float] = []

    async def wakes(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += seconds

    async def look_up(engine: Engine, start_after: float) -> Any:
        await asyncio.sleep(start_after)
        references = cache(engine, clock)
        api = MiraklDispatchApi(client(engine, clock, mirakl, wakes), "debenhams")
        try:
            if lookup == "carriers":
                return await references.carriers(api)
            return await references.reasons(api, "REFUND")
        finally:
            await api.aclose()

    async def both() -> list[Any]:
        return list(await asyncio.gather(look_up(first, 0.0), look_up(second, 0.05)))

    results = asyncio.run(both())

    expected = {"DPD": "DPD"} if lookup == "carriers" else ["15"]
    assert results == [expected, expected]
    assert len(mirakl.calls) == 1, mirakl.calls
    assert all(seconds <= 300 for seconds in sleeps), sleeps
