"""The shop, location and variant operations of ``ShopifyClient``: the shop's details,
its locations, variants by search or SKU and their inventory (``available`` per
location), in pages sized to Shopify's query cost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from mirakl_sync.adapters.shopify.client_graphql import (
    MAX_PAGE_SIZE,
    SKU_LOOKUP_PAGE,
    ShopifyGraphQL,
    search_value,
)
from mirakl_sync.adapters.shopify.errors import SYSTEM
from mirakl_sync.adapters.shopify.models import InventoryItem, Location, ShopInfo, Variant
from mirakl_sync.errors import NotFoundError


class InventoryOperations(ShopifyGraphQL):
    """The client's shop, location, variant and inventory reads."""

    # -- shop and locations ------------------------------------------------------------------

    async def shop_info(self) -> ShopInfo:
        data = await self.run("ShopInfo")
        return ShopInfo.from_node(data["shop"])

    async def locations(self) -> list[Location]:
        return [
            Location.from_node(node)
            async for node in self.paginate("Locations", {}, ("locations",), page_size=50)
        ]

    # -- variants and inventory --------------------------------------------------------------

    async def variants(self, query: str, *, page_size: int = 100) -> AsyncIterator[Variant]:
        """Variants matching a Shopify search ``query`` (e.g. ``sku:"X"``), without stock."""
        async for node in self.paginate(
            "VariantsByQuery", {"query": query}, ("productVariants",), page_size=page_size
        ):
            yield Variant.from_node(node)

    async def variants_by_sku(self, sku: str) -> list[Variant]:
        """Every variant whose SKU is exactly ``sku`` (Shopify does not enforce uniqueness).

        Pages of 2: Shopify charges a connection by its ``first``, and a SKU lookup
        usually finds one variant, so a page of 100 would cost ~50 times the points.
        """
        matches = self.variants(f"sku:{search_value(sku)}", page_size=SKU_LOOKUP_PAGE)
        return [v async for v in matches if v.sku == sku]

    async def variant_stock(
        self, query: str | None = None, *, page_size: int = 25, levels: int = 10
    ) -> AsyncIterator[Variant]:
        """Every variant (or those matching ``query``) with ``available`` per location.

        25 variants x 10 locations keeps the requested cost under Shopify's 1000 per query.
        """
        async for node in self.paginate(
            "VariantStockPage",
            {"query": query, "levels": levels},
            ("productVariants",),
            page_size=page_size,
        ):
            yield Variant.from_node(node)

    async def levels_per_variant(self) -> int:
        """Inventory levels to ask for per variant: the shop's location count (read once)."""
        if self._pacing.location_count is None:
            self._pacing.location_count = max(1, len(await self.locations()))
        return self._pacing.location_count

    async def variant_stock_all(self) -> AsyncIterator[Variant]:
        """Every variant with its stock, in the largest pages that stay under 1000 points."""
        levels = await self.levels_per_variant()
        # Requested cost is about first x (3 + 4 x levels) + 2 (checked against the
        # emulator's cost rules, which follow Shopify's documented ones).
        page = max(1, min(MAX_PAGE_SIZE, 990 // (3 + 4 * levels)))
        async for variant in self.variant_stock(page_size=page, levels=levels):
            yield variant

    async def variant_stock_by_sku(self, sku: str, *, levels: int | None = None) -> list[Variant]:
        """The variants whose SKU is exactly ``sku``, with ``available`` per location.

        Small pages for the same reason as :meth:`variants_by_sku`: a fresh stock read at
        decision time must not spend the shop's whole query budget.
        """
        matches = self.variant_stock(
            f"sku:{search_value(sku)}",
            page_size=SKU_LOOKUP_PAGE,
            levels=levels if levels is not None else await self.levels_per_variant(),
        )
        return [v async for v in matches if v.sku == sku]

    async def variant_inventory(self, variant_id: str) -> tuple[str, InventoryItem] | None:
        """The variant ``variant_id``'s SKU and inventory item with ``available`` per
        location; ``None`` when there is no such variant (deleted)."""
        data = await self.run(
            "VariantStockById", {"id": variant_id, "levels": await self.levels_per_variant()}
        )
        variant = data.get("productVariant")
        if variant is None or variant.get("inventoryItem") is None:
            return None
        return str(variant.get("sku") or ""), InventoryItem.from_node(variant["inventoryItem"])

    async def inventory_item(self, inventory_item_id: str, *, levels: int = 50) -> InventoryItem:
        data = await self.run("InventoryItem", {"id": inventory_item_id, "levels": levels})
        if data.get("inventoryItem") is None:
            raise NotFoundError(f"no inventory item {inventory_item_id}", system=SYSTEM)
        return InventoryItem.from_node(data["inventoryItem"])
