"""Item availability: may this one Supercycle item be sold on a marketplace today?

Supercycle tracks each pre-owned or rental unit as an *item*. Its documented rules
(docs.supercycle.com, manage/inventory/items and blocked-dates) are:

- an item is bookable only when its ``visibility`` is ``available`` and nothing holds it
  (an active rental / reservation, or a blocked date);
- blocked dates sit on an Item, a Shopify variant or a Shopify product; both ends are
  inclusive calendar days and either end may be open;
- the condition (Unused, Used, Damaged ...) and the processing status
  (``processed`` = Ready / ``unprocessed`` = Not ready) do **not** change availability.

A brand may still refuse to list an item that has not been checked after a return, so
``require_ready=True`` adds "the item is processed" as an extra, opt-in condition.

Pure: plain values in, a verdict out; the caller gathers the item's blocked dates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

#: Supercycle's ``visibility`` value for an item that may be booked or sold.
VISIBILITY_AVAILABLE = "available"
#: Supercycle's processing ``status`` of an item that is Ready.
STATUS_PROCESSED = "processed"


class BlockScope(StrEnum):
    """What a blocked date is attached to (Supercycle's ``resourceType``)."""

    ITEM = "Item"
    VARIANT = "Shopify::Variant"
    PRODUCT = "Shopify::Product"


@dataclass(frozen=True)
class DateRange:
    """Calendar days ``first`` to ``last``, both inclusive; ``None`` leaves that end open."""

    first: date | None = None
    last: date | None = None

    def covers(self, day: date) -> bool:
        return (self.first is None or self.first <= day) and (self.last is None or day <= self.last)


@dataclass(frozen=True)
class BlockedRange:
    """A blocked date range on an item (by item id) or a variant/product (by Shopify id)."""

    scope: BlockScope
    target_id: int
    days: DateRange

    def applies_to(self, item: ItemFacts) -> bool:
        if self.scope is BlockScope.ITEM:
            return self.target_id == item.item_id
        if self.scope is BlockScope.VARIANT:
            return self.target_id == item.shopify_variant_id
        return self.target_id == item.shopify_product_id


@dataclass(frozen=True)
class ItemFacts:
    """What the rule needs to know about one item."""

    item_id: int
    shopify_variant_id: int | None
    shopify_product_id: int | None
    visibility: str
    status: str
    has_active_rental: bool


class Unsellable(StrEnum):
    """Why an item cannot be sold now (shown to the merchant as-is)."""

    NOT_AVAILABLE = "visibility is not 'available'"
    ACTIVE_RENTAL = "the item is out on, or held by, an active rental"
    BLOCKED = "a blocked date covers today"
    NOT_READY = "the item is not processed (Not ready) and Ready is required"


def unsellable_reasons(
    item: ItemFacts,
    today: date,
    blocks: Iterable[BlockedRange] = (),
    *,
    require_ready: bool = False,
) -> list[Unsellable]:
    """Every reason ``item`` cannot be sold on ``today`` (empty: it can be sold)."""
    reasons: list[Unsellable] = []
    if item.visibility != VISIBILITY_AVAILABLE:
        reasons.append(Unsellable.NOT_AVAILABLE)
    if item.has_active_rental:
        reasons.append(Unsellable.ACTIVE_RENTAL)
    if any(block.applies_to(item) and block.days.covers(today) for block in blocks):
        reasons.append(Unsellable.BLOCKED)
    # Condition and processing status never matter to Supercycle itself; Ready is the
    # brand's own extra requirement, only when asked for.
    if require_ready and item.status != STATUS_PROCESSED:
        reasons.append(Unsellable.NOT_READY)
    return reasons


def is_sellable(
    item: ItemFacts,
    today: date,
    blocks: Iterable[BlockedRange] = (),
    *,
    require_ready: bool = False,
) -> bool:
    """True when ``item`` may be sold on ``today``; see :func:`unsellable_reasons`."""
    return not unsellable_reasons(item, today, blocks, require_ready=require_ready)
