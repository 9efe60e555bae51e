"""Benchmark: dispatch, from a fulfilment in Shopify to SHIPPED on the marketplace.

The hub's real dispatch code (``DispatchService`` over the Mirakl and Shopify clients,
the store index, the carrier map checked against SH21) runs against the in-process
sandbox, with the emulated Mirakl's Call Frequency 429s and the hub's call budgets
lifted (``call_frequency_scale = 0``, ``call_budget_scale = 0``): the figure is the hub's
own overhead. Orders are accepted and debited beforehand (not timed); fulfilments then
arrive in Shopify (emulator ``fulfil_order``) at the offered rate (10,000/hour by
default) spread over the three sandbox marketplaces. Two modes:

- ``webhook``: each fulfilment is dispatched as it arrives, as the ``fulfillments/create``
  webhook does (one ST01 + ST24 per shipment on debenhams, which has multi-shipment;
  OR23 + OR24 on sportshub and maisonhome). Latency = arrival to SHIPPED.
- ``batched``: a polling pass every ``--poll`` seconds dispatches what arrived since the
  last one with ``dispatch_many`` (ST01 batches of up to 1000 per call where available).
  Latency = arrival to SHIPPED, the wait for the next pass included.

Not included: the durable engine's checkpoints around the steps (the webhook workflow
writes one per step), and network latency to the real systems. Calls per marketplace per
minute are counted from the HTTP traffic (max over sliding 60 s windows, per operation).

    python benchmarks/dispatch_latency.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mirakl_sync.adapters.mirakl.emulator.orders import PlaceOrderError
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.adapters.store.tables import marketplace_orders
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import SandboxSettings, settings_from_mapping
from mirakl_sync.sandbox.server import MARKETPLACES, SHOPIFY_TOKEN, SUPERCYCLE_KEY, build_sandbox
from mirakl_sync.services.dispatch import DispatchStatus, Fulfilment
from mirakl_sync.workflows.dispatch import open_kit

CODES = [m.code for m in MARKETPLACES]
CARRIERS = ["Royal Mail", "DPD UK", "Royal Mail 24"]
OPERATIONS = [
    (re.compile(r"/api/orders/[^/]+/tracking$"), "PUT", "OR23"),
    (re.compile(r"/api/orders/[^/]+/ship$"), "PUT", "OR24"),
    (re.compile(r"/api/shipments$"), "POST", "ST01"),
    (re.compile(r"/api/shipments$"), "GET", "ST11"),
    (re.compile(r"/api/shipments/ship$"), "PUT", "ST24"),
    (re.compile(r"/api/orders$"), "GET", "OR11"),
    (re.compile(r"/api/shipping/carriers$"), "GET", "SH21"),
]


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to the sandbox and records (time, marketplace, operation) of Mirakl calls."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.calls: list[tuple[float, str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/mirakl/"):
            market = path.split("/")[2]
            for pattern, method, code in OPERATIONS:
                if request.method == method and pattern.search(path):
                    self.calls.append((time.monotonic(), market, code))
                    break
        return await self.inner.handle_async_request(request)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 3)}


def max_per_minute(calls: list[tuple[float, str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    by_key: dict[tuple[str, str], list[float]] = {}
    for at, market, code in calls:
        by_key.setdefault((market, code), []).append(at)
    for (market, code), stamps in sorted(by_key.items()):
        stamps.sort()
        best, start = 0, 0
        for end, at in enumerate(stamps):
            while at - stamps[start] > 60.0:
                start += 1
            best = max(best, end - start + 1)
        out.setdefault(market, {})[code] = best
    return out


class Setup:
    def __init__(self, tmp: Path, products: int) -> None:
        self.offset = [0.0]
        self.sandbox = build_sandbox(
            SandboxSettings(orders_per_hour=0, call_frequency_scale=0, products=products),
            clock=self.clock,
        )
        self.settings = settings_from_mapping(
            {
                "database_url": f"sqlite:///{tmp / 'hub.db'}",
                "shopify": {
                    "shop": "fjellrev.myshopify.com",
                    "access_token": SHOPIFY_TOKEN,
                    "base_url": "http://sandbox",
                },
                "supercycle": {
                    "base_url": "http://sandbox/supercycle/api/v1",
                    "api_key": SUPERCYCLE_KEY,
                },
                "carriers": {"Royal Mail": "RM", "DPD UK": "DPD"},
                "carrier_aliases": {"Royal Mail 24": "Royal Mail"},
                "marketplaces": [
                    {
                        "code": m.code,
                        "base_url": f"http://sandbox/mirakl/{m.code}",
                        "api_key": m.api_key,
                        "shop_id": m.shop_id,
                        "call_budget_scale": 0,
                    }
                    for m in MARKETPLACES
                ],
            },
            env={},
        )
        upgrade_database(self.settings.database_url)
        self.recorder = Recorder(httpx.ASGITransport(app=self.sandbox.app))
        transport = self.recorder
        self.hub: Hub = bootstrap(
            self.settings,
            transports=Transports(
                shopify=transport, supercycle=transport, mirakl={c: transport for c in CODES}
            ),
            clock=self.clock,
        )

    def clock(self) -> float:
        return time.time() + self.offset[0]

    async def accepted(self, market: str, sku: str) -> tuple[str, str] | None:
        try:
            order_id = self.sandbox.mirakl.place_order(market, [(sku, 1)])
        except PlaceOrderError:  # out of stock for this SKU: the caller picks another
            return None
        async with self.hub.mirakl(self.settings.marketplace(market)) as client:
            order = [o async for o in client.list_orders(order_ids=[order_id])][0]  # noqa: RUF015
            decisions = {ln.order_line_id: True for ln in order.order_lines}
            await client.accept_order(order_id, decisions)
            order = [o async for o in client.list_orders(order_ids=[order_id])][0]  # noqa: RUF015
        async with self.hub.shopify() as shop:
            created = await shop.order_create(
                {
                    "sourceIdentifier": order_id,
                    "tags": ["mirakl", market],
                    "currency": "GBP",
                    "lineItems": [
                        {
                            "sku": sku,
                            "title": sku,
                            "quantity": 1,
                            "priceSet": {"shopMoney": {"amount": "10.00", "currencyCode": "GBP"}},
                        }
                    ],
                }
            )
        stamp = datetime.fromtimestamp(self.clock(), UTC)
        with self.hub.store.engine.begin() as connection:
            connection.execute(
                marketplace_orders.insert().values(
                    marketplace=market,
                    order_id=order_id,
                    state=order.order_state,
                    hub_status="accepted",
                    created_at=stamp,
                    last_updated_at=stamp,
                    line_count=1,
                    shopify_order_id=created.id,
                    payload=order.model_dump(mode="json"),
                    first_seen_at=stamp,
                    updated_at=stamp,
                )
            )
        return order_id, created.id

    async def orders(self, count: int) -> list[tuple[str, str, str, str]]:
        """(marketplace, order id, shop GID, sku), accepted and debited."""
        stock = self.sandbox.mirakl.offers_in_stock()
        # Setup is not timed: lift Shopify's query-cost throttle while it runs.
        shopify = self.sandbox.shopify
        restore_rate, shopify.restore_rate = shopify.restore_rate, 1e9
        out: list[tuple[str, str, str, str]] = []
        attempt = 0
        while len(out) < count and attempt < count * 5:
            batch = []
            for _ in range(min(20, count - len(out))):
                market = CODES[attempt % len(CODES)]
                sku = stock[market][(attempt // len(CODES)) % len(stock[market])]
                batch.append((market, sku))
                attempt += 1
            done = await asyncio.gather(*(self.accepted(m, s) for m, s in batch))
            out += [(m, r[0], r[1], s) for (m, s), r in zip(batch, done, strict=True) if r]
        shopify.restore_rate = restore_rate
        self.offset[0] += 30  # past the emulator's debit delay: every order is SHIPPING
        return out


async def scenario(mode: str, count: int, rate_per_hour: float, poll: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        setup = Setup(Path(tmp), products=max(40, count // 6))
        orders = await setup.orders(count)
        setup.recorder.calls.clear()
        interval = 3600.0 / rate_per_hour
        latencies: dict[str, list[float]] = {c: [] for c in CODES}
        statuses: Counter[str] = Counter()
        st01_sizes: list[int] = []
        pending: list[tuple[float, str, Fulfilment]] = []
        started = time.monotonic()

        async with open_kit(setup.hub, clock=setup.clock) as kit:
            # SH21 is cached daily: warm it as a running hub has.
            await asyncio.gather(
                *(kit.dispatch._references.carriers(kit.dispatch._apis(c)) for c in CODES)
            )
            original = kit.dispatch._apis
            wrapped: dict[str, Any] = {}

            def counting(code: str) -> Any:
                if code in wrapped:
                    return wrapped[code]
                api = wrapped[code] = original(code)
                create = api.create_shipments

                async def create_shipments(items: list[dict[str, Any]]) -> Any:
                    st01_sizes.append(len(items))
                    return await create(items)

                api.create_shipments = create_shipments  # type: ignore[method-assign]
                return api

            kit.dispatch._apis = counting  # type: ignore[assignment]

            async def one(arrived: float, market: str, f: Fulfilment) -> None:
                [result] = await kit.dispatch.dispatch_many([f])
                finish(arrived, market, result.status)

            def finish(arrived: float, market: str, status: DispatchStatus) -> None:
                statuses[status.value] += 1
                if status == DispatchStatus.SHIPPED:
                    latencies[market].append(time.monotonic() - arrived)

            async def poller(stop: Callable[[], bool]) -> None:
                while True:
                    await asyncio.sleep(poll)
                    batch, pending[:] = list(pending), []
                    if batch:
                        results = await kit.dispatch.dispatch_many([f for _, _, f in batch])
                        for (arrived, market, _), r in zip(batch, results, strict=True):
                            finish(arrived, market, r.status)
                    if stop() and not pending:
                        return

            tasks: list[asyncio.Task[None]] = []
            arrivals_done = False
            poll_task = (
                asyncio.create_task(poller(lambda: arrivals_done)) if mode == "batched" else None
            )
            for i, (market, _order_id, shop, sku) in enumerate(orders):
                delay = started + i * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                carrier = CARRIERS[i % len(CARRIERS)]
                gid = setup.sandbox.shopify.fulfil_order(shop, carrier, f"TRK{i:06d}")
                arrived = time.monotonic()
                f = Fulfilment(
                    source_id=f"shopify-fulfillment:{gid.rsplit('/', 1)[-1]}",
                    shopify_order_id=shop,
                    skus={sku: 1},
                    carrier=carrier,
                    tracking_number=f"TRK{i:06d}",
                )
                if mode == "webhook":
                    tasks.append(asyncio.create_task(one(arrived, market, f)))
                else:
                    pending.append((arrived, market, f))
            arrivals_done = True
            await asyncio.gather(*tasks)
            if poll_task is not None:
                await poll_task
        elapsed = time.monotonic() - started
        shipped = sum(
            1
            for market, order_id, _, _ in orders
            if setup.sandbox.mirakl.market(market).orders[order_id].state.value == "SHIPPED"
        )
        calls = setup.recorder.calls
        setup.hub.close()
    everything = [x for v in latencies.values() for x in v]
    return {
        "mode": mode,
        "shipments": len(orders),
        "offered_per_hour": rate_per_hour,
        "elapsed_seconds": round(elapsed, 1),
        "shipped_on_marketplace": shipped,
        "statuses": dict(statuses),
        "latency_seconds": percentiles(everything),
        "latency_by_marketplace": {c: percentiles(v) for c, v in latencies.items()},
        "st01_calls": len(st01_sizes),
        "st01_mean_batch": round(sum(st01_sizes) / len(st01_sizes), 1) if st01_sizes else 0,
        "calls_total": dict(Counter(f"{m}:{c}" for _, m, c in calls)),
        "max_calls_per_minute": max_per_minute(calls),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rate", type=float, default=10_000.0, help="fulfilments per hour")
    parser.add_argument("--poll", type=float, default=5.0, help="batched mode: seconds a pass")
    parser.add_argument("--count", type=int, default=None)
    args = parser.parse_args(argv)
    count = args.count or (60 if args.quick else 600)
    result = {
        "benchmark": "dispatch_latency",
        "webhook": asyncio.run(scenario("webhook", count, args.rate, args.poll)),
        "batched": asyncio.run(scenario("batched", count, args.rate, args.poll)),
        "targets": {"hub_overhead_p99_seconds": 2.0, "offered_per_hour": 10_000},
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
