"""The stock snapshot: the source of truth for every offer, read in bulk.

- Shopify: every variant's ``available``, summed over the configured locations (new stock).
- Supercycle: every item, with today's blocked dates; an item counts (1) only when
  ``is_sellable``: visibility ``available``, no active rental, no blocked date covering
  today, and processed (Ready) when ``require_ready`` is set.

The snapshot also carries what rules and offers need (barcode, price, product type, tags,
condition), so one read feeds the stock, price and offer flows alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from mirakl_sync.domain.allocation import OfferFacts
from mirakl_sync.domain.item_availability import BlockedRange, is_sellable
from mirakl_sync.domain.offers import (
    ItemFacts,
    OfferSpec,
    Skipped,
    VariantFacts,
    build_offers,
)
from mirakl_sync.services.ports import ShopStock, SupercycleCatalogue


@dataclass(frozen=True)
class SnapshotOptions:
    locations: frozenset[str] = frozenset()
    offer_mode: str = "item"
    condition_states: Mapping[str, str] = field(default_factory=dict)
    require_ready: bool = False
    listed_tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CatalogueSnapshot:
    offers: list[OfferSpec]
    skipped: list[Skipped]

    def source(self) -> dict[str, int]:
        """Units in the source of truth, by offer SKU."""
        return {offer.shop_sku: offer.source_quantity for offer in self.offers}

    def facts(self) -> dict[str, OfferFacts]:
        """What stock rules match on, by offer SKU (one shared object per rule class)."""
        classes: dict[tuple[str, frozenset[str]], OfferFacts] = {}
        out: dict[str, OfferFacts] = {}
        for offer in self.offers:
            key = (offer.product_type, offer.tags)
            found = classes.get(key)
            if found is None:
                found = classes[key] = OfferFacts(offer.product_type, offer.tags)
            out[offer.shop_sku] = found
        return out

    def by_sku(self) -> dict[str, OfferSpec]:
        return {offer.shop_sku: offer for offer in self.offers}


async def take_snapshot(
    shop: ShopStock,
    supercycle: SupercycleCatalogue | None,
    options: SnapshotOptions,
    *,
    today: date,
) -> CatalogueSnapshot:
    variants = [
        VariantFacts(
            v.sku,
            v.barcode,
            v.price,
            v.product_type,
            v.tags,
            v.available(options.locations),
            v.shopify_variant_id,
        )
        async for v in shop.variants()
    ]
    items: list[ItemFacts] = []
    if supercycle is not None:
        blocks: list[BlockedRange] = [b async for b in supercycle.blocked_ranges(today)]
        async for item in supercycle.items():
            if item.facts.shopify_variant_id is None:
                continue
            sellable = is_sellable(item.facts, today, blocks, require_ready=options.require_ready)
            items.append(
                ItemFacts(item.serial, item.facts.shopify_variant_id, item.condition, sellable)
            )
    offers, skipped = build_offers(
        variants,
        items,
        mode=options.offer_mode,
        condition_states=options.condition_states,
        listed_tags=options.listed_tags,
    )
    return CatalogueSnapshot(offers, skipped)
