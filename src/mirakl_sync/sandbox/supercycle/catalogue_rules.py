"""Catalogue rules: importing products and variants, and adding and updating items (items
exist only for variants of imported products)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mirakl_sync.adapters.supercycle.models import ItemStatus, Visibility
from mirakl_sync.sandbox.supercycle.records import EmulatorError, ItemRecord, VariantRecord
from mirakl_sync.sandbox.supercycle.store import StateStore, _as_int


class CatalogueRules(StateStore):
    """Products, variants and items."""

    # --- catalogue ----------------------------------------------------------------------

    def import_product(self, shopify_product_id: int, title: str) -> None:
        self.products[shopify_product_id] = title

    def add_variant(self, variant: VariantRecord) -> None:
        if variant.shopify_product_id not in self.products:
            raise EmulatorError(
                422, f"Product {variant.shopify_product_id} has not been imported into Supercycle"
            )
        self.variants[variant.shopify_id] = variant

    def add_item(
        self,
        *,
        shopify_variant_id: int,
        visibility: str = Visibility.AVAILABLE,
        status: str = ItemStatus.PROCESSED,
        serial: str | None = None,
        condition_id: int | None = None,
        location_shopify_id: int | None = None,
        pick_location: str | None = None,
        item_id: int | None = None,
        sequential_id: int | None = None,
    ) -> ItemRecord:
        self.variant(shopify_variant_id)  # items only for imported variants
        self._check_choice("visibility", visibility, Visibility)
        self._check_choice("status", status, ItemStatus)
        self._check_condition(condition_id)
        if serial is not None and any(i.serial == serial for i in self.items.values()):
            raise EmulatorError(422, f"Serial {serial} is already taken")
        new_id = item_id if item_id is not None else self.new_id("item", 900_001)
        now = self.now()
        record = ItemRecord(
            id=new_id,
            sequential_id=sequential_id or self.new_id("item_seq", 50_001),
            serial=serial,
            shopify_variant_id=shopify_variant_id,
            visibility=visibility,
            status=status,
            condition_id=condition_id,
            location_shopify_id=location_shopify_id,
            pick_location=pick_location,
            created_at=now,
            updated_at=now,
        )
        self.items[new_id] = record
        return record

    # --- items --------------------------------------------------------------------------

    def update_item(self, item_id: int, changes: Mapping[str, Any]) -> ItemRecord:
        item = self.item(item_id)
        if "visibility" in changes:
            self._check_choice("visibility", changes["visibility"], Visibility)
        if "status" in changes:
            self._check_choice("status", changes["status"], ItemStatus)
        if "conditionId" in changes:
            self._check_condition(changes["conditionId"])
        if "shopifyVariantId" in changes:
            self.variant(_as_int("shopifyVariantId", changes["shopifyVariantId"]))
        if "serial" in changes and changes["serial"] is not None:
            serial = str(changes["serial"])
            if any(i.serial == serial and i.id != item_id for i in self.items.values()):
                raise EmulatorError(422, f"Serial {serial} is already taken")
        if "locationShopifyId" in changes and changes["locationShopifyId"] is not None:
            location = _as_int("locationShopifyId", changes["locationShopifyId"])
            if location not in self.locations:
                raise EmulatorError(422, f"Location {location} is not a location of this shop")
        if "visibility" in changes:
            item.visibility = changes["visibility"]
        if "status" in changes:
            item.status = changes["status"]
        if "conditionId" in changes:
            item.condition_id = changes["conditionId"]
        if "serial" in changes:
            item.serial = None if changes["serial"] is None else str(changes["serial"])
        if "shopifyVariantId" in changes:
            item.shopify_variant_id = _as_int("shopifyVariantId", changes["shopifyVariantId"])
        if "locationShopifyId" in changes:
            raw = changes["locationShopifyId"]
            item.location_shopify_id = None if raw is None else _as_int("locationShopifyId", raw)
        if "pickLocation" in changes:
            raw = changes["pickLocation"]
            item.pick_location = None if raw is None else str(raw)
        self._touch(item)
        return item
