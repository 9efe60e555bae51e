"""Offer building (item and variant-condition modes) and price rules, as tables."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mirakl_sync.domain.offers import (
    ItemFacts,
    VariantFacts,
    build_offers,
    variant_condition_sku,
)
from mirakl_sync.domain.pricing import PriceRules, marketplace_price

D = Decimal


@pytest.mark.parametrize(
    ("shop", "rules", "expected"),
    [
        ("24.99", PriceRules(), "24.99"),
        ("20.00", PriceRules(markup_percent=D(10)), "22.00"),
        ("20.00", PriceRules(markup_percent=D(-10)), "18.00"),
        ("19.99", PriceRules(markup_percent=D("12.5")), "22.49"),
        ("24.31", PriceRules(round_to_ending=D("0.99")), "24.99"),
        ("24.99", PriceRules(round_to_ending=D("0.99")), "24.99"),
        ("25.00", PriceRules(round_to_ending=D("0.99")), "25.99"),
        ("25.00", PriceRules(round_to_ending=D("0")), "25.00"),
        ("25.01", PriceRules(round_to_ending=D("0")), "26.00"),
        ("25.40", PriceRules(round_to_ending=D("0.50")), "25.50"),
        ("20.00", PriceRules(markup_percent=D(10), round_to_ending=D("0.95")), "22.95"),
        ("5.00", PriceRules(minimum_price=D("9.99")), "9.99"),
        ("15.00", PriceRules(minimum_price=D("9.99")), "15.00"),
        # the minimum applies after markup and rounding
        (
            "8.00",
            PriceRules(markup_percent=D(10), round_to_ending=D("0.49"), minimum_price=D(10)),
            "10.00",
        ),
    ],
)
def test_marketplace_price(shop: str, rules: PriceRules, expected: str) -> None:
    assert marketplace_price(D(shop), rules) == D(expected)


STATES = {"Unused": "11", "Used": "3", "Damaged (Repairable)": "4"}


def variant(vid: int, sku: str, *, available: int = 0, barcode: str | None = "501") -> VariantFacts:
    return VariantFacts(
        sku,
        barcode and f"{barcode}{vid}",
        D("100.00"),
        "Jackets",
        frozenset({"resale"}),
        available,
        vid,
    )


def item(serial: str, vid: int, condition: str | None, sellable: bool = True) -> ItemFacts:
    return ItemFacts(serial, vid, condition, sellable)


def test_new_stock_makes_one_offer_per_variant_and_managed_variants_none() -> None:
    offers, skipped = build_offers(
        [variant(1, "NEW-1", available=4), variant(2, "RES-2"), variant(3, "NOBC", barcode=None)],
        [item("SC1", 2, "Used")],
        mode="item",
        condition_states=STATES,
    )
    by_sku = {o.shop_sku: o for o in offers}
    assert set(by_sku) == {"NEW-1", "SC1", "NOBC"}
    assert (by_sku["NEW-1"].state, by_sku["NEW-1"].source_quantity) == ("11", 4)
    assert (by_sku["SC1"].state, by_sku["SC1"].source_quantity, by_sku["SC1"].product_id) == (
        "3",
        1,
        "5012",
    )
    # No barcode: still an offer (STO01 and PRI01 need only its SKU), but not one OF01
    # can create.
    assert (by_sku["NOBC"].product_id, by_sku["NOBC"].creatable) == (None, False)
    assert by_sku["NEW-1"].creatable
    assert skipped == []


@pytest.mark.parametrize("mode", ["item", "variant_condition"])
def test_items_under_a_variant_without_barcode_keep_their_offers(mode: str) -> None:
    offers, skipped = build_offers(
        [variant(2, "RES-2", barcode=None)],
        [item("SC1", 2, "Used")],
        mode=mode,
        condition_states=STATES,
    )
    assert [(o.source_quantity, o.product_id) for o in offers] == [(1, None)]
    assert skipped == []


def test_what_cannot_be_listed_says_what_to_do() -> None:
    _, skipped = build_offers(
        [variant(2, "RES-2")],
        [item("SC1", 2, "Damaged (Unrepairable)"), item("SC2", 9, "Used")],
        mode="item",
        condition_states=STATES,
    )
    advice = {s.key: s.advice for s in skipped}
    assert "condition_states" in advice["SC1"]
    assert "Shopify variant" in advice["SC2"]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        # item mode: one offer per serial, 1 when sellable, 0 when not
        ([("SC1", "Used", True), ("SC2", "Used", False)], {"SC1": ("3", 1), "SC2": ("3", 0)}),
        ([("SC1", "Unused", True)], {"SC1": ("11", 1)}),
    ],
)
def test_item_mode(
    items: list[tuple[str, str, bool]], expected: dict[str, tuple[str, int]]
) -> None:
    offers, _ = build_offers(
        [variant(2, "RES-2")],
        [item(s, 2, c, ok) for s, c, ok in items],
        mode="item",
        condition_states=STATES,
    )
    assert {o.shop_sku: (o.state, o.source_quantity) for o in offers} == expected


def test_variant_condition_mode_counts_sellable_units_per_condition() -> None:
    offers, _ = build_offers(
        [variant(2, "RES-2")],
        [
            item("SC1", 2, "Used"),
            item("SC2", 2, "Used"),
            item("SC3", 2, "Used", sellable=False),
            item("SC4", 2, "Damaged (Repairable)"),
        ],
        mode="variant_condition",
        condition_states=STATES,
    )
    assert {o.shop_sku: o.source_quantity for o in offers} == {
        variant_condition_sku("RES-2", "3"): 2,
        variant_condition_sku("RES-2", "4"): 1,
    }


def test_unmapped_condition_and_unlisted_tags_are_not_offered() -> None:
    offers, skipped = build_offers(
        [variant(2, "RES-2")],
        [item("SC1", 2, "Damaged (Unrepairable)"), item("SC2", 2, None)],
        mode="item",
        condition_states=STATES,
    )
    assert offers == []
    assert [s.key for s in skipped] == ["SC1", "SC2"]
    offers, skipped = build_offers(
        [variant(2, "RES-2")],
        [item("SC1", 2, "Used")],
        mode="item",
        condition_states=STATES,
        listed_tags=frozenset({"rental-only"}),
    )
    assert (offers, skipped) == ([], [])
