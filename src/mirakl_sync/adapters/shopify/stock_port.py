"""``ShopifyStockReader``: every Shopify variant with ``available`` per location, in bulk.

Pages through ``ShopifyClient.variant_stock_all`` (as many variants per page as stay under
Shopify's 1000-point limit, with as many inventory levels as the shop has locations) and
hands the stock flow plain ``ShopVariant``s.
While it reads it learns ``inventory_items`` (numeric inventory item id -> SKU), so an
``inventory_levels/update`` webhook maps to its SKU with no Shopify call.

Incremental reads go key by key: :meth:`variant_stock` asks for one SKU (pages of 2, ~24
query points with two locations; the emulator, like our reading of Shopify's search, has
no ``OR`` to batch several SKUs in one query), and :meth:`sku_of_inventory_item` reads an
unknown inventory item.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mirakl_sync.adapters.shopify.client import ShopifyClient
from mirakl_sync.adapters.shopify.models import Variant
from mirakl_sync.domain.offers import ShopVariant
from mirakl_sync.errors import NotFoundError

INVENTORY_ITEM_GID = "gid://shopify/InventoryItem/"


class ShopifyStockReader:
    def __init__(self, client: ShopifyClient, *, levels: int | None = None) -> None:
        self.client = client
        #: Inventory levels per variant; by default the shop's location count.
        self._levels = levels
        #: Numeric inventory item id -> variant SKU, for every variant read so far.
        self.inventory_items: dict[str, str] = {}

    async def variants(self) -> AsyncIterator[ShopVariant]:
        pages = (
            self.client.variant_stock_all()
            if self._levels is None
            else self.client.variant_stock(levels=self._levels)
        )
        async for variant in pages:
            found = self._convert(variant)
            if found is not None:
                yield found

    async def variant_stock(self, sku: str) -> list[ShopVariant]:
        found = await self.client.variant_stock_by_sku(sku, levels=self._levels)
        return [v for v in (self._convert(variant) for variant in found) if v is not None]

    async def sku_of_inventory_item(self, inventory_item_id: str) -> str | None:
        try:
            item = await self.client.inventory_item(INVENTORY_ITEM_GID + inventory_item_id)
        except NotFoundError:
            return None
        if item.sku:
            self.inventory_items[inventory_item_id] = item.sku
        return item.sku or None

    def _convert(self, variant: Variant) -> ShopVariant | None:
        if not variant.sku:
            return None  # a variant without SKU cannot be an offer: nothing to key it by
        self.inventory_items[variant.inventory_item_id.rsplit("/", 1)[-1]] = variant.sku
        return ShopVariant(
            sku=variant.sku,
            barcode=variant.barcode or None,
            price=variant.price,
            product_type=variant.product_type,
            tags=frozenset(variant.tags),
            shopify_variant_id=variant.legacy_id,
            levels=tuple((level.location_name, level.available) for level in variant.levels),
        )
