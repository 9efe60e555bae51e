"""Item release: a cancelled sale gives its unique Supercycle item back, once.

When the hub accepts a marketplace line bound to a unique Supercycle item it marks the
item ``sold`` (``order_import.mark_items_sold``; the ids are kept in the order's progress,
``sold_items``). If that line is then cancelled — in Shopify (OR29/OR30 sent by
``services.cancellations``), by the marketplace on an accepted order, or refused after the
item was marked (both seen by the order follow-ups, ``order_import.undo_import``) — the
item must be for sale again, or it can never be sold again (issue 10, item 5: four items
were left sold). So :meth:`ItemRelease.release_lines` / :meth:`release_items` set its
visibility back to ``available`` (``ItemInventory.make_available``, which changes only an
item still ``sold``: a retired item stays retired).

**Once.** Each (marketplace, order, item) release is marked in ``sync_cursors`` (flow
``item-release``): ``releasing`` before the call, ``released`` once it answered, so a
repeated cancellation (a webhook replay, a pass, a follow-up after the Shopify cancel)
never releases the item again, even if it was sold again since. If Supercycle refuses or
is down, the mark says ``failed`` and the error goes to the caller (its step or pass tries
again). A crash during the call leaves ``releasing``. Either call may have landed, so the
next attempt makes the item available only if no other order of the hub sold it since
(``orders_that_sold``). Before (issue 10, the soaks), the mark said ``released`` before
the call, and a hub killed while Supercycle hung left the item sold for good. Limits: an
item that staff made available and that was sold again *before* this order's first
release is not told apart (Supercycle does not say which sale set ``sold``), nor is one
sold in the web store between a cut-short release and its next attempt (seconds).

Which item a cancelled line sold: its stock hold (``StockLedger.reservation``) names the
item's serial, looked up in Supercycle and matched against the order's ``sold_items``; a
whole order releases all of its ``sold_items`` without a look-up.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Protocol

import structlog

from mirakl_sync.domain.orders import StoredOrder
from mirakl_sync.services.ports import ItemInventory, StockLedger

log = structlog.get_logger(__name__)

FLOW = "item-release"
RELEASED = "released"
#: Marked before the call: seen again, a crash cut the call short (it may have landed).
RELEASING = "releasing"
#: The mark of a release whose call failed (tried again by the next cancellation run).
FAILED = "failed"


class ReleaseStore(Protocol):
    """What this needs of the order repository (``OrderRepository``)."""

    def get(self, marketplace: str, order_id: str) -> StoredOrder | None: ...

    def cursor(self, flow: str, scope: str) -> str | None: ...

    def set_cursor(self, flow: str, scope: str, value: str, now: datetime) -> None: ...

    def orders_that_sold(self, item_id: int) -> list[StoredOrder]: ...


class ItemRelease:
    def __init__(
        self,
        items: ItemInventory,
        orders: ReleaseStore,
        ledger: StockLedger | None,
        now: Callable[[], datetime],
    ) -> None:
        self._items = items
        self._orders = orders
        self._ledger = ledger
        self._now = now

    @classmethod
    def on_clock(
        cls,
        items: ItemInventory,
        orders: ReleaseStore,
        ledger: StockLedger | None,
        clock: Callable[[], float],
    ) -> ItemRelease:
        """The same, on a clock of epoch seconds (the dispatch kits' clock)."""
        return cls(items, orders, ledger, lambda: datetime.fromtimestamp(clock(), UTC))

    async def release_lines(
        self, marketplace: str, order_id: str, line_ids: Collection[str]
    ) -> list[int]:
        """Make available the items sold by these cancelled lines; returns the ids made
        available now (not those released before)."""
        stored = self._orders.get(marketplace, order_id)
        if stored is None or not stored.progress.sold_items or not line_ids:
            return []
        sold = list(stored.progress.sold_items)
        every_line = {line.line_id for line in stored.order.lines}
        if every_line and every_line <= set(line_ids):
            return await self.release_items(marketplace, order_id, sold)
        chosen: list[int] = []
        for line_id in line_ids:
            held = self._ledger.reservation(marketplace, line_id) if self._ledger else None
            if held is None:
                continue
            found = await self._items.find_item(held.sku)
            if found is not None and found.item_id in sold and found.item_id not in chosen:
                chosen.append(found.item_id)
        return await self.release_items(marketplace, order_id, chosen)

    async def release_items(
        self, marketplace: str, order_id: str, item_ids: Sequence[int]
    ) -> list[int]:
        """Make these items (sold by this order) available again, each once."""
        done: list[int] = []
        for item_id in item_ids:
            scope = f"{marketplace}|{order_id}|{item_id}"
            mark = self._orders.cursor(FLOW, scope)
            if mark == RELEASED:
                continue
            if mark in (RELEASING, FAILED) and self._sold_again(marketplace, order_id, item_id):
                # The cut-short (or timed-out) call landed, and the hub sold the item
                # again since.
                self._orders.set_cursor(FLOW, scope, RELEASED, self._now())
                log.info("item.release_landed", order_id=order_id, item=item_id)
                continue
            self._orders.set_cursor(FLOW, scope, RELEASING, self._now())
            try:
                await self._items.make_available(item_id)
            except Exception:
                self._orders.set_cursor(FLOW, scope, FAILED, self._now())
                raise
            self._orders.set_cursor(FLOW, scope, RELEASED, self._now())
            log.info("item.released", marketplace=marketplace, order_id=order_id, item=item_id)
            done.append(item_id)
        return done

    def _sold_again(self, marketplace: str, order_id: str, item_id: int) -> bool:
        """Whether a later order of the hub marked ``item_id`` sold and still holds it
        (it did not release the item itself). Earlier orders do not count: one that sold
        the item before this order (the item returned and relisted since) still names it."""
        this = self._orders.get(marketplace, order_id)
        for other in self._orders.orders_that_sold(item_id):
            key = (other.order.marketplace, other.order.order_id)
            if key == (marketplace, order_id):
                continue
            if this is not None and other.order.created_at <= this.order.created_at:
                continue
            scope = f"{key[0]}|{key[1]}|{item_id}"
            if self._orders.cursor(FLOW, scope) != RELEASED:
                return True
        return False
