"""The incremental stock read: only the keys that changed, patched into the last full read.

Between two full reads (the reconcile), a stock cycle re-reads only what the change feed
says changed:

- dirty Shopify SKUs (webhooks): one small ``variant_stock`` query each;
- Supercycle items from the ``updated`` poll: used as read, no second read (today's
  blocked dates are read once when there are any);
- offers whose held quantity moved (holds, commits, releases): new-stock variants are
  re-read from Shopify (another process may have read them since this one did); items
  come from the model.

Each change is patched into the :class:`~mirakl_sync.services.stock_snapshot.SourceModel`
and the offers of the variants it touches are rebuilt exactly as a full read builds them,
so an incremental cycle plans the same quantities a full one would for those keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from mirakl_sync.services.change_feed import ChangeFeed, ShopChanges, SupercycleChanges
from mirakl_sync.services.ports import ShopStockLookup, StockLedger, SupercycleCatalogue
from mirakl_sync.services.stock_snapshot import CatalogueSnapshot, SourceModel


@dataclass
class Increment:
    """What one incremental read found, and what to clear once it is planned."""

    snapshot: CatalogueSnapshot
    #: Every offer SKU the read concerns (absent from ``snapshot``: gone, set to 0).
    keys: set[str]
    held: dict[str, int]
    shop: ShopChanges
    supercycle: SupercycleChanges
    #: Shopify SKUs re-read (one query each).
    shop_reads: int = 0
    notes: list[str] = field(default_factory=list)


async def read_increment(
    model: SourceModel,
    feed: ChangeFeed,
    ledger: StockLedger,
    shop: ShopStockLookup,
    supercycle: SupercycleCatalogue | None,
    *,
    today: date,
    poll_seconds: float,
) -> Increment:
    held = ledger.held_quantities()
    held_keys = feed.held_changes(held)
    shop_changes = await feed.shop_changes(shop)
    to_read = set(shop_changes.skus)
    for key in held_keys:
        if model.is_new_stock(key) or model.scope_of_offer(key) is None:
            to_read.add(key)

    scope: set[int] = set()
    keys: set[str] = set()
    for sku in sorted(to_read):
        found = await shop.variant_stock(sku)
        if not found:
            gone = model.drop_variant_sku(sku)
            if gone is not None:
                scope.add(gone)
                keys.add(sku)
            continue
        keys.add(sku)
        for variant in found:
            scope.add(model.put_variant(variant))

    changed_items = await feed.supercycle_changes(supercycle, every_seconds=poll_seconds)
    if changed_items.items and supercycle is not None:
        blocks = [b async for b in supercycle.blocked_ranges(today)]
        for item in changed_items.items:
            before = model.item_variant_id(item.serial)
            if before is not None:
                scope.add(before)
            after = model.put_item(item, today, blocks)
            if after is not None:
                scope.add(after)
            keys.add(item.serial)

    for key in held_keys:
        found_scope = model.scope_of_offer(key)
        if found_scope is not None:
            scope.add(found_scope)

    snapshot = model.snapshot(scope)
    keys |= {offer.shop_sku for offer in snapshot.offers}
    keys |= {skipped.key for skipped in snapshot.skipped}
    return Increment(snapshot, keys, held, shop_changes, changed_items, shop_reads=len(to_read))


def increment_planned(feed: ChangeFeed, increment: Increment) -> None:
    """The increment is planned: clear its dirty keys, move the Supercycle cursor."""
    feed.handled(increment.shop)
    feed.supercycle_handled(increment.supercycle)
    feed.held_planned(increment.held)
