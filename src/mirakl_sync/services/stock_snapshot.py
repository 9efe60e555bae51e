"""The stock snapshot: the source of truth for every offer, read in bulk.

- Shopify: every variant's ``available``, summed over the configured locations (new stock).
- Supercycle: every item, with today's blocked dates; an item counts (1) only when
  ``is_sellable``: visibility ``available``, no active rental, no blocked date covering
  today, and processed (Ready) when ``require_ready`` is set.

The snapshot also carries what rules and offers need (barcode, price, product type, tags,
condition), so one read feeds the stock, price and offer flows alike.

The read is kept as a :class:`SourceModel`, so an incremental cycle can re-read a few
keys, patch the model and rebuild only the offers those keys touch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from mirakl_sync.domain.allocation import OfferFacts
from mirakl_sync.domain.item_availability import BlockedRange, is_sellable
from mirakl_sync.domain.offers import (
    ItemFacts,
    OfferSpec,
    ShopVariant,
    Skipped,
    SupercycleItem,
    VariantFacts,
    build_offers,
)
from mirakl_sync.services.ports import ShopStock, SupercycleCatalogue

logger = logging.getLogger(__name__)
#: Log the full read's progress every this many records.
PROGRESS_EVERY = 250


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


class SourceModel:
    """The source as last read: the full read, patched key by key by incremental reads.

    Offers are built from it exactly as from a full read (``build_offers``), either for the
    whole catalogue or for a *scope*: a set of Shopify variant ids, each with every
    Supercycle item under it (an item's offer depends on its parent variant's barcode,
    tags and price, and a variant-and-condition offer sums every item of its group).
    """

    def __init__(self, options: SnapshotOptions) -> None:
        self.options = options
        self.variants: dict[int, VariantFacts] = {}
        self.items: dict[str, ItemFacts] = {}
        self._variant_by_sku: dict[str, int] = {}
        self._items_by_variant: dict[int, set[str]] = {}

    # -- patching ------------------------------------------------------------------------------

    def put_variant(self, variant: ShopVariant) -> int:
        facts = VariantFacts(
            variant.sku,
            variant.barcode,
            variant.price,
            variant.product_type,
            variant.tags,
            variant.available(self.options.locations),
            variant.shopify_variant_id,
        )
        old = self.variants.get(facts.shopify_variant_id)
        if old is not None and old.sku != facts.sku:
            self._variant_by_sku.pop(old.sku, None)
        self.variants[facts.shopify_variant_id] = facts
        self._variant_by_sku[facts.sku] = facts.shopify_variant_id
        return facts.shopify_variant_id

    def drop_variant_sku(self, sku: str) -> int | None:
        """The variant is gone from Shopify; returns its id (its scope), if it was known."""
        found = self._variant_by_sku.pop(sku, None)
        if found is not None:
            self.variants.pop(found, None)
        return found

    def put_item(
        self, item: SupercycleItem, today: date, blocks: Sequence[BlockedRange]
    ) -> int | None:
        """Record an item; returns its parent variant id (None: not linked, not listed)."""
        variant_id = item.facts.shopify_variant_id
        self._forget_item(item.serial)
        if variant_id is None:
            return None
        sellable = is_sellable(item.facts, today, blocks, require_ready=self.options.require_ready)
        self.items[item.serial] = ItemFacts(item.serial, variant_id, item.condition, sellable)
        self._items_by_variant.setdefault(variant_id, set()).add(item.serial)
        return variant_id

    def _forget_item(self, serial: str) -> None:
        old = self.items.pop(serial, None)
        if old is not None:
            self._items_by_variant.get(old.shopify_variant_id, set()).discard(serial)

    # -- lookups -------------------------------------------------------------------------------

    def variant_id(self, sku: str) -> int | None:
        return self._variant_by_sku.get(sku)

    def item_variant_id(self, serial: str) -> int | None:
        found = self.items.get(serial)
        return None if found is None else found.shopify_variant_id

    def scope_of_offer(self, shop_sku: str) -> int | None:
        """The variant id an offer SKU hangs from (a variant SKU, a serial, ``<sku>~<state>``)."""
        found = self.variant_id(shop_sku)
        if found is None:
            found = self.item_variant_id(shop_sku)
        if found is None and "~" in shop_sku:
            found = self.variant_id(shop_sku.rsplit("~", 1)[0])
        return found

    def is_new_stock(self, shop_sku: str) -> bool:
        """True when ``shop_sku`` is a variant SKU whose stock Shopify holds."""
        found = self.variant_id(shop_sku)
        return found is not None and not self._items_by_variant.get(found)

    # -- offers --------------------------------------------------------------------------------

    def snapshot(self, scope: Iterable[int] | None = None) -> CatalogueSnapshot:
        """Every offer, or only those of the variants in ``scope``."""
        if scope is None:
            variants: Iterable[VariantFacts] = self.variants.values()
            items: Iterable[ItemFacts] = self.items.values()
        else:
            ids = set(scope)
            variants = [self.variants[i] for i in ids if i in self.variants]
            items = [
                self.items[serial] for i in ids for serial in self._items_by_variant.get(i, ())
            ]
        offers, skipped = build_offers(
            variants,
            items,
            mode=self.options.offer_mode,
            condition_states=self.options.condition_states,
            listed_tags=self.options.listed_tags,
        )
        return CatalogueSnapshot(offers, skipped)


async def read_source(
    shop: ShopStock,
    supercycle: SupercycleCatalogue | None,
    options: SnapshotOptions,
    *,
    today: date,
) -> SourceModel:
    """The full read: every Shopify variant and every Supercycle item.

    It can take minutes on a large catalogue (Shopify's query-cost budget is the limit),
    so progress is logged every 250 records.
    """
    model = SourceModel(options)
    variants = 0
    async for variant in shop.variants():
        model.put_variant(variant)
        variants += 1
        if variants % PROGRESS_EVERY == 0:
            logger.info("full stock read: %d Shopify variants so far", variants)
    items = 0
    if supercycle is not None:
        blocks: list[BlockedRange] = [b async for b in supercycle.blocked_ranges(today)]
        async for item in supercycle.items():
            model.put_item(item, today, blocks)
            items += 1
            if items % PROGRESS_EVERY == 0:
                logger.info("full stock read: %d Supercycle items so far", items)
    logger.info("full stock read done: %d Shopify variants, %d Supercycle items", variants, items)
    return model


async def take_snapshot(
    shop: ShopStock,
    supercycle: SupercycleCatalogue | None,
    options: SnapshotOptions,
    *,
    today: date,
) -> CatalogueSnapshot:
    return (await read_source(shop, supercycle, options, today=today)).snapshot()
