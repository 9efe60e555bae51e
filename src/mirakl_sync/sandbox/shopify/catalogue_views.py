"""Read-side views of the catalogue and inventory: locations, inventory levels and items,
products and their variants."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from mirakl_sync.sandbox.shopify.state import LocationRec, ShopData, VariantRec
from mirakl_sync.sandbox.shopify.views import View, _paging, connection, gid, parse_gid


class LocationView(View):
    typename = "Location"

    def __init__(self, data: ShopData, rec: LocationRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("Location", rec.id)
        self.legacyResourceId = str(rec.id)
        self.name = rec.name
        self.isActive = rec.active
        self.fulfillsOnlineOrders = True
        self.isFulfillmentService = False
        self.shipsInventory = True

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        levels = [
            (item_id, InventoryLevelView(self.data, item_id, self.rec.id))
            for (item_id, location_id) in self.data.levels
            if location_id == self.rec.id
        ]
        return connection(levels, **_paging(args))


class InventoryLevelView(View):
    typename = "InventoryLevel"

    def __init__(self, data: ShopData, item_id: int, location_id: int) -> None:
        super().__init__(data)
        self.item_id = item_id
        self.location_id = location_id
        self.id = f"gid://shopify/InventoryLevel/{item_id}?inventory_item_id={item_id}"
        self.isActive = True

    @property
    def item(self) -> InventoryItemView:
        return InventoryItemView(self.data, self.item_id)

    @property
    def location(self) -> LocationView:
        return LocationView(self.data, self.data.locations[self.location_id])

    def quantities(self, info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
        available = self.data.levels.get((self.item_id, self.location_id), 0)
        known = {"available": available, "on_hand": available}
        result = []
        for name in names:
            if name not in known:
                # Other named quantities (committed, reserved, ...) are not tracked here.
                raise GraphQLError(f"The Shopify emulator does not track the quantity {name!r}")
            result.append(
                {
                    "id": f"gid://shopify/InventoryQuantity/{self.item_id}-{self.location_id}"
                    f"?name={name}",
                    "name": name,
                    "quantity": known[name],
                    "updatedAt": None,
                }
            )
        return result


class InventoryItemView(View):
    typename = "InventoryItem"

    def __init__(self, data: ShopData, item_id: int) -> None:
        super().__init__(data)
        self.item_id = item_id
        self.variant_rec = data.variants[data.items[item_id]]
        self.id = gid("InventoryItem", item_id)
        self.legacyResourceId = str(item_id)
        self.sku = self.variant_rec.sku
        self.tracked = self.variant_rec.tracked
        self.requiresShipping = True
        self.duplicateSkuCount = (
            sum(1 for v in data.variants.values() if v.sku == self.variant_rec.sku) - 1
        )

    @property
    def variant(self) -> VariantView:
        return VariantView(self.data, self.variant_rec)

    def inventoryLevel(self, info: GraphQLResolveInfo, locationId: str, **_: Any) -> Any:
        location_id = parse_gid(locationId, "Location")
        if location_id is None or (self.item_id, location_id) not in self.data.levels:
            return None
        return InventoryLevelView(self.data, self.item_id, location_id)

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        levels = [
            (location_id, InventoryLevelView(self.data, item_id, location_id))
            for (item_id, location_id) in self.data.levels
            if item_id == self.item_id
        ]
        return connection(levels, **_paging(args))


class ProductView(View):
    typename = "Product"

    def __init__(self, data: ShopData, product_id: int) -> None:
        super().__init__(data)
        rec = data.products[product_id]
        self.rec = rec
        self.id = gid("Product", rec.id)
        self.legacyResourceId = str(rec.id)
        self.title = rec.title
        self.handle = rec.handle
        self.productType = rec.product_type
        self.vendor = rec.vendor
        self.tags = list(rec.tags)
        self.status = rec.status
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at

    def variants(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        items = [
            (vid, VariantView(self.data, self.data.variants[vid])) for vid in self.rec.variant_ids
        ]
        return connection(items, **_paging(args))


class VariantView(View):
    typename = "ProductVariant"

    def __init__(self, data: ShopData, rec: VariantRec) -> None:
        super().__init__(data)
        self.rec = rec
        self.id = gid("ProductVariant", rec.id)
        self.legacyResourceId = str(rec.id)
        self.sku = rec.sku
        self.barcode = rec.barcode
        self.title = rec.title
        self.price = str(rec.price)
        self.position = rec.position
        self.createdAt = rec.created_at
        self.updatedAt = rec.updated_at
        self.inventoryPolicy = "DENY"
        product = data.products[rec.product_id]
        self.displayName = f"{product.title} - {rec.title}"

    # Computed only when a query asks: every variant is wrapped for each page of a search,
    # and summing every inventory level for each made a full read quadratic.
    @property
    def inventoryQuantity(self) -> int:
        item = self.rec.inventory_item_id
        return sum(qty for (level_item, _), qty in self.data.levels.items() if level_item == item)

    @property
    def availableForSale(self) -> bool:
        return self.inventoryQuantity > 0 or not self.rec.tracked

    @property
    def product(self) -> ProductView:
        return ProductView(self.data, self.rec.product_id)

    @property
    def inventoryItem(self) -> InventoryItemView:
        return InventoryItemView(self.data, self.rec.inventory_item_id)
