"""The stock, price and offer flows' bundle of services (``StockServices``).

Built by the composition root (``Hub.stock_services``) over ports: the offer states, the
stock ledger, the dirty-key feed, the exception log, and two openers, one for the
source's readers (Shopify and Supercycle, for one read) and one for a marketplace's
offers. It also keeps this process's model of the source (the last full read and its
incremental patches), which the stock ticks hand on from one to the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from mirakl_sync.config import MarketplaceSettings, Settings
from mirakl_sync.services.change_feed import ChangeFeed
from mirakl_sync.services.offer_sync import OfferSync
from mirakl_sync.services.ports import (
    DirtyStockKeys,
    ExceptionLog,
    MarketplaceOffers,
    OfferStates,
    ShopStock,
    ShopStockLookup,
    StockLedger,
    SupercycleCatalogue,
)
from mirakl_sync.services.price_sync import PriceSync
from mirakl_sync.services.stock_incremental import Increment, read_increment
from mirakl_sync.services.stock_snapshot import (
    CatalogueSnapshot,
    SnapshotOptions,
    SourceModel,
    read_source,
)
from mirakl_sync.services.stock_sync import StockSync

T = TypeVar("T")

#: ``sync_cursors`` row holding when the last full read of the source started.
FULL_READ = ("stock", "full-read")


class ShopStockReader(ShopStock, ShopStockLookup, Protocol):
    """Shopify read for stock, in bulk or key by key; a bulk read learns the inventory
    item ids of the variants it saw (id -> SKU), for the webhooks that name only those."""

    @property
    def inventory_items(self) -> Mapping[str, str]: ...


@dataclass(frozen=True)
class StockSources:
    """The readers of one read of the source (opened, then closed, per read)."""

    shop: ShopStockReader
    items: SupercycleCatalogue | None


OpenSources = Callable[[], AbstractAsyncContextManager[StockSources]]
OpenOffers = Callable[[MarketplaceSettings], AbstractAsyncContextManager[MarketplaceOffers]]


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
class StockServices:
    """The services of the stock, price and offer flows (see the module docstring)."""

    settings: Settings
    states: OfferStates
    ledger: StockLedger
    changes: DirtyStockKeys
    exceptions: ExceptionLog
    open_sources: OpenSources
    open_offers: OpenOffers
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    #: The source as last read (full read + incremental patches); None until a full read.
    model: SourceModel | None = None
    #: The last incremental read (for reports, benchmarks and tests).
    last_increment: Increment | None = field(default=None, init=False)

    def stock_sync(self) -> StockSync:
        return StockSync(self.states, self.ledger, self.exceptions, self.clock)

    def price_sync(self) -> PriceSync:
        return PriceSync(self.states, self.exceptions, self.clock)

    def offer_sync(self) -> OfferSync:
        return OfferSync(self.states, self.ledger, self.exceptions, self.clock)

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
        started = self.clock()
        async with self.open_sources() as sources:
            model = await read_source(
                sources.shop,
                sources.items,
                snapshot_options(self.settings),
                today=datetime.fromtimestamp(started, UTC).date(),
            )
            learnt = dict(sources.shop.inventory_items)
        self.model = model
        self.feed().full_read(datetime.fromtimestamp(started, UTC), learnt)
        self.states.set_cursor(*FULL_READ, repr(started), datetime.fromtimestamp(started, UTC))
        return model.snapshot()

    async def increment(self) -> Increment:
        """Read only what changed since the last read (needs a model: a full read first)."""
        if self.model is None:
            raise RuntimeError("no full read yet: run a full stock cycle first")
        poll = self.settings.supercycle.poll_seconds if self.settings.supercycle else 0.0
        async with self.open_sources() as sources:
            return await read_increment(
                self.model,
                self.feed(),
                self.ledger,
                sources.shop,
                sources.items,
                today=datetime.fromtimestamp(self.clock(), UTC).date(),
                poll_seconds=poll,
            )

    async def each_market(
        self,
        markets: Sequence[MarketplaceSettings],
        action: Callable[[MarketplaceSettings, MarketplaceOffers], Awaitable[T]],
    ) -> list[T]:
        """Run ``action`` for every marketplace concurrently (each has its own budgets)."""

        async def one(market: MarketplaceSettings) -> T:
            async with self.open_offers(market) as offers:
                return await action(market, offers)

        return list(await asyncio.gather(*(one(m) for m in markets)))
