"""The shop side of the shipments/refunds safety net: what changed in Shopify since a cursor.

Webhooks carry fulfilments, refunds and cancellations at once, but Shopify does not
guarantee them, so each flow also polls. A pass reads the shop's orders updated since its
cursor (``updated_at:>=``, oldest change first, pages of ``page_size``), each with its
fulfilments and refunds, keeps the orders the hub knows (``marketplace_orders``), turns them
into events and hands each page to the flow. So:

* **Nothing is missed however large the backlog.** Every order that changed is read,
  whatever its hub status: a refund or a return after shipment (the hub status is then
  ``closed``) is seen like any other. Whether Mirakl still takes it is Mirakl's answer
  (OR28 on a line that cannot be refunded any more becomes a finance exception).
* **The cost grows with the changes, not with the orders on file.** A pass with nothing new
  reads one page: the orders re-read in the overlap.
* **Each page is a unit of progress.** The cursor (``sync_cursors``, flow ``shop-changes``,
  one scope per flow) moves to the page's last change only after the flow handled the
  page. A page Shopify fails to answer (after the client's retries) ends the pass there:
  the cursor stays, the next pass resumes from it.
* **Re-reading is harmless.** Each pass starts up to ``overlap`` before its cursor
  (``updatedAt`` has one-second resolution and a search index may list a change a moment
  late; a feed behind the shop re-reads less, see ``ShopChangeFeed._since``), and an
  order changed during a pass can come back on a later page. Everything downstream is keyed
  by its source: OR28 once per refund source (``services.refunds`` binds it), dispatch
  re-reads the marketplace before it writes (``services.dispatch``), cancellations re-read
  the order (``services.cancellations``).
* **Re-reading is cheap.** Once a page is handled, each of its orders is recorded with a
  digest of what it asked (``ShopEvents.digest``: its fulfilments, refunds and
  cancellations; ``shop_feed_handled``). An order read again with the same asks is
  skipped: nothing is sent and Mirakl is not read for it. The digest, not ``updatedAt``,
  decides, so a change in the very second a pass read the order (the same ``updatedAt``)
  is still new work. What a handled order left undone is not lost by the skip: a failure
  or a wait is its own record, retried by later passes (``services.pass_failures``,
  ``services.waiting``). Before (issue 10, the hour soak at 2,000 orders an hour under
  faults), every pass handled its 5 minutes of overlap again, re-reading Mirakl's
  shipments page by page; that took most of a pass and the cursor fell 50 minutes behind.

The first pass (no cursor yet) starts at the creation of the oldest marketplace order that
has a shop order: no shop order of the hub can have changed before it.

Orders from before the hub (accepted by a previous connector) are linked by
``services.order_adoption``: at the start of a pass (stored orders with no shop order;
each one linked is read once, its events being older than the cursor) and on each page
(a changed shop order the hub does not know that names a marketplace order).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.shipments import SHIPPED_STATES, OrderRef
from mirakl_sync.errors import RetryableError
from mirakl_sync.services.dispatch_types import Fulfilment
from mirakl_sync.services.order_adoption import OrderAdoption
from mirakl_sync.services.ports import (
    Clock,
    Cursors,
    HandledShopOrders,
    MarketplaceOrderIndex,
    ShopDispatchApi,
)
from mirakl_sync.services.refunds import RefundSource

log = structlog.get_logger(__name__)

CURSOR_FLOW = "shop-changes"
#: How late Shopify's search may list a change: a pass re-reads this far behind what the
#: page that moved its cursor could have missed (see ``ShopChangeFeed._since``).
OVERLAP = timedelta(minutes=5)
#: The least a pass re-reads behind its cursor (the one-second resolution of
#: ``updatedAt``, and the clocks of Shopify and the hub differing a little).
MIN_OVERLAP = timedelta(minutes=1)
#: Orders per page: 10 keeps ``OrdersChangedSince`` under Shopify's 1000 points a query.
PAGE_SIZE = 10
#: Hub statuses after which nothing of the order ships any more (refunds still may).
_DONE_FOR_SHIPPING = frozenset({"refused", "cancelled", "closed"})
#: Marketplace states in which a whole-order cancellation no longer applies.
_NOT_CANCELLABLE = frozenset(
    {
        OrderState.CANCELED,
        OrderState.REFUSED,
        OrderState.SHIPPED,
        OrderState.TO_COLLECT,
        OrderState.RECEIVED,
        OrderState.CLOSED,
    }
)


def fulfilment_from_shopify(shopify_order_id: str, f: dict[str, Any]) -> Fulfilment:
    """A fulfilment as the port (``lines``, ``tracking``) or a webhook (``line_items``,
    ``tracking_*``) gives it."""
    skus: dict[str, int] = {}
    for line in f.get("lines") or f.get("line_items") or []:
        sku = str(line.get("sku") or "")
        skus[sku] = skus.get(sku, 0) + int(line.get("quantity") or 0)
    tracking = (f.get("tracking") or [{}])[0] if "tracking" in f else f
    legacy = f.get("legacy_id") or f.get("id")
    return Fulfilment(
        source_id=f"shopify-fulfillment:{str(legacy).rsplit('/', 1)[-1]}",
        shopify_order_id=str(shopify_order_id),
        skus=skus,
        carrier=tracking.get("company") or tracking.get("tracking_company"),
        tracking_number=tracking.get("number") or tracking.get("tracking_number"),
        tracking_url=tracking.get("url") or tracking.get("tracking_url"),
    )


def split_shop_refund(
    marketplace: str, order_id: str, r: dict[str, Any]
) -> tuple[RefundSource | None, dict[str, int]]:
    """A Shopify refund: returned/refunded units (OR28) and cancelled unfulfilled units (OR30)."""
    refunded: dict[str, int] = {}
    cancelled: dict[str, int] = {}
    for line in r.get("lines") or r.get("refund_line_items") or []:
        sku = str(line.get("sku") or (line.get("line_item") or {}).get("sku") or "")
        target = cancelled if str(line.get("restock_type", "")).upper() == "CANCEL" else refunded
        target[sku] = target.get(sku, 0) + int(line.get("quantity") or 0)
    legacy = str(r.get("legacy_id") or r.get("id")).rsplit("/", 1)[-1]
    source = (
        RefundSource(f"shopify-refund:{legacy}", marketplace, order_id, refunded, "shopify_refund")
        if refunded
        else None
    )
    return source, cancelled


@dataclass
class ShopEvents:
    """What one page of changed shop orders asks of the marketplaces."""

    fulfilments: list[Fulfilment] = field(default_factory=list)
    refunds: list[RefundSource] = field(default_factory=list)
    #: (marketplace, order id): the shop order was cancelled (OR29, or OR30 per line).
    order_cancels: list[tuple[str, str]] = field(default_factory=list)
    #: (marketplace, order id, SKU -> quantity): unfulfilled units refunded with restock
    #: CANCEL (OR30).
    line_cancels: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)
    #: (marketplace, order id) -> the shop order's id, for the orders added whose stored
    #: marketplace state is not shipped yet.
    unshipped: dict[tuple[str, str], str] = field(default_factory=dict)

    def fulfilments_before(self, refunds: list[RefundSource]) -> list[Fulfilment]:
        """The fulfilments of the shop orders these refunds are for, where the order is
        not known as shipped: a refund made after a fulfilment goes to Mirakl after its
        shipment, not on lines still waiting to ship."""
        shops = {self.unshipped.get((r.marketplace, r.order_id)) for r in refunds}
        return [f for f in self.fulfilments if f.shopify_order_id in shops]

    @classmethod
    def joined(cls, parts: list[ShopEvents]) -> ShopEvents:
        """One set of events from several (the orders of a page, each read alone)."""
        out = cls()
        for part in parts:
            out.fulfilments.extend(part.fulfilments)
            out.refunds.extend(part.refunds)
            out.order_cancels.extend(part.order_cancels)
            out.line_cancels.extend(part.line_cancels)
            out.unshipped.update(part.unshipped)
        return out

    def digest(self) -> str:
        """What these events ask of the marketplaces, as a digest: equal digests, the same
        work (``unshipped`` is not work: it only orders it)."""
        asks = {
            "fulfilments": [asdict(f) for f in self.fulfilments],
            "refunds": [asdict(r) for r in self.refunds],
            "order_cancels": self.order_cancels,
            "line_cancels": self.line_cancels,
        }
        text = json.dumps(asks, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def add(self, order: dict[str, Any], ref: OrderRef) -> None:
        shop_id = ref.shopify_order_id or str(order["id"])
        if ref.state not in SHIPPED_STATES:
            self.unshipped[(ref.marketplace, ref.order_id)] = shop_id
        if ref.hub_status not in _DONE_FOR_SHIPPING:
            self.fulfilments.extend(
                fulfilment_from_shopify(shop_id, f) for f in order.get("fulfillments") or []
            )
        if (
            order.get("cancelled_at")
            and ref.state not in _NOT_CANCELLABLE
            and ref.hub_status not in ("refused", "cancelled")
        ):
            self.order_cancels.append((ref.marketplace, ref.order_id))
        for r in order.get("refunds") or []:
            refund, cancel = split_shop_refund(ref.marketplace, ref.order_id, r)
            if refund is not None:
                self.refunds.append(refund)
            if cancel:
                self.line_cancels.append((ref.marketplace, ref.order_id, cancel))


@dataclass(frozen=True)
class _OrderAsks:
    """One order of a page: what it asks (its events alone) and their digest."""

    order: dict[str, Any]
    ref: OrderRef
    events: ShopEvents
    digest: str

    @classmethod
    def of(cls, order: dict[str, Any], ref: OrderRef) -> _OrderAsks:
        events = ShopEvents()
        events.add(order, ref)
        return cls(order, ref, events, events.digest())


@dataclass(frozen=True)
class FeedPass:
    """How a pass went: pages and hub orders read; ``complete`` False when a page failed."""

    pages: int
    orders: int
    complete: bool = True
    error: str | None = None
    #: The error that ended the pass (``complete`` False), for the exception the pass
    #: records (``services.pass_failures``).
    failure: RetryableError | None = field(default=None, compare=False)


@dataclass(frozen=True)
class FeedPage:
    """One page of a pass: where the next page starts (``after``), whether it was the
    last, the hub orders on it, and the read's error when Shopify did not answer (then
    ``last`` is True and the cursor did not move)."""

    after: str | None
    last: bool
    orders: int
    failure: RetryableError | None = field(default=None, compare=False)
    #: The page moved the cursor on (it held changes newer than the stored cursor: it was
    #: not all in the overlap re-read).
    advanced: bool = False
    #: Hub orders on the page read again with the same asks as when a pass handled them:
    #: skipped (see the module docstring).
    skipped: int = 0


def _shopify_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class ShopChangeFeed:
    """Pages of changed shop orders since a flow's cursor (see the module docstring)."""

    def __init__(
        self,
        shop: ShopDispatchApi,
        index: MarketplaceOrderIndex,
        cursors: Cursors,
        clock: Clock,
        *,
        overlap: timedelta = OVERLAP,
        min_overlap: timedelta = MIN_OVERLAP,
        page_size: int = PAGE_SIZE,
        adoption: OrderAdoption | None = None,
        handled: HandledShopOrders | None = None,
    ) -> None:
        self._shop = shop
        self._index = index
        self._cursors = cursors
        self._clock = clock
        self._overlap = overlap
        self._min_overlap = min(min_overlap, overlap)
        self._page_size = page_size
        #: Orders from before the hub (``services.order_adoption``): linked at the start
        #: of a pass and on each page; None reads only the orders the hub linked itself.
        self._adoption = adoption
        #: What passes handled of each order (the overlap re-read skips it unchanged);
        #: None handles every order read.
        self._handled = handled

    def _since(self, scope: str) -> datetime | None:
        """The cursor minus what the page that moved it could have missed: a change
        listed late was made at most ``overlap`` before that page was read (the cursor's
        ``written_at``), so a cursor written ``lag`` after the change it stands at needs
        ``overlap - lag`` re-read, at least ``MIN_OVERLAP``. Caught up, a pass re-reads
        the whole overlap; behind, less, so it catches up. Before (issue 10, a soak at
        2,000 orders an hour under faults), every pass re-read the five minutes whatever
        its lag, and the re-read took most of its share of the period."""
        stored = self._cursors.get(CURSOR_FLOW, scope)
        if stored is not None:
            cursor = _parse(stored)
            written = self._cursors.written_at(CURSOR_FLOW, scope)
            lag = max(timedelta(0), written - cursor) if written is not None else timedelta(0)
            return cursor - max(self._min_overlap, self._overlap - lag)
        earliest = self._index.earliest_with_shop_order()
        return None if earliest is None else earliest - self._overlap

    async def catch_up(self, scope: str, handle: Callable[[ShopEvents], Awaitable[None]]) -> int:
        """Orders linked since the last pass (``services.order_adoption``): their
        fulfilments and refunds may be older than the cursor, so each is read once here
        and handed to ``handle``. Returns how many were read."""
        if self._adoption is None:
            return 0
        caught = await self._adoption.catch_up(scope)
        if caught:
            events = ShopEvents()
            for item in caught:
                events.add(item.order, item.ref)
            await handle(events)
            self._adoption.caught_up(caught)
        return len(caught)

    def start(self, scope: str) -> str | None:
        """Where a pass of ``scope`` reads from (Shopify's ``updated_at`` form): the
        cursor minus the overlap; None when no marketplace order has a shop order yet.
        A pass keeps this one ``since`` for all its pages (a page's ``after`` is only
        valid for the query it came from)."""
        since = self._since(scope)
        if since is None:
            return None
        if self._handled is not None:
            # No page of this pass can list an order last changed before ``since``; one
            # that changes again is read with new asks anyway.
            self._handled.prune(scope, since)
        return _shopify_time(since)

    async def reread(self, shop_order_id: str) -> tuple[dict[str, Any], OrderRef] | None:
        """One shop order as a page gives it (with its fulfilments and refunds), and its
        marketplace order; None when the hub does not know it (any more)."""
        ref = self._index.by_shopify_order(shop_order_id)
        if ref is None:
            return None
        head = await self._shop.order(shop_order_id)
        order = {
            "id": shop_order_id,
            "cancelled_at": head.get("cancelled_at"),
            "fulfillments": await self._shop.fulfillments(shop_order_id),
            "refunds": await self._shop.refunds(shop_order_id),
        }
        return order, ref

    async def page(
        self,
        scope: str,
        since: str,
        after: str | None,
        handle: Callable[[ShopEvents], Awaitable[None]],
        isolate: Callable[[dict[str, Any], OrderRef, Exception], Awaitable[None]] | None = None,
    ) -> FeedPage:
        """One page of the pass ``(since, after)``: its events go to ``handle``, then the
        cursor moves to the page's last change (never back). A page Shopify does not
        answer (after the client's retries) is returned as failed, the cursor unchanged.
        An error raised by ``handle`` propagates, the cursor unchanged (the page comes
        again next pass), unless ``isolate`` is given: then each order of the page is
        handled alone, an order that raises again goes to ``isolate`` (to be kept for a
        retry), and the cursor moves on, so one order cannot hold the feed back."""
        # When the page was read: the cursor it moves is written with it (``_since``).
        read_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            page = await self._shop.changed_orders(since, after=after, page_size=self._page_size)
        except RetryableError as exc:
            stored = self._cursors.get(CURSOR_FLOW, scope)
            log.warning("shop_feed.page_failed", scope=scope, cursor=stored, error=str(exc))
            return FeedPage(after=after, last=True, orders=0, failure=exc)
        changed = page["orders"]
        refs = self._index.by_shopify_orders(str(o["id"]) for o in changed)
        unknown = [o for o in changed if str(o["id"]) not in refs]
        if self._adoption is not None and unknown:
            refs.update(await self._adoption.adopt_changed(scope, unknown))
        known = [(o, refs[str(o["id"])]) for o in changed if str(o["id"]) in refs]
        fresh, skipped = self._unhandled(scope, known)
        done = fresh
        try:
            await handle(ShopEvents.joined([asks.events for asks in fresh]))
        except Exception:
            if isolate is None:
                raise
            log.warning("shop_feed.page_isolated", scope=scope, orders=len(fresh), exc_info=True)
            done = []
            for asks in fresh:
                try:
                    await handle(asks.events)
                except Exception as exc:  # kept by ``isolate``; the page goes on
                    await isolate(asks.order, asks.ref, exc)
                else:
                    done.append(asks)
        if self._handled is not None:
            self._handled.mark(
                scope,
                {str(a.order["id"]): (a.digest, _parse(str(a.order["updated_at"]))) for a in done},
            )
        orders = len(known)
        advanced = False
        if changed:
            last = max(_parse(str(o["updated_at"])) for o in changed)
            stored = self._cursors.get(CURSOR_FLOW, scope)
            if stored is None or last > _parse(stored):
                self._cursors.put(CURSOR_FLOW, scope, _shopify_time(last), read_at)
                advanced = True
        end = page.get("end_cursor")
        last_page = not page["has_next_page"] or not end
        return FeedPage(
            after=None if last_page else str(end),
            last=last_page,
            orders=orders,
            advanced=advanced,
            skipped=skipped,
        )

    def _unhandled(
        self, scope: str, known: list[tuple[dict[str, Any], OrderRef]]
    ) -> tuple[list[_OrderAsks], int]:
        """The orders of a page whose asks differ from what a pass last handled of them,
        and how many were skipped."""
        read = [_OrderAsks.of(order, ref) for order, ref in known]
        if self._handled is None:
            return read, 0
        handled = self._handled.digests(scope, (str(a.order["id"]) for a in read))
        fresh = [a for a in read if handled.get(str(a.order["id"])) != a.digest]
        return fresh, len(read) - len(fresh)

    async def run(self, scope: str, handle: Callable[[ShopEvents], Awaitable[None]]) -> FeedPass:
        """A whole pass in one go (catch-up, then every page): each page's events go to
        ``handle``, then the cursor moves past the page. An error raised by ``handle``
        ends the pass with the cursor before that page (its events come again next pass).
        The scheduled passes run the same units as separate durable steps instead
        (``workflows.safety_net``)."""
        await self.catch_up(scope, handle)
        since = self.start(scope)
        if since is None:
            return FeedPass(0, 0)  # no marketplace order has a shop order yet
        after: str | None = None
        pages = orders = 0
        while True:
            page = await self.page(scope, since, after, handle)
            if page.failure is not None:
                return FeedPass(
                    pages, orders, complete=False, error=str(page.failure), failure=page.failure
                )
            pages += 1
            orders += page.orders
            if page.last:
                return FeedPass(pages, orders)
            after = page.after
