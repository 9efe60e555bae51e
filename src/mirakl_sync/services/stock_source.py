"""Fresh stock reads from the source of truth, at decision time (never from a cache).

A Shopify-stocked variant: ``available`` summed over ``[shopify] locations`` (all when
empty). A Supercycle item: 1 if it may be sold today (visibility, rentals, blocked
dates, optionally Ready), else 0 with the reason.
"""

from __future__ import annotations

from mirakl_sync.domain.orders import LineBinding, LineOutcome, StockReading, TargetSystem
from mirakl_sync.services.ports import ItemInventory, ShopCatalogue


async def read_stock(
    binding: LineBinding, *, shop: ShopCatalogue, items: ItemInventory | None
) -> StockReading:
    """Raises ``RetryableError`` when the source cannot be read now."""
    if binding.system is TargetSystem.SUPERCYCLE:
        if items is None:
            return StockReading(0, LineOutcome.RETIRED)
        return await items.read_item(binding.stock_key)
    reading = await shop.read_stock(binding.stock_key, variant_id=binding.variant_id)
    return reading if reading is not None else StockReading(0, LineOutcome.RETIRED)
