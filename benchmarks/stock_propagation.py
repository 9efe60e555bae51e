"""Benchmark: stock propagation, from a change at the source to every sandbox marketplace.

The hub's real code runs against the in-process sandbox: the INCREMENTAL stock cycle
(``incremental_stock_cycle``: dirty keys from Shopify ``inventory_levels/update`` webhooks,
re-read key by key, plan, one STO01 per marketplace, the Mirakl client and its budgets),
with the full read only at start-up (the reconcile). A change is a Shopify ``available``
edit in the emulator; the emulator delivers its webhook to the hub's webhook callback
(``inventory_webhook_handler``) in-process, as Shopify would over HTTP. Two runs:

- ``real_budget``: Mirakl's real budgets (one STO01 a minute per marketplace) on both the
  hub and the emulator. Waits are on a *hybrid clock*: real elapsed time plus the seconds
  the hub sleeps (budget waits, the 60 s tick) skipped instantly, so an hour of cadence
  runs in seconds while every bit of hub work counts at its real duration. A change
  happens at a random time; it is *visible* when all three marketplaces show the new
  quantity (the emulator completes an import 2 s after it is received).
- ``lifted``: budgets lifted on both sides, real clock, the stock tick every 1 s
  (``stock_push_seconds = 1``).
  *Hub overhead* = from the change to the last of the three STO01 files carrying it
  being accepted (the marketplace's own import processing excluded).

Calls per marketplace per minute are counted from the recorded HTTP traffic (sliding
60 s windows, per operation) and compared with the spec's maximum; any 429 is reported.

    python benchmarks/stock_propagation.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import structlog

from mirakl_sync.adapters.mirakl.budgets import CALL_BUDGETS
from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Transports, bootstrap
from mirakl_sync.config import SandboxSettings, Settings
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings, sqlite_url
from mirakl_sync.sandbox.server import MARKETPLACES, build_sandbox
from mirakl_sync.sandbox.shopify import WebhookMessage
from mirakl_sync.services.stock_cycles import incremental_stock_cycle, offer_cycle, stock_cycle
from mirakl_sync.workflows.stock import inventory_webhook_handler

CODES = [m.code for m in MARKETPLACES]
OPERATIONS = {"/offers/stock/imports": "STO01", "/offers/imports": "OF01"}
SHOPIFY_PATH = "/admin/api/2026-10/graphql.json"
#: The stock tick: every 60 s with the real budget, every 1 s with it lifted.
TICK_SECONDS = {False: 60.0, True: 1.0}


class HybridClock:
    """Real elapsed time plus skipped sleeps."""

    def __init__(self) -> None:
        self.start_real = time.perf_counter()
        self.base = time.time()
        self.skipped = 0.0

    def __call__(self) -> float:
        return self.base + (time.perf_counter() - self.start_real) + self.skipped

    async def sleep(self, seconds: float) -> None:
        # Concurrent sleepers share one timeline: wake at max(now, target), never the sum.
        target = self() + max(0.0, seconds)
        await asyncio.sleep(0)
        if self() < target:
            self.skipped += target - self()


@dataclass
class Recording(httpx.AsyncBaseTransport):
    inner: httpx.AsyncBaseTransport
    clock: Any
    calls: list[tuple[float, str, str, str, int]] = field(default_factory=list)
    shopify_calls: int = 0
    #: (time, marketplace, body) of every accepted STO01.
    stock_files: list[tuple[float, str, str]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        path = request.url.path
        if path == SHOPIFY_PATH:
            self.shopify_calls += 1
        if path.startswith("/mirakl/"):
            code, rest = path[len("/mirakl/") :].split("/api", 1) if "/api" in path else (path, "")
            self.calls.append((self.clock(), code, request.method, rest, response.status_code))
            if rest == "/offers/stock/imports" and response.status_code == 201:
                body = (await request.aread()).decode(errors="replace")
                self.stock_files.append((self.clock(), code, body))
        return response


def settings_for(directory: Path, *, lifted: bool) -> Settings:
    return sandbox_hub_settings(
        sqlite_url(directory),
        every_market={
            "call_budget_scale": 0 if lifted else 1,
            "stock_push_seconds": TICK_SECONDS[lifted],
        },
        supercycle={"listed_tags": ["resale"]},
    )


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"p50": pick(0.5), "p95": pick(0.95), "p99": pick(0.99), "max": round(ordered[-1], 3)}


def max_per_window(calls: list[tuple[float, str, str, str, int]], window: float) -> dict[str, int]:
    """Most calls of each (marketplace, operation) in any ``window`` seconds."""
    by_key: dict[str, list[float]] = {}
    for at, code, method, rest, status in calls:
        if status == 429:
            continue  # refused calls are reported apart; Mirakl did not serve them
        op = OPERATIONS.get(rest) if method == "POST" else None
        if op is None and rest.endswith("/status") and "stock/imports" in rest:
            op = "STO02"
        if op is None:
            continue
        by_key.setdefault(f"{code}:{op}", []).append(at)
    out: dict[str, int] = {}
    for key, times in by_key.items():
        times.sort()
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - window:
                j += 1
            best = max(best, i - j + 1)
        out[key] = best
    return out


def spec_max_per_minute(operation: str) -> float:
    return min(b.limit * 60.0 / b.period for b in CALL_BUDGETS[operation])


async def scenario(*, lifted: bool, changes: int, products: int, seed: int) -> dict[str, Any]:
    clock: Any = time.time if lifted else HybridClock()
    sleep = asyncio.sleep if lifted else clock.sleep
    sandbox = build_sandbox(
        SandboxSettings(
            orders_per_hour=0, products=products, seed=seed, call_frequency_scale=0 if lifted else 1
        ),
        clock=clock,
    )
    directory = Path(tempfile.mkdtemp(prefix="stock-propagation-"))
    settings = settings_for(directory, lifted=lifted)
    upgrade_database(settings.database_url)
    recording = Recording(httpx.ASGITransport(app=sandbox.app), clock)
    hub = bootstrap(
        settings,
        transports=Transports(
            shopify=recording, supercycle=recording, mirakl={c: recording for c in CODES}
        ),
        clock=clock,
    )
    context = hub.stock_services(clock=clock, sleep=sleep)
    handler = inventory_webhook_handler(hub.store.engine, clock=clock)

    async def deliver(message: WebhookMessage) -> None:
        handler(message.topic, message.payload(), message.headers)

    rng = random.Random(seed)
    try:
        await offer_cycle(context, track_timeout=300)  # converge the seeded offers first
        await stock_cycle(context)  # the start-up full read (the reconcile)
        sandbox.shopify.webhook_sender = deliver
        sandbox.shopify.subscribe("INVENTORY_LEVELS_UPDATE", "http://hub/webhooks/shopify")
        shopify_before = recording.shopify_calls
        full_reads = 0
        skus = [v.sku for p, v in sandbox.catalogue.variants() if p.channel == "new"]
        latencies: list[float] = []
        snapshot_seconds: list[float] = []
        pending: list[tuple[float, str, int]] = []
        made = 0
        next_change = clock() + rng.uniform(0, 30)
        tick = TICK_SECONDS[lifted]
        next_tick = clock() + tick
        stop_at = None
        while made < changes or pending:
            now = clock()
            if made < changes and now >= next_change:
                sku = rng.choice([s for s in skus if s not in {p[1] for p in pending}])
                record = next(v for v in sandbox.shopify.data.variants.values() if v.sku == sku)
                current = sandbox.shopify.data.levels.get((record.inventory_item_id, 70001), 0)
                # A "change" to the value already there changes nothing: nothing to push.
                quantity = rng.choice([q for q in range(1, 30) if q != current])
                sandbox.shopify.set_available(sku, 70001, quantity)
                total = quantity + sum(
                    q
                    for loc, q in sandbox.catalogue.variant_by_sku(sku)[1].inventory.items()
                    if loc != 70001
                )
                pending.append((now, sku, total))
                made += 1
                next_change = now + (rng.uniform(0.05, 0.6) if lifted else rng.uniform(5, 40))
            if now >= next_tick:
                started = time.perf_counter()
                full_reads += context.reconcile_due()
                await incremental_stock_cycle(context)
                snapshot_seconds.append(time.perf_counter() - started)
                next_tick = max(next_tick + tick, clock())
            sandbox.mirakl.tick()
            still: list[tuple[float, str, int]] = []
            for at, sku, total in pending:
                if lifted:
                    # Accepted: every marketplace took a STO01 carrying the new value.
                    line = re.compile(rf'(^|\n)"?{re.escape(sku)}"?;"?{total}"?;')
                    firsts = [
                        next(
                            (
                                t
                                for t, c, body in recording.stock_files
                                if t >= at and c == code and line.search(body)
                            ),
                            None,
                        )
                        for code in CODES
                    ]
                    if all(t is not None for t in firsts):
                        latencies.append(max(t for t in firsts if t is not None) - at)
                        continue
                elif all(sandbox.mirakl.market(c).offers[sku].quantity == total for c in CODES):
                    latencies.append(clock() - at)
                    continue
                still.append((at, sku, total))
            pending = still
            if lifted:
                await asyncio.sleep(0.01)
            else:
                await sleep(1.0)
            if stop_at is None and made >= changes:
                stop_at = clock() + (30 if lifted else 400)
            if stop_at is not None and clock() > stop_at:
                break
        windows = max_per_window(recording.calls, 60.0)
        over = (
            {}
            if lifted  # budgets lifted on purpose: the spec's maximum is not the point here
            else {k: v for k, v in windows.items() if v > spec_max_per_minute(k.split(":")[1])}
        )
        return {
            "changes": made,
            "measured": len(latencies),
            "latency_seconds": percentiles(latencies),
            "cycle_seconds_real": percentiles(snapshot_seconds),
            "stock_ticks": len(snapshot_seconds),
            "full_reads_after_start": full_reads,
            "shopify_calls_after_start": recording.shopify_calls - shopify_before,
            "max_calls_per_60s": windows,
            "over_spec_maximum": over,
            "http_429": sum(1 for c in recording.calls if c[4] == 429),
            "http_429_calls": [f"{c[1]} {c[2]} {c[3]}" for c in recording.calls if c[4] == 429],
        }
    finally:
        hub.close()


def main(argv: list[str] | None = None) -> int:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--products", type=int, default=30)
    args = parser.parse_args(argv)
    changes = 15 if args.quick else 100
    result = {
        "benchmark": "stock_propagation",
        "products": args.products,
        "real_budget": asyncio.run(
            scenario(lifted=False, changes=changes, products=args.products, seed=1)
        ),
        "lifted": asyncio.run(
            scenario(lifted=True, changes=changes, products=args.products, seed=2)
        ),
        "targets": {"real_budget_p99_seconds": 70.0, "lifted_overhead_p99_seconds": 2.0},
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
