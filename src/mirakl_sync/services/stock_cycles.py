"""The stock, price and offer cycles: one pass of each flow over its services.

Stock is incremental: :func:`incremental_stock_cycle` re-reads only the keys the change
feed marked dirty (Shopify ``inventory_levels/update`` webhooks, the Supercycle
``updated`` poll; holds, commits and releases in the stock ledger), patches them into the
last full read kept by the services (``StockServices.model``), plans those offers and
pushes what changed. The full read (:func:`stock_cycle`) stays the reconcile: at start-up
(a process with no model), every ``shopify.reconcile_minutes`` and whenever prices or
offers need the whole catalogue; webhooks and the poll are never trusted alone. A full
read plans every marketplace, then pushes each marketplace concurrently. Stock goes
first: the scheduled tick runs ``stock_cycle`` before ``price_cycle`` and
``offer_cycle``, and each push waits for its own budget slot (STO01, PRI01, OF01 are
separate keys), so a price or offer import never delays a stock import.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from mirakl_sync.config import MarketplaceSettings
from mirakl_sync.domain.allocation import RuleBook
from mirakl_sync.domain.allocation import StockRule as DomainStockRule
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.pricing import PriceRules
from mirakl_sync.errors import MiraklSyncError
from mirakl_sync.services.drift import DRIFT, DriftCheck, DriftReport
from mirakl_sync.services.offer_sync import MarketOffers
from mirakl_sync.services.ports import MarketplaceOffers
from mirakl_sync.services.price_sync import MarketPrices
from mirakl_sync.services.stock_incremental import increment_planned
from mirakl_sync.services.stock_services import StockServices
from mirakl_sync.services.stock_snapshot import CatalogueSnapshot
from mirakl_sync.services.stock_sync import MarketStock, PushResult, TrackResult

logger = logging.getLogger(__name__)

#: How long a ``--once`` run waits for its imports to finish before leaving them to the
#: next cycle (they stay tracked in ``marketplace_imports``).
ONCE_TRACK_TIMEOUT = 180.0
#: How long a cycle waits for a marketplace's first offer export before planning without
#: it (the export is tried again by the next cycle).
LEARN_TIMEOUT = 120.0


def book(market: MarketplaceSettings) -> RuleBook:
    return RuleBook(
        DomainStockRule(
            sku=r.sku,
            tag=r.tag,
            product_type=r.product_type,
            safety_buffer=r.safety_buffer,
            max_quantity=r.max_quantity,
            percent_cap=r.percent_cap,
            zero_at_or_below=r.zero_at_or_below,
        )
        for r in market.stock_rules
    )


def price_rules(market: MarketplaceSettings) -> PriceRules:
    rules = market.price_rules
    return PriceRules(
        markup_percent=Decimal(str(rules.markup_percent)),
        round_to_ending=(
            None if rules.round_to_ending is None else Decimal(str(rules.round_to_ending))
        ),
        minimum_price=None if rules.minimum_price is None else Decimal(str(rules.minimum_price)),
    )


@dataclass
class CycleReport:
    changed: dict[str, int] = field(default_factory=dict)
    pushes: list[PushResult] = field(default_factory=list)
    tracked: list[TrackResult] = field(default_factory=list)


async def stock_cycle(
    services: StockServices,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    snapshot: CatalogueSnapshot | None = None,
    track_timeout: float = 0.0,
) -> CycleReport:
    """The full cycle (the reconcile): track open imports, read the whole source, plan
    EVERY marketplace, push one STO01 to each of ``markets`` (default: all).

    Every marketplace is planned, pushed or not: the read clears the dirty keys, so a
    marketplace not pushed now must still get its pending rows for its next push.
    """
    everyone = list(services.settings.marketplaces)
    chosen = list(markets if markets is not None else everyone)
    sync = services.stock_sync()
    report = CycleReport()
    report.tracked += await services.each_market(chosen, lambda m, o: sync.track(o))
    await learn_listed_offers(services, everyone)
    taken = snapshot if snapshot is not None else await services.snapshot()
    held = services.ledger.held_quantities()
    report.changed = sync.plan(taken, [MarketStock(m.code, book(m)) for m in everyone], held=held)
    services.feed().held_planned(held)
    report.pushes = await services.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(services, chosen, sync.track, "stock", track_timeout)
    return report


async def incremental_stock_cycle(
    services: StockServices,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    track_timeout: float = 0.0,
) -> CycleReport:
    """Plan only what changed since the last read; push to ``markets`` (default: all).

    Falls back to the full cycle when the reconcile is due (no model in this process,
    or the last full read is older than ``shopify.reconcile_minutes``).
    """
    if services.reconcile_due():
        return await stock_cycle(services, markets=markets, track_timeout=track_timeout)
    everyone = list(services.settings.marketplaces)
    chosen = list(markets if markets is not None else everyone)
    sync = services.stock_sync()
    report = CycleReport()
    report.tracked += await services.each_market(chosen, lambda m, o: sync.track(o))
    increment = await services.increment()
    services.last_increment = increment
    if increment.keys:
        report.changed = sync.plan(
            increment.snapshot,
            [MarketStock(m.code, book(m)) for m in everyone],
            keys=increment.keys,
            held=increment.held,
        )
    increment_planned(services.feed(), increment)
    report.pushes = await services.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(services, chosen, sync.track, "stock", track_timeout)
    return report


async def price_cycle(
    services: StockServices,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    snapshot: CatalogueSnapshot | None = None,
    track_timeout: float = 0.0,
) -> CycleReport:
    chosen = list(markets if markets is not None else services.settings.marketplaces)
    sync = services.price_sync()
    report = CycleReport()
    report.tracked += await services.each_market(chosen, lambda m, o: sync.track(o))
    taken = snapshot if snapshot is not None else await services.snapshot()
    report.changed = sync.plan(taken, [MarketPrices(m.code, price_rules(m)) for m in chosen])
    report.pushes = await services.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(services, chosen, sync.track, "prices", track_timeout)
    return report


async def offer_cycle(
    services: StockServices,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    snapshot: CatalogueSnapshot | None = None,
    replace: bool = False,
    track_timeout: float = 0.0,
) -> CycleReport:
    """A full offer refresh (OF01 NORMAL; REPLACE only when ``replace`` is asked for)."""
    chosen = list(markets if markets is not None else services.settings.marketplaces)
    sync = services.offer_sync()
    report = CycleReport()
    report.tracked += await services.each_market(chosen, lambda m, o: sync.track(o))
    taken = snapshot if snapshot is not None else await services.snapshot()

    async def refresh(market: MarketplaceSettings, offers: MarketplaceOffers) -> PushResult:
        spec = MarketOffers(market.code, market.product_id_type, book(market), price_rules(market))
        return await sync.refresh(taken, spec, offers, replace=replace)

    report.pushes = await services.each_market(chosen, refresh)
    report.tracked += await _track(services, chosen, sync.track, "offers", track_timeout)
    return report


async def drift_cycle(
    services: StockServices, *, markets: Sequence[MarketplaceSettings] | None = None
) -> list[DriftReport]:
    chosen = list(markets if markets is not None else services.settings.marketplaces)
    check = DriftCheck(services.states, services.clock, sleep=services.sleep, poll_seconds=1.0)
    return await services.each_market(chosen, lambda m, o: check.run(o))


async def learn_listed_offers(
    services: StockServices, markets: Sequence[MarketplaceSettings]
) -> list[DriftReport]:
    """Learn the offers of each marketplace the hub has never read the offers of.

    A fresh database knows nothing of the offers listed before the hub (by hand or by a
    previous connector); the first offer export (OF52, full) tells which exist, so the
    first stock plan sends each a quantity, 0 for a sold-out one, and reports those that
    match nothing. Once per marketplace (the drift cursor then exists; drift keeps it up
    to date). Bounded: a marketplace whose export cannot be had within
    ``LEARN_TIMEOUT`` is left for the next cycle, and the stock of the offers the hub
    knows still goes out.
    """
    unknown = [m for m in markets if services.states.cursor(DRIFT, m.code) is None]
    if not unknown:
        return []
    check = DriftCheck(services.states, services.clock, sleep=services.sleep, poll_seconds=1.0)

    async def learn(market: MarketplaceSettings, offers: MarketplaceOffers) -> DriftReport | None:
        try:
            return await asyncio.wait_for(check.run(offers), LEARN_TIMEOUT)
        except (MiraklSyncError, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {LEARN_TIMEOUT:.0f} s"
            logger.warning("%s: the offer export failed (%s)", market.code, reason)
            services.exceptions.record(
                _export_failed(market.code, reason), datetime.fromtimestamp(services.clock(), UTC)
            )
            return None

    learnt = await services.each_market(unknown, learn)
    now = datetime.fromtimestamp(services.clock(), UTC)
    for market, found in zip(unknown, learnt, strict=True):
        if found is not None:
            services.exceptions.resolve(_export_failed(market.code, "").fingerprint, now)
    return [found for found in learnt if found is not None]


def _export_failed(code: str, reason: str) -> ExceptionReport:
    return ExceptionReport(
        type=ExceptionType.OFFER_EXPORT_FAILED,
        owner=OwnerTeam.OPS,
        severity=Severity.WARNING,
        entity_type="marketplace",
        entity_id=code,
        marketplace=code,
        message=(
            f"{code}: the offer export (OF52) that tells the hub which offers exist there "
            f"could not be read ({reason}). Offers listed before the hub whose variant sold "
            "out keep their old quantity until it is; the next stock cycle tries again. "
            "Check `mirakl-sync doctor`."
        ),
    )


async def _track(
    services: StockServices,
    markets: Sequence[MarketplaceSettings],
    track: Callable[[MarketplaceOffers], Awaitable[TrackResult]],
    kind: str,
    timeout: float,
) -> list[TrackResult]:
    """Poll each marketplace's open imports of ``kind`` until done or ``timeout``."""
    if timeout <= 0:
        return []

    async def follow(market: MarketplaceSettings, offers: MarketplaceOffers) -> list[TrackResult]:
        deadline = services.clock() + timeout
        results: list[TrackResult] = []
        while services.states.open_imports(market.code, kind):
            # The status call itself waits for its budget slot (STO02: every 15 s).
            results.append(await track(offers))
            if not services.states.open_imports(market.code, kind) or services.clock() >= deadline:
                break
            await services.sleep(1.0)
        return results

    nested = await services.each_market(markets, follow)
    return [result for results in nested for result in results]
