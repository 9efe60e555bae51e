"""The offers each sandbox marketplace starts with, as if the brand had listed earlier.

New stock: one offer per Shopify variant with stock (quantity = sum over locations).
Supercycle graded pre-owned items: one offer per available item (``shop_sku`` = its
serial, quantity 1, condition mapped to an OF61 state). Rental items are not sold on
marketplaces. Once the catalogue flow exists, the hub's own pushes take over.
"""

from __future__ import annotations

from typing import Any

from mirakl_sync.sandbox.seed import SeedCatalogue

#: Supercycle default condition id -> sandbox OF61 offer state code.
CONDITION_TO_STATE = {1: "1", 2: "3", 3: "4"}


def initial_offers(catalogue: SeedCatalogue) -> list[dict[str, Any]]:
    offers: list[dict[str, Any]] = []
    by_variant = {v.id: (p, v) for p, v in catalogue.variants()}
    for product, variant in catalogue.variants():
        if product.channel != "new":
            continue
        quantity = sum(variant.inventory.values())
        if quantity <= 0:
            continue
        offers.append(
            {
                "shop_sku": variant.sku,
                "product_id": variant.barcode,
                "product_id_type": "EAN",
                "price": float(variant.price),
                "quantity": quantity,
                "state_code": "11",
                "product_title": f"{product.title} - {variant.size}",
                "category_code": product.product_type.lower().replace(" ", "-"),
            }
        )
    for item in catalogue.items:
        product, variant = by_variant[item.variant_id]
        if product.channel != "resale" or item.visibility != "available":
            continue
        if item.condition_id not in CONDITION_TO_STATE:
            continue
        offers.append(
            {
                "shop_sku": item.serial,
                "product_id": variant.barcode,
                "product_id_type": "EAN",
                "price": float(item.price),
                "quantity": 1,
                "state_code": CONDITION_TO_STATE[item.condition_id],
                "product_title": f"{product.title} - {variant.size}",
                "category_code": product.product_type.lower().replace(" ", "-"),
            }
        )
    return offers
