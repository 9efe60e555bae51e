"""Dispatch under SH21's real once-a-day budget (issue 9, failure 3).

Three parcels of a cold hub (no carrier list cached) are dispatched together, as
``sync shipments --once`` does. Before the fix the three carrier look-ups each missed the
cache: one SH21 went out and the two others slept for tomorrow's slots, so the pass hung.
Now one SH21 serves all three; and with the day's slot already spent and no list known,
the parcels still ship with the configured codes.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from dispatch_env import Env, run, with_kit

from mirakl_sync.adapters.mirakl.budget_margin import MarginCallBudget
from mirakl_sync.adapters.mirakl.budgets import budget_key, budgets_for
from mirakl_sync.sandbox.server import MARKETPLACES
from mirakl_sync.services.dispatch_types import DispatchStatus
from mirakl_sync.workflows.dispatch import fulfilment_from_shopify

#: Only keeps a broken pass from hanging the suite (it used to sleep a day); not a timing.
HANG_GUARD_SECONDS = 120


class CountingTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        # A real network answers later; the in-process app would answer before the other
        # look-ups start, hiding the race the CLI meets.
        await asyncio.sleep(0.05)
        return await self.inner.handle_async_request(request)


def three_fulfilled_orders(tmp_path: Path) -> tuple[Env, CountingTransport, list[str]]:
    holder: dict[str, CountingTransport] = {}

    class Lazy(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await holder["t"].handle_async_request(request)

    env = Env(tmp_path, mirakl_transport=Lazy())
    holder["t"] = CountingTransport(env.transport)
    shops = []
    for index in range(3):
        sku = env.offer_skus("debenhams")[index]
        _, shop = run(env.accepted_order("debenhams", [(sku, 1)]))
        env.sandbox.shopify.fulfil_order(shop, "Royal Mail", f"RM10000000{index}GB")
        shops.append(shop)
    # From here on the hub obeys Mirakl's real Call Frequency (SH21: once a day).
    env.reconfigure(
        marketplaces=[
            m.model_copy(update={"call_budget_scale": 1.0}) for m in env.settings.marketplaces
        ]
    )
    return env, holder["t"], shops


def dispatch_all(env: Env, shops: list[str]) -> list[Any]:
    async def body(kit: Any) -> list[Any]:
        fulfilments = []
        for shop in shops:
            fs = await kit.shop.fulfillments(shop)
            fulfilments.append(fulfilment_from_shopify(shop, fs[-1]))
        return list(
            await asyncio.wait_for(kit.dispatch.dispatch_many(fulfilments), HANG_GUARD_SECONDS)
        )

    return list(run(with_kit(env, body)))


def sh21_paths(transport: CountingTransport) -> list[str]:
    return [p for p in transport.paths if p.endswith("/api/shipping/carriers")]


def test_three_parcels_of_a_cold_hub_share_one_sh21_and_ship(tmp_path: Path) -> None:
    env, transport, shops = three_fulfilled_orders(tmp_path)
    try:
        results = dispatch_all(env, shops)
        assert [r.status for r in results] == [DispatchStatus.SHIPPED] * 3, results
        assert len(sh21_paths(transport)) == 1, transport.paths
    finally:
        env.close()


def test_with_the_days_sh21_spent_and_no_list_known_the_parcels_ship_on_the_config(
    tmp_path: Path,
) -> None:
    env, transport, shops = three_fulfilled_orders(tmp_path)
    try:
        shop_id = next(m.shop_id for m in MARKETPLACES if m.code == "debenhams")
        # Another process used today's SH21 slot (and crashed before storing the list).
        MarginCallBudget(env.hub.store.call_budget).reserve(
            budget_key("debenhams", shop_id, "SH21"), budgets_for("SH21")[0]
        )
        results = dispatch_all(env, shops)
        assert [r.status for r in results] == [DispatchStatus.SHIPPED] * 3, results
        assert sh21_paths(transport) == []
        shipments = env.sandbox.mirakl.market("debenhams").shipments.values()
        assert {s.tracking["carrier_code"] for s in shipments} == {"RM"}
    finally:
        env.close()
