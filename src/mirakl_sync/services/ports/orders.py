"""Ports of the order flow: marketplace orders, the shop's catalogue and orders,
Supercycle items, the order store and the stock ledger."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Protocol

from mirakl_sync.domain.orders import (
    HubStatus,
    LineBinding,
    MarketplaceOrder,
    OrderProgress,
    ShopOrderRef,
    SkuMapping,
    StockReading,
    StoredOrder,
)
from mirakl_sync.domain.stock_pool import HoldOutcome, LineHold, Reservation


class MarketplaceOrders(Protocol):
    """One marketplace's orders (Mirakl OR11/OR21), as hub orders."""

    def updated_since(self, since: datetime | None) -> AsyncIterator[MarketplaceOrder]:
        """Every order updated at or after ``since`` (every page; may repeat orders)."""
        ...

    def open_orders(self) -> AsyncIterator[MarketplaceOrder]:
        """Every order still open (waiting acceptance, awaiting payment, shipping)."""
        ...

    async def get(self, order_id: str) -> MarketplaceOrder | None:
        """A fresh read of one order (None when the marketplace does not know it)."""
        ...

    async def decide(self, order_id: str, decisions: Mapping[str, bool]) -> None:
        """OR21: accept (True) or refuse (False) every waiting line. Raises
        ``PermanentError`` with ``code='ORDER_INVALID_STATE'`` when it no longer waits."""
        ...


class ShopCatalogue(Protocol):
    """Shopify variants, looked up by SKU, and their stock."""

    async def find_variant(self, sku: str) -> LineBinding | None: ...

    async def read_stock(self, sku: str, *, variant_id: str | None = None) -> StockReading | None:
        """``available`` summed over the configured locations; None: no such variant.

        ``variant_id``, when the binding knows it, allows a cheaper read by id (a
        variant whose SKU changed since is looked up by SKU instead)."""
        ...


class ItemInventory(Protocol):
    """Supercycle's unique items."""

    async def find_item(self, key: str) -> LineBinding | None:
        """The item whose serial (else SKU) is ``key``."""
        ...

    async def read_item(self, serial: str) -> StockReading:
        """1 if the item may be sold today, else 0 with why (sold elsewhere, retired)."""
        ...

    async def mark_sold(self, item_id: int) -> None: ...

    async def is_sold(self, item_id: int) -> bool: ...

    async def make_available(self, item_id: int) -> None: ...


class ShopOrders(Protocol):
    """Standard Shopify orders made from marketplace orders."""

    async def find(self, source_identifier: str) -> ShopOrderRef | None: ...

    async def create(
        self,
        order: MarketplaceOrder,
        bindings: Mapping[str, LineBinding],
        line_ids: list[str],
    ) -> ShopOrderRef:
        """``orderCreate`` with the given lines; never retried blindly (look up first)."""
        ...

    async def cancel(self, shop_order_id: str) -> None: ...

    async def mark_paid(self, shop_order_id: str) -> None: ...

    async def update_addresses(self, shop_order_id: str, order: MarketplaceOrder) -> None: ...


class OrderRepository(Protocol):
    """The hub's record of marketplace orders, SKU mappings and pull watermarks."""

    def record_pulled(
        self, order: MarketplaceOrder, *, deadline: datetime | None, now: datetime
    ) -> StoredOrder | None:
        """Store the order as just read (new ones start ``new``); return what was stored
        before (None for an order never seen)."""
        ...

    def get(self, marketplace: str, order_id: str) -> StoredOrder | None: ...

    def set_status(
        self, marketplace: str, order_id: str, status: HubStatus, now: datetime
    ) -> None: ...

    def save_progress(
        self, marketplace: str, order_id: str, progress: OrderProgress, now: datetime
    ) -> None: ...

    def set_shop_order(
        self, marketplace: str, order_id: str, shop_order: ShopOrderRef, now: datetime
    ) -> None: ...

    def with_status(self, marketplace: str, statuses: list[HubStatus]) -> list[StoredOrder]: ...

    def mark_followup(self, marketplace: str, order_id: str, change: str, now: datetime) -> None:
        """Note a marketplace change the hub has to follow (``followup_done`` clears it)."""
        ...

    def followup_done(self, marketplace: str, order_id: str, change: str, now: datetime) -> bool:
        """Clear ``change`` if it is still the one pending; False if another is."""
        ...

    def pending_followups(self, marketplace: str) -> dict[str, str]:
        """Order id -> the change still to follow, oldest order first."""
        ...

    def mapping(self, marketplace: str, offer_sku: str) -> SkuMapping | None:
        """The explicit mapping for this marketplace, else the one for every marketplace."""
        ...

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...

    def orders_that_sold(self, item_id: int) -> list[StoredOrder]:
        """Orders whose import marked the Supercycle item ``item_id`` sold."""
        ...


class StockLedger(Protocol):
    """The hub's holds on the one stock pool (the ``stock_reservations`` table).

    Every method is idempotent per order line, so a workflow step may run twice.
    """

    def hold(
        self,
        request: LineHold,
        *,
        source_available: int,
        now: datetime,
        read_at: datetime | None = None,
    ) -> HoldOutcome:
        """Atomically: subtract everyone else's holds from ``source_available`` (read fresh
        from the source of truth at ``read_at``, default ``now``) and hold
        ``request.quantity`` if that many are free. Others' holds committed since the
        read count too: it does not reflect them (``domain.stock_pool``)."""
        ...

    def commit(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        """The source of truth now reflects this sale: stop counting the hold."""
        ...

    def release(self, marketplace: str, order_line_id: str, now: datetime) -> bool:
        """Give the held (or committed) stock back to the pool."""
        ...

    def reservation(self, marketplace: str, order_line_id: str) -> Reservation | None: ...

    def held_quantities(self, skus: list[str] | None = None) -> dict[str, int]:
        """Units currently held (not yet in the source of truth), by stock key."""
        ...
