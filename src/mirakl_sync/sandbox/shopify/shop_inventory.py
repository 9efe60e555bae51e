"""Catalogue and inventory operations of the emulated shop: loading the seed catalogue,
changing ``available`` per location (with the inventory and product webhooks), and the
merchant's stock edit."""

from __future__ import annotations

from mirakl_sync.sandbox.seed import SeedCatalogue
from mirakl_sync.sandbox.shopify.shop_core import ShopCore
from mirakl_sync.sandbox.shopify.state import LocationRec, ProductRec, VariantRec
from mirakl_sync.sandbox.shopify.webhooks import inventory_level_payload, product_payload


class InventoryOperations(ShopCore):
    """The catalogue load and the inventory changes."""

    def load_catalogue(self, catalogue: SeedCatalogue) -> None:
        """Load the seed's locations, products, variants and per-location ``available``."""
        now = self.now()
        for location_id, name in catalogue.locations:
            self.data.locations[location_id] = LocationRec(location_id, name)
        for product in catalogue.products:
            self.data.products[product.id] = ProductRec(
                id=product.id,
                title=product.title,
                handle=product.handle,
                product_type=product.product_type,
                vendor=product.vendor,
                tags=list(product.tags),
                variant_ids=[v.id for v in product.variants],
                created_at=now,
                updated_at=now,
            )
            for position, variant in enumerate(product.variants, start=1):
                self.data.variants[variant.id] = VariantRec(
                    id=variant.id,
                    product_id=product.id,
                    sku=variant.sku,
                    barcode=variant.barcode,
                    title=f"{variant.size} / {variant.colour}",
                    price=variant.price,
                    inventory_item_id=variant.inventory_item_id,
                    position=position,
                    created_at=now,
                    updated_at=now,
                    tracked=not product.managed_by_supercycle,
                )
                self.data.items[variant.inventory_item_id] = variant.id
                for location_id, _ in catalogue.locations:
                    self.data.levels[(variant.inventory_item_id, location_id)] = (
                        variant.inventory.get(location_id, 0)
                    )

    def _change_available(self, item_id: int, location_id: int, delta: int) -> None:
        key = (item_id, location_id)
        self.data.levels[key] = self.data.levels.get(key, 0) + delta
        self._inventory_changed(item_id, location_id)

    def _inventory_changed(self, item_id: int, location_id: int) -> None:
        now = self.now()
        available = self.data.levels[(item_id, location_id)]
        self.emit(
            "INVENTORY_LEVELS_UPDATE", inventory_level_payload(item_id, location_id, available, now)
        )
        variant = self.data.variants[self.data.items[item_id]]
        product = self.data.products[variant.product_id]
        product.updated_at = now
        self.emit("PRODUCTS_UPDATE", product_payload(self.data, product))

    # -- test helpers: what a merchant or a shopper does in the real shop --------------------

    def set_available(self, sku: str, location_id: int, quantity: int) -> None:
        """Set ``available`` of ``sku`` at ``location_id`` (like an admin stock edit)."""
        variant = next((v for v in self.data.variants.values() if v.sku == sku), None)
        if variant is None:
            raise KeyError(f"no variant with SKU {sku!r}")
        if location_id not in self.data.locations:
            raise KeyError(f"no location {location_id}")
        self.data.levels[(variant.inventory_item_id, location_id)] = quantity
        self._inventory_changed(variant.inventory_item_id, location_id)
