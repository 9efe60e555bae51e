"""The change feed: which stock keys changed at the source since the stock flow read them.

Signals, never trusted alone (a full read every ``shopify.reconcile_minutes`` and at
start-up is the reconcile that catches whatever they miss):

- Shopify ``inventory_levels/update`` webhooks (also sent when an order, ours included,
  takes stock): the inventory item is marked dirty at once, without a Shopify call
  (:meth:`ChangeFeed.note_inventory_webhook`); the stock cycle maps it to its SKU through
  the bindings learnt during full reads, or one ``inventoryItem`` read if unknown;
- Supercycle has no webhooks: its items are polled with the ``updated`` filter (the items
  read ARE the change: no second read); the cursor survives restarts in ``sync_cursors``
  and moves only once the cycle that used the items has planned them;
- the stock ledger: holds, commits and releases change what may be offered; the held
  quantities are compared with those the last cycle planned with.

Dirty keys are durable (:class:`~mirakl_sync.services.ports.DirtyStockKeys`), so a restart
loses nothing; a key is cleared only if it was not marked again while it was read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mirakl_sync.domain.offers import SupercycleItem
from mirakl_sync.services.ports import (
    Clock,
    DirtyStockKeys,
    OfferStates,
    ShopStockLookup,
    SupercycleCatalogue,
)

FEED = "change-feed"
SUPERCYCLE_SCOPE = "supercycle-items"
HELD_SCOPE = "held"
#: Dirty-key kinds.
SHOP_ITEM = "shopify_item"
SHOP_SKU = "shopify_sku"
#: Re-read this far behind the cursor: an item updated while the previous page was read
#: must not be missed.
OVERLAP = timedelta(seconds=5)


@dataclass
class ShopChanges:
    """The Shopify SKUs to re-read, and the marks to clear once they are planned."""

    skus: set[str] = field(default_factory=set)
    seen: dict[str, dict[str, datetime]] = field(default_factory=dict)


@dataclass
class SupercycleChanges:
    items: list[SupercycleItem]
    #: The cursor to store once the items are planned (None: leave it).
    cursor: datetime | None


def inventory_item_ids(payload: Mapping[str, Any]) -> list[str]:
    """The inventory item id(s) an ``inventory_levels/update`` payload names (numeric)."""
    raw = payload.get("inventory_item_id")
    if raw is None:
        return []
    text = str(raw).rsplit("/", 1)[-1]
    return [text] if text.isdigit() else []


class ChangeFeed:
    def __init__(
        self,
        states: OfferStates,
        keys: DirtyStockKeys,
        clock: Clock,
    ) -> None:
        self.states = states
        self.keys = keys
        self.clock = clock

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- Shopify -----------------------------------------------------------------------------

    def note_inventory_webhook(self, payload: Mapping[str, Any]) -> None:
        """A Shopify inventory webhook arrived: mark its inventory item dirty (no I/O else)."""
        self.keys.mark(SHOP_ITEM, inventory_item_ids(payload), self._now())

    def note_shop_skus(self, skus: list[str]) -> None:
        self.keys.mark(SHOP_SKU, skus, self._now())

    async def shop_changes(self, shop: ShopStockLookup) -> ShopChanges:
        """Every dirty Shopify key as a SKU (unknown inventory items are read once)."""
        changes = ShopChanges()
        items = self.keys.dirty(SHOP_ITEM)
        skus = self.keys.dirty(SHOP_SKU)
        known = self.keys.skus_of_items(items)
        learnt: dict[str, str] = {}
        for item_id in items:
            sku = known.get(item_id)
            if sku is None:
                sku = await shop.sku_of_inventory_item(item_id)
                if sku is not None:
                    learnt[item_id] = sku
            if sku is not None:
                changes.skus.add(sku)
        if learnt:
            self.keys.learn_inventory_items(learnt, self._now())
        changes.skus |= set(skus)
        changes.seen = {SHOP_ITEM: items, SHOP_SKU: skus}
        return changes

    def handled(self, changes: ShopChanges) -> None:
        for kind, seen in changes.seen.items():
            self.keys.clear(kind, seen)

    # -- Supercycle --------------------------------------------------------------------------

    async def supercycle_changes(
        self, supercycle: SupercycleCatalogue | None, *, every_seconds: float
    ) -> SupercycleChanges:
        """Items updated since the last poll (none if polled less than ``every_seconds`` ago)."""
        if supercycle is None:
            return SupercycleChanges([], None)
        now = self._now()
        previous = self.states.cursor(FEED, SUPERCYCLE_SCOPE)
        if previous is None:
            # No baseline: only a full read sets one (it reads every item anyway).
            return SupercycleChanges([], None)
        last = datetime.fromisoformat(previous)
        if (now - last).total_seconds() < every_seconds * 0.95:
            return SupercycleChanges([], None)
        items = [item async for item in supercycle.items(updated_since=last - OVERLAP)]
        return SupercycleChanges(items, now)

    def supercycle_handled(self, changes: SupercycleChanges) -> None:
        if changes.cursor is not None:
            self.states.set_cursor(
                FEED, SUPERCYCLE_SCOPE, changes.cursor.isoformat(), changes.cursor
            )

    # -- holds -------------------------------------------------------------------------------

    def held_changes(self, held: Mapping[str, int]) -> set[str]:
        """Offer SKUs whose held quantity differs from the one last planned with."""
        raw = self.states.cursor(FEED, HELD_SCOPE)
        before: dict[str, int] = json.loads(raw) if raw else {}
        return {
            sku for sku in before.keys() | held.keys() if before.get(sku, 0) != held.get(sku, 0)
        }

    def held_planned(self, held: Mapping[str, int]) -> None:
        now = self._now()
        self.states.set_cursor(FEED, HELD_SCOPE, json.dumps(dict(sorted(held.items()))), now)

    # -- the full read -----------------------------------------------------------------------

    def full_read(self, started: datetime, inventory_items: Mapping[str, str]) -> None:
        """A full read that started at ``started`` has seen every change marked before it."""
        self.keys.clear_marked_before(started)
        self.keys.learn_inventory_items(inventory_items, self._now())
        self.states.set_cursor(FEED, SUPERCYCLE_SCOPE, started.isoformat(), started)
