"""Benchmark: the oversell soak, 500 unique items on 3 marketplaces and the web store.

Buyers arrive at random (popular items attract more of them, so collisions are likely)
on the web store and on the three emulated marketplaces, over several simulated hours.
The same run is made twice: with the hub's 60 s stock push and with a 15-minute push
interval (the peers' cadence).

The hub's real code runs against the in-process sandbox (``build_sandbox`` +
``httpx.ASGITransport``: the Mirakl, Shopify and Supercycle emulators), on a FAKE clock
shared by the hub and the emulators, so 12 simulated hours run in minutes:

- orders: every ``order_poll_seconds`` (60 s) each marketplace is pulled with
  ``pull_orders`` and each order to import goes through the steps of the order workflow,
  in its order (``resolve_lines`` -> ``decide_and_hold`` -> ``create_shop_order`` ->
  ``mark_items_sold`` -> ``send_decision``; follow-ups with ``follow_up``), over an
  ``OrderServices`` from the composition root, ``Hub.order_services`` (real
  ``MiraklMarketplace``, ``ShopifyShop``, ``SupercycleInventory``, ``SqlOrderRepository``,
  ``SqlStockLedger``, ``SqlExceptionLog``, SQLite);
- stock: ``incremental_stock_cycle`` (``StockServices``; full read every
  ``shopify.reconcile_minutes``) pushes STO01 to the emulated marketplaces every push
  interval; the emulator applies an import ``import_processing_seconds`` (2 s) after it
  received it, by its clock;
- the source of truth is the Supercycle emulator: the resale items of a 100-product
  seed catalogue plus 500 pre-owned units added in the emulator on its resale variants
  (``listed_tags = ["resale"]`` keeps rentals off the marketplaces), listed by the hub's
  own offer cycle (OF01), then trimmed to exactly ``items`` listed (the other resale
  items are set ``unavailable`` in Supercycle and the hub pushes them to 0 before the
  soak starts);
- buyers: a web-store sale marks the item sold in the Supercycle emulator (as the web
  store does through Supercycle), if Supercycle still shows it available; a marketplace
  buyer places an order with the Mirakl emulator's ``place_order``, which succeeds only on
  an offer that still shows stock there.

Still simulated or bypassed (said plainly, also in the JSON under ``not_real``): the
durable engine (its scheduler runs on real time; the steps are called directly, in the
workflow's order, so crash recovery is not exercised here); time (a fake clock: the hub's
work takes no simulated time, so an import's steps happen at one instant and no web sale
can fall between two of them; the hub's own waits, e.g. Shopify query-cost pacing during a
full read, do advance it, and buyers due meanwhile act when the wait ends); the limits
lifted because time is simulated: the hub's Mirakl budgets (``call_budget_scale = 0``),
the emulator's Call Frequency 429s (``call_frequency_scale = 0``), Supercycle's 120
requests/min on both sides; the web store itself (a direct write to the Supercycle
emulator's state, no Shopify order).

Counted from the systems' final state: marketplace orders placed, accepted, refused
(Mirakl's line states after the run, with one last pull after the buyers stop so none is
left waiting), and **accepted but unshippable**: an accepted line whose item was also sold
to someone else (another accepted line or a web sale). Cross-checks: every item sold is
``sold`` in the Supercycle emulator, and every accepted order has exactly one live Shopify
order (no item in two).

The two cadences run side by side in two processes (each its own sandbox and SQLite
store), so the full run takes about as long as one.

    python benchmarks/oversell_soak.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import logging
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import structlog

from mirakl_sync.adapters.store.migrations import upgrade_database
from mirakl_sync.bootstrap import Hub, Transports, bootstrap
from mirakl_sync.config import MarketplaceSettings, SandboxSettings, Settings
from mirakl_sync.domain.orders import Action
from mirakl_sync.sandbox.hub_settings import sandbox_hub_settings, sqlite_url
from mirakl_sync.sandbox.mirakl.orders import PlaceOrderError
from mirakl_sync.sandbox.server import MARKETPLACES, build_sandbox
from mirakl_sync.services.order_followup import follow_up
from mirakl_sync.services.order_import import (
    OrderServices,
    create_shop_order,
    decide_and_hold,
    mark_items_sold,
    resolve_lines,
    send_decision,
)
from mirakl_sync.services.order_pull import pull_orders
from mirakl_sync.services.stock_cycles import (
    incremental_stock_cycle,
    offer_cycle,
    stock_cycle,
)
from mirakl_sync.services.stock_services import StockServices
from mirakl_sync.workflows.orders import pull_settings

CODES = tuple(m.code for m in MARKETPLACES)
#: Hub-side Supercycle pacing far above anything reached (time is simulated).
LIFTED_SUPERCYCLE_PER_MINUTE = 1_000_000
#: Products in the generated catalogue. Kept small because the Shopify emulator's
#: ``productVariants`` builds every variant (summing every inventory level) for each page,
#: so a full read grows with the square of the catalogue (600 products: ~90 s a read);
#: the resale items are added in the Supercycle emulator instead (:func:`add_items`).
PRODUCTS = 100
#: Pre-owned units added per run on the catalogue's resale variants, each its own item
#: (serial, condition), so more than ``items`` are available before trimming.
ADDED_ITEMS = 500
#: Mirakl line states in which the seller has not accepted the line.
NOT_ACCEPTED = {"STAGING", "WAITING_ACCEPTANCE", "REFUSED", "CANCELED"}
LIMITS_LIFTED = (
    "hub Mirakl budgets (call_budget_scale = 0); emulated Mirakl Call Frequency 429s "
    "(call_frequency_scale = 0); Supercycle 120 requests/min on the emulator "
    "(supercycle_requests_per_minute = 0) and on the hub ([supercycle] requests_per_minute "
    f"= {LIFTED_SUPERCYCLE_PER_MINUTE}): time is simulated, the real limits would make "
    "12 simulated hours take 12 real ones"
)
NOT_REAL = (
    "durable engine bypassed (the workflow's steps are called directly, in its order; "
    "no crash recovery exercised); time simulated (fake clock, hub work takes zero "
    "simulated time); web store = a direct write marking the item sold in the Supercycle "
    "emulator (no Shopify order); limits lifted as stated"
)


class FakeClock:
    """Simulated seconds since the epoch, shared by the hub and the emulators.

    ``sleep`` advances the clock instead of waiting (concurrent sleepers share one
    timeline: each wakes at max(now, its target), the clock never adds them up).
    """

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def dt(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)

    def today(self) -> date:
        return self.dt().date()

    async def sleep(self, seconds: float) -> None:
        target = self.now + max(0.0, seconds)
        await asyncio.sleep(0)
        if self.now < target:
            self.slept += target - self.now
            self.now = target


def settings_for(directory: Path, push_seconds: float) -> Settings:
    return sandbox_hub_settings(
        sqlite_url(directory),
        every_market={"call_budget_scale": 0, "stock_push_seconds": push_seconds},
        per_market={m.code: {"name": m.name} for m in MARKETPLACES},
        supercycle={
            "listed_tags": ["resale"],
            "requests_per_minute": LIFTED_SUPERCYCLE_PER_MINUTE,
        },
        sandbox_rules=True,
    )


async def order_side(
    stack: AsyncExitStack, hub: Hub, market: MarketplaceSettings, clock: FakeClock
) -> OrderServices:
    """``OrderServices`` from the composition root (``Hub.order_services``), on the fake
    clock, open until ``stack`` closes."""
    return await stack.enter_async_context(
        hub.order_services(
            market.code,
            clock=clock.dt,
            mirakl_options={"sleep": clock.sleep},
            shopify_options={"clock": clock, "sleep": clock.sleep},
            supercycle_options={"clock": clock, "sleep": clock.sleep},
            today=clock.today,
        )
    )


async def import_order(services: OrderServices, order_id: str) -> str:
    """The steps of ``workflows.orders.import_order``, in its order, without the engine."""
    bindings = await resolve_lines(services, order_id)
    outcome = await decide_and_hold(services, order_id, bindings)
    if outcome.decision.action is Action.WAIT:
        return "waiting"
    if await create_shop_order(services, order_id, bindings) == "wait":
        return "waiting"
    await mark_items_sold(services, order_id, bindings)
    return str((await send_decision(services, order_id)).value)


@dataclass
class Tally:
    web_sales: int = 0
    buyers_found_gone: int = 0
    pulls: int = 0
    stock_ticks: int = 0
    full_reads: int = 0
    imports: Counter[str] = field(default_factory=Counter)
    followups: Counter[str] = field(default_factory=Counter)
    web_sold: set[str] = field(default_factory=set)


def add_items(sandbox: Any, count: int) -> None:
    """``count`` more pre-owned items in the Supercycle emulator, spread over the
    catalogue's resale variants (as staff would add units they received)."""
    variants = sorted(v.id for p, v in sandbox.catalogue.variants() if p.channel == "resale")
    location = sandbox.catalogue.locations[0][0]
    for n in range(count):
        sandbox.supercycle.state.add_item(
            shopify_variant_id=variants[n % len(variants)],
            serial=f"SOAK{n:05d}",
            condition_id=(1, 2, 2, 3)[n % 4],
            location_shopify_id=location,
            pick_location=f"S{n // 100:02d}-{n % 100:02d}",
        )


async def prepare(
    sandbox: Any, context: StockServices, items: int
) -> tuple[list[str], dict[str, int]]:
    """Converge the hub's offers, then keep exactly ``items`` resale items listed."""
    snapshot = await context.snapshot()  # one full read serves both cycles
    await offer_cycle(context, snapshot=snapshot, track_timeout=300)
    await stock_cycle(context, snapshot=snapshot, track_timeout=300)
    resale_variants = {v.id for p, v in sandbox.catalogue.variants() if p.channel == "resale"}
    state = sandbox.supercycle.state
    resale = {
        i.serial: i.id
        for i in state.items.values()
        if i.serial and i.shopify_variant_id in resale_variants
    }
    markets = [sandbox.mirakl.market(c) for c in CODES]

    def listed() -> list[str]:
        return sorted(
            s for s in resale if all(s in m.offers and m.offers[s].quantity >= 1 for m in markets)
        )

    found = listed()
    if len(found) < items:
        raise SystemExit(
            f"only {len(found)} resale items are listed; raise ADDED_ITEMS to list {items}"
        )
    chosen = found[:items]
    for serial, item_id in resale.items():
        if serial not in chosen and state.item(item_id).visibility == "available":
            state.update_item(item_id, {"visibility": "unavailable"})
    # The hub sees them through Supercycle's ``updated`` poll, as it would any change
    # (one minute later: the poll has its own cadence, ``poll_seconds``).
    await context.sleep(60.0)
    await incremental_stock_cycle(context, track_timeout=300)
    if listed() != chosen:
        raise SystemExit(f"expected {items} listed resale items, found {len(listed())}")
    return chosen, {s: resale[s] for s in chosen}


async def soak(
    *, items: int, hours: float, buyers_per_hour: float, push_seconds: float, seed: int
) -> dict[str, Any]:
    started_wall = time.perf_counter()
    rng = random.Random(seed)
    # Start at the real present (whole second), so "today" agrees for every date rule.
    clock = FakeClock(float(int(time.time())))
    sandbox = build_sandbox(
        SandboxSettings(
            orders_per_hour=0,
            products=PRODUCTS,
            seed=seed,
            call_frequency_scale=0,
            supercycle_requests_per_minute=0,
            acceptance_window_seconds=72 * 3600,
        ),
        clock=clock,
    )
    add_items(sandbox, ADDED_ITEMS)
    directory = Path(tempfile.mkdtemp(prefix="oversell-"))
    settings = settings_for(directory, push_seconds)
    upgrade_database(settings.database_url)
    transport = httpx.ASGITransport(app=sandbox.app)
    hub = bootstrap(
        settings,
        transports=Transports(
            shopify=transport, supercycle=transport, mirakl={c: transport for c in CODES}
        ),
        clock=clock,
    )
    context = hub.stock_services(clock=clock, sleep=clock.sleep)
    stack = AsyncExitStack()
    sides = {m.code: await order_side(stack, hub, m, clock) for m in settings.marketplaces}
    tally = Tally()
    try:
        serials, item_ids = await prepare(sandbox, context, items)
        setup_wall = time.perf_counter() - started_wall
        slept_before = clock.slept
        rng.shuffle(serials)  # which items are popular
        weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(serials))]
        state = sandbox.supercycle.state

        events: list[tuple[float, int, str]] = []
        seq = 0

        def schedule(at: float, kind: str) -> None:
            nonlocal seq
            seq += 1
            heapq.heappush(events, (at, seq, kind))

        start = clock.now
        end = start + hours * 3600
        poll = min(m.order_poll_seconds for m in settings.marketplaces)
        schedule(start + poll, "pull")
        schedule(start + push_seconds, "push")
        schedule(start + rng.expovariate(buyers_per_hour / 3600), "buyer")
        while events:
            at, _, kind = heapq.heappop(events)
            if kind == "buyer" and at > end:
                continue  # buyers stop at the end; the hub runs one more pull cycle
            if at > end + poll:
                break
            clock.now = max(clock.now, at)
            sandbox.mirakl.tick()  # imports complete by the emulator's clock
            if kind == "buyer":
                schedule(at + rng.expovariate(buyers_per_hour / 3600), "buyer")
                serial = rng.choices(serials, weights)[0]
                channel = rng.choice(("web", *CODES))
                if channel == "web":
                    item = state.item(item_ids[serial])
                    if item.visibility == "available":
                        state.update_item(item.id, {"visibility": "sold"})
                        tally.web_sales += 1
                        tally.web_sold.add(serial)
                    else:
                        tally.buyers_found_gone += 1
                else:
                    try:
                        sandbox.mirakl.place_order(channel, [(serial, 1)])
                    except PlaceOrderError:
                        tally.buyers_found_gone += 1
            elif kind == "pull":
                schedule(at + poll, "pull")
                for code in CODES:
                    services = sides[code]
                    market = settings.marketplace(code)
                    result = await pull_orders(
                        services.marketplace,
                        services.repository,
                        pull_settings(market),
                        now=clock.dt(),
                    )
                    tally.pulls += 1
                    for order_id in result.imports:
                        tally.imports[await import_order(services, order_id)] += 1
                    for order_id in result.followups:
                        tally.followups[str((await follow_up(services, order_id)).value)] += 1
            elif kind == "push" and at <= end:
                schedule(at + push_seconds, "push")
                tally.full_reads += context.reconcile_due()
                await incremental_stock_cycle(context)
                tally.stock_ticks += 1
        sandbox.mirakl.tick()
        return count(
            sandbox,
            tally,
            serials,
            item_ids,
            push_seconds=push_seconds,
            items=items,
            hours=hours,
            buyers_per_hour=buyers_per_hour,
            wall={"setup": setup_wall, "total": time.perf_counter() - started_wall},
            slept=clock.slept - slept_before,
        )
    finally:
        await stack.aclose()
        hub.close()


def count(
    sandbox: Any,
    tally: Tally,
    serials: list[str],
    item_ids: dict[str, int],
    *,
    push_seconds: float,
    items: int,
    hours: float,
    buyers_per_hour: float,
    wall: dict[str, float],
    slept: float,
) -> dict[str, Any]:
    """The figures, from the emulators' final state (not from what the hub says)."""
    by_market: dict[str, dict[str, int]] = {}
    accepted_lines: Counter[str] = Counter()
    accepted_orders: dict[str, str] = {}  # order id -> serial
    placed = accepted = refused = undecided = 0
    for code in CODES:
        row = {"orders": 0, "accepted": 0, "refused": 0, "undecided": 0}
        for order in sandbox.mirakl.market(code).orders.values():
            row["orders"] += 1
            for line in order.lines:
                line_state = str(line.state)
                if line_state in ("REFUSED", "CANCELED"):
                    row["refused"] += 1
                elif line_state in NOT_ACCEPTED:
                    row["undecided"] += 1
                else:
                    row["accepted"] += 1
                    accepted_lines[line.offer_sku] += 1
                    accepted_orders[order.order_id] = line.offer_sku
        by_market[code] = row
        placed += row["orders"]
        accepted += row["accepted"]
        refused += row["refused"]
        undecided += row["undecided"]
    unshippable = 0
    for serial, n in accepted_lines.items():
        # One sale of a unique item can ship; every other accepted line cannot.
        unshippable += n - (0 if serial in tally.web_sold else 1)
    sold = set(accepted_lines) | tally.web_sold
    state = sandbox.supercycle.state
    not_marked = sorted(s for s in sold if state.item(item_ids[s]).visibility != "sold")
    shop_orders: Counter[str] = Counter()
    for record in sandbox.shopify.data.orders.values():
        if record.cancelled_at is None and record.source_identifier:
            shop_orders[record.source_identifier] += 1
    shop_items = Counter(accepted_orders[o] for o in shop_orders if o in accepted_orders)
    return {
        "push_seconds": push_seconds,
        "items": items,
        "hours": hours,
        "buyers_per_hour": buyers_per_hour,
        "web_sales": tally.web_sales,
        "marketplace_orders": placed,
        "accepted": accepted,
        "refused": refused,
        "accepted_but_unshippable": unshippable,
        "buyers_found_gone": tally.buyers_found_gone,
        "by_marketplace": by_market,
        "items_sold": len(sold),
        "undecided_at_end": undecided,
        "checks": {
            "sold_items_not_marked_sold_in_supercycle": len(not_marked),
            "accepted_orders_without_shopify_order": sum(
                1 for o in accepted_orders if shop_orders[o] == 0
            ),
            "orders_with_several_shopify_orders": sum(1 for n in shop_orders.values() if n > 1),
            "shopify_orders_of_unaccepted_orders": sum(
                1 for o in shop_orders if o not in accepted_orders
            ),
            "items_in_several_shopify_orders": sum(1 for n in shop_items.values() if n > 1),
        },
        "hub": {
            "order_pulls": tally.pulls,
            "imports": dict(tally.imports),
            "followups": dict(tally.followups),
            "stock_ticks": tally.stock_ticks,
            "full_reads": tally.full_reads,
            # Waits (pacing, retries) the hub made during the soak, in simulated seconds.
            "simulated_seconds_slept": round(slept, 1),
        },
        "wall_seconds": {k: round(v, 1) for k, v in wall.items()},
    }


def quiet() -> None:
    """The hub logs every push and order; the benchmark prints only its figures."""
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def run_soak(options: dict[str, Any]) -> dict[str, Any]:
    """One soak in this process (the two cadences run in two processes, side by side)."""
    quiet()
    return asyncio.run(soak(**options))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    hours = 1.0 if args.quick else 12.0
    common = {"items": 500, "hours": hours, "buyers_per_hour": 120.0, "seed": 11}
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        hub = pool.submit(run_soak, {"push_seconds": 60.0, **common})
        peers = pool.submit(run_soak, {"push_seconds": 900.0, **common})
        result = {
            "benchmark": "oversell_soak",
            "hub_60s": hub.result(),
            "peers_15min": peers.result(),
            "order_side": "real: pull_orders and the order_import steps over the sandbox",
            "limits_lifted": LIMITS_LIFTED,
            "not_real": NOT_REAL,
            "machine": f"{platform.machine()} {platform.system()} "
            f"Python {platform.python_version()}",
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
