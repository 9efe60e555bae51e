"""The stock, price and offer flows: one-cycle runners and their schedules.

Stock is incremental: :func:`incremental_stock_cycle` re-reads only the keys the change
feed marked dirty (Shopify ``inventory_levels/update`` webhooks, recorded by
:func:`handle_inventory_webhook`; the Supercycle ``updated`` poll; holds, commits and
releases in the stock ledger), patches them into the last full read kept in memory
(``StockContext.model``), plans those offers and pushes what changed. The full read
(:func:`stock_cycle`) stays the reconcile: at start-up (a process with no model), every
``shopify.reconcile_minutes`` and whenever prices or offers need the whole catalogue;
webhooks and the poll are never trusted alone. A full read plans every marketplace, then
pushes each marketplace concurrently. In every cycle stock goes first: ``stock_cycle`` runs before
``price_cycle`` and ``offer_cycle`` in the combined schedule, and each push waits for its
own budget slot (STO01, PRI01, OF01 are separate keys), so a price or offer import never
delays a stock import.

``mirakl-sync sync stock --once`` (``run_stock_once``) pushes what is pending for every
marketplace, waiting for the next allowed slot rather than exceeding a budget, tracks the
imports until they finish (errors become exceptions) and exits 0, even when some offers
became exceptions.

Scheduled in ``run`` and ``demo`` by :func:`register`: one tick every
``min(stock_push_seconds)`` runs a stock cycle for the marketplaces whose cadence is
due; prices and the full offer refresh follow their own, slower cadences.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from mirakl_sync.adapters.mirakl.offers_port import MiraklOffers
from mirakl_sync.adapters.shopify.stock_port import ShopifyStockReader
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.offers import SqlOfferStates
from mirakl_sync.adapters.store.stock_changes import SqlStockChanges
from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
from mirakl_sync.adapters.supercycle.items_port import SupercycleItemsReader
from mirakl_sync.bootstrap import Hub, bootstrap
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.allocation import RuleBook
from mirakl_sync.domain.allocation import StockRule as DomainStockRule
from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.pricing import PriceRules
from mirakl_sync.errors import MiraklSyncError, RetryableError
from mirakl_sync.services.change_feed import ChangeFeed
from mirakl_sync.services.drift import DRIFT, DriftCheck, DriftReport
from mirakl_sync.services.offer_sync import MarketOffers, OfferSync
from mirakl_sync.services.price_sync import MarketPrices, PriceSync
from mirakl_sync.services.stock_incremental import Increment, increment_planned, read_increment
from mirakl_sync.services.stock_snapshot import (
    CatalogueSnapshot,
    SnapshotOptions,
    SourceModel,
    read_source,
)
from mirakl_sync.services.stock_sync import (
    MarketStock,
    PushResult,
    StockSync,
    TrackResult,
)
from mirakl_sync.workflows.engine import Engine, Schedule, step, workflow

T = TypeVar("T")
logger = logging.getLogger(__name__)

STOCK_QUEUE = "stock"
#: ``sync_cursors`` row holding when the last full read of the source started.
FULL_READ = ("stock", "full-read")
INVENTORY_TOPIC = "inventory_levels/update"
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


def snapshot_options(settings: Settings) -> SnapshotOptions:
    supercycle = settings.supercycle
    return SnapshotOptions(
        locations=frozenset(settings.shopify.locations),
        offer_mode=supercycle.offer_mode if supercycle else "item",
        condition_states=dict(supercycle.condition_states) if supercycle else {},
        require_ready=supercycle.require_ready if supercycle else False,
        listed_tags=frozenset(supercycle.listed_tags) if supercycle else frozenset(),
    )


@dataclass
class StockContext:
    """The services of the stock, price and offer flows, built over one ``Hub``."""

    hub: Hub
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: The source as last read (full read + incremental patches); None until a full read.
    model: SourceModel | None = None
    states: SqlOfferStates = field(init=False)
    ledger: SqlStockLedger = field(init=False)
    changes: SqlStockChanges = field(init=False)
    #: The last incremental read (for reports, benchmarks and tests).
    last_increment: Increment | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.states = SqlOfferStates(self.hub.store.engine)
        self.ledger = SqlStockLedger(self.hub.store.engine)
        self.changes = SqlStockChanges(self.hub.store.engine)

    @property
    def settings(self) -> Settings:
        return self.hub.settings

    def stock_sync(self) -> StockSync:
        return StockSync(self.states, self.ledger, self.hub.store.exception_log, self.clock)

    def price_sync(self) -> PriceSync:
        return PriceSync(self.states, self.hub.store.exception_log, self.clock)

    def offer_sync(self) -> OfferSync:
        return OfferSync(self.states, self.ledger, self.hub.store.exception_log, self.clock)

    def feed(self) -> ChangeFeed:
        return ChangeFeed(self.states, self.changes, self.clock)

    def note_inventory_webhook(self, payload: dict[str, Any]) -> None:
        """Record a Shopify ``inventory_levels/update`` webhook (in-process callers)."""
        self.feed().note_inventory_webhook(payload)

    def reconcile_due(self) -> bool:
        """True when this process has no model, or the last full read is too old."""
        if self.model is None:
            return True
        last = self.states.cursor(*FULL_READ)
        every = self.settings.shopify.reconcile_minutes * 60.0
        return last is None or self.clock() - float(last) >= every

    async def snapshot(self) -> CatalogueSnapshot:
        """The full read (the reconcile): every variant and item; resets the model."""
        shopify = self.hub.shopify(clock=self.clock, sleep=self.sleep, background=True)
        supercycle = self.hub.supercycle(clock=self.clock, sleep=self.sleep)
        started = self.clock()
        reader = ShopifyStockReader(shopify)
        try:
            model = await read_source(
                reader,
                SupercycleItemsReader(supercycle) if supercycle is not None else None,
                snapshot_options(self.settings),
                today=datetime.fromtimestamp(started, UTC).date(),
            )
        finally:
            await shopify.aclose()
            if supercycle is not None:
                await supercycle.aclose()
        self.model = model
        self.feed().full_read(datetime.fromtimestamp(started, UTC), reader.inventory_items)
        self.states.set_cursor(*FULL_READ, repr(started), datetime.fromtimestamp(started, UTC))
        return model.snapshot()

    async def increment(self) -> Increment:
        """Read only what changed since the last read (needs a model: a full read first)."""
        if self.model is None:
            raise RuntimeError("no full read yet: run a full stock cycle first")
        shopify = self.hub.shopify(clock=self.clock, sleep=self.sleep, background=True)
        supercycle = self.hub.supercycle(clock=self.clock, sleep=self.sleep)
        try:
            poll = self.settings.supercycle.poll_seconds if self.settings.supercycle else 0.0
            return await read_increment(
                self.model,
                self.feed(),
                self.ledger,
                ShopifyStockReader(shopify),
                SupercycleItemsReader(supercycle) if supercycle is not None else None,
                today=datetime.fromtimestamp(self.clock(), UTC).date(),
                poll_seconds=poll,
            )
        finally:
            await shopify.aclose()
            if supercycle is not None:
                await supercycle.aclose()

    async def each_market(
        self,
        markets: Sequence[MarketplaceSettings],
        action: Callable[[MarketplaceSettings, MiraklOffers], Awaitable[T]],
    ) -> list[T]:
        """Run ``action`` for every marketplace concurrently (each has its own budgets)."""

        async def one(market: MarketplaceSettings) -> T:
            client = self.hub.mirakl(market, sleep=self.sleep)
            try:
                return await action(market, MiraklOffers(client))
            finally:
                await client.aclose()

        return list(await asyncio.gather(*(one(m) for m in markets)))


@dataclass
class CycleReport:
    changed: dict[str, int] = field(default_factory=dict)
    pushes: list[PushResult] = field(default_factory=list)
    tracked: list[TrackResult] = field(default_factory=list)


async def stock_cycle(
    context: StockContext,
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
    everyone = list(context.settings.marketplaces)
    chosen = list(markets if markets is not None else everyone)
    sync = context.stock_sync()
    report = CycleReport()
    report.tracked += await context.each_market(chosen, lambda m, o: sync.track(o))
    await learn_listed_offers(context, everyone)
    taken = snapshot if snapshot is not None else await context.snapshot()
    held = context.ledger.held_quantities()
    report.changed = sync.plan(taken, [MarketStock(m.code, book(m)) for m in everyone], held=held)
    context.feed().held_planned(held)
    report.pushes = await context.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(context, chosen, sync.track, "stock", track_timeout)
    return report


async def incremental_stock_cycle(
    context: StockContext,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    track_timeout: float = 0.0,
) -> CycleReport:
    """Plan only what changed since the last read; push to ``markets`` (default: all).

    Falls back to the full cycle when the reconcile is due (no model in this process,
    or the last full read is older than ``shopify.reconcile_minutes``).
    """
    if context.reconcile_due():
        return await stock_cycle(context, markets=markets, track_timeout=track_timeout)
    everyone = list(context.settings.marketplaces)
    chosen = list(markets if markets is not None else everyone)
    sync = context.stock_sync()
    report = CycleReport()
    report.tracked += await context.each_market(chosen, lambda m, o: sync.track(o))
    increment = await context.increment()
    context.last_increment = increment
    if increment.keys:
        report.changed = sync.plan(
            increment.snapshot,
            [MarketStock(m.code, book(m)) for m in everyone],
            keys=increment.keys,
            held=increment.held,
        )
    increment_planned(context.feed(), increment)
    report.pushes = await context.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(context, chosen, sync.track, "stock", track_timeout)
    return report


async def price_cycle(
    context: StockContext,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    snapshot: CatalogueSnapshot | None = None,
    track_timeout: float = 0.0,
) -> CycleReport:
    chosen = list(markets if markets is not None else context.settings.marketplaces)
    sync = context.price_sync()
    report = CycleReport()
    report.tracked += await context.each_market(chosen, lambda m, o: sync.track(o))
    taken = snapshot if snapshot is not None else await context.snapshot()
    report.changed = sync.plan(taken, [MarketPrices(m.code, price_rules(m)) for m in chosen])
    report.pushes = await context.each_market(chosen, lambda m, o: sync.push(o))
    report.tracked += await _track(context, chosen, sync.track, "prices", track_timeout)
    return report


async def offer_cycle(
    context: StockContext,
    *,
    markets: Sequence[MarketplaceSettings] | None = None,
    snapshot: CatalogueSnapshot | None = None,
    replace: bool = False,
    track_timeout: float = 0.0,
) -> CycleReport:
    """A full offer refresh (OF01 NORMAL; REPLACE only when ``replace`` is asked for)."""
    chosen = list(markets if markets is not None else context.settings.marketplaces)
    sync = context.offer_sync()
    report = CycleReport()
    report.tracked += await context.each_market(chosen, lambda m, o: sync.track(o))
    taken = snapshot if snapshot is not None else await context.snapshot()

    async def refresh(market: MarketplaceSettings, offers: MiraklOffers) -> PushResult:
        spec = MarketOffers(market.code, market.product_id_type, book(market), price_rules(market))
        return await sync.refresh(taken, spec, offers, replace=replace)

    report.pushes = await context.each_market(chosen, refresh)
    report.tracked += await _track(context, chosen, sync.track, "offers", track_timeout)
    return report


async def drift_cycle(
    context: StockContext, *, markets: Sequence[MarketplaceSettings] | None = None
) -> list[DriftReport]:
    chosen = list(markets if markets is not None else context.settings.marketplaces)
    check = DriftCheck(context.states, context.clock, sleep=context.sleep, poll_seconds=1.0)
    return await context.each_market(chosen, lambda m, o: check.run(o))


async def learn_listed_offers(
    context: StockContext, markets: Sequence[MarketplaceSettings]
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
    unknown = [m for m in markets if context.states.cursor(DRIFT, m.code) is None]
    if not unknown:
        return []
    check = DriftCheck(context.states, context.clock, sleep=context.sleep, poll_seconds=1.0)

    async def learn(market: MarketplaceSettings, offers: MiraklOffers) -> DriftReport | None:
        try:
            return await asyncio.wait_for(check.run(offers), LEARN_TIMEOUT)
        except (MiraklSyncError, TimeoutError) as exc:
            reason = str(exc) or f"no answer within {LEARN_TIMEOUT:.0f} s"
            logger.warning("%s: the offer export failed (%s)", market.code, reason)
            context.hub.store.exception_log.record(
                _export_failed(market.code, reason), datetime.fromtimestamp(context.clock(), UTC)
            )
            return None

    learnt = await context.each_market(unknown, learn)
    now = datetime.fromtimestamp(context.clock(), UTC)
    for market, found in zip(unknown, learnt, strict=True):
        if found is not None:
            context.hub.store.exception_log.resolve(
                _export_failed(market.code, "").fingerprint, now
            )
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
    context: StockContext,
    markets: Sequence[MarketplaceSettings],
    track: Callable[[MiraklOffers], Awaitable[TrackResult]],
    kind: str,
    timeout: float,
) -> list[TrackResult]:
    """Poll each marketplace's open imports of ``kind`` until done or ``timeout``."""
    if timeout <= 0:
        return []

    async def follow(market: MarketplaceSettings, offers: MiraklOffers) -> list[TrackResult]:
        deadline = context.clock() + timeout
        results: list[TrackResult] = []
        while context.states.open_imports(market.code, kind):
            # The status call itself waits for its budget slot (STO02: every 15 s).
            results.append(await track(offers))
            if not context.states.open_imports(market.code, kind) or context.clock() >= deadline:
                break
            await context.sleep(1.0)
        return results

    nested = await context.each_market(markets, follow)
    return [result for results in nested for result in results]


# --------------------------------------------------------------------------- ``sync --once``


def _once(
    settings: Settings,
    flow: str,
    run: Callable[[StockContext], Coroutine[Any, Any, CycleReport]],
) -> None:
    """Run one cycle and print a line per marketplace: lines sent, and lines refused."""
    hub = bootstrap(settings)
    try:
        report = asyncio.run(run(StockContext(hub)))
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
    # A fresh process has no model: this is a full read (the reconcile), as it should be.
    _once(settings, "stock", lambda c: stock_cycle(c, track_timeout=ONCE_TRACK_TIMEOUT))


def run_prices_once(settings: Settings) -> None:
    _once(settings, "prices", lambda c: price_cycle(c, track_timeout=ONCE_TRACK_TIMEOUT))


def run_offers_once(settings: Settings) -> None:
    _once(settings, "offers", lambda c: offer_cycle(c, track_timeout=ONCE_TRACK_TIMEOUT))


# --------------------------------------------------------------------------- schedules

#: The settings of the running process (set by :func:`register`); workflows run in the
#: process that registered them, so they read it from here rather than from arguments.
_RUNTIME: dict[str, Settings] = {}
#: This process's model of the source, by database URL: a tick builds a new context, but
#: the last full read (and its patches) outlives it. Empty after a restart: the first tick
#: of a process is a full read.
_MODELS: dict[str, SourceModel] = {}
#: Dirty-key stores for the webhook receiver, by database URL (one engine per process).
_WEBHOOK_KEYS: dict[str, SqlStockChanges] = {}


def _due(flow: str, code: str, every_seconds: float, context: StockContext) -> bool:
    last = context.states.cursor(f"schedule-{flow}", code)
    now = context.clock()
    if last is not None and now - float(last) < every_seconds * 0.95:
        return False
    context.states.set_cursor(f"schedule-{flow}", code, repr(now), datetime.fromtimestamp(now, UTC))
    return True


def _tick_delayed(reason: str) -> ExceptionReport:
    return ExceptionReport(
        type=ExceptionType.STOCK_TICK_DELAYED,
        owner=OwnerTeam.OPS,
        severity=Severity.WARNING,
        entity_type="flow",
        entity_id="stock",
        message=f"a stock tick could not run ({reason}); the next tick retries, "
        "and stock changes wait until then",
    )


@step(name="mirakl_sync.stock.cycle_step")
def stock_cycle_step() -> dict[str, Any]:
    """One tick: stock for the due marketplaces first, then prices, offers and drift."""
    settings = _RUNTIME["settings"]
    hub = bootstrap(settings)
    context = StockContext(hub, model=_MODELS.get(settings.database_url))
    try:

        async def tick() -> dict[str, Any]:
            done: dict[str, Any] = {}
            markets = settings.marketplaces
            due_stock = [m for m in markets if _due("stock", m.code, m.stock_push_seconds, context)]
            due_prices = [
                m for m in markets if _due("prices", m.code, m.price_push_seconds, context)
            ]
            due_offers = [
                m for m in markets if _due("offers", m.code, m.offer_refresh_hours * 3600, context)
            ]
            if not (due_stock or due_prices or due_offers):
                return done
            if not (due_prices or due_offers or context.reconcile_due()):
                # The common tick: stock only, from what changed (no full read).
                report = await incremental_stock_cycle(context, markets=due_stock)
                done["stock"] = {p.marketplace: p.lines for p in report.pushes}
                return done
            # Prices and offers still need the whole catalogue (price changes have no
            # dirty keys yet); the same read serves as the stock reconcile.
            snapshot = await context.snapshot()
            report = await stock_cycle(context, markets=due_stock, snapshot=snapshot)
            done["stock"] = {p.marketplace: p.lines for p in report.pushes}
            done["full_read"] = True
            if due_prices:
                report = await price_cycle(context, markets=due_prices, snapshot=snapshot)
                done["prices"] = {p.marketplace: p.lines for p in report.pushes}
            if due_offers:
                report = await offer_cycle(context, markets=due_offers, snapshot=snapshot)
                done["offers"] = {p.marketplace: p.lines for p in report.pushes}
                drift = await drift_cycle(context, markets=due_offers)
                done["drift"] = {d.marketplace: len(d.mismatches) for d in drift}
            return done

        try:
            done = asyncio.run(tick())
        except RetryableError as exc:
            # Shopify throttled, Supercycle or a marketplace unreachable: nothing is lost
            # (dirty keys stay dirty, pending offers stay pending) and the next tick tries
            # again; ops see it only if it lasts.
            hub.store.exception_log.record(_tick_delayed(str(exc)), datetime.now(UTC))
            return {"skipped": str(exc)}
        hub.store.exception_log.resolve(_tick_delayed("").fingerprint, datetime.now(UTC))
        return done
    finally:
        if context.model is not None:
            _MODELS[settings.database_url] = context.model
        hub.close()


@workflow(name="mirakl_sync.stock.tick")
def stock_tick(scheduled_time: datetime, context: Any) -> dict[str, Any]:
    return stock_cycle_step()


# --------------------------------------------------------------------------- webhooks


def inventory_webhook_handler(
    settings: Settings, *, clock: Callable[[], float] = time.time
) -> Callable[[str, dict[str, Any], dict[str, str]], None]:
    """A web receiver callback marking the webhook's inventory item dirty (one DB write)."""
    url = settings.database_url
    keys = _WEBHOOK_KEYS.get(url)
    if keys is None:
        keys = _WEBHOOK_KEYS[url] = SqlStockChanges(create_store_engine(url))
    states = SqlOfferStates(keys.engine)

    def handle(topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
        if topic == INVENTORY_TOPIC:
            ChangeFeed(states, keys, clock).note_inventory_webhook(payload)

    return handle


def handle_inventory_webhook(topic: str, payload: dict[str, Any], headers: dict[str, str]) -> None:
    """The web receiver's callback for ``inventory_levels/update``: mark the stock key dirty.

    Quick by design (one upsert; the Shopify read happens in the next stock tick). Other
    topics are ignored. Marking a key twice is harmless, so duplicate deliveries (same
    ``X-Shopify-Event-Id``) need no dedupe. Needs :func:`register` to have run in this
    process (or use :func:`inventory_webhook_handler` with the settings).
    """
    if topic != INVENTORY_TOPIC:
        return
    settings = _RUNTIME.get("settings")
    if settings is None:
        # Not a reason to fail the request (Shopify would retry, then drop the
        # subscription): the reconcile catches the change anyway.
        logger.warning(
            "inventory webhook ignored: the stock flow is not registered in this process "
            "(call workflows.stock.register or use inventory_webhook_handler(settings))"
        )
        return
    inventory_webhook_handler(settings)(topic, payload, headers)


def tick_cron(settings: Settings) -> str:
    """A 6-field cron (seconds first) ticking at the shortest stock cadence."""
    seconds = min((m.stock_push_seconds for m in settings.marketplaces), default=60.0)
    whole = max(1, int(seconds))
    if whole < 60:
        return f"*/{whole} * * * * *"
    return f"0 */{max(1, whole // 60)} * * * *"


def register(engine: Engine, settings: Settings) -> None:
    """Create the stock queue and its schedule (called by the runtime after launch)."""
    _RUNTIME["settings"] = settings
    # One tick at a time across every process: two overlapping ticks would push twice.
    engine.register_queue(STOCK_QUEUE, concurrency=1, worker_concurrency=1)
    if settings.marketplaces:
        engine.apply_schedules(
            [
                Schedule(
                    name="mirakl_sync.stock.tick",
                    workflow_fn=stock_tick,
                    cron=tick_cron(settings),
                    queue_name=STOCK_QUEUE,
                )
            ]
        )
