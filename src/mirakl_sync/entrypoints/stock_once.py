"""``mirakl-sync sync stock|prices|offers --once``: one cycle of the flow, then exit.

Each pushes what is pending for every marketplace, waiting for the next allowed slot
rather than exceeding a budget, tracks the imports until they finish (their errors
become exceptions) and exits 0, even when some offers became exceptions. A fresh
process has no model of the source, so a stock run is a full read (the reconcile).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from mirakl_sync.bootstrap import bootstrap
from mirakl_sync.config import Settings
from mirakl_sync.services.stock_cycles import (
    ONCE_TRACK_TIMEOUT,
    CycleReport,
    offer_cycle,
    price_cycle,
    stock_cycle,
)
from mirakl_sync.services.stock_services import StockServices


def _once(
    settings: Settings,
    flow: str,
    run: Callable[[StockServices], Coroutine[Any, Any, CycleReport]],
) -> None:
    """Run one cycle and print a line per marketplace: lines sent, and lines refused."""
    hub = bootstrap(settings)
    try:
        report = asyncio.run(run(hub.stock_services()))
    finally:
        hub.close()
    sent = {p.marketplace: p.lines for p in report.pushes}
    refused: dict[str, int] = {}
    for tracked in report.tracked:
        refused[tracked.marketplace] = refused.get(tracked.marketplace, 0) + len(tracked.errors)
    for market in settings.marketplaces:
        print(
            f"{market.code}: {flow}: {sent.get(market.code, 0)} lines sent, "
            f"{refused.get(market.code, 0)} refused (see `mirakl-sync exceptions list`)",
            flush=True,
        )


def run_stock_once(settings: Settings) -> None:
    _once(settings, "stock", lambda s: stock_cycle(s, track_timeout=ONCE_TRACK_TIMEOUT))


def run_prices_once(settings: Settings) -> None:
    _once(settings, "prices", lambda s: price_cycle(s, track_timeout=ONCE_TRACK_TIMEOUT))


def run_offers_once(settings: Settings) -> None:
    _once(settings, "offers", lambda s: offer_cycle(s, track_timeout=ONCE_TRACK_TIMEOUT))
