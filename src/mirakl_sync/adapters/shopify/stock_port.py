"""``ShopifyStockReader``: every Shopify variant with ``available`` per location, in bulk.

Pages through ``ShopifyClient.variant_stock`` (25 variants x 10 locations per page keeps
each query under Shopify's cost limit) and hands the stock flow plain ``ShopVariant``s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.domain.offers import ShopVariant


class ShopifyStockReader:
    def __init__(self, client: ShopifyClient, *, levels: int = 10) -> None:
        self.client = client
        self._levels = levels

    async def variants(self) -> AsyncIterator[ShopVariant]:
        async for variant in self.client.variant_stock(levels=self._levels):
            if not variant.sku:
                continue  # a variant without SKU cannot be an offer: nothing to key it by
            yield ShopVariant(
                sku=variant.sku,
                barcode=variant.barcode or None,
                price=variant.price,
                product_type=variant.product_type,
                tags=frozenset(variant.tags),
                shopify_variant_id=variant.legacy_id,
                levels=tuple((level.location_name, level.available) for level in variant.levels),
            )
