"""The composition root: the one place that builds adapters and hands them to services.

Nothing here runs at import time. Entry points call ``open_store(settings)`` or
``bootstrap(settings)``; tests pass overrides (e.g. an ASGI transport to an emulator)
instead of monkeypatching.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import Engine

from mirakl_sync.adapters.store.call_budget import SqlCallBudget
from mirakl_sync.adapters.store.database import create_store_engine
from mirakl_sync.adapters.store.exception_log import SqlExceptionLog
from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.services.ports import CallBudget, Clock, Cursors, SupercycleFeeds

if TYPE_CHECKING:
    from mirakl_sync.adapters.mirakl.client import MiraklClient
    from mirakl_sync.adapters.shopify.client import ShopifyClient
    from mirakl_sync.adapters.shopify.cost import ShopifyPacing
    from mirakl_sync.adapters.shopify.dispatch_api import ShopifyDispatchApi
    from mirakl_sync.adapters.store.dispatch import SqlBindings, SqlMarketplaceOrderIndex
    from mirakl_sync.adapters.supercycle.client import SupercycleClient
    from mirakl_sync.services.cancellations import CancellationService
    from mirakl_sync.services.dispatch import DispatchService
    from mirakl_sync.services.order_import import MarketRules, OrderServices
    from mirakl_sync.services.refunds import RefundService
    from mirakl_sync.services.shop_feed import ShopChangeFeed
    from mirakl_sync.services.stock_services import StockServices
    from mirakl_sync.services.stock_snapshot import SourceModel


@dataclass
class Store:
    engine: Engine
    exception_log: SqlExceptionLog
    call_budget: SqlCallBudget

    def close(self) -> None:
        self.engine.dispose()


@contextmanager
def open_store(settings: Settings, clock: Clock = time.time) -> Iterator[Store]:
    engine = create_store_engine(settings.database_url)
    store = Store(engine, SqlExceptionLog(engine), SqlCallBudget(engine, clock=clock))
    try:
        yield store
    finally:
        store.close()


@dataclass
class Transports:
    """Optional HTTP transports per system (tests route them to the emulators in-process)."""

    shopify: httpx.AsyncBaseTransport | None = None
    supercycle: httpx.AsyncBaseTransport | None = None
    #: By marketplace code.
    mirakl: dict[str, httpx.AsyncBaseTransport] = field(default_factory=dict)


@dataclass
class Hub:
    """Everything a flow needs, built once per process from the settings."""

    settings: Settings
    store: Store
    transports: Transports
    #: The shop's query-cost bucket as this hub's Shopify clients see it: one per clock
    #: they keep time with (see :meth:`shopify`).
    _shopify_pacings: dict[Any, ShopifyPacing] = field(default_factory=dict, repr=False)

    def mirakl(
        self, market: MarketplaceSettings, *, call_budget: CallBudget | None = None, **options: Any
    ) -> MiraklClient:
        """A client of one marketplace; ``call_budget`` defaults to the shared store budget,
        with slots spaced a second wider than the spec (Mirakl counts arrivals). Under a
        ``call_budget_scale`` below 1 (the sandbox's compressed clock) the margin shrinks
        with it: a full second on 6 s slots made every OR11 slot 7 s against a 6 s poll,
        so the pulls queued behind their own slots (the soak)."""
        from mirakl_sync.adapters.mirakl.budget_margin import MARGIN_SECONDS, MarginCallBudget
        from mirakl_sync.adapters.mirakl.client import MiraklClient

        options.setdefault("max_budget_wait", market.max_budget_wait_seconds)
        return MiraklClient(
            market.base_url,
            market.api_key.get_secret_value(),
            shop_id=market.shop_id,
            marketplace=market.code,
            transport=self.transports.mirakl.get(market.code),
            call_budget=call_budget
            or MarginCallBudget(
                self.store.call_budget,
                margin_seconds=MARGIN_SECONDS * min(1.0, market.call_budget_scale),
            ),
            budget_scale=market.call_budget_scale,
            **options,
        )

    def shopify(self, **options: Any) -> ShopifyClient:
        from mirakl_sync.adapters.shopify.client import ShopifyClient
        from mirakl_sync.adapters.shopify.cost import ShopifyPacing

        shopify = self.settings.shopify
        # Clients share the shop's cost bucket only if they read the same clock: a bucket
        # mirrored at one clock's times cannot be refilled by another's (tests and
        # simulations give their own clock and get their own bucket).
        clock = options.get("clock", time.time)
        pacing = self._shopify_pacings.get(clock)
        if pacing is None:
            pacing = self._shopify_pacings[clock] = ShopifyPacing()
        return ShopifyClient(
            shopify.graphql_url,
            shopify.access_token.get_secret_value(),
            transport=self.transports.shopify,
            pacing=pacing,
            **options,
        )

    def supercycle(self, **options: Any) -> SupercycleClient | None:
        from mirakl_sync.adapters.supercycle.client import SupercycleClient

        supercycle = self.settings.supercycle
        if supercycle is None:
            return None
        return SupercycleClient(
            supercycle.base_url,
            supercycle.api_key.get_secret_value(),
            transport=self.transports.supercycle,
            call_budget=self.store.call_budget,
            budget=Budget(supercycle.requests_per_minute, 60.0),
            **options,
        )

    # ------------------------------------------------------------------ flows' services

    @asynccontextmanager
    async def order_services(
        self,
        marketplace: str,
        *,
        clock: Callable[[], datetime],
        mirakl_options: dict[str, Any] | None = None,
        shopify_options: dict[str, Any] | None = None,
        supercycle_options: dict[str, Any] | None = None,
        today: Callable[[], date] | None = None,
    ) -> AsyncIterator[OrderServices]:
        """The order flow's services for one marketplace (``services.order_import``),
        its clients closed on the way out. The ``*_options`` go to the clients (a fake
        clock's ``sleep`` in simulations); ``today`` to Supercycle's item reads."""
        from mirakl_sync.adapters.mirakl.marketplace import MiraklMarketplace
        from mirakl_sync.adapters.shopify.mapping import ShopOrderOptions
        from mirakl_sync.adapters.shopify.shop import ShopifyShop
        from mirakl_sync.adapters.store.orders import SqlOrderRepository
        from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
        from mirakl_sync.adapters.supercycle.inventory import SupercycleInventory
        from mirakl_sync.services.order_import import OrderServices

        settings = self.settings
        market = settings.marketplace(marketplace)
        mirakl = self.mirakl(market, **(mirakl_options or {}))
        shopify = self.shopify(**(shopify_options or {}))
        supercycle = self.supercycle(**(supercycle_options or {}))
        try:
            options = ShopOrderOptions(
                source_name=settings.shopify.source_name,
                marketplace_name=market.display_name,
                shipping_methods=dict(market.shipping_methods),
                default_shipping_method=market.default_shipping_method,
            )
            items = None
            if supercycle is not None:
                require_ready = settings.supercycle.require_ready if settings.supercycle else False
                items = SupercycleInventory(
                    supercycle,
                    require_ready=require_ready,
                    **({"today": today} if today is not None else {}),
                )
            yield OrderServices(
                rules=market_rules(market),
                repository=SqlOrderRepository(self.store.engine),
                ledger=SqlStockLedger(self.store.engine),
                exceptions=self.store.exception_log,
                marketplace=MiraklMarketplace(mirakl, market.code),
                shop=ShopifyShop(shopify, options=options, locations=settings.shopify.locations),
                items=items,
                clock=clock,
            )
        finally:
            await mirakl.aclose()
            await shopify.aclose()
            if supercycle is not None:
                await supercycle.aclose()

    @asynccontextmanager
    async def dispatch_services(
        self, clock: Callable[[], float] = time.time
    ) -> AsyncIterator[DispatchServices]:
        """The dispatch flows' services (shipments, refunds, cancellations) over this
        hub's clients, closed on the way out."""
        from mirakl_sync.adapters.mirakl.dispatch_api import MiraklDispatchApi
        from mirakl_sync.adapters.shopify.dispatch_api import ShopifyDispatchApi
        from mirakl_sync.adapters.store.call_budget import SqlClaims
        from mirakl_sync.adapters.store.cursors import SqlCursors
        from mirakl_sync.adapters.store.dispatch import SqlBindings, SqlMarketplaceOrderIndex
        from mirakl_sync.adapters.store.orders import SqlOrderRepository
        from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
        from mirakl_sync.adapters.supercycle.inventory import SupercycleInventory
        from mirakl_sync.adapters.supercycle.returns_api import SupercycleReturnsApi
        from mirakl_sync.services.cancellations import CancellationService
        from mirakl_sync.services.dispatch import DispatchService
        from mirakl_sync.services.item_release import ItemRelease
        from mirakl_sync.services.reference_cache import ReferenceCache
        from mirakl_sync.services.refunds import RefundService

        settings = self.settings
        engine = self.store.engine
        clients: dict[str, MiraklDispatchApi] = {}
        shopify = self.shopify()
        # Claims: one SH21/RE01 request at a time across steps and processes (issue 9).
        references = ReferenceCache(SqlCursors(engine), clock, claims=SqlClaims(engine))

        def api(code: str) -> MiraklDispatchApi:
            if code not in clients:
                clients[code] = MiraklDispatchApi(self.mirakl(settings.marketplace(code)), code)
            return clients[code]

        index = SqlMarketplaceOrderIndex(engine)
        bindings = SqlBindings(engine)
        shop = ShopifyDispatchApi(shopify)
        log_ = self.store.exception_log
        ledger = SqlStockLedger(engine)
        # A cancelled line's unique Supercycle item is made available again, once (issue 10).
        supercycle = self.supercycle()
        orders = SqlOrderRepository(engine)
        items = (
            None
            if supercycle is None
            else ItemRelease.on_clock(SupercycleInventory(supercycle), orders, ledger, clock)
        )
        try:
            yield DispatchServices(
                hub=self,
                dispatch=DispatchService(settings, api, index, log_, references, clock, shop),
                refunds=RefundService(settings, api, bindings, log_, references, clock, index),
                # The ledger: a cancelled line's hold goes back to the pool.
                # The order repository: where a cancellation before acceptance is marked,
                # for the order flow to refuse the order (services.shop_cancel_mark).
                cancellations=CancellationService(
                    settings,
                    api,
                    log_,
                    references,
                    clock,
                    ledger,
                    index=index,
                    items=items,
                    marks=orders,
                ),
                shop=shop,
                index=index,
                bindings=bindings,
                cursors=SqlCursors(engine),
                returns=None if supercycle is None else SupercycleReturnsApi(supercycle),
                clock=clock,
            )
        finally:
            for c in clients.values():
                await c.aclose()
            await shopify.aclose()
            if supercycle is not None:
                await supercycle.aclose()

    def shop_feed(self, services: DispatchServices, *, page_size: int) -> ShopChangeFeed:
        """The shop's changed orders since a pass's cursor (``services.shop_feed``), which
        links on the way the orders accepted before the hub (``services.order_adoption``)."""
        from mirakl_sync.adapters.mirakl.order_lookup import MiraklOrderLookup
        from mirakl_sync.adapters.shopify.shop import ShopOrderFinderPerLookup
        from mirakl_sync.adapters.store.cursors import SqlCursors
        from mirakl_sync.adapters.store.dispatch import SqlHandledShopOrders
        from mirakl_sync.adapters.store.orders import SqlOrderRepository
        from mirakl_sync.services.order_adoption import OrderAdoption
        from mirakl_sync.services.shop_feed import ShopChangeFeed

        settings = self.settings
        engine = self.store.engine

        def client_for(code: str) -> MiraklClient:
            return self.mirakl(settings.marketplace(code))

        adoption = OrderAdoption(
            SqlOrderRepository(engine),
            ShopOrderFinderPerLookup(self.shopify, settings.shopify.source_name),
            services.shop,
            MiraklOrderLookup(client_for),
            self.store.exception_log,
            services.clock,
            marketplaces={m.code: m.display_name for m in settings.marketplaces},
            acceptance_window_hours={
                m.code: m.acceptance_window_hours for m in settings.marketplaces
            },
            hub_source_name=settings.shopify.source_name,
        )
        return ShopChangeFeed(
            services.shop,
            services.index,
            SqlCursors(engine),
            services.clock,
            page_size=page_size,
            adoption=adoption,
            handled=SqlHandledShopOrders(engine),
        )

    def stock_services(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        model: SourceModel | None = None,
    ) -> StockServices:
        """The stock, price and offer flows' services; ``model``: the source as this
        process last read it (a stock tick hands it to the next), None for a full read."""
        from mirakl_sync.adapters.mirakl.offers_port import MiraklOffers
        from mirakl_sync.adapters.shopify.stock_port import ShopifyStockReader
        from mirakl_sync.adapters.store.offers import SqlOfferStates
        from mirakl_sync.adapters.store.stock_changes import SqlStockChanges
        from mirakl_sync.adapters.store.stock_ledger import SqlStockLedger
        from mirakl_sync.adapters.supercycle.items_port import SupercycleItemsReader
        from mirakl_sync.services.stock_services import StockServices, StockSources

        pause = sleep or asyncio.sleep

        @asynccontextmanager
        async def open_sources() -> AsyncIterator[StockSources]:
            shopify = self.shopify(clock=clock, sleep=pause, background=True)
            supercycle = self.supercycle(clock=clock, sleep=pause)
            try:
                yield StockSources(
                    ShopifyStockReader(shopify),
                    SupercycleItemsReader(supercycle) if supercycle is not None else None,
                )
            finally:
                await shopify.aclose()
                if supercycle is not None:
                    await supercycle.aclose()

        @asynccontextmanager
        async def open_offers(market: MarketplaceSettings) -> AsyncIterator[MiraklOffers]:
            client = self.mirakl(market, sleep=pause)
            try:
                yield MiraklOffers(client)
            finally:
                await client.aclose()

        engine = self.store.engine
        return StockServices(
            self.settings,
            states=SqlOfferStates(engine),
            ledger=SqlStockLedger(engine),
            changes=SqlStockChanges(engine),
            exceptions=self.store.exception_log,
            open_sources=open_sources,
            open_offers=open_offers,
            clock=clock,
            sleep=pause,
            model=model,
        )

    def close(self) -> None:
        self.store.close()


@dataclass
class DispatchServices:
    """The dispatch flows' services over one hub's clients (open for one cycle)."""

    hub: Hub
    dispatch: DispatchService
    refunds: RefundService
    cancellations: CancellationService
    shop: ShopifyDispatchApi
    index: SqlMarketplaceOrderIndex
    bindings: SqlBindings
    #: The passes' cursors (how far each source was read).
    cursors: Cursors
    #: Supercycle's return orders and fulfilled cycles; None without Supercycle.
    returns: SupercycleFeeds | None
    clock: Callable[[], float] = time.time


def market_rules(market: MarketplaceSettings) -> MarketRules:
    """A marketplace's settings as the order flow's rules."""
    from mirakl_sync.services.order_import import MarketRules

    return MarketRules(
        code=market.code,
        name=market.display_name,
        acceptance_window_hours=market.acceptance_window_hours,
        partial_acceptance=market.partial_acceptance,
        accept_when_shop_down=market.accept_when_shop_down,
        accept_when_shop_down_minutes=market.accept_when_shop_down_minutes,
    )


def bootstrap(
    settings: Settings, *, transports: Transports | None = None, clock: Clock = time.time
) -> Hub:
    engine = create_store_engine(settings.database_url)
    store = Store(engine, SqlExceptionLog(engine), SqlCallBudget(engine, clock=clock))
    return Hub(settings=settings, store=store, transports=transports or Transports())
