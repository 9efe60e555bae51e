"""Orders from before the hub: link marketplace orders accepted by a previous connector
(or by hand) to their Shopify orders, so their shipments and refunds still go through.

The hub links a marketplace order to its shop order when it imports it. Orders accepted
before the hub was installed were never imported: the hub would neither ship them nor
send their refunds, and the safety-net poll (``services.shop_feed``) keeps only shop orders
the hub has linked. Adoption closes that gap from both sides, at a cost that grows with
what changes, never with the orders on file:

* **From the marketplace** (:meth:`OrderAdoption.adopt_unlinked`): a stored order with no
  shop order, in a state past acceptance (:data:`ADOPTABLE_STATES`), that the hub never
  decided, is looked up in Shopify by ``sourceIdentifier`` = its Mirakl order id (how the
  hub and most connectors key a marketplace order). Found: the shop order is bound, the
  hub status follows the marketplace state (:func:`adopted_status`), and each feed reads
  that shop order's fulfilments and refunds once (a *catch-up*, ``sync_cursors`` flow
  ``shop-catch-up``), since they may be older than its cursor. Not found: an
  ``order_unlinked`` exception for ops, upserted by fingerprint, resolved once found; the
  look-up is repeated when Mirakl changes the order, and hourly while it is still open
  (``order-adoption`` memo). The first pull of a marketplace sweeps every open order
  (``services.order_pull``), so the SHIPPING orders a previous connector accepted are on
  file from the first day.
* **From the shop** (:meth:`OrderAdoption.adopt_changed`): a changed shop order the hub
  does not know, with a ``sourceIdentifier``, made by neither the hub (its
  ``source_name``) nor the shop's own channels (:data:`SHOP_CHANNELS`), is looked up on
  every marketplace by OR11 ``order_ids`` (batched: up to 100 ids a call). That is how an
  order shipped long ago, outside every pull window, whose refund is made today, is
  found. Found: stored, bound, and its events are handled in the same page. Found on no
  marketplace: remembered (``shop-adoption-miss``), never asked again. A marketplace that
  does not answer: the candidates are kept (``shop-adoption-retry``) and asked again by
  the next pass, whose cursor may be past them by then.

Everything here is idempotent: a repeated adoption binds the same shop order again, and
downstream writes are keyed by their source (dispatch re-reads Mirakl, OR28 once per
refund source, and what Mirakl's OR11 lines already carry as refunded is not refunded
again).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from mirakl_sync.domain.exception_types import ExceptionType
from mirakl_sync.domain.exceptions import ExceptionReport, OwnerTeam, Severity
from mirakl_sync.domain.marketplace_order import OrderState
from mirakl_sync.domain.orders import (
    HubStatus,
    MarketplaceOrder,
    ShopOrderRef,
    StoredOrder,
    acceptance_deadline,
)
from mirakl_sync.domain.shipments import OrderRef
from mirakl_sync.errors import RetryableError
from mirakl_sync.services.ports import (
    AdoptionRepository,
    Clock,
    ExceptionLog,
    MarketplaceOrderLookup,
    OrderRepository,
    ShopDispatchApi,
    ShopOrderFinder,
)

log = structlog.get_logger(__name__)

#: Mirakl order states past acceptance (OR11 ``order_state_codes``; incidents are a flag,
#: ``has_incident``, not a state): something may still ship or be refunded.
ADOPTABLE_STATES = frozenset(
    {
        OrderState.WAITING_DEBIT,
        OrderState.WAITING_DEBIT_PAYMENT,
        OrderState.SHIPPING,
        OrderState.TO_COLLECT,
        OrderState.SHIPPED,
        OrderState.RECEIVED,
    }
    | {OrderState.CLOSED}
)
#: States in which the order may still ship: an unlinked one is looked up again hourly.
_STILL_SHIPPING = frozenset(
    {OrderState.WAITING_DEBIT, OrderState.WAITING_DEBIT_PAYMENT, OrderState.SHIPPING}
)
#: ``sourceName`` of the shop's own sales channels (Shopify's ``Order.sourceName``
#: documents "web", "mobile_app" and "pos"; "shopify_draft_order", "iphone" and "android"
#: are the other values Shopify is known to set, not listed in the Admin schema's text).
SHOP_CHANNELS = frozenset({"web", "pos", "mobile_app", "shopify_draft_order", "iphone", "android"})
#: Memo of unlinked orders looked up (scope ``<marketplace>|<order id>``).
MEMO_FLOW = "order-adoption"
#: Shop orders to read once per feed (scope ``<feed scope>|<marketplace>|<order id>``,
#: value the shop order id).
CATCH_UP_FLOW = "shop-catch-up"
#: Shop orders found on no marketplace (scope: the shop order id).
SHOP_MISS_FLOW = "shop-adoption-miss"
#: Shop orders to look up again (a marketplace did not answer; value: sourceIdentifier).
SHOP_RETRY_FLOW = "shop-adoption-retry"
#: The polling feeds that read shop orders (``workflows.dispatch``).
FEED_SCOPES = ("shipments", "refunds")
RETRY_OPEN = timedelta(hours=1)
#: Unlinked orders looked up per pass (oldest first; the rest wait for the next pass).
BATCH = 200

_RANK = {
    HubStatus.NEW: 0,
    HubStatus.WAITING: 0,
    HubStatus.ACCEPTED: 1,
    HubStatus.SHIPPING: 2,
    HubStatus.CLOSED: 3,
}


def adopted_status(current: HubStatus, state: str) -> HubStatus:
    """The hub status of an adopted order in Mirakl ``state``, never moving back: awaiting
    debit = ``accepted``; SHIPPING = ``shipping`` (paid, may ship); shipped, to collect,
    received or closed = ``closed`` (nothing left to ship; refunds are still polled)."""
    if state in (OrderState.WAITING_DEBIT, OrderState.WAITING_DEBIT_PAYMENT):
        target = HubStatus.ACCEPTED
    elif state == OrderState.SHIPPING:
        target = HubStatus.SHIPPING
    elif state in ADOPTABLE_STATES:
        target = HubStatus.CLOSED
    else:
        return current
    if current not in _RANK or _RANK[target] <= _RANK[current]:
        return current
    return target


def unlinked_report(stored: StoredOrder, *, marketplace_name: str) -> ExceptionReport:
    order = stored.order
    shipping = order.state in _STILL_SHIPPING
    return ExceptionReport(
        type=ExceptionType.ORDER_UNLINKED,
        owner=OwnerTeam.OPS,
        severity=Severity.ERROR if shipping else Severity.WARNING,
        entity_type="order",
        entity_id=order.order_id,
        marketplace=order.marketplace,
        message=(
            f"{marketplace_name} order {order.order_id} ({order.state}) was accepted before "
            "the hub, and no Shopify order carries its id as sourceIdentifier, so the hub "
            "cannot ship, refund or cancel it. Ship it (and refund it later) by hand in the "
            "marketplace back office; or, if its Shopify order was made without that id, "
            "handle it there the same way (Shopify cannot change an order's "
            "sourceIdentifier). The hub looks again when the order changes on the "
            "marketplace and hourly while it may still ship, and resolves this once found."
        ),
        details={"state": order.state, "created_at": order.created_at.isoformat()},
    )


def ask_feeds_to_read(
    repository: AdoptionRepository | OrderRepository,
    order: MarketplaceOrder,
    shop_order_id: str,
    now: datetime,
    *,
    but: str | None = None,
) -> None:
    """Have every polling feed (but ``but``) read ``shop_order_id`` once at its next pass
    (its catch-up): what was done to a shop order before the hub linked it, the feeds
    passed over, not knowing it then."""
    for scope in FEED_SCOPES:
        if scope != but:
            key = f"{scope}|{order.marketplace}|{order.order_id}"
            repository.set_cursor(CATCH_UP_FLOW, key, shop_order_id, now)


@dataclass(frozen=True)
class CatchUp:
    """A shop order to read once for a feed (its events may be older than the cursor)."""

    key: str
    order: dict[str, Any]
    ref: OrderRef


def _ref(stored: StoredOrder, shop_order_id: str) -> OrderRef:
    return OrderRef(
        marketplace=stored.order.marketplace,
        order_id=stored.order.order_id,
        shopify_order_id=shop_order_id,
        state=stored.order.state,
        hub_status=stored.hub_status.value,
    )


def _legacy(shop_order_id: str) -> str:
    return str(shop_order_id).rsplit("/", 1)[-1]


class OrderAdoption:
    """See the module docstring."""

    def __init__(
        self,
        repository: AdoptionRepository,
        shop_orders: ShopOrderFinder,
        shop: ShopDispatchApi,
        lookup: MarketplaceOrderLookup,
        exceptions: ExceptionLog,
        clock: Clock,
        *,
        marketplaces: Mapping[str, str],
        acceptance_window_hours: Mapping[str, float],
        hub_source_name: str,
    ) -> None:
        self._repository = repository
        self._shop_orders = shop_orders
        self._shop = shop
        self._lookup = lookup
        self._exceptions = exceptions
        self._clock = clock
        #: Code -> display name, in configuration order.
        self._marketplaces = dict(marketplaces)
        self._windows = dict(acceptance_window_hours)
        self._hub_source = hub_source_name

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    # ------------------------------------------------------------------ binding

    def _bind(
        self, stored: StoredOrder, shop_order: ShopOrderRef, *, but: str | None
    ) -> StoredOrder:
        """Bind ``shop_order``, move the hub status, resolve the exception, and ask every
        feed but ``but`` to read the shop order once."""
        now = self._now()
        order = stored.order
        self._repository.set_shop_order(order.marketplace, order.order_id, shop_order, now)
        status = adopted_status(stored.hub_status, order.state)
        if status is not stored.hub_status:
            self._repository.set_status(order.marketplace, order.order_id, status, now)
        self._exceptions.resolve(
            unlinked_report(stored, marketplace_name=order.marketplace).fingerprint, now
        )
        self._repository.delete_cursor(MEMO_FLOW, f"{order.marketplace}|{order.order_id}")
        ask_feeds_to_read(self._repository, order, shop_order.id, now, but=but)
        log.info(
            "orders.adopted",
            marketplace=order.marketplace,
            order_id=order.order_id,
            shopify_order=shop_order.name,
            state=order.state,
            hub_status=status.value,
        )
        adopted = self._repository.get(order.marketplace, order.order_id)
        return adopted if adopted is not None else stored

    # ------------------------------------------------------------------ marketplace side

    def _due(self, stored: StoredOrder, memo: str | None, now: datetime) -> bool:
        if memo is None:
            return True
        try:
            seen = json.loads(memo)
            looked = datetime.fromisoformat(seen["looked_up_at"])
            updated = str(seen["last_updated_at"])
        except (ValueError, KeyError, TypeError):
            return True
        if updated != stored.order.last_updated_at.isoformat():
            return True  # Mirakl changed the order since
        return stored.order.state in _STILL_SHIPPING and now - looked >= RETRY_OPEN

    async def adopt_unlinked(self) -> int:
        """Link the stored orders accepted before the hub (see the module docstring);
        returns how many were linked. Shopify not answering leaves the rest for later."""
        candidates = self._repository.unlinked_orders(ADOPTABLE_STATES)
        if not candidates:
            return 0
        memos = self._repository.cursors_of(MEMO_FLOW)
        now = self._now()
        linked = looked_up = 0
        for stored in candidates:
            if looked_up >= BATCH:
                break  # the rest in the next pass
            order = stored.order
            if order.marketplace not in self._marketplaces:
                continue
            scope = f"{order.marketplace}|{order.order_id}"
            if not self._due(stored, memos.get(scope), now):
                continue
            looked_up += 1
            try:
                found = await self._shop_orders.find(order.order_id)
            except RetryableError as exc:
                log.warning("orders.adoption_stopped", order_id=order.order_id, error=str(exc))
                return linked
            if found is not None:
                self._bind(stored, found, but=None)
                linked += 1
                continue
            report = unlinked_report(stored, marketplace_name=self._marketplaces[order.marketplace])
            self._exceptions.record(report, now)
            memo = {
                "looked_up_at": now.isoformat(),
                "last_updated_at": order.last_updated_at.isoformat(),
            }
            self._repository.set_cursor(MEMO_FLOW, scope, json.dumps(memo), now)
        return linked

    async def catch_up(self, scope: str) -> list[CatchUp]:
        """Adopt what can be, then the shop orders ``scope``'s feed must read once, each as
        ``changed_orders`` gives an order. Call :meth:`caught_up` once they are handled."""
        await self.adopt_unlinked()
        await self._retry_shop_candidates()
        out: list[CatchUp] = []
        for key, shop_order_id in self._repository.cursors_of(CATCH_UP_FLOW, f"{scope}|").items():
            _, marketplace, order_id = key.split("|", 2)
            stored = self._repository.get(marketplace, order_id)
            if stored is None or stored.shopify_order_id is None:
                self._repository.delete_cursor(CATCH_UP_FLOW, key)
                continue
            try:
                head = await self._shop.order(shop_order_id)
                fulfillments = await self._shop.fulfillments(shop_order_id)
                refunds = await self._shop.refunds(shop_order_id)
            except RetryableError as exc:
                log.warning("shop_feed.catch_up_stopped", scope=scope, error=str(exc))
                break
            order = {
                "id": shop_order_id,
                "cancelled_at": head.get("cancelled_at"),
                "fulfillments": fulfillments,
                "refunds": refunds,
            }
            out.append(CatchUp(key, order, _ref(stored, shop_order_id)))
        return out

    def caught_up(self, done: Iterable[CatchUp]) -> None:
        for item in done:
            self._repository.delete_cursor(CATCH_UP_FLOW, item.key)

    # ------------------------------------------------------------------ shop side

    def _candidate(self, order: Mapping[str, Any]) -> str | None:
        """The sourceIdentifier of a shop order that may be a marketplace order."""
        source_id = str(order.get("source_identifier") or "").strip()
        channel = str(order.get("source_name") or "")
        if not source_id or channel == self._hub_source or channel in SHOP_CHANNELS:
            return None
        if self._repository.cursor(SHOP_MISS_FLOW, _legacy(str(order["id"]))) is not None:
            return None
        return source_id

    async def adopt_changed(
        self, scope: str, orders: Sequence[Mapping[str, Any]]
    ) -> dict[str, OrderRef]:
        """Changed shop orders the hub does not know: the marketplace orders they are,
        stored and bound, by the shop order id as given."""
        candidates = {str(o["id"]): sid for o in orders if (sid := self._candidate(o))}
        if not candidates:
            return {}
        return await self._adopt_shop_orders(scope, candidates)

    async def _adopt_shop_orders(
        self, scope: str | None, candidates: Mapping[str, str]
    ) -> dict[str, OrderRef]:
        """``candidates``: shop order id -> sourceIdentifier."""
        now = self._now()
        refs: dict[str, OrderRef] = {}
        #: Shop orders settled without a link (a marketplace order bound to another shop
        #: order, or one past saving): never asked about again, like a miss.
        settled: set[str] = set()
        left = dict(candidates)

        async def link(shop_id: str, stored: StoredOrder) -> None:
            del left[shop_id]
            if stored.shopify_order_id is not None or stored.hub_status in (
                HubStatus.REFUSED,
                HubStatus.CANCELLED,
            ):
                settled.add(shop_id)  # another shop order is its; or it never went ahead
                return
            if stored.order.state not in ADOPTABLE_STATES:
                return  # still to be decided: the order flow imports it (and finds it)
            refs[shop_id] = _ref(
                self._bind(stored, await self._shop_ref(shop_id, stored), but=scope), shop_id
            )

        # Already on file (e.g. swept, not linked yet): no marketplace call needed.
        for shop_id, source_id in list(left.items()):
            for code in self._marketplaces:
                stored = self._repository.get(code, source_id)
                if stored is not None:
                    await link(shop_id, stored)
                    break
        unanswered = False
        for code in self._marketplaces:
            if not left:
                break
            try:
                found = await self._lookup.by_ids(code, sorted(set(left.values())))
            except RetryableError as exc:
                log.warning("orders.adoption_lookup_failed", marketplace=code, error=str(exc))
                unanswered = True
                continue
            by_id = {o.order_id: o for o in found}
            for shop_id, source_id in list(left.items()):
                order = by_id.get(source_id)
                if order is not None:
                    await link(shop_id, self._store(order, now))
        for shop_id in left.keys() | settled:
            legacy = _legacy(shop_id)
            if shop_id in left and unanswered:
                self._repository.set_cursor(
                    SHOP_RETRY_FLOW, legacy, f"{shop_id} {candidates[shop_id]}", now
                )
                continue
            # On no marketplace (a web order with an id of its own), or settled: never
            # asked about again.
            self._repository.set_cursor(SHOP_MISS_FLOW, legacy, now.isoformat(), now)
            self._repository.delete_cursor(SHOP_RETRY_FLOW, legacy)
        for shop_id in refs:
            self._repository.delete_cursor(SHOP_RETRY_FLOW, _legacy(shop_id))
        return refs

    async def _shop_ref(self, shop_id: str, stored: StoredOrder) -> ShopOrderRef:
        """The shop order as ``find`` names it (its name, e.g. ``#1042``); its id alone when
        Shopify does not answer now (the name is only shown to people)."""
        try:
            found = await self._shop_orders.find(stored.order.order_id)
        except RetryableError:
            found = None
        if found is not None and _legacy(found.id) == _legacy(shop_id):
            return found
        return ShopOrderRef(shop_id, _legacy(shop_id))

    def _store(self, order: MarketplaceOrder, now: datetime) -> StoredOrder:
        window = self._windows.get(order.marketplace, 72.0)
        deadline = acceptance_deadline(order.created_at, window)
        self._repository.record_pulled(order, deadline=deadline, now=now)
        stored = self._repository.get(order.marketplace, order.order_id)
        assert stored is not None  # just recorded
        return stored

    async def _retry_shop_candidates(self) -> None:
        """Shop orders a marketplace did not answer about in an earlier pass."""
        pending = self._repository.cursors_of(SHOP_RETRY_FLOW)
        if not pending:
            return
        candidates = dict(value.split(" ", 1) for value in pending.values() if " " in value)
        await self._adopt_shop_orders(None, candidates)
