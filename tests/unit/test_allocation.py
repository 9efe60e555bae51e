"""Allocation rules, the stock diff and coalescing, as tables."""

from __future__ import annotations

import pytest

from mirakl_sync.domain.allocation import (
    OfferFacts,
    RuleBook,
    StockRule,
    desired_quantities,
    plan_stock_updates,
    quantity_for,
)

JACKET = OfferFacts("Jackets", frozenset({"new", "jackets"}))
TENT = OfferFacts("Tents", frozenset({"new", "tents"}))


@pytest.mark.parametrize(
    ("source", "held", "rules", "sku", "facts", "expected"),
    [
        # no rules: the pool as is, never negative
        (10, 0, [], "A", JACKET, 10),
        (10, 3, [], "A", JACKET, 7),
        (2, 5, [], "A", JACKET, 0),
        (0, 0, [], "A", JACKET, 0),
        # safety buffer
        (10, 0, [StockRule(safety_buffer=2)], "A", JACKET, 8),
        (2, 0, [StockRule(safety_buffer=2)], "A", JACKET, 0),
        (1, 0, [StockRule(safety_buffer=2)], "A", JACKET, 0),
        # maximum listed quantity
        (10, 0, [StockRule(max_quantity=4)], "A", JACKET, 4),
        (3, 0, [StockRule(max_quantity=4)], "A", JACKET, 3),
        (10, 0, [StockRule(max_quantity=0)], "A", JACKET, 0),
        # percentage cap of the pool, rounded down
        (10, 0, [StockRule(percent_cap=50)], "A", JACKET, 5),
        (3, 0, [StockRule(percent_cap=50)], "A", JACKET, 1),
        (1, 0, [StockRule(percent_cap=50)], "A", JACKET, 0),
        (1, 0, [StockRule(percent_cap=100)], "A", JACKET, 1),
        # zero at or below N (of the pool, after holds)
        (3, 0, [StockRule(zero_at_or_below=3)], "A", JACKET, 0),
        (4, 0, [StockRule(zero_at_or_below=3)], "A", JACKET, 4),
        (5, 2, [StockRule(zero_at_or_below=3)], "A", JACKET, 0),
        # matching by sku / tag / product type; non-matching rules do nothing
        (10, 0, [StockRule(sku="B", max_quantity=1)], "A", JACKET, 10),
        (10, 0, [StockRule(sku="A", max_quantity=1)], "A", JACKET, 1),
        (10, 0, [StockRule(tag="tents", max_quantity=1)], "A", JACKET, 10),
        (10, 0, [StockRule(tag="tents", max_quantity=1)], "T", TENT, 1),
        (10, 0, [StockRule(product_type="Jackets", safety_buffer=3)], "A", JACKET, 7),
        (10, 0, [StockRule(product_type="Jackets", safety_buffer=3)], "T", TENT, 10),
        # a rule naming tag AND product type needs both
        (10, 0, [StockRule(tag="new", product_type="Tents", max_quantity=2)], "A", JACKET, 10),
        (10, 0, [StockRule(tag="new", product_type="Tents", max_quantity=2)], "T", TENT, 2),
        # several rules: the strictest of each limit wins
        (
            10,
            0,
            [StockRule(safety_buffer=1), StockRule(tag="jackets", safety_buffer=4)],
            "A",
            JACKET,
            6,
        ),
        (10, 0, [StockRule(max_quantity=6), StockRule(sku="A", max_quantity=3)], "A", JACKET, 3),
        (10, 0, [StockRule(max_quantity=3), StockRule(sku="A", max_quantity=6)], "A", JACKET, 3),
        (20, 0, [StockRule(percent_cap=50), StockRule(max_quantity=8)], "A", JACKET, 8),
        (20, 0, [StockRule(percent_cap=25), StockRule(max_quantity=8)], "A", JACKET, 5),
        (10, 0, [StockRule(safety_buffer=2, percent_cap=90)], "A", JACKET, 8),
        (6, 0, [StockRule(zero_at_or_below=2), StockRule(zero_at_or_below=6)], "A", JACKET, 0),
        # a unique item: 1 listed, 0 once held or sold
        (1, 0, [StockRule(safety_buffer=0)], "SC1", JACKET, 1),
        (1, 1, [], "SC1", JACKET, 0),
        (0, 0, [], "SC1", JACKET, 0),
    ],
)
def test_quantity_for(
    source: int, held: int, rules: list[StockRule], sku: str, facts: OfferFacts, expected: int
) -> None:
    assert quantity_for(source, held, rules, sku=sku, facts=facts) == expected


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [StockRule(safety_buffer=1)],
        [StockRule(tag="tents", max_quantity=2), StockRule(sku="J2", percent_cap=50)],
        [StockRule(product_type="Jackets", zero_at_or_below=3), StockRule(max_quantity=9)],
    ],
)
def test_bulk_desired_quantities_agree_with_one_by_one(rules: list[StockRule]) -> None:
    source = {"J1": 10, "J2": 4, "T1": 7, "SC1": 1, "SC2": 1}
    held = {"J2": 1, "SC2": 1}
    facts = {"J1": JACKET, "J2": JACKET, "T1": TENT, "SC1": JACKET, "SC2": JACKET}
    bulk = desired_quantities(source, held, RuleBook(rules), facts)
    assert bulk == {
        sku: quantity_for(q, held.get(sku, 0), rules, sku=sku, facts=facts[sku])
        for sku, q in source.items()
    }


@pytest.mark.parametrize(
    ("desired", "last_known", "changes"),
    [
        # nothing known yet: every offer with stock is sent, zeros are left alone
        ({"A": 3, "B": 0}, {}, {"A": 3}),
        # unchanged values are not sent again
        ({"A": 3, "B": 0}, {"A": 3, "B": 0}, {}),
        # changes, including down to 0 for an offer the marketplace knows
        ({"A": 2, "B": 0}, {"A": 3, "B": 1}, {"A": 2, "B": 0}),
        # an offer gone from the source goes to 0 if it had stock; left alone if at 0
        ({"A": 3}, {"A": 3, "B": 2, "C": 0}, {"B": 0}),
        # back from 0
        ({"A": 1}, {"A": 0}, {"A": 1}),
    ],
)
def test_plan_stock_updates(
    desired: dict[str, int], last_known: dict[str, int | None], changes: dict[str, int]
) -> None:
    assert plan_stock_updates(desired, last_known) == changes


def test_coalescing_the_latest_desired_value_wins() -> None:
    """Three changes to one SKU before a push: one line, the last value."""
    known: dict[str, int | None] = {"A": 5}
    pending: dict[str, int] = {}
    for value in (4, 3, 5, 2):
        changes = plan_stock_updates({"A": value}, known)
        known.update(changes)
        pending.update(changes)
    assert pending == {"A": 2}
    # ... and back to the value the marketplace already has: one more change, to 5
    assert plan_stock_updates({"A": 5}, known) == {"A": 5}
