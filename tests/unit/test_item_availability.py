"""The rule "is this Supercycle item sellable now", as tables."""

from __future__ import annotations

from datetime import date

import pytest

from mirakl_sync.domain.item_availability import (
    BlockedRange,
    BlockScope,
    DateRange,
    ItemFacts,
    Unsellable,
    is_sellable,
    unsellable_reasons,
)

TODAY = date(2025, 6, 15)
YESTERDAY = date(2025, 6, 14)
TOMORROW = date(2025, 6, 16)

ITEM_ID, VARIANT_ID, PRODUCT_ID = 300_001, 45_000_000_001, 8_000_000_001


def facts(
    visibility: str = "available", status: str = "processed", rented: bool = False
) -> ItemFacts:
    return ItemFacts(
        item_id=ITEM_ID,
        shopify_variant_id=VARIANT_ID,
        shopify_product_id=PRODUCT_ID,
        visibility=visibility,
        status=status,
        has_active_rental=rented,
    )


@pytest.mark.parametrize(
    ("visibility", "status", "rented", "require_ready", "expected"),
    [
        ("available", "processed", False, False, []),
        ("available", "unprocessed", False, False, []),
        ("available", "unprocessed", False, True, [Unsellable.NOT_READY]),
        ("available", "processed", False, True, []),
        ("unavailable", "processed", False, False, [Unsellable.NOT_AVAILABLE]),
        ("sold", "processed", False, False, [Unsellable.NOT_AVAILABLE]),
        ("retired", "processed", False, False, [Unsellable.NOT_AVAILABLE]),
        ("available", "processed", True, False, [Unsellable.ACTIVE_RENTAL]),
        (
            "sold",
            "unprocessed",
            True,
            True,
            [Unsellable.NOT_AVAILABLE, Unsellable.ACTIVE_RENTAL, Unsellable.NOT_READY],
        ),
        # A visibility Supercycle may add later is not "available", so not sellable.
        ("archived", "processed", False, False, [Unsellable.NOT_AVAILABLE]),
    ],
)
def test_visibility_rental_and_readiness(
    visibility: str, status: str, rented: bool, require_ready: bool, expected: list[Unsellable]
) -> None:
    item = facts(visibility, status, rented)
    assert unsellable_reasons(item, TODAY, require_ready=require_ready) == expected
    assert is_sellable(item, TODAY, require_ready=require_ready) is (not expected)


@pytest.mark.parametrize(
    ("scope", "target", "first", "last", "blocked"),
    [
        (BlockScope.ITEM, ITEM_ID, TODAY, TODAY, True),  # single inclusive day
        (BlockScope.ITEM, ITEM_ID, YESTERDAY, TODAY, True),  # ends today, inclusive
        (BlockScope.ITEM, ITEM_ID, TODAY, TOMORROW, True),  # starts today, inclusive
        (BlockScope.ITEM, ITEM_ID, None, TODAY, True),  # open start
        (BlockScope.ITEM, ITEM_ID, YESTERDAY, None, True),  # open end
        (BlockScope.ITEM, ITEM_ID, None, None, True),  # blocked indefinitely
        (BlockScope.ITEM, ITEM_ID, None, YESTERDAY, False),  # ended yesterday
        (BlockScope.ITEM, ITEM_ID, TOMORROW, None, False),  # starts tomorrow
        (BlockScope.ITEM, ITEM_ID + 1, None, None, False),  # another item
        (BlockScope.VARIANT, VARIANT_ID, TODAY, TODAY, True),
        (BlockScope.VARIANT, VARIANT_ID + 1, TODAY, TODAY, False),
        (BlockScope.PRODUCT, PRODUCT_ID, None, None, True),
        (BlockScope.PRODUCT, PRODUCT_ID + 1, None, None, False),
        # Same number, wrong scope: an item id that happens to equal the variant id.
        (BlockScope.ITEM, VARIANT_ID, None, None, False),
    ],
)
def test_blocked_dates(
    scope: BlockScope, target: int, first: date | None, last: date | None, blocked: bool
) -> None:
    block = BlockedRange(scope, target, DateRange(first, last))
    reasons = unsellable_reasons(facts(), TODAY, [block])
    assert reasons == ([Unsellable.BLOCKED] if blocked else [])


@pytest.mark.parametrize("status", ["processed", "unprocessed", "something_new"])
def test_processing_status_never_matters_unless_ready_required(status: str) -> None:
    assert is_sellable(facts(status=status), TODAY)


def test_one_covering_block_among_many_is_enough() -> None:
    blocks = [
        BlockedRange(BlockScope.ITEM, ITEM_ID, DateRange(None, YESTERDAY)),
        BlockedRange(BlockScope.PRODUCT, PRODUCT_ID, DateRange(TOMORROW, None)),
        BlockedRange(BlockScope.VARIANT, VARIANT_ID, DateRange(YESTERDAY, TOMORROW)),
    ]
    assert unsellable_reasons(facts(), TODAY, blocks) == [Unsellable.BLOCKED]
    assert is_sellable(facts(), TODAY, blocks[:2])
