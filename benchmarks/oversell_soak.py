"""Benchmark: the oversell soak, 500 unique items on 3 marketplaces and the web store.

Buyers arrive at random (popular items attract more of them, so collisions are likely)
on the web store and on the three emulated marketplaces, over several simulated hours.
The same run is made twice: with the hub's 60 s stock push and with a 15-minute push
interval (the peers' cadence).

What is real and what is simulated (said plainly):

- real: the Mirakl emulator (offers, customer orders placed only on offers with stock,
  ``place_order``), the hub's ``SqlStockLedger`` (hold / commit, serialised per stock key
  in SQLite), the hub's allocation and stock diff (``desired_quantities``,
  ``plan_stock_updates``);
- simulated: the source of truth is a dict standing for Supercycle's item visibility; a
  stock push applies the planned quantities to the emulated offers directly, 2 s after
  the push (the emulator's import processing time) instead of going through HTTP; the
  order side follows the orders issue's rule with the real ledger (pull every 60 s, hold
  against the fresh source, accept and mark the item sold if the hold is granted, refuse
  otherwise) without running the order workflow itself (it is built in parallel and was
  not wired into this benchmark).

Reported: accepted orders that cannot ship (must be 0), refusals, web store sales, and
buyers who found an item already gone.

    python benchmarks/oversell_soak.py [--quick] [--json]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mirakl_sync.adapters.mirakl.emulator import EmulatedMarketplace, MiraklEmulator
from mirakl_sync.adapters.mirakl.emulator.orders import PlaceOrderError
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.adapters.store.tables import metadata
from mirakl_sync.domain.allocation import RuleBook, desired_quantities, plan_stock_updates
from mirakl_sync.domain.stock_pool import LineHold

MARKETS = ("debenhams", "sportshub", "maisonhome")
IMPORT_SECONDS = 2.0
ORDER_PULL_SECONDS = 60.0


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Tally:
    web_sales: int = 0
    marketplace_orders: int = 0
    accepted: int = 0
    refused: int = 0
    unshippable: int = 0
    buyers_found_gone: int = 0
    by_market: dict[str, dict[str, int]] = field(default_factory=dict)


def soak(
    *, items: int, hours: float, buyers_per_hour: float, push_seconds: float, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    clock = Clock()
    emulator = MiraklEmulator(
        [
            EmulatedMarketplace(code=c, name=c, api_key=f"k-{c}", shop_id=i + 1)
            for i, c in enumerate(MARKETS)
        ],
        clock=clock,
        call_frequency_scale=0,
        acceptance_window_seconds=86400,
    )
    serials = [f"SC{i:06d}" for i in range(items)]
    for code in MARKETS:
        emulator.load_offers(
            code,
            [
                {"shop_sku": s, "product_id": f"50{i:011d}", "price": 50, "quantity": 1}
                for i, s in enumerate(serials)
            ],
        )
    directory = Path(tempfile.mkdtemp(prefix="oversell-"))
    engine = create_store_engine(f"sqlite:///{directory / 'hub.db'}")
    metadata.create_all(engine)
    ledger = SqlStockLedger(engine)
    sold: dict[str, str] = {}  # serial -> who sold it (the source of truth)
    last_known: dict[str, dict[str, int | None]] = {c: dict.fromkeys(serials, 1) for c in MARKETS}
    book = RuleBook(())
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(items)]  # popular items first
    tally = Tally(by_market={c: {"orders": 0, "accepted": 0, "refused": 0} for c in MARKETS})
    accepted_serials: dict[str, int] = {}
    waiting: list[tuple[str, str, str]] = []  # (market, order id, serial) not yet decided

    events: list[tuple[float, int, str]] = []
    end = clock.now + hours * 3600
    seq = 0

    def schedule(at: float, kind: str) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(events, (at, seq, kind))

    schedule(clock.now + rng.expovariate(buyers_per_hour / 3600), "buyer")
    schedule(clock.now + push_seconds, "push")
    schedule(clock.now + ORDER_PULL_SECONDS, "pull")
    pushes_in_flight: list[tuple[float, str, dict[str, int]]] = []

    while events:
        at, _, kind = heapq.heappop(events)
        if at > end:
            break
        clock.now = at
        # Imports finish IMPORT_SECONDS after their push.
        for done in [p for p in pushes_in_flight if p[0] <= at]:
            market = emulator.market(done[1])
            for serial, quantity in done[2].items():
                market.offers[serial].quantity = quantity
            pushes_in_flight.remove(done)
        if kind == "buyer":
            schedule(at + rng.expovariate(buyers_per_hour / 3600), "buyer")
            serial = rng.choices(serials, weights)[0]
            channel = rng.choice(("web", *MARKETS))
            if channel == "web":
                # The web store reads Supercycle (and the hub's holds are not visible to it,
                # which is why the hub commits quickly): an item on hold or sold is gone.
                if serial in sold:
                    tally.buyers_found_gone += 1
                else:
                    sold[serial] = "web"
                    tally.web_sales += 1
            else:
                try:
                    order_id = emulator.place_order(channel, [(serial, 1)])
                except PlaceOrderError:
                    tally.buyers_found_gone += 1
                else:
                    tally.marketplace_orders += 1
                    tally.by_market[channel]["orders"] += 1
                    waiting.append((channel, order_id, serial))
        elif kind == "pull":
            schedule(at + ORDER_PULL_SECONDS, "pull")
            now = datetime.fromtimestamp(at, UTC)
            for channel, order_id, serial in waiting:
                outcome = ledger.hold(
                    LineHold(serial, channel, order_id, f"{order_id}-1", 1),
                    source_available=0 if serial in sold else 1,
                    now=now,
                )
                if outcome.reservation is not None:
                    # Accept, mark the item sold in Supercycle, then the hold is committed.
                    if serial in sold:
                        tally.unshippable += 1
                    sold[serial] = channel
                    ledger.commit(channel, f"{order_id}-1", now)
                    accepted_serials[serial] = accepted_serials.get(serial, 0) + 1
                    tally.accepted += 1
                    tally.by_market[channel]["accepted"] += 1
                else:
                    tally.refused += 1
                    tally.by_market[channel]["refused"] += 1
            waiting.clear()
        elif kind == "push":
            schedule(at + push_seconds, "push")
            source = {s: (0 if s in sold else 1) for s in serials}
            held = ledger.held_quantities()
            for code in MARKETS:
                desired = desired_quantities(source, held, book, {})
                changes = plan_stock_updates(desired, last_known[code])
                last_known[code].update(changes)
                if changes:
                    pushes_in_flight.append((at + IMPORT_SECONDS, code, changes))
    tally.unshippable += sum(n - 1 for n in accepted_serials.values() if n > 1)
    engine.dispose()
    return {
        "push_seconds": push_seconds,
        "items": items,
        "hours": hours,
        "buyers_per_hour": buyers_per_hour,
        "web_sales": tally.web_sales,
        "marketplace_orders": tally.marketplace_orders,
        "accepted": tally.accepted,
        "refused": tally.refused,
        "accepted_but_unshippable": tally.unshippable,
        "buyers_found_gone": tally.buyers_found_gone,
        "by_marketplace": tally.by_market,
        "items_sold": len(sold),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    hours = 2.0 if args.quick else 12.0
    common = {"items": 500, "hours": hours, "buyers_per_hour": 120.0, "seed": 11}
    result = {
        "benchmark": "oversell_soak",
        "hub_60s": soak(push_seconds=60.0, **common),
        "peers_15min": soak(push_seconds=900.0, **common),
        "order_side": "simulated with the real SqlStockLedger and the Mirakl emulator",
    }
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
