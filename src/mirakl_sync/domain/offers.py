"""Offers: what the hub lists on a marketplace, built from the catalogue's facts.

Two kinds of stock make offers:

- **new stock** (Shopify): one offer per variant, ``shop_sku`` = the variant SKU, state
  ``new_state`` (OF61's code for new goods, "11" on the platforms we know of);
- **Supercycle items** (graded pre-owned), in one of two modes:

  - ``item``: one offer per physical unit, ``shop_sku`` = the item's serial, quantity 0
    or 1, state = its condition mapped through ``condition_states``;
  - ``variant_condition``: one offer per variant and condition, ``shop_sku`` =
    :func:`variant_condition_sku`, quantity = the sellable units of that variant in that
    condition.

An item whose condition has no mapped state, or whose Shopify variant is gone, cannot be
listed: it is :class:`Skipped`, with the reason and what to do (the flows turn each into an
exception for e-commerce). ``product-id`` is the variant's barcode with the marketplace's
``product-id-type``. It is needed only to *create* an offer (OF01): stock (STO01) and
prices (PRI01) need only the offer SKU. So a variant without barcode still makes an offer
(``product_id`` None): its stock and price reach an offer that already exists on the
marketplace (listed by hand or by a previous connector); only the offer refresh leaves it
out, and says so when the marketplace does not have it.

Pure: stdlib only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from mirakl_sync.domain.item_availability import ItemFacts as AvailabilityFacts

#: OF61 code of new goods on the platforms we know (the spec's OF24 example uses it too).
NEW_STATE = "11"


@dataclass(frozen=True)
class VariantFacts:
    """A Shopify variant as the catalogue sees it."""

    sku: str
    barcode: str | None
    price: Decimal
    product_type: str
    tags: frozenset[str]
    #: ``available`` summed over the configured locations (new stock only).
    available: int
    shopify_variant_id: int


@dataclass(frozen=True)
class ItemFacts:
    """A Supercycle item, with the verdict of the availability rule already applied."""

    serial: str
    shopify_variant_id: int
    condition: str | None
    sellable: bool


@dataclass(frozen=True)
class OfferSpec:
    """One offer the hub lists: its identity, product link, condition and stock key."""

    shop_sku: str
    #: The barcode, for OF01's ``product-id``; None when the variant has none (the offer
    #: can then be kept in step, by STO01 and PRI01, but not created by the hub).
    product_id: str | None
    state: str
    #: Shop price the marketplace price is derived from.
    shop_price: Decimal
    #: Units the source of truth has for this offer.
    source_quantity: int
    product_type: str
    tags: frozenset[str]
    #: ``new`` or ``supercycle``.
    kind: str

    @property
    def creatable(self) -> bool:
        """True when OF01 can create this offer (it has a ``product-id``)."""
        return self.product_id is not None


@dataclass(frozen=True)
class Skipped:
    """Something that could not become an offer, and why (shown to e-commerce)."""

    key: str
    reason: str
    #: What e-commerce can do about it.
    advice: str = ""


def variant_condition_sku(variant_sku: str, state: str) -> str:
    """``shop_sku`` of a variant-and-condition offer: ``<variant SKU>~<state code>``."""
    return f"{variant_sku}~{state}"


def build_offers(
    variants: Iterable[VariantFacts],
    items: Iterable[ItemFacts],
    *,
    mode: str,
    condition_states: Mapping[str, str],
    new_state: str = NEW_STATE,
    item_prices: Mapping[str, Decimal] | None = None,
    listed_tags: frozenset[str] = frozenset(),
) -> tuple[list[OfferSpec], list[Skipped]]:
    """Every offer of the catalogue, and what could not be listed.

    Variants that have Supercycle items are managed by Supercycle: they make no offer of
    their own. ``listed_tags`` (when not empty) keeps only the items whose product has
    one of these tags (e.g. ``resale``, leaving rental stock off the marketplaces).
    ``item_prices`` overrides the variant price for an item (by serial).
    """
    if mode not in ("item", "variant_condition"):
        raise ValueError(f"offer mode must be 'item' or 'variant_condition', not {mode!r}")
    by_id = {v.shopify_variant_id: v for v in variants}
    offers: list[OfferSpec] = []
    skipped: list[Skipped] = []
    item_list = list(items)
    managed = {item.shopify_variant_id for item in item_list}
    for variant in by_id.values():
        if variant.shopify_variant_id in managed:
            continue
        offers.append(
            OfferSpec(
                variant.sku,
                variant.barcode or None,
                new_state,
                variant.price,
                max(variant.available, 0),
                variant.product_type,
                variant.tags,
                "new",
            )
        )
    grouped: dict[str, OfferSpec] = {}
    for item in item_list:
        parent = by_id.get(item.shopify_variant_id)
        if parent is None:
            skipped.append(
                Skipped(
                    item.serial,
                    f"its Shopify variant {item.shopify_variant_id} was not found",
                    "link the item to an existing Shopify variant in Supercycle (or restore "
                    "the variant in Shopify); until then it is not offered anywhere",
                )
            )
            continue
        if listed_tags and not (listed_tags & parent.tags):
            continue
        state = condition_states.get(item.condition or "")
        if state is None:
            skipped.append(
                Skipped(
                    item.serial,
                    f"condition {item.condition!r} has no offer state mapped",
                    f"map {item.condition!r} to an OF61 offer state in [supercycle] "
                    "condition_states (mirakl-sync.toml), or regrade the item in Supercycle",
                )
            )
            continue
        barcode = parent.barcode or None
        units = 1 if item.sellable else 0
        if mode == "item":
            price = (item_prices or {}).get(item.serial, parent.price)
            offers.append(
                OfferSpec(
                    item.serial,
                    barcode,
                    state,
                    price,
                    units,
                    parent.product_type,
                    parent.tags,
                    "supercycle",
                )
            )
            continue
        sku = variant_condition_sku(parent.sku, state)
        found = grouped.get(sku)
        grouped[sku] = OfferSpec(
            sku,
            barcode,
            state,
            parent.price,
            units + (found.source_quantity if found else 0),
            parent.product_type,
            parent.tags,
            "supercycle",
        )
    offers.extend(grouped.values())
    return offers, skipped


# --------------------------------------------------------------------------- the source and
# the marketplace, in the terms the stock, price and offer flows use


@dataclass(frozen=True)
class ShopVariant:
    """A Shopify variant with ``available`` per location name, as read in bulk."""

    sku: str
    barcode: str | None
    price: Decimal
    product_type: str
    tags: frozenset[str]
    shopify_variant_id: int
    levels: tuple[tuple[str, int], ...]

    def available(self, locations: frozenset[str]) -> int:
        """``available`` summed over ``locations`` (every location when empty)."""
        return sum(q for name, q in self.levels if not locations or name in locations)


@dataclass(frozen=True)
class SupercycleItem:
    """A Supercycle item as read in bulk: its serial, condition title and the facts the
    availability rule (``item_availability``) needs."""

    serial: str
    condition: str | None
    facts: AvailabilityFacts


@dataclass(frozen=True)
class OfferRow:
    """One full offer for an OF01 import."""

    sku: str
    product_id: str
    product_id_type: str
    price: Decimal
    quantity: int
    state: str


@dataclass(frozen=True)
class ImportProgress:
    """Where a marketplace import (STO01, PRI01, OF01) stands."""

    import_id: str
    #: Mirakl's status: WAITING, RUNNING, COMPLETE, FAILED (and OF01's
    #: WAITING_SYNCHRONIZATION_PRODUCT).
    status: str
    lines_in_error: int | None = None
    has_error_report: bool = False
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("COMPLETE", "FAILED")


@dataclass(frozen=True)
class ImportErrorLine:
    """One line of an import's error report, tied back to its offer."""

    shop_sku: str
    message: str


@dataclass(frozen=True)
class ExportedOffer:
    """One offer as the marketplace's offer export (OF52/OF54) shows it."""

    shop_sku: str
    quantity: int
    active: bool
    deleted: bool
    price: Decimal | None = None
    state: str | None = None
