"""Ports: the narrow interfaces services use to reach the outside world.

Unprefixed nouns are the ports; implementations are named for what they are
(``SqlCallBudget``, ``InMemoryCallBudget``, ``MiraklClient`` ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from mirakl_sync.domain.call_budget import Budget
from mirakl_sync.domain.exceptions import (
    ExceptionRecord,
    ExceptionReport,
    ExceptionStatus,
    OwnerTeam,
)
from mirakl_sync.domain.item_availability import BlockedRange
from mirakl_sync.domain.offers import (
    ExportedOffer,
    ImportErrorLine,
    ImportProgress,
    OfferRow,
    ShopVariant,
    SupercycleItem,
)
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
from mirakl_sync.domain.shipments import OrderRef
from mirakl_sync.domain.stock_pool import HoldOutcome, LineHold, Reservation


class Clock(Protocol):
    def __call__(self) -> float:
        """Seconds since the epoch (``time.time`` in production, a fake in tests)."""
        ...


class CallBudget(Protocol):
    """A call budget shared by every process that calls the same endpoint."""

    def reserve(self, key: str, budget: Budget, *, max_wait: float | None = None) -> float:
        """Take the next slot of ``key``'s budget; return the seconds to wait before calling.

        With ``max_wait`` (the wait bound), take only a slot that
        ``domain.call_budget.hold_limit`` allows, else raise ``CallBudgetExhaustedError``
        with the time the next slot opens, leaving the budget unchanged.
        """
        ...


class Claims(Protocol):
    """Short leases on a key shared by every process: one request per key at a time."""

    def claim(self, key: str, lease_seconds: float) -> float | None:
        """Take ``key`` for ``lease_seconds``; a token, or None when a live claim holds it."""
        ...

    def held(self, key: str) -> bool:
        """Whether a live claim holds ``key`` now."""
        ...

    def release(self, key: str, token: float) -> None:
        """End the claim ``token`` (one that expired and was taken since is left alone)."""
        ...


class ExceptionLog(Protocol):
    """Where flows record what could not go through (the ``exceptions`` table)."""

    def record(self, report: ExceptionReport, now: datetime) -> ExceptionRecord:
        """Open the exception, or bump the count of the same open one (reopening a resolved one)."""
        ...

    def resolve(self, fingerprint: str, now: datetime) -> bool:
        """Mark the exception resolved once the record went through; False if none was open."""
        ...

    def list(
        self,
        *,
        status: ExceptionStatus | None = ExceptionStatus.OPEN,
        owner: OwnerTeam | None = None,
        marketplace: str | None = None,
        limit: int = 100,
    ) -> list[ExceptionRecord]:
        """Newest first."""
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


# Orders


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


# Stock and offers


class ShopStock(Protocol):
    """Shopify, read in bulk: every variant with ``available`` per location."""

    def variants(self) -> AsyncIterator[ShopVariant]: ...


class SupercycleCatalogue(Protocol):
    """Supercycle, read in bulk: items, and the blocked dates covering a day."""

    def items(self, *, updated_since: datetime | None = None) -> AsyncIterator[SupercycleItem]:
        """Every item (or those changed since ``updated_since``)."""
        ...

    def blocked_ranges(self, day: date) -> AsyncIterator[BlockedRange]:
        """The blocked date ranges active on ``day``."""
        ...


class MarketplaceOffers(Protocol):
    """One marketplace's offer, stock and price imports and its offer export."""

    marketplace: str

    async def push_stock(self, quantities: Mapping[str, int]) -> str:
        """STO01 with one line per offer; returns the import id."""
        ...

    async def stock_import(self, import_id: str) -> ImportProgress: ...  # STO02

    async def stock_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # STO03

    async def push_prices(self, prices: Mapping[str, Decimal]) -> str:
        """PRI01: the FULL price set of each offer given (others of those offers are deleted)."""
        ...

    async def price_import(self, import_id: str) -> ImportProgress: ...  # PRI02

    async def price_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # PRI03

    async def push_offers(self, rows: Sequence[OfferRow], *, replace: bool = False) -> str:
        """OF01, NORMAL (REPLACE deletes every offer not in the file: only on request)."""
        ...

    async def offer_import(self, import_id: str) -> ImportProgress: ...  # OF02

    async def offer_import_errors(self, import_id: str) -> list[ImportErrorLine]: ...  # OF03

    async def start_export(self, since: datetime | None) -> str:
        """OF52 (differential when ``since`` is given); returns the tracking id."""
        ...

    async def export_urls(self, tracking_id: str) -> list[str] | None:
        """OF53: the chunk URLs once complete, None while pending."""
        ...

    async def download_export(self, url: str) -> list[ExportedOffer]: ...  # OF54


class OfferStates(Protocol):
    """What the hub decided, sent and saw per offer and marketplace (``offer_states``)."""

    def known_quantities(
        self, marketplace: str, skus: Collection[str] | None = None
    ) -> dict[str, int | None]: ...

    def record_desired_quantities(
        self, marketplace: str, changes: Mapping[str, int], now: datetime
    ) -> None: ...

    def mark_skipped(self, marketplace: str, reasons: Mapping[str, str], now: datetime) -> None: ...

    def pending_quantities(self, marketplace: str) -> dict[str, int]: ...

    def mark_stock_sent(
        self, marketplace: str, quantities: Mapping[str, int], import_id: str, now: datetime
    ) -> None: ...

    def mark_stock_errors(
        self, marketplace: str, import_id: str, errors: Mapping[str, str], now: datetime
    ) -> list[str]:
        """Mark the offers still carried by ``import_id`` as errors; return their SKUs."""
        ...

    def requeue(
        self, marketplace: str, quantities: Mapping[str, int | None], now: datetime
    ) -> None:
        """Drift: record what the marketplace shows and queue the hub's value again."""
        ...

    def record_marketplace_quantities(
        self, marketplace: str, quantities: Mapping[str, int | None]
    ) -> None: ...

    def sent_quantities(self, marketplace: str) -> dict[str, int | None]: ...

    def learn_listed(self, marketplace: str, quantities: Mapping[str, int], now: datetime) -> None:
        """Offers the marketplace's export shows (listed outside the hub or before it):
        record their quantity there, adding a row for each SKU the hub never decided."""
        ...

    def listed_skus(self, marketplace: str, skus: Collection[str] | None = None) -> set[str]:
        """SKUs the marketplace's export showed (``marketplace_quantity`` known)."""
        ...

    def known_prices(self, marketplace: str) -> dict[str, str | None]: ...

    def record_desired_prices(
        self, marketplace: str, prices: Mapping[str, str], now: datetime
    ) -> None: ...

    def pending_prices(self, marketplace: str) -> dict[str, str]: ...

    def mark_prices_sent(
        self, marketplace: str, prices: Mapping[str, str], now: datetime
    ) -> None: ...

    def status_counts(self, marketplace: str) -> dict[str, int]: ...

    def record_import(
        self, marketplace: str, import_id: str, kind: str, lines: int, now: datetime
    ) -> None: ...

    def open_imports(self, marketplace: str, kind: str) -> list[str]: ...

    def finish_import(
        self,
        marketplace: str,
        import_id: str,
        status: str,
        lines_in_error: int | None,
        now: datetime,
    ) -> None: ...

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...


class ShopStockLookup(Protocol):
    """Shopify, read key by key for an incremental stock cycle."""

    async def variant_stock(self, sku: str) -> list[ShopVariant]:
        """The variants whose SKU is exactly ``sku``, with ``available`` per location."""
        ...

    async def sku_of_inventory_item(self, inventory_item_id: str) -> str | None:
        """The SKU of an inventory item (numeric id); None if it is gone or has none."""
        ...


class DirtyStockKeys(Protocol):
    """Source keys changed since the stock flow last read them (survive restarts)."""

    def mark(self, kind: str, keys: Iterable[str], now: datetime) -> None: ...

    def dirty(self, kind: str) -> dict[str, datetime]:
        """Every dirty key of ``kind`` and when it was last marked."""
        ...

    def clear(self, kind: str, seen: Mapping[str, datetime]) -> None:
        """Clear the keys handled, unless marked again after ``seen[key]``."""
        ...

    def clear_marked_before(self, before: datetime) -> None: ...

    def learn_inventory_items(self, items: Mapping[str, str], now: datetime) -> None:
        """Bind inventory item ids to variant SKUs (learnt during full reads)."""
        ...

    def skus_of_items(self, item_ids: Iterable[str]) -> dict[str, str]: ...


# Dispatch and refunds


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


class Cursors(Protocol):
    """The ``sync_cursors`` table: small per-flow state that survives restarts."""

    def get(self, flow: str, scope: str) -> str | None: ...

    def put(self, flow: str, scope: str, value: str, now: datetime) -> None: ...

    def written_at(self, flow: str, scope: str) -> datetime | None:
        """The ``now`` the cursor was last put with; None without a cursor."""
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


# Webhook subscriptions


class WebhookSubscriptions(Protocol):
    """The shop's webhook subscriptions (Shopify ``webhookSubscriptions``)."""

    async def subscribed(self) -> set[tuple[str, str]]:
        """(topic enum, uri) of every existing subscription."""
        ...

    async def subscribe(self, topic: str, uri: str) -> None: ...


# Orders from before the hub (services.order_adoption)


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
