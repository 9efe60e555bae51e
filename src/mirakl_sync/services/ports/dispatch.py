"""Ports of shipments, refunds and cancellations: the marketplace order index, the SKU
bindings, the shop feed's handled orders, the dispatch calls of the marketplaces and of
the shop, and Supercycle returns."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from mirakl_sync.domain.shipments import OrderRef


class MarketplaceOrderIndex(Protocol):
    """Finds the marketplace order behind a shop order or a sold item (read-only)."""

    def by_shopify_order(self, shopify_order_id: str) -> OrderRef | None:
        """By the Shopify order id (GID or numeric legacy id)."""
        ...

    def by_order_id(self, marketplace: str, order_id: str) -> OrderRef | None: ...

    def payload(self, marketplace: str, order_id: str) -> dict[str, Any] | None:
        """The last OR11 JSON the orders flow stored (lines and their ids)."""
        ...

    def with_offer_sku(self, offer_sku: str) -> list[OrderRef]:
        """Orders with a line on ``offer_sku`` (e.g. a Supercycle serial), newest first."""
        ...

    def by_shopify_orders(self, shopify_order_ids: Iterable[str]) -> dict[str, OrderRef]:
        """The orders behind these shop orders, by the id as given (GID or legacy id);
        shop orders that are no marketplace order are left out (polling safety net)."""
        ...

    def earliest_with_shop_order(self) -> datetime | None:
        """When the oldest marketplace order that has a shop order was created on the
        marketplace (None: none has): no shop order of the hub changed before it."""
        ...


class Bindings(Protocol):
    """The ``bindings`` table: which hub record is which record on another system."""

    def get(self, system: str, entity: str, internal_id: str) -> str | None:
        """The external id bound to ``internal_id``, if any."""
        ...

    def put(
        self, system: str, entity: str, internal_id: str, external_id: str, now: datetime
    ) -> None:
        """Bind (or re-bind) ``internal_id`` to ``external_id``."""
        ...

    def delete(self, system: str, entity: str, internal_id: str) -> None: ...

    def external_ids(self, system: str, entity: str, internal_prefix: str) -> list[str]:
        """Every external id bound to an internal id starting with ``internal_prefix``."""
        ...


class HandledShopOrders(Protocol):
    """The ``shop_feed_handled`` table: per pass scope, the digest of what a pass last
    handled of each shop order (``services.shop_feed`` skips an order re-read unchanged)."""

    def digests(self, scope: str, shop_order_ids: Iterable[str]) -> dict[str, str]: ...

    def mark(self, scope: str, handled: dict[str, tuple[str, datetime]]) -> None:
        """Record ``shop order id -> (digest, its updated_at)`` as handled."""
        ...

    def prune(self, scope: str, updated_before: datetime) -> int:
        """Forget the orders last changed before ``updated_before``; how many."""
        ...


class MarketplaceDispatchApi(Protocol):
    """One marketplace's order writes and reads, as plain JSON (OR11 shapes).

    Errors are those of ``mirakl_sync.errors``; a write that timed out raises a
    ``RetryableError`` with ``ambiguous = True`` (it may have been applied).
    """

    marketplace: str

    async def order(self, order_id: str) -> dict[str, Any] | None:
        """OR11 for one order, read about an event the hub acts on (None: Mirakl does
        not know it). Mirakl's synchronous usage: no once-a-minute slot."""
        ...

    async def carriers(self) -> dict[str, str]:
        """SH21: code -> label."""
        ...

    async def reasons(self, reason_type: str) -> list[str]:
        """RE01 codes of ``reason_type`` the shop may use (``is_shop_right``)."""
        ...

    async def update_tracking(
        self,
        order_id: str,
        *,
        carrier_code: str | None,
        carrier_name: str | None,
        carrier_url: str | None,
        tracking_number: str | None,
    ) -> None:
        """OR23."""
        ...

    async def ship_order(self, order_id: str) -> None:
        """OR24."""
        ...

    async def create_shipments(
        self, shipments: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """ST01 (chunked by 1000): (shipment_success, shipment_errors)."""
        ...

    async def shipments(self, order_ids: list[str]) -> list[dict[str, Any]]:
        """ST11 for these orders."""
        ...

    async def ship_shipments(self, shipment_ids: list[str]) -> list[dict[str, Any]]:
        """ST24 (chunked by 1000): the shipment_errors."""
        ...

    async def refund(
        self, refunds: list[dict[str, Any]], order_tax_mode: str | None
    ) -> list[dict[str, Any]]:
        """OR28: the refunds created."""
        ...

    async def cancel_order(self, order_id: str) -> None:
        """OR29."""
        ...

    async def cancel_lines(
        self, cancelations: list[dict[str, Any]], order_tax_mode: str | None
    ) -> list[dict[str, Any]]:
        """OR30: the cancelations created."""
        ...


class ShopDispatchApi(Protocol):
    """The shop (Shopify) as dispatch and refunds read it, as plain dicts."""

    async def order(self, order_id: str) -> dict[str, Any]:
        """``{id, cancelled_at, fulfillment_status, lines: [{id, sku, quantity}]}``."""
        ...

    async def fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """``[{id, legacy_id, tracking: [{company, number, url}], lines: [{sku, quantity,
        line_item_id}]}]``."""
        ...

    async def refunds(self, order_id: str) -> list[dict[str, Any]]:
        """``[{id, legacy_id, lines: [{line_item_id, sku, quantity, restock_type}]}]``."""
        ...

    async def changed_orders(
        self, since: str, *, after: str | None, page_size: int
    ) -> dict[str, Any]:
        """One page of the shop's orders updated at or after ``since`` (ISO 8601), oldest
        change first: ``{orders: [{id, legacy_id, updated_at, source_name,
        source_identifier, cancelled_at, fulfillments: [as fulfillments()], refunds: [as
        refunds()]}], has_next_page, end_cursor}``; ``after`` is the previous page's
        ``end_cursor``."""
        ...


class ReturnsApi(Protocol):
    """Supercycle return orders, as plain dicts."""

    async def return_orders(self) -> list[dict[str, Any]]:
        """``[{id, status, lines: [{id, status, condition, serial, item_status,
        restocked_at}]}]``."""
        ...

    async def return_orders_changed_since(self, since: datetime) -> list[dict[str, Any]]:
        """The return orders that changed since ``since``, as ``return_orders``."""
        ...


class CyclesApi(Protocol):
    """Supercycle's fulfilled cycles (rentals and resale sales), as plain dicts."""

    async def fulfilled_cycles(self, since: datetime) -> list[dict[str, Any]]:
        """Cycles updated since ``since`` that are fulfilled: ``id``, ``shopify_order_id``,
        ``serial``, ``fulfilled_at``."""
        ...


class SupercycleFeeds(ReturnsApi, CyclesApi, Protocol):
    """What the safety-net passes read of Supercycle: return orders and fulfilled cycles."""
