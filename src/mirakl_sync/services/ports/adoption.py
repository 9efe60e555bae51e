"""Ports of orders from before the hub (``services.order_adoption``)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Protocol

from mirakl_sync.domain.orders import (
    HubStatus,
    MarketplaceOrder,
    ShopOrderRef,
    StoredOrder,
)


class ShopOrderFinder(Protocol):
    """Shopify orders found by ``sourceIdentifier`` (``ShopOrders.find`` alone)."""

    async def find(self, source_identifier: str) -> ShopOrderRef | None: ...


class MarketplaceOrderLookup(Protocol):
    """Marketplace orders read by id (OR11 ``order_ids``, up to 100 a call)."""

    async def by_ids(self, marketplace: str, order_ids: Sequence[str]) -> list[MarketplaceOrder]:
        """The orders of ``marketplace`` among ``order_ids`` (ids it does not know are left
        out)."""
        ...


class AdoptionRepository(Protocol):
    """The orders store as adoption uses it: unlinked orders, bindings, small memos."""

    def record_pulled(
        self, order: MarketplaceOrder, *, deadline: datetime | None, now: datetime
    ) -> StoredOrder | None: ...

    def get(self, marketplace: str, order_id: str) -> StoredOrder | None: ...

    def set_status(
        self, marketplace: str, order_id: str, status: HubStatus, now: datetime
    ) -> None: ...

    def set_shop_order(
        self, marketplace: str, order_id: str, shop_order: ShopOrderRef, now: datetime
    ) -> None: ...

    def unlinked_orders(
        self, states: Collection[str], *, limit: int | None = None
    ) -> list[StoredOrder]:
        """Orders in ``states`` with no shop order that the hub never decided (oldest first)."""
        ...

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...

    def cursors_of(self, flow: str, scope_prefix: str = "") -> dict[str, str]:
        """Every cursor of ``flow`` whose scope starts with ``scope_prefix``, by scope."""
        ...

    def delete_cursor(self, flow: str, scope: str) -> None: ...
