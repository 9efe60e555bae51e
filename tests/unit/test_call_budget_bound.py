"""No unbounded wait on a call budget (issue 9): the bound, and what happens past it.

A Mirakl call waits for its budget slots ``max_budget_wait`` seconds at most. A short
budget's slot within the bound is reserved and slept on; a once-a-day slot is only taken
when free, and one opening within the bound is waited for without holding it. Past the
bound the call is not made and ``CallBudgetExhaustedError`` names the operation, the
marketplace and when the next slot opens.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import httpx
import pytest

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.config import MarketplaceSettings
from mirakl_sync.domain.call_budget import Budget, hold_limit, reserve_slot
from mirakl_sync.errors import CallBudgetExhaustedError, RetryableError

DAY = 86_400.0
NOW = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class ClockSleep:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.now += seconds


def make_client(
    clock: Clock, sleep: ClockSleep, calls: list[str], budget: InMemoryCallBudget, bound: float
) -> MiraklClient:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        if request.url.path == "/api/account":
            return httpx.Response(200, json={"shop_id": 2001, "shop_name": "Fjellrev"})
        return httpx.Response(200, json={"orders": [], "total_count": 0})

    return MiraklClient(
        "https://debenhams-prod.mirakl.net",
        "shop-key",
        shop_id=2001,
        marketplace="debenhams",
        transport=httpx.MockTransport(handler),
        call_budget=budget,
        sleep=sleep,
        max_budget_wait=bound,
    )


# ---------------------------------------------------------------------- domain


def test_a_short_budget_may_be_held_within_the_bound_a_long_one_only_when_free() -> None:
    minute, daily = Budget(1, 60), Budget(1, DAY)
    assert hold_limit(minute, 300) == 300
    assert hold_limit(daily, 300) == 0.0
    assert hold_limit(daily, None) == math.inf  # no bound: the queueing of old
    assert reserve_slot(NOW + 120, NOW, minute, 300).taken
    beyond = reserve_slot(NOW + 301, NOW, minute, 300)
    assert not beyond.taken and beyond.wait == 301 and beyond.tat == NOW + 301
    assert not reserve_slot(NOW + 10, NOW, daily, 300).taken
    assert reserve_slot(NOW - 1, NOW, daily, 300) == reserve_slot(None, NOW, daily, 300)


# ---------------------------------------------------------------------- the client


def test_a_spent_once_a_day_slot_raises_at_once_naming_op_market_and_slot() -> None:
    clock, calls = Clock(), []
    sleep = ClockSleep(clock)
    budget = InMemoryCallBudget(clock=clock)
    budget.reserve("mirakl:debenhams:2001:A01", Budget(1, DAY))  # today's slot, spent

    async def main() -> None:
        async with make_client(clock, sleep, calls, budget, 300) as client:
            await client.account()

    with pytest.raises(CallBudgetExhaustedError) as raised:
        asyncio.run(main())

    error = raised.value
    assert isinstance(error, RetryableError)  # flows treat it as "try again later"
    assert (error.operation, error.marketplace) == ("A01", "debenhams")
    assert error.next_slot == datetime.fromtimestamp(NOW + DAY, UTC)
    text = str(error)
    assert "debenhams" in text and "A01" in text and "once per day" in text
    assert "2023-11-15 22:13 UTC" in text and "max_budget_wait_seconds" in text
    assert calls == [] and sleep.calls == []
    # Refused, the budget is as it was: the next slot is still tomorrow, not later.
    clock.now += DAY
    assert budget.reserve("mirakl:debenhams:2001:A01", Budget(1, DAY), max_wait=0) == 0.0


def test_a_once_a_day_slot_opening_within_the_bound_is_waited_for_not_held() -> None:
    clock, calls = Clock(), []
    sleep = ClockSleep(clock)
    budget = InMemoryCallBudget(clock=clock)
    clock.now -= DAY - 100  # the slot was used 23 h 58 min ago: it opens in 100 s
    budget.reserve("mirakl:debenhams:2001:A01", Budget(1, DAY))
    clock.now = NOW

    async def main() -> str | None:
        async with make_client(clock, sleep, calls, budget, 300) as client:
            return (await client.account()).shop_name

    assert asyncio.run(main()) == "Fjellrev"
    assert sleep.calls == [100.0] and calls == ["/api/account"]


def test_a_short_budget_queues_within_the_bound_and_raises_past_it() -> None:
    clock, calls = Clock(), []
    sleep = ClockSleep(clock)
    budget = InMemoryCallBudget(clock=clock)
    for _ in range(4):  # four other callers hold the next four OR11 slots
        budget.reserve("mirakl:debenhams:2001:OR11", Budget(1, 60))

    async def pull() -> None:
        async with make_client(clock, sleep, calls, budget, 300) as client:
            async for _ in client.list_orders():
                pass

    asyncio.run(pull())  # the fifth slot, 240 s away: within the bound
    assert sleep.calls == [240.0]

    frozen = InMemoryCallBudget(clock=Clock())
    for _ in range(6):
        frozen.reserve("mirakl:debenhams:2001:OR11", Budget(1, 60))
    sleep.calls.clear()

    async def late_pull() -> None:
        async with make_client(clock, sleep, calls, frozen, 300) as client:
            async for _ in client.list_orders():
                pass

    with pytest.raises(CallBudgetExhaustedError) as raised:
        asyncio.run(late_pull())  # the seventh slot is 360 s away
    assert raised.value.operation == "OR11" and sleep.calls == []


def test_the_bound_is_a_marketplace_setting_with_a_default_of_five_minutes() -> None:
    market = MarketplaceSettings(code="debenhams", base_url="https://x", api_key="k")
    assert market.max_budget_wait_seconds == 300.0
    assert (
        MarketplaceSettings(
            code="debenhams", base_url="https://x", api_key="k", max_budget_wait_seconds=30
        ).max_budget_wait_seconds
        == 30.0
    )
