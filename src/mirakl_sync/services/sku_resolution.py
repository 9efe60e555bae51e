"""SKU resolution: which product an offer SKU sells.

In order: an explicit ``sku_mappings`` row (this marketplace's, else the one for every
marketplace); else the default binding, the offer ``shop_sku`` being a Shopify variant
SKU, else (with Supercycle) an item serial or SKU. Shopify and Supercycle are asked
directly, so a fresh install needs no prior catalogue sync. ``None`` means unmapped.
"""

from __future__ import annotations

from dataclasses import replace

from mirakl_sync.domain.orders import LineBinding, TargetSystem
from mirakl_sync.services.ports import ItemInventory, OrderRepository, ShopCatalogue


async def resolve_sku(
    marketplace: str,
    offer_sku: str,
    *,
    repository: OrderRepository,
    shop: ShopCatalogue,
    items: ItemInventory | None,
) -> LineBinding | None:
    """The binding of ``offer_sku``; raises ``RetryableError`` if a system cannot be asked."""
    mapping = repository.mapping(marketplace, offer_sku)
    if mapping is not None:
        found: LineBinding | None = None
        if mapping.system is TargetSystem.SHOPIFY:
            found = await shop.find_variant(mapping.target_sku)
        elif items is not None:
            found = await items.find_item(mapping.target_sku)
        return None if found is None else replace(found, offer_sku=offer_sku)
    found = await shop.find_variant(offer_sku)
    if found is not None:
        return found
    if items is not None:
        return await items.find_item(offer_sku)
    return None
