"""The seed catalogue: a made-up outdoor brand that the three emulators share.

New stock lives in Shopify (inventory per location); graded pre-owned and rental
units are Supercycle items, one per physical unit, pointing at a Shopify variant.
Generation is deterministic for a given seed, so tests can name what they expect.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

BRAND = "Fjellrev Outdoor"

#: Shopify locations of the brand (numeric ids as Shopify's REST ids).
LOCATIONS: tuple[tuple[int, str], ...] = (
    (70001, "Leeds Warehouse"),
    (70002, "London Flagship"),
)

#: Supercycle's default conditions (merchants may edit them), in severity order.
CONDITIONS: tuple[tuple[int, str], ...] = (
    (1, "Unused"),
    (2, "Used"),
    (3, "Damaged (Repairable)"),
    (4, "Damaged (Unrepairable)"),
)

_FAMILIES: tuple[tuple[str, str, tuple[str, ...], int], ...] = (
    # (product type, noun, sizes, base price in pounds)
    ("Jackets", "Shell Jacket", ("XS", "S", "M", "L", "XL"), 180),
    ("Jackets", "Insulated Parka", ("S", "M", "L", "XL"), 240),
    ("Fleeces", "Grid Fleece", ("XS", "S", "M", "L", "XL"), 75),
    ("Base Layers", "Merino Crew", ("XS", "S", "M", "L", "XL"), 60),
    ("Trousers", "Trekking Trousers", ("28", "30", "32", "34", "36"), 90),
    ("Footwear", "Hiking Boot", ("39", "40", "41", "42", "43", "44", "45"), 150),
    ("Backpacks", "Daypack 25L", ("One Size",), 85),
    ("Tents", "Two-Person Tent", ("One Size",), 320),
    ("Ski", "Ski Jacket", ("S", "M", "L", "XL"), 280),
    ("Ski", "Touring Skis", ("165", "172", "179"), 520),
)
_COLOURS = ("Fjord Blue", "Moss", "Granite", "Ember", "Birch", "Midnight", "Lichen", "Sand")
_RANGES = ("Trail", "Summit", "Alpine", "Coast", "Ridge", "Tundra", "Glacier", "Forest")


@dataclass(frozen=True)
class SeedVariant:
    id: int
    sku: str
    #: EAN-13; None for a variant the brand never gave a barcode (the existing-shop seed).
    barcode: str | None
    size: str
    colour: str
    price: Decimal
    #: Shopify ``available`` per location id; empty for Supercycle-managed variants.
    inventory: dict[int, int] = field(default_factory=dict)
    inventory_item_id: int = 0


@dataclass(frozen=True)
class SeedProduct:
    id: int
    handle: str
    title: str
    product_type: str
    vendor: str
    tags: tuple[str, ...]
    #: ``new`` (Shopify stock), ``resale`` (graded pre-owned) or ``rental`` (Supercycle).
    channel: str
    variants: tuple[SeedVariant, ...]

    @property
    def managed_by_supercycle(self) -> bool:
        return self.channel in ("resale", "rental")


@dataclass(frozen=True)
class SeedItem:
    """One physical unit in Supercycle."""

    id: int
    sequential_id: int
    serial: str
    product_id: int
    variant_id: int
    condition_id: int
    #: ``available | unavailable | sold | retired``
    visibility: str
    #: ``processed`` (Ready) or ``unprocessed`` (Not ready)
    status: str
    location_id: int
    pick_location: str
    #: Resale price of this unit (graded items are priced by condition).
    price: Decimal


@dataclass(frozen=True)
class SeedCatalogue:
    products: tuple[SeedProduct, ...]
    items: tuple[SeedItem, ...]
    locations: tuple[tuple[int, str], ...] = LOCATIONS
    conditions: tuple[tuple[int, str], ...] = CONDITIONS

    def variants(self) -> list[tuple[SeedProduct, SeedVariant]]:
        return [(p, v) for p in self.products for v in p.variants]

    def variant_by_sku(self, sku: str) -> tuple[SeedProduct, SeedVariant]:
        for product, variant in self.variants():
            if variant.sku == sku:
                return product, variant
        raise KeyError(sku)


def ean13(number: int) -> str:
    """A valid EAN-13 from a 12-digit body (the brand's made-up GS1 prefix 501234)."""
    body = f"501234{number:06d}"[-12:]
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def build_catalogue(*, products: int = 300, seed: int = 42) -> SeedCatalogue:
    """Generate ``products`` products: about 70% new, 20% resale, 10% rental."""
    rng = random.Random(seed)
    built: list[SeedProduct] = []
    items: list[SeedItem] = []
    variant_counter = 0
    item_counter = 0
    for index in range(products):
        product_type, noun, sizes, base_price = _FAMILIES[index % len(_FAMILIES)]
        colour = _COLOURS[(index // len(_FAMILIES)) % len(_COLOURS)]
        range_name = _RANGES[(index // (len(_FAMILIES) * len(_COLOURS))) % len(_RANGES)]
        roll = rng.random()
        channel = (
            "rental"
            if product_type == "Ski" and roll < 0.5
            else ("resale" if roll < 0.25 else "new")
        )
        title = f"{range_name} {noun}"
        if channel == "resale":
            title = f"Pre-owned {title}"
        elif channel == "rental":
            title = f"Rental {title}"
        title = f"{title} - {colour}"
        product_id = 8_000_000_000 + index + 1
        code = f"FJ-{product_type[:3].upper()}-{index + 1:04d}"
        variants: list[SeedVariant] = []
        for size in sizes:
            variant_counter += 1
            variant_id = 45_000_000_000 + variant_counter
            price = Decimal(base_price) + Decimal(rng.choice((0, 5, 10))) - Decimal("0.01")
            if channel == "resale":
                price = (price * Decimal("0.6")).quantize(Decimal("1")) - Decimal("0.01")
            inventory: dict[int, int] = {}
            if channel == "new":
                inventory = {loc: rng.choice((0, 1, 2, 3, 5, 8, 12, 20)) for loc, _ in LOCATIONS}
            size_code = size.replace(" ", "").upper()[:4]
            variants.append(
                SeedVariant(
                    id=variant_id,
                    sku=f"{code}-{size_code}",
                    barcode=ean13(variant_counter),
                    size=size,
                    colour=colour,
                    price=price,
                    inventory=inventory,
                    inventory_item_id=49_000_000_000 + variant_counter,
                )
            )
            if channel in ("resale", "rental"):
                units = rng.choice((1, 1, 1, 2)) if channel == "resale" else rng.choice((2, 3))
                for _ in range(units):
                    item_counter += 1
                    condition_id = rng.choice((1, 2, 2, 2, 3)) if channel == "resale" else 2
                    visibility = "available"
                    status = "processed"
                    draw = rng.random()
                    if draw < 0.05:
                        visibility = "sold"
                    elif draw < 0.08:
                        status = "unprocessed"
                    elif draw < 0.10:
                        visibility = "retired"
                    discount = {1: Decimal("1"), 2: Decimal("0.85"), 3: Decimal("0.6")}.get(
                        condition_id, Decimal("0.4")
                    )
                    items.append(
                        SeedItem(
                            id=300_000 + item_counter,
                            sequential_id=item_counter,
                            serial=f"SC{item_counter:06d}",
                            product_id=product_id,
                            variant_id=variant_id,
                            condition_id=condition_id,
                            visibility=visibility,
                            status=status,
                            location_id=LOCATIONS[0][0],
                            pick_location=f"A{rng.randint(1, 4)}-{rng.randint(1, 20):02d}-"
                            f"{'ABCD'[rng.randint(0, 3)]}{rng.randint(1, 6)}",
                            price=(price * discount).quantize(Decimal("0.01")),
                        )
                    )
        built.append(
            SeedProduct(
                id=product_id,
                handle=f"{range_name}-{noun}-{colour}-{index + 1}".lower().replace(" ", "-"),
                title=title,
                product_type=product_type,
                vendor=BRAND,
                tags=(channel, product_type.lower().replace(" ", "-")),
                channel=channel,
                variants=tuple(variants),
            )
        )
    return SeedCatalogue(products=tuple(built), items=tuple(items))


def without_barcodes(catalogue: SeedCatalogue, *, every: int = 3) -> SeedCatalogue:
    """The catalogue with every ``every``-th new-stock variant's barcode removed, as in a
    shop that never gave all its variants one (such a variant cannot *create* an offer,
    whose product-id is the barcode; it can still have one, listed by hand)."""
    counter = 0
    products: list[SeedProduct] = []
    for product in catalogue.products:
        variants: list[SeedVariant] = []
        for variant in product.variants:
            if product.channel == "new":
                counter += 1
                if counter % every == 0:
                    variant = replace(variant, barcode=None)
            variants.append(variant)
        products.append(replace(product, variants=tuple(variants)))
    return replace(catalogue, products=tuple(products))
