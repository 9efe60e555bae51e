"""Reference lists (SH21, RE01) under Mirakl's once-a-day budget (issue 9, failure 3).

A cold hub with three fulfilled orders looks the carrier list up three times at once. The
cache must send ONE SH21 call and hand its answer to all three; nobody may sleep for
tomorrow's slot; and when no slot opens within the wait bound, the last known list,
however old, is used.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import httpx
from structlog.testing import capture_logs

from mirakl_sync.adapters.call_budget import InMemoryCallBudget
from mirakl_sync.adapters.mirakl.budget_margin import MarginCallBudget
from mirakl_sync.adapters.mirakl.client import MiraklClient
from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi
from mirakl_sync.services.reference_cache import FLOW, ReferenceCache

DAY = 86_400.0
CARRIERS = {"carriers": [{"code": "DPD", "label": "DPD"}, {"code": "RM", "label": "Royal Mail"}]}
REASONS = {
    "reasons": [
        {"code": "15", "label": "Return", "type": "REFUND", "is_shop_right": True},
        {"code": "34", "label": "Out of stock", "type": "CANCELATION", "is_shop_right": True},
    ],
    "total_count": 2,
}


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ClockSleep:
    """The client's sleep: records each wait and moves the clock on by it."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        self.clock.now += seconds
        await asyncio.sleep(0)


class MemoryCursors:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], str] = {}

    def get(self, flow: str, scope: str) -> str | None:
        return self.rows.get((flow, scope))

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None:
        self.rows[(flow, scope)] = value

    def written_at(self, flow: str, scope: str) -> datetime | None:
        return None


class Mirakl:
    """A marketplace answering SH21 and RE01, counting the calls it receives."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request.url.path)
        await asyncio.sleep(0)  # let the other look-ups run while this one is in flight
        if request.url.path == "/api/shipping/carriers":
            return httpx.Response(200, json=CARRIERS)
        if request.url.path == "/api/reasons":
            return httpx.Response(200, json=REASONS)
        return httpx.Response(404, json={"message": "not here"})


def dispatch_api(mirakl: Mirakl, clock: Clock, sleep: ClockSleep, budget: Any) -> MiraklDispatchApi:
    client = MiraklClient(
        "https://debenhams-prod.mirakl.net",
        "shop-key",
        shop_id=2001,
        marketplace="debenhams",
        transport=httpx.MockTransport(mirakl),
        # The hub's real budgets: SH21 once a day (plus the one-second margin).
        call_budget=MarginCallBudget(budget),
        sleep=sleep,
    )
    return MiraklDispatchApi(client, "debenhams")


def test_concurrent_cold_carrier_lookups_send_one_sh21_and_nobody_waits_a_day() -> None:
    clock = Clock()
    sleep = ClockSleep(clock)
    mirakl = Mirakl()
    cache = ReferenceCache(MemoryCursors(), clock)

    async def main() -> list[dict[str, str] | None]:
        api = dispatch_api(mirakl, clock, sleep, InMemoryCallBudget(clock=clock))
        try:
            return list(await asyncio.gather(*(cache.carriers(api) for _ in range(3))))
        finally:
            await api.aclose()

    results = asyncio.run(main())

    assert mirakl.calls.count("/api/shipping/carriers") == 1, mirakl.calls
    assert results == [{"DPD": "DPD", "RM": "Royal Mail"}] * 3
    # Before the fix the two others slept for tomorrow's slot (86 401 s, then 172 802 s).
    assert all(seconds <= 300 for seconds in sleep.calls), sleep.calls


def test_concurrent_reason_lookups_send_one_re01() -> None:
    clock = Clock()
    sleep = ClockSleep(clock)
    mirakl = Mirakl()
    cache = ReferenceCache(MemoryCursors(), clock)

    async def main() -> list[list[str] | None]:
        api = dispatch_api(mirakl, clock, sleep, InMemoryCallBudget(clock=clock))
        try:
            return list(await asyncio.gather(*(cache.reasons(api, "REFUND") for _ in range(4))))
        finally:
            await api.aclose()

    assert asyncio.run(main()) == [["15"]] * 4
    assert mirakl.calls.count("/api/reasons") == 1, mirakl.calls


def test_a_spent_daily_slot_falls_back_to_the_last_known_list_however_old() -> None:
    clock = Clock()
    sleep = ClockSleep(clock)
    mirakl = Mirakl()
    cursors = MemoryCursors()
    ten_days_ago = clock.now - 10 * DAY
    cursors.rows[(FLOW, "debenhams:SH21")] = json.dumps(
        {"at": ten_days_ago, "data": {"RM": "Royal Mail"}}
    )
    budget = InMemoryCallBudget(clock=clock)
    # Someone (another process, or a crashed run) used today's SH21 slot a minute ago.
    clock.now -= 60
    MarginCallBudget(budget).reserve("mirakl:debenhams:2001:SH21", _daily())
    clock.now += 60
    cache = ReferenceCache(cursors, clock)

    async def main() -> dict[str, str] | None:
        api = dispatch_api(mirakl, clock, sleep, budget)
        try:
            return await cache.carriers(api)
        finally:
            await api.aclose()

    with capture_logs() as logs:
        carriers = asyncio.run(main())

    assert carriers == {"RM": "Royal Mail"}
    assert mirakl.calls == []
    assert all(seconds <= 300 for seconds in sleep.calls), sleep.calls
    stale = [entry for entry in logs if entry["event"] == "references.stale"]
    assert stale and stale[0]["scope"] == "debenhams:SH21", logs
    assert stale[0]["age_hours"] == 240.0 and stale[0]["operation"] == "SH21"


def test_a_spent_slot_with_nothing_known_gives_none_so_callers_trust_the_config() -> None:
    clock = Clock()
    sleep = ClockSleep(clock)
    mirakl = Mirakl()
    budget = InMemoryCallBudget(clock=clock)
    MarginCallBudget(budget).reserve("mirakl:debenhams:2001:SH21", _daily())
    cache = ReferenceCache(MemoryCursors(), clock)

    async def main() -> dict[str, str] | None:
        api = dispatch_api(mirakl, clock, sleep, budget)
        try:
            return await cache.carriers(api)
        finally:
            await api.aclose()

    assert asyncio.run(main()) is None
    assert mirakl.calls == [] and all(seconds <= 300 for seconds in sleep.calls)


def _daily() -> Any:
    from mirakl_sync.adapters.mirakl.budgets import budgets_for

    return budgets_for("SH21")[0]
